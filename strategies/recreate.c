/* recreate.c — the simplest strategy: unload the old release everywhere,
 * then load the new one everywhere. Every node is down in between: the
 * engine measures and prints that gap. */
#include "strategy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

int strategy_recreate_plan(const struct strategy_opts *o,
			   const struct rollout_state *st, const char *version,
			   struct plan *p, struct ml_err *err)
{
	(void)err;
	const struct cfg_env *env = o->env;
	size_t *all = xmalloc((env->n_nodes + 1) * sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < env->n_nodes; i++)
		all[n++] = i;
	/* unload each distinct old version from the nodes serving it */
	plan_add_unloads(p, env, st, all, n, 0, version);
	char *names = plan_node_list(env, all, n);
	struct plan_step *s = plan_add(p, STEP_LOAD, all, n);
	plan_step_text(s, "load %s on %s", version, names);
	s = plan_add(p, STEP_WAIT_READY, all, n);
	plan_step_text(s, "wait until %s is ready on %s", version, names);
	free(names);
	strategy_equalize_if_needed(o, st, p);
	p->target_nodes = all;
	p->n_target_nodes = n;
	p->waves = 1;
	return 0;
}
