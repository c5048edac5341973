/* node.c — the node interface of node.h: dispatch to the environment's
 * driver (node_v2.c, node_exec.c), readiness polling, the single-node
 * shorthands, and the V2 inference JSON (request bodies, response parsing)
 * that the gates share. HTTP itself is core/http's. */
#define _DEFAULT_SOURCE
#include "node.h"

#include "exitcode.h"
#include "http.h"
#include "node_driver.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *node_op_name(enum node_op op)
{
	switch (op) {
	case NODE_OP_LIVE:
		return "live";
	case NODE_OP_READY:
		return "ready";
	case NODE_OP_VERSION_READY:
		return "version-ready";
	case NODE_OP_INDEX:
		return "index";
	case NODE_OP_METADATA:
		return "metadata";
	case NODE_OP_LOAD:
		return "load";
	case NODE_OP_UNLOAD:
		return "unload";
	}
	return "?";
}

/* ======================================================================
 * results
 * ==================================================================== */

void node_model_states_free(struct node_model_state *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].name);
		free(s[i].version);
		free(s[i].state);
		free(s[i].reason);
	}
	free(s);
}

void node_strings_free(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

void node_result_release(struct node_result *r)
{
	if (!r)
		return;
	ml_err_release(&r->err);
	node_model_states_free(r->models, r->n_models);
	node_strings_free(r->mismatches, r->n_mismatches);
	free(r->output);
	const struct cfg_node *node = r->node;
	memset(r, 0, sizeof *r);
	r->node = node;
}

void node_results_release(struct node_result *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		node_result_release(&r[i]);
}

const char *node_call_model(const struct node_call *call)
{
	if (call->model)
		return call->model;
	return call->rel ? call->rel->model : NULL;
}

const char *node_call_version(const struct node_call *call)
{
	if (call->version)
		return call->version;
	return call->rel ? call->rel->version : NULL;
}

void node_call_describe(const struct node_call *call, char *buf, size_t sz)
{
	const char *m = node_call_model(call), *v = node_call_version(call);
	switch (call->op) {
	case NODE_OP_LIVE:
	case NODE_OP_INDEX:
		snprintf(buf, sz, "%s", node_op_name(call->op));
		return;
	case NODE_OP_READY:
		if (!m)
			snprintf(buf, sz, "ready");
		else
			snprintf(buf, sz, "ready %s%s%s", m, v ? " " : "",
				 v ? v : "");
		return;
	default:
		snprintf(buf, sz, "%s %s%s%s", node_op_name(call->op),
			 m ? m : "?", v ? " " : "", v ? v : "");
		return;
	}
}

long node_call_timeout(const struct node_call *call, long def)
{
	return call->timeout_ms > 0 ? call->timeout_ms : def;
}

static void node_vmsg(struct node_result *r, const char *what, const char *fmt,
		      va_list ap)
{
	char reason[400];
	vsnprintf(reason, sizeof reason, fmt, ap);
	const struct cfg_node *nd = r->node;
	snprintf(r->err.msg, sizeof r->err.msg, "node %s (%s): %s: %s",
		 nd && nd->name ? nd->name : "?", nd && nd->url ? nd->url : "?",
		 what, reason);
}

void node_fail(struct node_result *r, int code, const char *what,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	node_vmsg(r, what, fmt, ap);
	va_end(ap);
	r->rc = -1;
	r->yes = false;
	r->err.code = code;
}

void node_say_no(struct node_result *r, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	node_vmsg(r, what, fmt, ap);
	va_end(ap);
	r->rc = 0;
	r->yes = false;
	r->err.code = 0;
}

/* The reason part of a node message ("node N (U): WHAT: reason"). */
static const char *msg_reason(const struct node_result *r, const char *what)
{
	const struct cfg_node *nd = r->node;
	char prefix[600];
	snprintf(prefix, sizeof prefix, "node %s (%s): %s: ",
		 nd && nd->name ? nd->name : "?", nd && nd->url ? nd->url : "?",
		 what);
	size_t pl = strlen(prefix);
	return strncmp(r->err.msg, prefix, pl) == 0 ? r->err.msg + pl
						    : r->err.msg;
}

/* ======================================================================
 * dispatch
 * ==================================================================== */

static bool exec_op(enum node_op op)
{
	return op == NODE_OP_LIVE || op == NODE_OP_READY ||
	       op == NODE_OP_VERSION_READY || op == NODE_OP_LOAD ||
	       op == NODE_OP_UNLOAD;
}

size_t node_run_many(const struct cfg_env *env,
		     const struct cfg_node *const *nodes, size_t n,
		     const struct node_call *call, struct http_client *http,
		     struct node_result *out)
{
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].node = nodes[i];
	}
	if (n == 0)
		return 0;
	char what[300];
	node_call_describe(call, what, sizeof what);
	const char *bad = NULL;
	if ((call->op == NODE_OP_LOAD || call->op == NODE_OP_METADATA) &&
	    !call->rel)
		bad = "no release given";
	else if ((call->op == NODE_OP_VERSION_READY ||
		  call->op == NODE_OP_METADATA || call->op == NODE_OP_UNLOAD) &&
		 !node_call_model(call))
		bad = "no model given";
	else if (call->op == NODE_OP_VERSION_READY && !node_call_version(call))
		bad = "no version given";
	else if (env->node_driver == CFG_NODE_EXEC && call->op == NODE_OP_INDEX)
		bad = "node driver exec cannot list loaded versions (it needs "
		      "v2's repository index)";
	if (bad) {
		for (size_t i = 0; i < n; i++)
			node_fail(&out[i], ML_EXIT_USAGE, what, "%s", bad);
		return n;
	}
	if (env->node_driver == CFG_NODE_EXEC && exec_op(call->op))
		return node_exec_run_many(env, nodes, n, call, out);
	return node_v2_run_many(env, nodes, n, call, http, out);
}

static void sleep_ms(double ms)
{
	if (ms <= 0)
		return;
	struct timespec ts;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	nanosleep(&ts, NULL);
}

size_t node_wait_ready_many(const struct cfg_env *env,
			    const struct cfg_node *const *nodes, size_t n,
			    const char *model, const char *version,
			    long long timeout_ms, struct http_client *client,
			    struct node_result *out)
{
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].node = nodes[i];
		out[i].rc = -1;
	}
	if (n == 0)
		return 0;
	struct node_call call = NODE_CALL_INIT;
	call.op = version ? NODE_OP_VERSION_READY : NODE_OP_READY;
	call.model = model;
	call.version = version;
	char what[300], wait_what[320];
	node_call_describe(&call, what, sizeof what);
	snprintf(wait_what, sizeof wait_what, "wait %s", what);

	struct http_client *http = client;
	struct ml_err herr = ML_ERR_INIT;
	if (!http && env->node_driver == CFG_NODE_V2 &&
	    http_client_new(&http, NULL, &herr) < 0) {
		for (size_t i = 0; i < n; i++)
			node_fail(&out[i], ML_EXIT_OPERATIONAL, wait_what, "%s",
				  herr.msg);
		return n;
	}
	const struct cfg_node **pend = xcalloc(n, sizeof *pend);
	size_t *idx = xcalloc(n, sizeof *idx);
	struct node_result *tmp = xcalloc(n, sizeof *tmp);
	char (*last)[400] = xcalloc(n, sizeof *last);
	bool *ready = xcalloc(n, sizeof *ready);
	double t0 = now_ms(), t_end = t0 + (double)timeout_ms;
	double interval = 50;
	size_t left = n;
	for (;;) {
		size_t np = 0;
		for (size_t i = 0; i < n; i++)
			if (!ready[i]) {
				idx[np] = i;
				pend[np++] = nodes[i];
			}
		double remaining = t_end - now_ms();
		long per = (long)(remaining < 100 ? 100 : remaining);
		long cap = env->node_driver == CFG_NODE_EXEC
				   ? (env->exec.timeout_ms > 0
					      ? (long)env->exec.timeout_ms
					      : NODE_EXEC_TIMEOUT_MS)
				   : NODE_PROBE_TIMEOUT_MS;
		call.timeout_ms = per < cap ? per : cap;
		node_run_many(env, pend, np, &call, http, tmp);
		for (size_t k = 0; k < np; k++) {
			size_t i = idx[k];
			out[i].status = tmp[k].status;
			if (tmp[k].rc == 0 && tmp[k].yes) {
				ready[i] = true;
				left--;
				out[i].rc = 0;
				out[i].yes = true;
				out[i].err.msg[0] = '\0';
			} else {
				snprintf(last[i], sizeof last[i], "%s",
					 msg_reason(&tmp[k], what));
			}
		}
		node_results_release(tmp, np);
		if (left == 0)
			break;
		double now = now_ms();
		if (now >= t_end) {
			for (size_t i = 0; i < n; i++)
				if (!ready[i])
					node_fail(&out[i], ML_EXIT_OPERATIONAL,
						  wait_what,
						  "not ready after %lld ms; last "
						  "answer: %s",
						  timeout_ms, last[i]);
			break;
		}
		sleep_ms(interval < t_end - now ? interval : t_end - now);
		interval = interval * 1.5 < 500 ? interval * 1.5 : 500;
	}
	for (size_t i = 0; i < n; i++)
		out[i].elapsed_ms = now_ms() - t0;
	if (http != client)
		http_client_close(http);
	free(pend);
	free(idx);
	free(tmp);
	free(last);
	free(ready);
	return left;
}

/* ======================================================================
 * one node
 * ==================================================================== */

static void copy_err(struct ml_err *err, const struct node_result *r)
{
	if (!err)
		return;
	err->code = r->err.code;
	memcpy(err->msg, r->err.msg, sizeof err->msg);
}

static int run_one(const struct cfg_env *env, const struct cfg_node *node,
		   const struct node_call *call, struct node_result *r,
		   struct ml_err *err)
{
	node_run_many(env, &node, 1, call, NULL, r);
	if (r->rc < 0 || !r->yes)
		copy_err(err, r);
	return r->rc;
}

static int probe(const struct cfg_env *env, const struct cfg_node *node,
		 enum node_op op, const char *model, const char *version,
		 bool *yes, struct ml_err *err)
{
	struct node_call call = NODE_CALL_INIT;
	call.op = op;
	call.model = model;
	call.version = version;
	struct node_result r;
	int rc = run_one(env, node, &call, &r, err);
	*yes = rc == 0 && r.yes;
	node_result_release(&r);
	return rc;
}

int node_live(const struct cfg_env *env, const struct cfg_node *node,
	      bool *yes, struct ml_err *err)
{
	return probe(env, node, NODE_OP_LIVE, NULL, NULL, yes, err);
}

int node_ready(const struct cfg_env *env, const struct cfg_node *node,
	       bool *yes, struct ml_err *err)
{
	return probe(env, node, NODE_OP_READY, NULL, NULL, yes, err);
}

int node_version_ready(const struct cfg_env *env, const struct cfg_node *node,
		       const char *model, const char *version, bool *yes,
		       struct ml_err *err)
{
	return probe(env, node, NODE_OP_VERSION_READY, model, version, yes,
		     err);
}

int node_loaded_versions(const struct cfg_env *env,
			 const struct cfg_node *node,
			 struct node_model_state **out, size_t *n,
			 struct ml_err *err)
{
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_INDEX;
	struct node_result r;
	*out = NULL;
	*n = 0;
	int rc = run_one(env, node, &call, &r, err);
	if (rc == 0) {
		*out = r.models;
		*n = r.n_models;
		r.models = NULL;
		r.n_models = 0;
	}
	node_result_release(&r);
	return rc;
}

int node_metadata_check(const struct cfg_env *env, const struct cfg_node *node,
			const struct cfg_release *rel, char ***mismatches,
			size_t *n, struct ml_err *err)
{
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_METADATA;
	call.rel = rel;
	struct node_result r;
	*mismatches = NULL;
	*n = 0;
	node_run_many(env, &node, 1, &call, NULL, &r);
	int rc = r.rc;
	if (rc < 0) {
		copy_err(err, &r);
	} else {
		*mismatches = r.mismatches;
		*n = r.n_mismatches;
		r.mismatches = NULL;
		r.n_mismatches = 0;
	}
	node_result_release(&r);
	return rc;
}

int node_load(const struct cfg_env *env, const struct cfg_node *node,
	      const struct cfg_release *rel, struct ml_err *err)
{
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_LOAD;
	call.rel = rel;
	struct node_result r;
	node_run_many(env, &node, 1, &call, NULL, &r);
	int rc = r.rc;
	if (rc < 0)
		copy_err(err, &r);
	node_result_release(&r);
	return rc;
}

int node_unload(const struct cfg_env *env, const struct cfg_node *node,
		const char *model, const char *version, struct ml_err *err)
{
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_UNLOAD;
	call.model = model;
	call.version = version;
	struct node_result r;
	node_run_many(env, &node, 1, &call, NULL, &r);
	int rc = r.rc;
	if (rc < 0)
		copy_err(err, &r);
	node_result_release(&r);
	return rc;
}

int node_wait_ready(const struct cfg_env *env, const struct cfg_node *node,
		    const char *model, const char *version,
		    long long timeout_ms, struct ml_err *err)
{
	struct node_result r;
	node_wait_ready_many(env, &node, 1, model, version, timeout_ms, NULL, &r);
	int rc = r.rc;
	if (rc < 0)
		copy_err(err, &r);
	node_result_release(&r);
	return rc;
}

/* ======================================================================
 * inference JSON
 * ==================================================================== */

char *node_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

char *node_base_url(const char *base)
{
	size_t len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	return xstrndup(base, len);
}

char *node_v2_model_url(const char *base, const char *model,
			const char *version, const char *suffix)
{
	char *b = node_base_url(base), *m = node_url_escape(model);
	char *v = version ? node_url_escape(version) : NULL;
	char *u = v ? xasprintf("%s/v2/models/%s/versions/%s%s", b, m, v,
				suffix ? suffix : "")
		    : xasprintf("%s/v2/models/%s%s", b, m, suffix ? suffix : "");
	free(b);
	free(m);
	free(v);
	return u;
}

char *node_infer_url(const char *base_url, const char *model,
		     const char *version)
{
	return node_v2_model_url(base_url, model, version, "/infer");
}

char *node_infer_body(const struct node_input *in, size_t n_in, const char *id)
{
	json_t *root = json_object();
	if (id)
		json_object_set_new(root, "id", json_string(id));
	json_t *inputs = json_array();
	for (size_t i = 0; i < n_in; i++) {
		const char *dt = in[i].datatype ? in[i].datatype : "FP64";
		bool is_int = strncmp(dt, "INT", 3) == 0 ||
			      strncmp(dt, "UINT", 4) == 0;
		bool is_bool = strcmp(dt, "BOOL") == 0;
		json_t *data = json_array();
		for (size_t k = 0; k < in[i].n; k++) {
			double x = in[i].data[k];
			if (is_bool)
				json_array_append_new(data, json_boolean(x != 0));
			else if (is_int)
				json_array_append_new(data,
						      json_integer((json_int_t)x));
			else
				json_array_append_new(data, json_real(x));
		}
		json_array_append_new(
			inputs,
			json_pack("{s:s,s:[I],s:s,s:o}", "name", in[i].name,
				  "shape", (json_int_t)in[i].n, "datatype", dt,
				  "data", data));
	}
	json_object_set_new(root, "inputs", inputs);
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	char *copy = xstrdup(s ? s : "{}");
	free(s);
	return copy;
}

void node_infer_result_release(struct node_infer_result *r)
{
	if (!r)
		return;
	free(r->model_name);
	free(r->model_version);
	free(r->id);
	for (size_t i = 0; i < r->n_outputs; i++) {
		free(r->outputs[i].name);
		free(r->outputs[i].datatype);
		free(r->outputs[i].data);
	}
	free(r->outputs);
	memset(r, 0, sizeof *r);
}

const struct node_output *node_infer_output(const struct node_infer_result *r,
					    const char *name)
{
	for (size_t i = 0; i < r->n_outputs; i++)
		if (strcmp(r->outputs[i].name, name) == 0)
			return &r->outputs[i];
	return NULL;
}

/* Flatten (possibly nested) numeric data; false on a non-number. */
static bool flatten(json_t *v, double **out, size_t *n, size_t *cap)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			if (!flatten(e, out, n, cap))
				return false;
		}
		return true;
	}
	double x;
	if (json_is_number(v))
		x = json_number_value(v);
	else if (json_is_boolean(v))
		x = json_is_true(v) ? 1 : 0;
	else
		return false;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*out = xrealloc(*out, *cap * sizeof **out);
	}
	(*out)[(*n)++] = x;
	return true;
}

static char *jstrdup(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

int node_infer_parse(const char *body, size_t len,
		     struct node_infer_result *out, struct ml_err *err)
{
	memset(out, 0, sizeof *out);
	json_error_t je;
	json_t *root = json_loadb(body, len, 0, &je);
	int rc = -1;
	if (!root) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "the infer response is not JSON: %s", je.text);
		goto out;
	}
	json_t *outs = json_object_get(root, "outputs");
	if (!json_is_object(root) || !json_is_array(outs)) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "the infer response has no 'outputs' array");
		goto out;
	}
	out->model_name = jstrdup(root, "model_name");
	out->model_version = jstrdup(root, "model_version");
	out->id = jstrdup(root, "id");
	out->outputs = xcalloc(json_array_size(outs) + 1, sizeof *out->outputs);
	size_t i;
	json_t *o;
	json_array_foreach(outs, i, o)
	{
		struct node_output *no = &out->outputs[out->n_outputs];
		no->name = jstrdup(o, "name");
		if (!no->name) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "infer response: outputs[%zu] has no name", i);
			goto out;
		}
		out->n_outputs++;
		no->datatype = jstrdup(o, "datatype");
		if (!no->datatype)
			no->datatype = xstrdup("");
		if (strcmp(no->datatype, "BYTES") == 0)
			continue;
		size_t cap = 0;
		if (!flatten(json_object_get(o, "data"), &no->data, &no->n,
			     &cap)) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "infer response: output '%s' has non-numeric "
				   "data",
				   no->name);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ======================================================================
 * artifacts
 * ==================================================================== */

char *node_artifact_ref(const struct cfg_release *rel)
{
	if (rel->artifact_remote || !rel->artifact_path)
		return xstrdup(rel->artifact_uri ? rel->artifact_uri : "");
	char *p = path_real(rel->artifact_path);
	if (p[0] == '/')
		return p;
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return p;
	char *abs = path_join(cwd, p);
	free(p);
	return abs;
}
