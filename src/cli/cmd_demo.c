/* SPDX-License-Identifier: MIT */
/* `tether demo`: the seed's connection resets reproduced on loopback, naive client vs tether. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "tether/tether.h"

#include "args.h"
#include "cli.h"
#include "commands.h"
#include "demo.h"

#define DEMO_CMD "demo"
#define DEMO_DEFAULT_SECONDS 5.0
#define DEMO_MIN_SECONDS 0.5
#define DEMO_MAX_SECONDS 600.0

const char cmd_demo_summary[] =
    "connection resets reproduced on loopback: a naive client vs tether";

const char *const cmd_demo_usage[] = {
    "Usage: tether demo [--seconds N] [--scenario NAME] [--seed N] [--db URL]\n"
    "                   [--json]\n"
    "\n",
    "Reproduces the usual causes of `Error: read ECONNRESET` and `socket hang up` on\n"
    "loopback, with an embedded server and fault proxy, and drives the same workload\n"
    "through two clients side by side: `naive` (a plain keep-alive pool: no idle\n"
    "watching, no replay, no retries) and `tether` (the library's defaults). Nothing\n"
    "leaves the machine and nothing needs configuring. Every figure printed is\n"
    "measured in the run.\n"
    "\n",
    "Scenarios (the first seven by default, in this order; db-idle with --db):\n"
    "  keepalive-race      the server closes idle connections at T with no Keep-Alive\n"
    "                      hint (old Node.js); users pause T +/- 1 %\n"
    "  lb-idle-timeout     a load balancer resets connections idle for T; the\n"
    "                      server's own timeout is longer\n"
    "  server-restart      every connection reset at once, new ones refused for ~1 s,\n"
    "                      then back\n"
    "  mid-response-reset  some connections reset in the middle of a 64 KiB response\n"
    "                      body\n"
    "  rate-limit          503 with Retry-After: 1 beyond 20 requests per second\n"
    "  post-safety         POSTs with and without Idempotency-Key through resets; the\n"
    "                      server counts how many times each one ran (duplicates)\n"
    "  egress              keepalive-race again, the naive client through `tether\n"
    "                      egress` (its row says egress): no code change, no failure\n"
    "  db-idle             PostgreSQL (--db) kills sessions idle for T\n"
    "                      (idle_session_timeout, set per session); users pause\n"
    "                      0.9..1.3 T; two pg_terminate_backend storms kill idle\n"
    "                      backends and running reads. naive is a pool without idle\n"
    "                      watch, validation or retry (`tether load --policy naive`),\n"
    "                      tether is tether's pool. One query in four is an INSERT\n"
    "                      into a table the run creates and drops; the server's rows\n"
    "                      say how often each ran (dups)\n"
    "\n",
    "Options:\n"
    "  --seconds N      length of each scenario in seconds, 0.5..600 [5]\n"
    "  --scenario NAME  run only this scenario\n"
    "  --seed N         seed of the workload's and the proxy's random choices [from\n"
    "                   the clock]\n"
    "  --db URL         postgres://USER@HOST:PORT/DB: the PostgreSQL 14+ server\n"
    "                   db-idle runs against (its user needs CREATE on the\n"
    "                   database); adds db-idle to the run. `make demo-db` starts\n"
    "                   a throwaway server and runs db-idle against it\n"
    "  --json           print one JSON object instead of the table:\n"
    "                   {\"scenarios\":[{\"name\":...,\"clients\":{\"naive\":{\"requests\",\n"
    "                   \"failed\",\"errors\":{message:count},\"replays\",\"retries\",\n"
    "                   \"duplicates\",\"p99_ms\",\"stale_evicted\",\"retired_idle\",\n"
    "                   \"learned_idle_close_ms\",\"retry_after_waits\",...},\n"
    "                   \"tether\":{...}}},...],\"duration_s\":x}\n"
    "                   db-idle's clients add \"reads\" and \"writes\":\n"
    "                   {\"requests\",\"failed\",\"failed_but_executed\"}\n"
    "  -h, --help       print this text\n"
    "\n",
    "The table's last columns say what tether did instead of failing: stale idle\n"
    "connections evicted, idle connections retired before the server's close, the\n"
    "idle close it learned, and retries that waited as Retry-After asked. A reading\n"
    "under a row explains figures that look odd on their own.\n"
    "On a terminal a progress line shows each scenario while it runs.\n"
    "Exit status: 0 when the demo ran (whatever the numbers), 1 when a scenario could\n"
    "not be set up, 2 for a bad flag.\n",
    "\n"
    "EXAMPLES\n"
    "  tether demo\n"
    "  tether demo --scenario keepalive-race --seconds 5\n"
    "  tether demo --json --seed 42 > demo.json\n",
    NULL,
};

/* "5", "2.5" or "2.5s": seconds, with a fraction allowed (strtod would also take signs,
 * spaces, hex and "inf", so the text is checked first). */
static int demo_parse_seconds(const char *text, double *out)
{
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == 's') {
        n--;
    }
    if (n == 0 || n > 16) {
        return -1;
    }
    char buf[20];
    memcpy(buf, text, n);
    buf[n] = '\0';
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '.') {
            dots++;
        } else if (buf[i] < '0' || buf[i] > '9') {
            return -1;
        }
    }
    if (dots > 1 || buf[0] == '.' || buf[n - 1] == '.') {
        return -1;
    }
    double v = strtod(buf, NULL);
    if (v < DEMO_MIN_SECONDS || v > DEMO_MAX_SECONDS) {
        return -1;
    }
    *out = v;
    return 0;
}

static int demo_parse(int argc, char **argv, struct demo_opts *o, bool *help)
{
    const char *names[DEMO_NSCENARIOS + 1];
    for (int i = 0; i < DEMO_NSCENARIOS; i++) {
        names[i] = demo_scenarios[i].name;
    }
    names[DEMO_NSCENARIOS] = NULL;
    memset(o, 0, sizeof(*o));
    o->seconds = DEMO_DEFAULT_SECONDS;
    o->only = -1;
    o->seed = (uv_hrtime() ^ ((uint64_t)getpid() << 32)) % 1000000000ull;
    *help = false;

    struct args_cursor c;
    args_init(&c, DEMO_CMD, argc, argv);
    int rc;
    while (args_next(&c)) {
        if (args_is(&c, "-h") || args_is(&c, "--help")) {
            *help = true;
            rc = args_take_none(&c);
        } else if (args_is(&c, "--json")) {
            o->json = true;
            rc = args_take_none(&c);
        } else if (args_is(&c, "--seconds")) {
            const char *v = NULL;
            rc = args_take_string(&c, &v);
            if (rc == 0 && demo_parse_seconds(v, &o->seconds) != 0) {
                rc = args_bad_value(&c, "number of seconds", " (expected 0.5..600, e.g. 5 or 2.5)");
            }
        } else if (args_is(&c, "--scenario")) {
            rc = args_take_choice(&c, names, &o->only);
        } else if (args_is(&c, "--seed")) {
            rc = args_take_uint(&c, 0, UINT64_MAX, &o->seed);
        } else if (args_is(&c, "--db")) {
            rc = args_take_string(&c, &o->db_url);
            if (rc == 0 && strncmp(o->db_url, "postgres://", 11) != 0 &&
                strncmp(o->db_url, "postgresql://", 13) != 0) {
                rc = args_bad_value(&c, "PostgreSQL URL",
                                    " (expected postgres://USER@HOST:PORT/DB)");
            }
        } else {
            rc = args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    o->progress = !o->json && isatty(STDOUT_FILENO);
    if (o->only >= 0 && demo_scenarios[o->only].database && !o->db_url) {
        return args_error(DEMO_CMD,
                          "--scenario %s needs --db postgres://USER@HOST:PORT/DB (a PostgreSQL "
                          "14 or later server; `make demo-db` runs it against a throwaway one)",
                          demo_scenarios[o->only].name);
    }
#ifndef TETHER_HAVE_PGPOOL
    if (o->db_url) {
        return args_error(DEMO_CMD, "--db: this tether was built without PostgreSQL support: "
                                    "install libpq (Debian: libpq-dev) and rebuild");
    }
#endif
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    struct demo_opts opts;
    bool help;
    int rc = demo_parse(argc, argv, &opts, &help);
    if (rc != 0) {
        return rc;
    }
    if (help) {
        cli_print_usage(cmd_demo_usage);
        return CLI_EXIT_OK;
    }

    static struct demo_result res[DEMO_NSCENARIOS][DEMO_NLANES];
    bool selected[DEMO_NSCENARIOS];
    unsigned total = 0;
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        /* The database scenario needs a server of the user's: only with --db. */
        selected[s] =
            opts.only < 0 ? !demo_scenarios[s].database || opts.db_url != NULL : opts.only == s;
        total += selected[s] ? 1u : 0u;
    }
    if (opts.progress) {
        printf("tether demo: %u scenario%s of %.3g s each, naive client vs tether, on loopback\n",
               total, total == 1 ? "" : "s", opts.seconds);
        (void)fflush(stdout);
    }
    uint64_t t0 = uv_hrtime();
    unsigned pos = 0;
    int status = CLI_EXIT_OK;
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        if (!selected[s]) {
            continue;
        }
        char err[256] = "";
        if (demo_run_scenario(&demo_scenarios[s], &opts, ++pos, total, res[s], err, sizeof(err)) !=
            0) {
            fprintf(stderr, "tether demo: %s could not run: %s\n", demo_scenarios[s].name,
                    err[0] ? err : "unknown error");
            status = CLI_EXIT_FAILED;
        }
    }
    double duration_s = (double)(uv_hrtime() - t0) / 1e9;
    if (opts.json) {
        if (demo_report_json(res, selected, duration_s) != 0) {
            status = CLI_EXIT_FAILED;
        }
    } else {
        demo_report_human(&opts, res, selected, duration_s);
    }
    for (int s = 0; s < DEMO_NSCENARIOS; s++) {
        for (int l = 0; l < DEMO_NLANES; l++) {
            demo_result_free(&res[s][l]);
        }
    }
    return status;
}
