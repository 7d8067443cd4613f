/* SPDX-License-Identifier: MIT */
/* HTTP client throughput: tether's client (async, keep-alive pool) against libcurl, same server. */
/* nftw() is XSI: the benchmarks define only _POSIX_C_SOURCE. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <uv.h>

#include "tether/client.h"
#include "tether/tether.h"

extern char **environ;

/*
 * Shape of a run. argv[1] scales the seconds per round (0.1 for a smoke run). The whole
 * benchmark stops after BENCH_MAX_SECONDS whatever happens, so a stuck client cannot hang
 * `make bench`.
 */
#define ROUNDS 5
#define ROUND_SECONDS 2.0
#define CONCURRENCY 16
#define BENCH_MAX_SECONDS 120

#ifndef TETHER_CLI_PATH
#define TETHER_CLI_PATH "tether"
#endif

static double bench_scale = 1.0;
static volatile pid_t server_pid = -1;
static char tmpdir[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void server_kill(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        (void)waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path);
    return 0;
}

static void cleanup_tmp(void)
{
    if (tmpdir[0]) {
        (void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir[0] = '\0';
    }
}

static void die(const char *what)
{
    fprintf(stderr, "client_bench: %s\n", what);
    server_kill();
    cleanup_tmp();
    exit(1);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "client_bench: took longer than the time limit, stopped\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
    }
    _exit(1);
}

/* ---- the server: nginx when installed (a separate, fast process), else `tether serve` ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool port_accepts(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        die("cannot find a free port");
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static bool have_command(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static pid_t spawn(char *const argv[], const char *log_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rv = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rv == 0 ? pid : -1;
}

/* Starts nginx (worker_processes 1) answering "ok\n", or returns 0 when it cannot. */
static uint16_t nginx_start(void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        uint16_t port = free_port();
        char conf[300];
        char log[300];
        snprintf(conf, sizeof(conf), "%s/nginx.conf", tmpdir);
        snprintf(log, sizeof(log), "%s/nginx.log", tmpdir);
        FILE *f = fopen(conf, "w");
        if (!f) {
            return 0;
        }
        fprintf(f,
                "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s warn;\n"
                "events { worker_connections 4096; }\nhttp {\n  access_log off;\n"
                "  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n"
                "  fastcgi_temp_path %s/fcgi;\n  uwsgi_temp_path %s/uwsgi;\n"
                "  scgi_temp_path %s/scgi;\n  keepalive_requests 100000;\n"
                "  server {\n    listen 127.0.0.1:%u;\n"
                "    location / { default_type text/plain; return 200 \"ok\\n\"; }\n  }\n}\n",
                tmpdir, log, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, (unsigned)port);
        fclose(f);
        char *const argv[] = {"nginx", "-p", tmpdir, "-e", log, "-c", conf, NULL};
        server_pid = spawn(argv, log);
        if (server_pid < 0) {
            return 0;
        }
        for (int i = 0; i < 100; i++) {
            if (port_accepts(port)) {
                return port;
            }
            if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
                server_pid = -1;
                break;
            }
            sleep_ms(50);
        }
        server_kill();
    }
    return 0;
}

/* `tether serve` on a probed port (also with a per-connection request cap lifted). */
static uint16_t tether_serve_start(void)
{
    uint16_t port = free_port();
    char listen[32];
    char log[300];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
    snprintf(log, sizeof(log), "%s/serve.log", tmpdir);
    char *const argv[] = {TETHER_CLI_PATH,           "serve", "--listen", listen,
                          "--max-requests-per-conn", "0",     NULL};
    server_pid = spawn(argv, log);
    for (int i = 0; server_pid > 0 && i < 100; i++) {
        if (port_accepts(port)) {
            return port;
        }
        sleep_ms(50);
    }
    die("tether serve did not start");
    return 0;
}

/* ---- tether: N workers on one loop, each re-issuing its fetch until time is up ---- */

struct tb {
    uv_loop_t loop;
    tether_client *c;
    const char *url;
    double end;
    uint64_t ok;
    uint64_t errors;
    unsigned inflight;
};

static bool tb_body(tether_fetch *f, const char *data, size_t len)
{
    (void)f;
    (void)data;
    (void)len;
    return true;
}

static void tb_start(struct tb *b);

static void tb_done(tether_fetch *f, int status)
{
    (void)status;
    struct tb *b = tether_fetch_get_data(f);
    if (tether_fetch_failure(f)->code == 0 && tether_fetch_status(f) == 200) {
        b->ok++;
    } else {
        b->errors++;
    }
    tether_fetch_free(f);
    b->inflight--;
    if (now_s() < b->end) {
        tb_start(b);
    } else if (b->inflight == 0) {
        tether_client_close(b->c, NULL, NULL);
    }
}

static void tb_start(struct tb *b)
{
    struct tether_fetch_options fo;
    memset(&fo, 0, sizeof(fo));
    fo.url = b->url;
    fo.on_body = tb_body;
    fo.data = b;
    if (tether_client_fetch(b->c, &fo, tb_done, NULL) != 0) {
        die("tether_client_fetch refused the request");
    }
    b->inflight++;
}

static double run_tether(const char *url, unsigned conc, uint64_t *errors)
{
    struct tb b;
    memset(&b, 0, sizeof(b));
    b.url = url;
    if (uv_loop_init(&b.loop) != 0) {
        die("uv_loop_init");
    }
    struct tether_client_options o;
    tether_client_options_init(&o);
    if (tether_client_new(&b.loop, &o, &b.c) != 0) {
        die("tether_client_new");
    }
    double t0 = now_s();
    b.end = t0 + ROUND_SECONDS * bench_scale;
    for (unsigned i = 0; i < conc; i++) {
        tb_start(&b);
    }
    uv_run(&b.loop, UV_RUN_DEFAULT);
    double el = now_s() - t0;
    if (uv_loop_close(&b.loop) != 0) {
        die("the tether client left handles open on its loop");
    }
    *errors = b.errors;
    return (double)b.ok / el;
}

/* ---- libcurl: easy with connection reuse for one connection, multi for N ---- */

static size_t cb_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static CURL *curl_new(const char *url)
{
    CURL *e = curl_easy_init();
    if (!e) {
        die("curl_easy_init");
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cb_discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    return e;
}

static bool curl_ok(CURL *e, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    return rc == CURLE_OK && code == 200;
}

static double run_curl(const char *url, unsigned conc, uint64_t *errors)
{
    uint64_t ok = 0;
    *errors = 0;
    double t0 = now_s();
    double end = t0 + ROUND_SECONDS * bench_scale;
    if (conc == 1) {
        CURL *e = curl_new(url);
        while (now_s() < end) {
            if (curl_ok(e, curl_easy_perform(e))) {
                ok++;
            } else {
                (*errors)++;
            }
        }
        curl_easy_cleanup(e);
        return (double)ok / (now_s() - t0);
    }
    CURLM *m = curl_multi_init();
    CURL *easy[CONCURRENCY];
    for (unsigned i = 0; i < conc; i++) {
        easy[i] = curl_new(url);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = (int)conc;
    while (running > 0) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        bool readded = false;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            CURL *e = msg->easy_handle;
            CURLcode rc = msg->data.result;
            if (curl_ok(e, rc)) {
                ok++;
            } else {
                (*errors)++;
            }
            curl_multi_remove_handle(m, e);
            if (now_s() < end) {
                /* Re-adding the same handle reuses the connection from the multi's cache. */
                curl_multi_add_handle(m, e);
                readded = true;
            }
        }
        if (readded) {
            running = 1; /* start the re-added transfers before waiting */
            continue;
        }
        if (running > 0) {
            curl_multi_poll(m, NULL, 0, 100, NULL);
        }
    }
    double el = now_s() - t0;
    for (unsigned i = 0; i < conc; i++) {
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    curl_multi_cleanup(m);
    return (double)ok / el;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Both clients must get "ok\n" from the server before anything is timed. */
static void check_clients(const char *url)
{
    tether_client *c;
    struct tether_client_options o;
    tether_client_options_init(&o);
    if (tether_client_new_blocking(&o, &c) != 0) {
        die("tether_client_new_blocking");
    }
    struct tether_fetch_options fo;
    memset(&fo, 0, sizeof(fo));
    fo.url = url;
    tether_fetch *f = NULL;
    size_t len = 0;
    if (tether_client_fetch_blocking(c, &fo, &f) != 0 || tether_fetch_status(f) != 200 ||
        !tether_fetch_body(f, &len) || len != 3 || memcmp(tether_fetch_body(f, &len), "ok\n", 3)) {
        die("tether's client did not get 200 \"ok\\n\" from the server");
    }
    tether_fetch_free(f);
    tether_client_close_blocking(c);
    CURL *e = curl_new(url);
    if (!curl_ok(e, curl_easy_perform(e))) {
        die("libcurl did not get 200 from the server");
    }
    curl_easy_cleanup(e);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        bench_scale = strtod(argv[1], NULL);
        if (!(bench_scale > 0 && bench_scale <= 100)) {
            fprintf(stderr, "usage: client_bench [SCALE]  (0 < SCALE <= 100)\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(BENCH_MAX_SECONDS);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/client_bench.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        die("mkdtemp");
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        die("curl_global_init");
    }
    const char *server = "nginx 1 worker";
    uint16_t port = have_command("nginx") ? nginx_start() : 0;
    if (port == 0) {
        server = "tether serve";
        port = tether_serve_start();
    }
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)port);
    check_clients(url);

    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("client_bench: tether %s client (async, default policy) vs libcurl %s (easy with "
           "reuse for 1 connection, multi for %u), GET \"ok\\n\" from %s on loopback\n",
           tether_version(), cv->version, CONCURRENCY, server);
    printf("%.1f s per round, %d alternating rounds; the median round per side counts\n\n",
           ROUND_SECONDS * bench_scale, ROUNDS);
    printf("%-7s %-11s %5s %12s %8s\n", "client", "connections", "round", "req/s", "errors");

    static const unsigned concs[2] = {1, CONCURRENCY};
    double rps_of[2][2][ROUNDS]; /* [conc index][0 tether, 1 curl][round] */
    uint64_t errors_total = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < 2; k++) {
            uint64_t err;
            double rps = run_tether(url, concs[k], &err);
            errors_total += err;
            printf("%-7s %-11u %5d %12.0f %8llu\n", "tether", concs[k], r + 1, rps,
                   (unsigned long long)err);
            rps_of[k][0][r] = rps;
            rps = run_curl(url, concs[k], &err);
            errors_total += err;
            printf("%-7s %-11u %5d %12.0f %8llu\n", "curl", concs[k], r + 1, rps,
                   (unsigned long long)err);
            rps_of[k][1][r] = rps;
            fflush(stdout);
        }
    }
    server_kill();
    cleanup_tmp();
    curl_global_cleanup();
    double med[2][2];
    for (int k = 0; k < 2; k++) {
        for (int side = 0; side < 2; side++) {
            qsort(rps_of[k][side], ROUNDS, sizeof(double), cmp_double);
            med[k][side] = rps_of[k][side][ROUNDS / 2];
        }
    }
    printf("\nmedian round: 1 connection: tether %.0f req/s, curl %.0f req/s; %u connections: "
           "tether %.0f req/s, curl %.0f req/s\n\n",
           med[0][0], med[0][1], CONCURRENCY, med[1][0], med[1][1]);
    printf("ratio client-rps tether/curl: %.2f\n", med[1][1] > 0 ? med[1][0] / med[1][1] : 0);
    printf("ratio client-rps-1conn tether/curl: %.2f\n", med[0][1] > 0 ? med[0][0] / med[0][1] : 0);
    if (errors_total > 0) {
        fprintf(stderr, "client_bench: %llu requests failed during the run\n",
                (unsigned long long)errors_total);
        return 1;
    }
    return 0;
}
