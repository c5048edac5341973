/* ledger.h — the git ledger: what happened to each environment, as plain git.
 *
 * The ledger is a bare git repository at <state>/ledger (created, with its
 * parent directories, on first use). Each environment has a branch
 * `env/<name>`; every deploy, rollback, abort, failed rollout and gate run is
 * one commit on it whose first parent is the previous tip, so the branch is a
 * straight line, newest first in `git log env/<name>`. A commit's tree holds:
 *
 *   manifest.yaml   the release manifest the record is about, byte for byte
 *                   (omitted when the caller gives none)
 *   state.json      the caller's JSON: node -> version, router weights,
 *                   strategy, figures, analysis intervals, reason ...
 *   rejected.json   the environment's rejected releases, carried forward
 *                   from the parent: [{model, version, reason, when, by}]
 *
 * The message's first line reads well in `git log --oneline`
 * (`deploy eta 2.0.0 to prod (canary): deployed`); the last paragraph holds
 * git trailers (Action, Outcome, Environment, Model, Version, Strategy,
 * Duration, Detail, Reason) which are what this module reads back, so
 * `git log --format='%(trailers:key=Outcome,valueonly)'` works too.
 * An annotated tag `<env>/<model>/<version>` is moved (forced) to the latest
 * deployment of that version in that environment when the record asks.
 *
 * Author and committer: git's user.name / user.email (global and system
 * config) when user.name is set; else MLCTL_AUTHOR ("Name <email>" or a
 * name); else the login name, email <login>@<hostname>. Time: now.
 *
 * Conventions (libgit2's): functions return 0 or -1 with `err` filled
 * (code ML_EXIT_OPERATIONAL for repository trouble, ML_EXIT_USAGE for a
 * record that cannot be written, e.g. a name git refuses in a ref); an
 * expected "not there" is a result (0 and a NULL out), never an error.
 * Whoever receives a `**out` owns it and frees it with the matching _free.
 * A `struct ledger` is single-threaded; several processes may read and
 * write one ledger at once (writers retry when another one moved the tip).
 * This is the only module that includes <git2.h>. */
#ifndef MLCTL_LEDGER_H
#define MLCTL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct ledger;

/* Actions (free-form lowercase words; these are the ones mlctl writes). */
#define LEDGER_ACTION_DEPLOY "deploy"
#define LEDGER_ACTION_ROLLBACK "rollback"
#define LEDGER_ACTION_ABORT "abort"
#define LEDGER_ACTION_GATE "gate"
#define LEDGER_ACTION_ROLLOUT "rollout"
#define LEDGER_ACTION_CONTINUE "continue"

/* Outcomes: DESIGN.md's words, plus "failed" and "paused" (a canary
 * waiting for `mlctl continue` or `mlctl abort`: its state.json says
 * where; the release is not serving). Anything else is refused. */
#define LEDGER_OUTCOME_DEPLOYED "deployed"
#define LEDGER_OUTCOME_ROLLED_BACK "rolled back"
#define LEDGER_OUTCOME_ABORTED "aborted"
#define LEDGER_OUTCOME_REJECTED "rejected"
#define LEDGER_OUTCOME_GATES_PASSED "gates passed"
#define LEDGER_OUTCOME_GATES_FAILED "gates failed"
#define LEDGER_OUTCOME_FAILED "failed"
#define LEDGER_OUTCOME_PAUSED "paused"

/* Open the ledger under `state_dir`, creating the directory (with parents)
 * and the bare repository when missing. Concurrent first uses are safe.
 * On success *out is a new ledger the caller frees with ledger_free. */
int ledger_open(const char *state_dir, struct ledger **out,
		struct ml_err *err);
/* Free a ledger; NULL is a no-op. */
void ledger_free(struct ledger *l);
/* The repository's path (<state>/ledger), borrowed. */
const char *ledger_path(const struct ledger *l);

/* ---- Writing ---------------------------------------------------------- */

/* One record. Every pointer is borrowed for the duration of the call.
 * Required: env, action, outcome. model and version go together (both or
 * neither). Single-line fields must not contain control characters;
 * `reason` may span lines (the trailer gets it on one line, whitespace
 * runs folded to one space).
 *
 * Meaning of model@version per action: the release the record is about —
 * for a deploy/gate/abort the release deployed, tested or aborted; for a
 * rollback the release the environment was rolled back TO. A record leaves
 * that release serving (see ledger_entry_serving) when its outcome is
 * "deployed", or when action is "rollback" and outcome "rolled back". An
 * automatic rollback inside a failed deploy is therefore recorded as a
 * deploy with outcome "failed"/"aborted", not "rolled back". */
struct ledger_record {
	const char *env;      /* environment name: branch env/<env> */
	const char *action;   /* LEDGER_ACTION_* (a lowercase word) */
	const char *outcome;  /* LEDGER_OUTCOME_* */
	const char *model;    /* may be NULL (with version) */
	const char *version;
	const char *strategy; /* "canary", "rolling" ...; NULL: none */
	const char *detail;   /* short, shown after the outcome in the summary:
				 "gates failed (load, acceptance)"; may be NULL */
	const char *reason;   /* why it failed / was aborted / forced; may be NULL */
	const char *body;     /* free text paragraph(s) for the message; NULL ok */
	const char *manifest; /* manifest bytes; NULL: no manifest.yaml */
	size_t manifest_len;
	const char *state_json; /* valid JSON text, stored as given (plus a
				   final newline); NULL: {} */
	double duration_s;      /* wall time; 0 (or less): not recorded */
	bool reject;   /* mark model@version rejected in env, with `reason` */
	bool unreject; /* remove model@version from env's rejected list */
	bool tag;      /* move tag <env>/<model>/<version> to this commit */
};

/* Commit one record on env/<rec->env>. On success the new commit's id is
 * written to `oid_hex` (41 bytes, NUL-terminated) when not NULL. Nothing is
 * written when the record is invalid. Cost: a few object writes and one
 * ref update (two with `tag`); retries for up to ~2 s while other writers
 * move the same branch. */
int ledger_record(struct ledger *l, const struct ledger_record *rec,
		  char oid_hex[41], struct ml_err *err);

/* ---- Reading ---------------------------------------------------------- */

/* Flags for reads: what to load besides the commit's metadata. */
#define LEDGER_LOAD_STATE 0x1u    /* fill state_json */
#define LEDGER_LOAD_MANIFEST 0x2u /* fill manifest / manifest_len */

/* One commit of an environment's branch. Every string is owned by the
 * entry and NUL-terminated; optional fields are NULL when absent. */
struct ledger_entry {
	char oid[41];
	char *env;
	char *summary; /* the message's first line */
	char *action, *outcome;
	char *model, *version, *strategy, *detail, *reason;
	char *author_name, *author_email;
	long long when;       /* commit time, seconds since the epoch */
	int tz_offset_min;    /* the committer's UTC offset, minutes */
	double duration_s;    /* 0 when not recorded */
	char *state_json;     /* with LEDGER_LOAD_STATE */
	char *manifest;       /* with LEDGER_LOAD_MANIFEST; NUL-terminated */
	size_t manifest_len;
};

void ledger_entry_free(struct ledger_entry *e);
/* Whether the record left its model@version serving (see ledger_record). */
bool ledger_entry_serving(const struct ledger_entry *e);

/* The environment's last good release — the newest record that left a
 * release serving — and its newest record (the tip). Either out pointer
 * may be NULL when not wanted; each result is NULL when there is none
 * (no history, or nothing ever deployed). Caller frees both. */
int ledger_current(struct ledger *l, const char *env, unsigned flags,
		   struct ledger_entry **good, struct ledger_entry **tip,
		   struct ml_err *err);

/* Called once per entry, newest first. The entry is borrowed for the call.
 * Return 0 to go on, > 0 to stop (ledger_history then returns 0), < 0 to
 * fail (ledger_history returns that value; err is left to the callback). */
typedef int (*ledger_history_cb)(const struct ledger_entry *e, void *payload);

/* Walk env/<env> from the tip down the first-parent chain. An environment
 * with no history calls nothing and returns 0. */
int ledger_history(struct ledger *l, const char *env, unsigned flags,
		   ledger_history_cb cb, void *payload, struct ml_err *err);

/* `rollback`'s default target: the newest serving record whose release is
 * not `except_version` (NULL: the current good release's version), not
 * rejected in env today, and of `model` (NULL: any model). *out is NULL
 * when there is none. Caller frees. */
int ledger_previous_good(struct ledger *l, const char *env, const char *model,
			 const char *except_version, unsigned flags,
			 struct ledger_entry **out, struct ml_err *err);

/* The latest deployment of model@version in env (the commit its tag
 * points at); *out is NULL when it was never tagged there. */
int ledger_deployment(struct ledger *l, const char *env, const char *model,
		      const char *version, unsigned flags,
		      struct ledger_entry **out, struct ml_err *err);

/* The manifest bytes of model@version's latest deployment in env, so a
 * rollback can restore it. *manifest (NUL-terminated, caller frees) is
 * NULL when the version was never deployed there or had no manifest. */
int ledger_manifest_of(struct ledger *l, const char *env, const char *model,
		       const char *version, char **manifest, size_t *len,
		       struct ml_err *err);

/* ---- Rejected releases ------------------------------------------------ */

struct ledger_rejection {
	char *model, *version, *reason, *when, *by; /* owned; reason may be "" */
};

/* Whether model@version is rejected in env (per the branch tip). `reason`
 * may be NULL; otherwise it gets the reason (caller frees) or NULL. */
int ledger_is_rejected(struct ledger *l, const char *env, const char *model,
		       const char *version, bool *rejected, char **reason,
		       struct ml_err *err);

/* Every rejected release of env, oldest first. *out (NULL when none) is
 * freed with ledger_rejections_free(*out, *n). */
int ledger_rejections(struct ledger *l, const char *env,
		      struct ledger_rejection **out, size_t *n,
		      struct ml_err *err);
void ledger_rejections_free(struct ledger_rejection *r, size_t n);

#endif
