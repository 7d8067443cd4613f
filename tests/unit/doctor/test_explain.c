/* SPDX-License-Identifier: MIT */
/* tether_explain: every catalogue row recognised from the anchors' own sample texts, a well
 * formed catalogue, realistic multi-line pastes (stack traces, tracebacks, proxy and LB logs),
 * several errors in one paste, and unrecognised text with and without an errno. */
#include <stdbool.h>

#include "test.h"

#include "test_explain_samples.h"

#define NSAMPLES (sizeof(explain_samples) / sizeof(explain_samples[0]))

static struct tether_explanation *explain(const char *text)
{
    struct tether_explanation *x = NULL;
    ASSERT_OK(tether_explain(text, strlen(text), &x));
    assert_non_null(x);
    return x;
}

/* The ids found in `text`, space-separated, e.g. "node-read-econnreset nginx-reset-header". */
static void found_ids(const char *text, char *buf, size_t len)
{
    struct tether_explanation *x = explain(text);
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < x->count; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", x->matches[i].entry->id);
        assert_true(n > 0 && (size_t)n < len - used);
        used += (size_t)n;
    }
    tether_explanation_free(x);
}

static void expect_ids(const char *text, const char *want)
{
    char got[1024];
    found_ids(text, got, sizeof(got));
    if (strcmp(got, want) != 0) {
        fail_msg("text:\n%s\nfound \"%s\", expected \"%s\"", text, got, want);
    }
}

static void test_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSAMPLES; i++) {
        const struct explain_sample *s = &explain_samples[i];
        struct tether_explanation *x = explain(s->text);
        if (x->count != 1) {
            char got[1024];
            found_ids(s->text, got, sizeof(got));
            fail_msg("\"%s\": %zu errors found (%s), expected %s", s->text, x->count, got, s->id);
        }
        const struct tether_explain_entry *e = x->matches[0].entry;
        if (strcmp(e->id, s->id) != 0 || strcmp(e->phase, s->phase) != 0 ||
            e->causes[0] != s->top) {
            fail_msg("\"%s\": %s (phase %s, C%u), expected %s (phase %s, C%u)", s->text, e->id,
                     e->phase, e->causes[0], s->id, s->phase, s->top);
        }
        /* The reported span is text that is really there, on the reported line. */
        const struct tether_explain_match *m = &x->matches[0];
        assert_true(m->length > 0 && m->offset + m->length <= strlen(s->text));
        assert_null(memchr(s->text + m->offset, '\n', m->length));
        size_t line = 1;
        for (size_t k = 0; k < m->offset; k++) {
            line += s->text[k] == '\n';
        }
        assert_int_equal(m->line, line);
        tether_explanation_free(x);
    }
}

/* A test per entry: every catalogue row has at least one sample above. */
static void test_every_entry_has_a_sample(void **state)
{
    (void)state;
    const struct tether_explain_entry *e;
    for (size_t i = 0; (e = tether_explain_catalog_entry(i)) != NULL; i++) {
        bool sampled = false;
        for (size_t k = 0; k < NSAMPLES && !sampled; k++) {
            sampled = strcmp(explain_samples[k].id, e->id) == 0;
        }
        if (!sampled) {
            fail_msg("catalogue entry %s has no sample text in test_explain_samples.h", e->id);
        }
    }
}

static void test_catalog_well_formed(void **state)
{
    (void)state;
    static const char *const phases[] = {
        "dns",
        "connect",
        "tls",
        "send",
        "wait",
        "headers",
        "body",
        "idle",
        "downstream",
        "unknown",
        "upstream-connect",
        "upstream-tls",
        "upstream-send",
        "upstream-wait",
        "upstream-headers",
        "upstream-body",
    };
    const struct tether_explain_entry *e;
    size_t n = 0;
    for (size_t i = 0; (e = tether_explain_catalog_entry(i)) != NULL; i++, n++) {
        for (size_t k = 0; k < i; k++) {
            if (strcmp(tether_explain_catalog_entry(k)->id, e->id) == 0) {
                fail_msg("duplicate id %s", e->id);
            }
        }
        bool known = false;
        for (size_t k = 0; k < sizeof(phases) / sizeof(phases[0]); k++) {
            known = known || strcmp(phases[k], e->phase) == 0;
        }
        if (!known) {
            fail_msg("%s: phase '%s' is not in the vocabulary", e->id, e->phase);
        }
        if (e->causes[0] == 0) {
            fail_msg("%s: no cause", e->id);
        }
        for (size_t k = 0; k < TETHER_EXPLAIN_MAX_CAUSES && e->causes[k]; k++) {
            assert_non_null(tether_explain_cause(e->causes[k]));
        }
        assert_true(e->ecosystem && e->ecosystem[0] && e->error && e->error[0]);
        assert_true(e->note && e->note[0] && e->retry_note && e->retry_note[0]);
        if (strncmp(e->source, "doctor.md §", strlen("doctor.md §")) != 0) {
            fail_msg("%s: source '%s' does not cite the doctor anchors", e->id, e->source);
        }
        if (strncmp(e->confirm, "tether ", 7) != 0) {
            fail_msg("%s: confirm '%s' is not a tether command", e->id, e->confirm);
        }
    }
    assert_true(n >= 136); /* the anchors list 136 strings/signals; rows split some of them */
    for (unsigned c = 1; c <= TETHER_EXPLAIN_NCAUSES; c++) {
        const struct tether_explain_cause *cause = tether_explain_cause(c);
        char code[8];
        (void)snprintf(code, sizeof(code), "C%u", c);
        assert_string_equal(cause->code, code);
        assert_true(cause->title[0] && cause->why[0] && cause->fix[0]);
    }
    assert_null(tether_explain_cause(0));
    assert_null(tether_explain_cause(TETHER_EXPLAIN_NCAUSES + 1));
    assert_string_equal(tether_explain_side_name(TETHER_EXPLAIN_SIDE_REMOTE), "remote");
    assert_string_equal(tether_explain_side_name(TETHER_EXPLAIN_SIDE_LOCAL), "local");
    assert_string_equal(tether_explain_retry_name(TETHER_EXPLAIN_RETRY_YES), "yes");
    assert_string_equal(tether_explain_retry_name(TETHER_EXPLAIN_RETRY_NO), "no");
    assert_string_equal(tether_explain_retry_name(TETHER_EXPLAIN_RETRY_DEPENDS), "depends");
}

static void test_case_and_line_endings(void **state)
{
    (void)state;
    expect_ids("ERROR: SOCKET HANG UP", "node-socket-hang-up");
    expect_ids("curl: (52) empty reply from server\r\n", "curl-empty-reply");
    expect_ids("first line\r\nError: read ECONNRESET\r\nlast", "node-read-econnreset");
    /* A fragment split across two lines is not a match. */
    expect_ids("socket hang\nup", "");
}

static void test_node_stack_trace(void **state)
{
    (void)state;
    expect_ids("2026-12-03T14:00:00.000Z ERROR request failed\n"
               "Error: read ECONNRESET\n"
               "    at TLSWrap.onStreamRead (node:internal/stream_base_commons:218:20)\n"
               "    at TLSSocket.socketErrorListener (node:_http_client:501:9)\n"
               "    at TLSSocket.emit (node:events:519:28) {\n"
               "  errno: -104,\n"
               "  code: 'ECONNRESET',\n"
               "  syscall: 'read'\n"
               "}\n",
               "node-read-econnreset");
    /* undici's wrapper gives way to its cause. */
    expect_ids("TypeError: fetch failed\n"
               "    at node:internal/deps/undici/undici:13502:13\n"
               "  [cause]: SocketError: other side closed\n"
               "      at TLSSocket.onHttpSocketEnd (node:internal/deps/undici/undici:8903:26) {\n"
               "    code: 'UND_ERR_SOCKET',\n"
               "    socket: { bytesWritten: 231, bytesRead: 0 }\n",
               "undici-other-side-closed");
}

static void test_python_traceback(void **state)
{
    (void)state;
    expect_ids("Traceback (most recent call last):\n"
               "  File \"/usr/lib/python3/site-packages/urllib3/connectionpool.py\", line 787, "
               "in urlopen\n"
               "    response = self._make_request(\n"
               "  File \"/usr/lib/python3.12/ssl.py\", line 1251, in recv_into\n"
               "ConnectionResetError: [Errno 104] Connection reset by peer\n"
               "\n"
               "During handling of the above exception, another exception occurred:\n"
               "\n"
               "urllib3.exceptions.ProtocolError: ('Connection aborted.', "
               "ConnectionResetError(104, 'Connection reset by peer'))\n"
               "\n"
               "During handling of the above exception, another exception occurred:\n"
               "\n"
               "Traceback (most recent call last):\n"
               "  File \"app.py\", line 12, in <module>\n"
               "requests.exceptions.ConnectionError: ('Connection aborted.', "
               "ConnectionResetError(104, 'Connection reset by peer'))\n",
               "requests-aborted-reset");
}

static void test_go_log_line(void **state)
{
    (void)state;
    expect_ids("2026/12/03 14:00:00 worker.go:42: fetch failed: Post "
               "\"https://api.example.com/v1/items\": read tcp 10.0.0.2:51234->10.0.0.9:443: "
               "read: connection reset by peer",
               "go-read-reset");
    expect_ids("time=2026-12-03T14:00:00Z level=ERROR msg=\"request\" err=\"Get "
               "\\\"http://svc:8080/\\\": context deadline exceeded (Client.Timeout exceeded "
               "while awaiting headers)\"",
               "go-client-timeout");
}

static void test_jvm_stack(void **state)
{
    (void)state;
    expect_ids("2026-12-03 14:00:00.000 ERROR 1 --- [nio-8080-exec-1] o.a.c.c.C.[.[.[/]: "
               "Servlet.service() threw exception\n"
               "org.springframework.web.reactive.function.client.WebClientRequestException: "
               "Connection prematurely closed BEFORE response\n"
               "\tat org.springframework.web.reactive.function.client.ExchangeFunctions\n"
               "Caused by: reactor.netty.http.client.PrematureCloseException: Connection "
               "prematurely closed BEFORE response\n",
               "netty-premature-before");
    expect_ids("java.net.SocketException: Connection reset\n"
               "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:318)\n"
               "\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)\n",
               "jdk-connection-reset");
}

static void test_proxy_logs(void **state)
{
    (void)state;
    expect_ids("2026/12/03 14:00:00 [error] 29#29: *8 upstream prematurely closed connection "
               "while reading response header from upstream, client: 10.0.0.1, server: "
               "example.com, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.2:8080/\", "
               "host: \"example.com\"",
               "nginx-premature-header");
    expect_ids(ALB_LOG("502", "-"), "alb-502-target-closed");
    /* A 502 the target produced itself is the application's, not the keep-alive race. */
    expect_ids(ALB_LOG("502", "502"), "");
    expect_ids(HAPROXY_LOG("SD--") "\n" HAPROXY_LOG("CD--"), "haproxy-SD haproxy-CD");
    /* Case matters in HAProxy's codes: sD is a timeout, SD an abort. */
    expect_ids(HAPROXY_LOG("sD--"), "haproxy-sD");
    /* The code alone, without the connection counters after it, is not a log line. */
    expect_ids("we saw SD-- in the logs yesterday", "");
}

static void test_several_errors(void **state)
{
    (void)state;
    const char *paste = "$ curl -sS http://10.0.0.2:8080/\n"
                        "curl: (52) Empty reply from server\n"
                        "$ node client.js\n"
                        "Error: socket hang up\n"
                        "Error: socket hang up\n"
                        "[error] recv() failed (104: Connection reset by peer) while reading "
                        "response header from upstream, client: 10.0.0.1\n";
    expect_ids(paste, "curl-empty-reply node-socket-hang-up nginx-reset-header");
    struct tether_explanation *x = explain(paste);
    assert_int_equal(x->count, 3);
    assert_int_equal(x->matches[0].line, 2);
    assert_int_equal(x->matches[1].line, 4); /* the repeat on line 5 is the same error */
    assert_int_equal(x->matches[2].line, 6);
    assert_null(x->errno_hint);
    tether_explanation_free(x);
    /* Two on one line come out in the order written. */
    expect_ids("retry 1: Error: read ECONNRESET; retry 2: curl: (7) Failed to connect to h port "
               "80 after 1 ms: Connection refused",
               "node-read-econnreset curl-connect-failed");
}

static void test_unrecognised(void **state)
{
    (void)state;
    struct tether_explanation *x = explain("everything is fine, 200 OK");
    assert_int_equal(x->count, 0);
    assert_null(x->matches);
    assert_null(x->errno_hint);
    tether_explanation_free(x);

    static const struct {
        const char *text;
        const char *errno_name;
    } hints[] = {
        {"worker 3 died: ECONNRESET", "ECONNRESET"},
        {"socket error: Connection reset by peer (os error 104)", "ECONNRESET"},
        {"WSAECONNRESET", "ECONNRESET"},
        {"An existing connection was forcibly closed by the remote host", "ECONNRESET"},
        {"sendmsg: Broken pipe", "EPIPE"},
        {"upload failed with EPIPE", "EPIPE"},
        {"dial: Connection refused", "ECONNREFUSED"},
        {"probe: operation timed out", "ETIMEDOUT"},
        {"ping: No route to host", "EHOSTUNREACH"},
        {"resolve: Temporary failure in name resolution", "ENOTFOUND"},
        {"first: nothing\nsecond: EPIPE then ECONNRESET", "EPIPE"},
    };
    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        x = explain(hints[i].text);
        if (x->count != 0 || !x->errno_hint ||
            strcmp(x->errno_hint->name, hints[i].errno_name) != 0) {
            fail_msg("\"%s\": count %zu, errno %s, expected 0 and %s", hints[i].text, x->count,
                     x->errno_hint ? x->errno_hint->name : "none", hints[i].errno_name);
        }
        assert_true(x->errno_hint->advice[0] != '\0' && x->errno_hint->causes[0] != 0);
        tether_explanation_free(x);
    }
}

static void test_api_edges(void **state)
{
    (void)state;
    struct tether_explanation *x = NULL;
    ASSERT_ERR(tether_explain("x", 1, NULL), TETHER_EINVAL);
    ASSERT_ERR(tether_explain(NULL, 1, &x), TETHER_EINVAL);
    ASSERT_OK(tether_explain(NULL, 0, &x));
    assert_int_equal(x->count, 0);
    tether_explanation_free(x);
    tether_explanation_free(NULL);
    /* Bytes that are not text, NULs included, are just not matches. */
    static const char junk[] = {'\0', '\xff', '\n', 'E', 'P', 'I', 'P', 'E', '\0', '\n'};
    ASSERT_OK(tether_explain(junk, sizeof(junk), &x));
    assert_int_equal(x->count, 0);
    assert_non_null(x->errno_hint);
    tether_explanation_free(x);
    /* Only len bytes are read: the match past it does not count. */
    ASSERT_OK(tether_explain("socket hang up", 6, &x));
    assert_int_equal(x->count, 0);
    tether_explanation_free(x);
    size_t n = 0;
    while (tether_explain_catalog_entry(n)) {
        n++;
    }
    assert_null(tether_explain_catalog_entry(n));
    assert_null(tether_explain_catalog_entry(SIZE_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_every_entry_has_a_sample),
        cmocka_unit_test(test_catalog_well_formed),
        cmocka_unit_test(test_case_and_line_endings),
        cmocka_unit_test(test_node_stack_trace),
        cmocka_unit_test(test_python_traceback),
        cmocka_unit_test(test_go_log_line),
        cmocka_unit_test(test_jvm_stack),
        cmocka_unit_test(test_proxy_logs),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_unrecognised),
        cmocka_unit_test(test_api_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
