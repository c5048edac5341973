/* repo.h — mlserve's model repository: the loaded model versions, shared
 * by every worker thread. Readers never lock on the request path: the
 * repository publishes immutable snapshots (copy on write, under a mutex)
 * and bumps a generation counter; a worker keeps a reference to a snapshot
 * and swaps it when the generation moves. A load is prepared off the loop
 * (fetch, checksum, parse, bind: repo_load_prepare) and published in one
 * step (repo_load_commit), so in-flight requests keep the version they
 * started with and a failed load changes nothing. */
#ifndef MLSERVE_REPO_H
#define MLSERVE_REPO_H

#include "config.h"
#include "contract.h"
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct ms_version {
	atomic_int refs;
	char *model, *version;
	struct cfg_model *m;       /* bound to contract input order */
	struct contract contract;
	char sha256[65];
	char *artifact;
	unsigned long long seq;       /* load order, for "most recent" */
	unsigned long long loaded_ns; /* monotonic, for stall windows */
	struct metrics_series *stats;
	long long error_ppm;    /* faults.error_rate in parts per million */
	atomic_ullong passed;   /* infer requests that passed the contract */
};

struct repo_model {
	char *name;
	struct ms_version **versions; /* in load order */
	size_t n;
};

struct repo_snapshot {
	atomic_int refs;
	unsigned long long gen;
	struct repo_model *models;
	size_t n_models;
	size_t n_versions;
};

struct repo_state {
	char *model, *version; /* version may be NULL */
	char *state;           /* LOADING, UNAVAILABLE */
	char *reason;
};

struct repo {
	pthread_mutex_t mu;
	atomic_ullong gen;
	struct repo_snapshot *cur;
	unsigned long long seq;
	struct repo_state *states; /* non-ready entries for the index */
	size_t n_states;
	struct metrics *mx;
	long fetch_timeout_ms;
};

void repo_init(struct repo *r, struct metrics *mx);
void repo_release(struct repo *r);

/* A reference to the current snapshot (release with repo_snapshot_put). */
struct repo_snapshot *repo_acquire(struct repo *r);
void repo_snapshot_put(struct repo_snapshot *s);
/* Whether `s` is still current (cheap: one relaxed atomic load). */
bool repo_is_current(const struct repo *r, const struct repo_snapshot *s);
void repo_version_get(struct ms_version *v);
void repo_version_put(struct ms_version *v);

/* Find a model (NULL when unknown); its version (NULL = the most recently
 * loaded), borrowed from the snapshot. */
const struct repo_model *repo_find_model(const struct repo_snapshot *s, const char *name);
struct ms_version *repo_find_version(const struct repo_model *m, const char *version);
/* Whether model `name` is being loaded for the first time (no version yet). */
bool repo_is_loading(struct repo *r, const char *name);

/* ---- loading ------------------------------------------------------------ */
struct repo_load {
	char *model;
	char *version;  /* requested, or NULL: the artifact's own */
	char *artifact; /* uri */
	char sha256[65]; /* "" = not verified */
	bool has_contract;
	struct contract contract; /* moved into the version on success */
	/* results */
	int status; /* 0 = ok, else the HTTP status to answer */
	char msg[512];
	struct ms_version *v; /* prepared version (owned until commit) */
};

/* Parse a load request body ({"parameters":{...}}, may be empty) for model
 * `name`. When the body has no artifact, the last loaded version of the
 * model is reloaded from its recorded artifact. Returns a job, or NULL
 * with an HTTP status in *status and a message. */
struct repo_load *repo_load_new(struct repo *r, const char *name, const char *body,
				size_t len, int *status, char *msg, size_t msgsz);
/* A job from a release manifest (mlserve --load). */
struct repo_load *repo_load_from_release(const struct cfg_release *rel);
/* Fetch, verify the checksum, parse and bind. Thread-safe; no repo lock. */
void repo_load_prepare(struct repo *r, struct repo_load *job);
/* Publish the prepared version (or record the failure). Returns
 * job->status (0 on success). */
int repo_load_commit(struct repo *r, struct repo_load *job);
void repo_load_free(struct repo_load *job);

/* Unload one version (version != NULL) or every version of a model.
 * Returns 0, or 404 with a message. */
int repo_unload(struct repo *r, const char *model, const char *version, char *msg,
		size_t msgsz);

/* The repository index as JSON text ([{"name","version","state","reason"}]). */
void repo_index(struct repo *r, bool ready_only, struct mbuf *out);
/* A flat list model0, version0, model1, ... of loaded versions (strings
 * borrowed from the snapshot s). Caller frees the array. */
const char **repo_loaded_list(const struct repo_snapshot *s, size_t *n);

#endif
