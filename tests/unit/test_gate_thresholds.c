/* test_gate_thresholds.c — gate_limits_merge: the environment's checks are
 * floors, a release may tighten every threshold and loosen none; defaults
 * by serving mode; acceptance bounds on different metrics both hold; the
 * test's intensity is the larger of the two. */
#include "cfgtest.h"
#include "gates/gate.h"

#include <criterion/criterion.h>
#include <string.h>

static void checks_init(struct cfg_checks *c)
{
	memset(c, 0, sizeof(*c));
	c->load.max_p99_ms = -1;
	c->load.max_error_rate = -1;
}

static void set_load(struct cfg_checks *c, double rate, long long dur,
		     long long p99, double er)
{
	c->load.set = true;
	c->load.rate = rate;
	c->load.duration_ms = dur;
	c->load.max_p99_ms = p99;
	c->load.max_error_rate = er;
}

static void set_acc(struct cfg_checks *c, enum cfg_metric m, bool max, double v)
{
	c->acceptance.set = true;
	c->acceptance.has_metric = true;
	c->acceptance.metric = m;
	if (max) {
		c->acceptance.has_max = true;
		c->acceptance.max = v;
	} else {
		c->acceptance.has_min = true;
		c->acceptance.min = v;
	}
}

Test(gate_limits, defaults_when_neither_side_sets_anything)
{
	struct gate_limits l;
	gate_limits_merge(NULL, NULL, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.unit_timeout_ms, GATE_UNIT_TIMEOUT_MS);
	cr_assert_eq(l.integration_timeout_ms, GATE_INTEGRATION_TIMEOUT_MS);
	cr_assert_eq(l.smoke_timeout_ms, 2000);
	cr_assert_eq(l.load_rate, GATE_LOAD_RATE);
	cr_assert_eq(l.load_duration_ms, GATE_LOAD_DURATION_MS);
	cr_assert_eq(l.load_connections, GATE_LOAD_CONNECTIONS);
	cr_assert_eq(l.load_max_p99_ms, 1000);
	cr_assert_float_eq(l.load_max_error_rate, 0.01, 1e-12);
	cr_assert_eq(l.n_acc, 0);
	cr_assert_eq(l.acc_batch, 50);
	cr_assert_eq(l.acc_concurrency, 4);
	cr_assert_eq(l.n_held, 0);
}

Test(gate_limits, serving_mode_sets_the_default_p99)
{
	struct gate_limits l;
	gate_limits_merge(NULL, NULL, CFG_MODE_NEAR_REAL_TIME, &l);
	cr_assert_eq(l.load_max_p99_ms, 60000);
	gate_limits_merge(NULL, NULL, CFG_MODE_EDGE, &l);
	cr_assert_eq(l.load_max_p99_ms, 100);
	gate_limits_merge(NULL, NULL, CFG_MODE_BATCH, &l);
	cr_assert_eq(l.load_max_p99_ms, -1, "batch has no latency bound");
}

Test(gate_limits, the_mode_default_stands_in_for_an_unset_release_value)
{
	/* an edge release without max_p99 in an env with a 250ms floor
	 * gets its mode's 100ms, the stricter of the two, without a note */
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	set_load(&env, 100, 5000, 250, 0.01);
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_EDGE, &l);
	cr_assert_eq(l.load_max_p99_ms, 100);
	cr_assert_eq(l.n_held, 0);
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.load_max_p99_ms, 250);
	gate_limits_merge(&env, &rel, CFG_MODE_BATCH, &l);
	cr_assert_eq(l.load_max_p99_ms, 250, "the floor holds for batch too");
}

Test(gate_limits, a_release_tightens_every_threshold)
{
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	set_load(&env, 100, 5000, 250, 0.01);
	set_load(&rel, 200, 5000, 50, 0.001);
	env.smoke.timeout_ms = 2000;
	rel.smoke.timeout_ms = 500;
	env.unit.timeout_ms = 120000;
	rel.unit.timeout_ms = 60000;
	set_acc(&env, CFG_M_MAPE, true, 0.15);
	set_acc(&rel, CFG_M_MAPE, true, 0.10);
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.load_max_p99_ms, 50);
	cr_assert_float_eq(l.load_max_error_rate, 0.001, 1e-12);
	cr_assert_eq(l.smoke_timeout_ms, 500);
	cr_assert_eq(l.unit_timeout_ms, 60000);
	cr_assert_eq(l.n_acc, 1);
	cr_assert_eq(l.acc[0].metric, CFG_M_MAPE);
	cr_assert_float_eq(l.acc[0].limit, 0.10, 1e-12);
	cr_assert_str_eq(l.acc[0].from, "release");
	cr_assert_eq(l.load_rate, 200, "the heavier test");
	cr_assert_eq(l.n_held, 0);
}

Test(gate_limits, a_release_that_loosens_is_held_to_the_floor)
{
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	set_load(&env, 100, 5000, 250, 0.01);
	set_load(&rel, 10, 1000, 2000, 0.05);
	env.smoke.timeout_ms = 2000;
	rel.smoke.timeout_ms = 10000;
	env.integration.timeout_ms = 60000;
	rel.integration.timeout_ms = 600000;
	set_acc(&env, CFG_M_MAPE, true, 0.15);
	set_acc(&rel, CFG_M_MAPE, true, 0.50);
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.load_max_p99_ms, 250);
	cr_assert_float_eq(l.load_max_error_rate, 0.01, 1e-12);
	cr_assert_eq(l.smoke_timeout_ms, 2000);
	cr_assert_eq(l.integration_timeout_ms, 60000);
	cr_assert_float_eq(l.acc[0].limit, 0.15, 1e-12);
	cr_assert_str_eq(l.acc[0].from, "environment");
	/* a lighter test is not allowed either */
	cr_assert_eq(l.load_rate, 100);
	cr_assert_eq(l.load_duration_ms, 5000);
	cr_assert_eq(l.n_held, 5);
	cr_assert_str_eq(l.held[0], "integration.timeout: the release's 10m is "
				    "looser than the environment's floor 1m; 1m "
				    "applies");
	cr_assert_str_eq(l.held[1], "smoke.timeout: the release's 10s is looser "
				    "than the environment's floor 2s; 2s applies");
	bool p99 = false, er = false, acc = false;
	for (size_t i = 0; i < l.n_held; i++) {
		p99 |= strstr(l.held[i], "load.max_p99: the release's 2s") != NULL;
		er |= strstr(l.held[i], "load.max_error_rate: the release's 5%") != NULL;
		acc |= strstr(l.held[i], "acceptance.max (mape)") != NULL;
	}
	cr_assert(p99 && er && acc, "%s | %s", l.held[1], l.held[2]);
}

Test(gate_limits, higher_is_better_metrics_take_the_larger_min)
{
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	set_acc(&env, CFG_M_ACCURACY, false, 0.9);
	set_acc(&rel, CFG_M_ACCURACY, false, 0.8);
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.n_acc, 1);
	cr_assert_float_eq(l.acc[0].limit, 0.9, 1e-12);
	cr_assert_eq(l.n_held, 1);
	set_acc(&rel, CFG_M_ACCURACY, false, 0.95);
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_float_eq(l.acc[0].limit, 0.95, 1e-12);
	cr_assert_eq(l.n_held, 0);
}

Test(gate_limits, different_metrics_both_hold)
{
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	set_acc(&env, CFG_M_MAPE, true, 0.15);
	set_acc(&rel, CFG_M_MAE, true, 0.2);
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.n_acc, 2);
	cr_assert_eq(l.acc[0].metric, CFG_M_MAPE);
	cr_assert_eq(l.acc[1].metric, CFG_M_MAE);
}

Test(gate_limits, the_release_cases_and_batch_win_over_the_environment)
{
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	env.acceptance.set = true;
	env.acceptance.cases = "env.csv";
	env.acceptance.batch = 10;
	env.acceptance.concurrency = 2;
	rel.acceptance.set = true;
	rel.acceptance.cases = "rel.csv";
	rel.acceptance.batch = 25;
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_str_eq(l.acc_cases, "rel.csv");
	cr_assert_eq(l.acc_batch, 25);
	cr_assert_eq(l.acc_concurrency, 2);
	rel.acceptance.cases = NULL;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_str_eq(l.acc_cases, "env.csv");
}

Test(gate_limits, commands_and_smoke_cases_come_from_both_sides)
{
	struct cfg_checks env, rel;
	checks_init(&env);
	checks_init(&rel);
	env.unit.set = true;
	env.unit.run = "make lint";
	rel.unit.set = true;
	rel.unit.run = "make test";
	rel.integration.set = true; /* timeout only: no command */
	struct cfg_smoke_case sc[2];
	memset(sc, 0, sizeof(sc));
	rel.smoke.cases = sc;
	rel.smoke.n_cases = 2;
	struct gate_limits l;
	gate_limits_merge(&env, &rel, CFG_MODE_REALTIME, &l);
	cr_assert_eq(l.n_unit, 2);
	cr_assert_str_eq(l.unit[0]->run, "make lint");
	cr_assert_str_eq(l.unit[1]->run, "make test");
	cr_assert_eq(l.n_integration, 0);
	cr_assert_eq(l.n_smoke_rel, 2);
	cr_assert_eq(l.n_smoke_env, 0);
}

TestSuite(gate_limits_yaml, .init = cfgt_setup, .fini = cfgt_teardown);

/* The same rules through real documents: staging's floors and a release
 * that asks for less everywhere. */
Test(gate_limits_yaml, a_loose_release_manifest_is_held_to_staging_floors)
{
	cfgt_release_fixture();
	struct cfg_env *env = cfgt_env_ok(
		"envs/staging.yaml",
		"apiVersion: mlctl/v1\nkind: Environment\nname: staging\n"
		"tier: staging\nnode_driver: v2\nnodes:\n"
		"  - { name: s-1, url: \"http://127.0.0.1:28301\" }\n"
		"gates: [smoke, load, acceptance]\n"
		"checks:\n"
		"  smoke: { timeout: 2s }\n"
		"  load: { rate: 100, duration: 5s, max_p99: 250ms, max_error_rate: 1% }\n"
		"  acceptance: { metric: mape, max: 0.15 }\n");
	const char *path = cfgt_write_sha(
		"release.yaml",
		"apiVersion: mlctl/v1\nkind: Release\nmodel: eta\nversion: 2.0.0\n"
		"serving_mode: realtime\n"
		"artifact: { uri: models/eta-2.0.0.yaml, sha256: \"@SHA@\" }\n"
		"expectations:\n"
		"  inputs: { v: { type: number, exclusive_min: 0 }, d: { type: number } }\n"
		"  outputs: { eta: { type: number } }\n"
		"checks:\n"
		"  smoke: { timeout: 30s, cases: [ { input: { v: 50, d: 10 } } ] }\n"
		"  load: { rate: 50, duration: 1s, max_p99: 5s, max_error_rate: 50% }\n"
		"  acceptance: { cases: cases.csv, metric: mape, max: 0.9 }\n",
		"models/eta-2.0.0.yaml");
	struct cfg_release *rel = NULL;
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(cfg_release_load(path, &rel, &d), 0, "%s", cfgt_dump(&d));
	struct gate_limits l;
	gate_limits_merge(&env->checks, &rel->checks, rel->serving_mode, &l);
	cr_assert_eq(l.smoke_timeout_ms, 2000);
	cr_assert_eq(l.load_rate, 100);
	cr_assert_eq(l.load_duration_ms, 5000);
	cr_assert_eq(l.load_max_p99_ms, 250);
	cr_assert_float_eq(l.load_max_error_rate, 0.01, 1e-12);
	cr_assert_eq(l.n_acc, 1);
	cr_assert_float_eq(l.acc[0].limit, 0.15, 1e-12);
	cr_assert_eq(l.n_held, 4);
	cfg_release_free(rel);
	cfg_env_free(env);
	ml_diags_release(&d);
}
