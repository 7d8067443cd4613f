/* SPDX-License-Identifier: MIT */
/* libFuzzer: the client's URL parser yields only what it can send, and the same URL again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What goes on the wire or into a pool key: no controls, spaces or bytes past ASCII. */
static bool wire_safe(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            return false;
        }
    }
    return true;
}

static int parse(const char *url, struct tt__url *u)
{
    char err[512];
    err[0] = '\0';
    int rv = tt__url_parse(url, u, err, sizeof(err));
    FUZZ_CHECK(rv == 0 || rv == TETHER_EINVAL);
    FUZZ_CHECK(rv == 0 || u->target == NULL); /* nothing to leak on failure */
    /* A refusal always says why, naming the URL (cut only when it is long). */
    FUZZ_CHECK(rv == 0 || strncmp(err, "invalid URL '", 13) == 0);
    FUZZ_CHECK(rv != 0 || err[0] == '\0');
    return rv;
}

static void check(const struct tt__url *u)
{
    FUZZ_CHECK(u->host[0] != '\0' && u->port >= 1 && u->target && u->target[0] == '/');
    FUZZ_CHECK(wire_safe(u->host) && wire_safe(u->host_header) && wire_safe(u->origin));
    FUZZ_CHECK(wire_safe(u->target) && strchr(u->target, '#') == NULL);
    FUZZ_CHECK(strpbrk(u->host, "@/?#[]ABCDEFGHIJKLMNOPQRSTUVWXYZ") == NULL);
    FUZZ_CHECK(u->ipv6 == (strchr(u->host, ':') != NULL));
    const char *lb = u->ipv6 ? "[" : "", *rb = u->ipv6 ? "]" : "";
    char want[sizeof(u->origin) + 8];
    int n = snprintf(want, sizeof(want), "%s://%s%s%s:%u", u->tls ? "https" : "http", lb, u->host,
                     rb, (unsigned)u->port);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(u->origin) && strcmp(want, u->origin) == 0);
    if (u->port == (u->tls ? 443 : 80)) { /* the Host field names the port unless default */
        n = snprintf(want, sizeof(want), "%s%s%s", lb, u->host, rb);
    } else {
        n = snprintf(want, sizeof(want), "%s%s%s:%u", lb, u->host, rb, (unsigned)u->port);
    }
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(u->host_header) && strcmp(want, u->host_header) == 0);
}

static void check_same(const struct tt__url *a, const struct tt__url *b)
{
    FUZZ_CHECK(a->tls == b->tls && a->ipv6 == b->ipv6 && a->port == b->port);
    FUZZ_CHECK(strcmp(a->host, b->host) == 0 && strcmp(a->origin, b->origin) == 0);
    FUZZ_CHECK(strcmp(a->host_header, b->host_header) == 0 && strcmp(a->target, b->target) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A C string of exactly the input (up to its first NUL), so ASan sees any read past it. */
    char *url = malloc(size + 1);
    FUZZ_CHECK(url != NULL);
    memcpy(url, data, size);
    url[size] = '\0';
    size_t len = strlen(url);
    struct tt__url u, v;
    int rv = parse(url, &u);

    /* A fragment stays with the client: adding one never changes the answer. */
    char *frag = malloc(len + 4);
    FUZZ_CHECK(frag != NULL);
    memcpy(frag, url, len);
    memcpy(frag + len, "#f", 3);
    FUZZ_CHECK(parse(frag, &v) == rv);
    if (rv == 0) {
        check(&u);
        check_same(&u, &v);
        tt__url_cleanup(&v);
        /* What the parser produced, written back as a URL, parses to the same thing. */
        size_t alen = strlen(u.origin) + strlen(u.target) + 1;
        char *again = malloc(alen);
        FUZZ_CHECK(again != NULL && snprintf(again, alen, "%s%s", u.origin, u.target) > 0);
        FUZZ_CHECK(parse(again, &v) == 0);
        check_same(&u, &v);
        free(again);
    }
    tt__url_cleanup(&v);
    tt__url_cleanup(&u);
    tt__url_cleanup(&u); /* idempotent */
    free(frag);
    free(url);
    return 0;
}
