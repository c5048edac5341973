/* bluegreen.c — two pools; the idle one gets the new release, is smoke-
 * checked through the router's preview listener, and one switch moves all
 * live traffic to it. The old pool keeps the previous release loaded until
 * the next deploy reuses it, so rollback is one router change. When both
 * pools serve (after a rolling or recreate deploy), green is drained first
 * and becomes the idle pool. */
#include "strategy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static bool pool_live(const struct rollout_state *st, const size_t *pool,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (st->weights && st->weights[pool[i]] > 0)
			return true;
	return false;
}

static int *switch_weights(size_t n_nodes, const size_t *live, size_t n_live)
{
	int *w = xcalloc(n_nodes, sizeof(*w));
	for (size_t i = 0; i < n_live; i++)
		w[live[i]] = 1;
	return w;
}

int strategy_bluegreen_plan(const struct strategy_opts *o,
			    const struct rollout_state *st, const char *version,
			    struct plan *p, struct ml_err *err)
{
	const struct cfg_env *env = o->env;
	if (env->router_driver == CFG_ROUTER_NONE)
		return ml_err_set(err, 2,
				  "bluegreen needs a router to switch traffic; "
				  "environment '%s' has none",
				  env->name);
	if (env->n_nodes < 2)
		return ml_err_set(err, 2, "bluegreen needs at least 2 nodes");
	size_t *blue = xmalloc(env->n_nodes * sizeof(*blue));
	size_t *green = xmalloc(env->n_nodes * sizeof(*green));
	size_t nb, ng;
	strategy_pools(env, blue, &nb, green, &ng);
	bool blue_live = pool_live(st, blue, nb);
	bool green_live = pool_live(st, green, ng);
	size_t *idle, *live, n_idle, n_live;
	const char *idle_name, *live_name;
	if (green_live && !blue_live) {
		idle = blue, n_idle = nb, idle_name = "blue";
		live = green, n_live = ng, live_name = "green";
	} else {
		idle = green, n_idle = ng, idle_name = "green";
		live = blue, n_live = nb, live_name = "blue";
		if (green_live || !blue_live) {
			/* both pools serve (or nothing is known): drain green */
			struct plan_step *s = plan_add(p, STEP_SWITCH, blue, nb);
			s->weights = switch_weights(env->n_nodes, blue, nb);
			char *names = plan_node_list(env, blue, nb);
			plan_step_text(s, "drain the green pool: live traffic to "
					  "blue only (%s)",
				       names);
			free(names);
		}
	}
	char *idle_names = plan_node_list(env, idle, n_idle);
	char *live_names = plan_node_list(env, live, n_live);
	struct plan_step *s = plan_add(p, STEP_LOAD, idle, n_idle);
	plan_step_text(s, "load %s on the idle %s pool (%s)", version, idle_name,
		       idle_names);
	s = plan_add(p, STEP_WAIT_READY, idle, n_idle);
	plan_step_text(s, "wait until %s is ready on %s", version, idle_names);
	if (env->preview.set) {
		s = plan_add(p, STEP_PREVIEW, idle, n_idle);
		plan_step_text(s, "preview listener -> %s pool (%s)", idle_name,
			       idle_names);
		s = plan_add(p, STEP_SMOKE, idle, n_idle);
		plan_step_text(s, "smoke-check %s through the preview listener",
			       version);
	} else {
		/* no preview listener: the idle pool's nodes are asked directly */
		s = plan_add(p, STEP_SMOKE, idle, n_idle);
		plan_step_text(s, "smoke-check %s on the %s pool's nodes (no "
				  "preview listener)",
			       version, idle_name);
	}
	s = plan_add(p, STEP_SWITCH, idle, n_idle);
	s->weights = switch_weights(env->n_nodes, idle, n_idle);
	plan_step_text(s, "switch live traffic from %s (%s) to %s (%s)", live_name,
		       live_names, idle_name, idle_names);
	/* the idle pool's own older version is no longer needed there */
	plan_add_unloads(p, env, st, idle, n_idle, 0, version);
	free(idle_names);
	free(live_names);
	p->target_nodes = xmalloc(n_idle * sizeof(*p->target_nodes));
	memcpy(p->target_nodes, idle, n_idle * sizeof(*idle));
	p->n_target_nodes = n_idle;
	free(blue);
	free(green);
	return 0;
}
