/* SPDX-License-Identifier: MIT */
/* The error table, Node-style messages and every foreign-error mapping of src/core/errors.c. */
#include <errno.h>
#include <netdb.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "internal.h"
#include "test.h"

static void test_table_names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(tether_err_name(TETHER_ECONNRESET), "ECONNRESET");
    assert_string_equal(tether_err_name(TETHER_EPIPE), "EPIPE");
    assert_string_equal(tether_err_name(TETHER_ENOTFOUND), "ENOTFOUND");
    assert_string_equal(tether_err_name(0), "OK");
    assert_string_equal(tether_err_name(12345), "UNKNOWN");
    assert_string_equal(tether_strerror(TETHER_ECONNRESET), "connection reset by peer");
    assert_string_equal(tether_strerror(TETHER_EHANGUP), "socket hang up");
    assert_string_equal(tether_strerror(-9999), "unknown error");
    /* Codes are dense and every one has a distinct name: the table is append-only. */
    for (int code = -1; code > TETHER_ERR_LAST; code--) {
        const char *name = tether_err_name(code);
        assert_string_not_equal(name, "UNKNOWN");
        assert_true(name[0] == 'E');
        for (int other = code - 1; other > TETHER_ERR_LAST; other--) {
            assert_string_not_equal(name, tether_err_name(other));
        }
    }
    assert_string_equal(tether_err_name(TETHER_ERR_LAST), "UNKNOWN");
}

static void test_transient(void **state)
{
    (void)state;
    assert_true(tether_err_is_transient(TETHER_ECONNRESET));
    assert_true(tether_err_is_transient(TETHER_ETIMEDOUT));
    assert_true(tether_err_is_transient(TETHER_ECONNREFUSED));
    assert_true(tether_err_is_transient(TETHER_EHANGUP));
    assert_true(tether_err_is_transient(TETHER_EPIPE));
    assert_true(tether_err_is_transient(TETHER_EAI_AGAIN));
    assert_false(tether_err_is_transient(TETHER_ETLSCERT));
    assert_false(tether_err_is_transient(TETHER_EINVAL));
    assert_false(tether_err_is_transient(TETHER_EHTTP));
    assert_false(tether_err_is_transient(TETHER_ENOTFOUND));
    assert_false(tether_err_is_transient(0));
}

static void expect_message(const struct tether_failure *f, const char *want)
{
    char buf[256];
    int n = tether_failure_message(f, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void test_node_messages(void **state)
{
    (void)state;
    struct tether_failure f;

    tether_failure_init(&f);
    f.code = TETHER_ECONNRESET;
    f.syscall = TETHER_SYSCALL_READ;
    expect_message(&f, "read ECONNRESET");

    f.syscall = TETHER_SYSCALL_WRITE;
    expect_message(&f, "write ECONNRESET");

    f.code = TETHER_EPIPE;
    expect_message(&f, "write EPIPE");

    tether_failure_init(&f);
    f.code = TETHER_EHANGUP;
    f.phase = TETHER_PHASE_READ_HEADERS;
    expect_message(&f, "socket hang up");

    tether_failure_init(&f);
    f.code = TETHER_ECONNREFUSED;
    f.syscall = TETHER_SYSCALL_CONNECT;
    snprintf(f.peer, sizeof(f.peer), "127.0.0.1:8080");
    expect_message(&f, "connect ECONNREFUSED 127.0.0.1:8080");

    f.code = TETHER_ETIMEDOUT;
    snprintf(f.peer, sizeof(f.peer), "10.0.0.1:443");
    expect_message(&f, "connect ETIMEDOUT 10.0.0.1:443");

    f.code = TETHER_ECONNRESET;
    expect_message(&f, "connect ECONNRESET 10.0.0.1:443");

    tether_failure_init(&f);
    f.code = TETHER_ENOTFOUND;
    f.syscall = TETHER_SYSCALL_GETADDRINFO;
    snprintf(f.host, sizeof(f.host), "example.invalid");
    expect_message(&f, "getaddrinfo ENOTFOUND example.invalid");

    tether_failure_init(&f);
    f.code = TETHER_ECONNRESET;
    f.phase = TETHER_PHASE_TLS;
    f.syscall = TETHER_SYSCALL_READ;
    expect_message(&f, "Client network socket disconnected before secure TLS connection was "
                       "established");
    f.code = TETHER_EHANGUP;
    expect_message(&f, "Client network socket disconnected before secure TLS connection was "
                       "established");

    /* No syscall, no peer: the plain message, with the detail when there is one. */
    tether_failure_init(&f);
    f.code = TETHER_ETLSCERT;
    expect_message(&f, "TLS certificate verification failed");
    snprintf(f.detail, sizeof(f.detail), "self-signed certificate");
    expect_message(&f, "TLS certificate verification failed: self-signed certificate");

    /* A missing peer leaves no trailing space. */
    tether_failure_init(&f);
    f.code = TETHER_ECONNREFUSED;
    f.syscall = TETHER_SYSCALL_CONNECT;
    expect_message(&f, "connect ECONNREFUSED");
}

static void test_message_truncates_like_snprintf(void **state)
{
    (void)state;
    struct tether_failure f;
    tether_failure_init(&f);
    f.code = TETHER_ECONNRESET;
    f.syscall = TETHER_SYSCALL_READ;
    char small[5];
    int n = tether_failure_message(&f, small, sizeof(small));
    assert_int_equal(n, (int)strlen("read ECONNRESET"));
    assert_string_equal(small, "read");
    assert_int_equal(tether_failure_message(&f, NULL, 0), n);
    assert_int_equal(tether_failure_message(NULL, small, sizeof(small)), TETHER_EINVAL);
}

static void test_enum_names(void **state)
{
    (void)state;
    assert_string_equal(tether_syscall_name(TETHER_SYSCALL_READ), "read");
    assert_string_equal(tether_syscall_name(TETHER_SYSCALL_GETADDRINFO), "getaddrinfo");
    assert_string_equal(tether_syscall_name((enum tether_syscall)99), "");
    assert_string_equal(tether_phase_name(TETHER_PHASE_READ_HEADERS), "READ_HEADERS");
    assert_string_equal(tether_phase_name((enum tether_phase)99), "NONE");
    assert_string_equal(tether_retry_safety_name(TETHER_RETRY_SAFE_NO), "no");
    assert_string_equal(tether_retry_safety_name(TETHER_RETRY_SAFE_YES), "yes");
    assert_string_equal(tether_retry_safety_name(TETHER_RETRY_SAFE_UNKNOWN), "unknown");
}

static void test_from_errno(void **state)
{
    (void)state;
    static const struct {
        int sys;
        int code;
    } rows[] = {
        {0, 0},
        {ECONNRESET, TETHER_ECONNRESET},
        {EPIPE, TETHER_EPIPE},
        {ECONNREFUSED, TETHER_ECONNREFUSED},
        {ETIMEDOUT, TETHER_ETIMEDOUT},
        {EHOSTUNREACH, TETHER_EHOSTUNREACH},
        {ENETUNREACH, TETHER_ENETUNREACH},
        {ECONNABORTED, TETHER_ECONNABORTED},
        {EADDRINUSE, TETHER_EADDRINUSE},
        {EADDRNOTAVAIL, TETHER_EADDRNOTAVAIL},
        {EMFILE, TETHER_EMFILE},
        {ENFILE, TETHER_EMFILE},
        {ENOMEM, TETHER_ENOMEM},
        {EINVAL, TETHER_EINVAL},
        {ECANCELED, TETHER_ECANCELED},
        {EAGAIN, TETHER_EAGAIN},
        {ENOENT, TETHER_EUNKNOWN},
    };
    for (size_t i = 0; i < tt__countof(rows); i++) {
        if (tt__err_from_errno(rows[i].sys) != rows[i].code) {
            fail_msg("errno %d -> %s, expected %s", rows[i].sys,
                     tether_err_name(tt__err_from_errno(rows[i].sys)),
                     tether_err_name(rows[i].code));
        }
    }
}

static void test_from_uv(void **state)
{
    (void)state;
    ASSERT_ERR(tt__err_from_uv(UV_ECONNRESET), TETHER_ECONNRESET);
    ASSERT_ERR(tt__err_from_uv(UV_EPIPE), TETHER_EPIPE);
    ASSERT_ERR(tt__err_from_uv(UV_ECONNREFUSED), TETHER_ECONNREFUSED);
    ASSERT_ERR(tt__err_from_uv(UV_ETIMEDOUT), TETHER_ETIMEDOUT);
    ASSERT_ERR(tt__err_from_uv(UV_ECANCELED), TETHER_ECANCELED);
    ASSERT_ERR(tt__err_from_uv(UV_EOF), TETHER_EEOF);
    ASSERT_ERR(tt__err_from_uv(UV_EAI_NONAME), TETHER_ENOTFOUND);
    ASSERT_ERR(tt__err_from_uv(UV_EAI_AGAIN), TETHER_EAI_AGAIN);
    ASSERT_ERR(tt__err_from_uv(UV_EMFILE), TETHER_EMFILE);
    ASSERT_ERR(tt__err_from_uv(UV_EADDRINUSE), TETHER_EADDRINUSE);
    ASSERT_OK(tt__err_from_uv(0));
    assert_int_equal(tt__errno_from_uv(UV_ECONNRESET), ECONNRESET);
    assert_int_equal(tt__errno_from_uv(UV_EOF), 0);
    assert_int_equal(tt__errno_from_uv(UV_EAI_NONAME), 0);

    struct tether_failure f;
    tether_failure_init(&f);
    tt__failure_from_uv(&f, TETHER_SYSCALL_READ, UV_ECONNRESET);
    assert_int_equal(f.code, TETHER_ECONNRESET);
    assert_int_equal(f.sys_errno, ECONNRESET);
    assert_int_equal(f.origin, TETHER_ORIGIN_LIBUV);
    assert_int_equal(f.origin_code, UV_ECONNRESET);
    expect_message(&f, "read ECONNRESET");
}

static void test_from_gai(void **state)
{
    (void)state;
    ASSERT_OK(tt__err_from_gai(0));
    ASSERT_ERR(tt__err_from_gai(EAI_NONAME), TETHER_ENOTFOUND);
    ASSERT_ERR(tt__err_from_gai(EAI_AGAIN), TETHER_EAI_AGAIN);
    ASSERT_ERR(tt__err_from_gai(EAI_FAIL), TETHER_ENOTFOUND);
    ASSERT_ERR(tt__err_from_gai(EAI_MEMORY), TETHER_ENOMEM);
    ASSERT_ERR(tt__err_from_gai(EAI_BADFLAGS), TETHER_EINVAL);
}

static void test_from_ssl(void **state)
{
    (void)state;
    char detail[256];
    /* Loads the reason strings, as the TLS layer does before its first handshake. */
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
    ERR_clear_error();
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_WANT_READ, 0, detail, sizeof(detail)), TETHER_EAGAIN);
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_ZERO_RETURN, 0, detail, sizeof(detail)), TETHER_EEOF);
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_SYSCALL, ECONNRESET, detail, sizeof(detail)),
               TETHER_ECONNRESET);
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_SYSCALL, 0, detail, sizeof(detail)), TETHER_EEOF);

    /* A verification failure is recognised from the queue, and the queue is drained into
     * the detail text so the next connection starts clean. */
    ERR_put_error(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED, __FILE__, __LINE__);
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_SSL, 0, detail, sizeof(detail)), TETHER_ETLSCERT);
    if (!strstr(detail, "certificate verify failed")) {
        fail_msg("detail: %s", detail);
    }
    assert_int_equal(ERR_peek_error(), 0);

    ERR_put_error(ERR_LIB_SSL, 0, SSL_R_UNEXPECTED_EOF_WHILE_READING, __FILE__, __LINE__);
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_SSL, 0, NULL, 0), TETHER_EEOF);
    assert_int_equal(ERR_peek_error(), 0);

    ERR_put_error(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER, __FILE__, __LINE__);
    ERR_put_error(ERR_LIB_SSL, 0, SSL_R_NO_SHARED_CIPHER, __FILE__, __LINE__);
    ASSERT_ERR(tt__err_from_ssl(SSL_ERROR_SSL, 0, detail, sizeof(detail)), TETHER_ETLS);
    assert_non_null(strstr(detail, "wrong version number"));
    assert_non_null(strstr(detail, ";"));
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(tether_version(), TETHER_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_names_and_messages),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_node_messages),
        cmocka_unit_test(test_message_truncates_like_snprintf),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_from_errno),
        cmocka_unit_test(test_from_uv),
        cmocka_unit_test(test_from_gai),
        cmocka_unit_test(test_from_ssl),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
