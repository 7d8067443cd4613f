/* SPDX-License-Identifier: MIT */
/* `tether explain`: an error text in, the error recognised, its phase, side, ranked causes with
 * fixes, retry safety and the tether command that confirms it out (library: tether/explain.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "tether/tether.h"

#include "args.h"
#include "cli.h"
#include "cli_json.h"
#include "commands.h"

#define EXPLAIN_CMD "explain"
/* A pasted log is small; this only stops `tether explain - < /dev/zero` from eating memory. */
#define EXPLAIN_MAX_INPUT (4u * 1024 * 1024)

const char cmd_explain_summary[] =
    "explain an error text: phase, side, causes, fixes, retry safety";

const char *const cmd_explain_usage[] = {
    "Usage: tether explain [--json] TEXT...\n"
    "       tether explain [--json] -        (read the text from standard input)\n"
    "\n",
    "Recognises connection errors in TEXT: one message, a stack trace or a log\n"
    "excerpt, with several errors explained one by one. For each it prints the\n"
    "ecosystem and error, the phase of the connection it died in (dns, connect, tls,\n"
    "send, wait, headers, body, idle, downstream, upstream-*), which side acted, the\n"
    "likely causes C1..C16 ranked with their fixes, whether a retry is safe, and a\n"
    "tether command that confirms the cause.\n"
    "\n",
    "Known: Node.js, undici/fetch, axios, got, curl, Python (requests, urllib3,\n"
    "aiohttp, httpx), Go net/http, JVM (JDK, OkHttp, Apache HttpClient, Reactor\n"
    "Netty, pgJDBC), .NET, Rust hyper, Elixir Mint, libpq, node-postgres, MySQL,\n"
    "nginx error logs, AWS ALB access logs, GCP LB, Cloudflare, Envoy/Istio, HAProxy\n"
    "termination states. Matching ignores case, timestamps, addresses and stack\n"
    "frames, and knows the wordings of older and newer versions. Options come first:\n"
    "from the first word on, everything is text (several words are joined with\n"
    "spaces, so quoting is optional). Without TEXT and with standard input not a\n"
    "terminal, the text is read from standard input.\n"
    "\n",
    "Options:\n"
    "  --json      print JSON: {\"recognized\":true,\"ecosystem\",\"error\",\"phase\",\"side\",\n"
    "              \"causes\":[{\"code\",\"title\",\"why\",\"fix\"}],\n"
    "              \"retry_safe\":\"yes|no|depends\",\n"
    "              \"confirm\",...}; an array of those when several errors were found;\n"
    "              for an unrecognised text\n"
    "              {\"recognized\":false,\"errno\",\"causes\",\"advice\"}\n"
    "  -h, --help  print this text\n"
    "\n",
    "Exit status: 0 when at least one error was recognised, 1 when none was (the\n"
    "generic advice for an errno the text names is still printed), 2 for a bad flag\n"
    "or no text.\n",
    "\n"
    "EXAMPLES\n"
    "  tether explain 'Error: socket hang up'\n"
    "  tether explain read ECONNRESET\n"
    "  kubectl logs my-pod | tether explain -\n"
    "  tether explain --json 'curl: (56) Recv failure: Connection reset by peer'\n",
    NULL,
};

struct explain_opts {
    bool json;
    bool help;
    bool from_stdin;
    char *text; /* joined arguments, owned */
    size_t len;
};

static const char *explain_phase_meaning(const char *phase)
{
    static const char *const meanings[][2] = {
        {"dns", "name resolution"},
        {"connect", "TCP handshake"},
        {"tls", "TLS handshake"},
        {"send", "writing the request"},
        {"wait", "request written, no response byte yet"},
        {"headers", "reading the response headers"},
        {"body", "reading the response body"},
        {"idle", "connection parked in a pool, no request on it"},
        {"downstream", "the client's side of a proxy"},
        {"upstream-connect", "the proxy connecting to its backend"},
        {"upstream-tls", "the proxy's TLS handshake with its backend"},
        {"upstream-send", "the proxy sending the request to its backend"},
        {"upstream-wait", "the proxy waiting for its backend's response"},
        {"upstream-headers", "the proxy reading its backend's headers"},
        {"upstream-body", "the proxy reading its backend's body"},
    };
    for (size_t i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++) {
        if (strcmp(meanings[i][0], phase) == 0) {
            return meanings[i][1];
        }
    }
    return "not told by this message";
}

static const char *explain_side_meaning(enum tether_explain_side side)
{
    switch (side) {
    case TETHER_EXPLAIN_SIDE_REMOTE:
        return "the peer (server, proxy or middlebox) ended the connection";
    case TETHER_EXPLAIN_SIDE_LOCAL:
        return "this side gave up (its own timeout, abort or close)";
    case TETHER_EXPLAIN_SIDE_UNKNOWN:
    default:
        return "not told by this message";
    }
}

static int explain_join(int first, int argc, char **argv, struct explain_opts *o)
{
    size_t len = 0;
    for (int i = first; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    o->text = malloc(len + 1);
    if (!o->text) {
        fprintf(stderr, "tether explain: out of memory\n");
        return CLI_EXIT_FAILED;
    }
    size_t pos = 0;
    for (int i = first; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (pos > 0) {
            o->text[pos++] = ' ';
        }
        memcpy(o->text + pos, argv[i], n);
        pos += n;
    }
    o->text[pos] = '\0';
    o->len = pos;
    return 0;
}

static int explain_parse(int argc, char **argv, struct explain_opts *o)
{
    memset(o, 0, sizeof(*o));
    struct args_cursor c;
    args_init(&c, EXPLAIN_CMD, argc, argv);
    int first_text = -1;
    while (args_next(&c)) {
        int rc;
        if (args_positional(&c)) {
            first_text = c.next - 1;
            break;
        }
        if (args_is(&c, "-h") || args_is(&c, "--help")) {
            o->help = true;
            rc = args_take_none(&c);
        } else if (args_is(&c, "--json")) {
            o->json = true;
            rc = args_take_none(&c);
        } else {
            rc = args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (o->help) {
        return 0;
    }
    if (first_text < 0) {
        if (isatty(STDIN_FILENO)) {
            return args_error(EXPLAIN_CMD, "expects an error text: tether explain 'TEXT', or "
                                           "'-' to read it from standard input");
        }
        o->from_stdin = true;
        return 0;
    }
    if (strcmp(argv[first_text], "-") == 0) {
        if (first_text + 1 < argc) {
            return args_error(EXPLAIN_CMD,
                              "unexpected argument '%s' after '-' (the text comes from "
                              "standard input)",
                              argv[first_text + 1]);
        }
        o->from_stdin = true;
        return 0;
    }
    return explain_join(first_text, argc, argv, o);
}

static int explain_read_stdin(struct explain_opts *o)
{
    int r = args_read_all(stdin, EXPLAIN_MAX_INPUT, &o->text, &o->len);
    if (r == -2) {
        return args_error(EXPLAIN_CMD,
                          "standard input is larger than %u MiB; paste the lines "
                          "around the error",
                          EXPLAIN_MAX_INPUT / (1024 * 1024));
    }
    if (r != 0) {
        int e = errno;
        fprintf(stderr, "tether explain: cannot read standard input: %s\n",
                e ? uv_strerror(uv_translate_sys_error(e)) : "read error");
        return CLI_EXIT_FAILED;
    }
    return 0;
}

/* The matched text as printable ASCII, for the "found" line and "match". */
static void explain_excerpt(const struct explain_opts *o, const struct tether_explain_match *m,
                            char *buf, size_t len)
{
    buf[0] = '\0';
    if (!o->text) {
        return;
    }
    size_t n = m->length < len - 1 ? m->length : len - 1;
    char raw[256];
    if (n > sizeof(raw) - 1) {
        n = sizeof(raw) - 1;
    }
    memcpy(raw, o->text + m->offset, n);
    raw[n] = '\0';
    cli_json_ascii(raw, buf, len);
}

/* Report lines wrap at this width, continuation lines indented under the value. */
#define EXPLAIN_WIDTH 100

/* Prints `lead` then `text` word-wrapped at EXPLAIN_WIDTH, continuation lines indented by
 * `indent` spaces. */
static void explain_wrap(const char *lead, const char *text, size_t indent)
{
    size_t col = strlen(lead);
    fputs(lead, stdout);
    const char *p = text;
    bool first = true;
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        size_t w = strcspn(p, " ");
        if (w == 0) {
            break;
        }
        if (!first && col + 1 + w > EXPLAIN_WIDTH) {
            printf("\n%*s", (int)indent, "");
            col = indent;
        } else if (!first) {
            putchar(' ');
            col++;
        }
        (void)fwrite(p, 1, w, stdout); /* a failed write shows in main()'s final check */
        col += w;
        p += w;
        first = false;
    }
    putchar('\n');
}

/* A "  label    value" line of the report. */
static void explain_field(const char *label, const char *value)
{
    char lead[32];
    (void)snprintf(lead, sizeof(lead), "  %-9s", label);
    explain_wrap(lead, value, 11);
}

static void explain_print_causes(const unsigned char *causes)
{
    for (size_t i = 0; i < TETHER_EXPLAIN_MAX_CAUSES && causes[i]; i++) {
        const struct tether_explain_cause *c = tether_explain_cause(causes[i]);
        if (!c) {
            continue;
        }
        printf("  %-9s%-4s %s\n", i == 0 ? "causes" : "", c->code, c->title);
        explain_wrap("                fix: ", c->fix, 16);
    }
}

static void explain_print_human(const struct explain_opts *o, const struct tether_explanation *x)
{
    for (size_t i = 0; i < x->count; i++) {
        const struct tether_explain_match *m = &x->matches[i];
        const struct tether_explain_entry *e = m->entry;
        char found[160];
        explain_excerpt(o, m, found, sizeof(found));
        if (i > 0) {
            putchar('\n');
        }
        printf("%s: %s\n", e->ecosystem, e->error);
        printf("  %-9s\"%s\" (line %zu)\n", "found", found, m->line);
        explain_field("meaning", e->note);
        printf("  %-9s%s: %s\n", "phase", e->phase, explain_phase_meaning(e->phase));
        printf("  %-9s%s: %s\n", "side", tether_explain_side_name(e->side),
               explain_side_meaning(e->side));
        explain_print_causes(e->causes);
        char retry[512];
        (void)snprintf(retry, sizeof(retry), "%s: %s", tether_explain_retry_name(e->retry_safe),
                       e->retry_note);
        explain_field("retry", retry);
        printf("  %-9s%s\n", "confirm", e->confirm);
        explain_field("source", e->source);
    }
}

static json_t *explain_json_causes(const unsigned char *causes)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < TETHER_EXPLAIN_MAX_CAUSES && causes[i]; i++) {
        const struct tether_explain_cause *c = tether_explain_cause(causes[i]);
        if (c &&
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "code", c->code, "title",
                                                 c->title, "why", c->why, "fix", c->fix)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *explain_json_match(const struct explain_opts *o,
                                  const struct tether_explain_match *m)
{
    const struct tether_explain_entry *e = m->entry;
    char found[512];
    explain_excerpt(o, m, found, sizeof(found));
    return json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:o*,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "recognized", 1,
                     "id", e->id, "ecosystem", e->ecosystem, "error", e->error, "phase", e->phase,
                     "side", tether_explain_side_name(e->side), "causes",
                     explain_json_causes(e->causes), "retry_safe",
                     tether_explain_retry_name(e->retry_safe), "retry_note", e->retry_note,
                     "confirm", e->confirm, "note", e->note, "source", e->source, "line",
                     (json_int_t)m->line, "match", found);
}

static int explain_print_json(const struct explain_opts *o, const struct tether_explanation *x)
{
    json_t *doc = NULL;
    if (x->count == 1) {
        doc = explain_json_match(o, &x->matches[0]);
    } else if (x->count > 1) {
        doc = json_array();
        for (size_t i = 0; doc && i < x->count; i++) {
            if (json_array_append_new(doc, explain_json_match(o, &x->matches[i])) != 0) {
                json_decref(doc);
                doc = NULL;
            }
        }
    } else if (x->errno_hint) {
        const struct tether_explain_errno *h = x->errno_hint;
        doc = json_pack("{s:b,s:s,s:s,s:s,s:o*,s:s}", "recognized", 0, "errno", h->name, "phase",
                        h->phase, "side", tether_explain_side_name(h->side), "causes",
                        explain_json_causes(h->causes), "advice", h->advice);
    } else {
        doc = json_pack("{s:b,s:n,s:[]}", "recognized", 0, "errno", "causes");
    }
    if (!doc) {
        fprintf(stderr, "tether explain: out of memory\n");
        return -1;
    }
    return cli_json_print(doc);
}

static void explain_print_unrecognised(const struct tether_explanation *x)
{
    fprintf(stderr, "tether explain: no known error message in the text\n");
    const struct tether_explain_errno *h = x->errno_hint;
    if (!h) {
        return;
    }
    printf("%s (generic advice: the message around it is not in the catalogue)\n", h->name);
    explain_field("advice", h->advice);
    printf("  %-9s%s: %s\n", "phase", h->phase, explain_phase_meaning(h->phase));
    printf("  %-9s%s: %s\n", "side", tether_explain_side_name(h->side),
           explain_side_meaning(h->side));
    explain_print_causes(h->causes);
}

int cmd_explain(int argc, char **argv)
{
    struct explain_opts o;
    int rc = explain_parse(argc, argv, &o);
    if (rc != 0) {
        free(o.text);
        return rc;
    }
    if (o.help) {
        free(o.text);
        cli_print_usage(cmd_explain_usage);
        return CLI_EXIT_OK;
    }
    if (o.from_stdin && (rc = explain_read_stdin(&o)) != 0) {
        return rc;
    }
    struct tether_explanation *x = NULL;
    int err = tether_explain(o.text, o.len, &x);
    if (err != TETHER_OK) {
        fprintf(stderr, "tether explain: %s\n", tether_strerror(err));
        free(o.text);
        return CLI_EXIT_FAILED;
    }
    rc = x->count > 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
    if (o.json) {
        if (explain_print_json(&o, x) != 0) {
            rc = CLI_EXIT_FAILED;
        }
    } else if (x->count > 0) {
        explain_print_human(&o, x);
    } else {
        explain_print_unrecognised(x);
    }
    tether_explanation_free(x);
    free(o.text);
    return rc;
}
