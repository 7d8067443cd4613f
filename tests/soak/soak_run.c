/* SPDX-License-Identifier: MIT */
/* The soak's orchestration: its flags, the server restarted every 10 s, the proxy, the
 * timeline, and the quiet moments in which descriptors and memory are measured. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak_run.h"

#define SOAK_RESTART_MS 10000
/* With every fetch done, how long until each pool is empty: the client retires an idle
 * connection at the server's Keep-Alive hint minus 1 s and the server closes one 1 s after it
 * (a connection the middlebox cut under the client); the proxy follows either side's close,
 * and its keepalive (15 s) finds a client a middlebox reset. The hint plus this margin. */
#define SOAK_QUIET_MARGIN_MS 8000
#define SOAK_POLL_MS 250

enum soak_phase {
    PH_START = 0,
    PH_WARMUP,
    PH_QUIET_START, /* measuring the baseline */
    PH_RUN,
    PH_QUIET_END, /* measuring the end */
    PH_STOP
};

static void soak_stop(struct soak *s);

size_t soak_last_bucket(const struct soak *s)
{
    size_t n = (size_t)(((uint64_t)s->seconds * 1000 + s->interval_ms - 1) / s->interval_ms);
    n = n > SOAK_MAX_BUCKETS ? SOAK_MAX_BUCKETS : n;
    return n ? n - 1 : 0;
}

void soak_run_fail(struct soak *s, const char *why)
{
    if (!s->fatal[0]) {
        (void)snprintf(s->fatal, sizeof(s->fatal), "%s", why);
        fprintf(stderr, "soak: %s\n", why);
    }
    soak_stop(s);
}

/* ---- processes ---- */

static size_t soak_argv(struct soak *s, char **argv, char *cmd)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nwrap; i++) {
        argv[n++] = s->wrap[i];
    }
    argv[n++] = s->tether;
    argv[n++] = cmd;
    return n;
}

static void soak_server_ready(struct soak_proc *p, bool ok);
static void soak_server_exit(struct soak_proc *p);

static void soak_server_spawn(struct soak *s)
{
    struct soak_proc *p = &s->servers[s->cur_server];
    char *argv[SOAK_MAX_ARGS];
    char listen[64];
    (void)snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)s->server_port);
    size_t n = soak_argv(s, argv, "serve");
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--exec-log";
    argv[n++] = s->exec_log;
    /* The client retires idle connections 1 s before this; the restarts must not wait long. */
    char keep_alive[32];
    (void)snprintf(keep_alive, sizeof(keep_alive), "%us", s->keep_alive_s);
    argv[n++] = "--keep-alive-timeout";
    argv[n++] = keep_alive;
    argv[n++] = "--shutdown-grace";
    argv[n++] = "1s";
    /* Bodies long enough for limit_data to cut one mid-way. */
    argv[n++] = "--body-size";
    argv[n++] = "8k";
    if (s->server_starts % 3 == 2) {
        /* Every third server is overloaded: far below what the client asks for. */
        argv[n++] = "--rate-limit";
        argv[n++] = "100";
    }
    argv[n] = NULL;
    p->on_ready = soak_server_ready;
    p->on_exit = soak_server_exit;
    p->data = s;
    s->server_starts++;
    int rv = soak_proc_spawn(&s->loop, p, argv, 1);
    if (rv != 0) {
        char why[128];
        (void)snprintf(why, sizeof(why), "cannot start %s serve: %s", s->tether, uv_strerror(rv));
        soak_run_fail(s, why);
    }
}

static void soak_proxy_ready(struct soak_proc *p, bool ok);
static void soak_proxy_exit(struct soak_proc *p);

static void soak_proxy_spawn(struct soak *s)
{
    char *argv[SOAK_MAX_ARGS];
    char listen[80];
    char upstream[64];
    char seed[32];
    (void)snprintf(listen, sizeof(listen), "%s:0", s->host);
    (void)snprintf(upstream, sizeof(upstream), "127.0.0.1:%u", (unsigned)s->server_port);
    (void)snprintf(seed, sizeof(seed), "%llu", (unsigned long long)s->seed);
    size_t n = soak_argv(s, argv, "proxy");
    char *const tail[] = {
        "-host", "127.0.0.1", "-port", "0", "-seed", seed, "--connect-timeout", "2s", "--listen",
        listen, "--upstream", upstream,
        /* 1 % of connections reset 300 ms in. */
        "--toxic", "reset_peer:name=reset,toxicity=0.01,timeout=300",
        /* Latency spikes on 5 % of connections. */
        "--toxic", "latency:name=spike,toxicity=0.05,latency=300,jitter=200",
        /* Idle flows reset, or forgotten (the next packet gets an RST), before the client's
         * own idle retirement at 1 s: the races of the seed. */
        "--toxic", "idle_timeout:name=idle_rst,toxicity=0.5,timeout=700,action=rst", "--toxic",
        "idle_timeout:name=idle_silent,toxicity=0.3,timeout=800,action=silent",
        /* 10 % of connections cut with an RST after 30000 bytes: mid-body, mid-stream. */
        "--toxic", "limit_data:name=cut,toxicity=0.1,bytes=30000,action=rst", NULL};
    for (size_t i = 0; tail[i]; i++) {
        argv[n++] = tail[i];
    }
    argv[n] = NULL;
    s->proxy.on_ready = soak_proxy_ready;
    s->proxy.on_exit = soak_proxy_exit;
    s->proxy.data = s;
    int rv = soak_proc_spawn(&s->loop, &s->proxy, argv, 2);
    if (rv != 0) {
        soak_run_fail(s, "cannot start tether proxy");
    }
}

static void soak_timer_close(uv_timer_t *t)
{
    if (!uv_is_closing((uv_handle_t *)t)) {
        uv_close((uv_handle_t *)t, NULL);
    }
}

static void soak_on_restart(uv_timer_t *t);
static void soak_on_tick(uv_timer_t *t);
static void soak_on_phase(uv_timer_t *t);

static void soak_server_ready(struct soak_proc *p, bool ok)
{
    struct soak *s = p->data;
    if (!ok) {
        if (s->phase != PH_STOP) {
            soak_run_fail(s, "tether serve exited before listening");
        }
        return;
    }
    uint16_t port = soak_proc_port(p, 0);
    if (!port) {
        soak_run_fail(s, "tether serve printed no listening line");
        return;
    }
    s->server_port = port;
    s->server_up = true;
    if (s->phase == PH_START && s->proxy.pid == 0) {
        soak_proxy_spawn(s);
    }
}

static void soak_server_exit(struct soak_proc *p)
{
    struct soak *s = p->data;
    soak_proc_close(p);
    if (s->phase == PH_STOP) {
        return;
    }
    /* A restart: the next server in the other slot, on the same port. */
    s->cur_server ^= 1u;
    s->buckets[s->nbuckets ? s->nbuckets - 1 : 0].server_restarts++;
    soak_server_spawn(s);
}

static void soak_proxy_ready(struct soak_proc *p, bool ok)
{
    struct soak *s = p->data;
    if (!ok || !(s->proxy_port = soak_proc_port(p, 0))) {
        soak_run_fail(s, "tether proxy did not start (no listening line)");
        return;
    }
    (void)snprintf(s->url, sizeof(s->url), "http://%s:%u/", s->host, (unsigned)s->proxy_port);
    if (s->port_file) {
        /* For whoever applies faults to the proxy's flows (tests/soak/netns.sh). */
        FILE *pf = fopen(s->port_file, "w");
        if (pf) {
            fprintf(pf, "%u\n", (unsigned)s->proxy_port);
            (void)fclose(pf);
        }
    }
    if (soak_client_start(s) != 0) {
        soak_run_fail(s, "cannot create the client");
        return;
    }
    s->t0 = uv_now(&s->loop);
    s->phase = PH_WARMUP;
    (void)uv_timer_start(&s->restart_timer, soak_on_restart, SOAK_RESTART_MS, SOAK_RESTART_MS);
    (void)uv_timer_start(&s->tick_timer, soak_on_tick, s->interval_ms, s->interval_ms);
    (void)uv_timer_start(&s->phase_timer, soak_on_phase, (uint64_t)s->warmup_s * 1000, 0);
    soak_workload_resume(s);
}

/* ---- timers ---- */

static void soak_usage_all(struct soak *s, struct soak_usage *u)
{
    soak_usage_read((int64_t)uv_os_getpid(), &u[SOAK_CLIENT]);
    soak_usage_read(s->proxy.pid, &u[SOAK_PROXY]);
    soak_usage_read(s->servers[s->cur_server].pid, &u[SOAK_SERVER]);
}

static void soak_on_restart(uv_timer_t *t)
{
    struct soak *s = t->data;
    if ((s->phase != PH_WARMUP && s->phase != PH_RUN) || !s->server_up) {
        return;
    }
    /* In turn a graceful stop and a crash: SIGKILL drops whatever was in flight, after the
     * log may already hold it. */
    s->server_up = false;
    soak_proc_kill(&s->servers[s->cur_server], s->server_starts % 2 ? SIGTERM : SIGKILL);
}

static void soak_on_tick(uv_timer_t *t)
{
    struct soak *s = t->data;
    uint64_t elapsed = uv_now(&s->loop) - s->t0;
    /* The interval that just ended: counted, since a tick may fire a little late. */
    size_t i = s->ticks++;
    if (i >= SOAK_MAX_BUCKETS || i >= soak_last_bucket(s) + 1) {
        return;
    }
    if (i >= s->nbuckets) {
        s->nbuckets = i + 1;
    }
    struct soak_bucket *b = &s->buckets[i];
    soak_usage_all(s, b->usage);
    printf("soak %3llus: %llu done, %llu responses, %llu failures, %llu 503, %llu retries, "
           "%llu replays; fds client %d proxy %d server %d\n",
           (unsigned long long)(elapsed / 1000), (unsigned long long)b->done,
           (unsigned long long)b->responses, (unsigned long long)b->failures,
           (unsigned long long)b->status_503, (unsigned long long)b->retries,
           (unsigned long long)b->replays, b->usage[SOAK_CLIENT].fds, b->usage[SOAK_PROXY].fds,
           b->usage[SOAK_SERVER].fds);
    (void)fflush(stdout);
}

static uint64_t soak_quiet_since;
static uint64_t soak_quiet_began;

/* --quiet-file exists while the soak measures: whoever applies faults pauses meanwhile. */
static void soak_quiet_file(const struct soak *s, bool quiet)
{
    if (!s->quiet_file) {
        return;
    }
    if (quiet) {
        FILE *f = fopen(s->quiet_file, "w");
        if (f) {
            (void)fclose(f);
        }
    } else {
        (void)remove(s->quiet_file);
    }
}

/* Before each measurement the client's allocator returns its free pages: what it keeps for
 * reuse after a burst is not memory in use, and the library's own live bytes are counted
 * exactly (soak_lib_live_bytes). */
static void soak_measure(struct soak *s, struct soak_usage *u)
{
    (void)malloc_trim(0);
    soak_usage_all(s, u);
}

static void soak_quiet_begin(struct soak *s, int phase)
{
    soak_quiet_file(s, true);
    s->phase = phase;
    s->issuing = false;
    soak_quiet_since = 0;
    soak_quiet_began = uv_now(&s->loop);
    (void)uv_timer_start(&s->phase_timer, soak_on_phase, SOAK_POLL_MS, SOAK_POLL_MS);
}

static void soak_on_phase(uv_timer_t *t)
{
    struct soak *s = t->data;
    uint64_t now = uv_now(&s->loop);
    if (s->phase == PH_WARMUP) {
        soak_quiet_begin(s, PH_QUIET_START);
        return;
    }
    if (s->phase == PH_RUN) {
        soak_quiet_begin(s, PH_QUIET_END);
        return;
    }
    if (s->phase != PH_QUIET_START && s->phase != PH_QUIET_END) {
        return;
    }
    if (s->inflight > 0 || !s->server_up) {
        /* Every fetch ends by its deadline: one still running after it is a hang. */
        if (now - soak_quiet_began > s->deadline_ms + 5000) {
            char why[128];
            (void)snprintf(why, sizeof(why),
                           "%u fetches still running %llu ms after the last began", s->inflight,
                           (unsigned long long)(now - soak_quiet_began));
            soak_run_fail(s, why);
        }
        soak_quiet_since = 0;
        return;
    }
    if (soak_quiet_since == 0) {
        soak_quiet_since = now;
    }
    if (now - soak_quiet_since < (uint64_t)s->keep_alive_s * 1000 + SOAK_QUIET_MARGIN_MS) {
        return;
    }
    if (s->phase == PH_QUIET_START) {
        soak_measure(s, s->start);
        s->lib_live_start = soak_lib_live_bytes();
        s->records_kib_start = s->nrecs * sizeof(*s->recs) / 1024;
        s->phase = PH_RUN;
        uint64_t end = s->t0 + (uint64_t)s->seconds * 1000;
        (void)uv_timer_start(&s->phase_timer, soak_on_phase, end > now ? end - now : 1, 0);
        soak_quiet_file(s, false);
        soak_workload_resume(s);
        return;
    }
    soak_measure(s, s->end);
    s->lib_live_end = soak_lib_live_bytes();
    s->records_kib_end = s->nrecs * sizeof(*s->recs) / 1024;
    soak_stop(s);
}

/* ---- stopping ---- */

static void soak_stop(struct soak *s)
{
    if (s->phase == PH_STOP) {
        return;
    }
    s->phase = PH_STOP;
    s->issuing = false;
    soak_quiet_file(s, false);
    soak_timer_close(&s->restart_timer);
    soak_timer_close(&s->tick_timer);
    soak_timer_close(&s->phase_timer);
    soak_workers_close(s);
    tether_client_close(s->client, NULL, NULL);
    s->client = NULL;
    soak_proc_kill(&s->proxy, SIGTERM);
    for (unsigned i = 0; i < 2; i++) {
        soak_proc_kill(&s->servers[i], SIGTERM);
    }
}

static void soak_proxy_exit(struct soak_proc *p)
{
    struct soak *s = p->data;
    soak_proc_close(p);
    if (s->phase != PH_STOP) {
        soak_run_fail(s, "tether proxy exited during the run");
    }
}

/* ---- flags ---- */

static int soak_usage(const char *why)
{
    fprintf(stderr,
            "soak: %s\n"
            "usage: soak --tether PATH --dir DIR [--seconds N] [--warmup N] [--concurrency N]\n"
            "            [--interval N] [--deadline MS] [--seed N] [--host IP] [--wrap CMD]\n"
            "            [--keep-alive SECONDS] [--pause MIN..MAX] [--port-file PATH]\n"
            "            [--quiet-file PATH] [--retry-unsafe]\n",
            why);
    return 2;
}

static int soak_number(const char *flag, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long n = v ? strtoull(v, &end, 10) : 0;
    if (!v || !*v || *end || n < min || n > max) {
        fprintf(stderr, "soak: invalid value '%s' for %s (expected %llu..%llu)\n", v ? v : "", flag,
                (unsigned long long)min, (unsigned long long)max);
        return 2;
    }
    *out = n;
    return 0;
}

int soak_run_parse(struct soak *s, int argc, char **argv)
{
    s->keep_alive_s = 2;
    s->pause_min_ms = 600;
    s->pause_max_ms = 1200;
    uint64_t seconds = 600, warmup = 0, conc = 16, interval = 0, deadline = 10000, seed = 1;
    s->host = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(f, "--tether") == 0 && v) {
            s->tether = argv[i + 1];
        } else if (strcmp(f, "--dir") == 0 && v) {
            s->dir = v;
        } else if (strcmp(f, "--host") == 0 && v) {
            s->host = v;
        } else if (strcmp(f, "--wrap") == 0 && v) {
            /* Split on spaces in place: "ip netns exec NS". */
            for (char *tok = strtok(argv[i + 1], " "); tok && s->nwrap < 8;
                 tok = strtok(NULL, " ")) {
                s->wrap[s->nwrap++] = tok;
            }
        } else if (strcmp(f, "--keep-alive") == 0) {
            uint64_t ka = 0;
            rc = soak_number(f, v, 2, 600, &ka);
            s->keep_alive_s = (unsigned)ka;
        } else if (strcmp(f, "--port-file") == 0 && v) {
            s->port_file = v;
        } else if (strcmp(f, "--quiet-file") == 0 && v) {
            s->quiet_file = v;
        } else if (strcmp(f, "--pause") == 0 && v) {
            char *end = NULL;
            unsigned long lo = strtoul(v, &end, 10);
            unsigned long hi =
                end && end[0] == '.' && end[1] == '.' ? strtoul(end + 2, &end, 10) : 0;
            if (!end || *end || lo == 0 || hi <= lo || hi > 600000) {
                fprintf(stderr, "soak: invalid value '%s' for --pause (expected MIN..MAX ms)\n", v);
                return 2;
            }
            s->pause_min_ms = lo;
            s->pause_max_ms = hi;
        } else if (strcmp(f, "--retry-unsafe") == 0) {
            s->retry_unsafe = true;
            continue;
        } else if (strcmp(f, "--seconds") == 0) {
            rc = soak_number(f, v, 10, 86400, &seconds);
        } else if (strcmp(f, "--warmup") == 0) {
            rc = soak_number(f, v, 1, 3600, &warmup);
        } else if (strcmp(f, "--concurrency") == 0) {
            rc = soak_number(f, v, 1, 1024, &conc);
        } else if (strcmp(f, "--interval") == 0) {
            rc = soak_number(f, v, 1, 3600, &interval);
        } else if (strcmp(f, "--deadline") == 0) {
            rc = soak_number(f, v, 100, 600000, &deadline);
        } else if (strcmp(f, "--seed") == 0) {
            rc = soak_number(f, v, 1, UINT64_MAX, &seed);
        } else {
            char why[128];
            (void)snprintf(why, sizeof(why), "unknown flag or missing value: '%s'", f);
            return soak_usage(why);
        }
        if (rc != 0) {
            return rc;
        }
        i++;
    }
    if (!s->tether || !s->dir) {
        return soak_usage("--tether and --dir are required");
    }
    s->seconds = (unsigned)seconds;
    /* The warm-up: pools filled, allocator arenas grown; a fifth of the run, at most 60 s. */
    s->warmup_s = (unsigned)(warmup ? warmup : (seconds / 5 < 60 ? seconds / 5 : 60));
    if (s->warmup_s >= s->seconds) {
        return soak_usage("--warmup must be shorter than --seconds");
    }
    s->concurrency = (unsigned)conc;
    s->interval_ms = (interval ? interval : (seconds >= 180 ? 60 : 10)) * 1000;
    s->deadline_ms = deadline;
    s->seed = seed;
    s->rng = seed * 0x9E3779B97F4A7C15ull | 1;
    int n = snprintf(s->exec_log, sizeof(s->exec_log), "%s/exec.log", s->dir);
    if (n < 0 || (size_t)n >= sizeof(s->exec_log)) {
        return soak_usage("--dir is too long");
    }
    return 0;
}

/* ---- the run ---- */

int soak_run(struct soak *s)
{
    FILE *log = fopen(s->exec_log, "w"); /* a fresh log: earlier runs' ids would collide */
    if (!log) {
        fprintf(stderr, "soak: cannot create '%s'\n", s->exec_log);
        return 2;
    }
    (void)fclose(log);
    if (uv_loop_init(&s->loop) != 0) {
        return 1;
    }
    uv_timer_t *timers[] = {&s->restart_timer, &s->tick_timer, &s->phase_timer};
    for (size_t i = 0; i < 3; i++) {
        (void)uv_timer_init(&s->loop, timers[i]);
        timers[i]->data = s;
    }
    if (soak_workers_init(s) != 0) {
        return 1;
    }
    s->phase = PH_START;
    soak_server_spawn(s);
    (void)uv_run(&s->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&s->loop);
    soak_read_exec_log(s);
    soak_check_records(s);
    return soak_report(s);
}
