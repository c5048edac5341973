/* config.h — mlctl's typed configuration: Environment, Release, Model and
 * Pipeline documents (DESIGN.md "Formats"), loaded from YAML with every
 * error of a file collected as a diagnostic (file:line:col, key path,
 * expected vs found). Loaders fill `**out` on success (caller frees with
 * the matching _free) and return 0; on any error they return -1, add the
 * diagnostics and leave *out NULL. Cross-document checks live in project.h.
 * Durations are milliseconds (long long); percentages are fractions 0..1. */
#ifndef MLCTL_CONFIG_H
#define MLCTL_CONFIG_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* Where a value came from, for cross-document errors. */
struct cfg_pos {
	unsigned line, col;
};

/* ---- the data contract (a release's `expectations`) -------------------- */
enum cfg_type { CFG_T_NUMBER, CFG_T_INTEGER, CFG_T_STRING, CFG_T_BOOLEAN };

struct cfg_field {
	char *name;
	enum cfg_type type;
	bool has_min, has_max, has_xmin, has_xmax;
	double min, max, xmin, xmax; /* min <= x <= max, xmin < x < xmax */
	bool optional;               /* `required: false` */
	struct cfg_pos pos;
};

struct cfg_expectations {
	struct cfg_field *inputs;
	size_t n_inputs;
	struct cfg_field *outputs;
	size_t n_outputs;
};

const char *cfg_type_name(enum cfg_type t);
/* The V2 datatype carrying a field of this type: FP64, INT64, BYTES, BOOL. */
const char *cfg_type_v2(enum cfg_type t);
/* Check a number against a field's bounds; on violation writes a message
 * like "must be > 0, got -3" into msg and returns false. */
bool cfg_field_check_number(const struct cfg_field *f, double x, char *msg,
			    size_t msgsz);

/* ---- checks (a release's own, or an environment's floors) -------------- */
enum cfg_value_kind { CFG_V_NUMBER, CFG_V_STRING, CFG_V_BOOL };
struct cfg_value {
	char *name;
	enum cfg_value_kind kind;
	double num;
	char *str;
	bool b;
	bool bad; /* already reported while decoding; never in a loaded release */
	struct cfg_pos pos;
};

struct cfg_expect {
	char *name; /* output name */
	bool has_min, has_max, has_equals;
	double min, max, equals;
	struct cfg_pos pos;
};

struct cfg_smoke_case {
	struct cfg_value *inputs;
	size_t n_inputs;
	struct cfg_expect *expects;
	size_t n_expects;
	struct cfg_pos pos;
};

enum cfg_metric { CFG_M_MAE, CFG_M_RMSE, CFG_M_MAPE, CFG_M_ACCURACY, CFG_M_EXACT };
const char *cfg_metric_name(enum cfg_metric m);
/* Lower is better for mae, rmse and mape (threshold `max`); higher for
 * accuracy and exact (threshold `min`). */
bool cfg_metric_lower_is_better(enum cfg_metric m);

/* unit and integration: a command run in the project root */
struct cfg_cmd_check {
	bool set;
	char *run;   /* shell command, or NULL */
	char *junit; /* JUnit XML it writes, path from the project root, or NULL */
	long long timeout_ms; /* 0 = default */
	struct cfg_pos pos;
};

struct cfg_checks {
	struct cfg_cmd_check unit, integration;
	struct {
		bool set;
		long long timeout_ms; /* 0 = default (2 s) */
		struct cfg_smoke_case *cases;
		size_t n_cases;
		struct cfg_pos pos;
	} smoke;
	struct {
		bool set;
		double rate;          /* requests per second; 0 = unset */
		long long duration_ms; /* 0 = unset */
		long long max_p99_ms;  /* -1 = unset */
		double max_error_rate; /* <0 = unset */
		int connections;       /* 0 = unset */
		struct cfg_pos pos;
	} load;
	struct {
		bool set;
		char *cases; /* resolved path (manifest dir + value), or NULL */
		char *cases_raw;
		bool has_metric;
		enum cfg_metric metric;
		bool has_max, has_min;
		double max, min;
		int batch;       /* rows per request; 0 = default */
		int concurrency; /* 0 = default */
		struct cfg_pos pos, cases_pos;
	} acceptance;
};

/* ---- environment -------------------------------------------------------- */
enum cfg_tier { CFG_TIER_DEV, CFG_TIER_TEST, CFG_TIER_STAGING, CFG_TIER_PROD };
enum cfg_approval { CFG_APPROVAL_NONE, CFG_APPROVAL_MANUAL };
enum cfg_node_driver { CFG_NODE_V2, CFG_NODE_EXEC };
enum cfg_router_driver { CFG_ROUTER_NONE, CFG_ROUTER_NGINX, CFG_ROUTER_HAPROXY };
enum cfg_strategy_type {
	CFG_STRAT_RECREATE,
	CFG_STRAT_ROLLING,
	CFG_STRAT_BLUEGREEN,
	CFG_STRAT_CANARY,
};
enum cfg_no_data { CFG_NODATA_FAIL, CFG_NODATA_PAUSE, CFG_NODATA_PASS };
enum cfg_gate { CFG_GATE_UNIT, CFG_GATE_INTEGRATION, CFG_GATE_SMOKE, CFG_GATE_LOAD, CFG_GATE_ACCEPTANCE };
#define CFG_GATE_COUNT 5

const char *cfg_tier_name(enum cfg_tier t);
const char *cfg_router_driver_name(enum cfg_router_driver d);
const char *cfg_node_driver_name(enum cfg_node_driver d);
const char *cfg_strategy_name(enum cfg_strategy_type t);
const char *cfg_gate_name(enum cfg_gate g);
const char *cfg_no_data_name(enum cfg_no_data n); /* fail pause pass */
/* Parse a strategy or gate name; -1 when unknown. */
int cfg_strategy_parse(const char *s);
int cfg_gate_parse(const char *s);

struct cfg_node {
	char *name;
	char *url;  /* as written */
	char *host; /* parsed from url */
	int port;
	bool tls;
	struct cfg_pos pos, name_pos, url_pos;
};

/* host:port of a router listener */
struct cfg_addr {
	bool set;
	char *host;
	int port;
	struct cfg_pos pos;
};

/* A count or a percentage of nodes (rolling max_surge / max_unavailable). */
struct cfg_amount {
	bool set, percent;
	double value; /* a count, or a fraction 0..1 when percent */
	struct cfg_pos pos;
};

struct cfg_step {
	int weight; /* 1..100 */
	bool manual;
	long long pause_ms;
	struct cfg_pos pos;
};

struct cfg_analysis {
	bool set;
	long long interval_ms;      /* -1 = unset */
	double max_error_rate;      /* <0 = unset */
	double max_error_rate_delta;/* <0 = unset */
	long long max_p99_ms;       /* -1 = unset */
	double max_p99_ratio;       /* <0 = unset */
	int min_requests;           /* -1 = unset */
	bool has_no_data;
	enum cfg_no_data no_data;
	int max_no_data;            /* -1 = unset */
	int failure_limit;          /* -1 = unset */
	double traffic_rate;        /* 0 = no traffic of its own */
	struct cfg_pos pos;
};

struct cfg_name_ref {
	char *name;
	struct cfg_pos pos;
};

struct cfg_strategy {
	bool set;
	enum cfg_strategy_type type;
	struct cfg_step *steps; /* canary */
	size_t n_steps;
	struct cfg_analysis analysis;
	struct cfg_amount max_surge, max_unavailable; /* rolling */
	bool scale_down_first;
	struct cfg_name_ref *blue, *green; /* bluegreen pools */
	size_t n_blue, n_green;
	bool has_pools;
	struct cfg_name_ref *canary_nodes; /* canary */
	size_t n_canary_nodes;
	struct cfg_pos pos, type_pos;
};

struct cfg_exec {
	char *load, *unload, *ready, *live;
	long long timeout_ms;
};

struct cfg_env {
	char *file; /* as given */
	bool partial; /* cfg_env_load_partial: decoded with errors */
	char *name;
	enum cfg_tier tier;
	char *promotes_from; /* NULL when none */
	enum cfg_approval approval;
	bool managed;
	enum cfg_node_driver node_driver;
	struct cfg_exec exec;
	char *token_env; /* NULL: no auth */
	struct cfg_node *nodes;
	size_t n_nodes;
	enum cfg_router_driver router_driver;
	struct cfg_addr listen, preview;
	struct cfg_strategy strategy;
	enum cfg_gate *gates;
	size_t n_gates;
	struct cfg_pos *gate_pos;
	struct cfg_checks checks;
	struct cfg_pos name_pos, promotes_from_pos;
};

int cfg_env_load(const char *path, struct cfg_env **out, struct ml_diags *d);
/* As cfg_env_load, but a document that parsed and decoded with errors is
 * still returned (-1, *out with `partial` set) so that cross-document
 * checks can see what it does say (`validate` reports every error of a
 * file). Nothing but those checks may use a partial environment. */
int cfg_env_load_partial(const char *path, struct cfg_env **out,
			 struct ml_diags *d);
void cfg_env_free(struct cfg_env *env);
/* The node of that name, or NULL (borrowed). */
const struct cfg_node *cfg_env_node(const struct cfg_env *env, const char *name);

/* ---- release ------------------------------------------------------------ */
enum cfg_serving_mode { CFG_MODE_REALTIME, CFG_MODE_NEAR_REAL_TIME, CFG_MODE_BATCH, CFG_MODE_EDGE };
const char *cfg_serving_mode_name(enum cfg_serving_mode m);

struct cfg_release {
	char *file; /* as given */
	char *dir;  /* the manifest's directory */
	char *model;
	char *version;
	enum cfg_serving_mode serving_mode;
	char *artifact_uri;  /* as written */
	char *artifact_path; /* resolved local path, NULL for http(s) */
	bool artifact_remote;
	char sha256[65];
	struct cfg_expectations expectations;
	struct cfg_checks checks;
	/* canary analysis: may only tighten the environment's
	 * strategy.analysis (analysis.h); .set false when absent */
	struct cfg_analysis analysis;
	struct cfg_pos artifact_pos, uri_pos, sha_pos;
};

/* Loads the manifest and checks its artifact: a local artifact must exist
 * and match its sha256 (a mismatch names both digests). */
int cfg_release_load(const char *path, struct cfg_release **out, struct ml_diags *d);
void cfg_release_free(struct cfg_release *rel);
/* The release's expectations as a JSON object text (caller frees), as sent
 * in a V2 load request. */
char *cfg_expectations_to_json(const struct cfg_expectations *e);
/* Parse what cfg_expectations_to_json wrote; 0, or -1 when malformed. The
 * result is released with cfg_expectations_free_fields. */
int cfg_expectations_from_json(const char *json, struct cfg_expectations *out);
void cfg_expectations_free_fields(struct cfg_expectations *e);
/* The `analysis:` block alone of a Release manifest's text (`name` labels
 * diagnostics), decoded and checked as cfg_release_load does; the rest of
 * the document is not checked. `continue` reads it from the manifest
 * recorded with the pause. 0 (out->set false when there is none), or -1
 * with diagnostics and *out unset. */
int cfg_release_analysis_from_buffer(const char *name, const char *buf,
				     size_t len, struct cfg_analysis *out,
				     struct ml_diags *d);

/* ---- model (the artifact mlserve loads) --------------------------------- */
enum cfg_term_kind { CFG_TERM_CONST, CFG_TERM_INPUT, CFG_TERM_RATIO, CFG_TERM_PRODUCT };

struct cfg_term {
	enum cfg_term_kind kind;
	double coef;
	char *a, *b; /* input names (a for input; a, b for ratio a/b, product a*b) */
	int ia, ib;  /* input indices after cfg_model_bind, else -1 */
	struct cfg_pos pos;
};

struct cfg_faults {
	long long latency_ms;  /* 0 = none */
	double error_rate;     /* 0..1 */
	long long stall_every_ms, stall_for_ms; /* 0 = none */
	int bad_input_status;  /* 0 = none */
};

struct cfg_model {
	char *file;
	char *name;
	char *version;
	char *output;
	struct cfg_term *terms;
	size_t n_terms;
	struct cfg_faults faults;
	/* every distinct input a term references, in first-use order */
	char **inputs;
	size_t n_inputs;
};

int cfg_model_load(const char *path, struct cfg_model **out, struct ml_diags *d);
/* Same, from a buffer (mlserve loads artifacts it fetched); `name` labels
 * diagnostics. */
int cfg_model_load_buffer(const char *name, const char *buf, size_t len,
			  struct cfg_model **out, struct ml_diags *d);
void cfg_model_free(struct cfg_model *m);
/* Resolve term inputs against an ordered input list; -1 and a message when
 * a term names an input not in the list. */
int cfg_model_bind(struct cfg_model *m, char *const *names, size_t n,
		   struct ml_err *err);
/* Evaluate one row (values in the bound order). Non-finite results (a
 * zero divisor) are returned as is; callers decide. */
double cfg_model_eval(const struct cfg_model *m, const double *row);

/* ---- pipeline ----------------------------------------------------------- */
struct cfg_pipeline {
	char *file;
	char *name;
	struct cfg_name_ref *stages;
	size_t n_stages;
};

int cfg_pipeline_load(const char *path, struct cfg_pipeline **out, struct ml_diags *d);
void cfg_pipeline_free(struct cfg_pipeline *p);

/* ---- any document ------------------------------------------------------- */
enum cfg_kind { CFG_KIND_UNKNOWN, CFG_KIND_ENVIRONMENT, CFG_KIND_RELEASE, CFG_KIND_MODEL, CFG_KIND_PIPELINE };
const char *cfg_kind_name(enum cfg_kind k);
/* Peek at a YAML file's `kind:` without full validation (CFG_KIND_UNKNOWN
 * when unreadable or absent). */
enum cfg_kind cfg_peek_kind(const char *path);
/* The top-level `name:` of a YAML file (caller frees), or NULL. */
char *cfg_peek_name(const char *path);

/* ---- scalars (exposed for tests and command-line flags) ----------------- */
/* "250ms", "10s", "2m", "1h", "1m30s", "1.5s" -> milliseconds. */
int cfg_parse_duration(const char *s, long long *ms);
/* "1%", "0.5%", or a fraction "0.01" -> 0..1. */
int cfg_parse_percent(const char *s, double *frac);
/* "500", "500/s" -> requests per second (> 0). */
int cfg_parse_rate(const char *s, double *rate);
/* "http(s)://host:port[/path]" with an explicit port. */
int cfg_parse_url(const char *s, bool require_port, char **host, int *port,
		  bool *tls);
/* "host:port" */
int cfg_parse_hostport(const char *s, char **host, int *port);
bool cfg_is_sha256(const char *s);

#endif
