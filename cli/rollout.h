/* rollout.h — what `deploy`, `rollback` and `continue` share: take the
 * environment's lock, load its state from the ledger, run a plan through
 * the engine on the real drivers with progress on stderr, record the
 * outcome in the ledger, and print the result. */
#ifndef MLCTL_ROLLOUT_H
#define MLCTL_ROLLOUT_H

#include "cli.h"
#include "config.h"
#include "rstate.h"
#include "strategy.h"

struct ledger;

struct rollout_req {
	const char *action;        /* "deploy" or "rollback" */
	const struct cfg_env *env;
	const struct cfg_release *rel;       /* the manifest at hand (smoke cases) */
	const struct rstate_release *target; /* the recorded target; NULL: rel's */
	const char *manifest;      /* bytes recorded with the entry, or NULL */
	size_t manifest_len;
	int strategy;              /* -1: the environment's */
	long long timeout_ms;
	const char *reason;        /* --reason / --force note, or NULL */
	bool force;
};

/* Runs the whole thing; returns the exit status. */
int rollout_run(const struct ml_ctx *ctx, struct ledger *ledger,
		struct rstate *st, const struct plan *p,
		const struct rollout_req *req);

/* The result of a rollout with nothing to do (text, or one JSON document). */
void rollout_print_noop(const struct cfg_env *env, const char *action,
			const char *model, const char *version);

/* "<state>/run/<env>" (caller frees). */
char *rollout_run_dir(const struct ml_ctx *ctx, const struct cfg_env *env);

#endif
