/* SPDX-License-Identifier: MIT */
/* `tether load URL`: many requests with idle gaps and concurrency through one client, and
 * what happened to them: failures by message, replays, retries, connections, latency. */
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

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "cli_loop.h"
#include "commands.h"
#include "fetch_flags.h"
#include "load.h"
#include "load_detail.h"
#include "load_pg.h"
#include "load_shape.h"
#include "workload.h"

const char cmd_load_summary[] = "many requests with idle gaps: failures, replays, retries, latency";

const char *const cmd_load_usage[] = {
    "Usage: tether load [options] URL\n"
    "\n",
    "Sends requests from C concurrent workers through one tether client (one\n"
    "keep-alive pool), each worker idling for --gap before each of its requests, and\n"
    "reports what happened: successes, failures by Node's error message, final\n"
    "statuses, transparent replays, retries, connections opened, stale connections\n"
    "evicted and latency percentiles. --policy naive turns every protection off: the\n"
    "baseline most clients ship with, to compare against.\n"
    "\n",
    "Workload:\n"
    "  -n, --requests N        requests in all [100 unless --duration is given]\n"
    "  -z, --duration DUR      stop starting requests after DUR, bare seconds or\n"
    "                          250ms, 2m (with --requests, whichever comes first);\n"
    "                          requests in flight finish\n"
    "  -c, --concurrency C     workers, each with one request at a time [1; 50 with\n"
    "                          --rate]\n"
    "  --rate N                open model: request k starts at k/N s whether or not\n"
    "                          earlier ones finished; -c caps those in flight (a\n"
    "                          start that finds the cap is late, reported as lag);\n"
    "                          with --duration exactly ceil(N x DUR) requests are\n"
    "                          scheduled; not with --gap\n"
    "  --gap DUR|MIN..MAX      idle time of a worker before each of its requests,\n"
    "                          drawn uniformly from MIN..MAX (whole ms) [0]\n"
    "  --seed N                seed of the gaps and idempotency keys [the clock]\n"
    "\n",
    "Request (as tether get):\n"
    "  -X, --request METHOD    method [GET, or POST with -d]\n"
    "  -H, --header 'N: V'     add a header (repeatable)\n"
    "  -d, --data DATA|@FILE   request body (see tether help get); also\n"
    "                          --data-binary, --data-raw, --data-json,\n"
    "                          -u/--user USER:PASS, -A/--user-agent NAME\n"
    "  --idempotency-key auto  a fresh UUID v4 Idempotency-Key per request, the same\n"
    "                          on its replays and retries (makes POST retryable)\n"
    "\n",
    "Resilience (as tether get):\n"
    "  --policy NAME|FILE      naive, default or a JSON policy file [default]\n"
    "  --retry N               retries after the first attempt [the policy's]\n"
    "  --retry-connrefused     refused connects cost no attempt (--wait-for DUR: for\n"
    "                          DUR)\n"
    "  --max-time DUR          deadline of each request, attempts and sleeps\n"
    "                          included; 0 = none [the policy's deadline, else 30s]\n"
    "  --connect-timeout DUR   [10s]\n"
    "  --no-keepalive          no TCP keepalive probes\n"
    "  --breaker[=MODE]        the origin's circuit breaker: on (bare), off,\n"
    "                          metrics-only, forced-open [the policy's: off];\n"
    "                          refusals are counted under \"circuit open for ORIGIN\"\n"
    "                          in errors\n"
    "  -k, --insecure          skip TLS certificate verification\n"
    "  --cacert FILE           trust the PEM certificates in FILE\n"
    "  -L, --location, --location-trusted, --max-redirs N, --compressed,\n"
    "  --resolve HOST:PORT:ADDR,\n"
    "  -x, --proxy URL, --noproxy LIST\n"
    "                          as tether get (the proxy variables too)\n"
    "\n",
    "PostgreSQL (a libpq URL postgres://USER@HOST[:PORT]/DB[?PARAMS]; each request\n"
    "is a query through tether's pool; needs a build with libpq):\n"
    "  --query SQL             the statement every request runs (required)\n"
    "  --idempotent            it may run twice: one lost in flight is replayed once\n"
    "                          on a fresh connection\n"
    "  --pool-size N           connections at most [-c]\n"
    "  --statement-deadline DUR\n"
    "                          fail a statement with no result DUR after sending it\n"
    "                          and close its connection (a link gone silent that\n"
    "                          still ACKs); --idempotent ones are replayed once;\n"
    "                          0 = none [0]\n"
    "  --policy naive|default  naive: no idle watch, validation, retry [default]\n"
    "  with -n, -z, -c, --gap, --seed and --json, whose object adds \"pgpool\":\n"
    "  {\"validated\",\"evicted_fatal\",\"evicted_eof\",\"evicted_rst\",\n"
    "  \"evicted_validation\",\"evicted_broken\",\"retired_lifetime\",\"retired_idle\",\n"
    "  \"retired_learned\",\"learned_idle_kill_ms\",\"connect_failures\",\n"
    "  \"acquire_ms_max\"}; a failure is counted under the server's message\n"
    "\n",
    "Output:\n"
    "  --json                  one JSON object on stdout:\n"
    "                          {\"requests\",\"succeeded\",\"failed\",\"errors\":{MESSAGE:N},\n"
    "                          \"statuses\":{\"200\":N},\"replays\",\"retries\",\n"
    "                          \"connections_opened\",\"stale_evictions\",\n"
    "                          \"retired_idle\",\"learned_idle_close_ms\",\n"
    "                          \"keep_alive_hint_s\" (null: none seen),\n"
    "                          \"latency_ms\":{\"p50\",\"p90\",\"p99\",\"max\"},\n"
    "                          \"duration_s\",\"rps\",\"percentiles_ms\":{\"p50\",\n"
    "                          \"p75\",\"p90\",\"p95\",\"p99\",\"p99.9\",\"max\"},\n"
    "                          \"histogram\":[{\"le_ms\",\"count\"}],\n"
    "                          \"timeline\":[{\"second\",\"ok\",\"failed_status\",\n"
    "                          \"errors\"}]},\n"
    "                          plus with --rate \"rate\":{\"target_rps\",\"scheduled\",\n"
    "                          \"lag_ms\":{\"p50\",\"p99\",\"max\"}}, with a breaker\n"
    "                          \"breaker\":\n"
    "                          {\"mode\",\"state\",\"rejected\",\"opened\",\"half_opened\",\n"
    "                          \"closed\",\"probes\",\"probe_timeouts\"}\n"
    "  --output csv|ndjson FILE\n"
    "                          one line per request as it ends (\"-\" is stdout):\n"
    "                          start_ms,\n"
    "                          worker, method, status, error, latency_ms, attempts,\n"
    "                          retries, replays, bytes (CSV has a header line)\n"
    "  -h, --help              print this text\n"
    "\n",
    "A request succeeded when its final response is 2xx or 3xx; it failed on a\n"
    "transport error (counted in \"errors\" by message, e.g. \"read ECONNRESET\", \"socket\n"
    "hang up\") or a final 1xx/4xx/5xx (counted in \"statuses\" only). Latency is\n"
    "measured for every request, failed or not, from its start (after the gap) to its\n"
    "outcome; percentiles are exact (nearest rank) up to 1048576 requests, then over\n"
    "a uniform sample; the histogram and the timeline (by the second a request ended\n"
    "in) count every request. On a terminal a live line shows elapsed time, requests\n"
    "done, rate and failures. A refused connect before any success stops the run\n"
    "(nothing listens there) unless --retry-connrefused or --wait-for asks to wait.\n"
    "SIGINT or SIGTERM stops early: requests in flight are cancelled and not counted,\n"
    "the report is printed; a second signal exits at once. Exit status: 0 when every\n"
    "request succeeded, 1 when any failed or none was made, 2 for a bad flag.\n",
    "\n"
    "EXAMPLES\n"
    "  tether load --requests 1000 --concurrency 8 http://127.0.0.1:8080/\n"
    "  tether load --duration 30s --gap 4s..6s http://127.0.0.1:8080/\n"
    "  tether load --policy naive --requests 200 --gap 5s http://127.0.0.1:8080/\n"
    "  tether load --json --requests 100 http://127.0.0.1:8080/ > report.json\n"
    "  tether load -n 500 -c 4 --gap 2s --query 'SELECT 1' --idempotent \\\n"
    "      postgres://app@127.0.0.1/app\n",
    NULL,
};

#define LOAD_CMD "load"

/* The Idempotency-Key of a worker's request in flight. */
struct load_key {
    char text[40];
};

struct load_run {
    struct fetch_flags ff;
    char why[512]; /* the library's reason when it refuses the client or a request */
    struct load_shape shape;
    bool idem_auto;
    bool help;
    uint64_t rate; /* --rate: requests started per second whatever finished (0 = closed loop) */
    enum load_output_format out_format;
    const char *out_path;

    uv_loop_t *loop;
    tether_client *client;
    struct tether_fetch_options base;
    struct workload wl;
    struct load_key *keys; /* one per worker */
    struct ttx_rng rng;    /* gaps and keys: a run replays with its seed */
    uint64_t reserved;     /* requests started or waiting for their gap */
    bool interrupted;      /* by a signal: cancelled fetches are not counted */
    int fatal_rc;          /* a request could not be started at all */
    uv_timer_t stop_timer;
    uv_timer_t progress_timer; /* the live line on a terminal */
    bool progress;
    bool refused_stop; /* stopped at the first refused connect */
    uint64_t t0_ns;
    uint64_t *sched_ns; /* --rate: the scheduled start of each worker's next request */
    uint64_t *bytes;    /* per worker: body bytes of the request in flight */
    struct load_stats stats;
    struct load_detail detail;
};

/* A random (version 4) UUID, lower-case, from the run's RNG. */
static void load_uuid(struct load_run *r, char *out, size_t len)
{
    unsigned char b[16];
    uint64_t x = ttx_rng_next(&r->rng);
    uint64_t y = ttx_rng_next(&r->rng);
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(x >> (8 * i));
        b[8 + i] = (unsigned char)(y >> (8 * i));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    (void)snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                   b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                   b[13], b[14], b[15]);
}

/* ---- the run ---- */

static void load_on_client_closed(void *data)
{
    struct load_run *r = data;
    r->client = NULL;
    wl_close(&r->wl);
    uv_close((uv_handle_t *)&r->stop_timer, NULL);
    uv_close((uv_handle_t *)&r->progress_timer, NULL);
}

/* Every worker is done: take the client's counters, then close everything. */
static void load_finish(struct workload *wl)
{
    struct load_run *r = wl->data;
    r->stats.duration_s = (double)(uv_hrtime() - r->t0_ns) / 1e9;
    struct tether_client_stats cs;
    memset(&cs, 0, sizeof(cs));
    tether_client_get_stats(r->client, &cs);
    r->stats.connections_opened = cs.connections_opened;
    r->stats.stale_evictions = cs.stale_evictions;
    r->stats.retired_idle = cs.retired_idle;
    /* One URL, one origin. */
    (void)tether_client_origin_stats(r->client, 0, &r->stats.breaker);
    r->stats.breaker.origin = NULL; /* borrowed from the client, which closes next */
    uv_timer_stop(&r->stop_timer);
    uv_timer_stop(&r->progress_timer);
    if (r->progress) {
        fputs("\r\033[K", stderr); /* the live line gives way to the report */
    }
    tether_client_close(r->client, load_on_client_closed, r);
}

/* No new requests; with `cancel`, the ones in flight are cancelled too. */
static void load_stop(struct load_run *r, bool cancel)
{
    if (cancel) {
        r->interrupted = true;
    }
    wl_stop(&r->wl, cancel);
}

/* Bodies are counted by the client, not kept. */
static bool load_on_body(tether_fetch *f, const char *data, size_t len)
{
    (void)data;
    struct wl_worker *w = tether_fetch_get_data(f);
    struct load_run *r = w->wl->data;
    r->bytes[w->idx] += len;
    return true;
}

static bool load_more(struct wl_worker *w)
{
    struct load_run *r = w->wl->data;
    if (r->shape.requests_set && r->reserved >= r->shape.requests) {
        return false;
    }
    if (r->rate) {
        /* The open model: request k is due at k/rate s, however the earlier ones went. */
        r->sched_ns[w->idx] = r->t0_ns + r->reserved * 1000000000ull / r->rate;
    }
    r->reserved++;
    return true;
}

static uint64_t load_gap(struct wl_worker *w)
{
    struct load_run *r = w->wl->data;
    if (r->rate) {
        /* Until the slot this worker took; a late worker starts at once (counted as lag). */
        uint64_t now = uv_hrtime();
        uint64_t due = r->sched_ns[w->idx];
        return due > now ? (due - now + 999999) / 1000000 : 0;
    }
    return wl_rand_range(&r->rng, r->shape.gap_lo, r->shape.gap_hi);
}

static void load_request(struct wl_worker *w, struct tether_fetch_options *fo)
{
    struct load_run *r = w->wl->data;
    *fo = r->base;
    if (r->idem_auto) {
        load_uuid(r, r->keys[w->idx].text, sizeof(r->keys[w->idx].text));
        fo->idempotency_key = r->keys[w->idx].text;
    }
    fo->errbuf = r->why;
    fo->errbuf_len = sizeof(r->why);
    r->bytes[w->idx] = 0;
    if (r->rate) {
        /* A timer may fire up to a millisecond early (its clock is whole ms): not lag. */
        uint64_t now = uv_hrtime();
        uint64_t due = r->sched_ns[w->idx];
        wl_latency_add(&r->detail.lag, now > due ? (double)(now - due) / 1e6 : 0.0);
    }
}

/* The client refused to start the request: the same request would be refused every time, so
 * the run ends here. */
static uint64_t load_refused(struct wl_worker *w, int rv)
{
    struct load_run *r = w->wl->data;
    if (rv == TETHER_EINVAL) {
        r->fatal_rc = args_error(LOAD_CMD, "%s", r->why[0] ? r->why : tether_strerror(rv));
    } else {
        fprintf(stderr, "tether load: cannot start a request: %s\n", tether_strerror(rv));
        r->fatal_rc = CLI_EXIT_FAILED;
        load_stats_record_error(&r->stats, tether_strerror(rv), 0.0);
        load_detail_record(&r->detail, (double)(uv_hrtime() - r->t0_ns) / 1e9, 0.0, false,
                           tether_strerror(rv));
        struct load_line line = {
            .start_ms = (double)(uv_hrtime() - r->t0_ns) / 1e6,
            .worker = w->idx,
            .method = fetch_flags_method(&r->ff),
            .error = tether_strerror(rv),
        };
        load_detail_write(&r->detail, &line);
    }
    load_stop(r, true);
    return WL_GIVE_UP;
}

/* Nothing listens at the URL: every request would wait out the same attempts, so the run
 * stops at the first refused connect when none has succeeded (as tether get fails), unless
 * --retry-connrefused or --wait-for asked to wait for the server. */
static void load_check_refused(struct load_run *r, const tether_fetch *f, const char *msg)
{
    const struct tether_failure *fl = tether_fetch_failure(f);
    if (!fl || fl->code != TETHER_ECONNREFUSED || r->stats.succeeded || r->refused_stop ||
        r->ff.retry_connrefused || r->ff.wait_for_set) {
        return;
    }
    r->refused_stop = true;
    if (r->progress) {
        fputs("\r\033[K", stderr); /* the notice replaces the live line */
    }
    unsigned attempts = tether_fetch_attempts(f);
    if (attempts > 1) {
        fprintf(stderr, "tether load: %s after %u attempts; stopping (nothing listens there)\n",
                msg, attempts);
    } else {
        fprintf(stderr, "tether load: %s; stopping (nothing listens there)\n", msg);
    }
    load_stop(r, false);
}

/* The histogram, the timeline, --output and the refused-connect rule. */
static void load_done_detail(struct load_run *r, struct wl_worker *w, tether_fetch *f,
                             double latency_ms)
{
    char msg[512];
    load_detail_message(f, msg, sizeof(msg));
    int status = msg[0] ? 0 : tether_fetch_status(f);
    uint64_t now = uv_hrtime();
    load_detail_record(&r->detail, (double)(now - r->t0_ns) / 1e9, latency_ms,
                       !msg[0] && fetch_status_ok(status), msg);
    struct load_line line = {
        .start_ms = (double)(w->start_ns - r->t0_ns) / 1e6,
        .worker = w->idx,
        .method = fetch_flags_method(&r->ff),
        .status = status,
        .error = msg,
        .latency_ms = latency_ms,
        .attempts = tether_fetch_attempts(f),
        .retries = tether_fetch_retries(f),
        .replays = tether_fetch_replays(f),
        .bytes = r->bytes[w->idx],
    };
    load_detail_write(&r->detail, &line);
    if (msg[0]) {
        load_check_refused(r, f, msg);
    }
}

static void load_done(struct wl_worker *w, tether_fetch *f, double latency_ms)
{
    struct load_run *r = w->wl->data;
    const struct tether_failure *fl = tether_fetch_failure(f);
    bool cancelled = r->interrupted && fl && fl->code == TETHER_ECANCELED;
    if (!cancelled) {
        load_stats_record(&r->stats, f, latency_ms);
        load_done_detail(r, w, f, latency_ms);
    }
}

static const struct wl_ops load_ops = {
    .more = load_more,
    .gap_ms = load_gap,
    .request = load_request,
    .refused = load_refused,
    .done = load_done,
    .finished = load_finish,
};

static void load_on_stop_timer(uv_timer_t *t)
{
    load_stop(t->data, false);
}

/* hey's and oha's live line: elapsed, done, rate, errors so far (overwrites itself). */
static void load_on_progress(uv_timer_t *t)
{
    struct load_run *r = t->data;
    double elapsed = (double)(uv_hrtime() - r->t0_ns) / 1e9;
    fprintf(stderr, "\r\033[K  %.1f s  %llu done  %.1f/s  %llu failed", elapsed,
            (unsigned long long)r->stats.requests,
            elapsed > 0 ? (double)r->stats.requests / elapsed : 0.0,
            (unsigned long long)r->stats.failed);
    (void)fflush(stderr);
}

/* The first signal cancels what is in flight; the report follows (a second one exits). */
static void load_on_signal(void *data)
{
    load_stop(data, true);
}

/* ---- flags ---- */

static const char *const load_key_modes[] = {"auto", NULL};

static const char *const load_output_formats[] = {"csv", "ndjson", NULL};

/* --output csv|ndjson FILE: two values, the format then the file. */
static int load_take_output(struct args_cursor *c, struct load_run *r)
{
    int format = 0;
    int rc = args_take_choice(c, load_output_formats, &format);
    if (rc != 0) {
        return rc;
    }
    c->inline_val = NULL; /* "--output=csv FILE": the file is the next word */
    rc = args_take_string(c, &r->out_path);
    if (rc != 0) {
        return rc;
    }
    r->out_format = format == 0 ? LOAD_OUTPUT_CSV : LOAD_OUTPUT_NDJSON;
    return 0;
}

static int load_parse(int argc, char **argv, struct load_run *r)
{
    struct load_pg_flags pg = {0};
    char pg_only[64] = ""; /* the first flag only a postgres:// URL takes */
    struct args_cursor c;
    args_init(&c, LOAD_CMD, argc, argv);
    while (args_next(&c)) {
        int rc;
        bool taken = false;
        if (args_positional(&c)) {
            rc = fetch_flags_url(&c, &r->ff);
        } else if ((rc = fetch_flags_take(&c, &r->ff, &taken)) != 0 || taken ||
                   (rc = load_shape_take(&c, &r->shape, &taken)) != 0 || taken) {
            /* handled (or failed) */
        } else if (args_is(&c, "--rate")) {
            rc = args_take_uint(&c, 1, 1000000, &r->rate);
        } else if (args_is(&c, "--output")) {
            rc = load_take_output(&c, r);
        } else if (args_is(&c, "--idempotency-key")) {
            int mode = 0;
            rc = args_take_choice(&c, load_key_modes, &mode);
            r->idem_auto = rc == 0;
        } else if (args_is(&c, "-h") || args_is(&c, "--help")) {
            r->help = true;
            rc = args_take_none(&c);
        } else if ((rc = load_pg_take(&c, &pg, &taken)) != 0 || taken) {
            /* Refused after the loop: while the flags are enumerated, the loop must go on to
             * the end without printing. */
            if (rc == 0 && !pg_only[0]) {
                (void)snprintf(pg_only, sizeof(pg_only), "%s", c.flag);
            }
        } else {
            rc = args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (pg_only[0]) {
        return args_error(LOAD_CMD, "option '%s' needs a postgres:// URL", pg_only);
    }
    load_shape_finish(&r->shape);
    if (r->rate && r->shape.gap_hi > 0) {
        return args_error(LOAD_CMD, "--gap and --rate cannot be combined (--rate sets the starts)");
    }
    if (r->rate && r->shape.duration_set) {
        /* The schedule, not a timer, ends an open-model run: slots k/rate s before the
         * duration, each started however late, so the count is exact. */
        uint64_t slots = (r->rate * r->shape.duration_ms + 999) / 1000;
        r->shape.requests =
            r->shape.requests_set && r->shape.requests < slots ? r->shape.requests : slots;
        r->shape.requests_set = true;
        r->shape.duration_set = false;
    }
    if (r->rate && !r->shape.concurrency_set) {
        r->shape.concurrency = 50; /* hey's and oha's default: a cap on requests in flight */
    }
    return 0;
}

/* ---- running ---- */

static int load_report(struct load_run *r)
{
    if (r->ff.json) {
        json_t *doc = load_stats_json(&r->stats);
        if (doc && load_detail_json(&r->detail, &r->stats, doc) != 0) {
            json_decref(doc);
            doc = NULL;
        }
        if (!doc || cli_json_print(doc) != 0) {
            fputs("tether load: cannot write the JSON report\n", stderr);
            return CLI_EXIT_FAILED;
        }
    } else {
        struct load_report_info info = {
            .url = r->ff.url_owned ? r->ff.url_owned : r->ff.url, /* no user info */
            .method = fetch_flags_method(&r->ff),
            .policy = r->ff.policy_name,
            .concurrency = (unsigned)r->shape.concurrency,
            .gap_lo_ms = r->shape.gap_lo,
            .gap_hi_ms = r->shape.gap_hi,
            .seed = r->shape.seed,
            .idempotency_auto = r->idem_auto,
            .interrupted = r->interrupted,
        };
        load_stats_print(&r->stats, &info, stdout);
        load_detail_print(&r->detail, &r->stats, stdout);
        if (fflush(stdout) != 0) {
            return CLI_EXIT_FAILED;
        }
    }
    if (r->stats.requests == 0 && !r->interrupted) {
        /* Zeros are no evidence of success: nothing was measured. */
        fputs("tether load: no request was made (the --duration ended before the first one "
              "started)\n",
              stderr);
        return CLI_EXIT_FAILED;
    }
    return r->stats.failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

static int load_run(struct load_run *r)
{
    struct tether_client_options o;
    int rc = fetch_flags_finish(&r->ff, &o);
    if (rc != 0) {
        return rc;
    }
    load_detail_init(&r->detail, r->shape.seed ^ 0x2545f4914f6cdd1dull);
    r->detail.rate = r->rate;
    r->detail.scheduled = r->rate ? r->shape.requests : 0;
    if (r->out_path && !load_detail_open(&r->detail, r->out_format, r->out_path)) {
        fprintf(stderr, "tether load: cannot write '%s': %s\n", r->out_path,
                uv_strerror(uv_translate_sys_error(errno)));
        return CLI_EXIT_FAILED;
    }
    r->loop = uv_default_loop();
    r->keys = calloc((size_t)r->shape.concurrency, sizeof(*r->keys));
    r->sched_ns = calloc((size_t)r->shape.concurrency, sizeof(*r->sched_ns));
    r->bytes = calloc((size_t)r->shape.concurrency, sizeof(*r->bytes));
    if (!r->keys || !r->sched_ns || !r->bytes ||
        wl_init(&r->wl, r->loop, (unsigned)r->shape.concurrency, &load_ops, r) != 0) {
        fputs("tether load: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    o.errbuf = r->why;
    o.errbuf_len = sizeof(r->why);
    int rv = tether_client_new(r->loop, &o, &r->client);
    if (rv != 0) {
        rc = fetch_client_error(&r->ff, rv, r->why);
        wl_close(&r->wl);
        (void)cli_loop_close(r->loop);
        return rc;
    }
    fetch_flags_request(&r->ff, &r->base);
    r->base.on_body = load_on_body;
    r->wl.client = r->client;
    ttx_rng_seed(&r->rng, r->shape.seed);
    /* The reservoir draws apart from the gaps and keys, so it cannot shift them. */
    load_stats_init(&r->stats, r->shape.seed ^ 0x5deece66dull);
    uv_timer_init(r->loop, &r->stop_timer);
    r->stop_timer.data = r;
    uv_timer_init(r->loop, &r->progress_timer);
    r->progress_timer.data = r;
    r->progress = !r->ff.json && isatty(STDERR_FILENO);
    r->t0_ns = uv_hrtime();
    if (r->shape.duration_set) {
        uv_timer_start(&r->stop_timer, load_on_stop_timer, r->shape.duration_ms, 0);
    }
    if (r->progress) {
        uv_timer_start(&r->progress_timer, load_on_progress, 1000, 1000);
    }
    wl_start(&r->wl);
    const struct cli_stop stop = {LOAD_CMD, "exiting without a report", load_on_signal, r};
    cli_loop_run(r->loop, &stop);
    (void)cli_loop_close(r->loop);
    if (r->fatal_rc == CLI_EXIT_USAGE) {
        return r->fatal_rc;
    }
    rc = load_report(r);
    if (!load_detail_cleanup(&r->detail)) {
        fprintf(stderr, "tether load: cannot write '%s'\n", r->out_path);
        rc = CLI_EXIT_FAILED;
    }
    return r->fatal_rc ? r->fatal_rc : rc;
}

int cmd_load(int argc, char **argv)
{
    if (load_pg_wanted(argc, argv)) {
        return cmd_load_pg(argc, argv);
    }
    struct load_run *r = calloc(1, sizeof(*r));
    if (!r) {
        fputs("tether load: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    fetch_flags_init(&r->ff, LOAD_CMD);
    load_shape_init(&r->shape);
    int rc = load_parse(argc, argv, r);
    if (rc == 0 && r->help) {
        cli_print_usage(cmd_load_usage);
    } else if (rc == 0) {
        rc = load_run(r);
    }
    load_stats_cleanup(&r->stats);
    (void)load_detail_cleanup(&r->detail);
    wl_cleanup(&r->wl);
    free(r->keys);
    free(r->sched_ns);
    free(r->bytes);
    fetch_flags_cleanup(&r->ff);
    free(r);
    return rc;
}
