/* canary.c — the canary nodes get the new release (drained first, then
 * readiness-checked); each step gives them `weight`% of the traffic and
 * pauses for analysis (or for a person: `pause: manual`); after the last
 * step the release rolls onto every other node as a rolling deploy would,
 * and equal weights return. Defaults: steps 10% and 50% with 30 s pauses;
 * canary nodes the last ceil(25%). */
#include "strategy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const struct cfg_step default_steps[] = {
	{ 10, false, 30000, { 0, 0 } },
	{ 50, false, 30000, { 0, 0 } },
};

int strategy_canary_plan(const struct strategy_opts *o,
			 const struct rollout_state *st, const char *version,
			 struct plan *p, struct ml_err *err)
{
	const struct cfg_env *env = o->env;
	if (env->router_driver == CFG_ROUTER_NONE)
		return ml_err_set(err, 2,
				  "canary needs a router to split traffic; "
				  "environment '%s' has none",
				  env->name);
	if (env->n_nodes < 2)
		return ml_err_set(err, 2,
				  "canary needs at least 2 nodes (canary and stable)");
	size_t *canary = xmalloc(env->n_nodes * sizeof(*canary));
	size_t k = strategy_canary_nodes(env, canary);
	size_t *stable = xmalloc(env->n_nodes * sizeof(*stable));
	size_t n_stable = 0, n_live_stable = 0;
	for (size_t i = 0; i < env->n_nodes; i++) {
		bool is_canary = false;
		for (size_t j = 0; j < k; j++)
			is_canary |= canary[j] == i;
		if (!is_canary) {
			stable[n_stable++] = i;
			n_live_stable += !st->weights || st->weights[i] > 0;
		}
	}
	if (n_live_stable == 0) {
		free(canary);
		free(stable);
		return ml_err_set(err, 2,
				  "canary needs a stable node in rotation; every "
				  "non-canary node of '%s' is out of rotation",
				  env->name);
	}
	const struct cfg_step *steps = default_steps;
	size_t n_steps = 2;
	if (o->env_block && o->env_block->n_steps) {
		steps = o->env_block->steps;
		n_steps = o->env_block->n_steps;
	}
	char *cnames = plan_node_list(env, canary, k);
	struct plan_step *s = plan_add(p, STEP_DRAIN, canary, k);
	plan_step_text(s, "drain canary %s", cnames);
	s = plan_add(p, STEP_LOAD, canary, k);
	plan_step_text(s, "load %s on canary %s", version, cnames);
	s = plan_add(p, STEP_WAIT_READY, canary, k);
	plan_step_text(s, "wait until %s is ready on %s", version, cnames);
	for (size_t i = 0; i < n_steps; i++) {
		int cw, sw;
		strategy_canary_weights(k + n_live_stable, k, steps[i].weight, &cw, &sw);
		s = plan_add(p, STEP_WEIGHTS, NULL, 0);
		s->canary_percent = steps[i].weight;
		s->weights = xcalloc(env->n_nodes, sizeof(*s->weights));
		/* stable = nodes in rotation now; idle ones (an old blue/green
		 * pool) get no traffic until the final rolling phase */
		for (size_t j = 0; j < env->n_nodes; j++)
			s->weights[j] = !st->weights || st->weights[j] > 0 ? sw : 0;
		for (size_t j = 0; j < k; j++)
			s->weights[canary[j]] = cw;
		plan_step_text(s, "step %zu: %d%% of traffic to the canary "
				  "(weights canary %d, stable %d)",
			       i + 1, steps[i].weight, cw, sw);
		if (steps[i].manual) {
			s = plan_add(p, STEP_PAUSE, canary, k);
			s->canary_percent = steps[i].weight;
			plan_step_text(s, "step %zu: pause until 'mlctl continue'",
				       i + 1);
		} else {
			s = plan_add(p, STEP_ANALYSE, canary, k);
			s->canary_percent = steps[i].weight;
			s->pause_ms = steps[i].pause_ms;
			plan_step_text(s, "step %zu: analyse canary vs stable for "
					  "%lld ms",
				       i + 1, steps[i].pause_ms);
		}
	}
	/* roll onto the stable nodes, then equal weights everywhere */
	strategy_rolling_waves(o, st, version, stable, n_stable, true, p);
	s = plan_add(p, STEP_WEIGHTS, NULL, 0);
	s->weights = xcalloc(env->n_nodes, sizeof(*s->weights));
	for (size_t j = 0; j < env->n_nodes; j++)
		s->weights[j] = 1;
	plan_step_text(s, "equal weights on every node");
	plan_add_unloads(p, env, st, canary, k, 0, version);
	free(cnames);
	free(stable);
	p->target_nodes = canary;
	p->n_target_nodes = k;
	return 0;
}
