/* SPDX-License-Identifier: MIT */
/* A command's flags read from its own parse loop (args.h's enumeration hook): the names the
 * loop compares an unknown flag against, then, one flag at a time, whether it takes a value and
 * which fixed values it accepts. Also `tether __flags` and the help-text lookups the man page
 * and the completions share. */
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

#include "cli_flags.h"

struct cli_enum_state {
    struct cli_flag_list *list;
    const char *help;
    bool collect_names; /* the first pass; later passes only look for values */
    const char *probed; /* the flag of a value pass, as typed */
    bool saw_value;
    char choices[CLI_FLAG_CHOICES_LEN]; /* copied: a parser may keep its list on the stack */
};

static bool cli_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ttx_is_digit(ch) || ch == '-' ||
           ch == '_';
}

/* True when `help` has `word` on its own: "--retry" is not found inside "--retry-connrefused". */
static bool cli_help_mentions(const char *help, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(help, word); p; p = strstr(p + 1, word)) {
        if ((p == help || !cli_name_char(p[-1])) && !cli_name_char(p[n])) {
            return true;
        }
    }
    return false;
}

static void cli_enum_on_flag(void *ud, const char *name)
{
    struct cli_enum_state *st = ud;
    if (!st->collect_names) {
        return;
    }
    char typed[sizeof(st->list->flags[0].name)];
    if (name[0] == '-') {
        (void)snprintf(typed, sizeof(typed), "%s", name);
    } else {
        /* Go-style names ("host") take one dash or two: use the form --help shows. */
        (void)snprintf(typed, sizeof(typed), "--%s", name);
        if (!cli_help_mentions(st->help, typed)) {
            (void)snprintf(typed, sizeof(typed), "-%s", name);
        }
    }
    for (size_t i = 0; i < st->list->n; i++) {
        if (strcmp(st->list->flags[i].name, typed) == 0) {
            return;
        }
    }
    if (st->list->n < ARGS_MAX_CONSIDERED) {
        struct cli_flag *f = &st->list->flags[st->list->n++];
        memset(f, 0, sizeof(*f));
        (void)snprintf(f->name, sizeof(f->name), "%s", typed);
    }
}

static void cli_enum_on_value(void *ud, const char *flag, const char *const *choices)
{
    struct cli_enum_state *st = ud;
    (void)flag; /* the parser's spelling; the probe is what we passed */
    st->saw_value = true;
    size_t used = 0;
    st->choices[0] = '\0';
    for (size_t k = 0; choices && choices[k]; k++) {
        int n = snprintf(st->choices + used, sizeof(st->choices) - used, "%s%s", k ? " " : "",
                         choices[k]);
        if (n < 0 || (size_t)n >= sizeof(st->choices) - used) {
            st->choices[0] = '\0'; /* too many to offer: offer none rather than half */
            return;
        }
        used += (size_t)n;
    }
}

static int cli_run_enum(const struct cli_command *cmd, const char *flag)
{
    char name[32];
    char probe[64];
    char sentinel[] = ARGS_ENUM_SENTINEL;
    char *argv[4] = {name, sentinel, NULL, NULL};
    (void)snprintf(name, sizeof(name), "%s", cmd->name);
    if (flag) {
        (void)snprintf(probe, sizeof(probe), "%s", flag);
        argv[1] = probe;
        argv[2] = sentinel;
    }
    return cmd->run(flag ? 3 : 2, argv);
}

char *cli_usage_text(const char *const *sections)
{
    size_t len = 1;
    for (const char *const *s = sections; *s; s++) {
        len += strlen(*s);
    }
    char *text = malloc(len);
    if (!text) {
        return NULL;
    }
    text[0] = '\0';
    size_t used = 0;
    for (const char *const *s = sections; *s; s++) {
        size_t n = strlen(*s);
        memcpy(text + used, *s, n + 1);
        used += n;
    }
    return text;
}

int cli_flags_of(const struct cli_command *cmd, struct cli_flag_list *out)
{
    char *help = cli_usage_text(cmd->usage);
    if (!help) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    struct cli_enum_state st = {.list = out, .help = help, .collect_names = true};
    struct args_enum_hook hook = {cli_enum_on_flag, cli_enum_on_value, &st};
    args_set_enum_hook(&hook);
    (void)cli_run_enum(cmd, NULL);
    st.collect_names = false;
    for (size_t i = 0; i < out->n; i++) {
        struct cli_flag *f = &out->flags[i];
        st.saw_value = false;
        st.choices[0] = '\0';
        (void)cli_run_enum(cmd, f->name);
        f->takes_value = st.saw_value;
        memcpy(f->choices, st.choices, sizeof(f->choices));
    }
    args_set_enum_hook(NULL);
    free(help);
    return out->n > 0 ? 0 : -1;
}

/* Whether the option term of a help line ("-o, --output FILE", "--breaker[=MODE]") names
 * `flag`. */
static bool cli_term_names(const char *term, size_t len, const char *flag)
{
    size_t n = strlen(flag);
    for (size_t i = 0; i + n <= len; i++) {
        if ((i == 0 || term[i - 1] == ' ' || term[i - 1] == ',') &&
            memcmp(term + i, flag, n) == 0 &&
            (i + n == len || term[i + n] == ' ' || term[i + n] == ',' || term[i + n] == '[' ||
             term[i + n] == '=')) {
            return true;
        }
    }
    return false;
}

void cli_flag_summary(const char *help, const char *flag, char *buf, size_t len)
{
    buf[0] = '\0';
    for (const char *line = help; *line;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        if (line_len > 3 && memcmp(line, "  -", 3) == 0) {
            const char *term = line + 2;
            const char *gap = strstr(term, "  ");
            size_t term_len = gap && gap < line + line_len ? (size_t)(gap - term) : line_len - 2;
            if (cli_term_names(term, term_len, flag)) {
                const char *desc = term + term_len;
                const char *stop = line + line_len;
                if (desc == stop && end) {
                    /* "-proxy-metrics, -runtime-metrics" alone: the text is on the next line. */
                    desc = end + 1;
                    const char *next_end = strchr(desc, '\n');
                    stop = next_end ? next_end : desc + strlen(desc);
                }
                while (desc < stop && *desc == ' ') {
                    desc++;
                }
                (void)snprintf(buf, len, "%.*s", (int)(stop - desc), desc);
                return;
            }
        }
        line = end ? end + 1 : line + line_len;
    }
}

int cli_flags_main(int argc, char **argv)
{
    if (argc != 3) {
        return cli_usage_error("__flags takes one command name");
    }
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, argv[2]) != 0) {
            continue;
        }
        struct cli_flag_list *list = malloc(sizeof(*list));
        if (!list) {
            return CLI_EXIT_FAILED;
        }
        int rc = cli_flags_of(c, list);
        for (size_t i = 0; rc == 0 && i < list->n; i++) {
            printf("%s\t%s\t%s\n", list->flags[i].name,
                   list->flags[i].takes_value ? "value" : "none", list->flags[i].choices);
        }
        free(list);
        if (rc != 0) {
            fprintf(stderr, "tether: the parser of '%s' reported no flags\n", argv[2]);
            return CLI_EXIT_FAILED;
        }
        return CLI_EXIT_OK;
    }
    return cli_usage_error("unknown command '%s'", argv[2]);
}
