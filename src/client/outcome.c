/* SPDX-License-Identifier: MIT */
/* A finished fetch's outcome: status, headers, body, failure record and counters. */
#include <string.h>

#include "client/client_int.h"
#include "util/str.h"

void *tether_fetch_get_data(const tether_fetch *f)
{
    return f ? f->data : NULL;
}

int tether_fetch_status(const tether_fetch *f)
{
    return f ? f->status : 0;
}

size_t tether_fetch_field_count(const tether_fetch *f)
{
    return f ? f->nheaders : 0;
}

bool tether_fetch_field(const tether_fetch *f, size_t i, const char **name, const char **value)
{
    if (!f || i >= f->nheaders) {
        return false;
    }
    if (name) {
        *name = f->head_store.data + f->header_offsets[2 * i];
    }
    if (value) {
        *value = f->head_store.data + f->header_offsets[2 * i + 1];
    }
    return true;
}

const char *tether_fetch_header(const tether_fetch *f, const char *name)
{
    if (!f || !name) {
        return NULL;
    }
    for (size_t i = 0; i < f->nheaders; i++) {
        const char *n = f->head_store.data + f->header_offsets[2 * i];
        if (ttx_str_eq_nocase(n, name)) {
            return f->head_store.data + f->header_offsets[2 * i + 1];
        }
    }
    return NULL;
}

const char *tether_fetch_body(const tether_fetch *f, size_t *len)
{
    if (len) {
        *len = f ? f->body.len : 0;
    }
    return f && f->body.len ? f->body.data : NULL;
}

const struct tether_failure *tether_fetch_failure(const tether_fetch *f)
{
    return f ? &f->failure : NULL;
}

unsigned tether_fetch_attempts(const tether_fetch *f)
{
    return f ? f->attempts : 0;
}

unsigned tether_fetch_retries(const tether_fetch *f)
{
    return f ? f->retries : 0;
}

unsigned tether_fetch_replays(const tether_fetch *f)
{
    return f ? f->replays : 0;
}

uint64_t tether_fetch_duration_ms(const tether_fetch *f)
{
    if (!f) {
        return 0;
    }
    return f->finished_ms >= f->started_ms ? f->finished_ms - f->started_ms : 0;
}

uint64_t tether_fetch_retry_after_ms(const tether_fetch *f)
{
    return f ? f->retry_after_ms : 0;
}

unsigned tether_fetch_redirects(const tether_fetch *f)
{
    return f ? f->redirects : 0;
}

const char *tether_fetch_url(const tether_fetch *f)
{
    return f ? f->url_text : NULL;
}
