/* SPDX-License-Identifier: MIT */
/* `tether load postgres://...`: load through tether's PostgreSQL pool (load_pg.c). */
#ifndef TETHER_CLI_LOAD_PG_H
#define TETHER_CLI_LOAD_PG_H

#include <stdbool.h>

/* True when an argument is a postgres:// or postgresql:// URL. */
bool load_pg_wanted(int argc, char **argv);
/* The subcommand for such a URL; exit 2 with a line saying what to install when tether was
 * built without PostgreSQL support. */
int cmd_load_pg(int argc, char **argv);

#endif
