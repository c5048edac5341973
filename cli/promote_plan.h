/* promote_plan.h — what `promote`, `continue` and `abort` share about a
 * promote's plan: the GATES step placed where the strategy allows it
 * before traffic, and the gates that step runs. A paused promote is
 * resumed or aborted with the plan rebuilt by the same code, so that its
 * fingerprint (rollout_plan_sha) matches. */
#ifndef MLCTL_PROMOTE_PLAN_H
#define MLCTL_PROMOTE_PLAN_H

#include "config.h"
#include "engine_ops.h"
#include "gates/gate.h"
#include "rstate.h"
#include "strategy.h"

/* Insert the GATES step of env's gates into p (built by the strategy from
 * st): before the blue/green switch (through the preview listener), on
 * the canary nodes before the first canary step, otherwise after the
 * deploy (through the live listener when there is a router). Sets
 * g->via_preview / g->via_router; reads g->order and g->n for the step's
 * text. */
void promote_insert_gates(const struct cfg_env *env, const struct rstate *st,
			  struct plan *p, struct engine_gates *g);

/* Set g up to run env's gates against rel, held to *lim (filled here:
 * env's floors merged with rel's checks, each floor the release tried to
 * loosen said on stderr), and check that every gate has what it needs
 * before anything happens. ML_EXIT_OK, or ML_EXIT_USAGE after saying what
 * is missing. g->results is allocated even then: free it with
 * promote_gates_release. `lim` must outlive g. */
int promote_gates_prepare(const struct cfg_env *env,
			  const struct cfg_release *rel, struct gate_limits *lim,
			  struct engine_gates *g);
/* Release the results (the gates that ran) and their array. */
void promote_gates_release(struct engine_gates *g);

/* Write the results of the gates that ran (none: nothing written) as
 * JUnit XML to `path`, for model@version in env. ML_EXIT_OK, or
 * ML_EXIT_USAGE after saying why it could not be written. */
int promote_write_junit(const char *path, const struct cfg_env *env,
			const char *model, const char *version,
			const struct engine_gates *g);
/* `path` as an absolute path (relative ones are to the current
 * directory, the project root), for a later continue. Caller frees. */
char *promote_junit_path(const char *path);

/* Whether p has a GATES step at index `from` or later. */
bool promote_gates_ahead(const struct plan *p, size_t from);

#endif
