/* rollout_internal.h — what rollout.c and rollout_paused.c share: the
 * pause record's "rollout" object and where a pause stands among the
 * canary steps. Not for the commands. */
#ifndef MLCTL_ROLLOUT_INTERNAL_H
#define MLCTL_ROLLOUT_INTERNAL_H

#include "engine.h"
#include "rollout.h"

#include <jansson.h>

/* The canary step (1-based) the step at `index` belongs to, and how many
 * there are: analyse and pause steps counted. */
void rollout_canary_position(const struct plan *p, size_t index, int *step,
			     int *steps);
/* The "rollout" object of a pause record (new reference): where the run
 * stopped (res), the plan's fingerprint, the state before the rollout
 * began (pre) and its target. */
json_t *rollout_paused_json(const struct cfg_env *env,
			    const struct rollout_req *req, const struct plan *p,
			    const struct engine_result *res,
			    const struct rstate *pre,
			    const struct rstate_release *target, int c_step,
			    int c_steps);

#endif
