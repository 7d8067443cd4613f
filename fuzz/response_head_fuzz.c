/* SPDX-License-Identifier: MIT */
/* libFuzzer: response heads (to GET and to HEAD) parse the same however the bytes arrive. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP TT__H1_DEFAULT_MAX_FIELDS

static int run(const char *buf, size_t size, uint64_t seed, const char *method,
               struct tt__h1_head *a)
{
    struct tt__h1_limits lim;
    tt__h1_limits_default(&lim);
    if (seed & 1) { /* small limits, so short inputs reach the limit checks */
        lim.max_head_bytes = 16 + (size_t)(seed >> 8) % 512;
        lim.max_fields = (size_t)(seed >> 20) % 12;
    }
    struct tt__h1_field fb[CAP], fc[CAP];
    struct tt__h1_head b = {.fields = fb, .fields_cap = a->fields_cap};
    struct tt__h1_head c = {.fields = fc, .fields_cap = a->fields_cap};
    struct tt__h1_parser pa, pb, pc;
    tt__h1_parser_init(&pa, &lim);
    tt__h1_parser_init(&pb, &lim);
    tt__h1_parser_init(&pc, &lim);

    int ra = tt__h1_parse_response(&pa, buf, size, a, method);
    char *copy = NULL;
    int rb = fuzz_parse_split(&pb, buf, size, (size_t)((seed >> 40) % (size + 1)), &b, false,
                              method, &copy);
    int rc = TETHER_EAGAIN;
    for (size_t n = 0; n <= size && rc == TETHER_EAGAIN; n++) {
        rc = tt__h1_parse_response(&pc, buf, n, &c, method);
    }
    FUZZ_CHECK(ra == rb && ra == rc);
    if (ra > 0) {
        FUZZ_CHECK((size_t)ra == a->head_len);
        fuzz_check_head(a, &lim, buf, size, false, method);
        fuzz_check_same_head(a, buf, &b, copy);
        fuzz_check_same_head(a, buf, &c, buf);
    } else if (ra == TETHER_EHTTP) {
        FUZZ_CHECK(pa.error != TT__H1_ERR_NONE && pa.error < TT__H1_ERR_COUNT);
        if (fuzz_strict_errors()) { /* the violation named does not depend on segmentation */
            FUZZ_CHECK(pa.error == pb.error && pa.error == pc.error);
            FUZZ_CHECK(pa.error_offset == pb.error_offset && pa.error_offset == pc.error_offset);
        }
        FUZZ_CHECK(pa.error_offset <= size);
    } else {
        FUZZ_CHECK(ra == TETHER_EAGAIN);
        FUZZ_CHECK(size - fuzz_leading_crlf(buf, size) <= lim.max_head_bytes + 2);
    }
    free(copy);
    return ra;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    uint64_t seed = fuzz_hash(data, size);
    size_t cap = (seed & 6) == 0 ? (size_t)(seed >> 28) % 10 : CAP;
    struct tt__h1_field fg[CAP], fh[CAP];
    struct tt__h1_head get = {.fields = fg, .fields_cap = cap};
    struct tt__h1_head head = {.fields = fh, .fields_cap = cap};
    int rg = run(buf, size, seed, NULL, &get);
    int rh = run(buf, size, seed, "HEAD", &head);
    if (rg > 0 && rh > 0) { /* the method changes the body, never the head itself */
        FUZZ_CHECK(rg == rh && get.status == head.status && get.nfields == head.nfields);
        FUZZ_CHECK(get.version_minor == head.version_minor);
        FUZZ_CHECK(get.reason.len == head.reason.len && get.reason.ptr == head.reason.ptr);
    }
    if (rh == TETHER_EAGAIN || rg == TETHER_EAGAIN) {
        FUZZ_CHECK(rg == rh); /* where the head ends does not depend on the method */
    }
    return 0;
}
