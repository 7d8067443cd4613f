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
#include "get.h"
#include "get_output.h"

const char cmd_get_summary[] = "one HTTP request that survives resets (curl-like flags)";

const char *const cmd_get_usage[] = {
    "Usage: tether get [options] URL\n"
    "\n",
    "One HTTP/1.1 request with curl's flags through tether's client: stale sockets\n"
    "are never used, requests that never reached the server are replayed, idempotent\n"
    "ones retried in one deadline. host:port/path means http://; user info in the URL\n"
    "is Basic auth, never printed. Short flags group as in curl: -sSf, -XPOST, -sSo\n"
    "FILE.\n"
    "\n",
    "Request:\n"
    "  -X, --request METHOD    method [GET; POST with a body; HEAD with -I]\n"
    "  -H, --header 'N: V'     add a header (at most 100); Accept: */* unless set\n"
    "  -d, --data DATA         body, joined with '&'; @FILE (CR/LF dropped), @-\n"
    "                          stdin; form Content-Type unless -H sets one\n"
    "  --data-binary DATA      as -d; @FILE byte for byte\n"
    "  --data-raw DATA         as -d; '@' is just a character\n"
    "  --data-json DATA        curl's --json: JSON Content-Type and Accept (--json is\n"
    "                          the report here)\n"
    "  -u, --user USER:PASS    Basic auth\n"
    "  -A, --user-agent NAME   User-Agent [tether/VERSION]\n"
    "  --idempotency-key KEY   Idempotency-Key: KEY ('auto' = a UUID): POST becomes\n"
    "                          retryable\n"
    "\n",
    "Resilience:\n"
    "  --policy NAME|FILE      naive, default, or a JSON policy file [default]\n"
    "  --retry N               attempts = N + 1, refused connects included [policy:\n"
    "                          2]\n"
    "  --retry-connrefused     refused connects cost no attempt until the deadline\n"
    "  --wait-for DUR          the same for DUR (added to the deadline without\n"
    "                          --max-time)\n"
    "  --max-time DUR          one deadline over attempts, sleeps and the body; 0 =\n"
    "                          none [30s; none with -o FILE]\n"
    "  --connect-timeout DUR   per connection attempt [10s]\n"
    "  --no-keepalive          no TCP keepalive probes\n"
    "  --breaker[=MODE]        the origin's circuit breaker: on (bare --breaker),\n"
    "                          off, metrics-only (count, never refuse) or forced-open\n"
    "                          [policy: off]; open, a request fails at once: \"circuit\n"
    "                          open for ORIGIN, retry in N ms\"\n"
    "\n",
    "Transport:\n"
    "  -L, --location          follow redirects (301, 302, 303, 307, 308) like curl:\n"
    "                          POST becomes GET after 301/302/303, 307/308 resend it;\n"
    "                          a hop to another host drops Authorization and Cookie\n"
    "  --location-trusted      -L, and Authorization and Cookie go to other hosts too\n"
    "  --max-redirs N          with -L, fail after N redirects (up to 1000) [50]; 0\n"
    "                          makes the 3xx the answer (curl fails instead)\n"
    "  --compressed            ask for gzip or deflate and write the decoded body\n"
    "  --resolve HOST:PORT:ADDR[,ADDR]\n"
    "                          connect to ADDR (an IP) for HOST:PORT, the next ADDR\n"
    "                          when a connect fails; Host and TLS keep HOST\n"
    "                          (repeatable, at most 16 addresses)\n"
    "  -x, --proxy URL         HTTP proxy [http://][USER:PASSWORD@]HOST[:PORT] (port\n"
    "                          1080); https:// URLs go through a CONNECT tunnel; \"\" =\n"
    "                          none. Without -x, as curl: http_proxy (lower case\n"
    "                          only) for http://, https_proxy or HTTPS_PROXY for\n"
    "                          https://, then all_proxy or ALL_PROXY\n"
    "  --noproxy LIST          hosts reached directly: names (with their subdomains),\n"
    "                          IPs, CIDR blocks, or '*' [no_proxy or NO_PROXY]\n"
    "\n",
    "TLS:\n"
    "  -k, --insecure          skip certificate verification\n"
    "  --cacert FILE           trust the PEM certificates in FILE\n"
    "\n",
    "Output:\n"
    "  -o, --output FILE       the body to FILE, through FILE.part: FILE appears only\n"
    "                          once the body is complete. A cut body is resumed\n"
    "                          (Range + If-Range) or restarted, never spliced; a\n"
    "                          failed download keeps its bytes in FILE.part; nothing\n"
    "                          received, no file. A summary line goes to stderr at\n"
    "                          the end\n"
    "  -C, --continue-at -     continue FILE.part (or FILE) from its size with a\n"
    "                          Range, and If-Range from FILE.part.validator (kept\n"
    "                          beside a part file) so a file changed since starts\n"
    "                          over; FILE alone gets a bare Range, as curl -C - sends\n"
    "  -i, --include           the response head, as received, before the body\n"
    "  -I, --head              HEAD; print the response head only\n"
    "  -f, --fail              no body for a status >= 400; curl's message, exit 1\n"
    "  -s, --silent            no progress bar, summary, retry notice or error line\n"
    "  -S, --show-error        the error line even with -s\n"
    "  -w, --write-out FMT     FMT (or @FILE) on stdout at the end: curl's\n"
    "                          %{http_code} %{size_download} %{time_total}\n"
    "                          %{time_connect} %{time_starttransfer} %{num_connects}\n"
    "                          %{remote_ip} %{remote_port} %{content_type}\n"
    "                          %{url_effective} %{exitcode} %{errormsg} %{stderr} ...\n"
    "                          and tether's %{num_attempts} %{num_retries}\n"
    "                          %{num_replays}; \\n %%\n"
    "  -v, --verbose           curl's trace ('* Connected to', TLS, '>' and '<'\n"
    "                          heads) and every attempt: failure, phase, bytes,\n"
    "                          replays, retries\n"
    "  --json                  one JSON object on stdout instead of the body: status,\n"
    "                          headers, attempts, retries, replays, duration_ms,\n"
    "                          error, body_bytes (the body goes to -o FILE or is\n"
    "                          discarded)\n"
    "  -h, --help              print this text\n"
    "\n",
    "DUR: 250ms, 5s, 2m, 1h, 0, or bare seconds (5, 2.5) as curl takes them.\n"
    "Exit status: 0 for a final 2xx or 3xx (without -L a redirect is not followed;\n"
    "its body is printed, as curl does); 1 when the request failed (a line says why,\n"
    "e.g. \"tether get: connect ETLSCERT 127.0.0.1:8443: self-signed certificate (use\n"
    "--cacert FILE or -k)\") or the status is 4xx/5xx; 2 for a bad flag, URL, header,\n"
    "duration or policy file.\n",
    "\n"
    "EXAMPLES\n"
    "  tether get https://example.com/\n"
    "  tether get -sSfL -o page.html https://example.com/\n"
    "  tether get --retry 5 --max-time 30s -C - -o f.iso https://example.com/f.iso\n"
    "  tether get -X POST --data-json '{\"n\":1}' --idempotency-key auto \\\n"
    "      http://127.0.0.1:8080/orders\n"
    "  tether get --policy naive -v http://127.0.0.1:8080/\n",
    NULL,
};

#define GET_CMD "get"

/* ---- the body ---- */

/* -i and -I: the final response's head as received, before its body (curl's bytes). */
static void get_write_head(struct get_ctx *g, const tether_fetch *f)
{
    size_t len = 0;
    const char *head = tether_fetch_response_head(f, &len);
    if (g->head_written || !head || !g->out) {
        return;
    }
    g->head_written = true;
    if (fwrite(head, 1, len, g->out) != len && !g->write_errno) {
        g->write_errno = errno ? errno : EIO;
    }
}

/* -f: a final status of 400 or more writes nothing (curl's --fail). */
static bool get_fail_hides(const struct get_ctx *g, const tether_fetch *f)
{
    return g->fail && tether_fetch_status(f) >= 400;
}

static bool get_on_body(tether_fetch *f, const char *data, size_t len)
{
    struct get_ctx *g = tether_fetch_get_data(f);
    if ((g->include || g->head_only) && !g->head_written) {
        get_write_head(g, f); /* even with -f, as curl -fi shows the failing head */
    }
    if (get_fail_hides(g, f)) {
        return true;
    }
    g->received += len;
    if (g->created && !g->head_only) {
        g->write_errno = get_output_write(&g->file, f, data, len);
        g->body_bytes = g->file.held;
    } else {
        g->body_bytes += len;
        if (g->out && len && !g->head_only) {
            uint64_t deadline_ns =
                g->policy.deadline_ms ? g->start_ns + g->policy.deadline_ms * 1000000u : 0;
            g->write_errno = get_stdout_write(g->out, data, len, deadline_ns);
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

/* -w FORMAT, or -w @FILE (@- = stdin) as curl reads it. Returns 0 or 2. */
static int get_take_write_out(struct args_cursor *c, struct get_ctx *g)
{
    int rc = args_take_string(c, &g->write_out);
    if (rc != 0 || g->write_out[0] != '@') {
        return rc;
    }
    const char *path = g->write_out + 1;
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    char *raw = NULL;
    size_t len = 0;
    int r = fp ? args_read_all(fp, 64 * 1024, &raw, &len) : -1;
    int e = errno;
    if (fp && !is_stdin) {
        (void)fclose(fp);
    }
    if (r != 0) {
        return args_error(GET_CMD, "cannot read -w '%s': %s", g->write_out,
                          r == -2 ? "larger than 64 KiB" : uv_strerror(uv_translate_sys_error(e)));
    }
    free(g->write_out_file);
    g->write_out_file = malloc(len + 1);
    if (!g->write_out_file) {
        free(raw);
        return args_error(GET_CMD, "out of memory");
    }
    if (len) {
        memcpy(g->write_out_file, raw, len);
    }
    g->write_out_file[len] = '\0';
    free(raw);
    g->write_out = g->write_out_file;
    return 0;
}

/* The flags only `get` has; *taken as fetch_flags_take. */
static int get_take(struct args_cursor *c, struct get_ctx *g, bool *taken)
{
    *taken = true;
    if (args_is(c, "-o") || args_is(c, "--output")) {
        return args_take_string(c, &g->out_path);
    }
    if (args_is(c, "-C") || args_is(c, "--continue-at")) {
        int rc = args_take_string(c, &g->continue_at);
        if (rc == 0 && strcmp(g->continue_at, "-") != 0) {
            rc = args_bad_value(c, "offset", " (only '-': continue from the file's size)");
        }
        return rc;
    }
    if (args_is(c, "-v") || args_is(c, "--verbose")) {
        g->verbose = true;
        return args_take_none(c);
    }
    if (args_is(c, "-s") || args_is(c, "--silent")) {
        g->silent = true;
        return args_take_none(c);
    }
    if (args_is(c, "-S") || args_is(c, "--show-error")) {
        g->show_error = true;
        return args_take_none(c);
    }
    if (args_is(c, "-i") || args_is(c, "--include")) {
        g->include = true;
        return args_take_none(c);
    }
    if (args_is(c, "-I") || args_is(c, "--head")) {
        g->head_only = true;
        return args_take_none(c);
    }
    if (args_is(c, "-f") || args_is(c, "--fail")) {
        g->fail = true;
        return args_take_none(c);
    }
    if (args_is(c, "-w") || args_is(c, "--write-out")) {
        return get_take_write_out(c, g);
    }
    if (args_is(c, "--idempotency-key")) {
        int rc = args_take_string(c, &g->ff.idem_key);
        if (rc == 0 && !g->ff.idem_key[0]) {
            return args_bad_value(c, "key", " (expected a key or auto)");
        }
        return rc;
    }
    if (args_is(c, "-h") || args_is(c, "--help")) {
        g->help = true;
        return args_take_none(c);
    }
    *taken = false;
    return 0;
}

static int get_parse(int argc, char **argv, struct get_ctx *g)
{
    struct args_cursor c;
    args_init(&c, GET_CMD, argc, argv);
    args_group_short_flags(&c);
    while (args_next(&c)) {
        int rc;
        bool taken = false;
        if (args_positional(&c)) {
            rc = fetch_flags_url(&c, &g->ff);
        } else if ((rc = fetch_flags_take(&c, &g->ff, &taken)) == 0 && !taken) {
            rc = get_take(&c, g, &taken);
        }
        if (rc == 0 && !taken && !args_positional(&c)) {
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
    if (g->head_only && g->ff.has_data) {
        return args_error(GET_CMD, "-I sends HEAD, which carries no body: drop -d or -I");
    }
    if (g->head_only && !g->ff.method) {
        g->ff.method = "HEAD";
    }
    if (g->ff.json && g->write_out) {
        return args_error(GET_CMD, "-w and --json both write to stdout: use one");
    }
    if (g->continue_at && (!g->out_path || strcmp(g->out_path, "-") == 0)) {
        return args_error(GET_CMD, "-C - continues a file: give it with -o FILE");
    }
    if (g->continue_at && g->ff.compressed) {
        return args_error(GET_CMD, "-C - with --compressed: the file holds decoded bytes, a "
                                   "Range counts encoded ones: drop one");
    }
    if (g->continue_at && (g->include || g->head_only)) {
        return args_error(GET_CMD, "-C - with -i or -I would splice a response head into the "
                                   "file: drop one");
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

/* The exit code, with the one stderr line for a failure in `msg` (also %{errormsg}). */
static int get_outcome(struct get_ctx *g, const tether_fetch *f, char *msg, size_t len)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    unsigned attempts = tether_fetch_attempts(f);
    char after[48] = "";
    msg[0] = '\0';
    if (attempts > 1) {
        (void)snprintf(after, sizeof(after), " after %u attempts", attempts);
    }
    if (g->write_errno == ETIMEDOUT && !g->created) {
        (void)snprintf(msg, len,
                       "deadline exceeded: after %llu ms, stdout was still not taking the body "
                       "(its reader stopped reading)",
                       (unsigned long long)g->policy.deadline_ms);
        return CLI_EXIT_FAILED;
    }
    if (g->write_errno) {
        (void)snprintf(msg, len, "cannot write the body to %s: %s",
                       g->created ? g->out_path : "stdout",
                       uv_strerror(uv_translate_sys_error(g->write_errno)));
        return CLI_EXIT_FAILED;
    }
    if (fl && fl->code != 0) {
        get_failure_text(g, f, msg, len);
        return CLI_EXIT_FAILED;
    }
    int status = tether_fetch_status(f);
    if (g->fail && status >= 400) {
        /* curl's words for its exit 22; tether's contract maps every failure to 1. */
        (void)snprintf(msg, len, "The requested URL returned error: %d", status);
        return CLI_EXIT_FAILED;
    }
    if (!fetch_status_ok(status) && !g->already_complete) {
        get_status_text(g, f, msg, len);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

/* FILE.part becomes FILE when the body is whole: the fetch succeeded, and a body continued
 * from earlier bytes (-C -, or resumed) ended in a 2xx (or the 416 saying it was complete).
 * Otherwise the bytes stay in FILE.part for -C -, and an empty one goes (like curl, a request
 * that produced nothing, or -f hiding a failed status, leaves no file behind). Returns the exit
 * code. */
static int get_finish_file(struct get_ctx *g, const tether_fetch *f, int rc)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    int status = tether_fetch_status(f);
    bool continued = g->file.resume_from > 0 || tether_fetch_resumes(f) > 0;
    bool hidden = get_fail_hides(g, f) && !g->head_written;
    bool whole = (!fl || fl->code == 0) && !g->write_errno && !hidden &&
                 (!continued || (status >= 200 && status < 300) || g->already_complete);
    bool kept = false;
    int err = get_output_close(&g->file, whole, &kept);
    g->out = NULL;
    if (err) {
        fprintf(stderr, "tether get: cannot write the body to %s: %s\n",
                whole ? g->out_path : g->file.part, uv_strerror(uv_translate_sys_error(err)));
        return CLI_EXIT_FAILED;
    }
    if (kept) {
        char held[32];
        get_human_bytes(g->file.held, held, sizeof(held));
        if (!g->silent || g->show_error) {
            fprintf(stderr, "tether get: %s kept in %s; -C - continues it\n", held, g->file.part);
        }
        return rc ? rc : CLI_EXIT_FAILED;
    }
    if (whole && !g->silent && !g->ff.json && rc == 0) {
        get_output_summary(&g->file, f);
    }
    return rc;
}

static void get_setup_output(struct get_ctx *g, const struct tether_client_options *o)
{
    bool body_on_tty = g->out == stdout && isatty(STDOUT_FILENO);
    bool err_tty = isatty(STDERR_FILENO);
    g->progress = !g->verbose && !g->silent && !g->ff.json && !body_on_tty && err_tty;
    g->notices = !g->verbose && !g->silent && err_tty;
    g->max_attempts = o->policy.max_attempts;
    g->policy = o->policy;
    g->waits_for_server = o->policy.connrefused_wait_ms != 0;
}

static int get_run(struct get_ctx *g)
{
    struct tether_client_options o;
    g->ff.download = g->out_path && strcmp(g->out_path, "-") != 0;
    int rc = fetch_flags_finish(&g->ff, &o);
    if (rc != 0) {
        return rc;
    }
    if ((rc = get_open_output(g)) != 0) {
        return rc;
    }
    get_setup_output(g, &o);

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
    if (g->verbose || g->notices) {
        tether_client_on_event(client, get_on_event);
    }
    struct tether_fetch_options fo;
    memset(&fo, 0, sizeof(fo));
    fetch_flags_request(&g->ff, &fo);
    fo.on_body = get_on_body;
    if (g->created && !g->include && !g->head_only) {
        /* With -i the file starts with the head, so only a clean continuation can follow. */
        fo.on_restart = get_on_restart;
        fo.resume_from = g->file.resume_from;
        fo.resume_if_range = g->file.validator[0] ? g->file.validator : NULL;
    }
    fo.data = g;
    fo.errbuf = why;
    fo.errbuf_len = sizeof(why);
    if (g->verbose) {
        get_trace_policy(g, &o);
    }
    g->start_ns = uv_hrtime();
    tether_fetch *f = NULL;
    rv = tether_client_fetch_blocking(client, &fo, &f);
    get_notice_clear(g);
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
    if (g->include || g->head_only) {
        get_write_head(g, f); /* a response without a body */
    }
    if (g->out && fflush(g->out) != 0 && !g->write_errno) {
        g->write_errno = errno ? errno : EIO;
    }
    if (g->verbose) {
        get_trace_summary(g, f);
        get_trace_pool_facts(client);
    }
    g->already_complete = g->created && get_output_already_complete(&g->file, f);
    if (g->ff.json && get_print_json(g, f) != 0) {
        fputs("tether get: cannot write the JSON result\n", stderr);
        rc = CLI_EXIT_FAILED;
    }
    char msg[768];
    int orc = get_outcome(g, f, msg, sizeof(msg));
    if (msg[0] && (!g->silent || g->show_error)) {
        fprintf(stderr, "tether get: %s\n", msg);
    }
    if (rc == 0) {
        rc = orc;
    }
    if (g->write_out) {
        get_write_out(g, f, rc, msg);
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
    g->ff.guess_scheme = true;
    int rc = get_parse(argc, argv, g);
    if (rc == 0 && g->help) {
        cli_print_usage(cmd_get_usage);
    } else if (rc == 0) {
        rc = get_run(g);
    }
    fetch_flags_cleanup(&g->ff);
    free(g->write_out_file);
    free(g);
    return rc;
}
