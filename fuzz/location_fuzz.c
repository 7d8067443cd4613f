/* SPDX-License-Identifier: MIT */
/* libFuzzer: resolving a redirect's Location (tt__url_resolve) refuses with a reason or yields
 * an http(s) URL whose path has no dot segments and whose path and query carry only bytes a
 * request target may; resolved again as itself, a parsable result does not change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const bases[] = {
    "http://a/b/c/d;p?q",
    "https://h:8443",
    "http://[::1]:8080/x/y/",
    "http://example.com/?only=query",
};

/* The path and query of an absolute URL, after its authority. */
static const char *after_authority(const char *url)
{
    const char *p = strstr(url, "://");
    FUZZ_CHECK(p != NULL);
    p += 3;
    return p + strcspn(p, "/?");
}

static void check_result(const char *r)
{
    FUZZ_CHECK(strncmp(r, "http://", 7) == 0 || strncmp(r, "https://", 8) == 0);
    const char *t = after_authority(r);
    for (const char *p = t; *p; p++) {
        unsigned char u = (unsigned char)*p;
        FUZZ_CHECK(u > 0x20 && u < 0x7f && u != '#');
    }
    size_t plen = strcspn(t, "?");
    char *path = strndup(t, plen);
    FUZZ_CHECK(path != NULL);
    FUZZ_CHECK(strstr(path, "/./") == NULL && strstr(path, "/../") == NULL);
    FUZZ_CHECK(plen < 2 || strcmp(path + plen - 2, "/.") != 0);
    FUZZ_CHECK(plen < 3 || strcmp(path + plen - 3, "/..") != 0);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    char *ref = malloc(size);
    FUZZ_CHECK(ref != NULL);
    memcpy(ref, data + 1, size - 1);
    ref[size - 1] = '\0';
    struct tt__url base;
    FUZZ_CHECK(tt__url_parse(bases[data[0] % (sizeof(bases) / sizeof(bases[0]))], &base, NULL, 0) ==
               0);
    const char *why = NULL;
    char *r = tt__url_resolve(&base, ref, &why);
    FUZZ_CHECK((r == NULL) == (why != NULL));
    if (r) {
        check_result(r);
        struct tt__url u;
        if (tt__url_parse(r, &u, NULL, 0) == 0) {
            /* Written back from what was parsed, the URL resolves to itself. */
            char *again = tt__url_resolve(&u, "", &why);
            FUZZ_CHECK(again != NULL);
            check_result(again);
            struct tt__url v;
            FUZZ_CHECK(tt__url_parse(again, &v, NULL, 0) == 0);
            char *third = tt__url_resolve(&v, "", &why);
            FUZZ_CHECK(third != NULL && strcmp(third, again) == 0);
            tt__free(third);
            tt__url_cleanup(&v);
            tt__free(again);
            tt__url_cleanup(&u);
        }
        tt__free(r);
    }
    tt__url_cleanup(&base);
    free(ref);
    return 0;
}
