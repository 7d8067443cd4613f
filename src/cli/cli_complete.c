/* SPDX-License-Identifier: MIT */
/* `tether completion bash|zsh|fish`: completion scripts written from the commands' own flag
 * parsers (cli_flags_of) and --help texts, so a flag cannot be missing or invented. CMake runs
 * this at build time and installs the scripts where each shell looks for them. */
#include <stdlib.h>
#include <string.h>

#include "cli_flags.h"

#define COMPLETION_CMD "completion"

static const char *const completion_shells[] = {"bash", "zsh", "fish", NULL};

const char cmd_completion_summary[] = "print a bash, zsh or fish completion script";

const char *const cmd_completion_usage[] = {
    "Usage: tether completion bash|zsh|fish\n"
    "\n"
    "Prints a completion script for the shell: commands, every flag of each command\n"
    "(read from the command's own parser) and the fixed values of flags such as\n"
    "--policy, --close-style and --output. `cmake --install` installs all three;\n"
    "without installing, load one into the running shell.\n"
    "\n"
    "  -h, --help    print this text\n"
    "\n"
    "EXAMPLES\n"
    "  source <(tether completion bash)\n"
    "  tether completion zsh > ~/.zfunc/_tether\n"
    "  tether completion fish > ~/.config/fish/completions/tether.fish\n",
    NULL,
};

/* One command's flags with their --help descriptions. */
struct completion_cmd {
    const struct cli_command *cmd;
    struct cli_flag_list flags;
    char *help;
};

/* A description inside single quotes: fish escapes a quote as \', zsh closes and reopens the
 * quoting; zsh's _arguments also reads "[...]" as the description's bounds, so brackets become
 * parentheses there. */
static void completion_desc(FILE *out, const char *s, bool zsh)
{
    for (; *s; s++) {
        if (zsh && *s == '\'') {
            fputs("'\\''", out);
        } else if (zsh && *s == '\\') {
            continue; /* _arguments would read it as an escape */
        } else if (zsh && (*s == '[' || *s == ']')) {
            fputc(*s == '[' ? '(' : ')', out);
        } else if (*s == '\'' || *s == '\\') {
            fputc('\\', out);
            fputc(*s, out);
        } else {
            fputc(*s, out);
        }
    }
}

static void completion_command_words(FILE *out)
{
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        fprintf(out, "%s ", c->name);
    }
    fputs("help version", out);
}

static void completion_bash(FILE *out, const struct completion_cmd *cmds, size_t n)
{
    fputs("# bash completion for tether(1), written by `tether completion bash` from the\n"
          "# commands' own flag parsers.\n"
          "_tether() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} flags=\n"
          "    COMPREPLY=()\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "        COMPREPLY=($(compgen -W '",
          out);
    completion_command_words(out);
    fputs(" --help --version' -- \"$cur\"))\n"
          "        return 0\n"
          "    fi\n"
          "    case ${COMP_WORDS[1]} in\n"
          "    help)\n"
          "        [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W '",
          out);
    completion_command_words(out);
    fputs(" --man' -- \"$cur\"))\n"
          "        return 0\n"
          "        ;;\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const struct completion_cmd *cc = &cmds[i];
        fprintf(out, "    %s)\n", cc->cmd->name);
        if (strcmp(cc->cmd->name, COMPLETION_CMD) == 0) {
            fputs("        if [ \"$COMP_CWORD\" -eq 2 ] && [[ $cur != -* ]]; then\n"
                  "            COMPREPLY=($(compgen -W 'bash zsh fish' -- \"$cur\"))\n"
                  "            return 0\n"
                  "        fi\n",
                  out);
        }
        fputs("        flags='", out);
        for (size_t k = 0; k < cc->flags.n; k++) {
            fprintf(out, "%s%s", k ? " " : "", cc->flags.flags[k].name);
        }
        fputs("'\n        case $prev in\n", out);
        for (size_t k = 0; k < cc->flags.n; k++) {
            const struct cli_flag *f = &cc->flags.flags[k];
            if (f->choices[0]) {
                fprintf(out,
                        "        %s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return 0 ;;\n",
                        f->name, f->choices);
            }
        }
        bool any = false;
        for (size_t k = 0; k < cc->flags.n; k++) {
            const struct cli_flag *f = &cc->flags.flags[k];
            if (f->takes_value && !f->choices[0]) {
                fprintf(out, "%s%s", any ? " | " : "        ", f->name);
                any = true;
            }
        }
        if (any) {
            /* A free value: nothing to offer but the shell's default (file names). */
            fputs(") return 0 ;;\n", out);
        }
        fputs("        esac\n        ;;\n", out);
    }
    fputs("    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
          "    fi\n"
          "    return 0\n"
          "}\n"
          "complete -o bashdefault -o default -F _tether tether\n",
          out);
}

static void completion_zsh(FILE *out, const struct completion_cmd *cmds, size_t n)
{
    fputs("#compdef tether\n"
          "# zsh completion for tether(1), written by `tether completion zsh` from the\n"
          "# commands' own flag parsers.\n"
          "_tether() {\n"
          "    local curcontext=$curcontext state line\n"
          "    local -a commands\n"
          "    commands=(\n",
          out);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        fprintf(out, "        '%s:", c->name);
        completion_desc(out, c->summary, true);
        fputs("'\n", out);
    }
    fputs("        'help:show the flags and examples of a command'\n"
          "        'version:print the version'\n"
          "    )\n"
          "    _arguments -C '(- *)--help[list the commands]' '(- *)--version[print the "
          "version]' \\\n"
          "        '1:command:->command' '*::argument:->argument' && return 0\n"
          "    case $state in\n"
          "    command) _describe -t commands 'tether command' commands ;;\n"
          "    argument)\n"
          "        case $words[1] in\n"
          "        help) _describe -t commands 'tether command' commands; compadd -- --man ;;\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const struct completion_cmd *cc = &cmds[i];
        fprintf(out, "        %s)\n            _arguments -S", cc->cmd->name);
        for (size_t k = 0; k < cc->flags.n; k++) {
            const struct cli_flag *f = &cc->flags.flags[k];
            char desc[160];
            cli_flag_summary(cc->help, f->name, desc, sizeof(desc));
            fprintf(out, " \\\n                '*%s[", f->name);
            completion_desc(out, desc, true);
            fputc(']', out);
            if (f->choices[0]) {
                fprintf(out, ":value:(%s)", f->choices);
            } else if (f->takes_value) {
                fputs(":value:_files", out);
            }
            fputc('\'', out);
        }
        if (strcmp(cc->cmd->name, COMPLETION_CMD) == 0) {
            fputs(" \\\n                '1:shell:(bash zsh fish)'", out);
        } else {
            fputs(" \\\n                '*:argument:_files'", out);
        }
        fputs("\n            ;;\n", out);
    }
    fputs("        esac\n"
          "        ;;\n"
          "    esac\n"
          "}\n"
          "_tether \"$@\"\n",
          out);
}

/* fish names a flag by its kind: -s x (one letter), -l name (--name), -o name (Go's -name). */
static void completion_fish_flag(FILE *out, const char *name)
{
    if (name[1] == '-') {
        fprintf(out, " -l %s", name + 2);
    } else if (name[2] == '\0') {
        fprintf(out, " -s %s", name + 1);
    } else {
        fprintf(out, " -o %s", name + 1);
    }
}

static void completion_fish(FILE *out, const struct completion_cmd *cmds, size_t n)
{
    fputs("# fish completion for tether(1), written by `tether completion fish` from the\n"
          "# commands' own flag parsers.\n",
          out);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        fprintf(out, "complete -c tether -f -n __fish_use_subcommand -a %s -d '", c->name);
        completion_desc(out, c->summary, false);
        fputs("'\n", out);
    }
    fputs("complete -c tether -f -n __fish_use_subcommand -a help -d 'show the flags and examples "
          "of a command'\n"
          "complete -c tether -f -n __fish_use_subcommand -a version -d 'print the version'\n"
          "complete -c tether -f -n __fish_use_subcommand -l help -d 'list the commands'\n"
          "complete -c tether -f -n __fish_use_subcommand -l version -d 'print the version'\n"
          "complete -c tether -f -n '__fish_seen_subcommand_from help' -a '",
          out);
    completion_command_words(out);
    fputs("'\ncomplete -c tether -f -n '__fish_seen_subcommand_from help' -l man "
          "-d 'the manual page in roff'\n"
          "complete -c tether -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh "
          "fish'\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const struct completion_cmd *cc = &cmds[i];
        for (size_t k = 0; k < cc->flags.n; k++) {
            const struct cli_flag *f = &cc->flags.flags[k];
            char desc[160];
            cli_flag_summary(cc->help, f->name, desc, sizeof(desc));
            fprintf(out, "complete -c tether -n '__fish_seen_subcommand_from %s'", cc->cmd->name);
            completion_fish_flag(out, f->name);
            if (f->choices[0]) {
                fprintf(out, " -x -a '%s'", f->choices);
            } else if (f->takes_value) {
                fputs(" -r", out);
            }
            fputs(" -d '", out);
            completion_desc(out, desc, false);
            fputs("'\n", out);
        }
    }
}

static int completion_write(FILE *out, int shell)
{
    size_t n = 0;
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        n++;
    }
    struct completion_cmd *cmds = calloc(n + 1, sizeof(*cmds)); /* + 1: never a 0-byte calloc */
    if (!cmds) {
        return args_error(COMPLETION_CMD, "out of memory");
    }
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        cmds[i].cmd = &cli_commands[i];
        cmds[i].help = cli_usage_text(cli_commands[i].usage);
        if (!cmds[i].help || cli_flags_of(cmds[i].cmd, &cmds[i].flags) != 0) {
            fprintf(stderr, "tether completion: cannot read the flags of '%s'\n",
                    cli_commands[i].name);
            rc = CLI_EXIT_FAILED;
        }
    }
    if (rc == CLI_EXIT_OK) {
        if (shell == 0) {
            completion_bash(out, cmds, n);
        } else if (shell == 1) {
            completion_zsh(out, cmds, n);
        } else {
            completion_fish(out, cmds, n);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(cmds[i].help);
    }
    free(cmds);
    return rc;
}

int cmd_completion(int argc, char **argv)
{
    struct args_cursor c;
    args_init(&c, COMPLETION_CMD, argc, argv);
    int shell = -1;
    bool help = false;
    while (args_next(&c)) {
        int rc = 0;
        if (args_is(&c, "-h") || args_is(&c, "--help")) {
            help = true;
            rc = args_take_none(&c);
        } else if (args_positional(&c) && shell < 0) {
            for (int i = 0; completion_shells[i]; i++) {
                if (strcmp(c.arg, completion_shells[i]) == 0) {
                    shell = i;
                }
            }
            if (shell < 0) {
                rc = args_error(COMPLETION_CMD, "unknown shell '%s' (expected bash, zsh or fish)",
                                c.arg);
            }
        } else {
            rc = args_unknown(&c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (help) {
        cli_print_usage(cmd_completion_usage);
        return CLI_EXIT_OK;
    }
    if (shell < 0) {
        return args_error(COMPLETION_CMD, "which shell? (tether completion bash|zsh|fish)");
    }
    return completion_write(stdout, shell);
}
