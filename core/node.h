/* node.h — how mlctl talks to the serving nodes of an environment
 * (DESIGN.md "Node driver"), behind one interface whatever the
 * environment's `node_driver`:
 *  - v2: the Open Inference Protocol REST API and its model repository
 *    extension (PROTOCOLS.md A), over core/http; the bearer token comes
 *    from getenv(env->token_env) at call time (unset or empty: no header)
 *    and goes with every call to the node.
 *  - exec: the environment's `exec.load|unload|ready|live` shell commands
 *    with {node} {url} {model} {version} {artifact} {sha256} substituted
 *    (shell-quoted), run by `sh -c` in their own process group with a
 *    timeout (`exec.timeout`, default 60 s; the group is killed when it
 *    runs out); exit status 0 means yes/done. The same values are in the
 *    command's environment as MLCTL_NODE, MLCTL_URL, MLCTL_MODEL,
 *    MLCTL_VERSION, MLCTL_ARTIFACT and MLCTL_SHA256.
 * Metadata checks and inference speak V2 to node->url with either driver;
 * the repository index needs v2.
 *
 * Every operation exists in a batch form that runs it on many nodes at once
 * (one event loop for v2, concurrent processes for exec) and fills one
 * struct node_result per node; the single-node functions are shorthands.
 * A "no" from a node that answered (not ready, metadata mismatches) is a
 * result; a node that cannot be reached, times out or refuses an
 * operation is an error with code ML_EXIT_OPERATIONAL and a message naming
 * the node, its URL and the reason, e.g.
 *   node prod-1 (http://127.0.0.1:8411): load eta 2.0.0 refused: HTTP 400:
 *   load eta: sha256 mismatch ...
 * All pointers passed in are borrowed for the duration of the call. */
#ifndef MLCTL_NODE_H
#define MLCTL_NODE_H

#include "config.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct http_client;

enum node_op {
	NODE_OP_LIVE,          /* the server process is up */
	NODE_OP_READY,         /* the server is ready for requests (with a
				  model: that model, any version, is) */
	NODE_OP_VERSION_READY, /* model + version loaded and ready */
	NODE_OP_INDEX,         /* the loaded versions (v2 only) */
	NODE_OP_METADATA,      /* the version's inputs/outputs vs rel's
				  expectations */
	NODE_OP_LOAD,          /* load rel */
	NODE_OP_UNLOAD,        /* unload model + version */
};

/* "live", "ready", "version-ready", "index", "metadata", "load", "unload" */
const char *node_op_name(enum node_op op);

/* Default per-node timeouts (ms) of each kind of call. */
#define NODE_PROBE_TIMEOUT_MS 2000L  /* live, ready, version-ready */
#define NODE_QUERY_TIMEOUT_MS 5000L  /* index, metadata */
#define NODE_LOAD_TIMEOUT_MS 60000L  /* load (the node fetches the artifact) */
#define NODE_UNLOAD_TIMEOUT_MS 30000L
#define NODE_INFER_TIMEOUT_MS 10000L
#define NODE_EXEC_TIMEOUT_MS 60000L  /* exec commands without exec.timeout */

/* One operation to run on one or many nodes. */
struct node_call {
	enum node_op op;
	/* The model version acted on (version-ready, metadata, unload; load
	 * uses rel's). NULL: taken from rel. version-ready and unload need
	 * both; unload without a version unloads every version of the model. */
	const char *model, *version;
	/* The release: required by load and metadata; when given to other
	 * ops it fills the exec placeholders {artifact} and {sha256}. */
	const struct cfg_release *rel;
	long timeout_ms; /* per node; 0 = the op's default (exec: the env's
			    exec.timeout, else NODE_EXEC_TIMEOUT_MS) */
};

#define NODE_CALL_INIT { NODE_OP_LIVE, NULL, NULL, NULL, 0 }

/* One entry of a node's repository index. */
struct node_model_state {
	char *name;
	char *version; /* NULL when the node did not say */
	char *state;   /* READY, UNAVAILABLE, LOADING, UNLOADING, UNKNOWN */
	char *reason;  /* "" when none */
};

/* What one node said. Owned by the caller: node_result_release(). */
struct node_result {
	const struct cfg_node *node; /* borrowed: which node this is */
	/* 0: the node answered (probes, index, metadata) or the operation
	 * was done (load, unload); -1: see err. */
	int rc;
	/* live/ready/version-ready: the answer; metadata: no mismatches;
	 * load: true; unload: false when the version was not loaded (a 404
	 * answer counts as done). */
	bool yes;
	long status;       /* last HTTP status; exec: the command's exit
			      status (-1 when killed); 0 = none */
	double elapsed_ms;
	/* rc < 0: why, code ML_EXIT_OPERATIONAL (ML_EXIT_USAGE when the
	 * driver cannot do the op). rc == 0 and !yes: the node's reason in
	 * err.msg (code 0). */
	struct ml_err err;
	/* NODE_OP_INDEX: every entry the node listed */
	struct node_model_state *models;
	size_t n_models;
	/* NODE_OP_METADATA: one readable line per mismatch */
	char **mismatches;
	size_t n_mismatches;
	/* exec: the command's combined stdout/stderr (the last 64 KiB), or
	 * NULL */
	char *output;
};

void node_result_release(struct node_result *r);
void node_results_release(struct node_result *r, size_t n);

/* ---- batch forms ---------------------------------------------------------- */

/* Run `call` on nodes[0..n) of env concurrently; out[i] answers nodes[i]
 * (initialised here). Returns how many have rc < 0. With `http` (a
 * private-loop client, see http.h; may be NULL) v2 calls reuse its
 * keep-alive connections. */
size_t node_run_many(const struct cfg_env *env,
		     const struct cfg_node *const *nodes, size_t n,
		     const struct node_call *call, struct http_client *http,
		     struct node_result *out);

/* Poll version-ready (server ready when version is NULL) on every node
 * until each says yes or timeout_ms has passed since the call; polls run
 * concurrently, about every 50-500 ms. out[i].rc is 0 (yes) for nodes that
 * became ready, -1 for the others ("version 2.0.0 of eta not ready after
 * 30000 ms: <last answer>"). With `http` (a private-loop client, may
 * be NULL) the polls reuse its connections. Returns how many did not
 * become ready. */
size_t node_wait_ready_many(const struct cfg_env *env,
			    const struct cfg_node *const *nodes, size_t n,
			    const char *model, const char *version,
			    long long timeout_ms, struct http_client *http,
			    struct node_result *out);

/* ---- one node ------------------------------------------------------------- */

/* Probes: 0 and *yes = the answer when the node answered; -1 and err when
 * it could not be asked (then *yes is false). On a "no", err->msg holds
 * the node's reason and err->code stays 0. */
int node_live(const struct cfg_env *env, const struct cfg_node *node,
	      bool *yes, struct ml_err *err);
int node_ready(const struct cfg_env *env, const struct cfg_node *node,
	       bool *yes, struct ml_err *err);
int node_version_ready(const struct cfg_env *env, const struct cfg_node *node,
		       const char *model, const char *version, bool *yes,
		       struct ml_err *err);

/* The node's repository index: *out (caller frees with
 * node_model_states_free) and *n. */
int node_loaded_versions(const struct cfg_env *env,
			 const struct cfg_node *node,
			 struct node_model_state **out, size_t *n,
			 struct ml_err *err);
void node_model_states_free(struct node_model_state *s, size_t n);

/* Compare the metadata of rel's version on the node with rel's
 * expectations: inputs by name and datatype both ways, every expected
 * output present with a compatible datatype. 0 with *mismatches (caller
 * frees with node_strings_free; NULL and *n = 0 when all match), or -1
 * when the node could not be asked or has no such version. */
int node_metadata_check(const struct cfg_env *env, const struct cfg_node *node,
			const struct cfg_release *rel, char ***mismatches,
			size_t *n, struct ml_err *err);
void node_strings_free(char **s, size_t n);

/* Load rel on the node (v2: POST /v2/repository/models/{m}/load with
 * version, artifact (absolute path or URL), sha256 and expectations). A
 * refusal keeps whatever the node served. 0 or -1 with err. */
int node_load(const struct cfg_env *env, const struct cfg_node *node,
	      const struct cfg_release *rel, struct ml_err *err);
/* Unload one version; 0 also when it was not loaded. */
int node_unload(const struct cfg_env *env, const struct cfg_node *node,
		const char *model, const char *version, struct ml_err *err);
/* node_wait_ready_many for one node. */
int node_wait_ready(const struct cfg_env *env, const struct cfg_node *node,
		    const char *model, const char *version,
		    long long timeout_ms, struct ml_err *err);

/* ---- inference (V2 JSON) -------------------------------------------------- */

/* One named input column: n values (the batch), sent with shape [n]. */
struct node_input {
	const char *name;
	const char *datatype; /* NULL = FP64 */
	const double *data;
	size_t n;
};

struct node_output {
	char *name;
	char *datatype;
	double *data; /* numeric outputs; NULL for other datatypes */
	size_t n;
};

struct node_infer_result {
	long status;
	double elapsed_ms;
	char *model_name;
	char *model_version; /* NULL when the node did not say */
	char *id;
	struct node_output *outputs;
	size_t n_outputs;
};

void node_infer_result_release(struct node_infer_result *r);
/* The output of that name (borrowed), or NULL. */
const struct node_output *node_infer_output(const struct node_infer_result *r,
					    const char *name);

/* The infer URL for a base URL ("http://h:p[/prefix]"): .../v2/models/{m}
 * [/versions/{v}]/infer, names percent-encoded. Caller frees. */
char *node_infer_url(const char *base_url, const char *model,
		     const char *version);
/* A V2 infer request body for these inputs (id may be NULL). Caller frees. */
char *node_infer_body(const struct node_input *in, size_t n_in,
		      const char *id);
/* Parse a V2 infer response; -1 and err (ML_EXIT_OPERATIONAL) when it is
 * not one. out is zeroed first (status and elapsed_ms too: the caller
 * sets them after); release it either way. */
int node_infer_parse(const char *body, size_t len,
		     struct node_infer_result *out, struct ml_err *err);

/* POST inputs to the node's infer endpoint (version NULL = the version the
 * node serves by default) and parse the answer into *out (release it
 * either way). 0, or -1 with err naming node, URL and reason (a non-2xx
 * answer gives its {"error"} message). */
int node_infer(const struct cfg_env *env, const struct cfg_node *node,
	       const char *model, const char *version,
	       const struct node_input *in, size_t n_in,
	       struct node_infer_result *out, struct ml_err *err);

/* ---- helpers -------------------------------------------------------------- */

/* The artifact as sent to a node: the URL of a remote artifact, else the
 * local path made absolute. Caller frees. */
char *node_artifact_ref(const struct cfg_release *rel);

/* Values substituted into exec commands; NULL fields become "". */
struct node_exec_vars {
	const char *node, *url, *model, *version, *artifact, *sha256;
};

/* Substitute {node} {url} {model} {version} {artifact} {sha256} in an exec
 * command, quoting each value for where it stands: outside quotes it is
 * single-quoted, inside '...' or "..." it is escaped to stay one literal
 * string. Other braces (and ${name}) are left alone. Caller frees. */
char *node_exec_expand(const char *tmpl, const struct node_exec_vars *v);

#endif
