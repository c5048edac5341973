/* test_strategy.c — every strategy's plan is a pure function of the
 * environment, the current state and the target version: checked for 1,
 * 2, 4 and 100 nodes and odd surge/unavailable values. */
#include "strategy.h"
#include "util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An environment of n nodes written to a temp file and loaded. */
static struct cfg_env *env_with(size_t n, const char *router,
				const char *strategy_block)
{
	char dir[] = "/tmp/mlctl-strat-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *path = path_join(dir, "e.yaml");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "apiVersion: mlctl/v1\nkind: Environment\nname: e\n"
		   "tier: staging\nnodes:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  - { name: n%zu, url: \"http://127.0.0.1:%zu\" }\n",
			i + 1, 20000 + i);
	if (strcmp(router, "none") == 0)
		fprintf(f, "router: { driver: none }\n");
	else
		fprintf(f, "router: { driver: %s, listen: \"127.0.0.1:19990\", "
			   "preview: \"127.0.0.1:19991\" }\n",
			router);
	fprintf(f, "%s", strategy_block);
	fclose(f);
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *env = NULL;
	int rc = cfg_env_load(path, &env, &d);
	for (size_t i = 0; i < d.len; i++) {
		char *line = ml_diag_format(&d.items[i]);
		cr_log_error("%s", line);
		free(line);
	}
	ml_diags_release(&d);
	cr_assert_eq(rc, 0);
	unlink(path);
	rmdir(dir);
	free(path);
	return env;
}

struct fixture {
	const char **serving;
	int *weights;
	struct rollout_state st;
};

static void state_all(struct fixture *fx, size_t n, const char *version,
		      int weight)
{
	fx->serving = xcalloc(n, sizeof(*fx->serving));
	fx->weights = xcalloc(n, sizeof(*fx->weights));
	for (size_t i = 0; i < n; i++) {
		fx->serving[i] = version;
		fx->weights[i] = weight;
	}
	fx->st.n_nodes = n;
	fx->st.serving = fx->serving;
	fx->st.weights = fx->weights;
}

static void fixture_free(struct fixture *fx)
{
	free(fx->serving);
	free(fx->weights);
}

static int plan_for(struct cfg_env *env, int type, struct fixture *fx,
		    const char *version, struct plan *p, struct ml_err *err)
{
	struct strategy_opts o;
	strategy_opts_for(env, type, &o);
	struct cfg_release rel;
	memset(&rel, 0, sizeof(rel));
	rel.version = (char *)version;
	return strategy_plan(&o, &fx->st, &rel, p, err);
}

/* Every node ends up loading the target exactly once. */
static void assert_each_loaded_once(const struct plan *p, size_t n)
{
	size_t *count = xcalloc(n, sizeof(*count));
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == STEP_LOAD)
			for (size_t j = 0; j < p->steps[i].n_nodes; j++)
				count[p->steps[i].nodes[j]]++;
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(count[i], 1, "node %zu loaded %zu times", i, count[i]);
	free(count);
}

/* Walk the plan tracking drained nodes (weight 0): never all drained at
 * once, and none left drained at the end. */
static void assert_never_all_drained(const struct plan *p, size_t n)
{
	bool *drained = xcalloc(n, sizeof(*drained));
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		if (s->kind == STEP_DRAIN || s->kind == STEP_UNDRAIN)
			for (size_t j = 0; j < s->n_nodes; j++)
				drained[s->nodes[j]] = s->kind == STEP_DRAIN;
		if (s->kind == STEP_WEIGHTS || s->kind == STEP_SWITCH)
			for (size_t j = 0; j < n; j++)
				drained[j] = s->weights[j] == 0;
		size_t c = 0;
		for (size_t j = 0; j < n; j++)
			c += drained[j];
		if (n > 1)
			cr_assert_lt(c, n, "step %zu (%s) drains every node", i,
				     s->text);
	}
	for (size_t j = 0; j < n; j++)
		cr_assert_not(drained[j], "node %zu left drained", j);
	free(drained);
}

Test(strategy, rolling_sizes_follow_kubernetes_rounding)
{
	size_t u, s;
	strategy_rolling_sizes(NULL, 4, &u, &s);
	cr_assert_eq(u, 1);
	cr_assert_eq(s, 1);
	strategy_rolling_sizes(NULL, 2, &u, &s); /* 25% of 2: 0 down, 1 up */
	cr_assert_eq(u, 0);
	cr_assert_eq(s, 1);
	strategy_rolling_sizes(NULL, 1, &u, &s);
	cr_assert_eq(u, 0);
	cr_assert_eq(s, 1);
	strategy_rolling_sizes(NULL, 100, &u, &s);
	cr_assert_eq(u, 25);
	cr_assert_eq(s, 25);
}

Test(strategy, rolling_1_2_4_100_nodes_load_each_node_once)
{
	size_t sizes[] = { 1, 2, 4, 100 };
	for (size_t k = 0; k < 4; k++) {
		size_t n = sizes[k];
		struct cfg_env *env = env_with(n, "nginx", "strategy: { type: rolling }\n");
		struct fixture fx;
		state_all(&fx, n, "1.0.0", 1);
		struct plan p;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
		cr_assert_eq(p.strategy, CFG_STRAT_ROLLING);
		cr_assert_str_eq(p.from_version, "1.0.0");
		assert_each_loaded_once(&p, n);
		assert_never_all_drained(&p, n);
		size_t u, s;
		strategy_rolling_sizes(&env->strategy, n, &u, &s);
		cr_assert_eq(p.waves, (n + u + s - 1) / (u + s), "n=%zu waves=%zu", n,
			     p.waves);
		plan_release(&p);
		fixture_free(&fx);
		cfg_env_free(env);
	}
}

Test(strategy, another_model_than_the_one_served_is_refused)
{
	struct cfg_env *env = env_with(2, "nginx", "strategy: { type: rolling }\n");
	struct fixture fx;
	state_all(&fx, 2, "1.0.0", 1);
	fx.st.model = "eta";
	struct strategy_opts o;
	strategy_opts_for(env, -1, &o);
	struct cfg_release rel;
	memset(&rel, 0, sizeof(rel));
	rel.model = "fare";
	rel.version = "1.0.0"; /* the same version: must not read as "no change" */
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(strategy_plan(&o, &fx.st, &rel, &p, &err), -1);
	cr_assert_eq(err.code, 2);
	cr_assert(strstr(err.msg, "serves model 'eta'; this release is model 'fare'"),
		  "%s", err.msg);
	rel.model = "eta";
	rel.version = "2.0.0";
	cr_assert_eq(strategy_plan(&o, &fx.st, &rel, &p, &err), 0, "%s", err.msg);
	cr_assert(p.n_steps > 0);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, rolling_100_nodes_default_is_two_waves_of_50)
{
	struct cfg_env *env = env_with(100, "haproxy", "strategy: { type: rolling }\n");
	struct fixture fx;
	state_all(&fx, 100, "1.0.0", 1);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
	cr_assert_eq(p.waves, 2);
	size_t loads = 0;
	for (size_t i = 0; i < p.n_steps; i++)
		if (p.steps[i].kind == STEP_LOAD) {
			cr_assert_eq(p.steps[i].n_nodes, 50);
			loads++;
		}
	cr_assert_eq(loads, 2);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, rolling_odd_surge_and_unavailable_values)
{
	struct {
		const char *block;
		size_t n, unavailable, surge;
	} cases[] = {
		{ "strategy: { type: rolling, max_surge: 0, max_unavailable: 1 }\n", 4, 1, 0 },
		{ "strategy: { type: rolling, max_surge: 3, max_unavailable: 0 }\n", 4, 0, 3 },
		{ "strategy: { type: rolling, max_surge: 33%, max_unavailable: 33% }\n", 4, 1, 2 },
		{ "strategy: { type: rolling, max_surge: 0, max_unavailable: 100% }\n", 4, 3, 0 },
		{ "strategy: { type: rolling, max_surge: 7, max_unavailable: 7 }\n", 4, 3, 1 },
		{ "strategy: { type: rolling, max_surge: 1%, max_unavailable: 1% }\n", 100, 1, 1 },
		{ "strategy: { type: rolling, max_unavailable: 2, scale_down_first: true }\n", 4, 2, 0 },
		{ "strategy: { type: rolling, max_unavailable: 0, max_surge: 1, scale_down_first: true }\n", 4, 1, 0 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		struct cfg_env *env = env_with(cases[k].n, "haproxy", cases[k].block);
		size_t u, s;
		strategy_rolling_sizes(&env->strategy, cases[k].n, &u, &s);
		cr_assert_eq(u, cases[k].unavailable, "case %zu: unavailable %zu", k, u);
		cr_assert_eq(s, cases[k].surge, "case %zu: surge %zu", k, s);
		struct fixture fx;
		state_all(&fx, cases[k].n, "1.0.0", 1);
		struct plan p;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
		assert_each_loaded_once(&p, cases[k].n);
		assert_never_all_drained(&p, cases[k].n);
		plan_release(&p);
		fixture_free(&fx);
		cfg_env_free(env);
	}
}

Test(strategy, rolling_scale_down_first_unloads_before_loading)
{
	struct cfg_env *env = env_with(
		4, "haproxy",
		"strategy: { type: rolling, max_unavailable: 1, scale_down_first: true }\n");
	struct fixture fx;
	state_all(&fx, 4, "1.0.0", 1);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
	cr_assert_eq(p.waves, 4);
	/* per node: drain, unload old, load, wait, undrain */
	cr_assert_eq(p.steps[0].kind, STEP_DRAIN);
	cr_assert_eq(p.steps[1].kind, STEP_UNLOAD);
	cr_assert_str_eq(p.steps[1].version, "1.0.0");
	cr_assert_eq(p.steps[2].kind, STEP_LOAD);
	cr_assert_eq(p.steps[3].kind, STEP_WAIT_READY);
	cr_assert_eq(p.steps[4].kind, STEP_UNDRAIN);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, rolling_skips_nodes_already_on_the_target)
{
	struct cfg_env *env = env_with(4, "haproxy", "strategy: { type: rolling }\n");
	struct fixture fx;
	state_all(&fx, 4, "2.0.0", 1);
	fx.serving[2] = "1.0.0";
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
	for (size_t i = 0; i < p.n_steps; i++)
		if (p.steps[i].kind == STEP_LOAD) {
			cr_assert_eq(p.steps[i].n_nodes, 1);
			cr_assert_eq(p.steps[i].nodes[0], 2);
		}
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, recreate_unloads_everywhere_then_loads_everywhere)
{
	size_t sizes[] = { 1, 2, 4, 100 };
	for (size_t k = 0; k < 4; k++) {
		size_t n = sizes[k];
		struct cfg_env *env = env_with(n, "none", "strategy: { type: recreate }\n");
		struct fixture fx;
		state_all(&fx, n, "1.0.0", 0);
		struct plan p;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
		cr_assert_eq(p.n_steps, 3);
		cr_assert_eq(p.steps[0].kind, STEP_UNLOAD);
		cr_assert_eq(p.steps[0].n_nodes, n);
		cr_assert_eq(p.steps[1].kind, STEP_LOAD);
		cr_assert_eq(p.steps[1].n_nodes, n);
		cr_assert_eq(p.steps[2].kind, STEP_WAIT_READY);
		plan_release(&p);
		fixture_free(&fx);
		cfg_env_free(env);
	}
}

Test(strategy, recreate_on_a_fresh_environment_only_loads)
{
	struct cfg_env *env = env_with(2, "none", "");
	struct fixture fx;
	state_all(&fx, 2, NULL, 0);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "1.0.0", &p, &err), 0);
	cr_assert_eq(p.strategy, CFG_STRAT_RECREATE);
	cr_assert_null(p.from_version);
	cr_assert_eq(p.n_steps, 2);
	cr_assert_eq(p.steps[0].kind, STEP_LOAD);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, bluegreen_both_pools_serving_drains_green_first)
{
	size_t sizes[] = { 2, 4, 100 };
	for (size_t k = 0; k < 3; k++) {
		size_t n = sizes[k];
		struct cfg_env *env = env_with(n, "haproxy", "strategy: { type: bluegreen }\n");
		struct fixture fx;
		state_all(&fx, n, "1.0.0", 1);
		struct plan p;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
		cr_assert_eq(p.steps[0].kind, STEP_SWITCH);
		/* green = second half: weight 0 after the first switch */
		cr_assert_eq(p.steps[0].weights[n - 1], 0);
		cr_assert_eq(p.steps[0].weights[0], 1);
		cr_assert_eq(p.steps[1].kind, STEP_LOAD);
		cr_assert_eq(p.steps[1].n_nodes, n / 2);
		cr_assert_eq(p.steps[1].nodes[0], (n + 1) / 2);
		bool saw_preview = false, saw_smoke = false, saw_switch = false;
		for (size_t i = 1; i < p.n_steps; i++) {
			saw_preview |= p.steps[i].kind == STEP_PREVIEW;
			saw_smoke |= p.steps[i].kind == STEP_SMOKE && saw_preview;
			if (p.steps[i].kind == STEP_SWITCH) {
				cr_assert(saw_smoke, "switch before the preview smoke");
				cr_assert_eq(p.steps[i].weights[0], 0);
				cr_assert_eq(p.steps[i].weights[n - 1], 1);
				saw_switch = true;
			}
		}
		cr_assert(saw_switch);
		/* blue keeps 1.0.0 for a one-switch rollback: never unloaded */
		for (size_t i = 0; i < p.n_steps; i++)
			if (p.steps[i].kind == STEP_UNLOAD)
				cr_assert_geq(p.steps[i].nodes[0], (n + 1) / 2);
		plan_release(&p);
		fixture_free(&fx);
		cfg_env_free(env);
	}
}

Test(strategy, bluegreen_alternates_to_the_idle_pool)
{
	struct cfg_env *env = env_with(4, "haproxy", "strategy: { type: bluegreen }\n");
	struct fixture fx;
	state_all(&fx, 4, "1.0.0", 0);
	fx.serving[2] = fx.serving[3] = "2.0.0";
	fx.weights[2] = fx.weights[3] = 1; /* green live on 2.0.0 */
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.1.0", &p, &err), 0);
	cr_assert_eq(p.steps[0].kind, STEP_LOAD);
	cr_assert_eq(p.steps[0].nodes[0], 0);
	cr_assert_eq(p.steps[0].nodes[1], 1);
	cr_assert_eq(p.n_target_nodes, 2);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, bluegreen_uses_explicit_pools_and_needs_a_router)
{
	struct cfg_env *env = env_with(
		4, "haproxy",
		"strategy: { type: bluegreen, pools: { blue: [n1, n3], green: [n2, n4] } }\n");
	struct fixture fx;
	state_all(&fx, 4, "1.0.0", 1);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
	cr_assert_eq(p.steps[1].kind, STEP_LOAD);
	cr_assert_eq(p.steps[1].nodes[0], 1);
	cr_assert_eq(p.steps[1].nodes[1], 3);
	plan_release(&p);
	cfg_env_free(env);
	env = env_with(4, "none", "");
	cr_assert_eq(plan_for(env, CFG_STRAT_BLUEGREEN, &fx, "2.0.0", &p, &err), -1);
	cr_assert(strstr(err.msg, "router"), "%s", err.msg);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, canary_weights_map_shares_to_integer_weights)
{
	int c, s;
	strategy_canary_weights(4, 1, 10, &c, &s);
	cr_assert_eq(c, 1);
	cr_assert_eq(s, 3); /* 1 / (1 + 3*3) = 10% */
	strategy_canary_weights(4, 1, 50, &c, &s);
	cr_assert_eq(c * 1 * 100 / (c * 1 + s * 3), 50);
	strategy_canary_weights(100, 25, 5, &c, &s);
	cr_assert_leq(c, 256);
	cr_assert_leq(s, 256);
	double share = 25.0 * c / (25.0 * c + 75.0 * s);
	cr_assert(share > 0.045 && share < 0.055, "share %g", share);
}

Test(strategy, canary_defaults_last_quarter_and_two_steps)
{
	size_t sizes[] = { 2, 4, 100 };
	for (size_t k = 0; k < 3; k++) {
		size_t n = sizes[k];
		struct cfg_env *env = env_with(n, "haproxy", "strategy: { type: canary }\n");
		struct fixture fx;
		state_all(&fx, n, "1.0.0", 1);
		struct plan p;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
		size_t k_nodes = (n + 3) / 4;
		cr_assert_eq(p.n_target_nodes, k_nodes);
		cr_assert_eq(p.target_nodes[0], n - k_nodes);
		size_t analyses = 0;
		int percents[2] = { 0, 0 };
		for (size_t i = 0; i < p.n_steps; i++)
			if (p.steps[i].kind == STEP_ANALYSE) {
				cr_assert_eq(p.steps[i].pause_ms, 30000);
				percents[analyses++ % 2] = p.steps[i].canary_percent;
			}
		cr_assert_eq(analyses, 2);
		cr_assert_eq(percents[0], 10);
		cr_assert_eq(percents[1], 50);
		assert_each_loaded_once(&p, n);
		assert_never_all_drained(&p, n);
		const struct plan_step *last_w = NULL;
		for (size_t i = 0; i < p.n_steps; i++)
			if (p.steps[i].kind == STEP_WEIGHTS)
				last_w = &p.steps[i];
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(last_w->weights[i], 1, "equal weights at the end");
		plan_release(&p);
		fixture_free(&fx);
		cfg_env_free(env);
	}
}

Test(strategy, canary_from_the_embedded_prod_with_manual_pause)
{
	struct cfg_env *env = env_with(
		4, "haproxy",
		"strategy:\n  type: canary\n  canary_nodes: [n2]\n"
		"  steps: [ { weight: 20, pause: manual }, { weight: 60, pause: 2s } ]\n");
	struct fixture fx;
	state_all(&fx, 4, "1.0.0", 1);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
	cr_assert_eq(p.target_nodes[0], 1);
	bool saw_pause = false;
	for (size_t i = 0; i < p.n_steps; i++) {
		if (p.steps[i].kind == STEP_PAUSE) {
			cr_assert_eq(p.steps[i].canary_percent, 20);
			saw_pause = true;
		}
		if (p.steps[i].kind == STEP_ANALYSE)
			cr_assert_eq(p.steps[i].pause_ms, 2000);
	}
	cr_assert(saw_pause);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, cli_strategy_uses_its_defaults_unless_it_is_the_env_type)
{
	struct cfg_env *env = env_with(
		4, "haproxy",
		"strategy:\n  type: canary\n  steps: [ { weight: 30, pause: 1s } ]\n");
	struct strategy_opts o;
	strategy_opts_for(env, CFG_STRAT_CANARY, &o);
	cr_assert_not_null(o.env_block);
	strategy_opts_for(env, CFG_STRAT_ROLLING, &o);
	cr_assert_null(o.env_block);
	cr_assert_eq(o.type, CFG_STRAT_ROLLING);
	strategy_opts_for(env, -1, &o);
	cr_assert_eq(o.type, CFG_STRAT_CANARY);
	cfg_env_free(env);
}

Test(strategy, every_strategy_has_nothing_to_do_when_all_serve_the_target)
{
	int types[] = { CFG_STRAT_RECREATE, CFG_STRAT_ROLLING, CFG_STRAT_BLUEGREEN,
			CFG_STRAT_CANARY };
	struct cfg_env *env = env_with(4, "haproxy", "");
	for (size_t k = 0; k < 4; k++) {
		struct fixture fx;
		state_all(&fx, 4, "2.0.0", 1);
		struct plan p;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(plan_for(env, types[k], &fx, "2.0.0", &p, &err), 0);
		cr_assert_eq(p.n_steps, 0, "%s plans %zu steps",
			     cfg_strategy_name((enum cfg_strategy_type)types[k]), p.n_steps);
		plan_release(&p);
		fixture_free(&fx);
	}
	cfg_env_free(env);
}

Test(strategy, after_bluegreen_canary_sends_nothing_to_the_idle_pool)
{
	struct cfg_env *env = env_with(4, "haproxy", "strategy: { type: canary }\n");
	struct fixture fx;
	state_all(&fx, 4, "2.0.0", 1);
	fx.serving[0] = fx.serving[1] = "1.0.0"; /* the idle blue pool */
	fx.weights[0] = fx.weights[1] = 0;
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.1.0", &p, &err), 0);
	const struct plan_step *w = NULL;
	for (size_t i = 0; i < p.n_steps && !w; i++)
		if (p.steps[i].kind == STEP_WEIGHTS)
			w = &p.steps[i];
	cr_assert_not_null(w);
	cr_assert_eq(w->weights[0], 0);
	cr_assert_eq(w->weights[1], 0);
	/* 10% over one canary (n4) and one stable (n3) node */
	cr_assert_eq(w->weights[3] * 100 / (w->weights[3] + w->weights[2]), 10);
	/* the end: every node on 2.1.0 with equal weights */
	assert_each_loaded_once(&p, 4);
	const struct plan_step *last = &p.steps[p.n_steps - 1];
	for (size_t i = p.n_steps; i > 0; i--)
		if (p.steps[i - 1].kind == STEP_WEIGHTS) {
			last = &p.steps[i - 1];
			break;
		}
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(last->weights[i], 1);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, rolling_after_bluegreen_brings_idle_nodes_back_into_rotation)
{
	struct cfg_env *env = env_with(4, "haproxy", "strategy: { type: rolling }\n");
	struct fixture fx;
	state_all(&fx, 4, "2.0.0", 1);
	fx.serving[0] = fx.serving[1] = "1.0.0";
	fx.weights[0] = fx.weights[1] = 0;
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.1.0", &p, &err), 0);
	cr_assert_str_eq(p.from_version, "2.0.0", "from = what serves live traffic");
	const struct plan_step *last = &p.steps[p.n_steps - 1];
	cr_assert_eq(last->kind, STEP_WEIGHTS);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(last->weights[i], 1);
	assert_never_all_drained(&p, 4);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, rolling_never_drains_the_only_node_in_rotation)
{
	struct cfg_env *env = env_with(
		1, "haproxy", "strategy: { type: rolling, scale_down_first: true }\n");
	struct fixture fx;
	state_all(&fx, 1, "1.0.0", 1);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "2.0.0", &p, &err), 0);
	for (size_t i = 0; i < p.n_steps; i++)
		cr_assert_neq(p.steps[i].kind, STEP_DRAIN);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}

Test(strategy, canary_on_an_environment_serving_nothing_rolls_out_directly)
{
	struct cfg_env *env = env_with(4, "haproxy", "strategy: { type: canary }\n");
	struct fixture fx;
	state_all(&fx, 4, NULL, 1);
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(plan_for(env, -1, &fx, "1.0.0", &p, &err), 0);
	cr_assert_eq(p.strategy, CFG_STRAT_ROLLING, "no stable release to compare with");
	for (size_t i = 0; i < p.n_steps; i++)
		cr_assert_neq(p.steps[i].kind, STEP_ANALYSE);
	assert_each_loaded_once(&p, 4);
	plan_release(&p);
	fixture_free(&fx);
	cfg_env_free(env);
}
