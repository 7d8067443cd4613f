/* SPDX-License-Identifier: MIT */
/* libFuzzer: the Content-Encoding decoder (decompress) on arbitrary bytes split anywhere: it
 * returns 0, a refusal that says why, or the sink's stop; never more output than the sink
 * accepts; and feeding the same bytes in one piece or two gives the same verdict (and, for a
 * good stream, the same output). */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (1u << 20)

struct sink {
    size_t len;
    uint64_t hash;
};

static bool sink_cb(void *arg, const char *data, size_t len)
{
    struct sink *s = arg;
    FUZZ_CHECK(len > 0);
    for (size_t i = 0; i < len; i++) {
        s->hash = (s->hash ^ (unsigned char)data[i]) * 1099511628211ull;
    }
    s->len += len;
    return s->len < OUT_MAX; /* a bomb stops here, as max_body_bytes does */
}

static int run(const char *coding, const uint8_t *in, size_t size, size_t split, struct sink *s)
{
    struct tt__decoder *d = NULL;
    char why[160];
    why[0] = '\0';
    FUZZ_CHECK(tt__decoder_new(coding, &d, why, sizeof(why)) == 0 && d != NULL);
    int rv = tt__decoder_feed(d, (const char *)in, split, sink_cb, s, why, sizeof(why));
    if (rv == 0) {
        rv = tt__decoder_feed(d, (const char *)in + split, size - split, sink_cb, s, why,
                              sizeof(why));
    }
    FUZZ_CHECK(rv == 0 || rv == TETHER_EHTTP || rv == TETHER_ECANCELED);
    FUZZ_CHECK(rv != TETHER_EHTTP || strncmp(why, "corrupt ", 8) == 0);
    if (rv == 0 && size == 0) {
        FUZZ_CHECK(tt__decoder_complete(d));
    }
    tt__decoder_free(d);
    return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    const char *coding = data[0] & 1 ? "deflate" : "gzip";
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    struct sink whole = {0, 14695981039346656037ull};
    struct sink parts = {0, 14695981039346656037ull};
    int a = run(coding, in, n, n, &whole);
    int b = run(coding, in, n, n ? fuzz_hash(data, size) % (n + 1) : 0, &parts);
    FUZZ_CHECK(whole.len <= OUT_MAX + 16384 && parts.len <= OUT_MAX + 16384);
    /* How much of a corrupt stream came out before the error depends on the pieces; the
     * verdict, and a good stream's bytes, do not. */
    if (a != TETHER_ECANCELED && b != TETHER_ECANCELED) {
        FUZZ_CHECK(a == b);
        FUZZ_CHECK(a != 0 || (whole.len == parts.len && whole.hash == parts.hash));
    }
    /* Unknown codings are refused by name, identity is no decoder at all. */
    struct tt__decoder *d = NULL;
    char why[160];
    FUZZ_CHECK(tt__decoder_new("identity", &d, why, sizeof(why)) == 0 && d == NULL);
    FUZZ_CHECK(tt__decoder_new("br", &d, why, sizeof(why)) == TETHER_EHTTP && d == NULL);
    return 0;
}
