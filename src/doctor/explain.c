/* SPDX-License-Identifier: MIT */
/* `explain`'s matcher: finds every catalogue error in a pasted text, line by line. Matches
 * never cross a line, so overlapping candidates are settled per line (the longest wins: the
 * most specific message), then each catalogue row is kept once, at its first line. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "doctor/explain_int.h"
#include "internal.h"
#include "util/str.h"

static const struct tt_explain_row *const tables[] = {
    tt__explain_rows_js,
    tt__explain_rows_native,
    tt__explain_rows_jvm,
    tt__explain_rows_proxy,
};

const struct tt_explain_row *tt__explain_row(size_t i)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        size_t n = 0;
        while (tables[t][n].e.id) {
            n++;
        }
        if (i < n) {
            return &tables[t][i];
        }
        i -= n;
    }
    return NULL;
}

const struct tether_explain_entry *tether_explain_catalog_entry(size_t i)
{
    const struct tt_explain_row *row = tt__explain_row(i);
    return row ? &row->e : NULL;
}

/* Search of lit[0, m) in s[0, n), comparing bytes through `fold` (identity, or ttx_lower for a
 * lower-cased s): the offset, or SIZE_MAX. Candidates are found with memchr; the rest is
 * compared in line (memcmp costs more here: the sanitizers intercept it). */
static size_t find_folded(const char *s, size_t n, const char *lit, size_t m, bool fold)
{
    if (m == 0) {
        return 0;
    }
    char first = fold ? ttx_lower(lit[0]) : lit[0];
    size_t i = 0;
    while (m <= n && i <= n - m) {
        const char *hit = memchr(s + i, first, n - m + 1 - i);
        if (!hit) {
            return SIZE_MAX;
        }
        i = (size_t)(hit - s);
        size_t k = 1;
        while (k < m && s[i + k] == (fold ? ttx_lower(lit[k]) : lit[k])) {
            k++;
        }
        if (k == m) {
            return i;
        }
        i++;
    }
    return SIZE_MAX;
}

/* Exact search of lit[0, m) in s[0, n). */
static size_t find_exact(const char *s, size_t n, const char *lit, size_t m)
{
    return find_folded(s, n, lit, m, false);
}

/* Search of frag[0, m) in the lower-cased s[0, n), ignoring the fragment's case. The text was
 * lower-cased once, so the text's bytes are not lower-cased again for every pattern. */
static size_t find_nocase(const char *s, size_t n, const char *frag, size_t m)
{
    return find_folded(s, n, frag, m, true);
}

/* The line's bytes lower-cased (ASCII), same length and offsets. */
static void lower_into(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = ttx_lower(src[i]);
    }
}

int tt__explain_match_text(const char *lower_line, size_t n, const char *pattern, size_t *start,
                           size_t *end)
{
    size_t pos = 0;
    bool first = true;
    const char *p = pattern;
    while (true) {
        const char *star = strchr(p, '*');
        size_t m = star ? (size_t)(star - p) : strlen(p);
        if (m > 0) {
            size_t at = find_nocase(lower_line + pos, n - pos, p, m);
            if (at == SIZE_MAX) {
                return 0;
            }
            if (first) {
                *start = pos + at;
                first = false;
            }
            pos += at + m;
        }
        if (!star) {
            break;
        }
        p = star + 1;
    }
    if (first) {
        return 0; /* an empty pattern matches nothing */
    }
    *end = pos;
    return 1;
}

/* The line's whitespace-separated tokens, at most `max` of them. */
struct token {
    size_t off;
    size_t len;
};

static size_t tokenize(const char *line, size_t n, struct token *tok, size_t max)
{
    size_t count = 0;
    size_t i = 0;
    while (i < n && count < max) {
        while (i < n && (line[i] == ' ' || line[i] == '\t')) {
            i++;
        }
        if (i == n) {
            break;
        }
        size_t s = i;
        while (i < n && line[i] != ' ' && line[i] != '\t') {
            i++;
        }
        tok[count].off = s;
        tok[count].len = i - s;
        count++;
    }
    return count;
}

static bool token_is(const char *line, const struct token *t, const char *lit)
{
    return t->len == strlen(lit) && memcmp(line + t->off, lit, t->len) == 0;
}

/* "1/1/0/0/0" or "12/3/2/1/+1": HAProxy's actconn/feconn/beconn/srv_conn/retries. */
static bool haproxy_counters(const char *s, size_t n)
{
    int fields = 1;
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        if (ttx_is_digit(s[i])) {
            digit = true;
        } else if (s[i] == '/' && digit) {
            fields++;
            digit = false;
        } else if (!(s[i] == '+' && fields == 5 && !digit)) {
            return false;
        }
    }
    return fields == 5 && digit;
}

static bool haproxy_state_char(char c)
{
    return c == '-' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

#define MAX_TOKENS 64

/* One line as every row sees it, its tokens split once for all the log-format rows. */
struct line_view {
    const char *raw;
    const char *lower; /* raw, lower-cased (ASCII) */
    size_t n;
    bool tokenized;
    size_t ntok;
    struct token tok[MAX_TOKENS];
};

/* The line's tokens, split on first use (only log-format rows need them). */
static const struct token *line_tokens(struct line_view *v, size_t *count)
{
    if (!v->tokenized) {
        v->ntok = tokenize(v->raw, v->n, v->tok, MAX_TOKENS);
        v->tokenized = true;
    }
    *count = v->ntok;
    return v->tok;
}

static int match_haproxy(struct line_view *v, const char *code, size_t *start, size_t *end)
{
    const char *line = v->raw;
    size_t count;
    const struct token *tok = line_tokens(v, &count);
    for (size_t i = 0; i + 1 < count; i++) {
        const char *t = line + tok[i].off;
        if (tok[i].len == 4 && t[0] == code[0] && t[1] == code[1] && haproxy_state_char(t[2]) &&
            haproxy_state_char(t[3]) && haproxy_counters(line + tok[i + 1].off, tok[i + 1].len)) {
            *start = tok[i].off;
            *end = tok[i].off + tok[i].len;
            return 1;
        }
    }
    return 0;
}

/* An ALB access-log entry: type time elb client:port target:port request_processing_time
 * target_processing_time response_processing_time elb_status_code target_status_code ...
 * (awsdocs load-balancer-access-logs.md). The match spans type..target_status_code. */
static int match_alb(struct line_view *v, const char *code, size_t *start, size_t *end)
{
    static const char *const types[] = {"http", "https", "h2", "grpcs", "ws", "wss", NULL};
    const char *line = v->raw;
    size_t count;
    const struct token *tok = line_tokens(v, &count);
    for (size_t i = 0; i + 9 < count; i++) {
        bool type = false;
        for (size_t k = 0; types[k]; k++) {
            type = type || token_is(line, &tok[i], types[k]);
        }
        if (!type || tok[i + 2].len < 4 || memcmp(line + tok[i + 2].off, "app/", 4) != 0 ||
            !token_is(line, &tok[i + 8], code)) {
            continue;
        }
        /* A 502 the target sent itself is the application's; the ALB's own 502 has no
         * target status. */
        if (strcmp(code, "502") == 0 && !token_is(line, &tok[i + 9], "-")) {
            continue;
        }
        *start = tok[i].off;
        *end = tok[i + 9].off + tok[i + 9].len;
        return 1;
    }
    return 0;
}

static int match_row(const struct tt_explain_row *row, const char *pattern, struct line_view *v,
                     size_t *start, size_t *end)
{
    switch (row->kind) {
    case TT_EXPLAIN_HAPROXY:
        return match_haproxy(v, pattern, start, end);
    case TT_EXPLAIN_ALB:
        return match_alb(v, pattern, start, end);
    case TT_EXPLAIN_TEXT:
    default:
        return tt__explain_match_text(v->lower, v->n, pattern, start, end);
    }
}

struct candidate {
    size_t row;
    size_t start;
    size_t end;
};

/* A row of the catalogue, wrapped so that arrays of them are arrays of structs. */
struct row_ref {
    const struct tt_explain_row *row;
};

/* Which pairs of adjacent bytes occur in the lower-cased text, hashed into 4096 bits. A pattern
 * with a pair of adjacent fragment bytes that is missing cannot match, which rules most of the
 * catalogue out without a search (a false "present" only costs the search). */
#define BIGRAM_BITS 4096u

struct bigrams {
    uint64_t bits[BIGRAM_BITS / 64];
};

static size_t bigram_slot(char a, char b)
{
    return (((size_t)(unsigned char)a << 4) ^ (unsigned char)b) % BIGRAM_BITS;
}

static void bigrams_fill(struct bigrams *bg, const char *lower, size_t len)
{
    memset(bg->bits, 0, sizeof(bg->bits));
    for (size_t i = 1; i < len; i++) {
        size_t k = bigram_slot(lower[i - 1], lower[i]);
        bg->bits[k / 64] |= (uint64_t)1 << (k % 64);
    }
}

/* False when some fragment of the text pattern has a pair of bytes the text lacks. */
static bool bigrams_allow(const struct bigrams *bg, const char *pattern)
{
    for (size_t i = 1; pattern[0] != '\0' && pattern[i] != '\0'; i++) {
        char a = ttx_lower(pattern[i - 1]);
        char b = ttx_lower(pattern[i]);
        if (a == '*' || b == '*') {
            continue;
        }
        size_t k = bigram_slot(a, b);
        if ((bg->bits[k / 64] & ((uint64_t)1 << (k % 64))) == 0) {
            return false;
        }
    }
    return true;
}

/* A pattern worth trying on each line: one that matches the whole text read as one line (a
 * line's match is also one of the whole text), or a log-format row's whose fixed parts occur
 * in the text. Filtering once per text keeps a paste of many lines from being tried against
 * every pattern of the catalogue. */
struct live_pattern {
    size_t row;
    const char *pattern;
};

struct matcher {
    struct row_ref *rows;
    size_t nrows;
    bool *seen;                /* per row: already reported */
    struct candidate *cand;    /* this line's candidates */
    struct candidate *matches; /* reported, in order */
    size_t nmatches;
    size_t *lines;
    char *lower;               /* the whole text, lower-cased */
    struct live_pattern *live; /* in catalogue order */
    size_t nlive;
    bool *errno_live;     /* per errno row and spelling: it matches the whole text */
    struct bigrams pairs; /* of the whole text */
    struct line_view view;
};

/* Keeps the longest of overlapping candidates (the earlier row on a tie), then reports each
 * kept one whose row was not reported before, in the order they appear on the line. */
static void settle_line(struct matcher *m, size_t ncand, size_t line_off, size_t line_no)
{
    for (size_t i = 0; i < ncand; i++) {
        struct candidate *a = &m->cand[i];
        bool beaten = false;
        for (size_t j = 0; j < ncand && !beaten; j++) {
            const struct candidate *b = &m->cand[j];
            if (j == i || b->start >= a->end || a->start >= b->end) {
                continue;
            }
            size_t la = a->end - a->start;
            size_t lb = b->end - b->start;
            beaten = lb > la || (lb == la && (b->row < a->row || (b->row == a->row && j < i)));
        }
        if (beaten) {
            a->row = SIZE_MAX;
        }
    }
    /* Insertion by start offset among this line's survivors. */
    size_t first = m->nmatches;
    for (size_t i = 0; i < ncand; i++) {
        struct candidate c = m->cand[i];
        if (c.row == SIZE_MAX || m->seen[c.row]) {
            continue;
        }
        m->seen[c.row] = true;
        c.start += line_off;
        c.end += line_off;
        size_t k = m->nmatches;
        while (k > first && m->matches[k - 1].start > c.start) {
            m->matches[k] = m->matches[k - 1];
            m->lines[k] = m->lines[k - 1];
            k--;
        }
        m->matches[k] = c;
        m->lines[k] = line_no;
        m->nmatches++;
    }
}

static void scan_line(struct matcher *m, const char *line, const char *lower, size_t n,
                      size_t line_off, size_t line_no)
{
    size_t ncand = 0;
    struct line_view *v = &m->view;
    v->raw = line;
    v->lower = lower;
    v->n = n;
    v->tokenized = false;
    for (size_t i = 0; i < m->nlive; i++) {
        const struct live_pattern *lp = &m->live[i];
        size_t s;
        size_t e;
        if (match_row(m->rows[lp->row].row, lp->pattern, v, &s, &e)) {
            m->cand[ncand++] = (struct candidate){lp->row, s, e};
        }
    }
    settle_line(m, ncand, line_off, line_no);
}

/* Whether a pattern may match some line of the text: a text pattern must match the whole text
 * (lower: the text lower-cased); an HAProxy state's two characters and an ALB entry's "app/"
 * and status code must appear in it as they are. */
static bool may_match(const struct matcher *m, const struct tt_explain_row *row,
                      const char *pattern, const char *text, size_t len)
{
    size_t s;
    size_t e;
    switch (row->kind) {
    case TT_EXPLAIN_HAPROXY:
        return find_exact(text, len, pattern, strnlen(pattern, 2)) != SIZE_MAX;
    case TT_EXPLAIN_ALB:
        return find_exact(text, len, "app/", 4) != SIZE_MAX &&
               find_exact(text, len, pattern, strlen(pattern)) != SIZE_MAX;
    case TT_EXPLAIN_TEXT:
    default:
        return bigrams_allow(&m->pairs, pattern) &&
               tt__explain_match_text(m->lower, len, pattern, &s, &e) != 0;
    }
}

/* The patterns that may match some line of the text, in catalogue order. */
static void find_live(struct matcher *m, const char *text, size_t len)
{
    for (size_t r = 0; r < m->nrows; r++) {
        const struct tt_explain_row *row = m->rows[r].row;
        for (size_t p = 0; p < TT_EXPLAIN_MAX_PATTERNS && row->patterns[p]; p++) {
            if (may_match(m, row, row->patterns[p], text, len)) {
                m->live[m->nlive++] = (struct live_pattern){r, row->patterns[p]};
            }
        }
    }
}

/* Generic errno-level rows give way to a specific message found anywhere in the text;
 * wrappers give way to anything. */
static void drop_subsumed(struct matcher *m)
{
    bool specific = false;
    bool generic = false;
    for (size_t i = 0; i < m->nmatches; i++) {
        unsigned flags = m->rows[m->matches[i].row].row->flags;
        specific = specific || (flags & (TT_EXPLAIN_GENERIC | TT_EXPLAIN_WRAPPER)) == 0;
        generic = generic || (flags & TT_EXPLAIN_GENERIC) != 0;
    }
    size_t out = 0;
    for (size_t i = 0; i < m->nmatches; i++) {
        unsigned flags = m->rows[m->matches[i].row].row->flags;
        bool drop = ((flags & TT_EXPLAIN_GENERIC) && specific) ||
                    ((flags & TT_EXPLAIN_WRAPPER) && (specific || generic));
        if (!drop) {
            m->matches[out] = m->matches[i];
            m->lines[out] = m->lines[i];
            out++;
        }
    }
    m->nmatches = out;
}

#define ERRNO_SPELLINGS                                                                            \
    (sizeof(tt__explain_errnos[0].patterns) / sizeof(tt__explain_errnos[0].patterns[0]))

static size_t errno_rows(void)
{
    size_t n = 0;
    while (tt__explain_errnos[n].e.name) {
        n++;
    }
    return n;
}

/* The first errno the text names (earliest line, then earliest offset), or NULL. `lower` is the
 * text lower-cased; live[] is scratch, one per errno row and spelling. */
static const struct tether_explain_errno *find_errno(const char *lower, size_t len,
                                                     const struct bigrams *pairs, bool *live)
{
    bool any = false;
    for (size_t i = 0; tt__explain_errnos[i].e.name; i++) {
        for (size_t p = 0; p < ERRNO_SPELLINGS && tt__explain_errnos[i].patterns[p]; p++) {
            size_t s;
            size_t e;
            const char *pattern = tt__explain_errnos[i].patterns[p];
            bool hit = bigrams_allow(pairs, pattern) &&
                       tt__explain_match_text(lower, len, pattern, &s, &e) != 0;
            live[i * ERRNO_SPELLINGS + p] = hit;
            any = any || hit;
        }
    }
    size_t pos = 0;
    while (any && pos < len) {
        const char *nl = memchr(lower + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (lower + pos)) : len - pos;
        const struct tether_explain_errno *best = NULL;
        size_t best_start = SIZE_MAX;
        for (size_t i = 0; tt__explain_errnos[i].e.name; i++) {
            for (size_t p = 0; p < ERRNO_SPELLINGS && tt__explain_errnos[i].patterns[p]; p++) {
                size_t s;
                size_t e;
                if (live[i * ERRNO_SPELLINGS + p] &&
                    tt__explain_match_text(lower + pos, n, tt__explain_errnos[i].patterns[p], &s,
                                           &e) &&
                    s < best_start) {
                    best = &tt__explain_errnos[i].e;
                    best_start = s;
                }
            }
        }
        if (best) {
            return best;
        }
        pos += n + 1;
    }
    return NULL;
}

int tether_explain(const char *text, size_t len, struct tether_explanation **out)
{
    if (!out || (!text && len > 0)) {
        return TETHER_EINVAL;
    }
    *out = NULL;
    struct matcher m = {0};
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (size_t i = 0; tables[t][i].e.id; i++) {
            m.nrows++;
        }
    }
    int rc = TETHER_ENOMEM;
    struct tether_explanation *res = tt__calloc(1, sizeof(*res));
    m.rows = tt__calloc(m.nrows, sizeof(*m.rows));
    m.seen = tt__calloc(m.nrows, sizeof(*m.seen));
    m.cand = tt__calloc(m.nrows * TT_EXPLAIN_MAX_PATTERNS, sizeof(*m.cand));
    m.matches = tt__calloc(m.nrows, sizeof(*m.matches));
    m.lines = tt__calloc(m.nrows, sizeof(*m.lines));
    m.lower = tt__malloc(len > 0 ? len : 1);
    m.live = tt__calloc(m.nrows * TT_EXPLAIN_MAX_PATTERNS, sizeof(*m.live));
    m.errno_live = tt__calloc(errno_rows() * ERRNO_SPELLINGS, sizeof(*m.errno_live));
    if (!res || !m.rows || !m.seen || !m.cand || !m.matches || !m.lines || !m.lower || !m.live ||
        !m.errno_live) {
        goto done;
    }
    lower_into(m.lower, text, len);
    size_t r = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (size_t i = 0; tables[t][i].e.id; i++) {
            m.rows[r++].row = &tables[t][i];
        }
    }
    bigrams_fill(&m.pairs, m.lower, len);
    find_live(&m, text, len);
    size_t pos = 0;
    size_t line_no = 1;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        size_t content = n;
        if (content > 0 && text[pos + content - 1] == '\r') {
            content--;
        }
        scan_line(&m, text + pos, m.lower + pos, content, pos, line_no);
        pos += n + 1;
        line_no++;
    }
    drop_subsumed(&m);
    if (m.nmatches > 0) {
        res->matches = tt__calloc(m.nmatches, sizeof(*res->matches));
        if (!res->matches) {
            goto done;
        }
        for (size_t i = 0; i < m.nmatches; i++) {
            res->matches[i] = (struct tether_explain_match){
                .entry = &m.rows[m.matches[i].row].row->e,
                .offset = m.matches[i].start,
                .length = m.matches[i].end - m.matches[i].start,
                .line = m.lines[i],
            };
        }
        res->count = m.nmatches;
    } else {
        res->errno_hint = find_errno(m.lower, len, &m.pairs, m.errno_live);
    }
    *out = res;
    res = NULL;
    rc = TETHER_OK;
done:
    tether_explanation_free(res);
    tt__free(m.rows);
    tt__free(m.seen);
    tt__free(m.cand);
    tt__free(m.matches);
    tt__free(m.lines);
    tt__free(m.lower);
    tt__free(m.live);
    tt__free(m.errno_live);
    return rc;
}

void tether_explanation_free(struct tether_explanation *e)
{
    if (e) {
        tt__free(e->matches);
        tt__free(e);
    }
}
