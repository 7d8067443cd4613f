/* SPDX-License-Identifier: MIT */
/* Entry points and help texts of the subcommands, for the table in main.c. */
#ifndef TETHER_CLI_COMMANDS_H
#define TETHER_CLI_COMMANDS_H

/* `tether serve`: argv[0] is "serve". Returns the process exit code (DESIGN.md §5). */
int cmd_serve(int argc, char **argv);
extern const char cmd_serve_summary[];
extern const char *const cmd_serve_usage[];

/* `tether proxy`: argv[0] is "proxy". Returns the process exit code (DESIGN.md §5). */
int cmd_proxy(int argc, char **argv);
extern const char cmd_proxy_summary[];
extern const char *const cmd_proxy_usage[];

/* `tether get`: argv[0] is "get". Returns the process exit code (DESIGN.md §5). */
int cmd_get(int argc, char **argv);
extern const char cmd_get_summary[];
extern const char *const cmd_get_usage[];

/* `tether load`: argv[0] is "load". Returns the process exit code (DESIGN.md §5). */
int cmd_load(int argc, char **argv);
extern const char cmd_load_summary[];
extern const char *const cmd_load_usage[];

/* `tether demo`: argv[0] is "demo". Returns the process exit code (DESIGN.md §5). */
int cmd_demo(int argc, char **argv);
extern const char cmd_demo_summary[];
extern const char *const cmd_demo_usage[];

/* `tether doctor`: argv[0] is "doctor". Returns the process exit code (DESIGN.md §5). */
int cmd_doctor(int argc, char **argv);
extern const char cmd_doctor_summary[];
extern const char *const cmd_doctor_usage[];

/* `tether explain`: argv[0] is "explain". Returns the process exit code (DESIGN.md §5). */
int cmd_explain(int argc, char **argv);
extern const char cmd_explain_summary[];
extern const char *const cmd_explain_usage[];

/* `tether egress`: argv[0] is "egress". Returns the process exit code (DESIGN.md §5). */
int cmd_egress(int argc, char **argv);
extern const char cmd_egress_summary[];
extern const char *const cmd_egress_usage[];

#endif
