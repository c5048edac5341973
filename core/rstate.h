/* rstate.h — an environment's rollout state: per node the version it
 * serves and its live and preview router weights, plus the release that
 * serves the environment. Read from the ledger's newest state.json (the
 * engine writes one with every record) and written back as JSON. A node
 * the ledger does not know (a fresh environment, a new node) serves
 * nothing and has weight 1, as `mlctl up` starts routers. */
#ifndef MLCTL_RSTATE_H
#define MLCTL_RSTATE_H

#include "config.h"
#include "err.h"
#include "strategy.h"

#include <stdbool.h>
#include <stddef.h>

struct ledger;

/* The release a state refers to, enough to load it again on a node
 * without its manifest's directory (rollback). */
struct rstate_release {
	char *model, *version;
	char *manifest_path; /* absolute, as deployed (may be gone later) */
	char *artifact;      /* absolute path or http(s) URL */
	char sha256[65];
	char *expectations_json;
};

struct rstate {
	size_t n_nodes;  /* == env->n_nodes */
	char **serving;  /* per node: version, or NULL (owned) */
	int *live;       /* per node live weight, 0 = drained */
	int *preview;    /* per node preview weight */
	struct rstate_release release; /* the environment's release; model NULL = none */
	struct rstate_release previous; /* blue/green: the old pool's release */
	char *strategy;  /* of the last rollout, or NULL */
};

/* Fresh state for env: nothing served, weights 1. */
void rstate_init(struct rstate *s, const struct cfg_env *env);
void rstate_release(struct rstate *s);
void rstate_copy(struct rstate *dst, const struct rstate *src);
/* Set node i's serving version (copied; NULL clears). */
void rstate_set_serving(struct rstate *s, size_t i, const char *version);

/* Parse a state.json written by rstate_to_json onto env's nodes (matched
 * by name). 0, or -1 with err (ML_EXIT_OPERATIONAL: a corrupt ledger). */
int rstate_from_json(struct rstate *s, const struct cfg_env *env,
		     const char *json, struct ml_err *err);
/* The state for env from the ledger's newest record; a fresh state when
 * the ledger has none. `l` may be NULL (no ledger yet). */
int rstate_load(struct rstate *s, const struct cfg_env *env, struct ledger *l,
		struct ml_err *err);
/* JSON text (caller frees) with `extra` (a JSON object text, or NULL)
 * merged in: outcome, figures, steps, reason... */
char *rstate_to_json(const struct rstate *s, const struct cfg_env *env,
		     const char *extra_json);

void rstate_release_set(struct rstate_release *r, const struct cfg_release *rel);
void rstate_release_free(struct rstate_release *r);
void rstate_release_copy(struct rstate_release *dst, const struct rstate_release *src);

/* A strategy's view of the state (borrows from s). */
struct rollout_state rstate_view(const struct rstate *s);

#endif
