/* engine_ops.h — the engine's operations bound to the real node drivers
 * and router of an environment. */
#ifndef MLCTL_ENGINE_OPS_H
#define MLCTL_ENGINE_OPS_H

#include "config.h"
#include "engine.h"
#include "rstate.h"

struct analysis;

struct http_client;
struct gate_limits;
struct gate_result;

/* `promote`: the gates its GATES step runs, and their results. */
struct engine_gates {
	const enum cfg_gate *order; /* the environment's gates, in order */
	size_t n;
	const struct gate_limits *lim; /* floors merged with the release's */
	const char *report_path;       /* load report, or NULL */
	bool via_preview;   /* through router.preview (after a blue/green preview) */
	bool via_router;    /* through the live listener */
	struct gate_result *results; /* n entries, filled by the step (caller
					releases each with gate_result_release) */
	size_t n_run;
};

/* Node calls of one rollout share `http` (a private-loop client from
 * core/http.h, may be NULL), so each node's connection is reused from
 * load to ready to unload. */
struct engine_real {
	const struct cfg_env *env;
	const char *run_dir;           /* <state>/run/<env> */
	const struct cfg_release *rel; /* the manifest at hand (smoke cases,
					  analysis traffic), or NULL */
	/* canary analysis (op_analyse): */
	const struct rstate_release *target; /* what is rolled out */
	const struct plan *plan;       /* to number the canary steps */
	const char *prior_analysis;    /* intervals of an earlier (paused)
					  run, a JSON array text, or NULL */
	struct analysis *an;           /* made by the first analyse step;
					  read it before engine_real_release */
	struct http_client *http;      /* node calls of the rollout share it
					  (borrowed; NULL: one per call) */
	volatile sig_atomic_t *stop;   /* see engine_opts.stop, or NULL */
	struct engine_gates *gates;    /* promote's gates, or NULL */
	/* told of each judged analysis interval (a JSON object text), or
	 * NULL */
	void (*on_interval)(const char *interval_json, void *payload);
	void *on_interval_payload;
	const struct cfg_analysis *rel_analysis; /* the release's analysis
					  block to apply instead of rel's
					  (continue: the recorded manifest's),
					  or NULL */
};

void engine_real_ops(struct engine_real *e, struct engine_ops *ops);
/* Free what the ops made (the analysis; waits for its traffic). */
void engine_real_release(struct engine_real *e);

#endif
