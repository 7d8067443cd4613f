/* SPDX-License-Identifier: MIT */
/* JSON for the proxy API: writing with Go's key order, escaping and number formats, and
 * decoding request bodies the way Go's encoding/json does (so clients see Toxiproxy's errors). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy_int.h"

/* Responses are built in memory; this bounds a listing of very many proxies or toxics. */
#define PJ_MAX_OUTPUT (64u * 1024u * 1024u)

void tt__px_err_set(struct px_err *e, int status, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    va_start(ap, fmt);
    (void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

/* ---- writing ---- */

void tt__pj_init(struct pj_w *w)
{
    tt__buf_init(&w->buf, PJ_MAX_OUTPUT);
    w->err = 0;
}

static void pj_append(struct pj_w *w, const char *s, size_t n)
{
    if (w->err == 0) {
        w->err = tt__buf_append(&w->buf, s, n);
    }
}

void tt__pj_raw(struct pj_w *w, const char *s)
{
    pj_append(w, s, strlen(s));
}

void tt__pj_fmt(struct pj_w *w, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->err = w->err ? w->err : TETHER_EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        pj_append(w, small, (size_t)n);
        return;
    }
    char *big = tt__malloc((size_t)n + 1);
    if (!big) {
        w->err = w->err ? w->err : TETHER_ENOMEM;
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pj_append(w, big, (size_t)n);
    tt__free(big);
}

/* The length of the well-formed UTF-8 sequence (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF) starting with the byte p[0] >= 0x80, or 0 when it is not one. p is
 * NUL-terminated, and NUL is never a continuation byte, so nothing past the end is read. */
static size_t utf8_sequence(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

void tt__pj_str(struct pj_w *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    pj_append(w, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0;; i++) {
        unsigned char ch = p[i];
        const char *esc = NULL;
        char ubuf[7];
        /* Go's encoder escapes <, > and & too (HTMLEscape is on in json.Marshal), and the
         * JavaScript line separators U+2028/U+2029. */
        bool is_ls = ch == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9);
        if (ch == 0) {
            pj_append(w, s + i - run, run);
            break;
        }
        if (ch == '"') {
            esc = "\\\"";
        } else if (ch == '\\') {
            esc = "\\\\";
        } else if (ch == '\n') {
            esc = "\\n";
        } else if (ch == '\r') {
            esc = "\\r";
        } else if (ch == '\t') {
            esc = "\\t";
        } else if (ch == '\b') {
            esc = "\\b";
        } else if (ch == '\f') {
            esc = "\\f";
        } else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&') {
            ubuf[0] = '\\';
            ubuf[1] = 'u';
            ubuf[2] = '0';
            ubuf[3] = '0';
            ubuf[4] = hex[ch >> 4];
            ubuf[5] = hex[ch & 15];
            ubuf[6] = '\0';
            esc = ubuf;
        } else if (is_ls) {
            esc = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
        } else if (ch >= 0x80) {
            /* Go's encoder writes each byte of invalid UTF-8 as U+FFFD, so a response is
             * always valid JSON (a decoder's error message may quote a cut sequence). */
            size_t n = utf8_sequence(p + i);
            if (n == 0) {
                esc = "\\ufffd";
            } else {
                run += n;
                i += n - 1;
                continue;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        pj_append(w, s + i - run, run);
        run = 0;
        tt__pj_raw(w, esc);
        if (is_ls) {
            i += 2;
        }
    }
    pj_append(w, "\"", 1);
}

void tt__pj_key(struct pj_w *w, bool *first, const char *key)
{
    if (!*first) {
        pj_append(w, ",", 1);
    }
    *first = false;
    tt__pj_str(w, key);
    pj_append(w, ":", 1);
}

/* strconv.AppendFloat(f, 'f' or 'e', -1, bits) as encoding/json uses it: the shortest digits
 * that read back as the same value, plain notation between 1e-6 and 1e21. */
static void pj_float(struct pj_w *w, double v, bool is32)
{
    char sci[64];
    int prec;
    if (!isfinite(v)) {
        /* Go refuses to encode these; a toxic attribute never holds one (validated). */
        tt__pj_raw(w, "0");
        return;
    }
    if (v == 0) {
        tt__pj_raw(w, signbit(v) ? "-0" : "0");
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        (void)snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
        if (is32 ? (float)strtod(sci, NULL) == (float)v : strtod(sci, NULL) == v) {
            break;
        }
    }
    /* sci is "-d.ddde+XX": split into sign, digits and exponent. */
    char digits[32];
    size_t nd = 0;
    const char *p = sci;
    bool neg = *p == '-';
    if (neg) {
        p++;
    }
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && nd < sizeof(digits) - 1) {
            digits[nd++] = *p;
        }
    }
    digits[nd] = '\0';
    long exp10 = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
    double a = fabs(v);
    bool use_e = is32 ? ((float)a < 1e-6f || (float)a >= 1e21f) : (a < 1e-6 || a >= 1e21);
    char out[96];
    size_t o = 0;
    if (neg) {
        out[o++] = '-';
    }
    if (use_e) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++) {
                out[o++] = digits[i];
            }
        }
        /* Go prints e-7, not e-07. */
        o += (size_t)snprintf(out + o, sizeof(out) - o, "e%c%ld", exp10 < 0 ? '-' : '+',
                              exp10 < 0 ? -exp10 : exp10);
        out[o] = '\0';
        tt__pj_raw(w, out);
        return;
    }
    if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (long i = 0; i < -exp10 - 1; i++) {
            out[o++] = '0';
        }
        for (size_t i = 0; i < nd; i++) {
            out[o++] = digits[i];
        }
    } else {
        size_t int_digits = (size_t)exp10 + 1;
        for (size_t i = 0; i < int_digits; i++) {
            out[o++] = i < nd ? digits[i] : '0';
        }
        if (nd > int_digits) {
            out[o++] = '.';
            for (size_t i = int_digits; i < nd; i++) {
                out[o++] = digits[i];
            }
        }
    }
    out[o] = '\0';
    tt__pj_raw(w, out);
}

void tt__pj_float32(struct pj_w *w, float v)
{
    pj_float(w, (double)v, true);
}

void tt__pj_float64(struct pj_w *w, double v)
{
    pj_float(w, v, false);
}

/* ---- reading ---- */

static bool pj_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int tt__pj_load(const char *body, size_t len, json_t **out, char *err, size_t errlen)
{
    json_error_t je;
    size_t i = 0;
    *out = NULL;
    while (i < len && pj_space(body[i])) {
        i++;
    }
    if (i == len) {
        /* What json.Decoder.Decode says about an empty body. */
        (void)snprintf(err, errlen, "EOF");
        return TETHER_EINVAL;
    }
    char c = body[i];
    if (!(c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' ||
          c == 'f' || c == 'n')) {
        (void)snprintf(err, errlen, "invalid character '%c' looking for beginning of value",
                       (c >= 0x20 && c < 0x7f) ? c : '?');
        return TETHER_EINVAL;
    }
    /* Decoder reads one value and leaves the rest alone: so does JSON_DISABLE_EOF_CHECK. */
    json_t *v =
        json_loadb(body, len, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
    if (!v) {
        if (je.position >= (int)len || strstr(je.text, "end of") || strstr(je.text, "premature")) {
            (void)snprintf(err, errlen, "unexpected EOF");
        } else {
            (void)snprintf(err, errlen, "invalid JSON: %s", je.text);
        }
        return TETHER_EINVAL;
    }
    *out = v;
    return 0;
}

const char *tt__pj_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

static const char *pj_go_kind(enum pj_kind k)
{
    switch (k) {
    case PJ_STRING:
        return "string";
    case PJ_BOOL:
        return "bool";
    case PJ_INT64:
        return "int64";
    case PJ_FLOAT32:
        return "float32";
    case PJ_FLOAT64:
        return "float64";
    default:
        return "interface {}";
    }
}

static int pj_mismatch(const json_t *v, const char *go_type, const struct pj_field *f, char *err,
                       size_t errlen)
{
    if (json_is_real(v)) {
        (void)snprintf(err, errlen,
                       "json: cannot unmarshal number %g into Go struct field %s.%s of type %s",
                       json_real_value(v), go_type, f->name, pj_go_kind(f->kind));
    } else {
        (void)snprintf(err, errlen,
                       "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
                       tt__pj_kind_name(v), go_type, f->name, pj_go_kind(f->kind));
    }
    return TETHER_EINVAL;
}

static int pj_decode_field(const json_t *v, const char *go_type, const struct pj_field *f,
                           char *err, size_t errlen)
{
    switch (f->kind) {
    case PJ_STRING:
        if (!json_is_string(v)) {
            return pj_mismatch(v, go_type, f, err, errlen);
        }
        /* Strings are used as C strings (names, addresses): "a\u0000b" would silently
         * become "a", so it is refused rather than truncated. */
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            (void)snprintf(err, errlen, "invalid %s.%s: a NUL character (\\u0000) is not allowed",
                           go_type, f->name);
            return TETHER_EINVAL;
        }
        *(const char **)f->dst = json_string_value(v);
        break;
    case PJ_BOOL:
        if (!json_is_boolean(v)) {
            return pj_mismatch(v, go_type, f, err, errlen);
        }
        *(bool *)f->dst = json_is_true(v);
        break;
    case PJ_INT64:
        if (json_is_integer(v)) {
            *(int64_t *)f->dst = (int64_t)json_integer_value(v);
        } else if (json_is_real(v)) {
            /* Integral reals (1000.0, 1e3) are taken; Go would refuse them. Fractions are an
             * error, as in Go. */
            double d = json_real_value(v);
            if (d != floor(d) || d < -9.2e18 || d > 9.2e18) {
                return pj_mismatch(v, go_type, f, err, errlen);
            }
            *(int64_t *)f->dst = (int64_t)d;
        } else {
            return pj_mismatch(v, go_type, f, err, errlen);
        }
        break;
    case PJ_FLOAT32:
    case PJ_FLOAT64:
        if (!json_is_number(v)) {
            return pj_mismatch(v, go_type, f, err, errlen);
        }
        if (f->kind == PJ_FLOAT32) {
            /* Beyond float32 the cast gives inf (undefined behaviour past FLT_MAX); Go's
             * decoder refuses the number with this same text. */
            double d = json_number_value(v);
            if (d > FLT_MAX || d < -FLT_MAX) {
                return pj_mismatch(v, go_type, f, err, errlen);
            }
            *(float *)f->dst = (float)d;
        } else {
            *(double *)f->dst = json_number_value(v);
        }
        break;
    case PJ_RAW:
        *(const json_t **)f->dst = v;
        break;
    }
    if (f->present) {
        *f->present = true;
    }
    return 0;
}

int tt__pj_decode(const json_t *v, const char *go_type, const struct pj_field *fields, size_t n,
                  char *err, size_t errlen)
{
    if (json_is_null(v)) {
        return 0;
    }
    if (!json_is_object(v)) {
        (void)snprintf(err, errlen, "json: cannot unmarshal %s into Go value of type %s",
                       tt__pj_kind_name(v), go_type);
        return TETHER_EINVAL;
    }
    const char *key;
    json_t *val;
    /* Keys are visited in document order, so a later duplicate wins, as in Go. */
    json_object_foreach((json_t *)(uintptr_t)v, key, val)
    {
        const struct pj_field *match = NULL;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(fields[i].name, key) == 0) {
                match = &fields[i];
                break;
            }
        }
        for (size_t i = 0; !match && i < n; i++) {
            if (strcasecmp(fields[i].name, key) == 0) {
                match = &fields[i];
            }
        }
        if (!match || (json_is_null(val) && match->kind != PJ_RAW)) {
            continue; /* unknown keys and nulls leave the field as it was */
        }
        int rv = pj_decode_field(val, go_type, match, err, errlen);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}
