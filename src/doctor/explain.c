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

/* Case-insensitive search of frag[0, m) in s[0, n): the offset, or SIZE_MAX. */
static size_t find_nocase(const char *s, size_t n, const char *frag, size_t m)
{
    if (m == 0) {
        return 0;
    }
    if (m > n) {
        return SIZE_MAX;
    }
    char first = ttx_lower(frag[0]);
    for (size_t i = 0; i + m <= n; i++) {
        if (ttx_lower(s[i]) != first) {
            continue;
        }
        size_t k = 1;
        while (k < m && ttx_lower(s[i + k]) == ttx_lower(frag[k])) {
            k++;
        }
        if (k == m) {
            return i;
        }
    }
    return SIZE_MAX;
}

int tt__explain_match_text(const char *line, size_t n, const char *pattern, size_t *start,
                           size_t *end)
{
    size_t pos = 0;
    bool first = true;
    const char *p = pattern;
    while (true) {
        const char *star = strchr(p, '*');
        size_t m = star ? (size_t)(star - p) : strlen(p);
        if (m > 0) {
            size_t at = find_nocase(line + pos, n - pos, p, m);
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

static int match_haproxy(const char *line, size_t n, const char *code, size_t *start, size_t *end)
{
    struct token tok[MAX_TOKENS];
    size_t count = tokenize(line, n, tok, MAX_TOKENS);
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
static int match_alb(const char *line, size_t n, const char *code, size_t *start, size_t *end)
{
    static const char *const types[] = {"http", "https", "h2", "grpcs", "ws", "wss", NULL};
    struct token tok[MAX_TOKENS];
    size_t count = tokenize(line, n, tok, MAX_TOKENS);
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

static int match_row(const struct tt_explain_row *row, const char *pattern, const char *line,
                     size_t n, size_t *start, size_t *end)
{
    switch (row->kind) {
    case TT_EXPLAIN_HAPROXY:
        return match_haproxy(line, n, pattern, start, end);
    case TT_EXPLAIN_ALB:
        return match_alb(line, n, pattern, start, end);
    case TT_EXPLAIN_TEXT:
    default:
        return tt__explain_match_text(line, n, pattern, start, end);
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

struct matcher {
    struct row_ref *rows;
    size_t nrows;
    bool *seen;                /* per row: already reported */
    struct candidate *cand;    /* this line's candidates */
    struct candidate *matches; /* reported, in order */
    size_t nmatches;
    size_t *lines;
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

static void scan_line(struct matcher *m, const char *line, size_t n, size_t line_off,
                      size_t line_no)
{
    size_t ncand = 0;
    for (size_t r = 0; r < m->nrows; r++) {
        const struct tt_explain_row *row = m->rows[r].row;
        for (size_t p = 0; p < TT_EXPLAIN_MAX_PATTERNS && row->patterns[p]; p++) {
            size_t s;
            size_t e;
            if (match_row(row, row->patterns[p], line, n, &s, &e)) {
                m->cand[ncand++] = (struct candidate){r, s, e};
            }
        }
    }
    settle_line(m, ncand, line_off, line_no);
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

/* The first errno the text names (earliest line, then earliest offset), or NULL. */
static const struct tether_explain_errno *find_errno(const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const struct tether_explain_errno *best = NULL;
        size_t best_start = SIZE_MAX;
        for (size_t i = 0; tt__explain_errnos[i].e.name; i++) {
            for (size_t p = 0; p < 8 && tt__explain_errnos[i].patterns[p]; p++) {
                size_t s;
                size_t e;
                if (tt__explain_match_text(text + pos, n, tt__explain_errnos[i].patterns[p], &s,
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
    if (!res || !m.rows || !m.seen || !m.cand || !m.matches || !m.lines) {
        goto done;
    }
    size_t r = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (size_t i = 0; tables[t][i].e.id; i++) {
            m.rows[r++].row = &tables[t][i];
        }
    }
    size_t pos = 0;
    size_t line_no = 1;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        size_t content = n;
        if (content > 0 && text[pos + content - 1] == '\r') {
            content--;
        }
        scan_line(&m, text + pos, content, pos, line_no);
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
        res->errno_hint = find_errno(text, len);
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
    return rc;
}

void tether_explanation_free(struct tether_explanation *e)
{
    if (e) {
        tt__free(e->matches);
        tt__free(e);
    }
}
