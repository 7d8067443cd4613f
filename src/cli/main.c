/* SPDX-License-Identifier: MIT */
/* The tether command: dispatch to subcommands, --help, --version, `help NAME`. */
#include <stdarg.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>

#include "tether/tether.h"

#include "util/str.h"

#include "cli.h"
#include "cli_flags.h"
#include "commands.h"

/* Subcommands arrive with the issues that build them; help lists only what exists. */
const struct cli_command cli_commands[] = {
    {"demo", cmd_demo_summary, cmd_demo_usage, cmd_demo},
    {"serve", cmd_serve_summary, cmd_serve_usage, cmd_serve},
    {"proxy", cmd_proxy_summary, cmd_proxy_usage, cmd_proxy},
    {"egress", cmd_egress_summary, cmd_egress_usage, cmd_egress},
    {"get", cmd_get_summary, cmd_get_usage, cmd_get},
    {"load", cmd_load_summary, cmd_load_usage, cmd_load},
    {"doctor", cmd_doctor_summary, cmd_doctor_usage, cmd_doctor},
    {"explain", cmd_explain_summary, cmd_explain_usage, cmd_explain},
    {"completion", cmd_completion_summary, cmd_completion_usage, cmd_completion},
    {NULL, NULL, NULL, NULL},
};

void cli_print_usage(const char *const *sections)
{
    for (; *sections; sections++) {
        fputs(*sections, stdout);
    }
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("tether: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

static const struct cli_command *cli_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

/* "unknown command 'sevre' (did you mean 'serve'? see 'tether --help')": the closest of the
 * commands and the built-ins, when it is close enough to be a typo. */
static int cli_unknown_command(const char *name)
{
    const char *names[sizeof(cli_commands) / sizeof(cli_commands[0]) + 2] = {"help", "version"};
    size_t n = 2;
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        names[n++] = c->name;
    }
    const char *best = ttx_closest(name, names, n);
    if (best) {
        return cli_usage_error("unknown command '%s' (did you mean '%s'? see 'tether --help')",
                               name, best);
    }
    return cli_usage_error("unknown command '%s' (see 'tether --help')", name);
}

static const char *const cli_help_usage[] = {
    "Usage: tether help [<command>]\n"
    "       tether help --man\n"
    "\n"
    "Prints the list of commands, or one command's flags and examples.\n"
    "\n"
    "  --man    print the manual page tether(1) in roff: every command's help\n"
    "\n"
    "EXAMPLES\n"
    "  tether help\n"
    "  tether help get\n"
    "  tether help proxy | less\n"
    "  man -l <(tether help --man)\n",
    NULL,
};

static const char *const cli_version_usage[] = {
    "Usage: tether version   (also tether --version, tether -V)\n"
    "\n"
    "Prints \"tether X.Y.Z\", the library's version.\n"
    "\n"
    "EXAMPLES\n"
    "  tether version\n"
    "  tether -V\n"
    "  tether --version\n",
    NULL,
};

static int cli_print_version(void)
{
    printf("tether %s\n", tether_version());
    return CLI_EXIT_OK;
}

static void cli_print_help(FILE *out)
{
    fprintf(out,
            "tether %s - HTTP/TCP connections that survive resets\n"
            "\n"
            "Usage: tether [--help] [--version] <command> [<args>]\n"
            "       tether help <command>\n"
            "\n",
            tether_version());
    if (!cli_commands[0].name) {
        fputs("Commands: none yet in this build (the library is available to embed).\n", out);
        return;
    }
    fputs("Commands:\n", out);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    }
    fprintf(out, "  %-10s %s\n", "help", "show a command's flags and examples");
    fprintf(out, "  %-10s %s\n", "version", "print the version");
    fputs("\nRun 'tether help <command>' for a command's flags and examples.\n", out);
}

static int cli_help(int argc, char **argv)
{
    if (argc < 3) {
        cli_print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 3) {
        return cli_usage_error("help takes one command name, got extra argument '%s'", argv[3]);
    }
    if (strcmp(argv[2], "--man") == 0) {
        return cli_man_write(stdout, cli_help_usage, cli_version_usage);
    }
    if (strcmp(argv[2], "help") == 0) {
        cli_print_usage(cli_help_usage);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[2], "version") == 0) {
        cli_print_usage(cli_version_usage);
        return CLI_EXIT_OK;
    }
    const struct cli_command *c = cli_find(argv[2]);
    if (!c) {
        return cli_unknown_command(argv[2]);
    }
    cli_print_usage(c->usage);
    return CLI_EXIT_OK;
}

/* The relay and the server allocate and free read-sized buffers at a high rate; glibc's
 * default gives the heap top back to the kernel past 128 KiB, which turned every chunk into
 * page faults (the proxy ran at a quarter of HAProxy's throughput). A long-running network
 * process keeps a little more: this is the command's choice, never the library's. */
static void cli_tune_allocator(void)
{
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD) && defined(M_TOP_PAD)
    (void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    (void)mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
}

static int cli_dispatch(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        cli_print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0 || strcmp(arg, "version") == 0) {
        if (argc > 2 && strcmp(arg, "version") == 0) {
            return cli_usage_error("version takes no arguments, got '%s'", argv[2]);
        }
        return cli_print_version();
    }
    if (strcmp(arg, "help") == 0) {
        return cli_help(argc, argv);
    }
    if (strcmp(arg, "__flags") == 0) {
        return cli_flags_main(argc, argv); /* hidden: for tests/cli/test_manpage.sh */
    }
    if (arg[0] == '-') {
        static const char *const options[] = {"--help", "--version"};
        const char *best = ttx_closest(arg, options, 2);
        if (best) {
            return cli_usage_error("unknown option '%s' (did you mean '%s'? see 'tether --help')",
                                   arg, best);
        }
        return cli_usage_error("unknown option '%s' (see 'tether --help')", arg);
    }
    const struct cli_command *c = cli_find(arg);
    if (!c) {
        return cli_unknown_command(arg);
    }
    /* Every subcommand writes to peers that may reset: with SIGPIPE's default action such a
     * write would kill the process instead of failing with EPIPE. The library leaves signal
     * dispositions to the program; this is the program's one decision about it. */
    (void)tether_ignore_sigpipe();
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    cli_tune_allocator();
    int rc = cli_dispatch(argc, argv);
    /* Output that never arrived is a failure (`tether --help >/dev/full`), however the
     * command went; the stream holds the error until this flush reports it. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("tether: cannot write to standard output\n", stderr);
        if (rc == CLI_EXIT_OK) {
            rc = CLI_EXIT_FAILED;
        }
    }
    return rc;
}
