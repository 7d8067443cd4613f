/* SPDX-License-Identifier: MIT */
/* `tether serve --root`: static files with strong ETags, Last-Modified and single ranges. */
/* realpath() is XSI: the CLI target defines only _POSIX_C_SOURCE. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tether/tether.h"
#include "tether/server.h"

#include "util/etag.h"
#include "util/http_date.h"
#include "util/range.h"
#include "util/str.h"

#include "serve.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static int files_hex(char ch)
{
    if (ttx_is_digit(ch)) {
        return ch - '0';
    }
    ch = ttx_lower(ch);
    return (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
}

/* ---- paths ---- */

/* Percent-decodes the request path and resolves "." and ".." into `out` ("/a/b", or "/" for
 * the root), keeping a final '/' when the request had one. Returns 0, 400 for bad encoding
 * (or a NUL byte), 403 when ".." would climb above the root, 414 when it is too long. */
static int files_normalize(const char *path, size_t len, char *out, size_t out_len)
{
    char dec[PATH_MAX];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = path[i];
        if (ch == '%') {
            int hi = i + 2 < len ? files_hex(path[i + 1]) : -1;
            int lo = i + 2 < len ? files_hex(path[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return 400;
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n + 1 >= sizeof(dec)) {
            return 414;
        }
        dec[n++] = ch;
    }
    dec[n] = '\0';
    if (n == 0 || dec[0] != '/') {
        return 400;
    }
    /* Segments are appended to `out`; ".." cuts back to the previous '/'. Decoding happened
     * first, so "%2e%2e" and "%2f" are treated exactly like ".." and "/". */
    size_t o = 0;
    const char *p = dec;
    while (*p) {
        while (*p == '/') {
            p++;
        }
        const char *seg = p;
        while (*p && *p != '/') {
            p++;
        }
        size_t sl = (size_t)(p - seg);
        if (sl == 0 || (sl == 1 && seg[0] == '.')) {
            continue;
        }
        if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            if (o == 0) {
                return 403;
            }
            while (o > 0 && out[o - 1] != '/') {
                o--;
            }
            o--; /* the '/' itself */
            continue;
        }
        if (o + 1 + sl + 1 >= out_len) {
            return 414;
        }
        out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    if (o == 0 || dec[n - 1] == '/') {
        out[o++] = '/';
    }
    out[o] = '\0';
    return 0;
}

static const char *files_content_type(const char *path)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"xml", "application/xml"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"svg", "image/svg+xml"},
        {"ico", "image/vnd.microsoft.icon"},
        {"mp3", "audio/mpeg"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && dot[1]) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            const char *a = dot + 1;
            const char *b = types[i].ext;
            while (*a && ttx_lower(*a) == *b) {
                a++;
                b++;
            }
            if (!*a && !*b) {
                return types[i].type;
            }
        }
    }
    return "application/octet-stream";
}

/* ---- responding ---- */

static void files_error(tether_request *req, int status, const char *allow)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d\n", status);
    if (tether_response_start(req, status) == 0) {
        (void)tether_response_header(req, "Content-Type", "text/plain");
        if (allow) {
            (void)tether_response_header(req, "Allow", allow);
        }
    }
    (void)tether_response_end(req, body, n > 0 ? (size_t)n : 0);
}

/* Maps a failed realpath/open to the status the client should see. */
static int files_errno_status(int err)
{
    if (err == EACCES || err == EPERM) {
        return 403;
    }
    if (err == ENOENT || err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG) {
        return 404;
    }
    return 500;
}

/* Resolves `rel` under the root, refusing anything (symbolic links included) that ends up
 * outside it. Returns 0 with the real path in `out`, or an HTTP status. */
static int files_resolve(const struct serve_ctx *ctx, const char *rel, char *out)
{
    char full[PATH_MAX];
    int n = snprintf(full, sizeof(full), "%s%s", ctx->root, rel);
    if (n < 0 || (size_t)n >= sizeof(full)) {
        return 414;
    }
    if (!realpath(full, out)) {
        return files_errno_status(errno);
    }
    if (strncmp(out, ctx->root, ctx->root_len) != 0 ||
        (out[ctx->root_len] != '/' && out[ctx->root_len] != '\0')) {
        return 403;
    }
    return 0;
}

struct files_meta {
    char etag[80];
    char last_modified[TTX_HTTP_DATE_SIZE];
    const char *type;
    uint64_t size;
};

/* The validators and type every answer about the file carries. */
static int files_headers(tether_request *req, int status, const struct files_meta *m)
{
    int rv = tether_response_start(req, status);
    if (rv == 0 && status != 304) {
        rv = tether_response_header(req, "Content-Type", m->type);
    }
    if (rv == 0) {
        rv = tether_response_header(req, "ETag", m->etag);
    }
    if (rv == 0) {
        rv = tether_response_header(req, "Last-Modified", m->last_modified);
    }
    if (rv == 0 && status != 304) {
        rv = tether_response_header(req, "Accept-Ranges", "bytes");
    }
    return rv;
}

/* Sends [first, first + len) of the open file `fd` (taken over) with the head started. */
static void files_send_body(struct serve_ctx *ctx, tether_request *req, int fd, uint64_t first,
                            uint64_t len)
{
    char cl[32];
    (void)snprintf(cl, sizeof(cl), "%llu", (unsigned long long)len);
    int rv = tether_response_header(req, "Content-Length", cl);
    if (rv != 0 || len == 0 || strcmp(tether_request_method(req), "HEAD") == 0) {
        close(fd);
        (void)tether_response_end(req, NULL, 0);
        return;
    }
    struct serve_exchange *ex = serve_exchange_get(ctx, req);
    if (!ex) {
        close(fd);
        tether_request_abort(req);
        return;
    }
    ex->fd = fd;
    ex->offset = first;
    ex->remaining = len;
    serve_exchange_stream(ex);
}

/* Answers from the open regular file `fd` (taken over), honouring the conditional and range
 * fields. */
static void files_answer(struct serve_ctx *ctx, tether_request *req, int fd, const struct stat *st,
                         const char *real)
{
    struct files_meta m;
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
    /* Inode, size and nanosecond mtime: any change to the file changes the tag, which is what
     * makes it safe as a strong validator for resuming downloads with If-Range. */
    (void)snprintf(m.etag, sizeof(m.etag), "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
                   (unsigned long long)st->st_size, (unsigned long long)mtime_ns);
    ttx_http_date_format((int64_t)st->st_mtim.tv_sec, m.last_modified);
    m.type = files_content_type(real);
    m.size = (uint64_t)st->st_size;

    /* RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it. */
    const char *inm = tether_request_header(req, "If-None-Match");
    const char *ims = tether_request_header(req, "If-Modified-Since");
    int64_t since;
    if ((inm && ttx_etag_list_match(inm, m.etag)) ||
        (!inm && ims && ttx_http_date_parse(ims, strlen(ims), &since) == 0 &&
         st->st_mtim.tv_sec <= since)) {
        close(fd);
        (void)files_headers(req, 304, &m);
        (void)tether_response_end(req, NULL, 0); /* frees the request even when detached */
        return;
    }

    uint64_t first = 0;
    uint64_t last = 0;
    enum ttx_range_result range = TTX_RANGE_NONE;
    const char *rh = tether_request_header(req, "Range");
    const char *if_range = tether_request_header(req, "If-Range");
    if (rh && (!if_range || ttx_if_range_match(if_range, m.etag, (int64_t)st->st_mtim.tv_sec))) {
        /* One range at most: a multi-range request gets the whole file (always correct). */
        range = ttx_range_parse(rh, strlen(rh), m.size, &first, &last);
    }
    char cr[96];
    if (range == TTX_RANGE_UNSATISFIABLE) {
        static const char msg[] = "range not satisfiable\n";
        close(fd);
        (void)snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)m.size);
        if (tether_response_start(req, 416) == 0) {
            (void)tether_response_header(req, "Content-Type", "text/plain");
            (void)tether_response_header(req, "Content-Range", cr);
        }
        (void)tether_response_end(req, msg, sizeof(msg) - 1);
        return;
    }
    int rv;
    if (range == TTX_RANGE_OK) {
        (void)snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)first,
                       (unsigned long long)last, (unsigned long long)m.size);
        rv = files_headers(req, 206, &m);
        if (rv == 0) {
            rv = tether_response_header(req, "Content-Range", cr);
        }
    } else {
        first = 0;
        rv = files_headers(req, 200, &m);
    }
    uint64_t len = range == TTX_RANGE_OK ? last - first + 1 : m.size;
    if (rv != 0 && !tether_request_is_detached(req)) {
        close(fd);
        tether_request_abort(req);
        return;
    }
    files_send_body(ctx, req, fd, first, len);
}

/* A directory asked for without its final '/': relative links inside it only work once the
 * client's URL ends in '/', so send it there. The Location is built from the normalised `rel`
 * (one leading '/', no empty segment), never from the raw path: "//evil.example/../dir" would
 * otherwise redirect to "//evil.example/../dir/", a network-path reference to another host
 * (the classic static-server open redirect). Bytes outside RFC 3986's pchar are
 * percent-encoded, as `rel` is decoded. */
static void files_redirect_dir(tether_request *req, const char *rel, const char *query)
{
    size_t rel_len = strlen(rel);
    char *loc = malloc(rel_len * 3 + strlen(query) + 2);
    if (!loc) {
        files_error(req, 503, NULL);
        return;
    }
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < rel_len; i++) {
        unsigned char ch = (unsigned char)rel[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            (ch != 0 && strchr("/-._~!$&'()*+,;=:@", ch))) {
            loc[o++] = (char)ch;
        } else {
            loc[o++] = '%';
            loc[o++] = hex[ch >> 4];
            loc[o++] = hex[ch & 15];
        }
    }
    loc[o++] = '/';
    memcpy(loc + o, query, strlen(query) + 1);
    static const char msg[] = "moved\n";
    if (tether_response_start(req, 301) == 0) {
        (void)tether_response_header(req, "Location", loc);
        (void)tether_response_header(req, "Content-Type", "text/plain");
    }
    (void)tether_response_end(req, msg, sizeof(msg) - 1);
    free(loc);
}

void serve_files_respond(struct serve_ctx *ctx, tether_request *req)
{
    const char *method = tether_request_method(req);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        files_error(req, 405, "GET, HEAD");
        return;
    }
    const char *path;
    size_t path_len;
    serve_target_path(tether_request_target(req), &path, &path_len);
    char rel[PATH_MAX];
    int status = files_normalize(path, path_len, rel, sizeof(rel) - sizeof("index.html"));
    if (status != 0) {
        files_error(req, status, NULL);
        return;
    }
    char real[PATH_MAX];
    if ((status = files_resolve(ctx, rel, real)) != 0) {
        files_error(req, status, NULL);
        return;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        files_error(req, files_errno_status(errno), NULL);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (rel[strlen(rel) - 1] != '/') {
            files_redirect_dir(req, rel, path + path_len); /* then "?query" or "" */
            return;
        }
        /* rel has room for this: see the files_normalize call above. */
        memcpy(rel + strlen(rel), "index.html", sizeof("index.html"));
        if ((status = files_resolve(ctx, rel, real)) != 0) {
            files_error(req, status, NULL);
            return;
        }
    }
    /* O_NONBLOCK: opening a FIFO someone left in the tree must not hang the server. */
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        files_error(req, files_errno_status(errno), NULL);
        return;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        files_error(req, 404, NULL);
        return;
    }
    files_answer(ctx, req, fd, &st, real);
}
