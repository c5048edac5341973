/* target.h — what to load when the target is an environment and a release
 * rather than a URL: the environment's router listener, or its nodes
 * round-robin when it has none; the release's V2 infer path; a request
 * body built from the release's first smoke case; the environment's
 * bearer token. Also the load settings a release asks for, tightened by
 * the environment's floors. Used by `mlctl load` and the load gate. */
#ifndef MLCTL_LOAD_TARGET_H
#define MLCTL_LOAD_TARGET_H

#include "config.h"
#include "err.h"
#include "load/load.h"

#include <stddef.h>

/* Owns every string; plugs into struct load_opts (urls, method, headers,
 * body) with load_env_target_apply. */
struct load_env_target {
	char **urls;
	size_t n_urls;
	char *method;
	char **headers;
	size_t n_headers;
	char *body;
	size_t body_len;
};

/* Fill *out for `rel` served in `env`. -1 with err (ML_EXIT_USAGE) when
 * the release has no smoke case to build a body from, or the environment
 * has neither a router nor a node. */
int load_env_target_init(struct load_env_target *out,
			 const struct cfg_env *env,
			 const struct cfg_release *rel, struct ml_err *err);
void load_env_target_release(struct load_env_target *t);
/* base + /v2/models/M/versions/V/infer (caller frees): only that version
 * answers (the load gate). */
char *load_versioned_infer_url(const char *base, const char *model,
			       const char *version);
/* Point o's urls, method, headers and body at t's (borrowed). */
void load_env_target_apply(const struct load_env_target *t,
			   struct load_opts *o);

/* The V2 JSON body of one smoke case:
 * {"inputs":[{"name":"v","shape":[1],"datatype":"FP64","data":[50]},...]};
 * datatypes from the release's expectations where it names the input.
 * Caller frees. */
char *load_v2_body(const struct cfg_release *rel,
		   const struct cfg_smoke_case *sc);

/* The release's `checks.load` merged with the environment's floors (the
 * higher rate, duration and connection count; the lower max_p99 and
 * max_error_rate). Unset values stay unset (see config.h). */
void load_checks_merge(const struct cfg_env *env,
		       const struct cfg_release *rel, double *rate,
		       long long *duration_ms, int *connections,
		       struct load_thresholds *t);

#endif
