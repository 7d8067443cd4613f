/* SPDX-License-Identifier: MIT */
/* TCP proxy throughput and round-trip latency: tether's proxy against HAProxy (mode tcp), and
 * tether's again in a process where another proxy has a latency toxic under traffic. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <uv.h>

#include "tether/tether.h"

extern char **environ;

/*
 * Shape of a run. argv[1] scales bytes and seconds (0.05 for a smoke run). Whatever the scale,
 * a throughput run stops after RUN_MAX_SECONDS and the whole benchmark after
 * BENCH_MAX_SECONDS, so a stalled proxy cannot hang `make bench`.
 */
#define ROUNDS 5
#define TOTAL_BYTES (256.0 * 1024 * 1024)
#define LATENCY_SECONDS 1.0
#define MSG_SIZE 64
#define CHUNK (64 * 1024)
#define RUN_MAX_SECONDS 4.0
#define BENCH_MAX_SECONDS 170
#define IO_TIMEOUT_SECONDS 20
#define MAX_STREAMS 16
#define MAX_SAMPLES 2000000

static double bench_scale = 1.0;
static volatile pid_t haproxy_pid = -1;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "proxy_bench: %s\n", what);
    exit(1);
}

static void die_errno(const char *what)
{
    fprintf(stderr, "proxy_bench: %s: %s\n", what, uv_strerror(uv_translate_sys_error(errno)));
    exit(1);
}

/* ---- sockets ---- */

static void set_timeouts(int fd)
{
    struct timeval tv = {IO_TIMEOUT_SECONDS, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void set_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        die_errno("socket");
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 512) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        die_errno("listen on 127.0.0.1");
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A port that was free a moment ago, for HAProxy's bind line. */
static uint16_t free_port(void)
{
    uint16_t port;
    int fd = listen_loopback(&port);
    close(fd);
    return port;
}

static int connect_loopback(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    set_timeouts(fd);
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* ---- the sink: one thread per connection; the first byte picks the mode ---- */
/* 'D': read to EOF, answer the byte count (8 bytes), close. 'E': echo MSG_SIZE-byte messages. */

static void *sink_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[CHUNK];
    char mode = 0;
    set_nodelay(fd);
    set_timeouts(fd);
    if (read_all(fd, &mode, 1) && mode == 'D') {
        uint64_t n = 0;
        for (;;) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                break;
            }
            n += (uint64_t)r;
        }
        (void)write_all(fd, (const char *)&n, sizeof(n));
    } else if (mode == 'E') {
        char msg[MSG_SIZE];
        while (read_all(fd, msg, sizeof(msg)) && write_all(fd, msg, sizeof(msg))) {
        }
    }
    close(fd);
    return NULL;
}

static void *sink_accept(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return NULL;
        }
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &attr, sink_conn, (void *)(intptr_t)fd) != 0) {
            close(fd);
        }
        pthread_attr_destroy(&attr);
    }
}

/* ---- tether's proxy, in-process on its own loop thread (the library is single-threaded) ---- */

struct tproxy {
    pthread_t th;
    uv_loop_t loop;
    uv_async_t stop;
    tether_proxy_server *ps;
    uint16_t upstream_port;
    uint16_t port;
    bool slow; /* also proxy "slow", with a latency toxic (see SLOW_TOXIC) */
    uint16_t slow_port;
    char err[256];
    bool ready;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* The neighbour's toxic: every chunk through "slow" waits 20 ms. Its echo traffic keeps the
 * toxic's timers busy while the toxic-free proxy beside it is measured. */
#define SLOW_TOXIC "{\"type\":\"latency\",\"attributes\":{\"latency\":20}}"

static void tproxy_on_stop(uv_async_t *a)
{
    struct tproxy *tp = a->data;
    tether_proxy_server_close(tp->ps, NULL, NULL);
    uv_close((uv_handle_t *)&tp->stop, NULL);
}

static void tproxy_signal(struct tproxy *tp)
{
    pthread_mutex_lock(&tp->mu);
    tp->ready = true;
    pthread_cond_signal(&tp->cv);
    pthread_mutex_unlock(&tp->mu);
}

static void *tproxy_main(void *arg)
{
    struct tproxy *tp = arg;
    struct tether_proxy_server_options o;
    char body[160];
    int status = 0;
    char *resp = NULL;
    size_t resp_len = 0;
    uv_loop_init(&tp->loop);
    tether_proxy_server_options_init(&o);
    o.api_host = NULL; /* driven in-process, no HTTP API */
    int rv = tether_proxy_server_new(&tp->loop, &o, &tp->ps);
    if (rv != 0) {
        snprintf(tp->err, sizeof(tp->err), "tether_proxy_server_new: %s", tether_strerror(rv));
        tproxy_signal(tp);
        return NULL;
    }
    snprintf(body, sizeof(body),
             "{\"name\":\"bench\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
             (unsigned)tp->upstream_port);
    rv = tether_proxy_server_call(tp->ps, "POST", "/proxies", body, strlen(body), &status, &resp,
                                  &resp_len);
    if (rv != 0 || status != 201 || tether_proxy_server_proxy_port(tp->ps, "bench", &tp->port)) {
        snprintf(tp->err, sizeof(tp->err), "POST /proxies: status %d %.*s", status,
                 resp ? (int)(resp_len < 160 ? resp_len : 160) : 0, resp ? resp : "");
        tether_free(resp);
        tether_proxy_server_close(tp->ps, NULL, NULL);
        uv_run(&tp->loop, UV_RUN_DEFAULT);
        tproxy_signal(tp);
        return NULL;
    }
    tether_free(resp);
    resp = NULL;
    if (tp->slow) {
        snprintf(body, sizeof(body),
                 "{\"name\":\"slow\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:%u\"}",
                 (unsigned)tp->upstream_port);
        rv = tether_proxy_server_call(tp->ps, "POST", "/proxies", body, strlen(body), &status,
                                      &resp, &resp_len);
        tether_free(resp);
        resp = NULL;
        if (rv == 0 && status == 201) {
            rv = tether_proxy_server_call(tp->ps, "POST", "/proxies/slow/toxics", SLOW_TOXIC,
                                          strlen(SLOW_TOXIC), &status, &resp, &resp_len);
            tether_free(resp);
        }
        if (rv != 0 || status != 200 ||
            tether_proxy_server_proxy_port(tp->ps, "slow", &tp->slow_port)) {
            snprintf(tp->err, sizeof(tp->err), "the slow proxy: status %d", status);
        }
    }
    uv_async_init(&tp->loop, &tp->stop, tproxy_on_stop);
    tp->stop.data = tp;
    tproxy_signal(tp);
    uv_run(&tp->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&tp->loop);
    return NULL;
}

static void tproxy_start(struct tproxy *tp, uint16_t upstream_port, bool slow)
{
    memset(tp, 0, sizeof(*tp));
    tp->upstream_port = upstream_port;
    tp->slow = slow;
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->cv, NULL);
    if (pthread_create(&tp->th, NULL, tproxy_main, tp) != 0) {
        die("cannot start the tether proxy thread");
    }
    pthread_mutex_lock(&tp->mu);
    while (!tp->ready) {
        pthread_cond_wait(&tp->cv, &tp->mu);
    }
    pthread_mutex_unlock(&tp->mu);
    if (tp->err[0]) {
        fprintf(stderr, "proxy_bench: tether proxy: %s\n", tp->err);
        exit(1);
    }
}

static void tproxy_stop(struct tproxy *tp)
{
    uv_async_send(&tp->stop);
    pthread_join(tp->th, NULL);
}

/* ---- or `tether proxy --listen --upstream --no-api` as a process: what users run ---- */

static volatile pid_t tether_pids[2] = {-1, -1}; /* toxic-free, and beside a toxic */

/* Starts the command and reads the port from its first line, "listening on tcp://H:P". With
 * `config` (a -config file), the process also runs the proxies in it. */
static uint16_t tether_cli_start(const char *cli, uint16_t upstream_port, const char *config,
                                 int which)
{
    static char path[4096];
    static char cfg[256];
    char up[32];
    int fds[2];
    snprintf(path, sizeof(path), "%s", cli);
    snprintf(cfg, sizeof(cfg), "%s", config ? config : "");
    snprintf(up, sizeof(up), "127.0.0.1:%u", (unsigned)upstream_port);
    if (pipe(fds) != 0) {
        die_errno("pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *const argv[] = {path,         "proxy", "--listen", "127.0.0.1:0",
                          "--upstream", up,      "--no-api", config ? "-config" : NULL,
                          cfg,          NULL};
    pid_t pid;
    int rv = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rv != 0) {
        errno = rv;
        die_errno(path);
    }
    tether_pids[which] = pid;
    FILE *fp = fdopen(fds[0], "r");
    char line[256];
    const char *colon = NULL;
    if (fp && fgets(line, sizeof(line), fp) && strncmp(line, "listening on tcp://", 19) == 0) {
        colon = strrchr(line, ':');
    }
    if (fp) {
        fclose(fp); /* it prints nothing more; SIGPIPE is ignored there */
    }
    unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 0;
    if (port == 0 || port > 65535) {
        fprintf(stderr, "proxy_bench: %s proxy did not print its listening line\n", path);
        exit(1);
    }
    return (uint16_t)port;
}

static void tether_cli_stop(int which)
{
    int status = 0;
    pid_t pid = tether_pids[which];
    if (pid <= 0) {
        return;
    }
    kill(pid, SIGTERM);
    (void)waitpid(pid, &status, 0);
    tether_pids[which] = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "proxy_bench: tether proxy did not exit 0 after SIGTERM\n");
        exit(1);
    }
}

/* ---- HAProxy, as a child process with a generated configuration ---- */

static bool find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof(dir) - strlen(name) - 2) {
            memcpy(dir, path, n);
            snprintf(dir + n, sizeof(dir) - n, "/%s", name);
            if (access(dir, X_OK) == 0) {
                return true;
            }
        }
        path += n + (path[n] == ':');
    }
    return false;
}

static void haproxy_kill(void)
{
    for (int i = 0; i < 2; i++) {
        if (tether_pids[i] > 0) {
            kill(tether_pids[i], SIGKILL);
            (void)waitpid(tether_pids[i], NULL, 0);
            tether_pids[i] = -1;
        }
    }
    if (haproxy_pid > 0) {
        kill(haproxy_pid, SIGKILL);
        (void)waitpid(haproxy_pid, NULL, 0);
        haproxy_pid = -1;
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "proxy_bench: took longer than the time limit, stopping\n";
    if (haproxy_pid > 0) {
        kill(haproxy_pid, SIGKILL);
    }
    for (int i = 0; i < 2; i++) {
        if (tether_pids[i] > 0) {
            kill(tether_pids[i], SIGKILL);
        }
    }
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static char tmpdir[64];
static char cfg_path[128];
static char log_path[128];
static char slow_cfg_path[128];

static void cleanup_files(void)
{
    haproxy_kill();
    if (tmpdir[0]) {
        unlink(cfg_path);
        unlink(log_path);
        unlink(slow_cfg_path);
        rmdir(tmpdir);
        tmpdir[0] = '\0';
    }
}

static void print_haproxy_log(void)
{
    FILE *fp = fopen(log_path, "r");
    char line[512];
    while (fp && fgets(line, sizeof(line), fp)) {
        fprintf(stderr, "  haproxy: %s", line);
    }
    if (fp) {
        fclose(fp);
    }
}

/* Writes the configuration, starts `haproxy -f CFG -db` and waits until it accepts. */
static uint16_t haproxy_start(uint16_t upstream_port)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/proxy_bench.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        die_errno("mkdtemp");
    }
    snprintf(cfg_path, sizeof(cfg_path), "%s/haproxy.cfg", tmpdir);
    snprintf(log_path, sizeof(log_path), "%s/haproxy.log", tmpdir);
    uint16_t port = free_port();
    FILE *fp = fopen(cfg_path, "w");
    if (!fp) {
        die_errno("cannot write the HAProxy configuration");
    }
    /* One thread, like tether's single event loop; timeouts far above any run. */
    fprintf(fp,
            "global\n"
            "    nbthread 1\n"
            "    maxconn 4096\n"
            "defaults\n"
            "    mode tcp\n"
            "    timeout connect 5s\n"
            "    timeout client 60s\n"
            "    timeout server 60s\n"
            "frontend bench\n"
            "    bind 127.0.0.1:%u\n"
            "    default_backend sink\n"
            "backend sink\n"
            "    server sink 127.0.0.1:%u\n",
            (unsigned)port, (unsigned)upstream_port);
    fclose(fp);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *const argv[] = {"haproxy", "-f", cfg_path, "-db", NULL};
    pid_t pid;
    int rv = posix_spawnp(&pid, "haproxy", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rv != 0) {
        errno = rv;
        die_errno("cannot start haproxy");
    }
    haproxy_pid = pid;
    for (int i = 0; i < 500; i++) {
        int fd = connect_loopback(port);
        if (fd >= 0) {
            close(fd);
            return port;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            haproxy_pid = -1;
            fprintf(stderr, "proxy_bench: haproxy exited at start-up:\n");
            print_haproxy_log();
            exit(1);
        }
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    fprintf(stderr, "proxy_bench: haproxy did not accept on 127.0.0.1:%u within 5 s\n",
            (unsigned)port);
    print_haproxy_log();
    exit(1);
}

static void haproxy_version(char *buf, size_t len)
{
    snprintf(buf, len, "HAProxy");
    FILE *p = popen("haproxy -v 2>/dev/null", "r");
    char line[256];
    if (p && fgets(line, sizeof(line), p)) {
        /* "HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/" */
        char *v = strstr(line, "version ");
        if (v) {
            v += 8;
            v[strcspn(v, " \n")] = '\0';
            snprintf(buf, len, "HAProxy %s", v);
        }
    }
    if (p) {
        pclose(p);
    }
}

/* ---- throughput: N streams of bulk data through a port, counted back by the sink ---- */

struct stream_job {
    uint16_t port;
    uint64_t bytes; /* to send */
    uint64_t sent;  /* sent */
    pthread_barrier_t *go;
    bool ok;
};

static void *stream_main(void *arg)
{
    struct stream_job *j = arg;
    char buf[CHUNK];
    memset(buf, 'x', sizeof(buf));
    int fd = connect_loopback(j->port);
    bool ok = fd >= 0 && write_all(fd, "D", 1);
    pthread_barrier_wait(j->go);
    double deadline = now_s() + RUN_MAX_SECONDS;
    while (ok && j->sent < j->bytes) {
        uint64_t left = j->bytes - j->sent;
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        ok = write_all(fd, buf, n);
        j->sent += ok ? n : 0;
        if ((j->sent & ((8u << 20) - 1)) == 0 && now_s() > deadline) {
            break; /* the proxy is slow: measure what got through so far */
        }
    }
    uint64_t counted = 0;
    ok = ok && shutdown(fd, SHUT_WR) == 0 && read_all(fd, (char *)&counted, sizeof(counted)) &&
         counted == j->sent;
    if (fd >= 0) {
        close(fd);
    }
    j->ok = ok;
    return NULL;
}

/* MB/s (10^6 bytes per second) of `streams` connections sending TOTAL_BYTES together. */
static double throughput(const char *who, uint16_t port, int streams)
{
    struct stream_job jobs[MAX_STREAMS];
    pthread_t th[MAX_STREAMS];
    pthread_barrier_t go;
    uint64_t total = (uint64_t)(TOTAL_BYTES * bench_scale);
    pthread_barrier_init(&go, NULL, (unsigned)streams + 1);
    for (int i = 0; i < streams; i++) {
        jobs[i] = (struct stream_job){port, total / (uint64_t)streams, 0, &go, false};
        if (pthread_create(&th[i], NULL, stream_main, &jobs[i]) != 0) {
            die("pthread_create");
        }
    }
    pthread_barrier_wait(&go);
    double t0 = now_s();
    uint64_t sent = 0;
    bool ok = true;
    for (int i = 0; i < streams; i++) {
        pthread_join(th[i], NULL);
        sent += jobs[i].sent;
        ok = ok && jobs[i].ok;
    }
    double dt = now_s() - t0;
    pthread_barrier_destroy(&go);
    if (!ok) {
        fprintf(stderr, "proxy_bench: %s, %d stream(s): a stream failed or lost bytes\n", who,
                streams);
        exit(1);
    }
    return (double)sent / dt / 1e6;
}

/* ---- latency: MSG_SIZE-byte echo round trips on one connection ---- */

struct samples {
    double *v; /* microseconds */
    size_t n;
};

static void latency(const char *who, uint16_t port, struct samples *s)
{
    char msg[MSG_SIZE];
    memset(msg, 'p', sizeof(msg));
    int fd = connect_loopback(port);
    if (fd < 0 || !write_all(fd, "E", 1)) {
        fprintf(stderr, "proxy_bench: %s: cannot connect for the latency run\n", who);
        exit(1);
    }
    set_nodelay(fd);
    for (int i = 0; i < 200; i++) { /* warm-up: caches, the proxy's buffers */
        if (!write_all(fd, msg, sizeof(msg)) || !read_all(fd, msg, sizeof(msg))) {
            fprintf(stderr, "proxy_bench: %s: echo failed\n", who);
            exit(1);
        }
    }
    double end = now_s() + LATENCY_SECONDS * bench_scale;
    for (;;) {
        double t0 = now_s();
        if (t0 > end || s->n == MAX_SAMPLES) {
            break;
        }
        if (!write_all(fd, msg, sizeof(msg)) || !read_all(fd, msg, sizeof(msg))) {
            fprintf(stderr, "proxy_bench: %s: echo failed\n", who);
            exit(1);
        }
        s->v[s->n++] = (now_s() - t0) * 1e6;
    }
    close(fd);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(struct samples *s, double p)
{
    if (s->n == 0) {
        return 0;
    }
    size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
    return s->v[i];
}

/* ---- CPU time a proxy process spent: steadier than rates on a shared, busy machine ---- */

/* utime + stime of `pid` in seconds, or -1 (not a process of ours, or /proc missing). */
static double proc_cpu_seconds(pid_t pid)
{
    char path[64];
    char buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *fp = pid > 0 ? fopen(path, "r") : NULL;
    size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
    if (fp) {
        fclose(fp);
    }
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2) {
        return -1;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the slow neighbour's traffic: echo round trips through its latency toxic ---- */

#define SLOW_CONNS 4
static volatile bool slow_stop;

static void *slow_main(void *arg)
{
    uint16_t port = (uint16_t)(uintptr_t)arg;
    char msg[MSG_SIZE];
    memset(msg, 's', sizeof(msg));
    int fd = connect_loopback(port);
    if (fd < 0 || !write_all(fd, "E", 1)) {
        die("cannot connect through the slow proxy");
    }
    while (!slow_stop) {
        if (!write_all(fd, msg, sizeof(msg)) || !read_all(fd, msg, sizeof(msg))) {
            die("echo through the slow proxy failed");
        }
    }
    close(fd);
    return NULL;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- main ---- */

enum { T_DIRECT, T_TETHER, T_TOXIC, T_HAPROXY, T_COUNT };
static const char *const target_names[T_COUNT] = {"direct", "tether", "tether (toxic beside)",
                                                  "haproxy"};

int main(int argc, char **argv)
{
    if (argc > 1) {
        char *end = NULL;
        bench_scale = strtod(argv[1], &end);
        if (*end != '\0' || !(bench_scale > 0) || bench_scale > 10) {
            fprintf(stderr, "usage: proxy_bench [SCALE]  (0 < SCALE <= 10; 1 = full run)\n");
            return 2;
        }
    }
    if (!find_in_path("haproxy")) {
        printf("proxy_bench: haproxy not found (apt install haproxy, or scripts/install-deps.sh):"
               " skipped\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(BENCH_MAX_SECONDS);
    atexit(cleanup_files);

    uint16_t sink_port;
    int sink_fd = listen_loopback(&sink_port);
    pthread_t sink_th;
    if (pthread_create(&sink_th, NULL, sink_accept, (void *)(intptr_t)sink_fd) != 0) {
        die("pthread_create");
    }
    pthread_detach(sink_th);
    uint16_t hp_port = haproxy_start(sink_port);

    /* The command when it was built alongside (TETHER_CLI_PATH), else the library on a thread
     * of this process; PROXY_BENCH_TETHER=inprocess or =PATH chooses. Two of them: one alone,
     * one that also runs proxy "slow" with a latency toxic under traffic. */
    const char *cli = getenv("PROXY_BENCH_TETHER");
#ifdef TETHER_CLI_PATH
    if (!cli || !*cli) {
        cli = TETHER_CLI_PATH;
    }
#endif
    bool inprocess = !cli || !*cli || strcmp(cli, "inprocess") == 0 || access(cli, X_OK) != 0;
    struct tproxy tp[2];
    uint16_t tether_port;
    uint16_t toxic_port;
    uint16_t slow_port;
    if (inprocess) {
        tproxy_start(&tp[0], sink_port, false);
        tproxy_start(&tp[1], sink_port, true);
        tether_port = tp[0].port;
        toxic_port = tp[1].port;
        slow_port = tp[1].slow_port;
    } else {
        snprintf(slow_cfg_path, sizeof(slow_cfg_path), "%s/slow.json", tmpdir);
        slow_port = free_port();
        FILE *fp = fopen(slow_cfg_path, "w");
        if (!fp) {
            die_errno("cannot write the slow proxy's -config");
        }
        fprintf(fp,
                "[{\"name\":\"slow\",\"listen\":\"127.0.0.1:%u\",\"upstream\":\"127.0.0.1:%u\","
                "\"toxics\":[%s]}]\n",
                (unsigned)slow_port, (unsigned)sink_port, SLOW_TOXIC);
        fclose(fp);
        tether_port = tether_cli_start(cli, sink_port, NULL, 0);
        toxic_port = tether_cli_start(cli, sink_port, slow_cfg_path, 1);
    }
    pthread_t slow_th[SLOW_CONNS];
    for (int i = 0; i < SLOW_CONNS; i++) {
        if (pthread_create(&slow_th[i], NULL, slow_main, (void *)(uintptr_t)slow_port) != 0) {
            die("pthread_create");
        }
    }
    uint16_t ports[T_COUNT] = {sink_port, tether_port, toxic_port, hp_port};
    char hp_version[64];
    haproxy_version(hp_version, sizeof(hp_version));

    printf("proxy_bench: tether proxy %s (%s) vs %s (mode tcp, nbthread 1), 127.0.0.1\n",
           tether_version(),
           inprocess ? "library on a thread of this process"
                     : "`tether proxy --listen --upstream --no-api`",
           hp_version);
    printf("\"toxic beside\": a second tether process whose other proxy has a %s toxic, with "
           "%d echo connections through it all along\n",
           SLOW_TOXIC, SLOW_CONNS);
    printf("throughput: %.0f MiB per run (at most %.0f s), median of %d rounds in rotating "
           "order;\nlatency: %d-byte echo round trips on one connection, %d rounds of %.1f s\n\n",
           TOTAL_BYTES * bench_scale / (1024 * 1024), RUN_MAX_SECONDS, ROUNDS, MSG_SIZE, ROUNDS,
           LATENCY_SECONDS * bench_scale);
    fflush(stdout);

    /* Warm-up and a correctness check of every path. */
    for (int t = 0; t < T_COUNT; t++) {
        double saved = bench_scale;
        bench_scale = saved / 64;
        (void)throughput(target_names[t], ports[t], 2);
        bench_scale = saved;
    }

    /* Proxies in rotating order (each goes first, second... in turn, so none always gets the
     * warmer or the quieter machine); the direct baseline once per stream count. */
    static const int proxies[3] = {T_TETHER, T_TOXIC, T_HAPROXY};
    static const int stream_counts[2] = {1, MAX_STREAMS};
    double runs[2][T_COUNT][ROUNDS];
    double med[2][T_COUNT];
    pid_t pids[T_COUNT] = {-1, inprocess ? -1 : tether_pids[0], inprocess ? -1 : tether_pids[1],
                           haproxy_pid};
    double cpu_s[T_COUNT] = {0};
    double cpu_bytes[T_COUNT] = {0};
    for (int sc = 0; sc < 2; sc++) {
        runs[sc][T_DIRECT][0] =
            throughput(target_names[T_DIRECT], ports[T_DIRECT], stream_counts[sc]);
        med[sc][T_DIRECT] = runs[sc][T_DIRECT][0];
        for (int r = 0; r < ROUNDS; r++) {
            for (int k = 0; k < 3; k++) {
                int t = proxies[(r + k) % 3];
                double c0 = proc_cpu_seconds(pids[t]);
                double t0 = now_s();
                runs[sc][t][r] = throughput(target_names[t], ports[t], stream_counts[sc]);
                double c1 = proc_cpu_seconds(pids[t]);
                if (c0 >= 0 && c1 >= 0) {
                    cpu_s[t] += c1 - c0;
                    cpu_bytes[t] += runs[sc][t][r] * 1e6 * (now_s() - t0);
                }
            }
        }
        for (int k = 0; k < 3; k++) {
            med[sc][proxies[k]] = median(runs[sc][proxies[k]], ROUNDS);
        }
    }

    struct samples lat[T_COUNT];
    for (int t = 0; t < T_COUNT; t++) {
        lat[t].v = malloc(sizeof(double) * MAX_SAMPLES);
        lat[t].n = 0;
        if (!lat[t].v) {
            die("out of memory");
        }
    }
    latency(target_names[T_DIRECT], ports[T_DIRECT], &lat[T_DIRECT]);
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < 3; k++) {
            int t = proxies[(r + k) % 3];
            latency(target_names[t], ports[t], &lat[t]);
        }
    }

    slow_stop = true;
    for (int i = 0; i < SLOW_CONNS; i++) {
        pthread_join(slow_th[i], NULL);
    }
    if (inprocess) {
        tproxy_stop(&tp[0]);
        tproxy_stop(&tp[1]);
    } else {
        tether_cli_stop(0);
        tether_cli_stop(1);
    }
    haproxy_kill();

    printf("throughput (MB/s = 10^6 bytes/s)    1 stream   16 streams\n");
    for (int t = 0; t < T_COUNT; t++) {
        printf("  %-32s %9.1f %12.1f\n", t == T_DIRECT ? "direct (no proxy)" : target_names[t],
               med[0][t], med[1][t]);
    }
    printf("\nround trip, %d bytes each way      p50 us    p99 us   samples\n", MSG_SIZE);
    double p50[T_COUNT];
    double p99[T_COUNT];
    for (int t = 0; t < T_COUNT; t++) {
        qsort(lat[t].v, lat[t].n, sizeof(double), cmp_double);
        p50[t] = percentile(&lat[t], 0.50);
        p99[t] = percentile(&lat[t], 0.99);
        printf("  %-32s %7.1f %9.1f %9zu\n", t == T_DIRECT ? "direct (no proxy)" : target_names[t],
               p50[t], p99[t], lat[t].n);
    }
    printf("  added by the proxy at p50: tether %.1f us, toxic beside %.1f us, haproxy %.1f us\n\n",
           p50[T_TETHER] - p50[T_DIRECT], p50[T_TOXIC] - p50[T_DIRECT],
           p50[T_HAPROXY] - p50[T_DIRECT]);

    bool have_cpu = cpu_bytes[T_TETHER] > 0 && cpu_bytes[T_HAPROXY] > 0;
    if (have_cpu) {
        printf("proxy process CPU (user + system) per GB relayed, all throughput runs:\n");
        for (int k = 0; k < 3; k++) {
            int t = proxies[k];
            printf("  %-32s %7.0f ms\n", target_names[t], cpu_s[t] / cpu_bytes[t] * 1e9 * 1e3);
        }
        printf("\n");
    }

    static const struct {
        int t;
        const char *suffix;
    } rows[2] = {{T_TETHER, ""}, {T_TOXIC, "-toxic-beside"}};
    for (int i = 0; i < 2; i++) {
        int t = rows[i].t;
        const char *sfx = rows[i].suffix;
        double r1 = med[0][t] / med[0][T_HAPROXY];
        double r16 = med[1][t] / med[1][T_HAPROXY];
        printf("ratio proxy-throughput-1%s tether/haproxy: %.2f\n", sfx, r1);
        printf("ratio proxy-throughput-16%s tether/haproxy: %.2f\n", sfx, r16);
        printf("ratio proxy-throughput%s tether/haproxy: %.2f\n", sfx, sqrt(r1 * r16));
        printf("ratio proxy-latency%s haproxy/tether: %.2f\n", sfx, p50[T_HAPROXY] / p50[t]);
        printf("ratio proxy-latency-p99%s haproxy/tether: %.2f\n", sfx, p99[T_HAPROXY] / p99[t]);
        if (have_cpu && cpu_s[t] > 0) {
            printf("ratio proxy-cpu-per-byte%s haproxy/tether: %.2f\n", sfx,
                   (cpu_s[T_HAPROXY] / cpu_bytes[T_HAPROXY]) / (cpu_s[t] / cpu_bytes[t]));
        }
    }
    for (int t = 0; t < T_COUNT; t++) {
        free(lat[t].v);
    }
    return 0;
}
