/* SPDX-License-Identifier: MIT */
/* Loader for the data-driven HTTP/1.1 test vectors (tests/vectors/README.md has the format). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

struct vec_ctx {
    const char *file;
    int line;
    char *err;
    size_t err_len;
    bool have_type; /* the current vector has "type:" */
};

static int vec_fail(struct vec_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int vec_fail(struct vec_ctx *cx, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cx->err && cx->err_len > 0) {
        snprintf(cx->err, cx->err_len, "%s:%d: %s", cx->file, cx->line, msg);
    }
    return -1;
}

static void *vec_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "vectors: out of memory\n");
        abort();
    }
    return q;
}

static char *vec_strndup(const char *s, size_t n)
{
    char *d = vec_xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int vec_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Appends the unescaped form of s[0..n) to *b, `times` times. */
static int vec_append(struct vec_ctx *cx, struct tt_vec_bytes *b, const char *s, size_t n,
                      size_t times)
{
    char *tmp = vec_xrealloc(NULL, n + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            tmp[len++] = s[i];
            continue;
        }
        char c = i + 1 < n ? s[i + 1] : '\0';
        i++;
        if (c == 'r') {
            tmp[len++] = '\r';
        } else if (c == 'n') {
            tmp[len++] = '\n';
        } else if (c == 't') {
            tmp[len++] = '\t';
        } else if (c == '\\') {
            tmp[len++] = '\\';
        } else if (c == 'x' && i + 2 < n && vec_hexval(s[i + 1]) >= 0 &&
                   vec_hexval(s[i + 2]) >= 0) {
            tmp[len++] = (char)(vec_hexval(s[i + 1]) * 16 + vec_hexval(s[i + 2]));
            i += 2;
        } else {
            free(tmp);
            return vec_fail(cx, "bad escape \"\\%c\" (use \\r \\n \\t \\\\ \\xNN)", c ? c : ' ');
        }
    }
    size_t add = len * times;
    if (times != 0 && add / times != len) {
        free(tmp);
        return vec_fail(cx, "repeat too large");
    }
    b->ptr = vec_xrealloc(b->ptr, b->len + add + 1);
    for (size_t t = 0; t < times; t++) {
        memcpy(b->ptr + b->len, tmp, len);
        b->len += len;
    }
    b->ptr[b->len] = '\0';
    free(tmp);
    return 0;
}

static void vec_bytes_free(struct tt_vec_bytes *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
}

static void vec_free_one(struct tt_vector *v)
{
    free(v->name);
    free(v->expect);
    vec_bytes_free(&v->data);
    vec_bytes_free(&v->method);
    vec_bytes_free(&v->target);
    vec_bytes_free(&v->reason);
    vec_bytes_free(&v->host);
    vec_bytes_free(&v->request_method);
    vec_bytes_free(&v->decoded);
    vec_bytes_free(&v->trailing);
    for (size_t i = 0; i < v->nfield_checks; i++) {
        vec_bytes_free(&v->field_checks[i].name);
        vec_bytes_free(&v->field_checks[i].value);
    }
    free(v->field_checks);
}

static bool vec_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Strict decimal: digits only, no sign, no overflow. */
static bool vec_parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool vec_value_is(const char *v, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(v, lit, n) == 0;
}

static void vec_init_one(struct tt_vector *v, const char *file, int line)
{
    memset(v, 0, sizeof(*v));
    v->file = file;
    v->line = line;
    v->version_minor = -1;
    v->status_code = -1;
    v->nfields = -1;
    v->keep_alive = -1;
}

/* A string check: unescaped into *dst (present even when empty). */
static int vec_set_bytes(struct vec_ctx *cx, struct tt_vec_bytes *dst, const char *key,
                         const char *val, size_t n)
{
    if (dst->ptr) {
        return vec_fail(cx, "\"%s:\" given twice", key);
    }
    dst->ptr = vec_xrealloc(NULL, 1);
    dst->ptr[0] = '\0';
    return vec_append(cx, dst, val, n, 1);
}

static int vec_field_check(struct vec_ctx *cx, struct tt_vector *v, const char *val, size_t n)
{
    struct tt_vec_bytes all = {NULL, 0};
    if (vec_set_bytes(cx, &all, "field", val, n) != 0) {
        vec_bytes_free(&all);
        return -1;
    }
    char *colon = memchr(all.ptr, ':', all.len);
    if (!colon || colon == all.ptr) {
        vec_bytes_free(&all);
        return vec_fail(cx, "\"field:\" needs \"Name: value\"");
    }
    size_t name_len = (size_t)(colon - all.ptr);
    const char *vs = colon + 1;
    const char *ve = all.ptr + all.len;
    while (vs < ve && vec_is_blank(*vs)) {
        vs++;
    }
    while (ve > vs && vec_is_blank(ve[-1])) {
        ve--;
    }
    v->field_checks =
        vec_xrealloc(v->field_checks, (v->nfield_checks + 1) * sizeof(*v->field_checks));
    struct tt_vec_field_check *fc = &v->field_checks[v->nfield_checks++];
    fc->name.ptr = vec_strndup(all.ptr, name_len);
    fc->name.len = name_len;
    fc->value.len = (size_t)(ve - vs);
    fc->value.ptr = vec_strndup(vs, fc->value.len);
    vec_bytes_free(&all);
    return 0;
}

/* Handles "key: value" inside a vector. */
static int vec_key(struct vec_ctx *cx, struct tt_vector *v, const char *key, size_t klen,
                   const char *val, size_t n)
{
    char k[32];
    if (klen >= sizeof(k)) {
        return vec_fail(cx, "unknown key");
    }
    memcpy(k, key, klen);
    k[klen] = '\0';

    struct tt_vec_bytes *bytes = NULL;
    size_t times = 1;
    const char *base = k;
    char basebuf[32];
    size_t blen = strlen(k);
    if (blen > 7 && strcmp(k + blen - 7, "-repeat") == 0) {
        memcpy(basebuf, k, blen - 7);
        basebuf[blen - 7] = '\0';
        base = basebuf;
        const char *sp = memchr(val, ' ', n);
        uint64_t count;
        if (!sp || !vec_parse_u64(val, (size_t)(sp - val), &count) || count > 100000000u) {
            return vec_fail(cx, "\"%s:\" needs \"<count> <bytes>\"", k);
        }
        times = (size_t)count;
        n -= (size_t)(sp + 1 - val);
        val = sp + 1;
    }
    if (strcmp(base, "data") == 0) {
        bytes = &v->data;
    } else if (strcmp(base, "decoded") == 0) {
        bytes = &v->decoded;
    } else if (strcmp(base, "trailing") == 0) {
        bytes = &v->trailing;
    } else if (base != k) {
        return vec_fail(cx, "\"%s:\" repeats only data, decoded or trailing", k);
    }
    if (bytes) {
        if (!bytes->ptr) {
            bytes->ptr = vec_xrealloc(NULL, 1);
            bytes->ptr[0] = '\0';
        }
        return vec_append(cx, bytes, val, n, times);
    }

    if (strcmp(k, "type") == 0) {
        cx->have_type = true;
        if (vec_value_is(val, n, "request")) {
            v->type = TT_VEC_REQUEST;
        } else if (vec_value_is(val, n, "response")) {
            v->type = TT_VEC_RESPONSE;
        } else if (vec_value_is(val, n, "chunked")) {
            v->type = TT_VEC_CHUNKED;
        } else {
            return vec_fail(cx, "type must be request, response or chunked");
        }
    } else if (strcmp(k, "expect") == 0) {
        if (v->expect || n == 0) {
            return vec_fail(cx, "\"expect:\" missing a value or given twice");
        }
        v->expect = vec_strndup(val, n);
        v->ok = vec_value_is(val, n, "ok");
    } else if (strcmp(k, "status") == 0 || strcmp(k, "status-code") == 0) {
        uint64_t s;
        if (!vec_parse_u64(val, n, &s) || s > 999) {
            return vec_fail(cx, "\"%s:\" needs a number up to 999", k);
        }
        *(strcmp(k, "status") == 0 ? &v->status : &v->status_code) = (int)s;
    } else if (strcmp(k, "version") == 0) {
        if (vec_value_is(val, n, "1.0") || vec_value_is(val, n, "1.1")) {
            v->version_minor = val[2] - '0';
        } else {
            return vec_fail(cx, "version must be 1.0 or 1.1");
        }
    } else if (strcmp(k, "fields") == 0) {
        uint64_t c;
        if (!vec_parse_u64(val, n, &c) || c > 100000) {
            return vec_fail(cx, "\"fields:\" needs a count");
        }
        v->nfields = (long)c;
    } else if (strcmp(k, "body") == 0) {
        if (vec_value_is(val, n, "none")) {
            v->body = TT_VEC_BODY_NONE;
        } else if (vec_value_is(val, n, "chunked")) {
            v->body = TT_VEC_BODY_CHUNKED;
        } else if (vec_value_is(val, n, "close")) {
            v->body = TT_VEC_BODY_CLOSE;
        } else if (n > 7 && memcmp(val, "length ", 7) == 0 &&
                   vec_parse_u64(val + 7, n - 7, &v->content_length)) {
            v->body = TT_VEC_BODY_LENGTH;
        } else {
            return vec_fail(cx, "body must be none, length N, chunked or close");
        }
    } else if (strcmp(k, "keep-alive") == 0) {
        if (vec_value_is(val, n, "yes") || vec_value_is(val, n, "no")) {
            v->keep_alive = val[0] == 'y';
        } else {
            return vec_fail(cx, "keep-alive must be yes or no");
        }
    } else if (strcmp(k, "method") == 0) {
        return vec_set_bytes(cx, &v->method, k, val, n);
    } else if (strcmp(k, "target") == 0) {
        return vec_set_bytes(cx, &v->target, k, val, n);
    } else if (strcmp(k, "reason") == 0) {
        return vec_set_bytes(cx, &v->reason, k, val, n);
    } else if (strcmp(k, "host") == 0) {
        return vec_set_bytes(cx, &v->host, k, val, n);
    } else if (strcmp(k, "request-method") == 0) {
        return vec_set_bytes(cx, &v->request_method, k, val, n);
    } else if (strcmp(k, "field") == 0) {
        return vec_field_check(cx, v, val, n);
    } else {
        return vec_fail(cx, "unknown key \"%s\"", k);
    }
    return 0;
}

/* Checks a vector at its "end" line. */
static int vec_finish(struct vec_ctx *cx, const struct tt_vec_set *set, struct tt_vector *v)
{
    if (!cx->have_type) {
        return vec_fail(cx, "vector \"%s\" has no type", v->name);
    }
    if (!v->expect) {
        return vec_fail(cx, "vector \"%s\" has no \"expect:\"", v->name);
    }
    if (!v->data.ptr || v->data.len == 0) {
        return vec_fail(cx, "vector \"%s\" has no data", v->name);
    }
    if (v->ok && v->status != 0) {
        return vec_fail(cx, "vector \"%s\": \"status:\" is for errors only", v->name);
    }
    if (!v->ok && (v->status < 100 || v->status > 599)) {
        return vec_fail(cx, "vector \"%s\": an error needs \"status:\" (100..599)", v->name);
    }
    if (v->type == TT_VEC_CHUNKED && v->ok && !v->decoded.ptr) {
        return vec_fail(cx, "chunked vector \"%s\" needs \"decoded:\"", v->name);
    }
    if (v->request_method.ptr && v->type != TT_VEC_RESPONSE) {
        return vec_fail(cx, "vector \"%s\": \"request-method:\" is for responses", v->name);
    }
    if (tt_vec_find(set, v->name)) {
        return vec_fail(cx, "duplicate vector name \"%s\"", v->name);
    }
    return 0;
}

int tt_vec_parse_text(struct tt_vec_set *set, const char *file, const char *text, size_t len,
                      char *err, size_t err_len)
{
    struct vec_ctx cx = {file, 0, err, err_len, false};
    struct tt_vector cur;
    bool in_vec = false;
    size_t pos = 0;

    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        cx.line++;
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        if (n == 0 || line[0] == '#') {
            continue;
        }
        /* Comments: '#' at the value's start or after a blank. */
        const char *colon = memchr(line, ':', n);
        size_t cut = n;
        for (size_t i = colon ? (size_t)(colon - line) + 1 : 0; i < n; i++) {
            if (line[i] == '#' && (i == 0 || vec_is_blank(line[i - 1]) || line + i == colon + 1)) {
                cut = i;
                break;
            }
        }
        n = cut;
        while (n > 0 && vec_is_blank(line[n - 1])) {
            n--;
        }
        if (n == 0) {
            continue;
        }
        if (n == 3 && memcmp(line, "end", 3) == 0) {
            if (!in_vec) {
                return vec_fail(&cx, "\"end\" outside a vector");
            }
            if (vec_finish(&cx, set, &cur) != 0) {
                vec_free_one(&cur);
                return -1;
            }
            set->v = vec_xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
            set->v[set->n++] = cur;
            in_vec = false;
            continue;
        }
        if (!colon || colon >= line + n) {
            if (in_vec) {
                vec_free_one(&cur);
            }
            return vec_fail(&cx, "expected \"key: value\" or \"end\"");
        }
        const char *key = line;
        size_t klen = (size_t)(colon - line);
        const char *val = colon + 1;
        const char *vend = line + n;
        while (val < vend && vec_is_blank(*val)) {
            val++;
        }
        size_t vlen = (size_t)(vend - val);
        if (klen == 4 && memcmp(key, "name", 4) == 0) {
            if (in_vec) {
                vec_free_one(&cur);
                return vec_fail(&cx, "\"name:\" before the previous vector's \"end\"");
            }
            if (vlen == 0) {
                return vec_fail(&cx, "empty name");
            }
            vec_init_one(&cur, file, cx.line);
            cx.have_type = false;
            cur.name = vec_strndup(val, vlen);
            in_vec = true;
            continue;
        }
        if (!in_vec) {
            return vec_fail(&cx, "\"%.*s:\" outside a vector (start one with \"name:\")", (int)klen,
                            key);
        }
        if (vec_key(&cx, &cur, key, klen, val, vlen) != 0) {
            vec_free_one(&cur);
            return -1;
        }
    }
    if (in_vec) {
        vec_free_one(&cur);
        return vec_fail(&cx, "vector without \"end\"");
    }
    return 0;
}

static int vec_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int vec_load_file(struct tt_vec_set *set, const char *dir, const char *file, char *err,
                         size_t err_len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        text = vec_xrealloc(text, len + got);
        memcpy(text + len, chunk, got);
        len += got;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(text);
        snprintf(err, err_len, "%s: read error", path);
        return -1;
    }
    int rv = tt_vec_parse_text(set, file, text ? text : "", len, err, err_len);
    free(text);
    return rv;
}

int tt_vec_load_dir(const char *dir, struct tt_vec_set *set, char *err, size_t err_len)
{
    memset(set, 0, sizeof(*set));
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, err_len, "%s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".vec") == 0 && de->d_name[0] != '.') {
            set->files = vec_xrealloc(set->files, (set->nfiles + 1) * sizeof(*set->files));
            set->files[set->nfiles++] = vec_strndup(de->d_name, n);
        }
    }
    closedir(d);
    if (set->nfiles > 1) {
        qsort(set->files, set->nfiles, sizeof(*set->files), vec_cmp_names);
    }
    for (size_t i = 0; i < set->nfiles; i++) {
        if (vec_load_file(set, dir, set->files[i], err, err_len) != 0) {
            tt_vec_free(set);
            return -1;
        }
    }
    return 0;
}

int tt_vec_load_env(struct tt_vec_set *set, char *err, size_t err_len)
{
    const char *dir = getenv("TETHER_VECTORS_DIR");
    if (!dir || !*dir) {
        memset(set, 0, sizeof(*set));
        snprintf(err, err_len, "TETHER_VECTORS_DIR is not set (CTest sets it)");
        return -1;
    }
    return tt_vec_load_dir(dir, set, err, err_len);
}

void tt_vec_free(struct tt_vec_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        vec_free_one(&set->v[i]);
    }
    free(set->v);
    for (size_t i = 0; i < set->nfiles; i++) {
        free(set->files[i]);
    }
    free(set->files);
    memset(set, 0, sizeof(*set));
}

const char *tt_vec_type_name(enum tt_vec_type t)
{
    switch (t) {
    case TT_VEC_REQUEST:
        return "request";
    case TT_VEC_RESPONSE:
        return "response";
    case TT_VEC_CHUNKED:
        return "chunked";
    }
    return "?";
}

const char *tt_vec_body_name(enum tt_vec_body b)
{
    switch (b) {
    case TT_VEC_BODY_UNSET:
        return "(unset)";
    case TT_VEC_BODY_NONE:
        return "none";
    case TT_VEC_BODY_LENGTH:
        return "length";
    case TT_VEC_BODY_CHUNKED:
        return "chunked";
    case TT_VEC_BODY_CLOSE:
        return "close";
    }
    return "?";
}

const struct tt_vector *tt_vec_find(const struct tt_vec_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->v[i].name, name) == 0) {
            return &set->v[i];
        }
    }
    return NULL;
}

char *tt_vec_escape(const char *p, size_t len, char *out, size_t out_len)
{
    size_t o = 0;
    if (out_len == 0) {
        return out;
    }
    for (size_t i = 0; i < len; i++) {
        char tmp[5];
        unsigned char c = (unsigned char)p[i];
        if (c == '\r') {
            memcpy(tmp, "\\r", 3);
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 3);
        } else if (c == '\t') {
            memcpy(tmp, "\\t", 3);
        } else if (c == '\\') {
            memcpy(tmp, "\\\\", 3);
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        } else {
            tmp[0] = (char)c;
            tmp[1] = '\0';
        }
        size_t tl = strlen(tmp);
        if (o + tl + 4 > out_len) {
            if (o + 4 <= out_len) {
                memcpy(out + o, "...", 4);
            } else {
                out[o] = '\0';
            }
            return out;
        }
        memcpy(out + o, tmp, tl);
        o += tl;
    }
    out[o] = '\0';
    return out;
}
