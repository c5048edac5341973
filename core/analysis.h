/* analysis.h — canary analysis: is the canary worse than the stable
 * release, right now, on the nodes' own numbers?
 *
 * Every `interval` during a canary step's pause, every node's /metrics is
 * scraped at once (core/http, one keep-alive client), and each node's
 * scrape is compared with its previous one. Per interval, the deltas of
 *   mlserve_requests_total{model,version,code}            (a counter) and
 *   mlserve_request_duration_seconds_bucket{model,version,le} (a histogram)
 * are summed over two groups: the canary nodes' series of the target
 * version, and the other nodes' series of every other version of the same
 * model (the stable release). Each group gives requests, errors, the error
 * rate and p50/p99, and the interval gets a verdict against the limits.
 *
 * Definitions (the contract; mlctl-env(5) says the same):
 *  - An error is a 5xx answer. A 4xx is the client's bad request (the data
 *    contract refusing it): the stable release would refuse it alike, and
 *    counting it would let one misbehaving client abort a canary. Other
 *    non-2xx answers count as requests only.
 *  - A counter that went down since the previous scrape was reset (the
 *    node restarted): its delta is its new value. A node whose
 *    mlserve_start_time_seconds changed is reset as a whole. A histogram
 *    with any bucket or its count gone down is reset as a whole.
 *  - p50/p99 come from the summed bucket deltas, interpolated linearly
 *    within the bucket that holds the rank (Prometheus' histogram_quantile:
 *    the first bucket starts at 0; a rank in the +Inf bucket gives the
 *    highest finite bound).
 *  - Verdict of an interval: FAIL when a canary node's scrape failed, or
 *    any set limit is broken; NO DATA when the canary answered fewer than
 *    min_requests; else PASS. Absolute limits: max_error_rate, max_p99.
 *    Relative limits (only when stable answered min_requests too):
 *    canary rate - stable rate > max_error_rate_delta; canary p99 /
 *    max(stable p99, ANALYSIS_P99_FLOOR_MS) > max_p99_ratio (the floor
 *    keeps sub-millisecond jitter on fast nodes from failing a canary).
 *  - failure_limit failed intervals (over the whole rollout) abort it.
 *    max_no_data NO DATA intervals in a row apply the no_data policy:
 *    fail (counts as one failed interval), pause (the rollout pauses for
 *    a person: continue or abort), pass (the step goes on). A step that
 *    ends without a single interval with data applies the policy too
 *    (fail aborts): a canary step never passes blind.
 *
 * The pure parts (snapshots from a parsed scrape, deltas, groups,
 * quantiles, verdicts, limits) are exposed for unit tests; the runner
 * (struct analysis) does the scraping, timing and optional traffic. */
#ifndef MLCTL_ANALYSIS_H
#define MLCTL_ANALYSIS_H

#include "config.h"
#include "err.h"
#include "prom.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define ANALYSIS_REQUESTS_METRIC "mlserve_requests_total"
#define ANALYSIS_LATENCY_METRIC "mlserve_request_duration_seconds"
#define ANALYSIS_START_METRIC "mlserve_start_time_seconds"

/* Below this, p99s compare as this (max_p99_ratio only). */
#define ANALYSIS_P99_FLOOR_MS 10.0

/* Caps per node scrape (untrusted input): versions of the model, distinct
 * status codes and histogram buckets per version. Beyond them, the
 * extra series/codes/buckets are ignored. */
#define ANALYSIS_MAX_VERSIONS 32
#define ANALYSIS_MAX_CODES 32
#define ANALYSIS_MAX_BUCKETS 128

/* ---- limits ------------------------------------------------------------- */

/* The effective analysis settings: every field set (no -1). */
struct analysis_limits {
	long long interval_ms;
	double max_error_rate;       /* < 0: no such limit */
	double max_error_rate_delta; /* < 0: none */
	double max_p99_ms;           /* < 0: none */
	double max_p99_ratio;        /* < 0: none */
	int min_requests;
	enum cfg_no_data no_data;
	int max_no_data;
	int failure_limit;
	double traffic_rate;         /* 0: none */
};

/* Defaults (issue 5): interval 10 s, max_error_rate 1%,
 * max_error_rate_delta 1%, max_p99 none, max_p99_ratio 2, min_requests 20,
 * no_data fail, max_no_data 3, failure_limit 1, no traffic. */
void analysis_limits_default(struct analysis_limits *l);

/* The environment's `strategy.analysis` over the defaults (NULL or unset
 * fields keep them). */
void analysis_limits_from_env(const struct cfg_analysis *env,
			      struct analysis_limits *out);

/* Apply a release's analysis block (its top-level `analysis:`) on top: it
 * may only tighten. Lower max_* limits and failure_limit/max_no_data win,
 * a higher min_requests and traffic rate win, no_data moves only towards
 * fail (pass < pause < fail); interval stays the environment's. `rel` may
 * be NULL or unset (no change). */
void analysis_limits_tighten(struct analysis_limits *l,
			     const struct cfg_analysis *rel);

/* Where a release asked for a looser analysis than the environment's and
 * was held to it, one readable line each, worded like the gates' floors:
 * "analysis.max_p99: the release's 500ms is looser than the environment's
 * 250ms; 250ms applies" (" (the default)" after a value the environment
 * does not set). One line at most per key. */
#define ANALYSIS_MAX_HELD 10
struct analysis_held {
	char line[ANALYSIS_MAX_HELD][256];
	size_t n;
};

/* The limits of a rollout: analysis_limits_from_env(env), then
 * analysis_limits_tighten(rel); `held` (may be NULL) gets a line for each
 * value of `rel` that did not apply. Pure. */
void analysis_limits_merge(const struct cfg_analysis *env,
			   const struct cfg_analysis *rel,
			   struct analysis_limits *out,
			   struct analysis_held *held);

/* ---- one node's scrape -------------------------------------------------- */

/* One model version on one node: its counters as last scraped. */
struct analysis_series {
	char version[64];
	size_t n_codes;
	int codes[ANALYSIS_MAX_CODES]; /* HTTP status; 0 = unreadable code */
	double counts[ANALYSIS_MAX_CODES];
	size_t n_buckets;              /* sorted by le, +Inf last if present */
	double le[ANALYSIS_MAX_BUCKETS];
	double cum[ANALYSIS_MAX_BUCKETS];
	double h_count, h_sum;
};

struct analysis_snapshot {
	bool ok;            /* the scrape answered 2xx */
	double start_time;  /* mlserve_start_time_seconds; NaN: unknown */
	size_t n_series;
	struct analysis_series series[ANALYSIS_MAX_VERSIONS];
	size_t bad_lines;   /* lines of the scrape that did not parse */
};

/* Fill *out from a parsed scrape: the series of `model` only. */
void analysis_snapshot_from(const struct prom_doc *doc, const char *model,
			    struct analysis_snapshot *out);

/* ---- deltas and groups -------------------------------------------------- */

/* What one series did during an interval. */
struct analysis_delta {
	double requests, errors, client_errors; /* all, 5xx, 4xx */
	size_t n_buckets;
	double le[ANALYSIS_MAX_BUCKETS];
	double cum[ANALYSIS_MAX_BUCKETS]; /* cumulative, like the metric */
	double count, sum;
	bool reset; /* the counters were reset: delta = the new values */
};

/* cur - prev, reset-aware (see the file comment). prev NULL: the series
 * is new since the previous scrape (delta = its values). node_reset: the
 * node restarted (delta = the new values). */
void analysis_series_delta(const struct analysis_series *prev,
			   const struct analysis_series *cur, bool node_reset,
			   struct analysis_delta *out);

/* A group (canary or stable) over one interval. */
struct analysis_group {
	double requests, errors, client_errors;
	size_t n_buckets;
	double le[ANALYSIS_MAX_BUCKETS];
	double cum[ANALYSIS_MAX_BUCKETS];
	size_t nodes;   /* nodes that contributed a scrape */
	/* after analysis_group_finish: */
	double error_rate; /* errors / requests; 0 when no request */
	double p50_ms, p99_ms; /* NaN when the histogram saw nothing */
};

void analysis_group_init(struct analysis_group *g);
/* Add a series' delta; buckets are merged on the union of their bounds
 * (a bound a series lacks takes its count at the next lower bound). */
void analysis_group_add(struct analysis_group *g, const struct analysis_delta *d);
void analysis_group_finish(struct analysis_group *g);

/* The q-quantile (0..1) of cumulative buckets le[]/cum[] (sorted by le),
 * in the unit of le; NaN when the total is 0. */
double analysis_quantile(const double *le, const double *cum, size_t n,
			 double q);

/* ---- verdicts ------------------------------------------------------------ */

enum analysis_verdict { ANALYSIS_PASS, ANALYSIS_FAIL, ANALYSIS_NO_DATA };
const char *analysis_verdict_name(enum analysis_verdict v); /* pass fail no-data */

struct analysis_interval {
	int percent;          /* the step's canary share */
	int step;             /* the canary step number, 1-based */
	double t_s;           /* end, seconds since the step's analysis began */
	double length_s;      /* how long the interval was */
	struct analysis_group canary, stable;
	char scrape_error[256]; /* a canary node's failed scrape, or "" */
	enum analysis_verdict verdict;
	char reason[256];     /* short, for the live line: "error rate +1.9% > +1%" */
	char detail[384];     /* long, for the abort line: "error rate 2.0% vs
				 stable 0.0% (limit +1%)" */
};

/* Judge an interval whose groups are finished: fills verdict, reason and
 * detail (several broken limits are joined with "; "). */
void analysis_judge(const struct analysis_limits *l,
		    struct analysis_interval *iv);

/* What the rollout does after an interval or at the end of a step. */
enum analysis_action { ANALYSIS_GO_ON, ANALYSIS_ABORT, ANALYSIS_PAUSE };

struct analysis_tracker {
	int failures;     /* failed intervals, over the whole rollout */
	int no_data_run;  /* NO DATA intervals in a row */
	bool step_had_data;
};

/* Account for one judged interval; on ABORT or PAUSE `why` gets the
 * reason (without the "canary aborted at N%: " prefix). */
enum analysis_action analysis_track(const struct analysis_limits *l,
				    struct analysis_tracker *t,
				    const struct analysis_interval *iv,
				    char *why, size_t why_sz);
/* At the end of a step's pause (then reset for the next step). */
enum analysis_action analysis_step_end(const struct analysis_limits *l,
				       struct analysis_tracker *t, char *why,
				       size_t why_sz);

/* The live line: "canary 10%: canary 412 req, 8 err (1.9%), p50 2.1 ms
 * p99 81 ms | stable 3701 req, 0 err (0.0%), p99 3.2 ms | FAIL error rate
 * +1.9% > +1%". */
void analysis_interval_line(const struct analysis_interval *iv, char *buf,
			    size_t sz);
/* One interval as a JSON object text (caller frees). */
char *analysis_interval_json(const struct analysis_interval *iv);

/* ---- the runner ----------------------------------------------------------- */

struct analysis;
typedef void (*analysis_line_fn)(const char *line, void *payload);

/* A runner for a rollout of model@version in env. `rel` (may be NULL)
 * gives the smoke inputs for `traffic`. The limits are the environment's
 * strategy.analysis tightened by the release's analysis block
 * (analysis_limits_merge): `rel_analysis` when not NULL (`continue`: the
 * block of the manifest recorded with the pause), else rel's. The lines of
 * the values it was held on: analysis_held_of. */
struct analysis *analysis_new(const struct cfg_env *env,
			      const struct cfg_release *rel,
			      const struct cfg_analysis *rel_analysis,
			      const char *model, const char *version);
/* Earlier intervals of this rollout (a JSON array text from a paused
 * record's state): kept in the log, and their failures count. */
void analysis_set_prior(struct analysis *a, const char *json_array);
/* A flag a signal handler sets: the step ends within ~100 ms as an
 * abort ("stopped by a signal"), which is no verdict on the release. */
void analysis_set_stop(struct analysis *a, volatile sig_atomic_t *stop);
/* Told of each interval once it is judged: the interval as a JSON
 * object text (as the log holds it), e.g. to publish the rollout's
 * progress. fn NULL: nobody is told. */
typedef void (*analysis_interval_fn)(const char *interval_json, void *payload);
void analysis_set_on_interval(struct analysis *a, analysis_interval_fn fn,
			      void *payload);

/* Analyse one canary step until until_ms (monotonic, now_ms()): canary
 * nodes are nodes[0..n); the step's share and number label the lines.
 * `whole` is false when a deadline cut the step short: then the step's
 * end is not judged (no "no data in the whole step" verdict).
 * `line` gets each interval's live line. Returns 0 (passed), 1 (abort:
 * err->msg is the one-line reason "canary aborted at 10%: ..."), 2 (pause
 * for a person: err->msg says why). While it runs, `traffic` requests go
 * through the router; they are stopped (and waited for by
 * analysis_free) when it returns. */
int analysis_run_step(struct analysis *a, const size_t *nodes, size_t n,
		      int percent, int step, long long until_ms, bool whole,
		      analysis_line_fn line, void *payload, struct ml_err *err);

/* Every interval so far, as a JSON array text (caller frees). */
char *analysis_log_json(const struct analysis *a);
/* now_ms() at the end of the interval that aborted the rollout; 0 when
 * none did. */
double analysis_failed_at(const struct analysis *a);
/* Whether that abort is a verdict on the release (broken limits, or a
 * canary node's metrics gone) rather than a lack of data (no_data: fail):
 * only a verdict marks the release rejected. */
bool analysis_abort_is_verdict(const struct analysis *a);
/* Whether that abort came from the stop flag (a signal: ^C, `mlctl
 * abort`) rather than from the intervals. */
bool analysis_abort_is_stop(const struct analysis *a);
/* The effective limits. */
const struct analysis_limits *analysis_limits_of(const struct analysis *a);
/* Where the release's analysis block asked for looser limits (borrowed). */
const struct analysis_held *analysis_held_of(const struct analysis *a);
/* Scrapes made, and their total wall time (ms), for figures. */
void analysis_scrape_stats(const struct analysis *a, size_t *scrapes,
			   double *ms);
/* Stop the traffic, wait for it, free. NULL is a no-op. */
void analysis_free(struct analysis *a);

#endif
