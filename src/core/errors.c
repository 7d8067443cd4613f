/* SPDX-License-Identifier: MIT */
/* The error table, Node-style messages, and the one place errno, libuv, getaddrinfo and OpenSSL
 * errors are mapped to tether codes. */
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "tether/version.h"

#include "internal.h"

const char *tether_version(void)
{
    return TETHER_VERSION_STRING;
}

void tt__errbuf_set(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || len == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf[0] = '\0';
    }
}

const char *tether_err_name(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define ERR_NAME_CASE(name, value, msg)                                                            \
    case value:                                                                                    \
        return #name;
        TETHER_ERR_MAP(ERR_NAME_CASE)
#undef ERR_NAME_CASE
    default:
        return "UNKNOWN";
    }
}

const char *tether_strerror(int code)
{
    /* EUNKNOWN's message is the default's on purpose. */
    /* NOLINTBEGIN(bugprone-branch-clone) */
    switch (code) {
    case 0:
        return "success";
#define ERR_MSG_CASE(name, value, msg)                                                             \
    case value:                                                                                    \
        return msg;
        TETHER_ERR_MAP(ERR_MSG_CASE)
#undef ERR_MSG_CASE
    default:
        return "unknown error";
    }
    /* NOLINTEND(bugprone-branch-clone) */
}

bool tether_err_is_transient(int code)
{
    switch (code) {
    case TETHER_ETIMEDOUT:
    case TETHER_ECONNREFUSED:
    case TETHER_ECONNRESET:
    case TETHER_EPIPE:
    case TETHER_EHANGUP:
    case TETHER_ETRUNCATED:
    case TETHER_EHOSTUNREACH:
    case TETHER_ENETUNREACH:
    case TETHER_ECONNABORTED:
    case TETHER_EAI_AGAIN:
    case TETHER_EMFILE:
    case TETHER_EADDRNOTAVAIL:
        return true;
    default:
        return false;
    }
}

const char *tether_syscall_name(enum tether_syscall s)
{
    static const char *const names[] = {"",          "connect", "read",  "write", "getaddrinfo",
                                        "handshake", "accept",  "listen"};
    return (unsigned)s < tt__countof(names) ? names[s] : "";
}

const char *tether_phase_name(enum tether_phase p)
{
    static const char *const names[] = {"NONE",  "DNS",          "CONNECT",  "TLS",
                                        "WRITE", "READ_HEADERS", "READ_BODY"};
    return (unsigned)p < tt__countof(names) ? names[p] : "NONE";
}

const char *tether_retry_safety_name(enum tether_retry_safety s)
{
    static const char *const names[] = {"unknown", "yes", "no"};
    return (unsigned)s < tt__countof(names) ? names[s] : "unknown";
}

void tether_failure_init(struct tether_failure *f)
{
    memset(f, 0, sizeof(*f));
}

int tether_failure_message(const struct tether_failure *f, char *buf, size_t len)
{
    if (!f || (!buf && len)) {
        return TETHER_EINVAL;
    }
    const char *name = tether_err_name(f->code);
    int n;
    /* Node reports a connection lost during the TLS handshake with this exact sentence, and
     * users search for it verbatim. */
    if (f->phase == TETHER_PHASE_TLS &&
        (f->code == TETHER_ECONNRESET || f->code == TETHER_EHANGUP || f->code == TETHER_EEOF)) {
        n = snprintf(buf, len,
                     "Client network socket disconnected before secure TLS connection was "
                     "established");
    } else if (f->code == TETHER_EBREAKER && f->detail[0]) {
        /* "circuit open for http://127.0.0.1:8080, retry in 4200 ms": the detail is the whole
         * sentence. */
        n = snprintf(buf, len, "%s", f->detail);
    } else if (f->code == TETHER_EHANGUP) {
        n = snprintf(buf, len, "socket hang up");
    } else if (f->syscall == TETHER_SYSCALL_GETADDRINFO) {
        n = snprintf(buf, len, "getaddrinfo %s %s", name, f->host);
    } else if (f->syscall == TETHER_SYSCALL_CONNECT) {
        n = snprintf(buf, len, "connect %s %s", name, f->peer);
    } else if (f->syscall != TETHER_SYSCALL_NONE) {
        n = snprintf(buf, len, "%s %s", tether_syscall_name(f->syscall), name);
    } else if (f->detail[0]) {
        n = snprintf(buf, len, "%s: %s", tether_strerror(f->code), f->detail);
    } else {
        n = snprintf(buf, len, "%s", tether_strerror(f->code));
    }
    /* Trim the trailing space a missing peer or host would leave. */
    if (n > 0 && buf && (size_t)n < len && buf[n - 1] == ' ') {
        buf[--n] = '\0';
    }
    return n;
}

int tt__err_from_errno(int sys_errno)
{
    switch (sys_errno) {
    case 0:
        return 0;
    case EINVAL:
        return TETHER_EINVAL;
    case ENOMEM:
    case ENOBUFS:
        return TETHER_ENOMEM;
    case ECANCELED:
        return TETHER_ECANCELED;
    case ETIMEDOUT:
        return TETHER_ETIMEDOUT;
    case ECONNREFUSED:
        return TETHER_ECONNREFUSED;
    case ECONNRESET:
        return TETHER_ECONNRESET;
    case EPIPE:
        return TETHER_EPIPE;
    case EHOSTUNREACH:
    case EHOSTDOWN:
        return TETHER_EHOSTUNREACH;
    case ENETUNREACH:
    case ENETDOWN:
        return TETHER_ENETUNREACH;
    case ECONNABORTED:
        return TETHER_ECONNABORTED;
    case EADDRINUSE:
        return TETHER_EADDRINUSE;
    case EADDRNOTAVAIL:
        return TETHER_EADDRNOTAVAIL;
    case EMFILE:
    case ENFILE:
        return TETHER_EMFILE;
    case EAGAIN:
        return TETHER_EAGAIN;
    case EIO:
        return TETHER_EIO;
    case EBUSY:
        return TETHER_EBUSY;
    case ENOTSUP:
        return TETHER_ENOTSUP;
    case ERANGE:
        return TETHER_ERANGE;
    case E2BIG:
    case EMSGSIZE:
        return TETHER_ETOOBIG;
    default:
        return TETHER_EUNKNOWN;
    }
}

int tt__errno_from_uv(int uv_status)
{
    /* On Unix libuv's codes are negated errno values, except for its own UV_EAI_* and UV_EOF. */
    if (uv_status == UV_EOF || uv_status >= 0) {
        return 0;
    }
    if (uv_status <= UV_EAI_ADDRFAMILY && uv_status >= UV_EAI_SOCKTYPE) {
        return 0;
    }
    return -uv_status;
}

int tt__err_from_uv(int uv_status)
{
    switch (uv_status) {
    case 0:
        return 0;
    case UV_EOF:
        return TETHER_EEOF;
    case UV_ECANCELED:
        return TETHER_ECANCELED;
    case UV_EAI_NONAME:
    case UV_EAI_NODATA:
    case UV_EAI_FAIL:
        return TETHER_ENOTFOUND;
    case UV_EAI_AGAIN:
        return TETHER_EAI_AGAIN;
    case UV_EAI_MEMORY:
        return TETHER_ENOMEM;
    default: {
        int e = tt__errno_from_uv(uv_status);
        return e ? tt__err_from_errno(e) : TETHER_EUNKNOWN;
    }
    }
}

int tt__err_from_gai(int eai)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
    case EAI_FAIL:
        return TETHER_ENOTFOUND;
    case EAI_AGAIN:
        return TETHER_EAI_AGAIN;
    case EAI_MEMORY:
        return TETHER_ENOMEM;
    case EAI_SYSTEM:
        return tt__err_from_errno(errno);
    default:
        return TETHER_EINVAL;
    }
}

int tt__err_from_ssl(int ssl_error, int sys_errno, char *detail, size_t detail_len)
{
    unsigned long first = 0;
    unsigned long e;
    size_t used = 0;
    if (detail && detail_len) {
        detail[0] = '\0';
    }
    /* Drain the whole queue so a stale entry never pollutes the next connection's report. */
    while ((e = ERR_get_error()) != 0) {
        if (!first) {
            first = e;
        }
        if (detail && used + 1 < detail_len) {
            if (used) {
                detail[used++] = ';';
                detail[used] = '\0';
            }
            ERR_error_string_n(e, detail + used, detail_len - used);
            used += strlen(detail + used);
        }
    }
    switch (ssl_error) {
    case SSL_ERROR_NONE:
        return first ? TETHER_ETLS : 0;
    case SSL_ERROR_ZERO_RETURN:
        return TETHER_EEOF;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return TETHER_EAGAIN;
    case SSL_ERROR_SYSCALL:
        /* OpenSSL 3 reports an EOF without close_notify as SSL_ERROR_SSL with
         * SSL_R_UNEXPECTED_EOF_WHILE_READING; older builds use SYSCALL with errno 0. */
        return sys_errno ? tt__err_from_errno(sys_errno) : TETHER_EEOF;
    default:
        break;
    }
    if (first && ERR_GET_LIB(first) == ERR_LIB_SSL) {
        int reason = ERR_GET_REASON(first);
        if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            return TETHER_EEOF;
        }
        if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            return TETHER_ETLSCERT;
        }
    }
    return TETHER_ETLS;
}

void tt__ssl_reason(char *buf, size_t len)
{
    unsigned long first = 0;
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (!first) {
            first = e; /* the root cause; later entries are the layers that passed it up */
        }
    }
    if (!buf || len == 0) {
        return;
    }
    const char *reason = NULL;
    if (first && ERR_SYSTEM_ERROR(first)) {
        /* A failed open() or read(): the errno is the reason ("no such file or directory"). */
        reason = uv_strerror(uv_translate_sys_error(ERR_GET_REASON(first)));
    } else if (first) {
        reason = ERR_reason_error_string(first);
    }
    if (reason) {
        (void)snprintf(buf, len, "%s", reason);
    } else if (first) {
        ERR_error_string_n(first, buf, len);
    } else {
        (void)snprintf(buf, len, "unknown error");
    }
}

void tt__failure_from_uv(struct tether_failure *f, enum tether_syscall syscall, int uv_status)
{
    f->code = tt__err_from_uv(uv_status);
    f->syscall = syscall;
    f->origin = TETHER_ORIGIN_LIBUV;
    f->origin_code = uv_status;
    f->sys_errno = tt__errno_from_uv(uv_status);
}
