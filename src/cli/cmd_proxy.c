/* SPDX-License-Identifier: MIT */
/* `tether proxy`: the Toxiproxy-compatible server on Toxiproxy's flags, plus one-proxy presets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "tether/tether.h"

#include "args.h"
#include "cli.h"
#include "cli_loop.h"
#include "commands.h"
#include "proxy_spec.h"

const char cmd_proxy_summary[] = "a Toxiproxy-compatible fault proxy with LB and firewall toxics";

/* Longer than the 4095 characters ISO C guarantees; GCC and Clang take any length. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
const char *const cmd_proxy_usage[] = {
    "Usage: tether proxy [-host HOST] [-port PORT] [-config FILE] [-seed N]\n"
    "       tether proxy --listen ADDR --upstream ADDR [--preset NAME [--scale F]]\n"
    "                    [--toxic SPEC]... [--no-api | -host HOST -port PORT]\n"
    "\n",
    "A fault-injecting TCP proxy driven by Toxiproxy's HTTP API (same routes, status\n"
    "codes, JSON and error texts), so existing Toxiproxy clients work unchanged; plus\n"
    "toxics that reproduce load balancers, firewalls and crashing servers. Every flag\n"
    "may be written -flag, --flag, -flag=VALUE or --flag=VALUE, as Go's flag package\n"
    "(Toxiproxy) accepts.\n"
    "\n",
    "Output: the first stdout line is \"listening on http://HOST:PORT\", the API\n"
    "(\"localhost\" binds 127.0.0.1 and ::1 and is printed as 127.0.0.1). With --listen\n"
    "the first line is \"listening on tcp://HOST:PORT\", the proxy to connect to, and\n"
    "the API line comes second (none with --no-api); then, with --preset, a line per\n"
    "toxic it installed: \"preset aws-alb x0.01: idle_timeout_downstream idle_timeout\n"
    "{\"timeout\":600,...}\". Nothing else is printed while running. SIGINT/SIGTERM\n"
    "close every proxy and exit 0.\n"
    "\n",
    "Toxiproxy's flags:\n"
    "  -host HOST             API address; localhost = 127.0.0.1 and ::1 [localhost]\n"
    "  -port PORT             API port, 0 picks a free one [8474]\n"
    "  -config FILE           JSON array of proxies created at start-up as POST\n"
    "                         /populate does (a \"toxics\" array inside a proxy is\n"
    "                         accepted)\n"
    "  -seed N                seed of the random choices (toxicity rolls, jitter,\n"
    "                         slicing, packet loss): the same seed replays them [the\n"
    "                         clock]\n"
    "  -version               print the Toxiproxy version the API reports and\n"
    "                         tether's\n"
    "  -proxy-metrics         GET /metrics on the API (Prometheus text): Toxiproxy's\n"
    "                         toxiproxy_proxy_{received,sent}_bytes_total, live, and\n"
    "                         tether_proxy_* connections, FINs, RSTs by toxic type\n"
    "  -runtime-metrics       GET /metrics adds process_* (CPU, memory, fds, start\n"
    "                         time); without either flag /metrics is 404\n"
    "  -h, -help              print this text\n"
    "\n",
    "One proxy from the command line (no API client needed):\n"
    "  --listen ADDR          create a proxy listening on HOST:PORT (port 0 = a free\n"
    "                         one)\n"
    "  --upstream ADDR        and forwarding to HOST:PORT\n"
    "  --name NAME            its name in the API [the preset's name, else \"proxy\"]\n"
    "  --preset NAME          give it the toxics of a load balancer or firewall\n"
    "                         (below)\n"
    "  --scale F              multiply the preset's times by F, e.g. 0.01 turns 60 s\n"
    "                         into 600 ms for a test [1]\n"
    "  --toxic TYPE[:K=V,...]\n"
    "                         add a toxic (repeatable, after the preset's). Keys\n"
    "                         name, stream (upstream|downstream) and toxicity set\n"
    "                         the toxic's own fields; the others are attributes:\n"
    "                         numbers go as JSON numbers, true/false as booleans,\n"
    "                         anything else as a string. E.g.\n"
    "                           --toxic latency:latency=100,jitter=10\n"
    "                           --toxic limit_data:bytes=1024,action=rst\n"
    "  --no-api               serve no HTTP API\n"
    "  --connect-timeout DUR  upstream dial timeout of every proxy [10s]\n"
    "\n",
    "Presets (the real defaults; times in ms, multiplied by --scale):\n"
    "  aws-alb         idle_timeout{timeout:60000, action:\"fin\"}\n"
    "    ALB/CLB: FIN to both sides after 60 s without a byte either way\n"
    "  aws-nlb         idle_timeout{timeout:350000, action:\"silent\"}\n"
    "    NLB: the flow is forgotten after 350 s; the next packet gets an RST\n"
    "  azure-lb        idle_timeout{timeout:240000, action:\"silent\"}\n"
    "    Azure Load Balancer default: silent drop after 4 min\n"
    "  azure-lb-rst    idle_timeout{timeout:240000, action:\"rst\"}\n"
    "    Azure with \"TCP reset on idle\": RST to both ends at 4 min\n"
    "  gcp-nat         conntrack_expiry{timeout:1200000, then:\"blackhole\"}\n"
    "    Cloud NAT mapping expiry after 20 min: later packets vanish\n"
    "  haproxy         idle_timeout{timeout:50000, action:\"fin\",\n"
    "                  half_closed_timeout:1000}\n"
    "    timeout client/server 50s (Debian's haproxy.cfg), client-fin 1s\n"
    "  firewall-reset  reset{timeout:0, after_bytes:0}\n"
    "    iptables REJECT --reject-with tcp-reset: every connection gets RST\n"
    "  firewall-drop   blackhole{stop_reading:false} upstream and downstream\n"
    "    iptables DROP: nothing gets through either way and nothing closes\n"
    "\n",
    "Toxics (the JSON \"type\"; times in ms unless noted; see docs/proxy.md):\n"
    "  Toxiproxy's   latency{latency, jitter}  bandwidth{rate KB/s}  noop\n"
    "                slow_close{delay}  timeout{timeout}  reset_peer{timeout}\n"
    "                slicer{average_size, size_variation, delay us}\n"
    "                limit_data{bytes, action fin|rst}\n"
    "                packet_loss{loss_rate, correlation}\n"
    "  idle_timeout      {timeout, action fin|rst|silent, half_closed_timeout}\n"
    "                    close, reset or silently drop a connection idle both ways\n"
    "  conntrack_expiry  {timeout, then blackhole|rst_on_next}\n"
    "                    a forgotten NAT/firewall flow\n"
    "  max_lifetime      {timeout, action fin|rst, jitter}\n"
    "                    close at an age, busy or not\n"
    "  reset             {timeout, after_bytes}\n"
    "                    RST both sides at a time or byte count\n"
    "  blackhole         {stop_reading}  drop data one way, never close\n"
    "  max_connections   {limit, action queue|rst|fin|refuse}  a connection cap\n"
    "  accept            {action rst|fin|hang, delay}  what new connections get\n"
    "  upstream_down     {action fin|rst|refuse}\n"
    "                    what a client sees when the dial fails\n"
    "  connect_delay     {delay}  delay the upstream dial\n"
    "\n",
    "DUR is 250ms, 5s, 2m or 1h. LOG_LEVEL is accepted and ignored: the proxy does\n"
    "not log.\n"
    "Exit status: 0 after SIGINT/SIGTERM, 1 when a listener cannot start (address in\n"
    "use), 2 for a bad flag, value, -config file or toxic.\n",
    "\n"
    "EXAMPLES\n"
    "  tether proxy                      # Toxiproxy's API on 127.0.0.1:8474\n"
    "  tether proxy --listen :0 --upstream 127.0.0.1:8080 --preset aws-alb \\\n"
    "      --scale 0.01\n"
    "  tether proxy --listen :6000 --upstream 127.0.0.1:5432 --no-api \\\n"
    "      --toxic latency:latency=100,jitter=20\n"
    "  tether proxy -config proxies.json -port 8474\n",
    NULL,
};
#pragma GCC diagnostic pop

#define PROXY_CMD "proxy"
/* A -config file larger than this is certainly not a list of proxies. */
#define PROXY_CONFIG_MAX (16u << 20)

struct proxy_flags {
    char host[256];
    uint16_t port;
    const char *config;
    bool has_seed;
    uint64_t seed;
    bool version;
    bool help;
    bool proxy_metrics;
    bool runtime_metrics;
    bool no_api;
    bool has_listen;
    bool has_upstream;
    struct args_hostport listen;
    struct args_hostport upstream;
    const char *preset; /* one of tether_proxy_preset_name's */
    double scale;
    bool scale_set;
    const char *name;
    uint64_t connect_timeout_ms;
    bool connect_timeout_set;
    json_t *toxics;        /* --toxic bodies, in order */
    json_t *preset_toxics; /* what --preset installed, printed once the listeners are up */
};

/* ---- flags ---- */

/* Go's flag package takes "-name" and "--name" alike; so do we, for every flag. */
static bool proxy_flag_is(struct args_cursor *c, const char *name)
{
    args_consider(c, name);
    const char *f = c->flag;
    if (!f || f[0] != '-') {
        return false;
    }
    f += f[1] == '-' ? 2 : 1;
    return strcmp(f, name) == 0;
}

/* A Go boolean flag: "-v" is true, "-v=false" is false (strconv.ParseBool's spellings). */
static int proxy_take_bool(struct args_cursor *c, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    if (!c->inline_val) {
        *out = true;
        return 0;
    }
    c->value = c->inline_val;
    for (int i = 0; yes[i]; i++) {
        if (strcmp(c->inline_val, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(c->inline_val, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return args_bad_value(c, "boolean", " (expected true or false)");
}

/* Go's Int64Var (strconv.ParseInt base 0): "42", "-7", "0x2a". */
static int proxy_take_seed(struct args_cursor *c, struct proxy_flags *f)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    const char *digits = v + (v[0] == '-' || v[0] == '+');
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 0);
    if (*digits < '0' || *digits > '9' || *end != '\0' || errno != 0) {
        return args_bad_value(c, "seed", " (expected a 64-bit integer)");
    }
    f->seed = (uint64_t)n;
    f->has_seed = true;
    return 0;
}

static int proxy_take_host(struct args_cursor *c, struct proxy_flags *f)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    size_t len = strlen(v);
    if (len >= 2 && v[0] == '[' && v[len - 1] == ']') {
        v++; /* "[::1]": Go's JoinHostPort adds the brackets itself */
        len -= 2;
    }
    if (len == 0) {
        /* Go listens on every address for "-host=" (":8474"). */
        v = "0.0.0.0";
        len = strlen(v);
    }
    if (len >= sizeof(f->host)) {
        return args_bad_value(c, "host", " (too long)");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '/' || ch == '[' || ch == ']') {
            return args_bad_value(c, "host", " (expected an IP address or localhost)");
        }
    }
    memcpy(f->host, v, len);
    f->host[len] = '\0';
    return 0;
}

static bool proxy_name_ok(const char *name)
{
    if (!*name) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!proxy_name_char(*p)) {
            return false;
        }
    }
    return true;
}

/* The library's preset called `name`, or NULL. */
static const char *proxy_preset_find(const char *name)
{
    for (size_t i = 0; tether_proxy_preset_name(i); i++) {
        if (strcmp(tether_proxy_preset_name(i), name) == 0) {
            return tether_proxy_preset_name(i);
        }
    }
    return NULL;
}

/* Writes "aws-alb, aws-nlb, ..." into buf (always NUL-terminated). */
static void proxy_preset_list(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; tether_proxy_preset_name(i); i++) {
        const char *name = tether_proxy_preset_name(i);
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", name);
        if (n < 0 || (size_t)n >= len - used) {
            return; /* truncated: snprintf kept it terminated */
        }
        used += (size_t)n;
    }
}

static int proxy_take_toxic(struct args_cursor *c, struct proxy_flags *f)
{
    const char *v = NULL;
    int rc = args_take_string(c, &v);
    if (rc != 0) {
        return rc;
    }
    char why[96];
    json_t *toxic = proxy_toxic_parse(v, why, sizeof(why));
    if (!toxic) {
        char hint[160];
        (void)snprintf(hint, sizeof(hint), " (%s; the form is TYPE or TYPE:key=value,...)", why);
        return args_bad_value(c, "toxic", hint);
    }
    if (json_array_append_new(f->toxics, toxic) != 0) {
        return args_error(PROXY_CMD, "out of memory");
    }
    return 0;
}

/* Returns 0, or the exit code of a usage error (already printed). */
static int proxy_parse_flag(struct args_cursor *c, struct proxy_flags *f)
{
    uint64_t v = 0;
    int rc;
    if (proxy_flag_is(c, "h") || proxy_flag_is(c, "help")) {
        return proxy_take_bool(c, &f->help);
    }
    if (proxy_flag_is(c, "version")) {
        return proxy_take_bool(c, &f->version);
    }
    if (proxy_flag_is(c, "proxy-metrics")) {
        return proxy_take_bool(c, &f->proxy_metrics);
    }
    if (proxy_flag_is(c, "runtime-metrics")) {
        return proxy_take_bool(c, &f->runtime_metrics);
    }
    if (proxy_flag_is(c, "no-api")) {
        return proxy_take_bool(c, &f->no_api);
    }
    if (proxy_flag_is(c, "host")) {
        return proxy_take_host(c, f);
    }
    if (proxy_flag_is(c, "port")) {
        rc = args_take_uint(c, 0, 65535, &v);
        f->port = (uint16_t)v;
        return rc;
    }
    if (proxy_flag_is(c, "config")) {
        if ((rc = args_take_string(c, &f->config)) == 0 && !*f->config) {
            return args_bad_value(c, "file", " (expected a path)");
        }
        return rc;
    }
    if (proxy_flag_is(c, "seed")) {
        return proxy_take_seed(c, f);
    }
    if (proxy_flag_is(c, "listen")) {
        f->has_listen = true;
        return args_take_hostport(c, "127.0.0.1", &f->listen);
    }
    if (proxy_flag_is(c, "upstream")) {
        f->has_upstream = true;
        return args_take_hostport(c, "127.0.0.1", &f->upstream);
    }
    if (proxy_flag_is(c, "name")) {
        if ((rc = args_take_string(c, &f->name)) == 0 && !proxy_name_ok(f->name)) {
            return args_bad_value(c, "name", " (letters, digits, '_', '-' and '.')");
        }
        return rc;
    }
    if (proxy_flag_is(c, "preset")) {
        const char *name = NULL;
        if ((rc = args_take_string(c, &name)) != 0) {
            return rc;
        }
        f->preset = proxy_preset_find(name);
        if (!f->preset) {
            char list[200];
            char hint[240];
            proxy_preset_list(list, sizeof(list));
            (void)snprintf(hint, sizeof(hint), " (valid presets: %s)", list);
            return args_bad_value(c, "preset", hint);
        }
        return 0;
    }
    if (proxy_flag_is(c, "scale")) {
        const char *text = NULL;
        if ((rc = args_take_string(c, &text)) != 0) {
            return rc;
        }
        if (proxy_parse_scale(text, &f->scale) != 0) {
            return args_bad_value(c, "scale", " (expected a number above 0, at most 1000)");
        }
        f->scale_set = true;
        return 0;
    }
    if (proxy_flag_is(c, "toxic")) {
        return proxy_take_toxic(c, f);
    }
    if (proxy_flag_is(c, "connect-timeout")) {
        if ((rc = args_take_duration(c, &f->connect_timeout_ms)) == 0 &&
            f->connect_timeout_ms == 0) {
            return args_bad_value(c, "duration", " (expected more than 0)");
        }
        f->connect_timeout_set = true;
        return rc;
    }
    return args_unknown(c);
}

static int proxy_parse(int argc, char **argv, struct proxy_flags *f)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->host, "localhost", sizeof("localhost"));
    f->port = 8474;
    f->scale = 1.0;
    f->toxics = json_array();
    if (!f->toxics) {
        return args_error(PROXY_CMD, "out of memory");
    }
    struct args_cursor c;
    args_init(&c, PROXY_CMD, argc, argv);
    while (args_next(&c)) {
        if (args_positional(&c)) {
            return args_unknown(&c);
        }
        int rc = proxy_parse_flag(&c, f);
        if (rc != 0) {
            return rc;
        }
    }
    if (f->help || f->version) {
        return 0;
    }
    if (f->has_listen != f->has_upstream) {
        return args_error(PROXY_CMD, "%s",
                          f->has_listen ? "--listen needs --upstream HOST:PORT too"
                                        : "--upstream needs --listen HOST:PORT too");
    }
    if (!f->has_listen) {
        const char *lonely = f->preset                    ? "--preset"
                             : f->scale_set               ? "--scale"
                             : json_array_size(f->toxics) ? "--toxic"
                             : f->name                    ? "--name"
                             : f->no_api                  ? "--no-api"
                                                          : NULL;
        if (lonely) {
            return args_error(PROXY_CMD, "%s needs --listen and --upstream", lonely);
        }
    }
    if (f->no_api && (f->proxy_metrics || f->runtime_metrics)) {
        /* /metrics is an API route: metrics without the API would be silently lost. */
        return args_error(PROXY_CMD, "%s is served on the API: drop --no-api",
                          f->proxy_metrics ? "-proxy-metrics" : "-runtime-metrics");
    }
    if (f->scale_set && !f->preset) {
        return args_error(PROXY_CMD, "--scale needs --preset (it scales the preset's times)");
    }
    return 0;
}

/* ---- API calls ---- */

/* Copies an API error text for a one-line message: control characters become '?'. */
static void proxy_clean_text(const char *src, size_t len, char *dst, size_t dst_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < dst_len; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[n] = '\0';
}

/*
 * One in-process API request. Returns the HTTP status (or 0 when the call itself failed), puts
 * the decoded JSON body in *json when asked (caller owns; NULL if none or not JSON) and the
 * error text of a failed call in `err` ("error" of the JSON body, else the raw body).
 */
static int proxy_api(tether_proxy_server *ps, const char *method, const char *path,
                     const char *body, size_t body_len, json_t **json, char *err, size_t err_len)
{
    int status = 0;
    char *resp = NULL;
    size_t resp_len = 0;
    if (json) {
        *json = NULL;
    }
    err[0] = '\0';
    int rv = tether_proxy_server_call(ps, method, path, body, body_len, &status, &resp, &resp_len);
    if (rv != 0) {
        (void)snprintf(err, err_len, "%s", tether_strerror(rv));
        return 0;
    }
    json_t *doc = resp ? json_loadb(resp, resp_len, 0, NULL) : NULL;
    if (status < 200 || status > 299) {
        json_t *e = json_is_object(doc) ? json_object_get(doc, "error") : NULL;
        if (json_is_string(e)) {
            proxy_clean_text(json_string_value(e), json_string_length(e), err, err_len);
        } else if (resp && resp_len) {
            proxy_clean_text(resp, resp_len, err, err_len);
        } else {
            (void)snprintf(err, err_len, "HTTP %d", status);
        }
    }
    if (json) {
        *json = doc;
    } else {
        json_decref(doc);
    }
    tether_free(resp);
    return status;
}

/* Reads the whole -config file; the caller frees *out. Returns 0 or 2 (printed). */
static int proxy_read_file(const char *path, char **out, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    int r = fp ? args_read_all(fp, PROXY_CONFIG_MAX, out, out_len) : -1;
    int e = errno;
    if (fp) {
        (void)fclose(fp);
    }
    if (r == -2) {
        return args_error(PROXY_CMD, "cannot read -config '%s': larger than 16 MiB", path);
    }
    if (r != 0) {
        return args_error(PROXY_CMD, "cannot read -config '%s': %s", path,
                          e == ENOMEM ? "out of memory" : uv_strerror(uv_translate_sys_error(e)));
    }
    return 0;
}

static int proxy_load_config(tether_proxy_server *ps, const char *path)
{
    char *body = NULL;
    size_t len = 0;
    int rc = proxy_read_file(path, &body, &len);
    if (rc != 0) {
        return rc;
    }
    char err[512];
    int status = proxy_api(ps, "POST", "/populate", body, len, NULL, err, sizeof(err));
    free(body);
    if (status < 200 || status > 299) {
        return args_error(PROXY_CMD, "cannot load -config '%s': %s", path, err);
    }
    return 0;
}

/* "host:port" for JSON, brackets around IPv6 literals. */
static void proxy_addr_text(const struct args_hostport *a, char *buf, size_t len)
{
    (void)snprintf(buf, len, "%s%s%s:%u", a->ipv6 ? "[" : "", a->host, a->ipv6 ? "]" : "",
                   (unsigned)a->port);
}

/* Exit code for an API failure creating what the command line asked for: the request was
 * ours to get right (4xx, exit 2) or the system refused (5xx: bind errors, exit 1). */
static int proxy_status_exit(int status)
{
    return status >= 400 && status < 500 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}

/* Creates the --listen proxy and its toxics; prints the "listening on tcp://" line. */
static int proxy_create_cli_proxy(tether_proxy_server *ps, struct proxy_flags *f)
{
    const char *name = f->name ? f->name : (f->preset ? f->preset : "proxy");
    char listen[300];
    char upstream[300];
    char err[512];
    char path[300];
    int plen = snprintf(path, sizeof(path), "/proxies/%s/toxics", name);
    if (plen < 0 || (size_t)plen >= sizeof(path)) {
        /* A cut path would address the proxy itself: its toxics would silently not be added.
         * Checked before anything is created, so a refusal leaves nothing behind. */
        return args_error(PROXY_CMD, "invalid --name '%.40s...': at most %zu characters", name,
                          sizeof(path) - sizeof("/proxies//toxics"));
    }
    proxy_addr_text(&f->listen, listen, sizeof(listen));
    proxy_addr_text(&f->upstream, upstream, sizeof(upstream));

    /* A plain POST /proxies, the preset's toxics, then one POST per --toxic: Toxiproxy's own
     * calls. The loop has not run yet, so no connection can be accepted before the toxics are
     * in place. */
    json_t *req = json_pack("{s:s, s:s, s:s, s:b}", "name", name, "listen", listen, "upstream",
                            upstream, "enabled", 1);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        fputs("tether proxy: out of memory\n", stderr);
        return CLI_EXIT_FAILED;
    }
    json_t *created = NULL;
    int status = proxy_api(ps, "POST", "/proxies", body, strlen(body), &created, err, sizeof(err));
    free(body);
    if (status < 200 || status > 299) {
        json_decref(created);
        fprintf(stderr, "tether proxy: cannot create proxy '%s' (--listen %s --upstream %s): %s\n",
                name, listen, upstream, err);
        return status ? proxy_status_exit(status) : CLI_EXIT_FAILED;
    }

    if (f->preset) {
        char why[512];
        int rv = tether_proxy_server_apply_preset(ps, name, f->preset, f->scale, why, sizeof(why));
        if (rv != 0) {
            fprintf(stderr, "tether proxy: %s\n", why[0] ? why : tether_strerror(rv));
            json_decref(created);
            return rv == TETHER_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        }
        /* Read back before any --toxic joins them: these are exactly the preset's. */
        (void)proxy_api(ps, "GET", path, NULL, 0, &f->preset_toxics, err, sizeof(err));
    }

    size_t i;
    json_t *toxic;
    json_array_foreach(f->toxics, i, toxic)
    {
        body = json_dumps(toxic, JSON_COMPACT);
        status = body ? proxy_api(ps, "POST", path, body, strlen(body), NULL, err, sizeof(err)) : 0;
        free(body);
        if (status < 200 || status > 299) {
            const char *type = json_string_value(json_object_get(toxic, "type"));
            fprintf(stderr, "tether proxy: cannot add toxic '%s' to proxy '%s': %s\n",
                    type ? type : "?", name, status ? err : "out of memory");
            json_decref(created);
            return status ? proxy_status_exit(status) : CLI_EXIT_FAILED;
        }
    }

    /* The address actually bound ("127.0.0.1:0" comes back with its port), else ours. */
    const char *bound = json_string_value(json_object_get(created, "listen"));
    const char *colon = bound ? strrchr(bound, ':') : NULL;
    uint16_t port = 0;
    if (colon && colon[1] && strcmp(colon, ":0") != 0) {
        printf("listening on tcp://%s\n", bound);
    } else if (tether_proxy_server_proxy_port(ps, name, &port) == 0) {
        cli_print_listening(stdout, "tcp", &f->listen, (unsigned)port);
    } else {
        printf("listening on tcp://%s\n", listen);
    }
    json_decref(created);
    return 0;
}

/* ---- running ---- */

/* The first signal closes every proxy and the API; the loop then runs out. */
static void proxy_on_signal(void *data)
{
    tether_proxy_server_close(data, NULL, NULL);
}

/* Start-up failed after the server existed: release it and return `rc`. */
static int proxy_abort(uv_loop_t *loop, tether_proxy_server *ps, int rc)
{
    tether_proxy_server_close(ps, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    (void)cli_loop_close(loop);
    return rc;
}

static void proxy_print_api_line(const struct proxy_flags *f, uint16_t port)
{
    /* localhost is bound on 127.0.0.1 and ::1; print the address every client can use. */
    const char *host = strcmp(f->host, "localhost") == 0 ? "127.0.0.1" : f->host;
    bool v6 = strchr(host, ':') != NULL;
    printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port);
}

/* "preset aws-alb x0.01: idle_timeout_downstream idle_timeout {"timeout":600,...}", a line
 * per toxic, after the listening lines: what the scaled preset really does, so a test's
 * timing can be checked against it without reading the catalogue. */
static void proxy_print_preset(const struct proxy_flags *f)
{
    size_t i;
    json_t *t;
    json_array_foreach(f->preset_toxics, i, t)
    {
        char *attrs = json_dumps(json_object_get(t, "attributes"), JSON_COMPACT);
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *type = json_string_value(json_object_get(t, "type"));
        printf("preset %s x%g: %s %s %s\n", f->preset, f->scale, name ? name : "?",
               type ? type : "?", attrs ? attrs : "{}");
        free(attrs);
    }
}

static int proxy_run(struct proxy_flags *f)
{
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.proxy_metrics = f->proxy_metrics;
    o.runtime_metrics = f->runtime_metrics;
    o.api_host = f->no_api ? NULL : f->host;
    o.api_port = f->port;
    o.has_seed = f->has_seed;
    o.seed = f->seed;
    if (f->connect_timeout_set) {
        o.connect_timeout_ms = f->connect_timeout_ms;
    }

    uv_loop_t *loop = uv_default_loop();
    tether_proxy_server *ps = NULL;
    int rv = tether_proxy_server_new(loop, &o, &ps);
    if (rv != 0) {
        bool v6 = strchr(f->host, ':') != NULL;
        if (rv == TETHER_EINVAL) {
            args_error(PROXY_CMD,
                       "invalid address '%s' for -host (expected an IP address or "
                       "localhost)",
                       f->host);
        } else {
            fprintf(stderr, "tether proxy: cannot listen on %s%s%s:%u: %s%s\n", v6 ? "[" : "",
                    f->host, v6 ? "]" : "", (unsigned)f->port, tether_strerror(rv),
                    rv == TETHER_EADDRINUSE ? " (another Toxiproxy? try -port 0)" : "");
        }
        uv_run(loop, UV_RUN_DEFAULT); /* lets a half-built server release its handles */
        (void)cli_loop_close(loop);
        return rv == TETHER_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }

    int rc;
    if (f->config && (rc = proxy_load_config(ps, f->config)) != 0) {
        return proxy_abort(loop, ps, rc);
    }
    if (f->has_listen && (rc = proxy_create_cli_proxy(ps, f)) != 0) {
        return proxy_abort(loop, ps, rc);
    }
    if (!f->no_api) {
        proxy_print_api_line(f, tether_proxy_server_api_port(ps));
    }
    proxy_print_preset(f);
    (void)fflush(stdout);

    const struct cli_stop stop = {PROXY_CMD, "exiting without waiting", proxy_on_signal, ps};
    cli_loop_run(loop, &stop);
    (void)cli_loop_close(loop);
    return CLI_EXIT_OK;
}

int cmd_proxy(int argc, char **argv)
{
    struct proxy_flags f;
    int rc = proxy_parse(argc, argv, &f);
    if (rc == 0 && f.help) {
        cli_print_usage(cmd_proxy_usage);
    } else if (rc == 0 && f.version) {
        printf("toxiproxy-server version %s (tether %s)\n", TETHER_PROXY_TOXIPROXY_VERSION,
               tether_version());
    } else if (rc == 0) {
        rc = proxy_run(&f);
    }
    json_decref(f.toxics);
    json_decref(f.preset_toxics);
    return rc;
}
