/* test_config.c — the embedded default (envs/, pipelines/, examples/eta/)
 * loads into exactly the values its files say, key by key, and passes the
 * cross-document checks. Run from the repository root (as `make unit`
 * does). Error classes are in test_config_errors.c and its siblings. */
#include "cfgtest.h"
#include "config.h"
#include "project.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-12

static struct cfg_env *load_env(const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *env = NULL;
	cr_assert_eq(cfg_env_load(path, &env, &d), 0, "%s:%s", path, cfgt_dump(&d));
	cr_assert_eq(d.len, 0);
	ml_diags_release(&d);
	return env;
}

static struct cfg_release *load_release(const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = NULL;
	cr_assert_eq(cfg_release_load(path, &r, &d), 0, "%s:%s", path,
		     cfgt_dump(&d));
	cr_assert_eq(d.len, 0);
	ml_diags_release(&d);
	return r;
}

static struct cfg_model *load_model(const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	cr_assert_eq(cfg_model_load(path, &m, &d), 0, "%s:%s", path, cfgt_dump(&d));
	ml_diags_release(&d);
	return m;
}

static void assert_node(const struct cfg_node *n, const char *name, int port,
			unsigned line)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cr_assert_str_eq(n->name, name);
	cr_assert_str_eq(n->url, url);
	cr_assert_str_eq(n->host, "127.0.0.1");
	cr_assert_eq(n->port, port);
	cr_assert_not(n->tls);
	cr_assert_eq(n->pos.line, line);
	cr_assert_eq(n->name_pos.line, line);
	cr_assert_eq(n->url_pos.line, line);
}

static void assert_no_analysis(const struct cfg_strategy *s)
{
	cr_assert_not(s->analysis.set);
	cr_assert_eq(s->n_steps, 0);
	cr_assert_null(s->steps);
	cr_assert_eq(s->n_canary_nodes, 0);
	cr_assert_not(s->has_pools);
	cr_assert_eq(s->n_blue + s->n_green, 0);
}

static void assert_checks_unset(const struct cfg_cmd_check *c)
{
	cr_assert_not(c->set);
	cr_assert_null(c->run);
	cr_assert_null(c->junit);
	cr_assert_eq(c->timeout_ms, 0);
}

Test(cfg_default, dev_environment_has_exactly_its_values)
{
	struct cfg_env *e = load_env("envs/dev.yaml");
	cr_assert_str_eq(e->file, "envs/dev.yaml");
	cr_assert_str_eq(e->name, "dev");
	cr_assert_eq(e->name_pos.line, 4);
	cr_assert_eq(e->name_pos.col, 7);
	cr_assert_eq(e->tier, CFG_TIER_DEV);
	cr_assert_null(e->promotes_from);
	cr_assert_eq(e->approval, CFG_APPROVAL_NONE);
	cr_assert(e->managed);
	cr_assert_eq(e->node_driver, CFG_NODE_V2);
	cr_assert_null(e->exec.load);
	cr_assert_null(e->token_env);
	cr_assert_eq(e->n_nodes, 1);
	assert_node(&e->nodes[0], "dev-1", 8101, 10);
	cr_assert_eq(e->nodes[0].name_pos.col, 13);
	cr_assert_eq(e->nodes[0].url_pos.col, 25);
	cr_assert_eq(e->router_driver, CFG_ROUTER_NONE);
	cr_assert_not(e->listen.set);
	cr_assert_not(e->preview.set);
	cr_assert(e->strategy.set);
	cr_assert_eq(e->strategy.type, CFG_STRAT_RECREATE);
	cr_assert_eq(e->strategy.type_pos.line, 13);
	cr_assert_eq(e->strategy.type_pos.col, 9);
	assert_no_analysis(&e->strategy);
	cr_assert_not(e->strategy.max_surge.set);
	cr_assert_not(e->strategy.max_unavailable.set);
	cr_assert_eq(e->n_gates, 0);
	assert_checks_unset(&e->checks.unit);
	assert_checks_unset(&e->checks.integration);
	cr_assert_not(e->checks.smoke.set);
	cr_assert_not(e->checks.load.set);
	cr_assert_not(e->checks.acceptance.set);
	cfg_env_free(e);
}

Test(cfg_default, test_environment_has_exactly_its_values)
{
	struct cfg_env *e = load_env("envs/test.yaml");
	cr_assert_str_eq(e->name, "test");
	cr_assert_eq(e->tier, CFG_TIER_TEST);
	cr_assert_str_eq(e->promotes_from, "dev");
	cr_assert_eq(e->promotes_from_pos.line, 6);
	cr_assert_eq(e->promotes_from_pos.col, 16);
	cr_assert_eq(e->approval, CFG_APPROVAL_NONE);
	cr_assert(e->managed);
	cr_assert_eq(e->node_driver, CFG_NODE_V2);
	cr_assert_null(e->token_env);
	cr_assert_eq(e->n_nodes, 1);
	assert_node(&e->nodes[0], "test-1", 8201, 11);
	cr_assert_eq(e->router_driver, CFG_ROUTER_NONE);
	cr_assert_not(e->listen.set);
	cr_assert_eq(e->strategy.type, CFG_STRAT_RECREATE);
	assert_no_analysis(&e->strategy);
	cr_assert_eq(e->n_gates, 2);
	cr_assert_eq(e->gates[0], CFG_GATE_UNIT);
	cr_assert_eq(e->gates[1], CFG_GATE_INTEGRATION);
	cr_assert_eq(e->gate_pos[1].line, 15);
	cr_assert_eq(e->gate_pos[1].col, 15);
	cr_assert(e->checks.unit.set);
	cr_assert_null(e->checks.unit.run);
	cr_assert_null(e->checks.unit.junit);
	cr_assert_eq(e->checks.unit.timeout_ms, 120000);
	cr_assert(e->checks.integration.set);
	cr_assert_null(e->checks.integration.run);
	cr_assert_eq(e->checks.integration.timeout_ms, 60000);
	cr_assert_not(e->checks.smoke.set);
	cr_assert_not(e->checks.load.set);
	cr_assert_not(e->checks.acceptance.set);
	cfg_env_free(e);
}

Test(cfg_default, staging_environment_has_exactly_its_values)
{
	struct cfg_env *e = load_env("envs/staging.yaml");
	cr_assert_str_eq(e->name, "staging");
	cr_assert_eq(e->tier, CFG_TIER_STAGING);
	cr_assert_str_eq(e->promotes_from, "test");
	cr_assert_eq(e->approval, CFG_APPROVAL_NONE);
	cr_assert(e->managed);
	cr_assert_eq(e->node_driver, CFG_NODE_V2);
	cr_assert_null(e->token_env);
	cr_assert_eq(e->n_nodes, 2);
	assert_node(&e->nodes[0], "staging-1", 8301, 13);
	assert_node(&e->nodes[1], "staging-2", 8302, 14);
	cr_assert_eq(e->router_driver, CFG_ROUTER_NGINX);
	cr_assert(e->listen.set);
	cr_assert_str_eq(e->listen.host, "127.0.0.1");
	cr_assert_eq(e->listen.port, 8300);
	cr_assert_eq(e->listen.pos.line, 15);
	cr_assert_eq(e->listen.pos.col, 34);
	cr_assert_not(e->preview.set);
	cr_assert_null(e->preview.host);
	/* strategy: rolling, 25% / 25% */
	const struct cfg_strategy *s = &e->strategy;
	cr_assert(s->set);
	cr_assert_eq(s->type, CFG_STRAT_ROLLING);
	assert_no_analysis(s);
	cr_assert(s->max_surge.set);
	cr_assert(s->max_surge.percent);
	cr_assert_float_eq(s->max_surge.value, 0.25, EPS);
	cr_assert_eq(s->max_surge.pos.line, 18);
	cr_assert_eq(s->max_surge.pos.col, 14);
	cr_assert(s->max_unavailable.set);
	cr_assert(s->max_unavailable.percent);
	cr_assert_float_eq(s->max_unavailable.value, 0.25, EPS);
	cr_assert_not(s->scale_down_first);
	cr_assert_eq(e->n_gates, 3);
	cr_assert_eq(e->gates[0], CFG_GATE_SMOKE);
	cr_assert_eq(e->gates[1], CFG_GATE_LOAD);
	cr_assert_eq(e->gates[2], CFG_GATE_ACCEPTANCE);
	/* floors */
	const struct cfg_checks *c = &e->checks;
	assert_checks_unset(&c->unit);
	assert_checks_unset(&c->integration);
	cr_assert(c->smoke.set);
	cr_assert_eq(c->smoke.timeout_ms, 2000);
	cr_assert_eq(c->smoke.n_cases, 0);
	cr_assert(c->load.set);
	cr_assert_float_eq(c->load.rate, 100, EPS);
	cr_assert_eq(c->load.duration_ms, 5000);
	cr_assert_eq(c->load.max_p99_ms, 250);
	cr_assert_float_eq(c->load.max_error_rate, 0.01, EPS);
	cr_assert_eq(c->load.connections, 0);
	cr_assert(c->acceptance.set);
	cr_assert_null(c->acceptance.cases);
	cr_assert_null(c->acceptance.cases_raw);
	cr_assert(c->acceptance.has_metric);
	cr_assert_eq(c->acceptance.metric, CFG_M_MAPE);
	cr_assert(c->acceptance.has_max);
	cr_assert_float_eq(c->acceptance.max, 0.15, EPS);
	cr_assert_not(c->acceptance.has_min);
	cr_assert_eq(c->acceptance.batch, 0);
	cr_assert_eq(c->acceptance.concurrency, 0);
	cfg_env_free(e);
}

Test(cfg_default, prod_environment_has_exactly_its_values)
{
	struct cfg_env *e = load_env("envs/prod.yaml");
	cr_assert_str_eq(e->name, "prod");
	cr_assert_eq(e->tier, CFG_TIER_PROD);
	cr_assert_str_eq(e->promotes_from, "staging");
	cr_assert_eq(e->approval, CFG_APPROVAL_MANUAL);
	cr_assert(e->managed);
	cr_assert_eq(e->node_driver, CFG_NODE_V2);
	cr_assert_str_eq(e->token_env, "MLCTL_PROD_TOKEN");
	cr_assert_eq(e->n_nodes, 4);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "prod-%d", i + 1);
		assert_node(&e->nodes[i], name, 8411 + i, 14 + (unsigned)i);
		cr_assert_eq(e->nodes[i].name_pos.col, 13);
		cr_assert_eq(e->nodes[i].url_pos.col, 26);
	}
	cr_assert_eq(e->router_driver, CFG_ROUTER_HAPROXY);
	cr_assert(e->listen.set);
	cr_assert_str_eq(e->listen.host, "127.0.0.1");
	cr_assert_eq(e->listen.port, 8410);
	cr_assert(e->preview.set);
	cr_assert_str_eq(e->preview.host, "127.0.0.1");
	cr_assert_eq(e->preview.port, 8419);
	cr_assert_eq(e->preview.pos.line, 18);
	cr_assert_eq(e->preview.pos.col, 63);
	/* strategy: canary, two steps, analysis, blue/green pools */
	const struct cfg_strategy *s = &e->strategy;
	cr_assert(s->set);
	cr_assert_eq(s->type, CFG_STRAT_CANARY);
	cr_assert_eq(s->n_steps, 2);
	cr_assert_eq(s->steps[0].weight, 10);
	cr_assert_eq(s->steps[0].pause_ms, 5000);
	cr_assert_not(s->steps[0].manual);
	cr_assert_eq(s->steps[0].pos.line, 21);
	cr_assert_eq(s->steps[0].pos.col, 12);
	cr_assert_eq(s->steps[1].weight, 50);
	cr_assert_eq(s->steps[1].pause_ms, 5000);
	cr_assert_not(s->steps[1].manual);
	cr_assert_eq(s->steps[1].pos.col, 39);
	const struct cfg_analysis *a = &s->analysis;
	cr_assert(a->set);
	cr_assert_eq(a->interval_ms, 1000);
	cr_assert_float_eq(a->max_error_rate, 0.01, EPS);
	cr_assert_lt(a->max_error_rate_delta, 0);
	cr_assert_eq(a->max_p99_ms, 250);
	cr_assert_lt(a->max_p99_ratio, 0);
	cr_assert_eq(a->min_requests, -1);
	cr_assert_not(a->has_no_data);
	cr_assert_eq(a->max_no_data, -1);
	cr_assert_eq(a->failure_limit, -1);
	cr_assert_float_eq(a->traffic_rate, 500, EPS);
	cr_assert(s->has_pools);
	cr_assert_eq(s->n_blue, 2);
	cr_assert_str_eq(s->blue[0].name, "prod-1");
	cr_assert_str_eq(s->blue[1].name, "prod-2");
	cr_assert_eq(s->n_green, 2);
	cr_assert_str_eq(s->green[0].name, "prod-3");
	cr_assert_str_eq(s->green[1].name, "prod-4");
	cr_assert_eq(s->green[1].pos.line, 23);
	cr_assert_eq(s->green[1].pos.col, 52);
	cr_assert_eq(s->n_canary_nodes, 0);
	cr_assert_not(s->max_surge.set);
	cr_assert_not(s->max_unavailable.set);
	cr_assert_eq(e->n_gates, 1);
	cr_assert_eq(e->gates[0], CFG_GATE_SMOKE);
	const struct cfg_checks *c = &e->checks;
	assert_checks_unset(&c->unit);
	assert_checks_unset(&c->integration);
	cr_assert(c->smoke.set);
	cr_assert_eq(c->smoke.timeout_ms, 2000);
	cr_assert_eq(c->smoke.n_cases, 0);
	cr_assert_not(c->load.set);
	cr_assert_eq(c->load.max_p99_ms, -1);
	cr_assert_lt(c->load.max_error_rate, 0);
	cr_assert_not(c->acceptance.set);
	cr_assert_not_null(cfg_env_node(e, "prod-3"));
	cr_assert_null(cfg_env_node(e, "prod-5"));
	cfg_env_free(e);
}

Test(cfg_default, default_pipeline_runs_dev_test_staging_prod)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_pipeline *p = NULL;
	cr_assert_eq(cfg_pipeline_load("pipelines/default.yaml", &p, &d), 0, "%s",
		     cfgt_dump(&d));
	cr_assert_str_eq(p->file, "pipelines/default.yaml");
	cr_assert_str_eq(p->name, "default");
	cr_assert_eq(p->n_stages, 4);
	static const char *const want[] = { "dev", "test", "staging", "prod" };
	static const unsigned cols[] = { 18, 32, 47, 65 };
	for (size_t i = 0; i < 4; i++) {
		cr_assert_str_eq(p->stages[i].name, want[i]);
		cr_assert_eq(p->stages[i].pos.line, 5);
		cr_assert_eq(p->stages[i].pos.col, cols[i], "stage %zu col %u", i,
			     p->stages[i].pos.col);
	}
	cfg_pipeline_free(p);
}

/* The three manifests share one checks block and one contract. */
static void assert_eta_release(const struct cfg_release *r, const char *version,
			       const char *sha)
{
	char file[64], art[64], uri[64];
	snprintf(file, sizeof(file), "examples/eta/release-%s.yaml", version);
	snprintf(uri, sizeof(uri), "models/eta-%s.yaml", version);
	snprintf(art, sizeof(art), "examples/eta/models/eta-%s.yaml", version);
	cr_assert_str_eq(r->file, file);
	cr_assert_str_eq(r->dir, "examples/eta");
	cr_assert_str_eq(r->model, "eta");
	cr_assert_str_eq(r->version, version);
	cr_assert_eq(r->serving_mode, CFG_MODE_REALTIME);
	cr_assert_str_eq(r->artifact_uri, uri);
	cr_assert_str_eq(r->artifact_path, art);
	cr_assert_not(r->artifact_remote);
	cr_assert_str_eq(r->sha256, sha);
	cr_assert_eq(r->artifact_pos.line, 7);
	cr_assert_eq(r->artifact_pos.col, 11);
	cr_assert_eq(r->uri_pos.line, 7);
	cr_assert_eq(r->uri_pos.col, 18);
	cr_assert_eq(r->sha_pos.line, 7);
	cr_assert_eq(r->sha_pos.col, 49);
	/* expectations */
	const struct cfg_expectations *e = &r->expectations;
	cr_assert_eq(e->n_inputs, 2);
	static const char *const in[] = { "v", "d" };
	for (size_t i = 0; i < 2; i++) {
		const struct cfg_field *f = &e->inputs[i];
		cr_assert_str_eq(f->name, in[i]);
		cr_assert_eq(f->type, CFG_T_NUMBER);
		cr_assert(f->has_xmin);
		cr_assert_float_eq(f->xmin, 0, EPS);
		cr_assert_not(f->has_min);
		cr_assert_not(f->has_max);
		cr_assert_not(f->has_xmax);
		cr_assert_not(f->optional);
		cr_assert_eq(f->pos.line, 10 + (unsigned)i);
		cr_assert_eq(f->pos.col, 5);
	}
	cr_assert_eq(e->n_outputs, 1);
	cr_assert_str_eq(e->outputs[0].name, "eta");
	cr_assert_eq(e->outputs[0].type, CFG_T_NUMBER);
	cr_assert(e->outputs[0].has_min);
	cr_assert_float_eq(e->outputs[0].min, 0, EPS);
	cr_assert_not(e->outputs[0].has_max);
	cr_assert_not(e->outputs[0].has_xmin);
	cr_assert_not(e->outputs[0].has_xmax);
	/* checks */
	const struct cfg_checks *c = &r->checks;
	cr_assert(c->unit.set);
	cr_assert_str_eq(c->unit.run, "make -C examples/eta unit");
	cr_assert_str_eq(c->unit.junit, "examples/eta/build/unit.xml");
	cr_assert_eq(c->unit.timeout_ms, 0);
	assert_checks_unset(&c->integration);
	cr_assert(c->smoke.set);
	cr_assert_eq(c->smoke.timeout_ms, 0);
	cr_assert_eq(c->smoke.n_cases, 1);
	const struct cfg_smoke_case *sc = &c->smoke.cases[0];
	cr_assert_eq(sc->n_inputs, 2);
	cr_assert_str_eq(sc->inputs[0].name, "v");
	cr_assert_eq(sc->inputs[0].kind, CFG_V_NUMBER);
	cr_assert_float_eq(sc->inputs[0].num, 50, EPS);
	cr_assert_eq(sc->inputs[0].pos.line, 16);
	cr_assert_eq(sc->inputs[0].pos.col, 32);
	cr_assert_str_eq(sc->inputs[1].name, "d");
	cr_assert_eq(sc->inputs[1].kind, CFG_V_NUMBER);
	cr_assert_float_eq(sc->inputs[1].num, 10, EPS);
	cr_assert_eq(sc->n_expects, 1);
	cr_assert_str_eq(sc->expects[0].name, "eta");
	cr_assert(sc->expects[0].has_min);
	cr_assert_float_eq(sc->expects[0].min, 0.05, EPS);
	cr_assert(sc->expects[0].has_max);
	cr_assert_float_eq(sc->expects[0].max, 1.0, EPS);
	cr_assert_not(sc->expects[0].has_equals);
	cr_assert(c->load.set);
	cr_assert_float_eq(c->load.rate, 200, EPS);
	cr_assert_eq(c->load.duration_ms, 5000);
	cr_assert_eq(c->load.max_p99_ms, 50);
	cr_assert_float_eq(c->load.max_error_rate, 0.01, EPS);
	cr_assert_eq(c->load.connections, 0);
	cr_assert(c->acceptance.set);
	cr_assert_str_eq(c->acceptance.cases_raw, "cases.csv");
	cr_assert_str_eq(c->acceptance.cases, "examples/eta/cases.csv");
	cr_assert_eq(c->acceptance.cases_pos.line, 18);
	cr_assert_eq(c->acceptance.cases_pos.col, 25);
	cr_assert(c->acceptance.has_metric);
	cr_assert_eq(c->acceptance.metric, CFG_M_MAPE);
	cr_assert(c->acceptance.has_max);
	cr_assert_float_eq(c->acceptance.max, 0.10, EPS);
	cr_assert_not(c->acceptance.has_min);
	cr_assert_eq(c->acceptance.batch, 0);
	cr_assert_eq(c->acceptance.concurrency, 0);
}

Test(cfg_default, release_1_0_0_has_exactly_its_values)
{
	struct cfg_release *r = load_release("examples/eta/release-1.0.0.yaml");
	assert_eta_release(r, "1.0.0",
			   "543170690d2c9f872344a5e650f1fcd51dfec8a0e6882a6dc3602621eed226c8");
	cfg_release_free(r);
}

Test(cfg_default, release_2_0_0_has_exactly_its_values)
{
	struct cfg_release *r = load_release("examples/eta/release-2.0.0.yaml");
	assert_eta_release(r, "2.0.0",
			   "e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a0");
	cfg_release_free(r);
}

Test(cfg_default, release_2_1_0_has_exactly_its_values)
{
	struct cfg_release *r = load_release("examples/eta/release-2.1.0.yaml");
	assert_eta_release(r, "2.1.0",
			   "c184147a3a244e2dedb732fb8a9673349b0dc07a927db0247c78fac1be208575");
	cfg_release_free(r);
}

Test(cfg_default, releases_expectations_serialise_to_the_load_request_json)
{
	struct cfg_release *r = load_release("examples/eta/release-2.0.0.yaml");
	char *j = cfg_expectations_to_json(&r->expectations);
	cr_assert_str_eq(j, "{\"inputs\":{\"v\":{\"type\":\"number\",\"exclusive_min\":0.0},"
			    "\"d\":{\"type\":\"number\",\"exclusive_min\":0.0}},"
			    "\"outputs\":{\"eta\":{\"type\":\"number\",\"min\":0.0}}}");
	free(j);
	cfg_release_free(r);
}

static void assert_ratio_term(const struct cfg_term *t, double coef)
{
	cr_assert_eq(t->kind, CFG_TERM_RATIO);
	cr_assert_float_eq(t->coef, coef, EPS);
	cr_assert_str_eq(t->a, "d");
	cr_assert_str_eq(t->b, "v");
	cr_assert_eq(t->ia, -1);
	cr_assert_eq(t->ib, -1);
}

static void assert_model_header(const struct cfg_model *m, const char *version)
{
	cr_assert_str_eq(m->name, "eta");
	cr_assert_str_eq(m->version, version);
	cr_assert_str_eq(m->output, "eta");
	cr_assert_eq(m->n_inputs, 2);
	cr_assert_str_eq(m->inputs[0], "d");
	cr_assert_str_eq(m->inputs[1], "v");
}

Test(cfg_default, model_1_0_0_is_d_over_v)
{
	struct cfg_model *m = load_model("examples/eta/models/eta-1.0.0.yaml");
	assert_model_header(m, "1.0.0");
	cr_assert_eq(m->n_terms, 1);
	assert_ratio_term(&m->terms[0], 1.0);
	cr_assert_eq(m->terms[0].pos.line, 10);
	cr_assert_eq(m->terms[0].pos.col, 5);
	cr_assert_eq(m->faults.latency_ms, 0);
	cr_assert_float_eq(m->faults.error_rate, 0, EPS);
	cr_assert_eq(m->faults.stall_every_ms, 0);
	cr_assert_eq(m->faults.stall_for_ms, 0);
	cr_assert_eq(m->faults.bad_input_status, 0);
	cfg_model_free(m);
}

Test(cfg_default, model_2_0_0_is_1_07_d_over_v_plus_0_05)
{
	struct cfg_model *m = load_model("examples/eta/models/eta-2.0.0.yaml");
	assert_model_header(m, "2.0.0");
	cr_assert_eq(m->n_terms, 2);
	assert_ratio_term(&m->terms[0], 1.07);
	cr_assert_eq(m->terms[1].kind, CFG_TERM_CONST);
	cr_assert_float_eq(m->terms[1].coef, 0.05, EPS);
	cr_assert_null(m->terms[1].a);
	cr_assert_null(m->terms[1].b);
	cr_assert_eq(m->faults.latency_ms, 0);
	cr_assert_float_eq(m->faults.error_rate, 0, EPS);
	/* bound to (v, d): 1.07 * 10 / 50 + 0.05 */
	char *names[] = { "v", "d" };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(cfg_model_bind(m, names, 2, &err), 0);
	double row[] = { 50, 10 };
	cr_assert_float_eq(cfg_model_eval(m, row), 1.07 * 10 / 50 + 0.05, 1e-12);
	cfg_model_free(m);
}

Test(cfg_default, model_2_1_0_is_biased_with_faults)
{
	struct cfg_model *m = load_model("examples/eta/models/eta-2.1.0.yaml");
	assert_model_header(m, "2.1.0");
	cr_assert_eq(m->n_terms, 1);
	assert_ratio_term(&m->terms[0], 0.6);
	cr_assert_eq(m->faults.latency_ms, 80);
	cr_assert_float_eq(m->faults.error_rate, 0.02, EPS);
	cr_assert_eq(m->faults.stall_every_ms, 0);
	cr_assert_eq(m->faults.stall_for_ms, 0);
	cr_assert_eq(m->faults.bad_input_status, 0);
	cfg_model_free(m);
}

Test(cfg_default, every_document_has_the_kind_it_declares)
{
	cr_assert_eq(cfg_peek_kind("envs/prod.yaml"), CFG_KIND_ENVIRONMENT);
	cr_assert_eq(cfg_peek_kind("pipelines/default.yaml"), CFG_KIND_PIPELINE);
	cr_assert_eq(cfg_peek_kind("examples/eta/release-2.0.0.yaml"),
		     CFG_KIND_RELEASE);
	cr_assert_eq(cfg_peek_kind("examples/eta/models/eta-2.0.0.yaml"),
		     CFG_KIND_MODEL);
	cr_assert_eq(cfg_peek_kind("examples/eta/cases.csv"), CFG_KIND_UNKNOWN);
	cr_assert_eq(cfg_peek_kind("no/such/file.yaml"), CFG_KIND_UNKNOWN);
	char *n = cfg_peek_name("envs/staging.yaml");
	cr_assert_str_eq(n, "staging");
	free(n);
}

Test(cfg_default, environments_and_pipeline_pass_the_cross_checks)
{
	static const char *const files[] = { "envs/dev.yaml", "envs/prod.yaml",
					     "envs/staging.yaml", "envs/test.yaml" };
	struct cfg_env *envs[4];
	for (size_t i = 0; i < 4; i++)
		envs[i] = load_env(files[i]);
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_pipeline *p = NULL;
	cr_assert_eq(cfg_pipeline_load("pipelines/default.yaml", &p, &d), 0);
	project_check(envs, 4, &p, 1, NULL, 0, &d);
	cr_assert_eq(d.len, 0, "%s", cfgt_dump(&d));
	for (size_t i = 0; i < 4; i++)
		cfg_env_free(envs[i]);
	cfg_pipeline_free(p);
}

Test(cfg_default, project_load_finds_the_four_environments)
{
	struct project p;
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(project_load(".", &p, &d), 0, "%s", cfgt_dump(&d));
	cr_assert_eq(p.n_envs, 4);
	cr_assert_str_eq(p.envs[0]->name, "dev");
	cr_assert_str_eq(p.envs[1]->name, "prod");
	cr_assert_str_eq(p.envs[2]->name, "staging");
	cr_assert_str_eq(p.envs[3]->name, "test");
	cr_assert_eq(project_env(&p, "staging"), p.envs[2]);
	cr_assert_null(project_env(&p, "qa"));
	project_release(&p);
}

Test(cfg_default, all_embedded_ports_are_distinct_and_below_32768)
{
	static const char *const files[] = { "envs/dev.yaml", "envs/prod.yaml",
					     "envs/staging.yaml", "envs/test.yaml" };
	int ports[64];
	size_t n = 0;
	for (size_t i = 0; i < 4; i++) {
		struct cfg_env *e = load_env(files[i]);
		for (size_t k = 0; k < e->n_nodes; k++)
			ports[n++] = e->nodes[k].port;
		if (e->listen.set)
			ports[n++] = e->listen.port;
		if (e->preview.set)
			ports[n++] = e->preview.port;
		cfg_env_free(e);
	}
	cr_assert_eq(n, 11);
	for (size_t i = 0; i < n; i++) {
		cr_assert_lt(ports[i], 32768);
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(ports[i], ports[j]);
	}
}
