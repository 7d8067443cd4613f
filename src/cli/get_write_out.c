/* SPDX-License-Identifier: MIT */
/* `tether get -w FORMAT`: curl's --write-out variables, from what the fetch exposes. */
#include <stdio.h>
#include <string.h>

#include "tether/client.h"

#include "util/hostport.h"

#include "get.h"

/* curl prints times as seconds with six decimals: "0.000370". */
static void wo_seconds(FILE *out, uint64_t us)
{
    (void)fprintf(out, "%llu.%06llu", (unsigned long long)(us / 1000000u),
                  (unsigned long long)(us % 1000000u));
}

/* The IP or the port of the fetch's peer ("127.0.0.1:8080", "[::1]:443"). */
static void wo_remote(FILE *out, const tether_fetch *f, bool port)
{
    const char *r = tether_fetch_remote(f);
    struct ttx_hostport hp;
    if (!r[0] || ttx_hostport_split(r, strlen(r), &hp) != TTX_HOSTPORT_OK) {
        return;
    }
    struct ttx_slice s = port ? hp.port : hp.host;
    (void)fwrite(s.ptr, 1, s.len, out);
}

/* Writes variable `name` (length n); false when curl's list (as far as tether knows the
 * facts) has no such name. */
static bool wo_variable(FILE **outp, const char *name, size_t n, const struct get_ctx *g,
                        const tether_fetch *f, int exit_code, const char *errmsg)
{
    FILE *out = *outp;
    struct tether_fetch_timing t;
    tether_fetch_timing(f, &t);
#define WO_IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    if (WO_IS("http_code") || WO_IS("response_code")) {
        fprintf(out, "%03d", tether_fetch_status(f));
    } else if (WO_IS("size_download")) {
        fprintf(out, "%llu", (unsigned long long)g->body_bytes);
    } else if (WO_IS("size_header")) {
        size_t len = 0;
        (void)tether_fetch_response_head(f, &len);
        fprintf(out, "%zu", len);
    } else if (WO_IS("size_request")) {
        size_t len = 0;
        (void)tether_fetch_request_head(f, &len);
        fprintf(out, "%zu", len + g->ff.data_len);
    } else if (WO_IS("time_total")) {
        wo_seconds(out, t.total_us);
    } else if (WO_IS("time_connect")) {
        wo_seconds(out, t.connect_us);
    } else if (WO_IS("time_starttransfer")) {
        wo_seconds(out, t.first_byte_us);
    } else if (WO_IS("num_connects")) {
        fprintf(out, "%u", t.connects);
    } else if (WO_IS("url_effective") || WO_IS("url")) {
        fputs(g->ff.url_owned ? g->ff.url_owned : g->ff.url, out);
    } else if (WO_IS("content_type")) {
        const char *ct = tether_fetch_header(f, "Content-Type");
        fputs(ct ? ct : "", out);
    } else if (WO_IS("exitcode")) {
        fprintf(out, "%d", exit_code);
    } else if (WO_IS("errormsg")) {
        fputs(errmsg, out);
    } else if (WO_IS("num_redirects")) {
        fputs("0", out); /* tether get follows no redirect on its own */
    } else if (WO_IS("remote_ip")) {
        wo_remote(out, f, false);
    } else if (WO_IS("remote_port")) {
        wo_remote(out, f, true);
    } else if (WO_IS("method")) {
        fputs(fetch_flags_method(&g->ff), out);
    } else if (WO_IS("scheme")) {
        const char *u = g->ff.url_owned ? g->ff.url_owned : g->ff.url;
        fputs(strncmp(u, "https:", 6) == 0 ? "HTTPS" : "HTTP", out);
    } else if (WO_IS("num_retries")) {
        fprintf(out, "%u", tether_fetch_retries(f));
    } else if (WO_IS("num_attempts")) {
        fprintf(out, "%u", tether_fetch_attempts(f));
    } else if (WO_IS("num_replays")) {
        fprintf(out, "%u", tether_fetch_replays(f));
    } else if (WO_IS("size_upload")) {
        fprintf(out, "%zu", g->ff.has_data ? g->ff.data_len : 0);
    } else if (WO_IS("http_version")) {
        size_t len = 0;
        const char *head = tether_fetch_response_head(f, &len);
        /* "HTTP/1.1 200 OK" -> "1.1"; curl prints 0 without a response. */
        bool have = head && len > 8 && memcmp(head, "HTTP/", 5) == 0;
        fprintf(out, "%.*s", have ? 3 : 1, have ? head + 5 : "0");
    } else if (WO_IS("stdout") || WO_IS("stderr")) {
        /* The rest of the format goes there (curl's %{stderr}). */
        (void)fflush(out);
        *outp = WO_IS("stderr") ? stderr : stdout;
    } else {
        return false;
    }
#undef WO_IS
    return true;
}

void get_write_out(const struct get_ctx *g, const tether_fetch *f, int exit_code,
                   const char *errmsg)
{
    FILE *out = stdout;
    for (const char *p = g->write_out; *p; p++) {
        if (p[0] == '%' && p[1] == '%') {
            fputc('%', out);
            p++;
        } else if (p[0] == '%' && p[1] == '{' && strchr(p + 2, '}')) {
            const char *name = p + 2;
            size_t n = (size_t)(strchr(name, '}') - name);
            if (!wo_variable(&out, name, n, g, f, exit_code, errmsg)) {
                fprintf(stderr, "tether get: unknown --write-out variable: '%.*s'\n", (int)n, name);
            }
            p = name + n;
        } else if (p[0] == '\\' && (p[1] == 'n' || p[1] == 'r' || p[1] == 't')) {
            fputc(p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : '\t', out);
            p++;
        } else {
            fputc(*p, out);
        }
    }
    (void)fflush(stdout);
    (void)fflush(stderr);
}
