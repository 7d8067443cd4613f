/* SPDX-License-Identifier: MIT */
/* libFuzzer: request heads parse the same in one call, split in two, and byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP TT__H1_DEFAULT_MAX_FIELDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    uint64_t seed = fuzz_hash(data, size);
    struct tt__h1_limits lim;
    tt__h1_limits_default(&lim);
    if (seed & 1) { /* small limits, so short inputs reach the limit checks */
        lim.max_head_bytes = 16 + (size_t)(seed >> 8) % 512;
        lim.max_fields = (size_t)(seed >> 20) % 12;
    }
    size_t cap = (seed & 6) == 0 ? (size_t)(seed >> 28) % 10 : CAP;
    struct tt__h1_field fa[CAP], fb[CAP], fc[CAP];
    struct tt__h1_head a = {.fields = fa, .fields_cap = cap};
    struct tt__h1_head b = {.fields = fb, .fields_cap = cap};
    struct tt__h1_head c = {.fields = fc, .fields_cap = cap};
    struct tt__h1_parser pa, pb, pc;
    tt__h1_parser_init(&pa, &lim);
    tt__h1_parser_init(&pb, &lim);
    tt__h1_parser_init(&pc, &lim);

    int ra = tt__h1_parse_request(&pa, buf, size, &a);
    char *copy = NULL;
    size_t split = (size_t)((seed >> 40) % (size + 1));
    int rb = fuzz_parse_split(&pb, buf, size, split, &b, true, NULL, &copy);
    int rc = TETHER_EAGAIN;
    for (size_t n = 0; n <= size && rc == TETHER_EAGAIN; n++) {
        rc = tt__h1_parse_request(&pc, buf, n, &c);
    }
    FUZZ_CHECK(ra == rb && ra == rc);
    if (ra > 0) {
        FUZZ_CHECK((size_t)ra == a.head_len);
        fuzz_check_head(&a, &lim, buf, size, true, NULL);
        fuzz_check_same_head(&a, buf, &b, copy);
        fuzz_check_same_head(&a, buf, &c, buf);
    } else if (ra == TETHER_EHTTP) {
        FUZZ_CHECK(pa.error != TT__H1_ERR_NONE && pa.error < TT__H1_ERR_COUNT);
        if (fuzz_strict_errors()) { /* the violation named does not depend on segmentation */
            FUZZ_CHECK(pa.error == pb.error && pa.error == pc.error);
            FUZZ_CHECK(pa.error_offset == pb.error_offset && pa.error_offset == pc.error_offset);
        }
        FUZZ_CHECK(pa.error_offset <= size);
        int status = tt__h1_err_status(pa.error);
        FUZZ_CHECK(status == 400 || status == 413 || status == 431 || status == 501 ||
                   status == 505);
        const char *name = tt__h1_err_name(pa.error);
        FUZZ_CHECK(tt__h1_err_from_name(name, strlen(name)) == (int)pa.error);
        FUZZ_CHECK(tt__h1_parse_request(&pa, buf, size, &a) == TETHER_EHTTP); /* stays failed */
    } else {
        FUZZ_CHECK(ra == TETHER_EAGAIN);
        /* Still waiting, so nothing past the size limit was accepted (a little slack for a
         * final CRLF still being checked). */
        FUZZ_CHECK(size - fuzz_leading_crlf(buf, size) <= lim.max_head_bytes + 2);
    }
    free(copy);
    return 0;
}
