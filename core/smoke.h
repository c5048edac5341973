/* smoke.h — a release's smoke cases (checks.smoke) sent to serving
 * endpoints: each node, a router's live listener or its preview listener.
 * A case passes when the answer is a 2xx V2 infer response from the
 * expected version, within the timeout, with every `expect` bound met.
 * Used by blue/green's preview check and by the smoke gate. */
#ifndef MLCTL_SMOKE_H
#define MLCTL_SMOKE_H

#include "config.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct smoke_target {
	const char *name; /* "prod-1", "router", "preview" */
	const char *url;  /* base URL: http://host:port */
};

struct smoke_check {
	char *target;   /* owned */
	size_t case_index;
	bool ok;
	double ms;
	char *reason;   /* owned; NULL when ok */
	int attempts;   /* requests sent for this check (retries included) */
};

struct smoke_report {
	struct smoke_check *checks; /* one per target x case, owned */
	size_t n, failed;
	double ms; /* wall time of the whole run */
};

/* Run every smoke case of rel on every target, all concurrently. The
 * answer must come from `version` (model_version; NULL: any). Returns 0
 * with the report filled (failed > 0 is a "no", not an error), or -1 with
 * err when rel has no smoke cases or a case cannot be encoded. */
int smoke_run(const struct cfg_release *rel, const struct smoke_target *targets,
	      size_t n_targets, const char *version, long long timeout_ms,
	      const char *bearer_token, struct smoke_report *out,
	      struct ml_err *err);
/* smoke_run with up to `retries` more attempts of a case whose answer was
 * a 5xx or whose connection failed (the smoke gate retries once: an
 * occasional error is the load gate's to measure). */
int smoke_run_retry(const struct cfg_release *rel,
		    const struct smoke_target *targets, size_t n_targets,
		    const char *version, long long timeout_ms,
		    const char *bearer_token, int retries,
		    struct smoke_report *out, struct ml_err *err);
void smoke_report_release(struct smoke_report *r);
/* "eta: 0.3 is above max 0.2 on prod-1 (case 1)" — the first failure. */
const char *smoke_first_failure(const struct smoke_report *r);

#endif
