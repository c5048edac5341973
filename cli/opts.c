/* opts.c — the one option parser behind every command's option table. */
#include "opts.h"
#include "cli.h"

#include <string.h>

int cli_parse(const char *cmd, int argc, char **argv,
	      const struct cli_opt *opts, const char **pos, int max_pos)
{
	int n_pos = 0;
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (n_pos >= max_pos)
				return cli_usage_error(cmd, "unexpected argument '%s'",
						       a),
				       -1;
			pos[n_pos++] = a;
			continue;
		}
		const struct cli_opt *o = NULL;
		const char *val = NULL;
		for (const struct cli_opt *k = opts; k->lng; k++) {
			size_t n = strlen(k->lng);
			if (strcmp(a, k->lng) == 0 || (k->shrt && strcmp(a, k->shrt) == 0)) {
				o = k;
				break;
			}
			if (k->value && strncmp(a, k->lng, n) == 0 && a[n] == '=') {
				o = k;
				val = a + n + 1;
				break;
			}
		}
		if (!o)
			return cli_usage_error(cmd, "unknown option '%s'", a), -1;
		if (o->flag) {
			*o->flag = true;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return cli_usage_error(cmd, "option '%s' needs a value",
						       o->lng),
				       -1;
			val = argv[++i];
		}
		*o->value = val;
	}
	return n_pos;
}
