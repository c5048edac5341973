/* load.h — mlctl's load generator, as a library: `mlctl load`, the load
 * gate and canary analysis traffic all call load_run().
 *
 * Engine: libuv loops (one per thread), each with its own keep-alive
 * HTTP/1.1 connections, a request written from one prebuilt buffer and
 * responses read with http-parser. Two models:
 *  - open (rate > 0): request i of the run is scheduled at start + i/rate;
 *    its latency is measured from that scheduled start, so a stalled
 *    server shows in the percentiles instead of slowing the sender
 *    (no coordinated omission). A request that finds every connection busy
 *    waits for one and is counted `late` when it goes out more than
 *    late_ms after its scheduled start; it is never dropped.
 *  - closed (rate == 0, "--rate max"): each connection sends its next
 *    request as soon as the previous one answers, like wrk; latency is
 *    measured from the actual send.
 * A request on a reused keep-alive connection that dies before any
 * response byte is sent again once on a fresh connection (counted in
 * `reconnects`), as libcurl does; DESIGN.md "Zero downtime".
 *
 * Only http:// targets; the loop and http-parser stay inside core/load.
 */
#ifndef MLCTL_LOAD_LOAD_H
#define MLCTL_LOAD_LOAD_H

#include "err.h"
#include "load/hist.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error classes: enum LOAD_ERR_<name> and load_error_name() from one list. */
#define LOAD_ERROR_CLASSES(X)                                              \
	X(CONNECT, "connect") /* connection refused, unreachable, timed out */ \
	X(TIMEOUT, "timeout") /* no complete response within the timeout */  \
	X(CLOSED, "closed")   /* connection closed or reset mid-request */   \
	X(HTTP4XX, "4xx")                                                  \
	X(HTTP5XX, "5xx")                                                  \
	X(OTHER, "other") /* 1xx/3xx status or a malformed response */

enum load_error {
#define LOAD_ERR_ENUM(n, s) LOAD_ERR_##n,
	LOAD_ERROR_CLASSES(LOAD_ERR_ENUM)
#undef LOAD_ERR_ENUM
	LOAD_ERR_COUNT
};

const char *load_error_name(enum load_error e);

struct load_opts {
	/* One or more "http://host:port/path?query" URLs; connections are
	 * spread over them round-robin (connection i goes to url i % n). */
	const char *const *urls;
	size_t n_urls;
	const char *method;          /* NULL: GET, or POST when body is set */
	const char *const *headers;  /* "Name: value" lines, may be NULL */
	size_t n_headers;
	const char *body;            /* may be NULL; not copied */
	size_t body_len;
	double rate;                 /* requests/s (open model); 0 = closed */
	long long duration_ms;       /* > 0 */
	int connections;             /* > 0; default 16 */
	int threads;                 /* > 0; at most `connections` */
	long long timeout_ms;        /* per request, from its send; default 10 s */
	long long late_ms;           /* open model slack; default 10 ms */
	long long progress_ms;       /* progress callback period; default 1 s */
	volatile sig_atomic_t *stop; /* optional: set to end the run early */
};

#define LOAD_OPTS_INIT                                                     \
	{ NULL, 0, NULL, NULL, 0, NULL, 0, 0, 10000, 16, 1, 10000, 10, 1000, \
	  NULL }

/* One second of the run (the last one may be shorter). Latencies in ms,
 * of the responses completed in that second. */
struct load_point {
	double t_s;   /* start, seconds from the run's start */
	double dur_s; /* length of the interval */
	uint64_t requests, errors;
	double p50_ms, p99_ms, max_ms;
};

struct load_result {
	uint64_t requests; /* finished: answered (any status) or failed */
	uint64_t ok;       /* 2xx */
	uint64_t errors[LOAD_ERR_COUNT];
	uint64_t errors_total;
	uint64_t late;       /* open model: sent later than late_ms */
	uint64_t reconnects; /* requests sent again on a fresh connection */
	uint64_t connects;   /* TCP connections opened */
	double elapsed_s;    /* from the first scheduled start to the last end */
	double achieved_rate;
	double error_rate;   /* errors_total / requests, 0 when none */
	bool interrupted;    /* ended early through opts->stop */
	/* Latency of every answered request (µs), from its scheduled start
	 * (open) or its send (closed); failures without a response are only
	 * in errors. */
	struct hist latency;
	struct load_point *series; /* owned, one per second */
	size_t n_series;
};

struct load_progress {
	double elapsed_s, duration_s;
	uint64_t requests, errors;
	double rate;   /* over the last full second */
	double p99_ms; /* so far */
};

typedef void (*load_progress_fn)(const struct load_progress *p,
				 void *payload);

/* Check options without running: URLs parse, counts are sane. Returns 0,
 * or -1 with err (code ML_EXIT_USAGE) set. */
int load_opts_check(const struct load_opts *o, struct ml_err *err);

/* Run one load test; blocks the calling thread for about duration_ms
 * (plus at most timeout_ms to drain). `progress` (may be NULL) is called
 * from the calling thread every progress_ms. On success returns 0 and
 * fills *res (release with load_result_release) — failed requests are a
 * result, not an error. Returns -1 with err set for bad options
 * (ML_EXIT_USAGE) or when the engine cannot start (ML_EXIT_OPERATIONAL:
 * a host that does not resolve, no threads). Sets SIGPIPE to SIG_IGN for
 * the process (a peer closing mid-write must not kill it). Reentrant:
 * several runs may go on at once from different threads. */
int load_run(const struct load_opts *o, struct load_result *res,
	     load_progress_fn progress, void *payload, struct ml_err *err);
void load_result_release(struct load_result *res);

/* Percentiles of a result in milliseconds. */
struct load_latency {
	double min, mean, p50, p90, p99, p999, max;
};
void load_result_latency(const struct load_result *res,
			 struct load_latency *out);

/* ---- thresholds --------------------------------------------------------- */
struct load_thresholds {
	double max_p99_ms;     /* < 0 = unset */
	double max_error_rate; /* fraction 0..1; < 0 = unset */
	double min_rate;       /* requests/s; <= 0 = unset */
};
#define LOAD_THRESHOLDS_INIT { -1, -1, 0 }

struct load_verdict_item {
	const char *name; /* "max_p99", "max_error_rate", "min_rate" */
	double limit, value;
	const char *unit; /* "ms", "", "req/s" */
	bool ok;
};

struct load_verdict {
	struct load_verdict_item items[3];
	size_t n;
	bool passed; /* every item ok (true when there is none) */
};

/* Compare a result with thresholds; an empty run (no request) breaks
 * max_p99 and min_rate when they are set. */
void load_check(const struct load_thresholds *t, const struct load_result *r,
		struct load_verdict *out);

/* ---- output ------------------------------------------------------------- */
/* The `--output json` document: requests, ok, achieved_rate, elapsed_s,
 * errors {total, connect, ...}, error_rate, late, reconnects, connects,
 * latency {unit "ms", min, mean, p50, p90, p99, p99.9, max}, series,
 * thresholds, passed, plus the options. Caller frees. `v` may be NULL. */
char *load_result_json(const struct load_opts *o, const struct load_result *r,
		       const struct load_verdict *v);

/* Write the self-contained HTML report (inline SVG: latency distribution,
 * latency and throughput over time). -1 with err set when the file cannot
 * be written. `title` may be NULL. */
int load_report_write(const char *path, const char *title,
		      const struct load_opts *o, const struct load_result *r,
		      const struct load_verdict *v, struct ml_err *err);

/* ---- request building (exposed for tests) ------------------------------- */
struct load_url {
	char *host; /* owned */
	int port;
	char *path; /* owned, path + query, "/" at least */
	char *hostport; /* "host:port", the Host header; owned */
};
int load_url_parse(const char *url, struct load_url *out, struct ml_err *err);
void load_url_release(struct load_url *u);
/* The bytes of one request (caller frees; length in *len, plus a NUL after
 * them; the body may hold NULs of its own). Adds Host,
 * Content-Length when there is a body, and a User-Agent unless given. */
char *load_request_build(const struct load_url *u, const char *method,
			 const char *const *headers, size_t n_headers,
			 const char *body, size_t body_len, size_t *len);

#endif
