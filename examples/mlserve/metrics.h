/* metrics.h — mlserve's Prometheus metrics. Every counter has exactly one
 * writer (the worker thread that owns its slot), so updates are relaxed
 * atomic load+store with no lock; /metrics sums the workers' slots when it
 * renders. Series per model version live for the whole process (an
 * unloaded version's counters stay, so rates never see a reset). */
#ifndef MLSERVE_METRICS_H
#define MLSERVE_METRICS_H

#include "json.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Latency buckets: 10 per decade (the E10 series 1, 1.25, 1.6, 2, 2.5, 3.2,
 * 4, 5, 6.3, 8) from 0.1 ms to 10 s: 51 finite bounds, then +Inf. */
#define METRICS_BUCKETS 51
#define METRICS_CODES 8 /* distinct status codes counted per slot */

enum metrics_handler {
	MH_HEALTH,
	MH_METADATA,
	MH_INFER,
	MH_REPOSITORY,
	MH_METRICS,
	MH_OPENAPI,
	MH_OTHER,
	MH_COUNT
};
const char *metrics_handler_name(enum metrics_handler h);

struct metrics_codes {
	atomic_uint code[METRICS_CODES];
	atomic_ullong count[METRICS_CODES];
};

/* One worker's slot of a version's series. */
struct metrics_slot {
	struct metrics_codes codes;
	atomic_ullong bucket[METRICS_BUCKETS + 1]; /* not cumulative; last = +Inf */
	atomic_ullong sum_ns;
	atomic_ullong count;
	char pad[64];
};

struct metrics_series {
	char *model, *version;
	struct metrics_slot *slots; /* one per worker */
	struct metrics_series *next;
};

struct metrics_worker {
	struct metrics_codes http[MH_COUNT];
	atomic_llong inflight;
	atomic_llong connections;
	atomic_ullong accepted;
	atomic_ullong rejected; /* connections refused at the cap */
	char pad[64];
};

struct metrics {
	pthread_mutex_t mu;
	size_t n_workers;
	struct metrics_worker *workers;
	struct metrics_series *series; /* list, newest first */
	atomic_ullong loads_ok, loads_failed, unloads;
	double start_time; /* unix seconds */
};

void metrics_init(struct metrics *m, size_t n_workers);
void metrics_release(struct metrics *m);
/* The series of (model, version), created on first use; never freed
 * before metrics_release. Thread-safe. */
struct metrics_series *metrics_series_get(struct metrics *m, const char *model,
					  const char *version);

/* Single-writer updates from worker `w`. */
void metrics_count(struct metrics_codes *c, int code);
void metrics_observe(struct metrics_series *s, size_t w, int code, unsigned long long ns);
void metrics_gauge_add(atomic_llong *g, long long d);
/* Index of the bucket an observation of `seconds` falls in. */
size_t metrics_bucket_index(double seconds);
/* Upper bound (seconds) of bucket i < METRICS_BUCKETS, and its label text. */
double metrics_bucket_bound(size_t i);
const char *metrics_bucket_label(size_t i);

/* Render the Prometheus text exposition (version 0.0.4). `loaded` is the
 * list of (model, version) pairs currently loaded, n pairs as a flat array
 * model0, version0, model1, ... */
void metrics_render(struct metrics *m, struct mbuf *out, const char *const *loaded,
		    size_t n_loaded);
/* Append a label value with Prometheus escaping (\\, \", \n). */
void metrics_add_label(struct mbuf *out, const char *s);

#endif
