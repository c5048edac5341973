/* engine.h — the one engine that runs every plan. It runs the steps in
 * order, journals each one (what it did, how long it took, what would undo
 * it), keeps the environment's state current as it goes, enforces the
 * rollout deadline, and when a step or a check fails runs the inverse of
 * every applied step in reverse order, so the environment ends on its last
 * good release. The engine talks to nodes and routers only through `struct
 * engine_ops`, which the caller provides (engine_ops_real for the real
 * drivers); it never prints: progress goes through a callback. */
#ifndef MLCTL_ENGINE_H
#define MLCTL_ENGINE_H

#include "config.h"
#include "err.h"
#include "rstate.h"
#include "strategy.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* What the engine needs done. Each returns 0 on success; -1 with err
 * (ML_EXIT_OPERATIONAL: a node or router failed or refused) or, for the
 * checks (smoke, analyse), 1 with err->msg saying why the check said no.
 * Operations on several nodes run concurrently inside the op. */
struct engine_ops {
	void *ctx;
	/* done[i] (when not NULL) says whether nodes[i] took the load, also
	 * when the op fails for other nodes. */
	int (*load)(void *ctx, const size_t *nodes, size_t n,
		    const struct rstate_release *rel, bool *done,
		    struct ml_err *err);
	/* Unloading a version a node does not hold is not an error. done[i]
	 * (when not NULL) says whether nodes[i] unloaded it, also when the
	 * op fails for other nodes. */
	int (*unload)(void *ctx, const size_t *nodes, size_t n, const char *model,
		      const char *version, bool *done, struct ml_err *err);
	int (*wait_ready)(void *ctx, const size_t *nodes, size_t n,
			  const char *model, const char *version,
			  long long timeout_ms, struct ml_err *err);
	int (*set_live)(void *ctx, const int *weights, struct ml_err *err);
	int (*set_preview)(void *ctx, const int *weights, struct ml_err *err);
	/* The release's smoke cases: through the preview listener when the
	 * env has one, else on each of `nodes`. */
	int (*smoke)(void *ctx, const size_t *nodes, size_t n,
		     const char *version, struct ml_err *err);
	/* A canary step's pause: analyse canary vs stable for step->pause_ms
	 * (or until the deadline). Besides 0 and 1 it may return 2: the
	 * analysis wants a person (no_data: pause); the run then pauses
	 * after this step as at a manual pause. */
	int (*analyse)(void *ctx, const struct plan_step *step,
		       long long until_ms, struct ml_err *err);
	/* `promote`: the environment's gates against the step's nodes (and
	 * the preview listener after a blue/green preview); 1 + err->msg
	 * when a gate says no. NULL: the step passes. */
	int (*gates)(void *ctx, const struct plan_step *step, struct ml_err *err);
};

/* One journal line. */
struct engine_event {
	size_t index, total; /* 1-based step number, steps in the plan */
	const struct plan_step *step;
	bool undo;           /* part of the rollback */
	int status;          /* -2 started, 0 ok, else failed */
	double ms;           /* when finished */
	const char *error;   /* when failed */
};
typedef void (*engine_progress_fn)(const struct engine_event *ev, void *payload);

struct engine_result {
	int exit_code;      /* ML_EXIT_OK, CHECK_FAILED, OPERATIONAL, PAUSED */
	bool rolled_back;   /* inverse steps ran (something had been applied) */
	bool timed_out;     /* stopped by the rollout deadline */
	bool check_failed;  /* a check (smoke, analysis, gates) said no, even
			       when the rollback then failed too */
	bool rollback_failed;
	char reason[512];   /* why it failed, "" on success */
	double duration_s;
	double downtime_ms; /* recreate: first unload to last ready; else 0 */
	size_t steps_done;
	char *journal_json; /* [{step, kind, text, ms, ok, undo}] (owned) */
	/* PAUSED: the 0-based index of the step the run stopped at (a
	 * manual pause step, or the analyse step that asked for a person);
	 * a resumed run starts at paused_at + 1. */
	size_t paused_at;
	int canary_percent; /* the canary's share when the run stopped */
	bool stopped;       /* by engine_opts.stop */
	/* rollback: now_ms() when no node with live weight served the target
	 * version any more (all traffic on the stable release); 0 = never */
	double stable_at_ms;
	/* now_ms() when the run stopped going forward: the end of the step
	 * that failed, or when the deadline or the stop was seen; 0 when it
	 * did not stop */
	double failed_at_ms;
	/* a node with live weight served the target version at some point
	 * (the steps a resumed run replays count): only then is stable_at_ms
	 * a return of traffic to the stable release */
	bool target_served;
};

struct engine_opts {
	long long timeout_ms;       /* the whole rollout; 0 = none */
	long long ready_timeout_ms; /* per wait-ready step; 0 = 60 s */
	engine_progress_fn progress;
	void *progress_payload;
	/* Resume a paused run (`mlctl continue` / `abort`): steps before
	 * resume_at were done by an earlier run. They are replayed on `st`
	 * (the state from before that run) without touching anything, so the
	 * journal a rollback needs is complete; the run goes on at
	 * resume_at. 0 = a fresh run. */
	size_t resume_at;
	/* With resume_at: roll back right after the replay, with this reason
	 * (`mlctl abort`); NULL = go on. */
	const char *abort_reason;
	/* Set (from a signal handler: ^C, `mlctl abort`): stop before the
	 * next step and roll back. NULL = never. */
	volatile sig_atomic_t *stop;
};

/* Run `p` for `target` on env. `st` is the state before and, on return,
 * after (the target state on success, the restored one after a rollback).
 * Returns the exit code also stored in res (caller releases res). */
int engine_run(const struct cfg_env *env, const struct plan *p,
	       const struct rstate_release *target, struct rstate *st,
	       const struct engine_ops *ops, const struct engine_opts *o,
	       struct engine_result *res);
void engine_result_release(struct engine_result *res);

#endif
