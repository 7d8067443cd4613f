/* SPDX-License-Identifier: MIT */
/* Built against an installed libtether-pgpool with pkg-config: makes and closes a pool (no
 * server is needed: nothing is dialled before the first query), and checks that a bad conninfo
 * is refused with its reason. */
#include <stdio.h>
#include <string.h>

#include <tether/pgpool.h>

int main(void)
{
    struct tether_pgpool_options o;
    tether_pgpool_options_init(&o);
    char err[256];
    o.errbuf = err;
    o.errbuf_len = sizeof(err);
    o.conninfo = "host";
    tether_pgpool *p = NULL;
    if (tether_pgpool_new_blocking(&o, &p) != TETHER_EINVAL || !strstr(err, "invalid conninfo")) {
        fprintf(stderr, "pgpool consumer: a bad conninfo was not refused (%s)\n", err);
        return 1;
    }
    o.conninfo = "host=127.0.0.1 port=1 dbname=x";
    if (tether_pgpool_new_blocking(&o, &p) != 0) {
        fprintf(stderr, "pgpool consumer: %s\n", err);
        return 1;
    }
    tether_pgpool_close_blocking(p);
    puts("pgpool consumer: ok");
    return 0;
}
