/* SPDX-License-Identifier: MIT */
/* `tether help --man`: the manual page tether(1), one section per command, written from the
 * same --help texts the commands print (so the two cannot disagree). The help texts follow one
 * layout, which this file turns into man macros: "Heading:" lines, option lines "  -x, --flag
 * ARG   description" with deeper-indented continuation lines, prose, "Usage:" blocks and an
 * EXAMPLES block of command lines. */
#include <stdlib.h>
#include <string.h>

#include "tether/tether.h"

#include "cli_flags.h"

/* Text for roff: backslashes as \e, every '-' as \- (options must copy-paste as ASCII
 * hyphen-minus), and a line that would start with a control character protected by \&. */
static void man_text(FILE *out, const char *s, size_t len, bool line_start)
{
    if (line_start && len > 0 && (s[0] == '.' || s[0] == '\'')) {
        fputs("\\&", out);
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') {
            fputs("\\e", out);
        } else if (s[i] == '-') {
            fputs("\\-", out);
        } else {
            fputc(s[i], out);
        }
    }
}

/* "-o, --output FILE": flags in bold, the rest as written. */
static void man_term(FILE *out, const char *term, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && term[j] != ' ' && term[j] != ',') {
            j++;
        }
        if (j > i && term[i] == '-') {
            fputs("\\fB", out);
            man_text(out, term + i, j - i, false);
            fputs("\\fR", out);
        } else {
            man_text(out, term + i, j - i, false);
        }
        if (j < len) {
            fputc(term[j], out);
            j++;
        }
        i = j;
    }
    fputc('\n', out);
}

static size_t man_indent(const char *line, size_t len)
{
    size_t n = 0;
    while (n < len && line[n] == ' ') {
        n++;
    }
    return n;
}

enum man_block { MAN_PROSE, MAN_OPTION, MAN_VERBATIM };

struct man_state {
    FILE *out;
    enum man_block block;
    size_t desc_col; /* where an option's description starts, for its continuation lines */
    bool examples;   /* after EXAMPLES: every indented line is a command */
    bool table;      /* inside an option: lines indented past its text (a table of values) */
    bool usage;      /* the verbatim block is a "Usage:" block, kept at the left margin */
};

/* Ends an option's table of values, kept line for line. */
static void man_end_table(struct man_state *m)
{
    if (m->table) {
        fputs(".fi\n", m->out);
        m->table = false;
    }
}

static void man_end_verbatim(struct man_state *m)
{
    man_end_table(m);
    if (m->block == MAN_VERBATIM) {
        fputs(m->usage ? ".fi\n" : ".fi\n.RE\n", m->out);
    }
    m->block = MAN_PROSE;
}

static void man_verbatim_line(struct man_state *m, const char *line, size_t len)
{
    if (m->block != MAN_VERBATIM) {
        m->usage = len > 7 && memcmp(line, "Usage: ", 7) == 0;
        fputs(m->usage ? ".nf\n" : ".RS 2\n.nf\n", m->out);
        m->block = MAN_VERBATIM;
    }
    size_t ind = man_indent(line, len);
    /* Two leading spaces are the help's margin; .RS gives it back. A usage block's lines
     * line up with its first. */
    size_t skip = m->usage ? 0 : ind < 2 ? ind : 2;
    man_text(m->out, line + skip, len - skip, true);
    fputc('\n', m->out);
}

static void man_option_line(struct man_state *m, const char *line, size_t len)
{
    man_end_verbatim(m);
    const char *term = line + 2;
    const char *gap = NULL;
    for (size_t i = 2; i + 1 < len; i++) {
        if (line[i] == ' ' && line[i + 1] == ' ') {
            gap = line + i;
            break;
        }
    }
    size_t term_len = gap ? (size_t)(gap - term) : len - 2;
    fputs(".TP\n", m->out);
    man_term(m->out, term, term_len);
    m->block = MAN_OPTION;
    m->desc_col = 0;
    if (gap) {
        size_t col = (size_t)(gap - line);
        col += man_indent(gap, len - col);
        m->desc_col = col;
        man_text(m->out, line + col, len - col, true);
        fputc('\n', m->out);
    }
}

static void man_line(struct man_state *m, const char *line, size_t len)
{
    size_t ind = man_indent(line, len);
    if (ind == len) {
        man_end_verbatim(m);
        fputs(".PP\n", m->out);
        return;
    }
    if (ind == 0) {
        m->examples = false;
        if (len == 8 && memcmp(line, "EXAMPLES", 8) == 0) {
            man_end_verbatim(m);
            fputs(".PP\n.B Examples\n", m->out);
            m->examples = true;
            return;
        }
        if (len > 7 && memcmp(line, "Usage: ", 7) == 0) {
            man_verbatim_line(m, line, len);
            return;
        }
        man_end_verbatim(m);
        if (line[len - 1] == ':') {
            fputs(".PP\n.B \"", m->out);
            man_text(m->out, line, len, false);
            fputs("\"\n", m->out);
        } else {
            man_text(m->out, line, len, true);
            fputc('\n', m->out);
        }
        return;
    }
    if (!m->examples && ind == 2 && line[2] == '-') {
        man_option_line(m, line, len);
        return;
    }
    if (!m->examples && m->block == MAN_OPTION && ind >= 4) {
        /* A continuation of the description; deeper lines (a table of values) keep their
         * lines and their indentation past the description's. */
        size_t from = ind;
        if (m->desc_col == 0) {
            m->desc_col = ind; /* the term stood alone: its text starts on this line */
        }
        if (ind > m->desc_col) {
            if (!m->table) {
                fputs(".nf\n", m->out);
                m->table = true;
            }
            from = m->desc_col;
        } else {
            man_end_table(m);
        }
        man_text(m->out, line + from, len - from, true);
        fputc('\n', m->out);
        return;
    }
    /* Indented lines of prose (a preset table, a command) and the examples, as written. */
    man_verbatim_line(m, line, len);
}

static void man_help(FILE *out, const char *help)
{
    struct man_state m = {.out = out, .block = MAN_PROSE};
    for (const char *line = help; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        man_line(&m, line, len);
        line = end ? end + 1 : line + len;
    }
    man_end_verbatim(&m);
}

/* .SH "TETHER NAME" and the command's help. */
static int man_command(FILE *out, const char *name, const char *const *usage)
{
    char *help = cli_usage_text(usage);
    if (!help) {
        return -1;
    }
    fputs(".SH \"TETHER ", out);
    for (const char *p = name; *p; p++) {
        fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, out);
    }
    fputs("\"\n", out);
    man_help(out, help);
    free(help);
    return 0;
}

int cli_man_write(FILE *out, const char *const *help_usage, const char *const *version_usage)
{
    fprintf(out,
            ".\\\" tether(1), written by `tether help --man` from the commands' --help texts.\n"
            ".TH TETHER 1 \"\" \"tether %s\" \"User Commands\"\n"
            /* Left-aligned, unhyphenated: the help's JSON keys and flags cannot be spread. */
            ".ad l\n"
            ".nh\n"
            ".SH NAME\n"
            "tether \\- HTTP/TCP connections that survive resets\n"
            ".SH SYNOPSIS\n"
            ".B tether\n"
            "[\\fB\\-\\-help\\fR] [\\fB\\-\\-version\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
            ".br\n"
            ".B tether help\n"
            "\\fICOMMAND\\fR\n"
            ".SH DESCRIPTION\n"
            "A command-line client, server, load generator and fault-injecting proxy built on\n"
            "the tether library, whose connections survive the resets idle keep-alive\n"
            "connections meet. Each command prints its flags and examples with\n"
            "\\fBtether help\\fR \\fICOMMAND\\fR; this page holds the same texts.\n"
            ".SH COMMANDS\n",
            tether_version());
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        fputs(".TP\n.B ", out);
        man_text(out, c->name, strlen(c->name), false);
        fputc('\n', out);
        man_text(out, c->summary, strlen(c->summary), true);
        fputc('\n', out);
    }
    fputs(".TP\n.B help\nshow a command's flags and examples; \\fB\\-\\-man\\fR prints this page\n"
          ".TP\n.B version\nprint the version\n",
          out);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (man_command(out, c->name, c->usage) != 0) {
            return CLI_EXIT_FAILED;
        }
    }
    if (man_command(out, "help", help_usage) != 0 ||
        man_command(out, "version", version_usage) != 0) {
        return CLI_EXIT_FAILED;
    }
    fputs(".SH \"EXIT STATUS\"\n"
          "0 on success, 1 when the command ran and failed (a request that failed, a server\n"
          "that could not start), 2 for a usage error: a bad flag, value or argument, named\n"
          "on one line on standard error.\n"
          ".SH FILES\n"
          "The shell completions \\fBtether completion bash\\fR|\\fBzsh\\fR|\\fBfish\\fR prints\n"
          "are installed with this page, under \\fIshare/bash\\-completion/completions\\fR,\n"
          "\\fIshare/zsh/site\\-functions\\fR and \\fIshare/fish/vendor_completions.d\\fR.\n"
          ".SH \"SEE ALSO\"\n"
          ".BR curl (1),\n"
          ".BR wrk (1)\n",
          out);
    return ferror(out) ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
