/* SPDX-License-Identifier: MIT */
/* libFuzzer: tether_explain on arbitrary bytes (a paste is untrusted input) never fails, and
 * every match it reports lies in the input, on one line, in order, each catalogue entry once. */
#include <string.h>

#include "tether/explain.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct tether_explanation *x = NULL;
    int rv = tether_explain(text, size, &x);
    FUZZ_CHECK(rv == TETHER_OK);
    FUZZ_CHECK(x != NULL);
    FUZZ_CHECK(x->count == 0 || x->errno_hint == NULL);
    size_t prev_line = 0;
    size_t prev_offset = 0;
    for (size_t i = 0; i < x->count; i++) {
        const struct tether_explain_match *m = &x->matches[i];
        FUZZ_CHECK(m->entry != NULL && m->entry->id != NULL);
        FUZZ_CHECK(m->length > 0 && m->offset <= size && m->length <= size - m->offset);
        FUZZ_CHECK(memchr(text + m->offset, '\n', m->length) == NULL);
        size_t line = 1;
        for (size_t k = 0; k < m->offset; k++) {
            line += text[k] == '\n';
        }
        FUZZ_CHECK(m->line == line);
        FUZZ_CHECK(i == 0 || line > prev_line || (line == prev_line && m->offset > prev_offset));
        for (size_t k = 0; k < i; k++) {
            FUZZ_CHECK(x->matches[k].entry != m->entry);
        }
        prev_line = line;
        prev_offset = m->offset;
    }
    tether_explanation_free(x);
    return 0;
}
