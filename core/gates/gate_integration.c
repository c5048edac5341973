/* gate_integration.c — node, router and model together, built in: every
 * node live with the release ready, its metadata as the expectations say,
 * requests through the router reaching every node, and contract tests
 * generated from the expectations (bad inputs must get a 4xx, never a 5xx
 * or no answer; good ones an answer that meets the output expectations).
 * Then the optional checks.integration.run command. */
#include "gates/gate_internal.h"

#include "http.h"
#include "node.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTRACT_TIMEOUT_MS 5000L
#define METRICS_TIMEOUT_MS 2000L

/* ---- metrics ------------------------------------------------------------ */

static bool name_counts(const char *name, size_t len)
{
	char *n = xstrndup(name, len);
	bool yes = false;
	if (strstr(n, "request") && !str_has_suffix(n, "_bucket") &&
	    !str_has_suffix(n, "_sum")) {
		if (str_has_suffix(n, "_total") || str_has_suffix(n, "_success"))
			yes = true;
		/* a latency histogram's _count counts requests too, but so
		 * does the counter beside it: not both */
		else if (str_has_suffix(n, "_count"))
			yes = !strstr(n, "duration") && !strstr(n, "latency") &&
			      !strstr(n, "seconds");
	}
	free(n);
	return yes;
}

double gate_metrics_requests(const char *text, const char *model)
{
	char *want = xasprintf("model=\"%s\"", model);
	double sum = 0;
	bool found = false;
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		if (ll && *p != '#') {
			size_t nlen = 0;
			while (nlen < ll && p[nlen] != '{' && p[nlen] != ' ')
				nlen++;
			if (name_counts(p, nlen) && nlen < ll && p[nlen] == '{') {
				const char *close = memchr(p + nlen, '}', ll - nlen);
				char *labels = close ? xstrndup(p + nlen, (size_t)(close - p - nlen) + 1)
						     : NULL;
				if (labels && (strstr(labels, want) != NULL)) {
					char *end;
					double v = strtod(close + 1, &end);
					if (end != close + 1 && isfinite(v)) {
						sum += v;
						found = true;
					}
				}
				free(labels);
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	free(want);
	return found ? sum : -1;
}

/* ---- contract tests ------------------------------------------------------ */

struct ctest {
	char *name;  /* "v negative (-1)" */
	char *body;
	bool valid;  /* expect 2xx and good outputs, else 4xx */
};

struct ctests {
	struct ctest *t;
	size_t n, cap;
};

static void ct_add(struct ctests *c, char *name, char *body, bool valid)
{
	/* the same request under two names (0 is also the exclusive
	 * minimum) is sent once, under the first */
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->t[i].name, name) == 0 ||
		    strcmp(c->t[i].body, body) == 0) {
			free(name);
			free(body);
			return;
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 32;
		c->t = xrealloc(c->t, c->cap * sizeof(*c->t));
	}
	c->t[c->n].name = name;
	c->t[c->n].body = body;
	c->t[c->n].valid = valid;
	c->n++;
}

static void ct_free(struct ctests *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->t[i].name);
		free(c->t[i].body);
	}
	free(c->t);
}

static bool numeric(enum cfg_type t)
{
	return t == CFG_T_NUMBER || t == CFG_T_INTEGER;
}

/* The shortest text that reads back as exactly x (-1e-06, not
 * -9.9999999999999995e-07): it is sent, and it names the test. */
static void lit_num(char *buf, size_t sz, double x)
{
	if (x == floor(x) && fabs(x) < 1e15) {
		snprintf(buf, sz, "%.0f", x);
		return;
	}
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, sz, "%.*g", digits, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

/* A value the field accepts: the smoke case's when it gives one, else
 * one inside the bounds. */
static double valid_value(const struct cfg_field *f,
			  const struct cfg_smoke_case *sc)
{
	for (size_t i = 0; sc && i < sc->n_inputs; i++)
		if (strcmp(sc->inputs[i].name, f->name) == 0 &&
		    sc->inputs[i].kind == CFG_V_NUMBER)
			return sc->inputs[i].num;
	double lo = -INFINITY, hi = INFINITY;
	if (f->has_min)
		lo = f->min;
	if (f->has_xmin && f->xmin >= lo)
		lo = f->xmin;
	if (f->has_max)
		hi = f->max;
	if (f->has_xmax && f->xmax <= hi)
		hi = f->xmax;
	double v;
	if (isfinite(lo) && isfinite(hi))
		v = (lo + hi) / 2;
	else if (isfinite(lo))
		v = lo + 1;
	else if (isfinite(hi))
		v = hi - 1;
	else
		v = 1;
	if (f->type == CFG_T_INTEGER) {
		double r = ceil(v);
		char m[8];
		if (!cfg_field_check_number(f, r, m, sizeof(m)))
			r = floor(v);
		v = r;
	}
	return v;
}

/* One input's JSON: name, shape [1], datatype, data [lit]. */
static char *input_json(const char *name, const char *dt, const char *lit)
{
	json_t *n = json_string(name);
	char *ns = json_dumps(n, JSON_ENCODE_ANY);
	json_decref(n);
	char *s = xasprintf("{\"name\":%s,\"shape\":[1],\"datatype\":\"%s\","
			    "\"data\":[%s]}",
			    ns, dt, lit);
	free(ns);
	return s;
}

/* A request body: every input at its valid value, except input `which`
 * (-1: none) as (dt, lit), or left out when lit is NULL; plus an extra
 * input when `extra`. */
static char *body_with(const struct cfg_expectations *e, char **valid_lits,
		       long which, const char *dt, const char *lit, bool extra)
{
	char *s = xstrdup("{\"inputs\":[");
	bool first = true;
	for (size_t i = 0; i < e->n_inputs; i++) {
		const struct cfg_field *f = &e->inputs[i];
		char *in;
		if ((long)i == which) {
			if (!lit)
				continue;
			in = input_json(f->name, dt, lit);
		} else {
			if (!valid_lits[i])
				continue;
			in = input_json(f->name, cfg_type_v2(f->type), valid_lits[i]);
		}
		char *n = xasprintf("%s%s%s", s, first ? "" : ",", in);
		free(in);
		free(s);
		s = n;
		first = false;
	}
	if (extra) {
		char *in = input_json("mlctl_extra_input", "FP64", "1");
		char *n = xasprintf("%s%s%s", s, first ? "" : ",", in);
		free(in);
		free(s);
		s = n;
	}
	char *n = xasprintf("%s]}", s);
	free(s);
	return n;
}

/* Bound-related values for a numeric field: each bound, and just past it. */
static void add_bound_tests(struct ctests *ct, const struct cfg_expectations *e,
			    char **vl, size_t i)
{
	const struct cfg_field *f = &e->inputs[i];
	struct {
		bool has;
		double at;
		int dir; /* -1: outside is below, +1: above */
		const char *what;
	} b[4] = {
		{ f->has_min, f->min, -1, "min" },
		{ f->has_xmin, f->xmin, -1, "exclusive_min" },
		{ f->has_max, f->max, +1, "max" },
		{ f->has_xmax, f->xmax, +1, "exclusive_max" },
	};
	const char *dt = cfg_type_v2(f->type);
	for (int k = 0; k < 4; k++) {
		if (!b[k].has)
			continue;
		double vals[2];
		double step = f->type == CFG_T_INTEGER ? 1 : fmax(1e-6, fabs(b[k].at) * 1e-6);
		vals[0] = b[k].at;
		vals[1] = b[k].at + b[k].dir * step;
		for (int j = 0; j < 2; j++) {
			char lit[64], m[160];
			lit_num(lit, sizeof(lit), vals[j]);
			bool ok = cfg_field_check_number(f, vals[j], m, sizeof(m));
			ct_add(ct, xasprintf("%s %s %s (%s)", f->name,
					     j ? "past" : "at", b[k].what, lit),
			       body_with(e, vl, (long)i, dt, lit, false), ok);
		}
	}
}

static void build_tests(const struct cfg_release *rel,
			const struct cfg_smoke_case *sc, struct ctests *ct)
{
	const struct cfg_expectations *e = &rel->expectations;
	char **vl = xcalloc(e->n_inputs + 1, sizeof(char *));
	for (size_t i = 0; i < e->n_inputs; i++) {
		const struct cfg_field *f = &e->inputs[i];
		char lit[64];
		if (numeric(f->type)) {
			lit_num(lit, sizeof(lit), valid_value(f, sc));
			vl[i] = xstrdup(lit);
		} else if (f->type == CFG_T_BOOLEAN) {
			vl[i] = xstrdup("true");
		} else {
			vl[i] = xstrdup("\"mlctl\"");
		}
	}
	ct_add(ct, xstrdup("valid inputs"), body_with(e, vl, -1, NULL, NULL, false),
	       true);
	for (size_t i = 0; i < e->n_inputs; i++) {
		const struct cfg_field *f = &e->inputs[i];
		const char *dt = cfg_type_v2(f->type);
		ct_add(ct, xasprintf("%s missing", f->name),
		       body_with(e, vl, (long)i, NULL, NULL, false), f->optional);
		if (numeric(f->type)) {
			ct_add(ct, xasprintf("%s wrong type (BYTES)", f->name),
			       body_with(e, vl, (long)i, "BYTES", "\"abc\"", false),
			       false);
			ct_add(ct, xasprintf("%s non-numeric (\"abc\")", f->name),
			       body_with(e, vl, (long)i, dt, "\"abc\"", false), false);
			static const double probes[] = { 0, -1 };
			static const char *const pnames[] = { "zero", "negative" };
			for (int k = 0; k < 2; k++) {
				char lit[32], m[160];
				lit_num(lit, sizeof(lit), probes[k]);
				bool ok = cfg_field_check_number(f, probes[k], m,
								 sizeof(m));
				ct_add(ct, xasprintf("%s %s (%s)", f->name, pnames[k], lit),
				       body_with(e, vl, (long)i, dt, lit, false), ok);
			}
			ct_add(ct, xasprintf("%s NaN", f->name),
			       body_with(e, vl, (long)i, dt, "NaN", false), false);
			ct_add(ct, xasprintf("%s too large (1e309)", f->name),
			       body_with(e, vl, (long)i, dt, "1e309", false), false);
			if (f->type == CFG_T_INTEGER)
				ct_add(ct, xasprintf("%s not an integer (1.5)", f->name),
				       body_with(e, vl, (long)i, dt, "1.5", false),
				       false);
			add_bound_tests(ct, e, vl, i);
		} else {
			ct_add(ct, xasprintf("%s wrong type (FP64)", f->name),
			       body_with(e, vl, (long)i, "FP64", "1", false), false);
		}
	}
	ct_add(ct, xstrdup("extra input"), body_with(e, vl, -1, NULL, NULL, true),
	       false);
	for (size_t i = 0; i < e->n_inputs; i++)
		free(vl[i]);
	free(vl);
}

/* Why an answer to a valid request is not good enough, or NULL. */
static char *judge_valid(const struct cfg_release *rel,
			 const struct http_resp *resp)
{
	char buf[300];
	if (!http_resp_ok(resp))
		return xasprintf("a valid request failed: %s",
				 http_resp_reason(resp, buf, sizeof(buf)));
	struct node_infer_result res;
	struct ml_err err = ML_ERR_INIT;
	char *why = NULL;
	if (node_infer_parse(resp->body, resp->body_len, &res, &err)) {
		why = xasprintf("not a V2 infer response: %s", err.msg);
		goto out;
	}
	if (!res.model_version || strcmp(res.model_version, rel->version) != 0) {
		why = xasprintf("answered by version %s, expected %s",
				res.model_version ? res.model_version : "(none)",
				rel->version);
		goto out;
	}
	for (size_t i = 0; i < rel->expectations.n_outputs && !why; i++) {
		const struct cfg_field *f = &rel->expectations.outputs[i];
		const struct node_output *o = node_infer_output(&res, f->name);
		if (!o) {
			why = xasprintf("output '%s' missing", f->name);
		} else if (numeric(f->type)) {
			if (!o->data || o->n != 1) {
				why = xasprintf("output '%s': expected one number",
						f->name);
			} else {
				char m[160];
				if (!cfg_field_check_number(f, o->data[0], m, sizeof(m)))
					why = xasprintf("output '%s' %s", f->name, m);
			}
		}
	}
out:
	node_infer_result_release(&res);
	return why;
}

static char *judge_invalid(const struct http_resp *resp)
{
	char buf[300];
	if (resp->status == 0)
		return xasprintf("no answer: %s", resp->error);
	if (resp->status >= 400 && resp->status < 500)
		return NULL;
	if (resp->status >= 500)
		return xasprintf("%s (a bad input must get a 4xx, never a 5xx)",
				 http_resp_reason(resp, buf, sizeof(buf)));
	return xasprintf("accepted (HTTP %ld); it must be refused with a 4xx",
			 resp->status);
}

/* ---- the gate ------------------------------------------------------------ */

static void probe_nodes(const struct gate_ctx *c, struct gate_result *r,
			size_t *ok_nodes)
{
	const struct gate_target *t = c->target;
	static const enum node_op ops[] = { NODE_OP_LIVE, NODE_OP_VERSION_READY,
					    NODE_OP_METADATA };
	static const char *const names[] = { "live", "ready", "metadata" };
	bool *good = xcalloc(t->n_nodes + 1, sizeof(bool));
	for (size_t i = 0; i < t->n_nodes; i++)
		good[i] = true;
	for (size_t k = 0; k < 3; k++) {
		struct node_call call = NODE_CALL_INIT;
		call.op = ops[k];
		call.model = c->rel->model;
		call.version = c->rel->version;
		call.rel = c->rel;
		struct node_result *res = xcalloc(t->n_nodes + 1, sizeof(*res));
		node_run_many(c->env, t->nodes, t->n_nodes, &call, NULL, res);
		for (size_t i = 0; i < t->n_nodes; i++) {
			char name[200];
			snprintf(name, sizeof(name), "%s %s", names[k],
				 t->nodes[i]->name);
			const struct node_result *x = &res[i];
			if (x->rc < 0) {
				gate_add_check(r, name, x->elapsed_ms, x->err.msg);
				good[i] = false;
			} else if (ops[k] == NODE_OP_METADATA && x->n_mismatches) {
				char *all = xstrdup("");
				for (size_t m = 0; m < x->n_mismatches; m++) {
					char *n = xasprintf("%s%s%s", all, m ? "; " : "",
							    x->mismatches[m]);
					free(all);
					all = n;
				}
				gate_add_checkf(r, name, x->elapsed_ms,
						"metadata does not match the "
						"expectations: %s",
						all);
				free(all);
				good[i] = false;
			} else if (ops[k] != NODE_OP_METADATA && !x->yes) {
				gate_add_checkf(r, name, x->elapsed_ms, "%s",
						x->err.msg[0] ? x->err.msg
							      : "said no");
				good[i] = false;
			} else {
				gate_add_check(r, name, x->elapsed_ms, NULL);
			}
		}
		node_results_release(res, t->n_nodes);
		free(res);
	}
	*ok_nodes = 0;
	for (size_t i = 0; i < t->n_nodes; i++)
		*ok_nodes += good[i];
	free(good);
}

static void scrape(const struct gate_ctx *c, double *counts)
{
	const struct gate_target *t = c->target;
	size_t n = t->n_nodes;
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	char **urls = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char *b = xstrdup(t->nodes[i]->url);
		size_t l = strlen(b);
		while (l && b[l - 1] == '/')
			b[--l] = '\0';
		urls[i] = xasprintf("%s/metrics", b);
		free(b);
		reqs[i].url = urls[i];
		reqs[i].timeout_ms = METRICS_TIMEOUT_MS;
		reqs[i].bearer_token = gate_token(c->env);
		reqs[i].retries = 1;
		reqs[i].idempotent = true;
	}
	http_batch(reqs, resps, n);
	for (size_t i = 0; i < n; i++) {
		counts[i] = http_resp_ok(&resps[i])
				    ? gate_metrics_requests(resps[i].body, c->rel->model)
				    : -1;
		http_resp_release(&resps[i]);
		free(urls[i]);
	}
	free(urls);
	free(reqs);
	free(resps);
}

/* Requests through the router must reach every node: each node's request
 * counter rises while we send a few. */
static void router_reach(const struct gate_ctx *c, struct gate_result *r,
			 const char *body, size_t *reached)
{
	const struct gate_target *t = c->target;
	*reached = 0;
	if (!t->router_url) {
		gate_add_skip(r, "router reaches every node",
			      t->router_note ? t->router_note
					     : "no router: the gates go to the "
					       "nodes directly");
		return;
	}
	size_t n = t->n_nodes;
	double *before = xcalloc(n + 1, sizeof(double));
	double *after = xcalloc(n + 1, sizeof(double));
	scrape(c, before);
	size_t k = n * 6 < 12 ? 12 : n * 6;
	char *url = node_infer_url(t->router_url, c->rel->model, NULL);
	struct http_req *reqs = xcalloc(k, sizeof(*reqs));
	struct http_resp *resps = xcalloc(k, sizeof(*resps));
	for (size_t i = 0; i < k; i++) {
		reqs[i].method = "POST";
		reqs[i].url = url;
		reqs[i].body = body;
		reqs[i].body_len = strlen(body);
		reqs[i].timeout_ms = CONTRACT_TIMEOUT_MS;
		reqs[i].bearer_token = gate_token(c->env);
		reqs[i].retries = 1;
		reqs[i].idempotent = true;
	}
	double t0 = now_ms();
	/* in two waves, so keep-alive connections spread too */
	http_batch(reqs, resps, k / 2);
	http_batch(reqs + k / 2, resps + k / 2, k - k / 2);
	double ms = now_ms() - t0;
	size_t bad = 0;
	char *first = NULL;
	for (size_t i = 0; i < k; i++) {
		char *why = judge_valid(c->rel, &resps[i]);
		if (why) {
			bad++;
			if (!first)
				first = why;
			else
				free(why);
		}
		http_resp_release(&resps[i]);
	}
	if (bad)
		gate_add_checkf(r, "router answers", ms, "%zu of %zu requests "
							 "through the router "
							 "failed: %s",
				bad, k, first);
	else
		gate_add_check(r, "router answers", ms, NULL);
	free(first);
	scrape(c, after);
	for (size_t i = 0; i < n; i++) {
		char name[200];
		snprintf(name, sizeof(name), "router reaches %s", t->nodes[i]->name);
		/* a counter appears with the model's first request */
		if (before[i] < 0 && after[i] >= 0)
			before[i] = 0;
		if (after[i] < 0)
			gate_add_skip(r, name, "the node's /metrics has no "
					       "request counter for the model");
		else if (after[i] > before[i]) {
			gate_add_check(r, name, 0, NULL);
			(*reached)++;
		} else {
			gate_add_checkf(r, name, 0, "none of %zu requests "
						    "through the router reached "
						    "it",
					k);
		}
	}
	free(url);
	free(reqs);
	free(resps);
	free(before);
	free(after);
}

static void contract(const struct gate_ctx *c, struct gate_result *r,
		     const struct ctests *ct, size_t *passed, size_t *total)
{
	const struct gate_target *t = c->target;
	size_t n = t->n_nodes * ct->n;
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	char **urls = xcalloc(t->n_nodes + 1, sizeof(char *));
	for (size_t i = 0; i < t->n_nodes; i++)
		urls[i] = node_infer_url(t->nodes[i]->url, c->rel->model,
					 c->rel->version);
	for (size_t i = 0; i < t->n_nodes; i++)
		for (size_t k = 0; k < ct->n; k++) {
			struct http_req *q = &reqs[i * ct->n + k];
			q->method = "POST";
			q->url = urls[i];
			q->body = ct->t[k].body;
			q->body_len = strlen(ct->t[k].body);
			q->timeout_ms = CONTRACT_TIMEOUT_MS;
			q->bearer_token = gate_token(c->env);
			/* a valid request may meet an injected fault; a bad
			 * one must be refused every time */
			q->retries = ct->t[k].valid ? 1 : 0;
			q->idempotent = true;
		}
	http_batch(reqs, resps, n);
	*passed = 0;
	*total = n;
	for (size_t i = 0; i < t->n_nodes; i++)
		for (size_t k = 0; k < ct->n; k++) {
			struct http_resp *x = &resps[i * ct->n + k];
			char name[300];
			snprintf(name, sizeof(name), "contract %s: %s",
				 t->nodes[i]->name, ct->t[k].name);
			char *why = ct->t[k].valid ? judge_valid(c->rel, x)
						   : judge_invalid(x);
			gate_add_check(r, name, x->elapsed_ms, why);
			*passed += why == NULL;
			free(why);
			http_resp_release(x);
		}
	for (size_t i = 0; i < t->n_nodes; i++)
		free(urls[i]);
	free(urls);
	free(reqs);
	free(resps);
}

void gate_integration_run(const struct gate_ctx *c, struct gate_result *out)
{
	gate_result_init(out, CFG_GATE_INTEGRATION);
	double t0 = now_ms();
	const struct gate_target *t = c->target;
	size_t ok_nodes = 0, reached = 0, cpass = 0, ctotal = 0;
	probe_nodes(c, out, &ok_nodes);

	const struct cfg_smoke_case *sc = c->lim->n_smoke_rel ? &c->lim->smoke_rel[0]
					 : c->lim->n_smoke_env ? &c->lim->smoke_env[0]
							       : NULL;
	struct ctests ct = { 0 };
	build_tests(c->rel, sc, &ct);
	router_reach(c, out, ct.t[0].body, &reached);
	contract(c, out, &ct, &cpass, &ctotal);
	size_t n_cases = ct.n;
	ct_free(&ct);

	size_t tests = 0, failed = 0, skipped = 0;
	for (size_t i = 0; i < c->lim->n_integration; i++) {
		const struct cfg_cmd_check *cc = c->lim->integration[i];
		gate_run_command(c, out,
				 cc == &c->rel->checks.integration ? ""
								   : "environment: ",
				 cc->run, NULL, c->lim->integration_timeout_ms,
				 &tests, &failed, &skipped);
	}
	out->ms = now_ms() - t0;

	char tm[32], router[96];
	gate_fmt_ms(out->ms, tm, sizeof(tm));
	if (t->router_url)
		snprintf(router, sizeof(router), "router reaches %zu/%zu nodes",
			 reached, t->n_nodes);
	else
		snprintf(router, sizeof(router), "no router");
	gate_set_summary(out, "%zu/%zu nodes live, ready, metadata ok; %s; "
			      "contract %zu/%zu (%zu per node)%s in %s",
			 ok_nodes, t->n_nodes, router, cpass, ctotal, n_cases,
			 c->lim->n_integration ? "; run command" : "", tm);
	json_t *f = out->figures;
	json_object_set_new(f, "nodes", json_integer((json_int_t)t->n_nodes));
	json_object_set_new(f, "nodes_ok", json_integer((json_int_t)ok_nodes));
	json_object_set_new(f, "router", t->router_url ? json_string(t->router_url)
						      : json_null());
	json_object_set_new(f, "router_reached", json_integer((json_int_t)reached));
	json_object_set_new(f, "contract_tests", json_integer((json_int_t)ctotal));
	json_object_set_new(f, "contract_passed", json_integer((json_int_t)cpass));
	json_object_set_new(f, "commands",
			    json_integer((json_int_t)c->lim->n_integration));
}
