/* SPDX-License-Identifier: MIT */
/* The tether command's subcommand table and the helpers every subcommand shares. */
#ifndef TETHER_CLI_H
#define TETHER_CLI_H

#include <stdio.h>

/* Exit codes of DESIGN.md §5. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

struct cli_command {
    const char *name;
    const char *summary;               /* one line for `tether --help` */
    const char *const *usage;          /* `tether help NAME`: sections, NULL-terminated */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
};

/* Every subcommand this build has, NULL-terminated by a zeroed entry. */
extern const struct cli_command cli_commands[];

/* Prints a command's help (its sections, NULL-terminated: C99 caps one string literal at 4095
 * bytes) on stdout. */
void cli_print_usage(const char *const *sections);
/* Prints "tether: <message>" on stderr; returns CLI_EXIT_USAGE for `return cli_usage_error(..)`. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
