/* cmd_help.c — `mlctl help [COMMAND|exit-codes]`: the command overview,
 * one command's help, or the exit status list (from ML_EXIT_LIST). With
 * `exit-codes --roff` the list comes out as the body of mlctl(1)'s EXIT
 * STATUS section (scripts/gen-man.sh splices it into man/mlctl.1). */
#include "cli.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const struct cmd_help cmd_help_help = {
	"help", "show help for mlctl, a command, or the exit codes",
	"  mlctl help\n  mlctl help COMMAND\n  mlctl help exit-codes [--roff]",
	"  --roff  with exit-codes: print the list as roff, the body of\n"
	"          mlctl(1)'s EXIT STATUS section",
};

static void print_exit_codes(void)
{
	printf("Exit status:\n");
#define ML_EXIT_PRINT(name, num, text) printf("  %d  %s\n", num, text);
	ML_EXIT_LIST(ML_EXIT_PRINT)
#undef ML_EXIT_PRINT
}

/* One line of text as roff: backslashes as \e, a leading '.' or '\''
 * guarded with \&, and option dashes ("--force") as \- so they render and
 * search as ASCII hyphen-minus. */
static void print_roff_text(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			fputs("\\e", stdout);
		else if (*p == '-' && (p == s || p[-1] == ' ' || p[-1] == '-' ||
				       p[-1] == '('))
			fputs("\\-", stdout);
		else
			putchar(*p);
	}
	putchar('\n');
}

/* The EXIT STATUS body of mlctl(1): one tagged paragraph per code. */
static void print_exit_codes_roff(void)
{
#define ML_EXIT_ROFF(name, num, text)                                         \
	printf(".TP\n.B %d\n", num);                                          \
	print_roff_text(text);
	ML_EXIT_LIST(ML_EXIT_ROFF)
#undef ML_EXIT_ROFF
}

int cmd_help(int argc, char **argv, struct ml_ctx *ctx)
{
	(void)ctx;
	bool roff = false;
	int n = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--roff") == 0)
			roff = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if (argc > 2)
		return cli_usage_error("help", "too many arguments");
	if (roff && (argc != 2 || strcmp(argv[1], "exit-codes") != 0))
		return cli_usage_error("help", "--roff goes with 'mlctl help "
					       "exit-codes'");
	if (argc == 2) {
		if (strcmp(argv[1], "exit-codes") == 0) {
			if (roff)
				print_exit_codes_roff();
			else
				print_exit_codes();
			return ML_EXIT_OK;
		}
		const struct cmd_help *h = cli_find_help(argv[1]);
		if (!h) {
			const char *best = NULL;
			size_t best_d = 3;
			for (size_t i = 0; i < cli_command_count(); i++) {
				const char *name = cli_command_help(i)->name;
				size_t dist = str_edit_distance(name, argv[1]);
				if (dist < best_d) {
					best_d = dist;
					best = name;
				}
			}
			if (best)
				return cli_usage_error(NULL, "help: no command named "
							     "'%s' (did you mean "
							     "'%s'?)",
						       argv[1], best);
			return cli_usage_error(NULL, "help: no command named '%s'",
					       argv[1]);
		}
		cli_print_help(h);
		return ML_EXIT_OK;
	}
	printf("mlctl — take machine-learning models to production safely\n\n"
	       "Usage: mlctl [global options] <command> [options]\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < cli_command_count(); i++) {
		const struct cmd_help *h = cli_command_help(i);
		printf("  %-10s %s\n", h->name, h->summary);
	}
	printf("\nGlobal options (before or after the command):\n"
	       "  -C DIR                 project root (default: the current "
	       "directory)\n"
	       "  --output text|json     result format on stdout (default: "
	       "text)\n"
	       "  --quiet, -q            no progress on stderr\n"
	       "  --no-color             no colour (also NO_COLOR)\n"
	       "  --state DIR            state directory (default: "
	       "MLCTL_STATE, else DIR/.mlctl)\n"
	       "  --help, -h             help for mlctl or a command\n"
	       "  --version              same as 'mlctl version'\n\n"
	       "'mlctl help COMMAND' for a command, 'mlctl help exit-codes' "
	       "for the exit status list; man mlctl.\n");
	return ML_EXIT_OK;
}
