/* cli.h — what every subcommand receives: the global options, resolved
 * once in cli/main.c. Each command lives in cli/cmd_<name>.c and returns an
 * exit status from core/exitcode.h; only main.c prints the final error. */
#ifndef MLCTL_CLI_H
#define MLCTL_CLI_H

#include "exitcode.h"
#include "out.h"

#include <stdbool.h>
#include <stddef.h>

struct ml_ctx {
	const char *root;  /* project root: -C DIR, else "." */
	char *state_dir;   /* --state, MLCTL_STATE, else <root>/.mlctl (owned) */
	enum out_format output;
	bool quiet;
	bool no_color;
	const char *exe;   /* argv[0] as invoked, to find bin/mlserve beside it */
};

/* Help of one command: synopsis lines and the option list, printed by
 * `mlctl help CMD` and `mlctl CMD --help`. */
struct cmd_help {
	const char *name;
	const char *summary;
	const char *usage;   /* synopsis, one or more lines */
	const char *options; /* the options block, preformatted */
};

/* Every command: argv[0] is the command name, global options removed. */
#define ML_COMMANDS(X)                                            \
	X(abort)                                                        \
	X(continue)                                                     \
	X(deploy)                                                       \
	X(down)                                                         \
	X(gate)                                                         \
	X(help)                                                         \
	X(history)                                                      \
	X(load)                                                         \
	X(plan)                                                         \
	X(promote)                                                      \
	X(rollback)                                                     \
	X(status)                                                       \
	X(up)                                                           \
	X(validate)                                                     \
	X(version)                                                      \
	X(wait)

#define ML_CMD_DECL(n)                                                    \
	int cmd_##n(int argc, char **argv, struct ml_ctx *ctx);           \
	extern const struct cmd_help cmd_##n##_help;
ML_COMMANDS(ML_CMD_DECL)
#undef ML_CMD_DECL

/* True when argv holds -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);
/* Print a command's help to stdout. */
void cli_print_help(const struct cmd_help *h);
/* "mlctl: error: ..." + "try 'mlctl CMD --help'" on stderr; returns
 * ML_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The help entry of a command name, or NULL. */
const struct cmd_help *cli_find_help(const char *name);
/* The command table, in order, for `mlctl help`. */
size_t cli_command_count(void);
const struct cmd_help *cli_command_help(size_t i);

#endif
