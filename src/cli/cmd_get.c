/* SPDX-License-Identifier: MIT */
/* `tether get URL`: one request through the resilient client, with curl-like flags. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "tether/tether.h"
#include "tether/client.h"
#include "tether/policy.h"

#include "util/str.h"

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "commands.h"
#include "fetch_flags.h"
#include "get_output.h"

const char cmd_get_summary[] = "one HTTP request that survives resets (curl-like flags)";

const char cmd_get_usage[] =
    "Usage: tether get [options] URL\n"
    "\n"
    "One HTTP/1.1 request through tether's client: a stale keep-alive socket is never used,\n"
    "a request that provably never reached the server is replayed, idempotent requests are\n"
    "retried with jittered backoff inside one deadline. The body goes to stdout (or -o FILE).\n"
    "\n"
    "Request:\n"
    "  -X, --request METHOD    method [GET, or POST with -d]\n"
    "  -H, --header 'N: V'     add a header (repeatable, at most 100)\n"
    "  -d, --data DATA         request body; @FILE reads FILE verbatim, @- reads stdin;\n"
    "                          several are joined with '&'. Adds Content-Type:\n"
    "                          application/x-www-form-urlencoded unless -H sets one\n"
    "\n"
    "Resilience:\n"
    "  --policy NAME|FILE      naive (every protection off), default, or a JSON policy\n"
    "                          file [default]\n"
    "  --retry N               retries after the first attempt (attempts = N + 1) [the\n"
    "                          policy's: default 2, naive 0]\n"
    "  --max-time DUR          one deadline over every attempt, backoff sleep and the body;\n"
    "                          0 = none [the policy's deadline, else 30s]\n"
    "  --connect-timeout DUR   per connection attempt [10s]\n"
    "  --no-keepalive          no TCP keepalive probes (curl's meaning; HTTP keep-alive is\n"
    "                          a policy field)\n"
    "\n"
    "TLS:\n"
    "  -k, --insecure          skip certificate verification\n"
    "  --cacert FILE           trust the PEM certificates in FILE instead of the system store\n"
    "\n"
    "Output:\n"
    "  -o, --output FILE       write the body to FILE ('-' = stdout), through FILE.part:\n"
    "                          FILE appears only once the body is complete. A cut body is\n"
    "                          resumed (Range + If-Range) or restarted, never spliced; a\n"
    "                          failed download keeps its bytes in FILE.part, an empty one\n"
    "                          leaves no file. A summary line goes to stderr at the end\n"
    "  -C, --continue-at -     continue FILE.part (or FILE) from its size with a Range, and\n"
    "                          If-Range from FILE.part.validator (kept beside a part file)\n"
    "                          so a file changed since starts over; FILE alone gets a bare\n"
    "                          Range, as curl -C - sends\n"
    "  -v, --verbose           the request's lifecycle on stderr: connections new, reused,\n"
    "                          evicted, each failed attempt with its phase and byte counts,\n"
    "                          replays, retries with their delay, the response head\n"
    "  -s, --silent            no progress bar (shown on a terminal when the body does not\n"
    "                          go there: size, %, rate, ETA, resumes, retries) and no summary\n"
    "  --json                  print one JSON object on stdout instead of the body:\n"
    "                          {\"status\",\"headers\",\"attempts\",\"retries\",\"replays\",\n"
    "                          \"duration_ms\",\"error\",\"body_bytes\"}; the body goes to -o\n"
    "                          FILE if given, else it is discarded\n"
    "  -h, --help              print this text\n"
    "\n"
    "DUR is 250ms, 5s, 2m, 1h or 0.\n"
    "Exit status: 0 for a final 2xx or 3xx response; 1 when the request failed (Node's\n"
    "message on stderr, e.g. \"tether get: read ECONNRESET\") or the final status is 4xx/5xx\n"
    "(the body is still written); 2 for a bad flag, URL, header, duration or policy file.\n";

#define GET_CMD "get"

struct get_ctx {
    struct fetch_flags ff;
    const char *out_path; /* -o; NULL or "-" = stdout */
    bool verbose;
    bool silent;
    FILE *out;    /* NULL with --json and no -o: the body is counted, not kept */
    bool created; /* out was opened by us (a file) */
    uint64_t body_bytes;
    int write_errno; /* nonzero once a write failed */
    bool progress;
    bool help;

    /* -o FILE through FILE.part, and -C - (get_output.c) */
    const char *continue_at; /* -C */
    struct get_output file;  /* when created: out is file.fp */
    uint64_t received;       /* body bytes of this run, restarts included */
    bool already_complete;   /* -C -: a 416 said FILE.part holds the whole body */
};

/* ---- progress and the lifecycle trace ---- */

static void get_trace_failure(const struct tether_failure *fl)
{
    char msg[512];
    fetch_failure_text(fl, msg, sizeof(msg));
    fprintf(stderr, "* attempt %u failed: %s (", fl->attempt, msg);
    if (fl->phase != TETHER_PHASE_NONE) {
        fprintf(stderr, "phase %s, ", tether_phase_name(fl->phase));
    }
    if (fl->reused) {
        fprintf(stderr, "reused connection idle %llu ms, ", (unsigned long long)fl->idle_ms);
    } else {
        fputs("new connection, ", stderr);
    }
    fprintf(stderr, "%llu bytes sent, %llu received, class %s, retry-safe %s)\n",
            (unsigned long long)fl->bytes_sent, (unsigned long long)fl->bytes_received,
            fetch_class_name(tether_failure_classify(fl)),
            tether_retry_safety_name(fl->retry_safe));
    if (fl->detail[0]) {
        fprintf(stderr, "*   %s\n", fl->detail);
    }
}

static void get_on_event(tether_client *c, const struct tether_event *ev)
{
    (void)c;
    const char *origin = ev->origin ? ev->origin : "?";
    const char *reason = ev->reason && ev->reason[0] ? ev->reason : NULL;
    switch (ev->type) {
    case TETHER_EVENT_CONN_NEW:
        fprintf(stderr, "* attempt %u: new connection to %s\n", ev->attempt, origin);
        break;
    case TETHER_EVENT_CONN_REUSED:
        fprintf(stderr, "* attempt %u: reusing a connection to %s (idle %llu ms)\n", ev->attempt,
                origin, (unsigned long long)ev->idle_ms);
        break;
    case TETHER_EVENT_CONN_STALE:
        fprintf(stderr, "* evicted a stale idle connection to %s (idle %llu ms)%s%s\n", origin,
                (unsigned long long)ev->idle_ms, reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_CONN_RETIRED:
        fprintf(stderr,
                "* retired an idle connection to %s after %llu ms, before the server "
                "closes it%s%s\n",
                origin, (unsigned long long)ev->idle_ms, reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_ATTEMPT_FAILED:
        if (ev->failure) {
            get_trace_failure(ev->failure);
        } else {
            fprintf(stderr, "* attempt %u failed%s%s\n", ev->attempt, reason ? ": " : "",
                    reason ? reason : "");
        }
        break;
    case TETHER_EVENT_REPLAY:
        fprintf(stderr, "* replaying attempt %u on a fresh connection%s%s\n", ev->attempt,
                reason ? " after " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_RETRY_SCHEDULED:
        fprintf(stderr, "* retrying in %llu ms%s%s\n", (unsigned long long)ev->delay_ms,
                reason ? " after " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_BUDGET_EXHAUSTED:
        fprintf(stderr, "* no retry: the retry budget of %s is spent%s%s\n", origin,
                reason ? " (" : "", reason ? reason : "");
        if (reason) {
            fputs(")\n", stderr);
        } else {
            fputc('\n', stderr);
        }
        break;
    case TETHER_EVENT_DEADLINE:
        fprintf(stderr, "* deadline reached%s%s\n", reason ? ": " : "", reason ? reason : "");
        break;
    case TETHER_EVENT_RESPONSE:
        fprintf(stderr, "* attempt %u: response %d\n", ev->attempt, ev->status);
        break;
    case TETHER_EVENT_RESUME:
        fprintf(stderr, "* resume: %s\n", reason ? reason : "");
        break;
    default:
        fprintf(stderr, "* event %d%s%s\n", (int)ev->type, reason ? ": " : "",
                reason ? reason : "");
        break;
    }
}

static void get_trace_request(const struct get_ctx *g, const struct tether_fetch_options *fo,
                              const struct tether_client_options *o)
{
    fprintf(stderr, "> %s %s\n", fo->method, fo->url);
    for (size_t i = 0; i < fo->nheaders; i++) {
        fprintf(stderr, "> %s: %s\n", fo->headers[i].name, fo->headers[i].value);
    }
    if (fo->body_len) {
        fprintf(stderr, "> (%zu body bytes)\n", fo->body_len);
    }
    fprintf(stderr, "* policy %s: %u attempt%s, deadline ", g->ff.policy_name,
            o->policy.max_attempts, o->policy.max_attempts == 1 ? "" : "s");
    if (o->policy.deadline_ms) {
        fprintf(stderr, "%llu ms", (unsigned long long)o->policy.deadline_ms);
    } else {
        fputs("none", stderr);
    }
    fprintf(stderr, ", connect timeout %llu ms, replays %u\n",
            (unsigned long long)o->policy.connect_timeout_ms, o->policy.max_replays);
}

static void get_trace_response(const tether_fetch *f)
{
    int status = tether_fetch_status(f);
    if (status == 0) {
        return;
    }
    fprintf(stderr, "< %d %s\n", status, tether_http_reason(status));
    size_t n = tether_fetch_field_count(f);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const char *value;
        if (tether_fetch_field(f, i, &name, &value)) {
            fprintf(stderr, "< %s: %s\n", name, value);
        }
    }
}

/* ---- the body ---- */

static bool get_on_body(tether_fetch *f, const char *data, size_t len)
{
    struct get_ctx *g = tether_fetch_get_data(f);
    g->received += len;
    if (g->created) {
        g->write_errno = get_output_write(&g->file, f, data, len);
        g->body_bytes = g->file.held;
    } else {
        g->body_bytes += len;
        if (g->out && len && fwrite(data, 1, len, g->out) != len) {
            g->write_errno = errno ? errno : EIO;
        }
    }
    if (g->write_errno) {
        return false;
    }
    if (g->progress) {
        get_progress_draw(&g->file, f, g->body_bytes, g->received, false);
    }
    return true;
}

/* A resumed body continues at `offset`, a restarted one at 0: the part file is cut there. */
static bool get_on_restart(tether_fetch *f, uint64_t offset)
{
    struct get_ctx *g = tether_fetch_get_data(f);
    g->write_errno = get_output_seek(&g->file, offset);
    g->body_bytes = g->file.held;
    return g->write_errno == 0;
}

/* ---- flags ---- */

static int get_parse(int argc, char **argv, struct get_ctx *g)
{
    struct args_cursor c;
    args_init(&c, GET_CMD, argc, argv);
    while (args_next(&c)) {
        int rc;
        bool taken = false;
        if (args_positional(&c)) {
            rc = fetch_flags_url(&c, &g->ff);
        } else if ((rc = fetch_flags_take(&c, &g->ff, &taken)) != 0 || taken) {
            /* handled (or failed) */
        } else if (args_is(&c, "-o") || args_is(&c, "--output")) {
            rc = args_take_string(&c, &g->out_path);
        } else if (args_is(&c, "-C") || args_is(&c, "--continue-at")) {
            rc = args_take_string(&c, &g->continue_at);
            if (rc == 0 && strcmp(g->continue_at, "-") != 0) {
                rc = args_bad_value(&c, "offset", " (only '-': continue from the file's size)");
            }
        } else if (args_is(&c, "-v") || args_is(&c, "--verbose")) {
            g->verbose = true;
            rc = args_take_none(&c);
        } else if (args_is(&c, "-s") || args_is(&c, "--silent")) {
            g->silent = true;
            rc = args_take_none(&c);
        } else if (args_is(&c, "-h") || args_is(&c, "--help")) {
            g->help = true;
            rc = args_take_none(&c);
        } else {
            rc = args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (g->help) {
        return 0;
    }
    if (g->ff.json && g->out_path && strcmp(g->out_path, "-") == 0) {
        return args_error(GET_CMD, "invalid -o '-' with --json (the body would corrupt the "
                                   "JSON on stdout; give a file)");
    }
    if (g->continue_at && (!g->out_path || strcmp(g->out_path, "-") == 0)) {
        return args_error(GET_CMD, "-C - continues a file: give it with -o FILE");
    }
    return 0;
}

/* Opens the body's destination. Returns 0 or 2 (printed). */
static int get_open_output(struct get_ctx *g)
{
    bool to_stdout = !g->out_path || strcmp(g->out_path, "-") == 0;
    if (g->ff.json && to_stdout) {
        g->out = NULL; /* discarded: stdout carries the JSON object only */
        return 0;
    }
    if (to_stdout) {
        g->out = stdout;
        return 0;
    }
    int rc = get_output_open(&g->file, g->out_path, g->continue_at != NULL);
    if (rc != 0) {
        return rc;
    }
    g->out = g->file.fp;
    g->body_bytes = g->file.held;
    g->created = true;
    return 0;
}

/* ---- the outcome ---- */

/* Node's IncomingMessage.headers: lower-case names, repeats joined with ", ", set-cookie an
 * array. */
static json_t *get_headers_json(const tether_fetch *f)
{
    json_t *h = json_object();
    size_t n = tether_fetch_field_count(f);
    for (size_t i = 0; h && i < n; i++) {
        const char *name;
        const char *value;
        if (!tether_fetch_field(f, i, &name, &value)) {
            continue;
        }
        char key[256];
        size_t k = 0;
        for (; name[k] && k + 1 < sizeof(key); k++) {
            unsigned char uch = (unsigned char)name[k];
            key[k] = (uch < 0x20 || uch > 0x7e) ? '?' : ttx_lower(name[k]);
        }
        key[k] = '\0';
        /* Field values may carry obs-text; JSON needs UTF-8, so anything else becomes '?'. */
        char *val = strdup(value);
        if (!val) {
            json_decref(h);
            return NULL;
        }
        for (char *p = val; *p; p++) {
            if ((unsigned char)*p > 0x7e || (unsigned char)*p < 0x20) {
                *p = (*p == '\t') ? '\t' : '?';
            }
        }
        json_t *old = json_object_get(h, key);
        int bad = 0;
        if (strcmp(key, "set-cookie") == 0) {
            if (!old) {
                bad |= json_object_set_new(h, key, json_array());
                old = json_object_get(h, key);
            }
            bad |= !old || json_array_append_new(old, json_string(val));
        } else if (old) {
            size_t olen = strlen(json_string_value(old));
            size_t vlen = strlen(val);
            char *joined = malloc(olen + 2 + vlen + 1);
            if (joined) {
                /* The last copy brings the NUL (vlen + 1 bytes). */
                /* NOLINTBEGIN(bugprone-not-null-terminated-result) */
                memcpy(joined, json_string_value(old), olen);
                memcpy(joined + olen, ", ", 2);
                memcpy(joined + olen + 2, val, vlen + 1);
                /* NOLINTEND(bugprone-not-null-terminated-result) */
                bad |= json_object_set_new(h, key, json_string(joined));
                free(joined);
            } else {
                bad = 1;
            }
        } else {
            bad |= json_object_set_new(h, key, json_string(val));
        }
        free(val);
        if (bad) {
            json_decref(h);
            return NULL;
        }
    }
    return h;
}

static int get_print_json(const struct get_ctx *g, const tether_fetch *f)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    int status = tether_fetch_status(f);
    json_t *doc = json_object();
    json_t *headers = get_headers_json(f);
    json_t *err = (fl && fl->code != 0) ? fetch_failure_json(fl) : json_null();
    if (!doc || !headers || !err) {
        json_decref(doc);
        json_decref(headers);
        json_decref(err);
        return -1;
    }
    int bad = 0;
    bad |= json_object_set_new(doc, "status", status ? json_integer(status) : json_null());
    bad |= json_object_set_new(doc, "headers", headers);
    bad |= json_object_set_new(doc, "attempts", json_integer(tether_fetch_attempts(f)));
    bad |= json_object_set_new(doc, "retries", json_integer(tether_fetch_retries(f)));
    bad |= json_object_set_new(doc, "replays", json_integer(tether_fetch_replays(f)));
    bad |= json_object_set_new(doc, "duration_ms",
                               json_integer((json_int_t)tether_fetch_duration_ms(f)));
    bad |= json_object_set_new(doc, "error", err);
    bad |= json_object_set_new(doc, "body_bytes", json_integer((json_int_t)g->body_bytes));
    if (bad) {
        json_decref(doc);
        return -1;
    }
    return cli_json_print(doc);
}

/* The exit code, with the one stderr line for a failure. */
static int get_outcome(struct get_ctx *g, const tether_fetch *f)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    unsigned attempts = tether_fetch_attempts(f);
    char after[48] = "";
    if (attempts > 1) {
        (void)snprintf(after, sizeof(after), " after %u attempts", attempts);
    }
    if (g->write_errno) {
        fprintf(stderr, "tether get: cannot write the body to %s: %s\n",
                g->created ? g->out_path : "stdout",
                uv_strerror(uv_translate_sys_error(g->write_errno)));
        return CLI_EXIT_FAILED;
    }
    if (fl && fl->code != 0) {
        char msg[512];
        fetch_failure_text(fl, msg, sizeof(msg));
        fprintf(stderr, "tether get: %s%s\n", msg, after);
        return CLI_EXIT_FAILED;
    }
    int status = tether_fetch_status(f);
    if (!fetch_status_ok(status) && !g->already_complete) {
        const char *phrase = tether_http_reason(status);
        fprintf(stderr, "tether get: HTTP %d%s%s%s\n", status, phrase[0] ? " " : "", phrase, after);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

/* FILE.part becomes FILE when the body is whole: the fetch succeeded, and a body continued
 * from earlier bytes (-C -, or resumed) ended in a 2xx (or the 416 saying it was complete).
 * Otherwise the bytes stay in FILE.part for -C -, and an empty one goes (like curl, a request
 * that produced nothing leaves no file behind). Returns the exit code. */
static int get_finish_file(struct get_ctx *g, const tether_fetch *f, int rc)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    int status = tether_fetch_status(f);
    bool continued = g->file.resume_from > 0 || tether_fetch_resumes(f) > 0;
    bool whole = (!fl || fl->code == 0) && !g->write_errno &&
                 (!continued || (status >= 200 && status < 300) || g->already_complete);
    bool kept = false;
    int err = get_output_close(&g->file, whole, &kept);
    if (err) {
        fprintf(stderr, "tether get: cannot write the body to %s: %s\n",
                whole ? g->out_path : g->file.part, uv_strerror(uv_translate_sys_error(err)));
        return CLI_EXIT_FAILED;
    }
    if (kept) {
        char held[32];
        get_human_bytes(g->file.held, held, sizeof(held));
        fprintf(stderr, "tether get: %s kept in %s; -C - continues it\n", held, g->file.part);
        return rc ? rc : CLI_EXIT_FAILED;
    }
    if (whole && !g->silent && !g->ff.json && rc == 0) {
        get_output_summary(&g->file, f);
    }
    return rc;
}

static int get_run(struct get_ctx *g)
{
    struct tether_client_options o;
    int rc = fetch_flags_finish(&g->ff, &o);
    if (rc != 0) {
        return rc;
    }
    if ((rc = get_open_output(g)) != 0) {
        return rc;
    }
    bool body_on_tty = g->out == stdout && isatty(STDOUT_FILENO);
    g->progress = !g->verbose && !g->silent && !g->ff.json && !body_on_tty && isatty(STDERR_FILENO);

    tether_client *client = NULL;
    char why[512];
    why[0] = '\0';
    o.data = g;
    o.errbuf = why;
    o.errbuf_len = sizeof(why);
    int rv = tether_client_new_blocking(&o, &client);
    if (rv != 0) {
        rc = fetch_client_error(&g->ff, rv, why);
        goto out;
    }
    if (g->verbose) {
        tether_client_on_event(client, get_on_event);
    }
    struct tether_fetch_options fo;
    memset(&fo, 0, sizeof(fo));
    fetch_flags_request(&g->ff, &fo);
    fo.on_body = get_on_body;
    if (g->created) {
        fo.on_restart = get_on_restart;
        fo.resume_from = g->file.resume_from;
        fo.resume_if_range = g->file.validator[0] ? g->file.validator : NULL;
    }
    fo.data = g;
    fo.errbuf = why;
    fo.errbuf_len = sizeof(why);
    if (g->verbose) {
        get_trace_request(g, &fo, &o);
    }
    tether_fetch *f = NULL;
    rv = tether_client_fetch_blocking(client, &fo, &f);
    if (g->progress) {
        get_progress_draw(&g->file, NULL, 0, 0, true);
    }
    if (rv != 0) {
        if (rv == TETHER_EINVAL) {
            rc = args_error(GET_CMD, "%s", why[0] ? why : tether_strerror(rv));
        } else {
            fprintf(stderr, "tether get: %s\n", tether_strerror(rv));
            rc = CLI_EXIT_FAILED;
        }
        tether_client_close_blocking(client);
        goto out;
    }
    if (g->out && fflush(g->out) != 0 && !g->write_errno) {
        g->write_errno = errno ? errno : EIO;
    }
    if (g->verbose) {
        get_trace_response(f);
        fprintf(stderr, "* %u attempt%s, %u retr%s, %u replay%s, %llu ms, %llu body bytes\n",
                tether_fetch_attempts(f), tether_fetch_attempts(f) == 1 ? "" : "s",
                tether_fetch_retries(f), tether_fetch_retries(f) == 1 ? "y" : "ies",
                tether_fetch_replays(f), tether_fetch_replays(f) == 1 ? "" : "s",
                (unsigned long long)tether_fetch_duration_ms(f), (unsigned long long)g->body_bytes);
    }
    g->already_complete = g->created && get_output_already_complete(&g->file, f);
    if (g->ff.json && get_print_json(g, f) != 0) {
        fputs("tether get: cannot write the JSON result\n", stderr);
        rc = CLI_EXIT_FAILED;
    }
    int orc = get_outcome(g, f);
    if (rc == 0) {
        rc = orc;
    }
    if (g->created) {
        rc = get_finish_file(g, f, rc);
    }
    tether_fetch_free(f);
    tether_client_close_blocking(client);
out:
    get_output_cleanup(&g->file);
    g->out = NULL;
    return rc;
}

int cmd_get(int argc, char **argv)
{
    struct get_ctx *g = calloc(1, sizeof(*g));
    if (!g) {
        fputs("tether get: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    fetch_flags_init(&g->ff, GET_CMD);
    int rc = get_parse(argc, argv, g);
    if (rc == 0 && g->help) {
        fputs(cmd_get_usage, stdout);
    } else if (rc == 0) {
        rc = get_run(g);
    }
    fetch_flags_cleanup(&g->ff);
    free(g);
    return rc;
}
