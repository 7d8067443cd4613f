/* SPDX-License-Identifier: MIT */
/* libFuzzer: chunked decoding is split-independent and round-trips what the writer encodes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct decoded {
    int rv;
    enum tt__h1_error error;
    size_t used; /* input bytes consumed */
    size_t len;  /* decoded bytes in out */
    char *out;
};

/* Decodes in[0..len) in one window (seed 0) or in windows of 1..16 bytes, each an exact-size
 * copy so a read past the window is caught. */
static void decode(const struct tt__h1_limits *lim, const char *in, size_t len, uint64_t seed,
                   struct decoded *d)
{
    struct tt__h1_chunked c;
    tt__h1_chunked_init(&c, lim);
    d->out = malloc(len + 1);
    FUZZ_CHECK(d->out != NULL);
    d->used = d->len = 0;
    size_t avail = seed ? 0 : len;
    for (;;) {
        size_t n = avail - d->used;
        char *win = malloc(n > 0 ? n : 1);
        FUZZ_CHECK(win != NULL);
        memcpy(win, in + d->used, n);
        size_t consumed = SIZE_MAX;
        struct tt__h1_str span = {NULL, 0};
        d->rv = tt__h1_chunked_decode(&c, win, n, &consumed, &span);
        FUZZ_CHECK(consumed <= n);
        FUZZ_CHECK(fuzz_span_in(span, win, consumed)); /* data lies in what was consumed */
        memcpy(d->out + d->len, span.ptr ? span.ptr : "", span.len);
        d->len += span.len;
        d->used += consumed;
        free(win);
        FUZZ_CHECK(c.body_len == d->len);
        if (d->rv != 0) {
            break;
        }
        if (d->used == avail || (consumed == 0 && span.len == 0)) {
            if (avail == len) {
                break; /* needs input we do not have */
            }
            avail += 1 + (size_t)(seed % 16);
            avail = avail < len ? avail : len;
            seed = seed * 6364136223846793005u + 1442695040888963407u;
        }
    }
    d->error = c.error;
    FUZZ_CHECK(d->rv == 0 || d->rv == TT__H1_CHUNKED_DONE || d->rv == TETHER_EHTTP);
    FUZZ_CHECK((d->rv == TETHER_EHTTP) == (d->error != TT__H1_ERR_NONE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    uint64_t seed = fuzz_hash(data, size) | 1;
    struct tt__h1_limits lim;
    tt__h1_limits_default(&lim);
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct tt__buf enc;
    tt__buf_init(&enc, SIZE_MAX);
    if (data[0] & 1) { /* encode data[1..] in chunks of 1..64 bytes, then a next message */
        FUZZ_CHECK(tt__h1_write_chunk(&enc, in, 0) == TETHER_EINVAL);
        for (size_t off = 0, n; off < len; off += n) {
            n = 1 + (size_t)((seed >> (off % 32)) % 64);
            n = n < len - off ? n : len - off;
            FUZZ_CHECK(tt__h1_write_chunk(&enc, in + off, n) == 0);
        }
        FUZZ_CHECK(tt__h1_write_last_chunk(&enc) == 0);
        FUZZ_CHECK(tt__buf_append_str(&enc, "HTTP/1.1 200 OK\r\n") == 0);
    } else if (data[0] & 2) { /* tight limits, so short inputs reach them */
        lim.max_chunk_ext_bytes = (size_t)(seed >> 8) % 32;
        lim.max_head_bytes = (size_t)(seed >> 16) % 64;
        lim.max_fields = (size_t)(seed >> 24) % 4;
    }
    const char *src = (data[0] & 1) ? enc.data : in;
    size_t srclen = (data[0] & 1) ? enc.len : len;
    struct decoded one, many;
    decode(&lim, src, srclen, 0, &one);
    decode(&lim, src, srclen, seed, &many);
    FUZZ_CHECK(one.rv == many.rv && one.error == many.error);
    FUZZ_CHECK(one.len == many.len && memcmp(one.out, many.out, one.len) == 0);
    FUZZ_CHECK(one.rv != TT__H1_CHUNKED_DONE || one.used == many.used);
    if (data[0] & 1) {
        FUZZ_CHECK(one.rv == TT__H1_CHUNKED_DONE && one.used == enc.len - 17);
        FUZZ_CHECK(one.len == len && memcmp(one.out, in, len) == 0);
    }
    free(one.out);
    free(many.out);
    tt__buf_cleanup(&enc);
    return 0;
}
