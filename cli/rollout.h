/* rollout.h — what `deploy`, `rollback`, `continue` and `abort` share:
 * run a plan through the engine on the real drivers with progress on
 * stderr, record the outcome in the ledger, and print the result; and a
 * canary paused for a person (the ledger tip is a "paused" record whose
 * state.json carries a "rollout" object, see rollout.c). */
#ifndef MLCTL_ROLLOUT_H
#define MLCTL_ROLLOUT_H

#include "cli.h"
#include "config.h"
#include "rstate.h"
#include "strategy.h"

struct engine_gates;

struct ledger;

struct rollout_req {
	const char *action;        /* the record's action: "deploy", "promote",
				      "rollback", "continue", "abort" */
	const struct cfg_env *env;
	const struct cfg_release *rel;       /* the manifest at hand (smoke cases) */
	const struct rstate_release *target; /* the recorded target; NULL: rel's */
	const char *manifest;      /* bytes recorded with the entry, or NULL */
	size_t manifest_len;
	int strategy;              /* -1: the environment's */
	long long timeout_ms;
	const char *reason;        /* --reason / --force note, or NULL */
	bool force;
	/* continue / abort: the paused rollout to resume (its steps before
	 * resume_at are replayed, not redone); NULL for a fresh run, which
	 * is refused (exit 4) while the environment has a paused rollout */
	const struct rollout_paused *resume;
	bool abort;                /* with resume: roll it back instead */
	const char *full_reason;   /* continue --full: why the remaining
				      canary steps were skipped */
	struct engine_gates *gates; /* promote: the gates its GATES step runs
				       (results reported and recorded), or NULL */
	const struct cfg_analysis *rel_analysis; /* the release's analysis
				       block to judge the canary by instead
				       of rel's (continue: the recorded
				       manifest's), or NULL */
	const char *junit;         /* promote --junit FILE (absolute), kept
				      with a pause for the gates a continue
				      runs; or NULL */
	/* abort of a pause record that cannot be read (with `abort`, no
	 * `resume`): the plan returns the nodes to `target`, while the
	 * record is about the release that paused (cleared_model and
	 * cleared_version; NULL when unknown: target's) */
	bool clear_unreadable;
	const char *cleared_model, *cleared_version;
};

/* A rollout paused in an environment, as its pause record says. */
struct rollout_paused {
	char *action;         /* the run that paused: "deploy", "promote",
				 "continue" */
	/* the command that began the rollout, "deploy" or "promote": the
	 * plan continue and abort rebuild is that command's (a record
	 * without it: "promote" when action says so, else "deploy") */
	char *command;
	char *note;           /* promote: the reason its records carry
				 ("approved by ..."), or NULL */
	char *junit;          /* promote --junit FILE (absolute), or NULL */
	char *gates_json;     /* promote: the results of the gates run
				 before the pause (a JSON array), or NULL */
	int cli_strategy;     /* the command's --strategy; -1: the environment's */
	size_t resume_at;     /* the first step still to run */
	size_t n_steps;
	char plan_sha[65];    /* the plan's fingerprint (rollout_plan_sha) */
	int canary_percent;   /* the canary's share now */
	int canary_step, canary_steps; /* "step 1 of 2" */
	long long timeout_ms;
	bool forced;
	char *reason;         /* why it paused */
	char *since, *by;     /* when (the record's time) and who */
	struct rstate pre;    /* the environment before the rollout began */
	struct rstate_release target;
	char *analysis_json;  /* the analysis intervals so far, or NULL */
	char *manifest;       /* the manifest recorded with the pause */
	size_t manifest_len;
};

/* The paused rollout of env: *out (free with rollout_paused_free) when
 * the ledger tip is a pause, else NULL. -1 with err: code ML_EXIT_USAGE
 * when the tip is a pause whose record cannot be parsed (the message
 * names the commit and says that `mlctl abort` clears it),
 * ML_EXIT_OPERATIONAL when the ledger cannot be read. */
int rollout_paused_load(struct ledger *l, const struct cfg_env *env,
			struct rollout_paused **out, struct ml_err *err);
void rollout_paused_free(struct rollout_paused *p);
/* SHA-256 of the plan's strategy and step texts: a resumed plan must be
 * the plan that paused. */
void rollout_plan_sha(const struct plan *p, char hex[65]);
/* The plan of a paused rollout, rebuilt from its pre-rollout state as
 * the command that began it built it: deploy's, or promote's with its
 * GATES step (whose via flags go to `g` when not NULL). -1 with err
 * (ML_EXIT_USAGE) when it is not the plan that paused (the environment's
 * definition changed meanwhile). */
int rollout_resume_plan(const struct cfg_env *env,
			const struct rollout_paused *pz, struct plan *p,
			struct engine_gates *g, struct ml_err *err);

/* Runs the whole thing; returns the exit status. */
int rollout_run(const struct ml_ctx *ctx, struct ledger *ledger,
		struct rstate *st, const struct plan *p,
		const struct rollout_req *req);

struct lock;
/* Before a deploy or promote of rel into env: take env's lock (a stale
 * one is replaced with a warning; held: exit 4 naming the holder), refuse
 * an env with a paused rollout (4, or 2 when its record cannot be read)
 * and a release rejected there unless `force` (2). ML_EXIT_OK with *lk
 * held and *rejected telling whether it goes ahead over a rejection;
 * otherwise the exit status, *lk NULL. */
/* Take ^C and SIGTERM (`mlctl abort`) as a request to stop the rollout
 * from now on, before the environment's lock names this process; the
 * run then stops before its next step and is rolled back and recorded.
 * rollout_run arms it too; it stays armed until the process exits (a
 * signal after the record is written changes nothing). */
void rollout_arm_stop(void);

int rollout_prepare(const struct ml_ctx *ctx, struct ledger *ledger,
		    const struct cfg_env *env, const struct cfg_release *rel,
		    const char *action, bool force, struct lock **lk,
		    bool *rejected);

/* ML_EXIT_OK when nothing is paused in env. Otherwise, after saying so
 * on stderr: ML_EXIT_LOCKED when a paused rollout must be continued or
 * aborted first; ML_EXIT_USAGE when the pause record cannot be read
 * (`mlctl abort` clears it); ML_EXIT_OPERATIONAL when the ledger cannot
 * be read. */
int rollout_refuse_when_paused(struct ledger *ledger, const struct cfg_env *env);

/* The result of a rollout with nothing to do (text, or one JSON document). */
void rollout_print_noop(const struct cfg_env *env, const char *action,
			const char *model, const char *version);

/* "<state>/run/<env>" (caller frees). */
char *rollout_run_dir(const struct ml_ctx *ctx, const struct cfg_env *env);

#endif
