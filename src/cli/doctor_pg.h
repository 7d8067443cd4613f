/* SPDX-License-Identifier: MIT */
/* `tether doctor postgres://...` (doctor_pg.c). */
#ifndef TETHER_CLI_DOCTOR_PG_H
#define TETHER_CLI_DOCTOR_PG_H

#include <stdbool.h>

/* True when an argument is a postgres:// or postgresql:// URL. */
bool doctor_pg_wanted(int argc, char **argv);
/* The subcommand for such a URL; exit 2 with a line saying what to install when tether was
 * built without PostgreSQL support. */
int cmd_doctor_pg(int argc, char **argv);

#endif
