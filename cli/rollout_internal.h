/* rollout_internal.h — what rollout.c and rollout_paused.c share: the
 * pause record's "rollout" object and where a pause stands among the
 * canary steps. Not for the commands. */
#ifndef MLCTL_ROLLOUT_INTERNAL_H
#define MLCTL_ROLLOUT_INTERNAL_H

#include "engine.h"
#include "lock.h"
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

/* How a run that went back was stopped, as rollout_run saw it
 * (rollout_stop.c reads it). */
struct rollout_stop {
	double an_failed_at;  /* analysis_failed_at; 0 when it did not abort */
	bool an_verdict;      /* that abort is a verdict on the release */
	bool an_stopped;      /* that abort came from the stop flag */
	bool asked;           /* `mlctl abort` left a request (in `ask`) */
	struct lock_stop ask;
};

/* Whether the run ended because its stop flag was set (a signal), in the
 * engine before a step or in an analysis pause. */
bool rollout_was_stopped(const struct engine_result *res,
			 const struct rollout_stop *sp);
/* The reason a run stopped by `mlctl abort` records and prints, with who
 * asked and why ("canary aborted at 10% by alice@host: p99 creeping up")
 * instead of "stopped by a signal"; "" when the run was not stopped by
 * an abort that left its request. */
void rollout_stop_reason(const struct rollout_req *req, const struct plan *p,
			 const struct engine_result *res,
			 const struct rollout_stop *sp, char *buf, size_t size);
/* The time from when the run was told, or found, that it must go back to
 * when all traffic was on the stable release (ms), and that moment's name
 * for the summary ("the deadline", "the failing check", ...) and for JSON
 * ("deadline", "failing_check", ...). -1 when there is no such figure:
 * nothing went back, traffic never reached the target, or it never all
 * left it. t_start: now_ms() as the run began. */
double rollout_back_ms(const struct rollout_req *req,
		       const struct engine_result *res, double t_start,
		       const struct rollout_stop *sp, const char **text,
		       const char **key);

/* ---- The progress a running rollout publishes (rollout_progress.c) ----
 * For `mlctl status`, beside the environment's lock (lock.h): the object
 * {command, env, model, version, strategy, state "running" or "rolling
 * back", plan_step (1-based; 0 before the first), plan_steps, step_text,
 * updated (UTC), and for a canary plan canary {phase "preparing" |
 * "steps" | "completing", percent, step, steps, last_intervals (the last
 * ROLLOUT_PROGRESS_INTERVALS analysis intervals, as the ledger keeps
 * them)}}. Published as the run begins, as each step begins (forward or
 * undone), when a canary share is applied and after each analysis
 * interval; withdrawn by rollout_progress_release. */
#define ROLLOUT_PROGRESS_INTERVALS 5

struct rollout_progress {
	const char *state_dir, *env; /* borrowed */
	const struct plan *plan;     /* borrowed */
	json_t *doc;                 /* what is published (owned) */
	json_t *intervals;           /* the last few (owned) */
	int percent, c_step, c_steps;
	size_t last_canary;          /* index of the last analyse/pause step */
};

/* Begin with the run's first publication: what runs (req, target), from
 * where a resumed run takes up its pause (its canary share, step and
 * intervals so far). */
void rollout_progress_init(struct rollout_progress *pr, const char *state_dir,
			   const struct rollout_req *req, const struct plan *p,
			   const struct rstate_release *target);
/* An engine event: a step begins or a canary share is applied. */
void rollout_progress_event(struct rollout_progress *pr,
			    const struct engine_event *ev);
/* An analysis interval was judged (analysis_interval_fn; payload: pr). */
void rollout_progress_interval(const char *interval_json, void *payload);
/* Withdraw the published progress and free what pr holds. */
void rollout_progress_release(struct rollout_progress *pr);

#endif
