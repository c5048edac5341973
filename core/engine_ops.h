/* engine_ops.h — the engine's operations bound to the real node drivers
 * and router of an environment. */
#ifndef MLCTL_ENGINE_OPS_H
#define MLCTL_ENGINE_OPS_H

#include "config.h"
#include "engine.h"

struct engine_real {
	const struct cfg_env *env;
	const char *run_dir;           /* <state>/run/<env> */
	const struct cfg_release *rel; /* the target release (smoke cases) */
};

void engine_real_ops(struct engine_real *e, struct engine_ops *ops);

#endif
