/* SPDX-License-Identifier: MIT */
/* Uses the installed public API only: version, error table, Node-style messages. */
#include <stdio.h>
#include <string.h>

#include <tether/tether.h>

int main(void)
{
    struct tether_failure f;
    char msg[128];
    tether_failure_init(&f);
    f.code = TETHER_ECONNRESET;
    f.syscall = TETHER_SYSCALL_READ;
    tether_failure_message(&f, msg, sizeof(msg));
    if (strcmp(tether_version(), TETHER_VERSION_STRING) != 0 ||
        strcmp(msg, "read ECONNRESET") != 0) {
        fprintf(stderr, "unexpected: %s %s\n", tether_version(), msg);
        return 1;
    }
    printf("tether %s: %s\n", tether_version(), msg);
    return 0;
}
