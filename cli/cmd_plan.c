/* cmd_plan.c — `mlctl plan RELEASE --env E [--strategy S]`: the steps a
 * deploy would run, from the environment's recorded state. Reads the
 * ledger; touches no node, router or file. */
#include "cli.h"
#include "common.h"
#include "ledger.h"
#include "opts.h"
#include "rstate.h"
#include "strategy.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const struct cmd_help cmd_plan_help = {
	"plan", "show the steps a deploy would run, touching nothing",
	"  mlctl plan RELEASE --env E [--strategy S]",
	"  RELEASE           the release manifest (e.g. examples/eta/release-2.0.0.yaml)\n"
	"  --env E           the environment\n"
	"  --strategy S      recreate, rolling, bluegreen or canary (default: the\n"
	"                    environment's; S's defaults unless S is the env's type)",
};

static json_t *step_json(const struct cfg_env *env, const struct plan_step *s,
			 size_t n)
{
	json_t *o = json_object();
	json_object_set_new(o, "n", json_integer((json_int_t)n));
	json_object_set_new(o, "kind", json_string(step_kind_name(s->kind)));
	json_t *nodes = json_array();
	for (size_t i = 0; i < s->n_nodes; i++)
		json_array_append_new(nodes, json_string(env->nodes[s->nodes[i]].name));
	json_object_set_new(o, "nodes", nodes);
	if (s->version)
		json_object_set_new(o, "version", json_string(s->version));
	if (s->weights) {
		json_t *w = json_object();
		for (size_t i = 0; i < env->n_nodes; i++)
			json_object_set_new(w, env->nodes[i].name,
					    json_integer(s->weights[i]));
		json_object_set_new(o, "weights", w);
	}
	if (s->canary_percent)
		json_object_set_new(o, "canary_percent", json_integer(s->canary_percent));
	if (s->kind == STEP_ANALYSE)
		json_object_set_new(o, "pause_ms", json_integer(s->pause_ms));
	if (s->wave)
		json_object_set_new(o, "wave", json_integer(s->wave));
	json_object_set_new(o, "text", json_string(s->text ? s->text : ""));
	return o;
}

static void print_plan(const struct cfg_env *env, const struct cfg_release *rel,
		       const struct plan *p, bool rejected)
{
	if (out_is_json()) {
		json_t *root = json_object(), *steps = json_array();
		json_object_set_new(root, "env", json_string(env->name));
		json_object_set_new(root, "model", json_string(rel->model));
		json_object_set_new(root, "from", p->from_version
							  ? json_string(p->from_version)
							  : json_null());
		json_object_set_new(root, "to", json_string(p->to_version));
		json_object_set_new(root, "strategy",
				    json_string(cfg_strategy_name(p->strategy)));
		json_object_set_new(root, "waves", json_integer((json_int_t)p->waves));
		json_object_set_new(root, "rejected", json_boolean(rejected));
		for (size_t i = 0; i < p->n_steps; i++)
			json_array_append_new(steps, step_json(env, &p->steps[i], i + 1));
		json_object_set_new(root, "steps", steps);
		char *t = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
		out_json_text(t);
		free(t);
		json_decref(root);
		return;
	}
	out_line("plan: %s %s -> %s in %s (%s, %zu node%s)", rel->model,
		 p->from_version ? p->from_version : "(nothing)", p->to_version,
		 env->name, cfg_strategy_name(p->strategy), env->n_nodes,
		 env->n_nodes == 1 ? "" : "s");
	if (p->n_steps == 0)
		out_line("  nothing to do: every node already serves %s",
			 p->to_version);
	for (size_t i = 0; i < p->n_steps; i++)
		out_line("%3zu. %s", i + 1, p->steps[i].text);
}

int cmd_plan(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *strategy = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--strategy", NULL, &strategy, NULL },
		{ 0 },
	};
	int n = cli_parse("plan", argc, argv, opts, pos, 1);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (n != 1)
		return cli_usage_error("plan", "which release? give its manifest");
	if (!env_name)
		return cli_usage_error("plan", "--env E is required");
	int type;
	if (cli_strategy_opt("plan", strategy, &type))
		return ML_EXIT_USAGE;
	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct cfg_release *rel = NULL;
	struct ledger *ledger = NULL;
	struct rstate st = { 0 };
	struct plan p = { 0 };
	struct ml_err err = ML_ERR_INIT;
	int rc = cli_load_env("plan", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_load_release(pos[0], &rel)))
		goto out;
	if ((rc = cli_open_ledger(ctx, false, &ledger)))
		goto out;
	bool rejected = false;
	if (ledger && ledger_is_rejected(ledger, env->name, rel->model,
					 rel->version, &rejected, NULL, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (rejected)
		out_warn("%s %s is rejected in %s: deploy refuses it without --force",
			 rel->model, rel->version, env->name);
	if ((rc = cli_plan_release(env, type, ledger, rel, &st, &p)))
		goto out;
	print_plan(env, rel, &p, rejected);
	rc = ML_EXIT_OK;
out:
	plan_release(&p);
	if (st.serving)
		rstate_release(&st);
	ledger_free(ledger);
	cfg_release_free(rel);
	project_release(&proj);
	return rc;
}
