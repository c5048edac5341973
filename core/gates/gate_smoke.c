/* gate_smoke.c — the smoke gate, fast and shallow: every node live and
 * the release ready on it, then the smoke cases (the environment's and the
 * release's) on each node and through the router, all at once, each answer
 * within checks.smoke.timeout, from the release's version and within its
 * `expect` bounds. The requests themselves are core/smoke's. */
#include "gates/gate_internal.h"

#include "node.h"
#include "smoke.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t probes(const struct gate_ctx *c, struct gate_result *r)
{
	const struct gate_target *t = c->target;
	static const enum node_op ops[] = { NODE_OP_LIVE, NODE_OP_VERSION_READY };
	static const char *const names[] = { "live", "ready" };
	bool *good = xcalloc(t->n_nodes + 1, sizeof(bool));
	for (size_t i = 0; i < t->n_nodes; i++)
		good[i] = true;
	for (size_t k = 0; k < 2; k++) {
		struct node_call call = NODE_CALL_INIT;
		call.op = ops[k];
		call.model = c->rel->model;
		call.version = c->rel->version;
		call.rel = c->rel;
		call.timeout_ms = (long)c->lim->smoke_timeout_ms;
		struct node_result *res = xcalloc(t->n_nodes + 1, sizeof(*res));
		node_run_many(c->env, t->nodes, t->n_nodes, &call, NULL, res);
		for (size_t i = 0; i < t->n_nodes; i++) {
			char name[200];
			snprintf(name, sizeof(name), "%s %s", names[k],
				 t->nodes[i]->name);
			const struct node_result *x = &res[i];
			const char *why = NULL;
			if (x->rc < 0)
				why = x->err.msg;
			else if (!x->yes)
				why = x->err.msg[0] ? x->err.msg : "said no";
			gate_add_check(r, name, x->elapsed_ms, why);
			if (why)
				good[i] = false;
		}
		node_results_release(res, t->n_nodes);
		free(res);
	}
	size_t ok = 0;
	for (size_t i = 0; i < t->n_nodes; i++)
		ok += good[i];
	free(good);
	return ok;
}

void gate_smoke_run(const struct gate_ctx *c, struct gate_result *out)
{
	gate_result_init(out, CFG_GATE_SMOKE);
	double t0 = now_ms();
	const struct gate_target *t = c->target;
	const struct gate_limits *l = c->lim;
	size_t ok_nodes = probes(c, out);

	size_t n_cases = l->n_smoke_env + l->n_smoke_rel;
	size_t n_targets = 0, failed = 0, retried = 0;
	double slowest = 0, run_ms = 0;
	if (n_cases == 0) {
		gate_add_skip(out, "smoke cases",
			      "the release has no smoke cases (checks.smoke)");
	} else {
		/* the release with every smoke case, the environment's first */
		struct cfg_smoke_case *cases = xcalloc(n_cases, sizeof(*cases));
		for (size_t i = 0; i < l->n_smoke_env; i++)
			cases[i] = l->smoke_env[i];
		for (size_t i = 0; i < l->n_smoke_rel; i++)
			cases[l->n_smoke_env + i] = l->smoke_rel[i];
		struct cfg_release rel = *c->rel;
		rel.checks.smoke.cases = cases;
		rel.checks.smoke.n_cases = n_cases;

		struct smoke_target *tg = xcalloc(t->n_nodes + 1, sizeof(*tg));
		for (size_t i = 0; i < t->n_nodes; i++) {
			tg[n_targets].name = t->nodes[i]->name;
			tg[n_targets++].url = t->nodes[i]->url;
		}
		if (t->router_url) {
			tg[n_targets].name = "router";
			tg[n_targets++].url = t->router_url;
		}
		struct smoke_report rep;
		struct ml_err err = ML_ERR_INIT;
		if (smoke_run_retry(&rel, tg, n_targets, c->rel->version,
				    l->smoke_timeout_ms, gate_token(c->env), 1,
				    &rep, &err) < 0) {
			gate_add_check(out, "smoke cases", 0, err.msg);
		} else {
			run_ms = rep.ms;
			for (size_t i = 0; i < rep.n; i++) {
				const struct smoke_check *k = &rep.checks[i];
				char name[200];
				snprintf(name, sizeof(name), "case %zu on %s",
					 k->case_index + 1, k->target);
				gate_add_check(out, name, k->ms, k->reason);
				if (k->ms > slowest)
					slowest = k->ms;
				retried += k->attempts > 1;
			}
			failed = rep.failed;
			smoke_report_release(&rep);
		}
		ml_err_release(&err);
		free(tg);
		free(cases);
	}
	if (!t->router_url && t->router_note)
		gate_add_skip(out, "cases through the router", t->router_note);
	out->ms = now_ms() - t0;

	char tm[32], sl[32], to[32];
	gate_fmt_ms(out->ms, tm, sizeof(tm));
	gate_fmt_ms(slowest, sl, sizeof(sl));
	gate_fmt_ms((double)l->smoke_timeout_ms, to, sizeof(to));
	size_t n_checks = n_cases * n_targets;
	gate_set_summary(out, "%zu/%zu nodes live and ready; cases %zu/%zu "
			      "(%zu case%s on %zu node%s%s), slowest %s "
			      "(timeout %s) in %s",
			 ok_nodes, t->n_nodes, n_checks - failed, n_checks,
			 n_cases, n_cases == 1 ? "" : "s", t->n_nodes,
			 t->n_nodes == 1 ? "" : "s",
			 t->router_url ? " and the router" : "", sl, to, tm);
	json_t *f = out->figures;
	json_object_set_new(f, "nodes", json_integer((json_int_t)t->n_nodes));
	json_object_set_new(f, "nodes_ok", json_integer((json_int_t)ok_nodes));
	json_object_set_new(f, "cases", json_integer((json_int_t)n_cases));
	json_object_set_new(f, "targets", json_integer((json_int_t)n_targets));
	json_object_set_new(f, "failed", json_integer((json_int_t)failed));
	json_object_set_new(f, "retried", json_integer((json_int_t)retried));
	json_object_set_new(f, "slowest_ms", json_real(slowest));
	json_object_set_new(f, "cases_ms", json_real(run_ms));
	json_object_set_new(f, "timeout_ms", json_integer(l->smoke_timeout_ms));
}
