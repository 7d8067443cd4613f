/* SPDX-License-Identifier: MIT */
/* tether: HTTP/TCP connections that survive resets. Umbrella header; includes the others only. */
#ifndef TETHER_TETHER_H
#define TETHER_TETHER_H

#include "tether/version.h"
#include "tether/common.h"
#include "tether/error.h"
#include "tether/http.h"
#include "tether/server.h"
#include "tether/proxy.h"
#include "tether/policy.h"
#include "tether/client.h"
#include "tether/egress.h"
#include "tether/doctor.h"
#include "tether/explain.h"

#endif
