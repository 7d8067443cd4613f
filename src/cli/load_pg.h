/* SPDX-License-Identifier: MIT */
/* `tether load postgres://...`: load through tether's PostgreSQL pool (load_pg.c). */
#ifndef TETHER_CLI_LOAD_PG_H
#define TETHER_CLI_LOAD_PG_H

#include <stdbool.h>
#include <stdint.h>

#include "args.h"

/* The flags only a postgres:// URL takes. */
struct load_pg_flags {
    const char *query; /* --query SQL */
    bool idempotent;   /* --idempotent */
    uint64_t max_size; /* --pool-size N [-c] */
    bool max_size_set;
    uint64_t statement_deadline_ms; /* --statement-deadline DUR [0: none] */
};

/* Takes the current flag when it is one of those: *taken says whether it was; returns 0, or 2
 * after printing the error line naming the bad value. The HTTP parser calls it too, so these
 * flags are known to `load` as a whole (help, man page, completions) and refused there with a
 * clear line. */
int load_pg_take(struct args_cursor *c, struct load_pg_flags *f, bool *taken);
/* True when an argument is a postgres:// or postgresql:// URL. */
bool load_pg_wanted(int argc, char **argv);
/* The subcommand for such a URL; exit 2 with a line saying what to install when tether was
 * built without PostgreSQL support. */
int cmd_load_pg(int argc, char **argv);

#endif
