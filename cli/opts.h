/* opts.h — options as data: one table per command, one parser for all, so
 * every command spells `--env E`, `--strategy S` and `--force` alike and
 * accepts "--opt VALUE" and "--opt=VALUE". */
#ifndef MLCTL_OPTS_H
#define MLCTL_OPTS_H

#include <stdbool.h>

struct cli_opt {
	const char *lng;   /* "--env" */
	const char *shrt;  /* "-e" or NULL */
	const char **value; /* for options taking a value, else NULL */
	bool *flag;         /* for flags, else NULL */
};

/* Parse argv[1..argc) against `opts` (terminated by a zeroed entry).
 * Positionals go to pos[0..max_pos). Returns how many positionals, or -1
 * after printing a usage error ("unknown option", "needs a value", "too
 * many arguments"). */
int cli_parse(const char *cmd, int argc, char **argv,
	      const struct cli_opt *opts, const char **pos, int max_pos);

#endif
