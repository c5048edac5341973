/* main.c — mlctl's entry point: global options (accepted before or after
 * the command), the command table, dispatch, and the one place that turns
 * a command's result into the process exit status. */
#include "cli.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, struct ml_ctx *ctx);
	const struct cmd_help *help;
};

static const struct command commands[] = {
#define ML_CMD_ROW(n) { #n, cmd_##n, &cmd_##n##_help },
	ML_COMMANDS(ML_CMD_ROW)
#undef ML_CMD_ROW
};

const struct cmd_help *cli_find_help(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].help;
	return NULL;
}

size_t cli_command_count(void)
{
	return sizeof(commands) / sizeof(*commands);
}

const struct cmd_help *cli_command_help(size_t i)
{
	return commands[i].help;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

void cli_print_help(const struct cmd_help *h)
{
	printf("mlctl %s — %s\n\nUsage:\n%s\n", h->name, h->summary, h->usage);
	if (h->options && *h->options)
		printf("\nOptions:\n%s\n", h->options);
	printf("\nGlobal options: -C DIR, --output text|json, --quiet, "
	       "--no-color, --state DIR\nSee mlctl-%s(1).\n",
	       h->name);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	out_error("%s", msg);
	free(msg);
	if (cmd)
		fprintf(stderr, "Try 'mlctl %s --help'.\n", cmd);
	else
		fprintf(stderr, "Try 'mlctl --help'.\n");
	return ML_EXIT_USAGE;
}

/* Takes an option's value: "--opt VALUE" or "--opt=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
			     bool *bad)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], name) == 0) {
		if (*i + 1 >= argc) {
			*bad = true;
			return NULL;
		}
		return argv[++*i];
	}
	return NULL;
}

/* Removes global options from argv (anywhere before "--"), filling ctx.
 * Returns the new argc, or -1 after printing a usage error. */
static int strip_globals(int argc, char **argv, struct ml_ctx *ctx,
			 const char **state)
{
	int out = 1;
	bool done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool bad = false;
		const char *v;
		if (done) {
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			done = true;
			argv[out++] = argv[i];
		} else if ((v = opt_value(argc, argv, &i, "-C", &bad)) ||
			   (!bad && strncmp(a, "-C", 2) == 0 && a[2] &&
			    (v = a + 2))) {
			ctx->root = v;
		} else if (!bad && (v = opt_value(argc, argv, &i, "--output", &bad))) {
			if (strcmp(v, "json") == 0)
				ctx->output = OUT_JSON;
			else if (strcmp(v, "text") == 0)
				ctx->output = OUT_TEXT;
			else
				return cli_usage_error(NULL, "--output takes text or "
							     "json, not '%s'", v),
				       -1;
		} else if (!bad && (v = opt_value(argc, argv, &i, "--state", &bad))) {
			*state = v;
		} else if (bad) {
			return cli_usage_error(NULL, "option '%s' needs a value", a), -1;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			ctx->quiet = true;
		} else if (strcmp(a, "--no-color") == 0) {
			ctx->no_color = true;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct ml_ctx ctx = { .root = ".", .output = OUT_TEXT, .exe = argv[0] };
	const char *state = NULL;
	signal(SIGPIPE, SIG_IGN);
	out_init(OUT_TEXT, false, false);
	argc = strip_globals(argc, argv, &ctx, &state);
	if (argc < 0)
		return ML_EXIT_USAGE;
	out_init(ctx.output, ctx.quiet, ctx.no_color);
	if (!state)
		state = getenv("MLCTL_STATE");
	char *state_abs = NULL;
	if (state && *state && state[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)))
			state_abs = path_join(cwd, state);
	}
	/* -C works like git's: run as if started in DIR */
	if (strcmp(ctx.root, ".") != 0 && chdir(ctx.root) != 0) {
		out_error("-C %s: %s", ctx.root, strerror(errno));
		free(state_abs);
		return ML_EXIT_USAGE;
	}
	ctx.root = ".";
	ctx.state_dir = state_abs	  ? state_abs
			: state && *state ? xstrdup(state)
					  : xstrdup(".mlctl");

	int rc;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		char *help_argv[] = { "help", NULL };
		rc = cmd_help(1, help_argv, &ctx);
		/* no command at all is bad usage; asking for help is not */
		if (argc < 2 && rc == ML_EXIT_OK)
			rc = ML_EXIT_USAGE;
	} else if (strcmp(argv[1], "--version") == 0) {
		char *v_argv[] = { "version", NULL };
		rc = cmd_version(1, v_argv, &ctx);
	} else {
		const struct command *cmd = NULL;
		for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
			if (strcmp(commands[i].name, argv[1]) == 0)
				cmd = &commands[i];
		if (!cmd) {
			const char *best = NULL;
			size_t best_d = 3;
			for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
				size_t dist = str_edit_distance(commands[i].name, argv[1]);
				if (dist < best_d) {
					best_d = dist;
					best = commands[i].name;
				}
			}
			if (best)
				rc = cli_usage_error(NULL, "unknown command '%s' (did "
							   "you mean '%s'?)",
						     argv[1], best);
			else
				rc = cli_usage_error(NULL, "unknown command '%s'",
						     argv[1]);
		} else if (cli_wants_help(argc - 1, argv + 1)) {
			cli_print_help(cmd->help);
			rc = ML_EXIT_OK;
		} else {
			rc = cmd->fn(argc - 1, argv + 1, &ctx);
		}
	}
	fflush(stdout);
	free(ctx.state_dir);
	return rc;
}
