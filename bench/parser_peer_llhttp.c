/* SPDX-License-Identifier: MIT */
/* parser_bench's llhttp peer: the callbacks Node's http module installs that see spans (url,
 * status, field names and values, body), recording them as tether's head does. */
#include <llhttp.h>
#include <stdio.h>

#include "parser_peer.h"

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct peer_result *r = p->data;
    r->url = (struct tt__h1_str){at, len};
    return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
    struct peer_result *r = p->data;
    r->status = (struct tt__h1_str){at, len};
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct peer_result *r = p->data;
    if (r->nfields == PEER_MAX_FIELDS) {
        return -1;
    }
    /* Whole buffers, so a name never arrives in pieces: each call starts a field. */
    r->fields[r->nfields++].name = (struct tt__h1_str){at, len};
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct peer_result *r = p->data;
    r->fields[r->nfields - 1].value = (struct tt__h1_str){at, len};
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct peer_result *r = p->data;
    r->headers_complete = true;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct peer_result *r = p->data;
    r->body = (struct tt__h1_str){at, len};
    return 0;
}

static llhttp_settings_t settings;
static bool settings_ready;

size_t llhttp_peer_once(const char *buf, size_t len, bool request, struct peer_result *r, int *err)
{
    if (!settings_ready) {
        llhttp_settings_init(&settings);
        settings.on_url = on_url;
        settings.on_status = on_status;
        settings.on_header_field = on_header_field;
        settings.on_header_value = on_header_value;
        settings.on_headers_complete = on_headers_complete;
        settings.on_body = on_body;
        settings_ready = true;
    }
    llhttp_t p;
    llhttp_init(&p, request ? HTTP_REQUEST : HTTP_RESPONSE, &settings);
    p.data = r;
    r->nfields = 0;
    r->headers_complete = false;
    llhttp_errno_t e = llhttp_execute(&p, buf, len);
    *err = (int)e;
    if (e == HPE_OK) {
        return len;
    }
    return (size_t)(llhttp_get_error_pos(&p) - buf);
}

const char *llhttp_peer_error_name(int err)
{
    return llhttp_errno_name((llhttp_errno_t)err);
}

const char *llhttp_peer_version(void)
{
    static char v[32];
    snprintf(v, sizeof(v), "%d.%d.%d", LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR,
             LLHTTP_VERSION_PATCH);
    return v;
}
