/* SPDX-License-Identifier: MIT */
/* GET /metrics: the Prometheus text exposition format 0.0.4. With proxy_metrics, Toxiproxy's
 * byte counters under its names and labels (collectors/proxy.go; labels in the alphabetical
 * order its Go client writes them), live rather than counted when a connection ends, and
 * tether's connection and RST counters; with runtime_metrics, the process collector's names
 * read from /proc (omitted where a file is missing) and tether_build_info. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tether/version.h"

#include "proxy/proxy_int.h"

void tt__px_count_toxic_reset(struct px_conn *c)
{
    if (!c->reset_by) {
        return; /* not a toxic's doing: an API DELETE with how=rst, an allocation failure */
    }
    struct px_stats *s = &c->px->stats;
    for (size_t i = 0; i < PX_RESET_CAUSES; i++) {
        if (!s->toxic_resets[i].toxic || strcmp(s->toxic_resets[i].toxic, c->reset_by) == 0) {
            s->toxic_resets[i].toxic = c->reset_by;
            s->toxic_resets[i].n++;
            return;
        }
    }
}

/* A label value: backslash, double quote and newline escaped, as the format requires. */
static void metrics_label(struct pj_w *w, const char *name, const char *value, bool last)
{
    char esc[512];
    size_t n = 0;
    for (const char *p = value; *p && n + 2 < sizeof(esc); p++) {
        if (*p == '\\' || *p == '"' || *p == '\n') {
            esc[n++] = '\\';
            esc[n++] = *p == '\n' ? 'n' : *p;
        } else {
            esc[n++] = *p;
        }
    }
    esc[n] = '\0';
    tt__pj_fmt(w, "%s=\"%s\"%s", name, esc, last ? "}" : ",");
}

static void metrics_head(struct pj_w *w, const char *name, const char *type, const char *help)
{
    tt__pj_fmt(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* toxiproxy_proxy_{received,sent}_bytes_total{direction,listener,proxy,upstream}. */
static void metrics_bytes(struct pj_w *w, struct tether_proxy_server *ps, bool sent)
{
    const char *name =
        sent ? "toxiproxy_proxy_sent_bytes_total" : "toxiproxy_proxy_received_bytes_total";
    metrics_head(w, name, "counter",
                 sent ? "Bytes a proxy wrote to the destination of each direction."
                      : "Bytes a proxy read from the source of each direction.");
    for (struct tt__list *n = ps->proxies.next; n != &ps->proxies; n = n->next) {
        struct px_proxy *px = tt__container_of(n, struct px_proxy, link);
        for (int d = 0; d < 2; d++) {
            uint64_t v = sent ? (d == 0 ? px->stats.sent_up : px->stats.sent_down)
                              : (d == 0 ? px->stats.bytes_up : px->stats.bytes_down);
            tt__pj_fmt(w, "%s{", name);
            metrics_label(w, "direction", d == 0 ? "upstream" : "downstream", false);
            metrics_label(w, "listener", px->listen, false);
            metrics_label(w, "proxy", px->name, false);
            metrics_label(w, "upstream", px->upstream, true);
            tt__pj_fmt(w, " %llu\n", (unsigned long long)v);
        }
    }
}

static uint64_t metrics_accepted(const struct px_proxy *px)
{
    return px->stats.accepted;
}

static uint64_t metrics_active(const struct px_proxy *px)
{
    return px->nlive;
}

static uint64_t metrics_refused(const struct px_proxy *px)
{
    return px->stats.refused;
}

static uint64_t metrics_resets(const struct px_proxy *px)
{
    return px->stats.resets_sent;
}

static uint64_t metrics_fins(const struct px_proxy *px)
{
    return px->stats.fins_sent;
}

/* One tether_proxy_* series per proxy. */
static void metrics_per_proxy(struct pj_w *w, struct tether_proxy_server *ps, const char *name,
                              const char *type, const char *help,
                              uint64_t (*value)(const struct px_proxy *px))
{
    metrics_head(w, name, type, help);
    for (struct tt__list *n = ps->proxies.next; n != &ps->proxies; n = n->next) {
        struct px_proxy *px = tt__container_of(n, struct px_proxy, link);
        uint64_t v = value(px);
        tt__pj_fmt(w, "%s{", name);
        metrics_label(w, "proxy", px->name, true);
        tt__pj_fmt(w, " %llu\n", (unsigned long long)v);
    }
}

static void metrics_proxies(struct pj_w *w, struct tether_proxy_server *ps)
{
    metrics_bytes(w, ps, false);
    metrics_bytes(w, ps, true);
    metrics_per_proxy(w, ps, "tether_proxy_connections_accepted_total", "counter",
                      "Client connections a proxy accepted.", metrics_accepted);
    metrics_per_proxy(w, ps, "tether_proxy_connections_active", "gauge",
                      "Client connections a proxy relays now.", metrics_active);
    metrics_per_proxy(w, ps, "tether_proxy_connections_refused_total", "counter",
                      "Connections a proxy turned away: by a toxic (accept, "
                      "max_connections, upstream_down) or with the upstream unreachable.",
                      metrics_refused);
    metrics_per_proxy(w, ps, "tether_proxy_resets_sent_total", "counter",
                      "RSTs a proxy sent, to clients and upstreams.", metrics_resets);
    metrics_per_proxy(w, ps, "tether_proxy_fins_sent_total", "counter",
                      "FINs a proxy sent, to clients and upstreams.", metrics_fins);
    const char *name = "tether_proxy_toxic_resets_total";
    metrics_head(w, name, "counter", "RSTs a proxy sent because of a toxic, by its type.");
    for (struct tt__list *n = ps->proxies.next; n != &ps->proxies; n = n->next) {
        struct px_proxy *px = tt__container_of(n, struct px_proxy, link);
        for (size_t i = 0; i < PX_RESET_CAUSES && px->stats.toxic_resets[i].toxic; i++) {
            tt__pj_fmt(w, "%s{", name);
            metrics_label(w, "proxy", px->name, false);
            metrics_label(w, "toxic", px->stats.toxic_resets[i].toxic, true);
            tt__pj_fmt(w, " %llu\n", (unsigned long long)px->stats.toxic_resets[i].n);
        }
    }
}

/* Fields of /proc/self/stat after the command name: utime, stime, starttime (clock ticks),
 * vsize (bytes), rss (pages). Returns 0, or -1 where there is no such file. */
static int metrics_proc_stat(unsigned long long *utime, unsigned long long *stime,
                             unsigned long long *start, unsigned long long *vsize, long long *rss)
{
    char buf[1024];
    FILE *fp = fopen("/proc/self/stat", "r");
    if (!fp) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    (void)fclose(fp);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p) {
        return -1;
    }
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     * cutime cstime priority nice threads itrealvalue starttime vsize rss */
    int got = sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                     "%*d %llu %llu %lld",
                     utime, stime, start, vsize, rss);
    return got == 5 ? 0 : -1;
}

/* The boot time in seconds since the epoch (btime in /proc/stat), or -1. */
static long long metrics_boot_time(void)
{
    char line[256];
    long long btime = -1;
    FILE *fp = fopen("/proc/stat", "r");
    if (!fp) {
        return -1;
    }
    while (fgets(line, sizeof(line), fp)) {
        if (sscanf(line, "btime %lld", &btime) == 1) {
            break;
        }
    }
    (void)fclose(fp);
    return btime;
}

static long long metrics_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        return -1;
    }
    long long n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    (void)closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void metrics_gauge(struct pj_w *w, const char *name, const char *type, const char *help,
                          double v)
{
    metrics_head(w, name, type, help);
    tt__pj_fmt(w, "%s %.17g\n", name, v);
}

static void metrics_runtime(struct pj_w *w)
{
    unsigned long long utime;
    unsigned long long stime;
    unsigned long long start;
    unsigned long long vsize;
    long long rss;
    long ticks = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (ticks > 0 && page > 0 && metrics_proc_stat(&utime, &stime, &start, &vsize, &rss) == 0) {
        metrics_gauge(w, "process_cpu_seconds_total", "counter",
                      "Total user and system CPU time spent in seconds.",
                      (double)(utime + stime) / (double)ticks);
        metrics_gauge(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                      (double)rss * (double)page);
        metrics_gauge(w, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                      (double)vsize);
        long long boot = metrics_boot_time();
        if (boot >= 0) {
            metrics_gauge(w, "process_start_time_seconds", "gauge",
                          "Start time of the process since unix epoch in seconds.",
                          (double)boot + (double)start / (double)ticks);
        }
    }
    long long fds = metrics_open_fds();
    if (fds >= 0) {
        metrics_gauge(w, "process_open_fds", "gauge", "Number of open file descriptors.",
                      (double)fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        metrics_gauge(w, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                      (double)rl.rlim_cur);
    }
    metrics_head(w, "tether_build_info", "gauge", "The tether version serving this proxy.");
    tt__pj_fmt(w, "tether_build_info{version=\"%s\"} 1\n", TETHER_VERSION_STRING);
}

void tt__px_metrics(struct tether_proxy_server *ps, struct pj_w *w)
{
    if (ps->opts.proxy_metrics) {
        metrics_proxies(w, ps);
    }
    if (ps->opts.runtime_metrics) {
        metrics_runtime(w);
    }
}
