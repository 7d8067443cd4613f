/* SPDX-License-Identifier: MIT */
/* Every command's flags as its own parse loop knows them (args.h's enumeration hook), and the
 * man page and shell completions generated from them plus the --help texts, so neither can
 * list a flag the parser lacks or miss one it has. */
#ifndef TETHER_CLI_FLAGS_H
#define TETHER_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "args.h"
#include "cli.h"

#define CLI_FLAG_CHOICES_LEN 256

struct cli_flag {
    /* As users type it: "--retry", "-o"; proxy's Go-style names get the dashes its --help
     * writes them with ("-host", "--listen"). */
    char name[64];
    bool takes_value;
    /* The fixed values a shell may offer, space-separated ("graceful node rst"), or "". */
    char choices[CLI_FLAG_CHOICES_LEN];
};

struct cli_flag_list {
    struct cli_flag flags[ARGS_MAX_CONSIDERED];
    size_t n;
};

/* The flags of `cmd`, in its parser's order. Returns 0, or -1 when the command's parser did
 * not report its flags (it must end an unknown flag in args_unknown). */
int cli_flags_of(const struct cli_command *cmd, struct cli_flag_list *out);

/* The help text of `cmd`'s sections joined, in a buffer the caller frees (NULL without memory). */
char *cli_usage_text(const char *const *sections);

/* The description --help gives `flag` (its first line), copied into `buf`; "" when the help
 * has no line starting with the flag. */
void cli_flag_summary(const char *help, const char *flag, char *buf, size_t len);

/* `tether __flags CMD`: one line per flag, "NAME<TAB>value|none<TAB>CHOICES", for the test
 * that holds the help, the man page and the completions to the parsers. Hidden. */
int cli_flags_main(int argc, char **argv);

/* `tether help --man`: the manual page tether(1) in roff on `out`: a section per command of
 * cli_commands, then the built-ins `help` and `version` from their usage texts. */
int cli_man_write(FILE *out, const char *const *help_usage, const char *const *version_usage);

/* `tether completion bash|zsh|fish`. */
int cmd_completion(int argc, char **argv);
extern const char cmd_completion_summary[];
extern const char *const cmd_completion_usage[];

#endif
