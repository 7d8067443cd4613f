/* SPDX-License-Identifier: MIT */
/* Content-Encoding for the fetch option `decompress` (curl's --compressed): gzip and deflate
 * decoded with zlib while the body streams, in bounded steps, so a small compressed body can
 * never make one allocation large (a bomb stops at max_body_bytes, counted in decoded bytes). */
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "client/client_int.h"
#include "util/str.h"

/* Decoded bytes handed out per sink call. */
#define DECODE_CHUNK 16384u

enum decode_kind { DECODE_GZIP, DECODE_DEFLATE };

struct tt__decoder {
    z_stream z;
    enum decode_kind kind;
    bool began;  /* input arrived */
    bool ended;  /* the stream's end mark was decoded */
    bool inited; /* inflateInit2 ran: at once for gzip, after two bytes for deflate */
    unsigned char out[DECODE_CHUNK];
    /* The first two bytes of a deflate body, which tell zlib-wrapped from raw. */
    unsigned char head[2];
    size_t head_len;
};

static int decode_init(struct tt__decoder *d, int window_bits)
{
    memset(&d->z, 0, sizeof(d->z));
    if (inflateInit2(&d->z, window_bits) != Z_OK) {
        return TETHER_ENOMEM;
    }
    d->inited = true;
    return 0;
}

int tt__decoder_new(const char *coding, struct tt__decoder **out, char *why, size_t why_len)
{
    *out = NULL;
    if (!coding) {
        return 0;
    }
    struct ttx_slice c = ttx_trim_ows(coding, strlen(coding));
    enum decode_kind kind;
    if (c.len == 0 || (c.len == 8 && ttx_prefix_nocase(c.ptr, "identity"))) {
        return 0;
    }
    if ((c.len == 4 && ttx_prefix_nocase(c.ptr, "gzip")) ||
        (c.len == 6 && ttx_prefix_nocase(c.ptr, "x-gzip"))) {
        kind = DECODE_GZIP;
    } else if (c.len == 7 && ttx_prefix_nocase(c.ptr, "deflate")) {
        kind = DECODE_DEFLATE;
    } else {
        /* We asked for gzip and deflate only; stacked or other codings are not decoded into
         * something that would pass for the body (curl: "Unrecognized content encoding"). */
        (void)snprintf(why, why_len, "unsupported Content-Encoding '%.60s' (gzip and deflate are)",
                       coding);
        return TETHER_EHTTP;
    }
    struct tt__decoder *d = tt__calloc(1, sizeof(*d));
    if (!d) {
        return TETHER_ENOMEM;
    }
    d->kind = kind;
    /* gzip: 16 + 15 reads the gzip wrapper. A deflate body waits for its first two bytes. */
    if (kind == DECODE_GZIP && decode_init(d, 16 + MAX_WBITS) != 0) {
        tt__free(d);
        return TETHER_ENOMEM;
    }
    *out = d;
    return 0;
}

void tt__decoder_free(struct tt__decoder *d)
{
    if (d) {
        if (d->inited) {
            (void)inflateEnd(&d->z);
        }
        tt__free(d);
    }
}

bool tt__decoder_complete(const struct tt__decoder *d)
{
    return !d->began || d->ended;
}

/* Inflates `in` into the sink. Returns 0, TETHER_ECANCELED, or Z_DATA_ERROR's code mapped. */
static int decode_run(struct tt__decoder *d, const unsigned char *in, size_t len,
                      tt__decode_sink sink, void *arg, int *zerr)
{
    d->z.next_in = (unsigned char *)(uintptr_t)in;
    d->z.avail_in = (uInt)len;
    while (!d->ended && (d->z.avail_in > 0 || d->z.avail_out == 0)) {
        d->z.next_out = d->out;
        d->z.avail_out = sizeof(d->out);
        int zr = inflate(&d->z, Z_NO_FLUSH);
        size_t produced = sizeof(d->out) - d->z.avail_out;
        if (zr == Z_STREAM_END) {
            d->ended = true;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            *zerr = zr;
            return TETHER_EHTTP;
        }
        if (produced > 0 && !sink(arg, (const char *)d->out, produced)) {
            return TETHER_ECANCELED;
        }
        if (zr == Z_BUF_ERROR || (produced == 0 && d->z.avail_in == 0)) {
            break; /* needs more input */
        }
    }
    /* Bytes after the end mark (padding some servers add) are ignored, as curl does. */
    return 0;
}

/* RFC 1950 §2.2: CM 8 (deflate), a window of at most 32 KiB, and the check bits. */
static bool decode_zlib_header(const unsigned char h[2])
{
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((unsigned)h[0] * 256u + h[1]) % 31u == 0;
}

int tt__decoder_feed(struct tt__decoder *d, const char *in, size_t len, tt__decode_sink sink,
                     void *arg, char *why, size_t why_len)
{
    if (len == 0 || d->ended) {
        return 0;
    }
    d->began = true;
    const unsigned char *u = (const unsigned char *)in;
    int zerr = Z_OK;
    int rv = 0;
    if (!d->inited) {
        /* RFC 9110 says "deflate" is the zlib format, but some servers send raw deflate
         * (curl and browsers accept both): the first two bytes decide, whatever the reads'
         * sizes, so the same body always decodes the same way. */
        size_t take = len < 2 - d->head_len ? len : 2 - d->head_len;
        memcpy(d->head + d->head_len, u, take);
        d->head_len += take;
        u += take;
        len -= take;
        if (d->head_len < 2) {
            return 0;
        }
        if (decode_init(d, decode_zlib_header(d->head) ? MAX_WBITS : -MAX_WBITS) != 0) {
            return TETHER_ENOMEM;
        }
        rv = decode_run(d, d->head, 2, sink, arg, &zerr);
    }
    if (rv == 0 && len > 0) {
        rv = decode_run(d, u, len, sink, arg, &zerr);
    }
    if (rv == TETHER_EHTTP) {
        (void)snprintf(why, why_len, "corrupt %s body: %s",
                       d->kind == DECODE_GZIP ? "gzip" : "deflate",
                       d->z.msg ? d->z.msg : (zerr == Z_MEM_ERROR ? "out of memory" : "bad data"));
    }
    return rv;
}
