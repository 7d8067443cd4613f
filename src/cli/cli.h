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
    const char *usage;                 /* the full text for `tether help NAME` */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
};

/* Every subcommand this build has, NULL-terminated by a zeroed entry. */
extern const struct cli_command cli_commands[];

/* Prints "tether: <message>" on stderr; returns CLI_EXIT_USAGE for `return cli_usage_error(..)`. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
