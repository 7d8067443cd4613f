/* SPDX-License-Identifier: MIT */
/* tt__ declarations shared across src/: allocation, error mapping, bounded buffers. Never
 * installed. */
#ifndef TETHER_INTERNAL_H
#define TETHER_INTERNAL_H

#include <assert.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tether/common.h"
#include "tether/error.h"

#define tt__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define tt__countof(a) (sizeof(a) / sizeof((a)[0]))

/* --- Intrusive doubly-linked lists (libuv's queue, spelled out). A head is an empty node. */
struct tt__list {
    struct tt__list *prev;
    struct tt__list *next;
};
static inline void tt__list_init(struct tt__list *l)
{
    l->prev = l;
    l->next = l;
}
static inline bool tt__list_empty(const struct tt__list *l)
{
    return l->next == l;
}
static inline void tt__list_insert_tail(struct tt__list *head, struct tt__list *n)
{
    n->next = head;
    n->prev = head->prev;
    head->prev->next = n;
    head->prev = n;
}
/* Moves every node of `from` to the end of `to`, leaving `from` empty. */
static inline void tt__list_splice(struct tt__list *to, struct tt__list *from)
{
    if (tt__list_empty(from)) {
        return;
    }
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    tt__list_init(from);
}
/* Safe on a node that is not in a list, if it was initialised. */
static inline void tt__list_remove(struct tt__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    tt__list_init(n);
}

/* --- alloc.c: every allocation goes through these (fault injection, tether_set_allocator). */
void *tt__malloc(size_t size);
void *tt__calloc(size_t n, size_t size);
void *tt__realloc(void *ptr, size_t size);
void tt__free(void *ptr);
char *tt__strndup(const char *s, size_t n);
#ifdef TETHER_UNITTESTS
/* Allocations made so far (tests and the allocation-failure torture). */
long tt__test_alloc_count(void);
/* From now on the nth allocation fails (0 = none) and the count restarts at zero. */
void tt__test_alloc_fail_at(long n);
#endif

/* --- errors.c: each foreign error source is mapped here and nowhere else. */
int tt__err_from_errno(int sys_errno);
int tt__err_from_uv(int uv_status);
int tt__err_from_gai(int eai);
/* Maps an OpenSSL failure. `ssl_error` is SSL_get_error()'s answer (or 0 when there is no
 * SSL object); `sys_errno` is errno when that answer was SSL_ERROR_SYSCALL. Drains the calling
 * thread's OpenSSL error queue into `detail` (may be NULL). */
int tt__err_from_ssl(int ssl_error, int sys_errno, char *detail, size_t detail_len);
/* Drains the calling thread's OpenSSL error queue and writes its root cause's reason, e.g. "No
 * such file or directory" or "no start line" (a file that is not PEM), into `buf`. */
void tt__ssl_reason(char *buf, size_t len);
/* The positive errno a libuv status stands for (UV_ECONNRESET -> ECONNRESET), or 0. */
int tt__errno_from_uv(int uv_status);
/* Fills code/syscall/origin from a libuv status in one step. */
void tt__failure_from_uv(struct tether_failure *f, enum tether_syscall syscall, int uv_status);

/* --- errors.c: synchronous failure detail for the caller's error buffer (the options'
 * `errbuf`, as curl's CURLOPT_ERRORBUFFER). No-op when `buf` is NULL or `len` is 0; always
 * NUL-terminates. */
void tt__errbuf_set(char *buf, size_t len, const char *fmt, ...) TETHER_PRINTF(3, 4);

/* --- signals.c: SIGPIPE blocked for the calling thread around a blocking call. */
struct tt__sigpipe {
    sigset_t old_mask;
    bool blocked;
    bool was_pending;
};
void tt__sigpipe_block(struct tt__sigpipe *sp);
void tt__sigpipe_restore(struct tt__sigpipe *sp);

/* --- buf.c: byte buffers with a hard cap set at init; growth past it is TETHER_ETOOBIG. */
struct tt__buf {
    char *data;     /* the live bytes: the allocation + `off` */
    size_t len;     /* live bytes */
    size_t cap;     /* allocated, from the allocation's start */
    size_t max_len; /* hard cap on live bytes */
    size_t off;     /* consumed bytes still before `data`, reclaimed lazily */
    size_t moved;   /* bytes ever moved by compaction (tests bound it; see tt__buf_consume) */
};
void tt__buf_init(struct tt__buf *b, size_t max_len);
void tt__buf_cleanup(struct tt__buf *b);
int tt__buf_reserve(struct tt__buf *b, size_t extra);
int tt__buf_append(struct tt__buf *b, const void *data, size_t len);
int tt__buf_append_str(struct tt__buf *b, const char *s);
int tt__buf_appendf(struct tt__buf *b, const char *fmt, ...) TETHER_PRINTF(2, 3);
/* Appends `v` in decimal: for per-request heads, where printf's format parsing shows up. */
int tt__buf_append_u64(struct tt__buf *b, uint64_t v);
/* Drops the first `n` bytes (consumed input) by advancing `data`: O(1), so many tiny
 * pipelined requests or a flood of 1xx heads cost linear time, not a memmove of the rest
 * each. The dead prefix is reclaimed when an append needs the room (or the buffer empties). */
void tt__buf_consume(struct tt__buf *b, size_t n);
void tt__buf_reset(struct tt__buf *b);

#endif
