/* SPDX-License-Identifier: MIT */
/* Loader for the data-driven HTTP/1.1 test vectors (tests/vectors/README.md has the format). */
#ifndef TETHER_TEST_VECTORS_H
#define TETHER_TEST_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Independent of src/http1 on purpose: the expected error is kept as its name ("BARE_LF") plus
 * the status a server answers with, so server tests can send invalid vectors over a socket and
 * check the status without touching the parser API.
 */

enum tt_vec_type { TT_VEC_REQUEST, TT_VEC_RESPONSE, TT_VEC_CHUNKED };

enum tt_vec_body {
    TT_VEC_BODY_UNSET = 0, /* no "body:" check */
    TT_VEC_BODY_NONE,
    TT_VEC_BODY_LENGTH,
    TT_VEC_BODY_CHUNKED,
    TT_VEC_BODY_CLOSE
};

/* Bytes from the file, escapes decoded. `ptr` is NULL when the key was absent; otherwise it is
 * heap memory with a NUL after `len` bytes (the bytes themselves may hold NULs). */
struct tt_vec_bytes {
    char *ptr;
    size_t len;
};

/* "field: Name: value": the first field called Name has exactly this value. */
struct tt_vec_field_check {
    struct tt_vec_bytes name;
    struct tt_vec_bytes value;
};

struct tt_vector {
    char *name;
    const char *file; /* file name (no directory), shared by the set */
    int line;         /* line of "name:" */
    enum tt_vec_type type;
    bool ok;      /* expect: ok */
    char *expect; /* "ok" or the error name without TT__H1_ERR_ */
    int status;   /* errors: the HTTP status a server answers with; 0 for ok */
    struct tt_vec_bytes data;

    /* Optional checks; absent = NULL ptr, -1, or TT_VEC_BODY_UNSET. */
    struct tt_vec_bytes method, target, reason, host, request_method;
    int version_minor; /* 0 or 1 */
    int status_code;
    long nfields;
    enum tt_vec_body body;
    uint64_t content_length; /* body == TT_VEC_BODY_LENGTH */
    int keep_alive;          /* 0 or 1 */
    struct tt_vec_field_check *field_checks;
    size_t nfield_checks;
    struct tt_vec_bytes decoded;  /* the body the message carries */
    struct tt_vec_bytes trailing; /* bytes left after the message */
};

struct tt_vec_set {
    struct tt_vector *v;
    size_t n;
    char **files; /* owned file names that vectors' `file` point at */
    size_t nfiles;
};

/* Loads every *.vec in `dir`, files in name order and vectors in file order. Returns 0, or -1
 * with a "file:line: reason" message in err (the set is then empty). Free with tt_vec_free(). */
int tt_vec_load_dir(const char *dir, struct tt_vec_set *set, char *err, size_t err_len);
/* The same for $TETHER_VECTORS_DIR (which CTest sets); -1 when it is unset. */
int tt_vec_load_env(struct tt_vec_set *set, char *err, size_t err_len);
/* Parses one file's text (`file` names it in messages and in the vectors); appends to `set`. */
int tt_vec_parse_text(struct tt_vec_set *set, const char *file, const char *text, size_t len,
                      char *err, size_t err_len);
void tt_vec_free(struct tt_vec_set *set);

const char *tt_vec_type_name(enum tt_vec_type t);
const char *tt_vec_body_name(enum tt_vec_body b);
/* The first vector with this name, or NULL. */
const struct tt_vector *tt_vec_find(const struct tt_vec_set *set, const char *name);
/* Writes `len` bytes in the files' escaped form ("GET /\r\n"), NUL-terminated, cut at out_len
 * with "..." when too long. Returns out. */
char *tt_vec_escape(const char *p, size_t len, char *out, size_t out_len);

#endif
