/* SPDX-License-Identifier: MIT */
/* The soak's child processes and what /proc says about them. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

static void proc_ready(struct soak_proc *p, bool ok)
{
    if (!p->ready_called) {
        p->ready_called = true;
        p->on_ready(p, ok);
    }
}

static void proc_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    (void)h;
    /* One loop thread, and read_cb consumes the bytes at once: one buffer serves every child. */
    static char scratch[512];
    buf->base = scratch;
    buf->len = sizeof(scratch);
}

static void proc_out_closed(uv_handle_t *h)
{
    (void)h;
}

static void proc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct soak_proc *p = s->data;
    if (n < 0) {
        if (p->out_open) {
            p->out_open = false;
            uv_close((uv_handle_t *)&p->out, proc_out_closed);
        }
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char ch = buf->base[i];
        if (ch != '\n') {
            if (p->partial_len + 1 < sizeof(p->partial)) {
                p->partial[p->partial_len++] = ch;
            }
            continue;
        }
        if (p->nlines < 2) {
            memcpy(p->lines[p->nlines], p->partial, p->partial_len);
            p->lines[p->nlines][p->partial_len] = '\0';
            p->nlines++;
        }
        p->partial_len = 0;
        if (p->nlines == p->want_lines) {
            proc_ready(p, true);
        }
    }
}

static void proc_exited(uv_process_t *h, int64_t status, int sig)
{
    struct soak_proc *p = h->data;
    p->running = false;
    p->exit_status = (int)status;
    p->term_signal = sig;
    proc_ready(p, false);
    if (p->on_exit) {
        p->on_exit(p);
    }
}

int soak_proc_spawn(uv_loop_t *loop, struct soak_proc *p, char **argv, unsigned want_lines)
{
    void (*on_ready)(struct soak_proc *, bool) = p->on_ready;
    void (*on_exit)(struct soak_proc *) = p->on_exit;
    void *data = p->data;
    memset(p, 0, sizeof(*p));
    p->on_ready = on_ready;
    p->on_exit = on_exit;
    p->data = data;
    p->want_lines = want_lines;
    int rv = uv_pipe_init(loop, &p->out, 0);
    if (rv != 0) {
        return rv;
    }
    p->out.data = p;
    p->handle.data = p;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
    };
    uv_process_options_t o = {
        .exit_cb = proc_exited,
        .file = argv[0],
        .args = argv,
        .stdio_count = 3,
        .stdio = stdio,
    };
    rv = uv_spawn(loop, &p->handle, &o);
    if (rv != 0) {
        uv_close((uv_handle_t *)&p->out, NULL);
        uv_close((uv_handle_t *)&p->handle, NULL);
        return rv;
    }
    p->running = true;
    p->out_open = true;
    p->pid = p->handle.pid;
    return uv_read_start((uv_stream_t *)&p->out, proc_alloc, proc_read);
}

void soak_proc_kill(struct soak_proc *p, int sig)
{
    if (p->running) {
        (void)uv_process_kill(&p->handle, sig);
    }
}

void soak_proc_close(struct soak_proc *p)
{
    if (p->out_open) {
        p->out_open = false;
        uv_close((uv_handle_t *)&p->out, proc_out_closed);
    }
    if (!uv_is_closing((uv_handle_t *)&p->handle)) {
        uv_close((uv_handle_t *)&p->handle, NULL);
    }
}

uint16_t soak_proc_port(const struct soak_proc *p, unsigned i)
{
    if (i >= p->nlines) {
        return 0;
    }
    const char *colon = strrchr(p->lines[i], ':');
    if (!colon || strncmp(p->lines[i], "listening on ", 13) != 0) {
        return 0;
    }
    long port = strtol(colon + 1, NULL, 10);
    return port > 0 && port < 65536 ? (uint16_t)port : 0;
}

void soak_usage_read(int64_t pid, struct soak_usage *u)
{
    char path[64];
    u->fds = -1;
    u->rss_kib = -1;
    (void)snprintf(path, sizeof(path), "/proc/%lld/fd", (long long)pid);
    DIR *d = opendir(path);
    if (d) {
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                n++;
            }
        }
        (void)closedir(d);
        u->fds = n - (pid == (int64_t)uv_os_getpid() ? 1 : 0); /* opendir's own descriptor */
    }
    (void)snprintf(path, sizeof(path), "/proc/%lld/status", (long long)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "VmRSS:", 6) == 0) {
                u->rss_kib = strtol(line + 6, NULL, 10);
                break;
            }
        }
        (void)fclose(f);
    }
}
