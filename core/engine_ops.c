/* engine_ops.c — the engine's operations on real nodes (core/node) and a
 * real router (core/router): what `deploy`, `rollback`, `continue` and
 * `abort` run. Canary analysis is core/analysis's; its live lines go to
 * stderr from here. */
#include "engine_ops.h"
#include "analysis.h"
#include "exitcode.h"
#include "gates/gate.h"
#include "node.h"
#include "out.h"
#include "router.h"
#include "smoke.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A cfg_release good enough for a node load, from a recorded release. */
static int release_view(const struct rstate_release *r, struct cfg_release *rel,
			struct ml_err *err)
{
	memset(rel, 0, sizeof(*rel));
	rel->model = r->model;
	rel->version = r->version;
	bool remote = r->artifact && (strncmp(r->artifact, "http://", 7) == 0 ||
				      strncmp(r->artifact, "https://", 8) == 0);
	rel->artifact_remote = remote;
	rel->artifact_uri = r->artifact;
	rel->artifact_path = remote ? NULL : r->artifact;
	memcpy(rel->sha256, r->sha256, sizeof(rel->sha256));
	if (r->expectations_json &&
	    cfg_expectations_from_json(r->expectations_json, &rel->expectations))
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "recorded expectations of %s %s are malformed",
				  r->model, r->version);
	return 0;
}

static const struct cfg_node **node_ptrs(const struct cfg_env *env,
					 const size_t *nodes, size_t n)
{
	const struct cfg_node **p = xcalloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		p[i] = &env->nodes[nodes[i]];
	return p;
}

/* The first failure of a batch as the op's error, with a count. */
static int batch_error(struct node_result *res, size_t n, struct ml_err *err)
{
	size_t failed = 0, first = n;
	for (size_t i = 0; i < n; i++)
		if (res[i].rc < 0) {
			failed++;
			if (first == n)
				first = i;
		}
	if (!failed)
		return 0;
	ml_err_set(err, ML_EXIT_OPERATIONAL, "%s%s", res[first].err.msg,
		   failed > 1 ? " (and more nodes failed)" : "");
	return -1;
}

static int op_load(void *ctx, const size_t *nodes, size_t n,
		   const struct rstate_release *r, bool *done, struct ml_err *err)
{
	struct engine_real *e = ctx;
	struct cfg_release rel;
	if (release_view(r, &rel, err))
		return -1;
	const struct cfg_node **p = node_ptrs(e->env, nodes, n);
	struct node_result *res = xcalloc(n + 1, sizeof(*res));
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_LOAD;
	call.rel = &rel;
	node_run_many(e->env, p, n, &call, e->http, res);
	for (size_t i = 0; done && i < n; i++)
		done[i] = res[i].rc == 0;
	int rc = batch_error(res, n, err);
	node_results_release(res, n);
	free(res);
	free(p);
	cfg_expectations_free_fields(&rel.expectations);
	return rc;
}

static int op_unload(void *ctx, const size_t *nodes, size_t n, const char *model,
		     const char *version, bool *done, struct ml_err *err)
{
	struct engine_real *e = ctx;
	const struct cfg_node **p = node_ptrs(e->env, nodes, n);
	struct node_result *res = xcalloc(n + 1, sizeof(*res));
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_UNLOAD;
	call.model = model;
	call.version = version;
	node_run_many(e->env, p, n, &call, e->http, res);
	for (size_t i = 0; done && i < n; i++)
		done[i] = res[i].rc == 0;
	int rc = batch_error(res, n, err);
	node_results_release(res, n);
	free(res);
	free(p);
	return rc;
}

static int op_wait_ready(void *ctx, const size_t *nodes, size_t n,
			 const char *model, const char *version,
			 long long timeout_ms, struct ml_err *err)
{
	struct engine_real *e = ctx;
	const struct cfg_node **p = node_ptrs(e->env, nodes, n);
	struct node_result *res = xcalloc(n + 1, sizeof(*res));
	node_wait_ready_many(e->env, p, n, model, version, timeout_ms, e->http,
			     res);
	int rc = batch_error(res, n, err);
	node_results_release(res, n);
	free(res);
	free(p);
	return rc;
}

static int op_set_live(void *ctx, const int *w, struct ml_err *err)
{
	struct engine_real *e = ctx;
	return router_set_weights(e->env, e->run_dir, w, err);
}

static int op_set_preview(void *ctx, const int *w, struct ml_err *err)
{
	struct engine_real *e = ctx;
	return router_set_preview(e->env, e->run_dir, w, err);
}

static int op_smoke(void *ctx, const size_t *nodes, size_t n,
		    const char *version, struct ml_err *err)
{
	struct engine_real *e = ctx;
	if (!e->rel || e->rel->checks.smoke.n_cases == 0)
		return 0; /* nothing to send: readiness already checked */
	struct smoke_target *t = xcalloc(n + 1, sizeof(*t));
	char *preview = NULL;
	size_t nt = 0;
	if (e->env->router_driver != CFG_ROUTER_NONE && e->env->preview.set) {
		preview = xasprintf("http://%s:%d", e->env->preview.host,
				    e->env->preview.port);
		t[nt].name = "preview";
		t[nt++].url = preview;
	} else {
		for (size_t i = 0; i < n; i++) {
			t[nt].name = e->env->nodes[nodes[i]].name;
			t[nt++].url = e->env->nodes[nodes[i]].url;
		}
	}
	long long timeout = e->rel->checks.smoke.timeout_ms;
	if (e->env->checks.smoke.timeout_ms &&
	    (!timeout || e->env->checks.smoke.timeout_ms < timeout))
		timeout = e->env->checks.smoke.timeout_ms;
	struct smoke_report rep;
	int rc = smoke_run(e->rel, t, nt, version, timeout, NULL, &rep, err);
	if (rc == 0 && rep.failed) {
		ml_err_set(err, ML_EXIT_CHECK_FAILED, "smoke failed: %s",
			   smoke_first_failure(&rep));
		rc = 1;
	}
	if (rc >= 0)
		smoke_report_release(&rep);
	free(preview);
	free(t);
	return rc;
}

static void analysis_line(const char *line, void *payload)
{
	(void)payload;
	if (out_live())
		fputs("\033[K", stderr); /* over a live progress line */
	out_progress("%s", line);
}

/* A canary step's pause: analysis of canary vs stable (core/analysis). */
static int op_analyse(void *ctx, const struct plan_step *s, long long until_ms,
		      struct ml_err *err)
{
	struct engine_real *e = ctx;
	const char *model = e->target ? e->target->model
				      : e->rel ? e->rel->model : NULL;
	const char *version = e->target ? e->target->version
					: e->rel ? e->rel->version : NULL;
	if (!model || !version)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "canary analysis: no target release");
	if (s->pause_ms <= 0)
		return 0; /* a step without a pause is not watched */
	if (!e->an) {
		e->an = analysis_new(e->env, e->rel, e->rel_analysis, model,
				     version);
		/* said once, as the analysis starts: the release's block
		 * may only tighten the environment's */
		const struct analysis_held *h = analysis_held_of(e->an);
		if (h->n && out_live())
			fputs("\033[K", stderr); /* over a live progress line */
		for (size_t i = 0; i < h->n; i++)
			out_warn("%s", h->line[i]);
		if (e->prior_analysis)
			analysis_set_prior(e->an, e->prior_analysis);
		analysis_set_stop(e->an, e->stop);
		analysis_set_on_interval(e->an, e->on_interval,
					 e->on_interval_payload);
	}
	/* the canary step's number: analyse and pause steps up to this one */
	int number = 0;
	for (size_t i = 0; e->plan && i < e->plan->n_steps; i++) {
		const struct plan_step *p = &e->plan->steps[i];
		number += p->kind == STEP_ANALYSE || p->kind == STEP_PAUSE;
		if (p == s)
			break;
	}
	/* a deadline that cuts the pause short: its end is not judged */
	bool whole = until_ms >= (long long)now_ms() + s->pause_ms - 100;
	return analysis_run_step(e->an, s->nodes, s->n_nodes, s->canary_percent,
				 number, until_ms, whole, analysis_line, NULL, err);
}

/* promote's gates against the nodes the release was just loaded on: every
 * gate runs and is reported, then one "no" fails the step. */
static int op_gates(void *ctx, const struct plan_step *s, struct ml_err *err)
{
	struct engine_real *e = ctx;
	struct engine_gates *g = e->gates;
	if (!g || g->n == 0)
		return 0;
	if (!e->rel)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "gates need the release manifest");
	struct gate_target t = { 0 };
	t.nodes = (const struct cfg_node **)node_ptrs(e->env, s->nodes, s->n_nodes);
	t.n_nodes = s->n_nodes;
	if (g->via_preview && e->env->preview.set)
		t.router_url = xasprintf("http://%s:%d", e->env->preview.host,
					 e->env->preview.port);
	else if (g->via_router && e->env->listen.set)
		t.router_url = xasprintf("http://%s:%d", e->env->listen.host,
					 e->env->listen.port);
	struct gate_ctx gc = { e->env, e->rel, g->lim, &t, ".", g->report_path };
	char failed[512] = "";
	size_t fk = 0;
	for (size_t i = 0; i < g->n; i++) {
		out_progress("gates: %s ...", cfg_gate_name(g->order[i]));
		gate_run(g->order[i], &gc, &g->results[i]);
		g->n_run = i + 1;
		const struct gate_result *r = &g->results[i];
		out_progress("gates: %s %s (%.2fs)%s%s", cfg_gate_name(g->order[i]),
			     r->passed ? "passed" : "FAILED", r->ms / 1000,
			     r->summary ? ": " : "", r->summary ? r->summary : "");
		if (!r->passed && fk < sizeof(failed)) {
			char why[200];
			int w = snprintf(failed + fk, sizeof(failed) - fk, "%s%s (%s)",
					 fk ? ", " : "", cfg_gate_name(g->order[i]),
					 gate_first_failure(r, why, sizeof(why)));
			if (w > 0)
				fk += (size_t)w;
		}
	}
	free(t.router_url);
	free(t.nodes);
	if (fk) {
		ml_err_set(err, ML_EXIT_CHECK_FAILED, "gates failed: %s", failed);
		return 1;
	}
	return 0;
}

void engine_real_release(struct engine_real *e)
{
	analysis_free(e->an);
	e->an = NULL;
}

void engine_real_ops(struct engine_real *e, struct engine_ops *ops)
{
	ops->ctx = e;
	ops->load = op_load;
	ops->unload = op_unload;
	ops->wait_ready = op_wait_ready;
	ops->set_live = op_set_live;
	ops->set_preview = op_set_preview;
	ops->smoke = op_smoke;
	ops->analyse = op_analyse;
	ops->gates = op_gates;
}
