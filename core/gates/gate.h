/* gate.h — the test gates a release must pass in an environment (DESIGN.md
 * "Nouns: Gate"): unit, integration, smoke, load and acceptance, run by
 * mlctl itself so a laptop and CI get the same answer.
 *
 * The pieces, each usable on its own:
 *  - limits: the release's `checks` merged with the environment's floors
 *    (gate_limits_merge, a pure function): a release may tighten a
 *    threshold, never loosen it.
 *  - target: where the release is loaded in the environment (the nodes
 *    whose repository says model@version is ready) and whether its router
 *    can be used (every node the router sends live traffic to serves it).
 *  - the gates: gate_run() runs one gate against a target and fills one
 *    struct gate_result: its checks (one JUnit testcase each), a one-line
 *    summary with the figures, and the figures as JSON.
 *  - output: JUnit XML for a whole run (gate_junit_write), a tolerant
 *    reader for the JUnit a unit command writes (gate_junit_parse) and TAP
 *    (gate_tap_parse), the cases file of the acceptance gate
 *    (gate_cases_parse) and its metrics (gate_metric).
 *
 * A gate that says no is a result (passed false), never an error: every
 * gate runs to the end and reports what it measured. Functions that can
 * fail return 0 or -1 with `err` (ML_EXIT_USAGE for bad input,
 * ML_EXIT_OPERATIONAL for an environment that cannot be reached). The
 * caller owns every result and releases it with the matching _release.
 * Printing is the command's job (cli/cmd_gate.c). */
#ifndef MLCTL_GATES_GATE_H
#define MLCTL_GATES_GATE_H

#include "config.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct json_t;
struct rstate;

/* ---- thresholds: the environment's floors and the release's own -------- */

/* Defaults when neither the environment nor the release says. */
#define GATE_UNIT_TIMEOUT_MS 600000LL        /* unit command: 10 min */
#define GATE_INTEGRATION_TIMEOUT_MS 300000LL /* integration command: 5 min */
#define GATE_SMOKE_TIMEOUT_MS 2000LL
#define GATE_LOAD_RATE 100.0
#define GATE_LOAD_DURATION_MS 10000LL
#define GATE_LOAD_CONNECTIONS 16
#define GATE_LOAD_MAX_ERROR_RATE 0.01
#define GATE_ACCEPTANCE_BATCH 50
#define GATE_ACCEPTANCE_CONCURRENCY 4
#define GATE_MAX_HELD 8

/* The p99 bound a serving mode implies when the release sets none:
 * realtime 1 s, near-real-time 1 min, edge 100 ms; batch: none (-1). */
long long gate_mode_max_p99_ms(enum cfg_serving_mode mode);

/* One acceptance bound: metric <= limit (lower-is-better metrics) or
 * metric >= limit (accuracy, exact). */
struct gate_bound {
	enum cfg_metric metric;
	double limit;
	const char *from; /* "environment", "release" or "both" (static) */
};

/* What a gate run is held to: the stricter of the environment's floor and
 * the release's value for each threshold (smaller timeouts, max_p99,
 * max_error_rate and acceptance max; larger acceptance min), the larger
 * of the two for the test's intensity (load rate, duration, connections).
 * Strings are borrowed from the checks merged. */
struct gate_limits {
	long long unit_timeout_ms, integration_timeout_ms, smoke_timeout_ms;
	/* commands: the environment's (run first) and the release's */
	const struct cfg_cmd_check *unit[2], *integration[2];
	size_t n_unit, n_integration;
	/* smoke cases: the environment's, then the release's */
	const struct cfg_smoke_case *smoke_env, *smoke_rel;
	size_t n_smoke_env, n_smoke_rel;
	double load_rate;
	long long load_duration_ms;
	int load_connections;
	long long load_max_p99_ms;  /* -1: no bound (batch) */
	double load_max_error_rate; /* -1: no bound */
	/* acceptance: one bound per metric named (the environment's and the
	 * release's may differ; both must hold) */
	struct gate_bound acc[2];
	size_t n_acc;
	const char *acc_cases; /* resolved path: the release's, else the env's */
	int acc_batch, acc_concurrency;
	/* where the release tried to loosen a floor and was held to it, one
	 * readable line each: "load.max_p99: the release's 2s is looser
	 * than the environment's floor 250ms; 250ms applies" */
	char held[GATE_MAX_HELD][256];
	size_t n_held;
};

/* Merge the environment's floors (`floor`, may be NULL) with the release's
 * checks (`rel`, may be NULL) for a release of serving mode `mode`. Pure:
 * no I/O, the same inputs give the same limits. */
void gate_limits_merge(const struct cfg_checks *floor,
		       const struct cfg_checks *rel,
		       enum cfg_serving_mode mode, struct gate_limits *out);

/* ---- results ------------------------------------------------------------ */

/* One check: a JUnit testcase. */
struct gate_check {
	char *name;    /* "live staging-1", "contract v: negative" */
	bool ok;
	bool skipped;  /* not run; reason says why (ok stays true) */
	double ms;
	char *reason;  /* why it failed or was skipped; NULL when ok */
	char *detail;  /* longer text for the failure body (output), or NULL */
};

struct gate_result {
	enum cfg_gate gate;
	bool passed;
	double ms;     /* wall time of the gate */
	struct gate_check *checks;
	size_t n_checks, n_failed, n_skipped, cap;
	char *summary; /* one line with the figures */
	char *output;  /* captured command output (unit, integration.run), or NULL */
	struct json_t *figures; /* a JSON object (owned), never NULL after a run */
	char *report;  /* the load report written, or NULL */
};

void gate_result_init(struct gate_result *r, enum cfg_gate g);
void gate_result_release(struct gate_result *r);
/* Append a check; `reason` NULL means it passed. Returns the check
 * (borrowed, valid until the next add). */
struct gate_check *gate_add_check(struct gate_result *r, const char *name,
				  double ms, const char *reason);
struct gate_check *gate_add_checkf(struct gate_result *r, const char *name,
				   double ms, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
struct gate_check *gate_add_skip(struct gate_result *r, const char *name,
				 const char *why);
/* Set the summary (printf-style). */
void gate_set_summary(struct gate_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The first failed check's "name: reason", or NULL. */
const char *gate_first_failure(const struct gate_result *r, char *buf,
			       size_t sz);
/* The result as JSON: {gate, passed, duration_s, summary, checks:[{name,
 * passed, skipped, duration_s, reason}], figures}. New reference. */
struct json_t *gate_result_json(const struct gate_result *r);

/* ---- target: where the release is loaded -------------------------------- */

struct gate_target {
	const struct cfg_node **nodes; /* serving the release (owned array,
					  borrowed nodes) */
	size_t n_nodes;
	char *router_url;  /* http://host:port to send through, or NULL */
	char *router_note; /* why the router is not used, or NULL */
	char *others;      /* "prod-3 (2.0.0), prod-4 (2.0.0)": nodes not
			      serving it, or NULL */
};

/* Ask every node of env whether rel's version is ready there (concurrently)
 * and fill *out. `st` (may be NULL) gives the router's live weights: the
 * router is used when every node with a live weight serves the release
 * and its listener accepts connections. -1 with err: ML_EXIT_USAGE when no
 * node has the release ready ("eta 2.1.0 is not loaded in staging:
 * staging-1 serves 2.0.0, ..."), ML_EXIT_OPERATIONAL when a node or the
 * router cannot be reached. */
int gate_target_find(const struct cfg_env *env, const struct cfg_release *rel,
		     const struct rstate *st, struct gate_target *out,
		     struct ml_err *err);
void gate_target_release(struct gate_target *t);

/* ---- running gates ------------------------------------------------------ */

struct gate_ctx {
	const struct cfg_env *env;
	const struct cfg_release *rel;
	const struct gate_limits *lim;
	const struct gate_target *target;
	const char *root;        /* project root: where commands run ("." ) */
	const char *report_path; /* load gate: write the HTML report here, or NULL */
};

/* Check that rel and env give gate g what it needs before anything runs:
 * unit needs a command, load a smoke case to build its request from,
 * acceptance a cases file that parses and a threshold. -1 with err
 * (ML_EXIT_USAGE) naming what is missing. */
int gate_preflight(enum cfg_gate g, const struct gate_ctx *c,
		   struct ml_err *err);

/* Run gate g; out is initialised here and always filled (a gate that could
 * not do something reports it as a failed check). */
void gate_run(enum cfg_gate g, const struct gate_ctx *c,
	      struct gate_result *out);

void gate_unit_run(const struct gate_ctx *c, struct gate_result *out);
void gate_integration_run(const struct gate_ctx *c, struct gate_result *out);
void gate_smoke_run(const struct gate_ctx *c, struct gate_result *out);
void gate_load_run(const struct gate_ctx *c, struct gate_result *out);
void gate_acceptance_run(const struct gate_ctx *c, struct gate_result *out);

/* ---- commands (unit, integration.run) ----------------------------------- */

struct gate_cmd_result {
	int status;      /* exit status; -1 when killed by a signal */
	int signal;      /* the signal that ended it, or 0 */
	bool timed_out;  /* ran past the timeout; its process group was killed */
	double ms;
	char *output;    /* stdout + stderr interleaved: the last 64 KiB */
	size_t output_len;
	bool truncated;  /* earlier output was dropped */
};

#define GATE_CMD_OUTPUT_MAX (64u << 10)

/* Run `cmd` with sh -c in `cwd`, in its own process group, stdin from
 * /dev/null, with extra environment variables `envv` ("NAME=value",
 * NULL-terminated; may be NULL). Past timeout_ms the group gets SIGTERM,
 * then SIGKILL 2 s later. Once the command exits, whatever it left
 * running in its group is killed too. A SIGINT, SIGTERM or SIGHUP meant
 * for mlctl meanwhile ends the command's group first and is then raised
 * again (the group is not ours, so a terminal's ^C would miss it). Not
 * thread-safe (one command at a time). Returns 0 with *out filled (release
 * with gate_cmd_result_release), -1 with err when it could not be
 * started. */
int gate_cmd_run(const char *cmd, const char *cwd, char *const *envv,
		 long long timeout_ms, struct gate_cmd_result *out,
		 struct ml_err *err);
void gate_cmd_result_release(struct gate_cmd_result *r);

/* ---- JUnit and TAP ------------------------------------------------------- */

enum gate_case_status { GATE_CASE_PASS, GATE_CASE_FAIL, GATE_CASE_ERROR, GATE_CASE_SKIP };

struct gate_test_case {
	char *suite, *classname, *name; /* owned; "" when absent */
	double time_s;
	enum gate_case_status status;
	char *message; /* failure/error/skip message, or NULL */
};

struct gate_test_counts {
	size_t tests, failures, errors, skipped;
	struct gate_test_case *cases; /* in document order, owned */
	size_t n_cases;
};

/* Read a JUnit XML report (any of the common dialects: <testsuites> or a
 * lone <testsuite>, Criterion, pytest, Maven Surefire, Go's gotestsum).
 * Counts come from the <testcase> elements (a <failure>, <error> or
 * <skipped> child, or a status attribute saying so); a report with no
 * <testcase> falls back to the <testsuite> attributes. Tolerant: no DTDs,
 * comments, CDATA and entities are understood, unknown elements ignored.
 * -1 with err (ML_EXIT_USAGE) when the text holds no testsuite or
 * testcase element. */
int gate_junit_parse(const char *xml, size_t len, struct gate_test_counts *out,
		     struct ml_err *err);
/* Read TAP (Test Anything Protocol) output: "ok N - name", "not ok N",
 * "# SKIP" / "# TODO" directives, a "1..N" plan (tests planned but not
 * run count as failures). -1 when the text holds no TAP line. */
int gate_tap_parse(const char *text, size_t len, struct gate_test_counts *out);
void gate_test_counts_release(struct gate_test_counts *c);

/* Properties of the whole run, written on every testsuite. */
struct gate_junit_info {
	const char *env, *model, *version;
	long long timestamp; /* seconds since the epoch, UTC */
	const char *hostname;
};

/* Write results[0..n) as JUnit XML: <testsuites> with one <testsuite> per
 * gate (name = the gate), one <testcase classname="mlctl.<gate>"> per
 * check, <failure message=...> with the reason (and detail as its text),
 * <skipped>, durations in seconds, and the captured output in
 * <system-out>. Text is escaped and made valid XML 1.0 UTF-8. Returns a
 * new string (caller frees). */
char *gate_junit_render(const struct gate_result *results, size_t n,
			const struct gate_junit_info *info);
/* gate_junit_render to a file (written to <path>.tmp, then renamed). */
int gate_junit_write(const char *path, const struct gate_result *results,
		     size_t n, const struct gate_junit_info *info,
		     struct ml_err *err);

/* ---- acceptance cases and metrics --------------------------------------- */

/* A table of numbers: a header of column names, then rows. */
struct gate_cases {
	char **names;     /* n_cols, owned */
	size_t n_cols;
	double *values;   /* n_rows * n_cols, row-major; NAN where a JSONL
			     row lacks the column */
	unsigned *lines;  /* the source line of each row (1-based) */
	size_t n_rows;
};

/* Parse a cases file's text: JSONL when `name` ends in .jsonl/.ndjson or
 * the first non-blank character is '{' (one object per line, numbers as
 * values, columns in first-seen order), else CSV with a header line (comma
 * separated, "quoted" fields with "" escapes, CRLF, blank lines and
 * '#' comment lines skipped). Every value must be a number. -1 with err
 * (ML_EXIT_USAGE, "name:line:col: why"). */
int gate_cases_parse(const char *name, const char *text, size_t len,
		     struct gate_cases *out, struct ml_err *err);
void gate_cases_release(struct gate_cases *c);
/* The column of that name, or -1. */
int gate_cases_column(const struct gate_cases *c, const char *name);

/* The metric over n (predicted, expected) pairs:
 *  mae      mean |p - y|
 *  rmse     sqrt(mean (p - y)^2)
 *  mape     mean |p - y| / |y| over rows with y != 0 (a fraction)
 *  accuracy share of rows where |p - y| <= 0.5 (class labels as numbers)
 *  exact    share of rows where p == y (relative tolerance 1e-9)
 * NAN when it is undefined (no rows; mape with every y == 0). */
double gate_metric(enum cfg_metric m, const double *pred, const double *expect,
		   size_t n);
/* The error of one row as the metric sees it, for ranking the worst
 * cases: |p - y| (mae, rmse, accuracy, exact), |p - y| / |y| (mape). */
double gate_row_error(enum cfg_metric m, double pred, double expect);
/* Whether value meets the bound. */
bool gate_bound_ok(const struct gate_bound *b, double value);

/* ---- metrics scrapes (integration: traffic reaches every node) ---------- */

/* Sum of a Prometheus text exposition's request counters for `model`:
 * samples of metrics whose name holds "request" and ends in "_total",
 * "_count" or "_success" (not histogram buckets or sums), labelled
 * model="<model>". -1 when there is no such sample. */
double gate_metrics_requests(const char *text, const char *model);

#endif
