/* SPDX-License-Identifier: MIT */
/* Private to src/proxy/: Toxiproxy-exact JSON: the writer (Go's encoding/json byte for byte) and
 * the strict reader of API bodies. */
#ifndef TETHER_PROXY_JSON_H
#define TETHER_PROXY_JSON_H

#include "proxy/base.h"

/* ---- JSON (json.c) ---- */

/* A JSON writer over a bounded buffer; the first failure sticks in `err`. */
struct pj_w {
    struct tt__buf buf;
    int err;
};
void tt__pj_init(struct pj_w *w);
void tt__pj_raw(struct pj_w *w, const char *s);
void tt__pj_fmt(struct pj_w *w, const char *fmt, ...) TETHER_PRINTF(2, 3);
/* A quoted string, escaped as Go's encoding/json does (HTML characters as \u00XX). */
void tt__pj_str(struct pj_w *w, const char *s);
/* `"key":` preceded by a comma unless *first (which is then cleared). */
void tt__pj_key(struct pj_w *w, bool *first, const char *key);
/* Shortest text that reads back as the same float32 / float64, as Go prints them. */
void tt__pj_float32(struct pj_w *w, float v);
void tt__pj_float64(struct pj_w *w, double v);

/* Go-like decoding of one request body: the first JSON value only (trailing bytes are
 * ignored, as json.Decoder does), "EOF" for an empty body. On failure `err` holds the text
 * that follows "bad request body: ". */
int tt__pj_load(const char *body, size_t len, json_t **out, char *err, size_t errlen);

enum pj_kind { PJ_STRING, PJ_BOOL, PJ_INT64, PJ_FLOAT32, PJ_FLOAT64, PJ_RAW };
struct pj_field {
    const char *name;
    enum pj_kind kind;
    void *dst;     /* const char ** (borrowed from the json), bool *, int64_t *, float *,
                      double *, json_t ** (borrowed) */
    bool *present; /* may be NULL; set when the key appeared with a non-null value */
};
/* Decodes `v` into `fields` as encoding/json would decode into a struct called `go_type`:
 * keys match case-insensitively, unknown keys and null values are ignored, a wrong JSON type
 * (or a fractional number for an integer) is an error worded like Go's. A top-level null is
 * accepted and decodes nothing. */
int tt__pj_decode(const json_t *v, const char *go_type, const struct pj_field *fields, size_t n,
                  char *err, size_t errlen);
/* "string", "number", "bool", "object", "array", "null". */
const char *tt__pj_kind_name(const json_t *v);

#endif
