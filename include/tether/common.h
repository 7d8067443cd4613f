/* SPDX-License-Identifier: MIT */
/* Declaration macros shared by every public tether header. */
#ifndef TETHER_COMMON_H
#define TETHER_COMMON_H

#include <stddef.h>

/* TETHER_NODISCARD marks every function whose failure leaves the caller something to do: an
 * object not created (*_new), a callback that will never run (tether_client_fetch), an output
 * not written (tether_policy_from_json, tether_proxy_server_call). Functions that complete or
 * release whatever happened (tether_response_end, the close functions) are not marked. Note
 * that GCC warns even through a (void) cast. */
#if defined(__GNUC__) || defined(__clang__)
#define TETHER_EXTERN __attribute__((visibility("default")))
#define TETHER_NODISCARD __attribute__((warn_unused_result))
#define TETHER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TETHER_EXTERN
#define TETHER_NODISCARD
#define TETHER_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define TETHER_BEGIN_DECLS extern "C" {
#define TETHER_END_DECLS }
#else
#define TETHER_BEGIN_DECLS
#define TETHER_END_DECLS
#endif

TETHER_BEGIN_DECLS

/* The library version at run time, e.g. "0.1.0" (compare with TETHER_VERSION_STRING).
 * Returns a static string; any thread. */
TETHER_EXTERN const char *tether_version(void);

/* Replaces the allocator every tether object uses. Call before creating any object; not
 * thread-safe. Passing NULL for all three restores malloc/realloc/free. Returns 0 or
 * TETHER_EINVAL when only some are NULL. */
typedef void *(*tether_malloc_fn)(size_t size);
typedef void *(*tether_realloc_fn)(void *ptr, size_t size);
typedef void (*tether_free_fn)(void *ptr);
TETHER_EXTERN TETHER_NODISCARD int tether_set_allocator(tether_malloc_fn m, tether_realloc_fn r,
                                                        tether_free_fn f);

/* Makes SIGPIPE ignored for the process, unless the program already installed a handler or
 * ignores it: then it changes nothing. A peer that resets while tether writes raises SIGPIPE,
 * whose default action kills the process; ignored, the write fails with EPIPE and tether
 * handles it (Node.js ignores SIGPIPE in every program for the same reason). Call it once at
 * start-up in a program that uses the loop-driven client, server or proxy; the blocking
 * client protects itself. Not thread-safe with other sigaction calls. Returns 0 or a
 * TETHER_E* code. */
TETHER_EXTERN int tether_ignore_sigpipe(void);

/* Releases memory the library handed to the caller ("caller owns; release with tether_free").
 * NULL is fine. */
TETHER_EXTERN void tether_free(void *ptr);
/* Allocates with the allocator tether_set_allocator installed (NULL when out of memory), for
 * companion libraries such as libtether-pgpool that must share it. Release with tether_free. */
TETHER_EXTERN void *tether_malloc(size_t size);

TETHER_END_DECLS

#endif
