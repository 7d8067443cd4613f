/* SPDX-License-Identifier: MIT */
/* The one place tether allocates: a replaceable allocator and allocation-failure injection. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static tether_malloc_fn alloc_malloc = malloc;
static tether_realloc_fn alloc_realloc = realloc;
static tether_free_fn alloc_free = free;

#ifdef TETHER_UNITTESTS
/* TETHER_TEST_FAIL_ALLOC_AT=n makes the nth allocation fail, so every error path can be
 * exercised (STYLE §7, after curl's torture tests; scripts/alloc_torture.sh loops n). Atomic:
 * test fixtures allocate on a second thread. */
#include <stdatomic.h>
#include <stdio.h>

static atomic_long alloc_count;
static atomic_long alloc_fail_at = -1;

/* TETHER_TEST_ALLOC_REPORT=1 prints the count at exit, for programs that do not print it
 * themselves (scripts/alloc_torture.sh reads it). The one place the library writes to a
 * stream outside the debug trace, and only in test builds. */
static void alloc_report(void)
{
    fprintf(stderr, "allocations: %ld\n", atomic_load(&alloc_count)); /* checksrc: debug-output */
}

static bool alloc_should_fail(void)
{
    long at = atomic_load(&alloc_fail_at);
    if (at == -1) {
        const char *env = getenv("TETHER_TEST_FAIL_ALLOC_AT");
        at = env ? strtol(env, NULL, 10) : 0;
        atomic_store(&alloc_fail_at, at);
        if (getenv("TETHER_TEST_ALLOC_REPORT")) {
            (void)atexit(alloc_report);
        }
    }
    long n = atomic_fetch_add(&alloc_count, 1) + 1;
    return at > 0 && n == at;
}

long tt__test_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void tt__test_alloc_fail_at(long n)
{
    /* Overrides TETHER_TEST_FAIL_ALLOC_AT: an in-process sweep fails each n in turn. */
    atomic_store(&alloc_fail_at, n);
    atomic_store(&alloc_count, 0);
}
#else
static bool alloc_should_fail(void)
{
    return false;
}
#endif

int tether_set_allocator(tether_malloc_fn m, tether_realloc_fn r, tether_free_fn f)
{
    if (!m && !r && !f) {
        alloc_malloc = malloc;
        alloc_realloc = realloc;
        alloc_free = free;
        return 0;
    }
    if (!m || !r || !f) {
        return TETHER_EINVAL;
    }
    alloc_malloc = m;
    alloc_realloc = r;
    alloc_free = f;
    return 0;
}

void *tt__malloc(size_t size)
{
    if (alloc_should_fail()) {
        return NULL;
    }
    return alloc_malloc(size ? size : 1);
}

void *tt__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = tt__malloc(n * size);
    if (p) {
        memset(p, 0, n * size);
    }
    return p;
}

void *tt__realloc(void *ptr, size_t size)
{
    if (alloc_should_fail()) {
        return NULL;
    }
    return alloc_realloc(ptr, size ? size : 1);
}

void tt__free(void *ptr)
{
    if (ptr) {
        alloc_free(ptr);
    }
}

void tether_free(void *ptr)
{
    tt__free(ptr);
}

void *tether_malloc(size_t size)
{
    return tt__malloc(size);
}

char *tt__strndup(const char *s, size_t n)
{
    char *p = tt__malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}
