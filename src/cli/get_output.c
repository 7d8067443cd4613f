/* SPDX-License-Identifier: MIT */
/* `tether get -o FILE`: FILE.part until complete, -C -, the progress bar and the summary; the
 * body on stdout within the deadline. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <uv.h>

#include "tether/client.h"

#include "util/http_date.h"
#include "util/range.h"
#include "util/str.h"

#include "args.h"
#include "get_output.h"

#define GET_CMD "get"
/* The progress bar is redrawn at most this often. */
#define GET_PROGRESS_NS 200000000u

static const char *get_errno_text(int err)
{
    return uv_strerror(uv_translate_sys_error(err));
}

/* The size of a regular file, or -1 when there is none (errno set). */
static int64_t get_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    return (int64_t)st.st_size;
}

/* Reads the sidecar's one line into o->validator; nothing when it is missing or odd. */
static void get_read_validator(struct get_output *o)
{
    FILE *fp = fopen(o->sidecar, "rb");
    if (!fp) {
        return;
    }
    char line[sizeof(o->validator) + 2];
    size_t n = fread(line, 1, sizeof(line) - 1, fp);
    (void)fclose(fp);
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] && strlen(line) < sizeof(o->validator)) {
        memcpy(o->validator, line, strlen(line) + 1);
    }
}

/* The If-Range value `f`'s response allows (RFC 9110 §13.1.5): its ETag when strong; with no
 * ETag at all its Last-Modified, when the Date is at least a second later (§8.8.2.2). */
static const char *get_validator_of(const tether_fetch *f)
{
    const char *etag = tether_fetch_header(f, "ETag");
    if (etag) {
        return etag[0] == '"' ? etag : NULL;
    }
    const char *lm = tether_fetch_header(f, "Last-Modified");
    const char *date = tether_fetch_header(f, "Date");
    int64_t lm_s;
    int64_t date_s;
    if (lm && date && ttx_http_date_parse(lm, strlen(lm), &lm_s) == 0 &&
        ttx_http_date_parse(date, strlen(date), &date_s) == 0 && date_s - lm_s >= 1) {
        return lm;
    }
    return NULL;
}

static char *get_path_with(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p) {
        (void)snprintf(p, n, "%s%s", path, suffix);
    }
    return p;
}

/* Whether `path` names something that is not a regular file (a device, a FIFO, a socket). */
static bool get_is_special(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

int get_output_open(struct get_output *o, const char *path, bool continue_partial)
{
    memset(o, 0, sizeof(*o));
    o->path = path;
    if (get_is_special(path)) {
        /* No FILE.part, no sidecar, no rename, nothing to continue: the bytes go where asked. */
        o->direct = true;
        o->sidecar_done = true;
        o->fp = fopen(path, "wb");
        if (!o->fp) {
            return args_error(GET_CMD, "cannot write -o '%s': %s", path, get_errno_text(errno));
        }
        o->start_ns = uv_hrtime();
        return 0;
    }
    o->part = get_path_with(path, GET_PART_SUFFIX);
    o->sidecar = get_path_with(path, GET_VALIDATOR_SUFFIX);
    if (!o->part || !o->sidecar) {
        return args_error(GET_CMD, "out of memory");
    }
    int64_t size = 0;
    if (continue_partial) {
        size = get_file_size(o->part);
        if (size > 0) {
            get_read_validator(o);
        }
        if (size < 0 && errno == ENOENT) {
            /* curl -C - continues FILE itself: it becomes the part file until complete. */
            size = get_file_size(path);
            if (size >= 0 && rename(path, o->part) != 0) {
                return args_error(GET_CMD, "cannot continue -o '%s': rename to '%s': %s", path,
                                  o->part, get_errno_text(errno));
            }
        }
        if (size < 0 && errno != ENOENT) {
            return args_error(GET_CMD, "cannot continue -o '%s': %s", path, get_errno_text(errno));
        }
        if (size < 0) {
            size = 0; /* nothing yet: an ordinary download */
        }
    }
    o->fp = fopen(o->part, size > 0 ? "r+b" : "wb");
    if (o->fp && size > 0 && fseeko(o->fp, (off_t)size, SEEK_SET) != 0) {
        (void)fclose(o->fp);
        o->fp = NULL;
    }
    if (!o->fp) {
        return args_error(GET_CMD, "cannot write -o '%s': %s", o->part, get_errno_text(errno));
    }
    o->held = (uint64_t)size;
    o->resume_from = (uint64_t)size;
    if (size == 0) {
        (void)remove(o->sidecar); /* it described bytes that are gone */
    }
    o->start_ns = uv_hrtime();
    return 0;
}

/* Writes (or removes) the sidecar for the body `f` is delivering, before its first byte lands:
 * a run killed at any point leaves FILE.part with the validator of its bytes. */
static void get_write_validator(struct get_output *o, const tether_fetch *f)
{
    const char *v = get_validator_of(f);
    FILE *fp = v ? fopen(o->sidecar, "wb") : NULL;
    if (fp) {
        (void)fprintf(fp, "%s\n", v);
        (void)fclose(fp);
    } else {
        (void)remove(o->sidecar);
    }
    o->sidecar_done = true;
}

int get_output_write(struct get_output *o, const tether_fetch *f, const char *data, size_t len)
{
    if (!o->sidecar_done) {
        get_write_validator(o, f);
    }
    o->received += len;
    if (len && fwrite(data, 1, len, o->fp) != len) {
        return errno ? errno : EIO;
    }
    o->held += len;
    return 0;
}

int get_output_seek(struct get_output *o, uint64_t offset)
{
    if (o->direct) {
        /* A device or a pipe cannot take bytes back: the body starts over after what it got. */
        o->held = offset;
        return 0;
    }
    if (offset == 0) {
        o->sidecar_done = false; /* a new representation: its own validator */
    }
    if (offset == o->held) {
        return 0;
    }
    if (fflush(o->fp) != 0 || ftruncate(fileno(o->fp), (off_t)offset) != 0 ||
        fseeko(o->fp, (off_t)offset, SEEK_SET) != 0) {
        return errno ? errno : EIO;
    }
    o->held = offset;
    return 0;
}

int get_output_close(struct get_output *o, bool complete, bool *kept)
{
    int err = 0;
    *kept = false;
    if (o->fp && fclose(o->fp) != 0) {
        err = errno ? errno : EIO;
        complete = false;
    }
    o->fp = NULL;
    if (o->direct) {
        return err;
    }
    if (complete && rename(o->part, o->path) != 0) {
        return errno ? errno : EIO;
    }
    if (complete) {
        (void)remove(o->sidecar);
    }
    if (!complete) {
        if (o->held > 0) {
            *kept = true;
        } else {
            (void)remove(o->part);
            (void)remove(o->sidecar);
        }
    }
    return err;
}

void get_output_cleanup(struct get_output *o)
{
    if (o->fp) {
        /* The request never ran: an empty part file is not left behind. */
        (void)fclose(o->fp);
        o->fp = NULL;
        if (o->held == 0 && !o->direct) {
            (void)remove(o->part);
        }
    }
    free(o->part);
    free(o->sidecar);
    o->part = NULL;
    o->sidecar = NULL;
}

bool get_output_already_complete(const struct get_output *o, const tether_fetch *f)
{
    const char *cr = tether_fetch_header(f, "Content-Range");
    struct ttx_content_range r;
    return o->resume_from > 0 && tether_fetch_status(f) == 416 && cr &&
           ttx_content_range_parse(cr, strlen(cr), &r) == 0 && r.unsatisfied && r.has_complete &&
           r.complete == o->held;
}

void get_human_bytes(uint64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0) {
        (void)snprintf(buf, len, "%" PRIu64 " B", n);
    } else {
        (void)snprintf(buf, len, "%.1f %s", v, units[u]);
    }
}

/* The body's full length: Content-Range's total for a 206, else Content-Length; 0 unknown. */
static uint64_t get_total(const tether_fetch *f)
{
    const char *cr = tether_fetch_header(f, "Content-Range");
    struct ttx_content_range r;
    if (tether_fetch_status(f) == 206 && cr && ttx_content_range_parse(cr, strlen(cr), &r) == 0 &&
        r.has_complete) {
        return r.complete;
    }
    const char *cl = tether_fetch_header(f, "Content-Length");
    uint64_t n = 0;
    if (tether_fetch_status(f) != 206 && cl && ttx_parse_u64(cl, strlen(cl), &n) == 0) {
        return n;
    }
    return 0;
}

/* Retries that were not resumes (a resume is also counted as a retry by the library). */
static unsigned get_plain_retries(const tether_fetch *f)
{
    unsigned retries = tether_fetch_retries(f);
    unsigned resumes = tether_fetch_resumes(f);
    return retries > resumes ? retries - resumes : 0;
}

void get_progress_draw(struct get_output *o, const tether_fetch *f, uint64_t held,
                       uint64_t received, bool final)
{
    uint64_t now = uv_hrtime();
    if (final) {
        fputs("\r\033[K", stderr);
        return;
    }
    if (now - o->drawn_ns < GET_PROGRESS_NS) {
        return;
    }
    o->drawn_ns = now;
    if (!o->start_ns) {
        o->start_ns = now;
    }
    double secs = (double)(now - o->start_ns) / 1e9;
    double rate = secs > 0 ? (double)received / secs : 0;
    char got[32];
    char speed[32];
    get_human_bytes(held, got, sizeof(got));
    get_human_bytes((uint64_t)rate, speed, sizeof(speed));
    uint64_t total = f ? get_total(f) : 0;
    fputs("\r\033[K", stderr);
    if (total >= held && total > 0) {
        char all[32];
        get_human_bytes(total, all, sizeof(all));
        double pct = 100.0 * (double)held / (double)total;
        int width = 20;
        int filled = (int)(pct / 100.0 * width);
        fputs("  [", stderr);
        for (int i = 0; i < width; i++) {
            fputc(i < filled ? '#' : '-', stderr);
        }
        fprintf(stderr, "] %5.1f%%  %s / %s  %s/s", pct, got, all, speed);
        if (rate > 0) {
            uint64_t eta = (uint64_t)((double)(total - held) / rate);
            fprintf(stderr, "  ETA %" PRIu64 ":%02" PRIu64, eta / 60, eta % 60);
        }
    } else {
        fprintf(stderr, "  %s received  %s/s", got, speed);
    }
    if (f && (tether_fetch_resumes(f) || get_plain_retries(f))) {
        fprintf(stderr, "  %u resume%s, %u retr%s", tether_fetch_resumes(f),
                tether_fetch_resumes(f) == 1 ? "" : "s", get_plain_retries(f),
                get_plain_retries(f) == 1 ? "y" : "ies");
    }
}

void get_output_summary(const struct get_output *o, const tether_fetch *f)
{
    double secs = (double)(uv_hrtime() - o->start_ns) / 1e9;
    char size[32];
    char speed[32];
    get_human_bytes(o->held, size, sizeof(size));
    get_human_bytes(secs > 0 ? (uint64_t)((double)o->received / secs) : 0, speed, sizeof(speed));
    unsigned resumes = tether_fetch_resumes(f);
    unsigned retries = get_plain_retries(f);
    fprintf(stderr, "tether get: %s in %.1f s (%s/s), %u resume%s, %u retr%s", size, secs, speed,
            resumes, resumes == 1 ? "" : "s", retries, retries == 1 ? "y" : "ies");
    if (o->resume_from > 0) {
        char from[32];
        get_human_bytes(o->resume_from, from, sizeof(from));
        fprintf(stderr, ", continued from %s", from);
    }
    fprintf(stderr, " -> %s\n", o->path);
}

/* ---- stdout within the deadline ---- */

int get_stdout_write(FILE *out, const char *data, size_t len, uint64_t deadline_ns)
{
    if (fflush(out) != 0) { /* -i's head went through the FILE: it goes first */
        return errno ? errno : EIO;
    }
    int fd = fileno(out);
    struct stat st;
    bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    size_t off = 0;
    while (off < len) {
        if (!regular) {
            /* A pipe or terminal whose reader stopped blocks a write for ever, and with it the
             * loop, so the deadline timer never fires: wait for room only until the deadline.
             * POLLOUT promises room for PIPE_BUF bytes, so a write that size cannot block. */
            int wait_ms = -1;
            if (deadline_ns) {
                uint64_t now = uv_hrtime();
                if (now >= deadline_ns) {
                    return ETIMEDOUT;
                }
                uint64_t left_ms = (deadline_ns - now + 999999u) / 1000000u;
                wait_ms = left_ms > INT_MAX ? INT_MAX : (int)left_ms;
            }
            struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
            int n = poll(&p, 1, wait_ms);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return errno;
            }
            if (n == 0) {
                return ETIMEDOUT;
            }
        }
        size_t piece = len - off;
        if (!regular && piece > PIPE_BUF) {
            piece = PIPE_BUF;
        }
        ssize_t w = write(fd, data + off, piece);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (w < 0) {
            return errno;
        }
        off += (size_t)w;
    }
    return 0;
}
