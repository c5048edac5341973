/* cmd_history.c — `mlctl history --env E [--limit N]`: one line per
 * ledger entry, newest first: when, who, what, strategy, outcome,
 * duration (and the reason of a failure). */
#include "cli.h"
#include "common.h"
#include "ledger.h"
#include "opts.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct cmd_help cmd_history_help = {
	"history", "show an environment's deployments, rollbacks and gate runs",
	"  mlctl history --env E [--limit N]",
	"  --env E      the environment\n"
	"  --limit N    at most N entries (default: all)",
};

struct hist {
	json_t *arr;
	long limit, seen;
};

static void fmt_when(long long when, char *buf, size_t sz)
{
	time_t t = (time_t)when;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sz, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* "deploy eta 2.0.0" — what the entry did, without the env and outcome */
static void fmt_what(const struct ledger_entry *e, char *buf, size_t sz)
{
	if (e->model && e->version)
		snprintf(buf, sz, "%s %s %s", e->action ? e->action : "?", e->model,
			 e->version);
	else
		snprintf(buf, sz, "%s", e->action ? e->action : "?");
}

static int on_entry(const struct ledger_entry *e, void *payload)
{
	struct hist *h = payload;
	if (h->limit > 0 && h->seen >= h->limit)
		return 1;
	h->seen++;
	char when[32], what[160];
	fmt_when(e->when, when, sizeof(when));
	fmt_what(e, what, sizeof(what));
	if (out_is_json()) {
		json_t *o = json_object();
		json_object_set_new(o, "commit", json_string(e->oid));
		json_object_set_new(o, "when", json_string(when));
		json_object_set_new(o, "who", json_string(e->author_name ? e->author_name : ""));
		json_object_set_new(o, "action", json_string(e->action ? e->action : ""));
		json_object_set_new(o, "model", e->model ? json_string(e->model) : json_null());
		json_object_set_new(o, "version", e->version ? json_string(e->version) : json_null());
		json_object_set_new(o, "strategy", e->strategy ? json_string(e->strategy) : json_null());
		json_object_set_new(o, "outcome", json_string(e->outcome ? e->outcome : ""));
		json_object_set_new(o, "duration_s", json_real(e->duration_s));
		json_object_set_new(o, "detail", e->detail ? json_string(e->detail) : json_null());
		json_object_set_new(o, "reason", e->reason ? json_string(e->reason) : json_null());
		json_object_set_new(o, "summary", json_string(e->summary ? e->summary : ""));
		json_array_append_new(h->arr, o);
		return 0;
	}
	bool bad = e->outcome && (strcmp(e->outcome, "deployed") != 0 &&
				  strcmp(e->outcome, "gates passed") != 0 &&
				  strcmp(e->outcome, "rolled back") != 0);
	bool paused = e->outcome && strcmp(e->outcome, "paused") == 0;
	char dur[32] = "-";
	if (e->duration_s > 0)
		snprintf(dur, sizeof(dur), e->duration_s < 1 ? "%.0fms" : "%.1fs",
			 e->duration_s < 1 ? e->duration_s * 1000 : e->duration_s);
	out_line("%s  %-12s  %-24s  %-9s  %s%-12s%s  %6s%s%s", when,
		 e->author_name ? e->author_name : "?", what,
		 e->strategy ? e->strategy : "-",
		 paused ? out_c(OUT_YELLOW) : bad ? out_c(OUT_RED) : out_c(OUT_GREEN),
		 e->outcome ? e->outcome : "?", out_c(OUT_RESET), dur,
		 e->reason ? "  " : "", e->reason ? e->reason : "");
	return 0;
}

int cmd_history(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *limit = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--limit", "-n", &limit, NULL },
		{ 0 },
	};
	int n = cli_parse("history", argc, argv, opts, pos, 0);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (!env_name)
		return cli_usage_error("history", "--env E is required");
	struct hist h = { json_array(), 0, 0 };
	if (limit) {
		char *end;
		h.limit = strtol(limit, &end, 10);
		if (*end || h.limit <= 0) {
			json_decref(h.arr);
			return cli_usage_error("history", "--limit takes a positive "
							  "count, not '%s'",
					       limit);
		}
	}
	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct ledger *ledger = NULL;
	struct ml_err err = ML_ERR_INIT;
	int rc = cli_load_env_tolerant("history", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_open_ledger(ctx, false, &ledger)))
		goto out;
	if (ledger && ledger_history(ledger, env->name, 0, on_entry, &h, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (out_is_json()) {
		json_t *root = json_object();
		json_object_set_new(root, "env", json_string(env->name));
		json_object_set_new(root, "entries", json_incref(h.arr));
		char *t = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
		out_json_text(t);
		free(t);
		json_decref(root);
	} else if (h.seen == 0) {
		out_progress("history: nothing recorded for %s yet", env->name);
	}
	rc = ML_EXIT_OK;
out:
	json_decref(h.arr);
	ledger_free(ledger);
	project_release(&proj);
	return rc;
}
