/* SPDX-License-Identifier: MIT */
/* Declaration macros shared by every public tether header. */
#ifndef TETHER_COMMON_H
#define TETHER_COMMON_H

#include <stddef.h>

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
TETHER_EXTERN int tether_set_allocator(tether_malloc_fn m, tether_realloc_fn r, tether_free_fn f);

/* Releases memory the library handed to the caller ("caller owns; release with tether_free").
 * NULL is fine. */
TETHER_EXTERN void tether_free(void *ptr);

TETHER_END_DECLS

#endif
