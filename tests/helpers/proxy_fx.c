/* SPDX-License-Identifier: MIT */
#include "proxy_fx.h"

#include <stdlib.h>

#include "loop.h"
#include "test.h"

struct proxy_fx *proxy_fx_new(uint64_t seed)
{
    struct proxy_fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    struct tether_proxy_server_options o;
    tether_proxy_server_options_init(&o);
    o.api_host = NULL;
    o.has_seed = true;
    o.seed = seed;
    ASSERT_OK(tether_proxy_server_new(&fx->loop, &o, &fx->ps));
    return fx;
}

static void proxy_fx_closed(void *data)
{
    ((struct proxy_fx *)data)->closed = true;
}

void proxy_fx_free(struct proxy_fx *fx)
{
    tether_proxy_server_close(fx->ps, proxy_fx_closed, fx);
    assert_false(fx->closed); /* never from inside the call */
    tt_test_loop_run_until(&fx->loop, &fx->closed, 5000);
    tt_test_loop_close(&fx->loop);
    free(fx);
}
