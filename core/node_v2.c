/* node_v2.c — the v2 node driver: Open Inference Protocol health,
 * metadata, model repository index/load/unload (PROTOCOLS.md A) and
 * inference, each node's request built here and run concurrently through
 * core/http, then each answer turned into a node_result. */
#define _DEFAULT_SOURCE
#include "exitcode.h"
#include "http.h"
#include "node.h"
#include "node_driver.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bearer token for this environment, read now; NULL when none. */
static const char *env_token(const struct cfg_env *env)
{
	if (!env->token_env)
		return NULL;
	const char *t = getenv(env->token_env);
	return t && *t ? t : NULL;
}

/* ======================================================================
 * requests
 * ==================================================================== */

static char *load_body(const struct cfg_release *rel)
{
	json_t *params = json_object();
	json_object_set_new(params, "version", json_string(rel->version));
	char *art = node_artifact_ref(rel);
	json_object_set_new(params, "artifact", json_string(art));
	free(art);
	if (rel->sha256[0])
		json_object_set_new(params, "sha256", json_string(rel->sha256));
	char *ex = cfg_expectations_to_json(&rel->expectations);
	json_t *exj = json_loads(ex, 0, NULL);
	free(ex);
	json_object_set_new(params, "expectations", exj ? exj : json_object());
	json_t *root = json_pack("{s:o}", "parameters", params);
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	char *copy = xstrdup(s);
	free(s);
	return copy;
}

static char *unload_body(const char *version)
{
	if (!version)
		return xstrdup("{}");
	json_t *root = json_pack("{s:{s:s}}", "parameters", "version", version);
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	char *copy = xstrdup(s);
	free(s);
	return copy;
}

/* URL of the call on one node (caller frees). */
static char *call_url(const struct node_call *call, const char *base)
{
	const char *m = node_call_model(call), *v = node_call_version(call);
	char *b = node_base_url(base), *u = NULL;
	switch (call->op) {
	case NODE_OP_LIVE:
		u = xasprintf("%s/v2/health/live", b);
		break;
	case NODE_OP_READY:
		/* with a model: that model (any version) is ready */
		u = m ? node_v2_model_url(b, m, v, "/ready")
		      : xasprintf("%s/v2/health/ready", b);
		break;
	case NODE_OP_VERSION_READY:
		u = node_v2_model_url(b, m, v, "/ready");
		break;
	case NODE_OP_METADATA:
		u = node_v2_model_url(b, m, v, NULL);
		break;
	case NODE_OP_INDEX:
		u = xasprintf("%s/v2/repository/index", b);
		break;
	case NODE_OP_LOAD:
	case NODE_OP_UNLOAD: {
		char *em = node_url_escape(m);
		u = xasprintf("%s/v2/repository/models/%s/%s", b, em,
			      call->op == NODE_OP_LOAD ? "load" : "unload");
		free(em);
		break;
	}
	}
	free(b);
	return u;
}

static void fill_req(struct http_req *req, const struct node_call *call,
		     const char *body, const char *token)
{
	*req = (struct http_req)HTTP_REQ_INIT;
	req->bearer_token = token;
	switch (call->op) {
	case NODE_OP_LIVE:
	case NODE_OP_READY:
	case NODE_OP_VERSION_READY:
		req->timeout_ms = node_call_timeout(call, NODE_PROBE_TIMEOUT_MS);
		req->retries = 1;
		req->idempotent = true;
		break;
	case NODE_OP_METADATA:
		req->timeout_ms = node_call_timeout(call, NODE_QUERY_TIMEOUT_MS);
		req->retries = 2;
		req->idempotent = true;
		break;
	case NODE_OP_INDEX:
		req->method = "POST";
		req->timeout_ms = node_call_timeout(call, NODE_QUERY_TIMEOUT_MS);
		req->retries = 2;
		req->idempotent = true;
		break;
	case NODE_OP_LOAD:
	case NODE_OP_UNLOAD:
		/* retried only when the node never saw the request */
		req->method = "POST";
		req->timeout_ms = node_call_timeout(
			call, call->op == NODE_OP_LOAD ? NODE_LOAD_TIMEOUT_MS
						       : NODE_UNLOAD_TIMEOUT_MS);
		req->retries = 2;
		req->idempotent = false;
		break;
	}
	if (body) {
		req->body = body;
		req->body_len = strlen(body);
	}
}

/* ======================================================================
 * answers
 * ==================================================================== */

static char *jdup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int parse_index(struct node_result *r, const char *what,
		       const struct http_resp *resp)
{
	json_error_t je;
	json_t *a = json_loadb(resp->body, resp->body_len, 0, &je);
	if (!json_is_array(a)) {
		json_decref(a);
		node_fail(r, ML_EXIT_OPERATIONAL, what,
			  "the answer is not a JSON array: %.100s", resp->body);
		return -1;
	}
	r->models = xcalloc(json_array_size(a) + 1, sizeof *r->models);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		char *name = jdup(e, "name");
		if (!name)
			continue;
		struct node_model_state *s = &r->models[r->n_models++];
		s->name = name;
		s->version = jdup(e, "version");
		s->state = jdup(e, "state");
		if (!s->state)
			s->state = xstrdup("UNKNOWN");
		s->reason = jdup(e, "reason");
		if (!s->reason)
			s->reason = xstrdup("");
	}
	json_decref(a);
	r->yes = true;
	return 0;
}

/* Whether a V2 datatype can carry a value of the contract's type. */
static bool datatype_fits(enum cfg_type t, const char *dt)
{
	switch (t) {
	case CFG_T_NUMBER:
		return strcmp(dt, "FP16") == 0 || strcmp(dt, "FP32") == 0 ||
		       strcmp(dt, "FP64") == 0;
	case CFG_T_INTEGER:
		return (strncmp(dt, "INT", 3) == 0 ||
			strncmp(dt, "UINT", 4) == 0);
	case CFG_T_STRING:
		return strcmp(dt, "BYTES") == 0;
	case CFG_T_BOOLEAN:
		return strcmp(dt, "BOOL") == 0;
	}
	return false;
}

static void add_mismatch(struct node_result *r, char *line)
{
	r->mismatches = xrealloc(r->mismatches,
				 (r->n_mismatches + 1) * sizeof *r->mismatches);
	r->mismatches[r->n_mismatches++] = line;
}

static json_t *find_tensor(json_t *list, const char *name)
{
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t)
	{
		json_t *n = json_object_get(t, "name");
		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return t;
	}
	return NULL;
}

static void compare_side(struct node_result *r, const char *side,
			 const struct cfg_field *f, size_t nf, json_t *list,
			 bool extra_is_mismatch)
{
	for (size_t i = 0; i < nf; i++) {
		json_t *t = find_tensor(list, f[i].name);
		if (!t) {
			if (!f[i].optional)
				add_mismatch(r, xasprintf("%s '%s': the release "
							  "expects it, the node "
							  "does not declare it",
							  side, f[i].name));
			continue;
		}
		json_t *dt = json_object_get(t, "datatype");
		const char *d = json_is_string(dt) ? json_string_value(dt) : "";
		if (!datatype_fits(f[i].type, d))
			add_mismatch(r, xasprintf("%s '%s': the node declares "
						  "datatype %s, the release "
						  "expects a %s (%s)",
						  side, f[i].name,
						  *d ? d : "(none)",
						  cfg_type_name(f[i].type),
						  cfg_type_v2(f[i].type)));
	}
	if (!extra_is_mismatch)
		return;
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t)
	{
		json_t *n = json_object_get(t, "name");
		if (!json_is_string(n))
			continue;
		const char *name = json_string_value(n);
		bool known = false;
		for (size_t k = 0; k < nf && !known; k++)
			known = strcmp(f[k].name, name) == 0;
		if (!known)
			add_mismatch(r, xasprintf("%s '%s': the node declares "
						  "it, the release does not",
						  side, name));
	}
}

static int check_metadata(struct node_result *r, const char *what,
			  const struct cfg_release *rel,
			  const struct http_resp *resp)
{
	json_t *m = json_loadb(resp->body, resp->body_len, 0, NULL);
	json_t *in = json_object_get(m, "inputs");
	json_t *out = json_object_get(m, "outputs");
	if (!json_is_object(m) || !json_is_array(in) || !json_is_array(out)) {
		json_decref(m);
		node_fail(r, ML_EXIT_OPERATIONAL, what,
			  "the answer is not V2 model metadata (no 'inputs' and "
			  "'outputs' arrays): %.100s",
			  resp->body);
		return -1;
	}
	const struct cfg_expectations *e = &rel->expectations;
	compare_side(r, "input", e->inputs, e->n_inputs, in, true);
	compare_side(r, "output", e->outputs, e->n_outputs, out, false);
	json_decref(m);
	r->yes = r->n_mismatches == 0;
	if (!r->yes)
		node_say_no(r, what, "%zu mismatch%s: %s", r->n_mismatches,
			    r->n_mismatches == 1 ? "" : "es", r->mismatches[0]);
	return 0;
}

static void interpret(const struct cfg_env *env, const struct node_call *call,
		      const char *what, const struct http_resp *resp,
		      struct node_result *r)
{
	r->status = resp->status;
	r->elapsed_ms = resp->elapsed_ms;
	if (resp->transport_error) {
		node_fail(r, ML_EXIT_OPERATIONAL, what, "%s", resp->error);
		return;
	}
	char why[400];
	http_resp_reason(resp, why, sizeof why);
	if (resp->status == 401 || resp->status == 403) {
		size_t len = strlen(why);
		if (!env->token_env)
			snprintf(why + len, sizeof why - len,
				 " (the environment sets no auth.token_env)");
		else if (!env_token(env))
			snprintf(why + len, sizeof why - len,
				 " (%s is unset or empty)", env->token_env);
		else
			snprintf(why + len, sizeof why - len,
				 " (the token in %s was not accepted)",
				 env->token_env);
	}
	bool ok = http_resp_ok(resp);
	switch (call->op) {
	case NODE_OP_LIVE:
	case NODE_OP_READY:
	case NODE_OP_VERSION_READY:
		if (ok)
			r->yes = true;
		else
			node_say_no(r, what, "%s", why);
		return;
	case NODE_OP_INDEX:
		if (!ok)
			node_fail(r, ML_EXIT_OPERATIONAL, what, "%s", why);
		else
			parse_index(r, what, resp);
		return;
	case NODE_OP_METADATA:
		if (!ok)
			node_fail(r, ML_EXIT_OPERATIONAL, what, "%s", why);
		else
			check_metadata(r, what, call->rel, resp);
		return;
	case NODE_OP_LOAD:
		if (!ok)
			node_fail(r, ML_EXIT_OPERATIONAL, what, "refused: %s",
				  why);
		else
			r->yes = true;
		return;
	case NODE_OP_UNLOAD:
		if (ok)
			r->yes = true;
		else if (resp->status == 404)
			node_say_no(r, what, "not loaded: %s", why);
		else
			node_fail(r, ML_EXIT_OPERATIONAL, what, "refused: %s",
				  why);
		return;
	}
}

size_t node_v2_run_many(const struct cfg_env *env,
			const struct cfg_node *const *nodes, size_t n,
			const struct node_call *call, struct http_client *http,
			struct node_result *out)
{
	const char *token = env_token(env);
	char what[300];
	node_call_describe(call, what, sizeof what);
	char *body = NULL;
	if (call->op == NODE_OP_LOAD)
		body = load_body(call->rel);
	else if (call->op == NODE_OP_UNLOAD)
		body = unload_body(node_call_version(call));
	else if (call->op == NODE_OP_INDEX)
		body = xstrdup("{}");
	struct http_req *reqs = xcalloc(n, sizeof *reqs);
	struct http_resp *resps = xcalloc(n, sizeof *resps);
	char **urls = xcalloc(n, sizeof *urls);
	for (size_t i = 0; i < n; i++) {
		urls[i] = call_url(call, nodes[i]->url);
		fill_req(&reqs[i], call, body, token);
		reqs[i].url = urls[i];
	}
	if (http)
		http_client_batch(http, reqs, resps, n);
	else
		http_batch(reqs, resps, n);
	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		interpret(env, call, what, &resps[i], &out[i]);
		if (out[i].rc < 0)
			failed++;
		http_resp_release(&resps[i]);
		free(urls[i]);
	}
	free(urls);
	free(resps);
	free(reqs);
	if (body)
		explicit_bzero(body, strlen(body));
	free(body);
	return failed;
}

/* ======================================================================
 * inference
 * ==================================================================== */

int node_infer(const struct cfg_env *env, const struct cfg_node *node,
	       const char *model, const char *version,
	       const struct node_input *in, size_t n_in,
	       struct node_infer_result *out, struct ml_err *err)
{
	memset(out, 0, sizeof *out);
	struct node_result r;
	memset(&r, 0, sizeof r);
	r.node = node;
	char what[300];
	snprintf(what, sizeof what, "infer %s%s%s", model, version ? " " : "",
		 version ? version : "");
	char *url = node_infer_url(node->url, model, version);
	char *body = node_infer_body(in, n_in, NULL);
	struct http_req req = HTTP_REQ_INIT;
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = NODE_INFER_TIMEOUT_MS;
	req.bearer_token = env_token(env);
	req.retries = 1;
	req.idempotent = true; /* inference has no side effects */
	struct http_resp resp;
	http_do(&req, &resp);
	out->status = resp.status;
	out->elapsed_ms = resp.elapsed_ms;
	int rc = -1;
	char why[400];
	if (!http_resp_ok(&resp)) {
		node_fail(&r, ML_EXIT_OPERATIONAL, what, "%s",
			  http_resp_reason(&resp, why, sizeof why));
		ml_err_set(err, r.err.code, "%s", r.err.msg);
	} else {
		struct ml_err perr = ML_ERR_INIT;
		int parsed = node_infer_parse(resp.body, resp.body_len, out, &perr);
		out->status = resp.status; /* the parse starts from zero */
		out->elapsed_ms = resp.elapsed_ms;
		if (parsed < 0) {
			node_fail(&r, ML_EXIT_OPERATIONAL, what, "%s", perr.msg);
			ml_err_set(err, r.err.code, "%s", r.err.msg);
		} else {
			rc = 0;
		}
	}
	http_resp_release(&resp);
	free(url);
	free(body);
	return rc;
}
