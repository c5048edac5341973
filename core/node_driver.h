/* node_driver.h — what node.c (the dispatcher) and the two drivers,
 * node_v2.c and node_exec.c, share. Not for callers: they use node.h. */
#ifndef MLCTL_NODE_DRIVER_H
#define MLCTL_NODE_DRIVER_H

#include "node.h"

/* Run call on every node through one driver; out[] is already initialised
 * (node set, rc 0). Both return how many ended with rc < 0. */
size_t node_v2_run_many(const struct cfg_env *env,
			const struct cfg_node *const *nodes, size_t n,
			const struct node_call *call, struct http_client *http,
			struct node_result *out);
size_t node_exec_run_many(const struct cfg_env *env,
			  const struct cfg_node *const *nodes, size_t n,
			  const struct node_call *call, struct node_result *out);

/* The model and version a call acts on (from the call, else its release;
 * NULL when neither says). */
const char *node_call_model(const struct node_call *call);
const char *node_call_version(const struct node_call *call);
/* "load eta 2.0.0", "version-ready eta 2.0.0", "live" ... */
void node_call_describe(const struct node_call *call, char *buf, size_t sz);
/* The call's timeout, or def when it has none. */
long node_call_timeout(const struct node_call *call, long def);

/* Percent-encode a path segment; a base URL without trailing '/'. Caller
 * frees both. */
char *node_url_escape(const char *s);
char *node_base_url(const char *base);
/* base (trailing '/' dropped) + "/v2/models/{m}[/versions/{v}]" + suffix
 * (may be NULL), names percent-encoded. Caller frees. */
char *node_v2_model_url(const char *base, const char *model,
			const char *version, const char *suffix);

/* Fail r: rc -1, err (code) = "node NAME (URL): WHAT: <fmt>". */
void node_fail(struct node_result *r, int code, const char *what,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A "no" answer: rc 0, yes false, err.msg = the same shape, code 0. */
void node_say_no(struct node_result *r, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
