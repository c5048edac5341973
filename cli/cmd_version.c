/* cmd_version.c — `mlctl version`: mlctl's version and the run-time
 * versions of the libraries it is built on. */
#include "cli.h"
#include "libinfo.h"

#include <jansson.h>
#include <stdlib.h>

const struct cmd_help cmd_version_help = {
	"version", "print mlctl's version and its libraries' versions",
	"  mlctl version [--output json]",
	"",
};

int cmd_version(int argc, char **argv, struct ml_ctx *ctx)
{
	(void)argv;
	(void)ctx;
	if (argc > 1)
		return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
	struct libinfo libs[8];
	int n = libinfo_get(libs, 8);
	if (out_is_json()) {
		json_t *root = json_object(), *l = json_object();
		json_object_set_new(root, "mlctl", json_string(MLCTL_VERSION));
		for (int i = 0; i < n; i++)
			json_object_set_new(l, libs[i].name, json_string(libs[i].version));
		json_object_set_new(root, "libraries", l);
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		out_json_text(s);
		free(s);
		json_decref(root);
		return ML_EXIT_OK;
	}
	out_line("mlctl %s", MLCTL_VERSION);
	for (int i = 0; i < n; i++)
		out_line("  %-8s %s", libs[i].name, libs[i].version);
	return ML_EXIT_OK;
}
