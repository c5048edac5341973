/* rolling.c — update the nodes in waves. Per wave, up to max_unavailable
 * nodes leave the router's rotation while they change, and up to max_surge
 * more change in place (holding the old and the new version at once, so
 * they keep serving through the node's atomic swap). With
 * scale_down_first, nodes never hold two versions: each is drained and
 * unloaded before it loads. Nodes already on the target are skipped. */
#include "strategy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

int strategy_rolling_waves(const struct strategy_opts *o,
			   const struct rollout_state *st, const char *version,
			   const size_t *subset, size_t n_subset, bool router,
			   struct plan *p)
{
	const struct cfg_env *env = o->env;
	size_t unavailable, surge;
	strategy_rolling_sizes(o->env_block, env->n_nodes, &unavailable, &surge);
	bool sdf = o->env_block && o->env_block->scale_down_first;
	if (!router) {
		/* nothing to drain from: every node changes in place */
		surge += unavailable;
		unavailable = 0;
		if (sdf)
			surge = 1;
	}
	size_t *todo = xmalloc((n_subset + 1) * sizeof(*todo));
	size_t n_todo = 0;
	for (size_t i = 0; i < n_subset; i++) {
		const char *v = st->serving[subset[i]];
		if (!v || strcmp(v, version) != 0)
			todo[n_todo++] = subset[i];
	}
	size_t in_rotation = 0;
	for (size_t i = 0; i < env->n_nodes; i++)
		in_rotation += !st->weights || st->weights[i] > 0;
	if (unavailable >= in_rotation) {
		/* draining would leave no node in rotation: change in place */
		surge += unavailable;
		unavailable = 0;
	}
	size_t wave_size = unavailable + surge;
	for (size_t at = 0; at < n_todo; at += wave_size) {
		size_t n = n_todo - at < wave_size ? n_todo - at : wave_size;
		const size_t *wave = todo + at;
		size_t n_drain = n < unavailable ? n : unavailable;
		int w = (int)++p->waves;
		char *all = plan_node_list(env, wave, n);
		char *drained = plan_node_list(env, wave, n_drain);
		struct plan_step *s;
		if (n_drain) {
			s = plan_add(p, STEP_DRAIN, wave, n_drain);
			s->wave = w;
			plan_step_text(s, "wave %d: drain %s", w, drained);
		}
		if (sdf)
			plan_add_unloads(p, env, st, wave, n, w, version);
		s = plan_add(p, STEP_LOAD, wave, n);
		s->wave = w;
		plan_step_text(s, "wave %d: load %s on %s", w, version, all);
		s = plan_add(p, STEP_WAIT_READY, wave, n);
		s->wave = w;
		plan_step_text(s, "wave %d: wait until %s is ready on %s", w,
			       version, all);
		if (n_drain) {
			s = plan_add(p, STEP_UNDRAIN, wave, n_drain);
			s->wave = w;
			plan_step_text(s, "wave %d: undrain %s", w, drained);
		}
		if (!sdf)
			plan_add_unloads(p, env, st, wave, n, w, version);
		free(all);
		free(drained);
	}
	free(todo);
	return 0;
}

int strategy_rolling_plan(const struct strategy_opts *o,
			  const struct rollout_state *st, const char *version,
			  struct plan *p, struct ml_err *err)
{
	(void)err;
	const struct cfg_env *env = o->env;
	size_t *all = xmalloc((env->n_nodes + 1) * sizeof(*all));
	for (size_t i = 0; i < env->n_nodes; i++)
		all[i] = i;
	strategy_rolling_waves(o, st, version, all, env->n_nodes,
			       env->router_driver != CFG_ROUTER_NONE, p);
	strategy_equalize_if_needed(o, st, p);
	p->target_nodes = all;
	p->n_target_nodes = env->n_nodes;
	return 0;
}
