/* strategy.h — rollout strategies as pure functions: each turns (the
 * environment, the current state of its nodes, the target release) into a
 * plan, an ordered list of steps the engine runs. No I/O here, so every
 * plan is unit-testable for any node count.
 *
 * Node semantics shared by every strategy: a node can hold several
 * versions; loading a version makes it the one unversioned infer serves
 * (an atomic swap on the node). "Draining" a node takes it out of the
 * router's rotation (weight 0); "undraining" restores its weight. */
#ifndef MLCTL_STRATEGY_H
#define MLCTL_STRATEGY_H

#include "config.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#define STEP_KIND_LIST(X)                                                      \
	X(DRAIN, "drain")             /* nodes out of rotation */              \
	X(UNLOAD, "unload")           /* unload `version` from nodes */        \
	X(LOAD, "load")               /* load the target release on nodes */   \
	X(WAIT_READY, "wait-ready")   /* the target version reports ready */  \
	X(UNDRAIN, "undrain")         /* nodes back in rotation */             \
	X(WEIGHTS, "set-weights")     /* live weights of every node */        \
	X(PREVIEW, "preview")         /* preview listener -> these nodes */    \
	X(SMOKE, "smoke")             /* smoke cases through the preview */    \
	X(SWITCH, "switch")           /* live traffic -> these nodes only */   \
	X(ANALYSE, "analyse")         /* canary pause with analysis */         \
	X(PAUSE, "pause")             /* manual pause: wait for `continue` */ \
	X(GATES, "gates")             /* promote: the env's gates on nodes */

enum step_kind {
#define STEP_ENUM(name, text) STEP_##name,
	STEP_KIND_LIST(STEP_ENUM)
#undef STEP_ENUM
};

const char *step_kind_name(enum step_kind k);

struct plan_step {
	enum step_kind kind;
	size_t *nodes; /* indices into env->nodes (owned) */
	size_t n_nodes;
	int *weights;  /* WEIGHTS/SWITCH: one per env node (owned), else NULL */
	char *version; /* UNLOAD: the version to unload (owned), else NULL */
	int canary_percent;   /* WEIGHTS/ANALYSE of a canary step: its share */
	long long pause_ms;   /* ANALYSE: how long */
	int wave;             /* rolling wave (1-based), 0 when not in a wave */
	char *text;           /* one readable line (owned) */
};

struct plan {
	enum cfg_strategy_type strategy;
	char *from_version; /* what most nodes serve now, or NULL (owned) */
	char *to_version;   /* owned */
	struct plan_step *steps;
	size_t n_steps, cap;
	/* bluegreen: which nodes end up live / idle; canary: canary nodes */
	size_t *target_nodes;
	size_t n_target_nodes;
	size_t waves;
};

/* What the engine knows of the environment before it starts (from the
 * ledger and the nodes): per node, the version unversioned infer serves
 * (NULL when none) and the node's live router weight (0 = drained). */
struct rollout_state {
	size_t n_nodes;
	const char *const *serving;
	const int *weights;
	const char *model; /* the model the environment serves, NULL: none */
};

/* The effective strategy settings for a rollout: the environment's block
 * when `type` is the environment's own strategy type, else `type` with its
 * defaults (DESIGN.md "--strategy S"). Borrowed from env when it applies. */
struct strategy_opts {
	enum cfg_strategy_type type;
	const struct cfg_strategy *env_block; /* NULL: defaults */
	const struct cfg_env *env;
};
void strategy_opts_for(const struct cfg_env *env, int cli_type,
		       struct strategy_opts *out);

/* Build the plan; 0, or -1 with err (ML_EXIT_USAGE) when the strategy
 * cannot apply (e.g. bluegreen with one node) or the release is another
 * model than the one the environment serves (one model per environment:
 * versions are compared, so a model switch would read as "no change"). */
int strategy_plan(const struct strategy_opts *o, const struct rollout_state *st,
		  const struct cfg_release *rel, struct plan *out,
		  struct ml_err *err);
int strategy_recreate_plan(const struct strategy_opts *o,
			   const struct rollout_state *st, const char *version,
			   struct plan *p, struct ml_err *err);
int strategy_rolling_plan(const struct strategy_opts *o,
			  const struct rollout_state *st, const char *version,
			  struct plan *p, struct ml_err *err);
int strategy_bluegreen_plan(const struct strategy_opts *o,
			    const struct rollout_state *st, const char *version,
			    struct plan *p, struct ml_err *err);
int strategy_canary_plan(const struct strategy_opts *o,
			 const struct rollout_state *st, const char *version,
			 struct plan *p, struct ml_err *err);

void plan_release(struct plan *p);

/* ---- helpers shared by the strategies ---------------------------------- */
struct plan_step *plan_add(struct plan *p, enum step_kind kind,
			   const size_t *nodes, size_t n_nodes);
/* Insert a step before index `at` (at >= n_steps appends). */
struct plan_step *plan_insert(struct plan *p, size_t at, enum step_kind kind,
			      const size_t *nodes, size_t n_nodes);
/* Set the step's text from a format; node names appended by the caller's
 * format through plan_node_list(). */
void plan_step_text(struct plan_step *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One UNLOAD step per distinct version the given nodes serve (skipping
 * nodes that serve nothing or `keep`), each over all of its nodes, so the
 * engine unloads a wave in one concurrent batch. */
void plan_add_unloads(struct plan *p, const struct cfg_env *env,
		      const struct rollout_state *st, const size_t *nodes,
		      size_t n, int wave, const char *keep);
/* "prod-1, prod-2" for a node index list (caller frees). */
char *plan_node_list(const struct cfg_env *env, const size_t *nodes, size_t n);

/* Rolling waves: how many nodes are drained at once and how many update
 * in place (holding two versions) at once, from max_unavailable and
 * max_surge (counts or percentages: surge rounds up, unavailable down, as
 * Kubernetes does); at least one node per wave, never all nodes drained. */
void strategy_rolling_sizes(const struct cfg_strategy *block, size_t n_nodes,
			    size_t *unavailable, size_t *surge);
/* Rolling waves over a subset of nodes (also a canary's last phase);
 * `router` false: nothing to drain from, every node changes in place. */
int strategy_rolling_waves(const struct strategy_opts *o,
			   const struct rollout_state *st, const char *version,
			   const size_t *subset, size_t n_subset, bool router,
			   struct plan *p);
/* Append an equal-weights step when some node is out of rotation (after
 * a blue/green): used by the strategies that leave every node on the
 * target. */
void strategy_equalize_if_needed(const struct strategy_opts *o,
				 const struct rollout_state *st, struct plan *p);
/* Integer router weights giving `percent`% of traffic to k canary nodes
 * among n (equal within each group, each at most 256). */
void strategy_canary_weights(size_t n, size_t k, int percent, int *canary_w,
			     int *stable_w);
/* Canary node indices: the env's canary_nodes, else the last ceil(25%). */
size_t strategy_canary_nodes(const struct cfg_env *env, size_t *out);
/* Blue/green pools as node indices: pools: {blue, green}, else the two
 * halves of nodes in order. */
void strategy_pools(const struct cfg_env *env, size_t *blue, size_t *n_blue,
		    size_t *green, size_t *n_green);

#endif
