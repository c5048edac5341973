/* promote_plan.c — promote's gates in a plan: where the GATES step goes
 * (the earliest point before live traffic the strategy allows) and the
 * gates it runs. The plan itself comes from the strategy; running it is
 * rollout.c's. */
#include "promote_plan.h"
#include "exitcode.h"
#include "out.h"
#include "util.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void promote_insert_gates(const struct cfg_env *env, const struct rstate *st,
			  struct plan *p, struct engine_gates *g)
{
	size_t at = p->n_steps;
	const size_t *nodes = p->target_nodes;
	size_t n = p->n_target_nodes;
	size_t *all = NULL;
	const char *where = "on every node";
	bool has_switch = false;
	for (size_t i = 0; i < p->n_steps; i++)
		has_switch |= p->steps[i].kind == STEP_SWITCH;
	if (p->strategy == CFG_STRAT_BLUEGREEN && has_switch) {
		for (size_t i = p->n_steps; i > 0; i--)
			if (p->steps[i - 1].kind == STEP_SWITCH) {
				at = i - 1;
				break;
			}
		g->via_preview = true;
		where = "through the preview listener, before the switch";
	} else if (p->strategy == CFG_STRAT_CANARY) {
		for (size_t i = 0; i < p->n_steps; i++)
			if (p->steps[i].kind == STEP_WEIGHTS) {
				at = i;
				break;
			}
		where = "on the canary nodes, before the first step";
	} else {
		/* rolling, recreate, or nothing left to deploy: the nodes in
		 * rotation, through the live listener */
		g->via_router = env->router_driver != CFG_ROUTER_NONE;
		where = p->n_steps ? "right after the deploy" : "on what serves now";
	}
	if (!nodes || n == 0 ||
	    (!g->via_preview && p->strategy != CFG_STRAT_CANARY)) {
		/* after a rolling or recreate deploy every node serves the
		 * release; with nothing to deploy, the nodes in rotation do */
		all = xmalloc((env->n_nodes + 1) * sizeof(*all));
		n = 0;
		for (size_t i = 0; i < env->n_nodes; i++)
			if (p->n_steps || st->live[i] > 0)
				all[n++] = i;
		nodes = all;
	}
	struct plan_step *s = plan_insert(p, at, STEP_GATES, nodes, n);
	char list[160] = "";
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++) {
		int w = snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "",
				 cfg_gate_name(g->order[i]));
		if (w > 0 && (size_t)w < sizeof(list) - k)
			k += (size_t)w;
	}
	plan_step_text(s, "gates %s %s", list, where);
	free(all);
}

int promote_gates_prepare(const struct cfg_env *env,
			  const struct cfg_release *rel, struct gate_limits *lim,
			  struct engine_gates *g)
{
	gate_limits_merge(&env->checks, &rel->checks, rel->serving_mode, lim);
	for (size_t i = 0; i < lim->n_held; i++)
		out_warn("%s", lim->held[i]);
	g->order = env->gates;
	g->n = env->n_gates;
	g->lim = lim;
	g->results = xcalloc(env->n_gates + 1, sizeof(*g->results));
	g->n_run = 0;
	struct gate_target none = { 0 };
	struct gate_ctx gc = { env, rel, lim, &none, ".", NULL };
	int rc = ML_EXIT_OK;
	for (size_t i = 0; i < env->n_gates; i++) {
		struct ml_err e = ML_ERR_INIT;
		if (gate_preflight(env->gates[i], &gc, &e)) {
			out_error("%s", e.msg);
			rc = ML_EXIT_USAGE;
		}
	}
	return rc;
}

void promote_gates_release(struct engine_gates *g)
{
	for (size_t i = 0; i < g->n_run; i++)
		gate_result_release(&g->results[i]);
	free(g->results);
	g->results = NULL;
	g->n_run = 0;
}

int promote_write_junit(const char *path, const struct cfg_env *env,
			const char *model, const char *version,
			const struct engine_gates *g)
{
	if (!path || g->n_run == 0)
		return ML_EXIT_OK;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	struct gate_junit_info info = { env->name, model, version,
					(long long)time(NULL), host };
	struct ml_err err = ML_ERR_INIT;
	if (gate_junit_write(path, g->results, g->n_run, &info, &err)) {
		out_error("%s", err.msg);
		return ML_EXIT_USAGE;
	}
	out_progress("promote: JUnit XML written to %s", path);
	return ML_EXIT_OK;
}

char *promote_junit_path(const char *path)
{
	char cwd[4096];
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return path_join(cwd, path);
}

bool promote_gates_ahead(const struct plan *p, size_t from)
{
	for (size_t i = from; i < p->n_steps; i++)
		if (p->steps[i].kind == STEP_GATES)
			return true;
	return false;
}
