/* SPDX-License-Identifier: MIT */
/* HTTP helpers for programs built on tether: facts of the protocol, not of a connection. */
#ifndef TETHER_HTTP_H
#define TETHER_HTTP_H

#include "tether/common.h"

TETHER_BEGIN_DECLS

/* The standard reason phrase of an HTTP status ("Service Unavailable"), or "" for a code with
 * none registered. Static string; any thread. */
TETHER_EXTERN const char *tether_http_reason(int status);

TETHER_END_DECLS

#endif
