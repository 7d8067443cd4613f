/* SPDX-License-Identifier: MIT */
/* `tether doctor postgres://...`: the server settings that end sessions (idle_session_timeout,
 * idle_in_transaction_session_timeout, tcp_keepalives_*, statement_timeout), the idle kill
 * measured on a real connection held idle (by the server, or by a pooler or proxy in front),
 * and the pool settings to use, with numbers (anchors/doctor.md §3.5-3.6 rule 5: idle below
 * the smallest kill, with a margin of max(1 s, 10 %); no idle connections when that leaves
 * nothing). libpq is used directly: the doctor measures the path, not a pool. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "commands.h"
#include "doctor_pg.h"
#include "load_pg.h"

#define DOCTOR_CMD "doctor"

bool doctor_pg_wanted(int argc, char **argv)
{
    return load_pg_wanted(argc, argv);
}

#ifndef TETHER_HAVE_PGPOOL
int cmd_doctor_pg(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("tether doctor: this tether was built without PostgreSQL support: install libpq "
          "(Debian: libpq-dev) and rebuild\n",
          stderr);
    return CLI_EXIT_USAGE;
}
#else
#include <libpq-fe.h>

/* The settings read, in ms (-1 = not readable, e.g. through a pooler that hides them). */
enum {
    PG_IDLE_SESSION,
    PG_IDLE_IN_TX,
    PG_KA_IDLE,
    PG_KA_INTERVAL,
    PG_KA_COUNT,
    PG_STATEMENT,
    PG_USER_TIMEOUT,
    PG_NSETTINGS
};
static const char *const pg_setting_names[PG_NSETTINGS] = {
    "idle_session_timeout", "idle_in_transaction_session_timeout",
    "tcp_keepalives_idle",  "tcp_keepalives_interval",
    "tcp_keepalives_count", "statement_timeout",
    "tcp_user_timeout"};

struct doctor_pg {
    const char *url;
    bool json;
    uint64_t max_idle_ms;
    uint64_t connect_timeout_ms;
    int64_t setting[PG_NSETTINGS];
    char version[64];
    double connect_ms;
    /* the idle kill */
    bool killed;
    uint64_t kill_ms;
    char how[16]; /* "fatal", "eof", "rst" */
    char sqlstate[6];
    char message[256];
    uint64_t waited_ms;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void doctor_pg_notice(void *arg, const PGresult *res)
{
    struct doctor_pg *d = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        (void)snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", state ? state : "");
        (void)snprintf(d->message, sizeof(d->message), "%s", PQresultErrorMessage(res));
        d->message[strcspn(d->message, "\n")] = '\0';
    }
}

/* pg_settings gives each value with its unit: ms, s or none (a count). */
static void doctor_pg_settings(struct doctor_pg *d, PGconn *pg)
{
    for (int i = 0; i < PG_NSETTINGS; i++) {
        d->setting[i] = -1;
    }
    PGresult *r = PQexec(pg, "SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE "
                             "name IN ('idle_session_timeout', "
                             "'idle_in_transaction_session_timeout', 'tcp_keepalives_idle', "
                             "'tcp_keepalives_interval', 'tcp_keepalives_count', "
                             "'statement_timeout', 'tcp_user_timeout')");
    for (int row = 0; PQresultStatus(r) == PGRES_TUPLES_OK && row < PQntuples(r); row++) {
        const char *name = PQgetvalue(r, row, 0);
        long long v = strtoll(PQgetvalue(r, row, 1), NULL, 10);
        const char *unit = PQgetvalue(r, row, 2);
        for (int i = 0; i < PG_NSETTINGS; i++) {
            if (strcmp(name, pg_setting_names[i]) == 0) {
                d->setting[i] = strcmp(unit, "s") == 0 ? v * 1000 : v;
            }
        }
    }
    PQclear(r);
}

/* Holds the connection idle until the server (or what is in front) closes it, or max_idle. */
static void doctor_pg_idle(struct doctor_pg *d, PGconn *pg)
{
    int fd = PQsocket(pg);
    uint64_t t0 = now_ms();
    bool tty = !d->json && isatty(STDERR_FILENO);
    uint64_t last_line = t0;
    for (;;) {
        uint64_t now = now_ms();
        d->waited_ms = now - t0;
        if (d->waited_ms >= d->max_idle_ms) {
            break;
        }
        if (tty && now - last_line >= 1000) {
            fprintf(stderr, "\r\033[Kwaiting for the idle kill: %.0f s of %.0f s",
                    (double)d->waited_ms / 1000.0, (double)d->max_idle_ms / 1000.0);
            last_line = now;
        }
        uint64_t left = d->max_idle_ms - d->waited_ms;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(left < 250 ? left : 250));
        if (n <= 0) {
            continue;
        }
        char b;
        ssize_t got = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        const char *how = NULL;
        if (got == 0) {
            how = "eof";
        } else if (got < 0 && errno == ECONNRESET) {
            how = "rst";
        } else if (got > 0) {
            int ok = PQconsumeInput(pg);
            PGnotify *nt;
            while ((nt = PQnotifies(pg)) != NULL) {
                PQfreemem(nt);
            }
            if (d->sqlstate[0] || d->message[0]) {
                how = "fatal";
            } else if (!ok || PQstatus(pg) != CONNECTION_OK) {
                how = "eof";
            }
        } else if (got < 0 && errno != EAGAIN && errno != EINTR) {
            how = "error";
        }
        if (how) {
            d->killed = true;
            d->kill_ms = now_ms() - t0;
            d->waited_ms = d->kill_ms;
            (void)snprintf(d->how, sizeof(d->how), "%s", how);
            break;
        }
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            break;
        }
    }
    if (tty) {
        fputs("\r\033[K", stderr);
    }
}

/* The smallest known kill of an idle session: measured or configured (0 = none known). */
static uint64_t doctor_pg_kill(const struct doctor_pg *d)
{
    uint64_t k = d->killed ? d->kill_ms : 0;
    int64_t s = d->setting[PG_IDLE_SESSION];
    /* A 57P05 FATAL is idle_session_timeout itself, whose setting is exact; the measurement
     * starts when the result reached the doctor, a little after the server went idle, so it
     * reads a few ms short (2996 ms for 3 s) and would shift every number derived from it. */
    bool own_kill = d->killed && strcmp(d->sqlstate, "57P05") == 0;
    if (s > 0 && (k == 0 || own_kill || (uint64_t)s < k)) {
        k = (uint64_t)s;
    }
    return k;
}

/* Rule 5 with rule 1's margin: idle below the kill by max(1 s, 10 %); 0 = keep none idle. */
static uint64_t doctor_pg_idle_timeout(uint64_t kill_ms)
{
    uint64_t margin = kill_ms / 10 > 1000 ? kill_ms / 10 : 1000;
    return kill_ms > 2000 && kill_ms > margin ? kill_ms - margin : 0;
}

static const char *doctor_pg_dur(int64_t ms, char *buf, size_t len)
{
    if (ms < 0) {
        (void)snprintf(buf, len, "unknown");
    } else if (ms == 0) {
        (void)snprintf(buf, len, "0 (off)");
    } else if (ms % 1000 == 0) {
        (void)snprintf(buf, len, "%lld s", (long long)(ms / 1000));
    } else {
        (void)snprintf(buf, len, "%lld ms", (long long)ms);
    }
    return buf;
}

struct doctor_pg_advice {
    uint64_t idle_timeout_ms; /* for the pool; 0 = no idle connections */
    uint64_t max_lifetime_ms;
    uint64_t statement_deadline_ms; /* 0 = none to recommend: above the longest statement */
    const char *findings[8];
    char texts[8][320];
    size_t n;
};

static void doctor_pg_advise(const struct doctor_pg *d, struct doctor_pg_advice *a)
{
    memset(a, 0, sizeof(*a));
    uint64_t kill = doctor_pg_kill(d);
    char b1[32], b2[32];
    a->max_lifetime_ms = 1800000;
    if (kill) {
        a->idle_timeout_ms = doctor_pg_idle_timeout(kill);
        if (a->idle_timeout_ms) {
            (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                           "idle sessions are killed after %s: set the pool's idle timeout to "
                           "%s (max(1 s, 10 %%) below it), and validate connections idle "
                           "over 500 ms before use",
                           doctor_pg_dur((int64_t)kill, b1, sizeof(b1)),
                           doctor_pg_dur((int64_t)a->idle_timeout_ms, b2, sizeof(b2)));
        } else {
            (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                           "idle sessions are killed after %s, too soon to keep any: min "
                           "idle 0 and close connections when released (idle timeout 0)",
                           doctor_pg_dur((int64_t)kill, b1, sizeof(b1)));
        }
    } else {
        a->idle_timeout_ms = 600000;
        (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                       "no idle kill seen within %s: idle timeout 10 min (HikariCP's default), "
                       "or --max-idle longer to look further",
                       doctor_pg_dur((int64_t)d->max_idle_ms, b1, sizeof(b1)));
    }
    if (d->killed && d->setting[PG_IDLE_SESSION] <= 0) {
        (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                       "the connection was closed (%s%s%s) with idle_session_timeout off: "
                       "something in front (PgBouncer client_idle_timeout, a proxy, a NAT) "
                       "ends idle connections",
                       d->how, d->sqlstate[0] ? " " : "", d->sqlstate);
    }
    if (d->setting[PG_IDLE_IN_TX] > 0) {
        (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                       "sessions idle inside a transaction die after %s (25P03): keep "
                       "transactions short; the pool rolls back what is released open",
                       doctor_pg_dur(d->setting[PG_IDLE_IN_TX], b1, sizeof(b1)));
    }
    /* Rule 3: keepalive idle below a silent middlebox's idle (NAT 350 s) minus 10 %. Over TCP
     * the server reports the OS value it uses when the setting is 0. */
    if (d->setting[PG_KA_IDLE] == 0 || d->setting[PG_KA_IDLE] > 300000) {
        (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                       "the server's TCP keepalive idle is %s: a NAT or firewall that drops "
                       "idle flows (AWS NAT 350 s) kills sessions silently; keep client "
                       "keepalives 30/10/3 and tcp_user_timeout 30 s (tether's pool sets them), "
                       "or set tcp_keepalives_idle = 60 on the server",
                       d->setting[PG_KA_IDLE] == 0
                           ? "the OS default (7200 s)"
                           : doctor_pg_dur(d->setting[PG_KA_IDLE], b1, sizeof(b1)));
    }
    /* A link that goes silent while still ACKing (a userspace proxy, a stuck middlebox) is
     * seen by neither keepalives nor tcp_user_timeout: only the pool's statement deadline ends
     * that wait. Above the server's statement_timeout by rule 1's margin, the server's clean
     * 57014 comes first and the deadline only ever fires on silence. */
    if (d->setting[PG_STATEMENT] > 0) {
        int64_t st = d->setting[PG_STATEMENT];
        a->statement_deadline_ms = (uint64_t)st + (st / 10 > 1000 ? (uint64_t)st / 10 : 1000);
        (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                       "statements longer than %s are cancelled (57014): a query error, not a "
                       "lost connection; do not retry them blindly. Statement deadline %s "
                       "(max(1 s, 10 %%) above it) ends a wait on a link gone silent",
                       doctor_pg_dur(st, b1, sizeof(b1)),
                       doctor_pg_dur((int64_t)a->statement_deadline_ms, b2, sizeof(b2)));
    } else if (d->setting[PG_STATEMENT] == 0) {
        (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                       "statement_timeout is off: a statement on a link gone silent that still "
                       "ACKs (a stuck proxy) waits forever, unseen by keepalives and "
                       "tcp_user_timeout; set the pool's statement deadline "
                       "(statement_deadline_ms) above your longest statement");
    }
    (void)snprintf(a->texts[a->n++], sizeof(a->texts[0]),
                   "max lifetime %s minus up to 2.5 %% jitter, a few seconds below any "
                   "infrastructure limit (PgBouncer server_lifetime 3600 s)",
                   doctor_pg_dur((int64_t)a->max_lifetime_ms, b1, sizeof(b1)));
    for (size_t i = 0; i < a->n; i++) {
        a->findings[i] = a->texts[i];
    }
}

static int doctor_pg_print(const struct doctor_pg *d, const struct doctor_pg_advice *a)
{
    char b[32];
    if (d->json) {
        json_t *settings = json_object();
        for (int i = 0; settings && i < PG_NSETTINGS; i++) {
            (void)json_object_set_new(settings, pg_setting_names[i],
                                      d->setting[i] < 0 ? json_null()
                                                        : cli_json_uint((uint64_t)d->setting[i]));
        }
        json_t *findings = json_array();
        for (size_t i = 0; findings && i < a->n; i++) {
            (void)json_array_append_new(findings, json_string(a->findings[i]));
        }
        json_t *doc = json_pack(
            "{s:s,s:s,s:f,s:o,s:{s:b,s:o,s:s?,s:s?,s:s?,s:I},s:{s:I,s:I,s:I,s:i,s:i,s:i,s:I,s:o},"
            "s:o}",
            "url", d->url, "server_version", d->version, "connect_ms", d->connect_ms, "settings_ms",
            settings, "idle_kill", "killed", d->killed, "after_ms",
            d->killed ? cli_json_uint(d->kill_ms) : json_null(), "how", d->killed ? d->how : NULL,
            "sqlstate", d->sqlstate[0] ? d->sqlstate : NULL, "message",
            d->message[0] ? d->message : NULL, "waited_ms", (json_int_t)d->waited_ms, "pool",
            "idle_timeout_ms", (json_int_t)a->idle_timeout_ms, "max_lifetime_ms",
            (json_int_t)a->max_lifetime_ms, "validate_after_idle_ms", (json_int_t)500,
            "keepalives_idle_s", 30, "keepalives_interval_s", 10, "keepalives_count", 3,
            "tcp_user_timeout_ms", (json_int_t)30000, "statement_deadline_ms",
            a->statement_deadline_ms ? cli_json_uint(a->statement_deadline_ms) : json_null(),
            "findings", findings);
        if (!doc || cli_json_print(doc) != 0) {
            fputs("tether doctor: cannot write the JSON report\n", stderr);
            return CLI_EXIT_FAILED;
        }
        return CLI_EXIT_OK;
    }
    printf("tether doctor: %s\n", d->url);
    printf("  %-38s %s (connected in %.1f ms)\n", "server", d->version, d->connect_ms);
    for (int i = 0; i < PG_NSETTINGS; i++) {
        if (i == PG_KA_COUNT) {
            if (d->setting[i] < 0) {
                printf("  %-38s unknown\n", pg_setting_names[i]);
            } else {
                printf("  %-38s %lld%s\n", pg_setting_names[i], (long long)d->setting[i],
                       d->setting[i] == 0 ? " (OS default)" : "");
            }
            continue;
        }
        printf("  %-38s %s\n", pg_setting_names[i], doctor_pg_dur(d->setting[i], b, sizeof(b)));
    }
    if (d->killed) {
        printf("  %-38s after %.1f s: %s%s%s%s%s\n", "idle kill (measured)",
               (double)d->kill_ms / 1000.0, d->how, d->sqlstate[0] ? " " : "", d->sqlstate,
               d->message[0] ? ", " : "", d->message);
    } else {
        printf("  %-38s none within %.0f s\n", "idle kill (measured)",
               (double)d->waited_ms / 1000.0);
    }
    printf("  pool settings to use\n");
    printf("    %-36s %s\n", "idle timeout",
           a->idle_timeout_ms ? doctor_pg_dur((int64_t)a->idle_timeout_ms, b, sizeof(b))
                              : "0 (keep no idle connections)");
    printf("    %-36s %s\n", "max lifetime",
           doctor_pg_dur((int64_t)a->max_lifetime_ms, b, sizeof(b)));
    printf("    %-36s %s\n", "validate before use when idle over", "500 ms (empty query)");
    printf("    %-36s %s\n", "keepalives idle/interval/count", "30 s / 10 s / 3");
    printf("    %-36s %s\n", "tcp_user_timeout", "30 s");
    printf("    %-36s %s\n", "statement deadline",
           a->statement_deadline_ms ? doctor_pg_dur((int64_t)a->statement_deadline_ms, b, sizeof(b))
                                    : "above your longest statement");
    printf("  findings\n");
    for (size_t i = 0; i < a->n; i++) {
        printf("    - %s\n", a->findings[i]);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

int cmd_doctor_pg(int argc, char **argv)
{
    struct doctor_pg d;
    memset(&d, 0, sizeof(d));
    d.max_idle_ms = 125000;
    d.connect_timeout_ms = 10000;
    struct args_cursor c;
    args_init(&c, DOCTOR_CMD, argc, argv);
    while (args_next(&c)) {
        int rv = 0;
        if (args_positional(&c)) {
            if (d.url) {
                return args_error(DOCTOR_CMD, "one postgres:// URL only ('%s' and '%s')", d.url,
                                  c.arg);
            }
            d.url = c.arg;
        } else if (args_is(&c, "--max-idle") || args_is(&c, "--connect-timeout")) {
            bool idle = args_is(&c, "--max-idle");
            uint64_t *out = idle ? &d.max_idle_ms : &d.connect_timeout_ms;
            if ((rv = args_take_duration(&c, out)) == 0 && *out == 0) {
                rv = args_bad_value(&c, "duration", " (must be above 0)");
            }
        } else if (args_is(&c, "--json")) {
            d.json = true;
            rv = args_take_none(&c);
        } else if (args_is(&c, "-h") || args_is(&c, "--help")) {
            cli_print_usage(cmd_doctor_usage);
            return CLI_EXIT_OK;
        } else {
            rv = args_error(DOCTOR_CMD,
                            "%s is not an option for a postgres:// URL (options: --max-idle, "
                            "--connect-timeout, --json)",
                            c.arg);
        }
        if (rv != 0) {
            return rv;
        }
    }
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(d.url, &err);
    if (!opts) {
        if (err) {
            err[strcspn(err, "\n")] = '\0';
        }
        fprintf(stderr, "tether doctor: invalid conninfo '%s': %s\n", d.url,
                err ? err : "out of memory");
        PQfreemem(err);
        return CLI_EXIT_USAGE;
    }
    PQconninfoFree(opts);
    char timeout[24];
    uint64_t secs = (d.connect_timeout_ms + 999) / 1000;
    (void)snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)(secs < 2 ? 2 : secs));
    const char *keys[] = {"dbname", "connect_timeout", NULL};
    const char *values[] = {d.url, timeout, NULL};
    uint64_t t0 = now_ms();
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    d.connect_ms = (double)(now_ms() - t0);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        const char *msg = pg ? PQerrorMessage(pg) : "out of memory";
        fprintf(stderr, "tether doctor: %.*s\n", (int)strcspn(msg, "\n"), msg);
        PQfinish(pg);
        return CLI_EXIT_FAILED;
    }
    PQsetNoticeReceiver(pg, doctor_pg_notice, &d);
    (void)snprintf(d.version, sizeof(d.version), "PostgreSQL %s",
                   PQparameterStatus(pg, "server_version") ? PQparameterStatus(pg, "server_version")
                                                           : "?");
    doctor_pg_settings(&d, pg);
    /* The idle timer starts at the server's last message: the empty query's answer. */
    PQclear(PQexec(pg, ""));
    doctor_pg_idle(&d, pg);
    PQfinish(pg);
    struct doctor_pg_advice a;
    doctor_pg_advise(&d, &a);
    return doctor_pg_print(&d, &a);
}
#endif
