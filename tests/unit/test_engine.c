/* test_engine.c — the engine's journal and rollback logic, against an
 * in-memory model of nodes and a router (the real drivers are exercised
 * by the integration tests): every applied step is undone in reverse, and
 * the environment ends exactly where it started. */
#include "engine.h"
#include "exitcode.h"
#include "util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXN 8
#define MAXV 4

/* The simulated cluster: loaded versions per node in load order (the last
 * one serves), live and preview weights. */
struct sim {
	size_t n;
	char loaded[MAXN][MAXV][16];
	int n_loaded[MAXN];
	int live[MAXN], preview[MAXN];
	int loads, fail_load_at; /* fail the Nth load call (1-based), 0 = never */
	int unloads, fail_unload_at;
	bool partial_unload; /* the failing unload: the first node takes it */
	bool smoke_fails, analysis_fails, analysis_pauses;
	int all_zero_seen;
	int lives; /* set_live calls */
	/* set *stop during the Nth set_live call (a signal mid-step) */
	int stop_at_live;
	volatile sig_atomic_t *stop;
};

static const char *serving(const struct sim *s, size_t i)
{
	return s->n_loaded[i] ? s->loaded[i][s->n_loaded[i] - 1] : NULL;
}

static void sim_unload_one(struct sim *s, size_t node, const char *v)
{
	for (int k = 0; k < s->n_loaded[node]; k++)
		if (strcmp(s->loaded[node][k], v) == 0) {
			memmove(s->loaded[node][k], s->loaded[node][k + 1],
				(size_t)(s->n_loaded[node] - k - 1) * 16);
			s->n_loaded[node]--;
			return;
		}
}

static int sim_load(void *ctx, const size_t *nodes, size_t n,
		    const struct rstate_release *rel, bool *done,
		    struct ml_err *err)
{
	struct sim *s = ctx;
	bool fail = ++s->loads == s->fail_load_at;
	for (size_t i = 0; i < n; i++) {
		/* a failing call: the first node takes it, the others refuse */
		if (fail && i > 0) {
			if (done)
				done[i] = false;
			continue;
		}
		sim_unload_one(s, nodes[i], rel->version);
		snprintf(s->loaded[nodes[i]][s->n_loaded[nodes[i]]++], 16, "%s",
			 rel->version);
		if (done)
			done[i] = true;
	}
	if (fail)
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "node refused the load");
	return 0;
}

static int sim_unload(void *ctx, const size_t *nodes, size_t n,
		      const char *model, const char *version, bool *done,
		      struct ml_err *err)
{
	(void)model;
	struct sim *s = ctx;
	bool fail = ++s->unloads == s->fail_unload_at;
	for (size_t i = 0; i < n; i++) {
		bool refuse = fail && (!s->partial_unload || i > 0);
		if (!refuse)
			sim_unload_one(s, nodes[i], version);
		if (done)
			done[i] = !refuse;
	}
	if (fail)
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "unload refused");
	return 0;
}

static int sim_wait_ready(void *ctx, const size_t *nodes, size_t n,
			  const char *model, const char *version,
			  long long timeout_ms, struct ml_err *err)
{
	(void)model;
	(void)timeout_ms;
	struct sim *s = ctx;
	for (size_t i = 0; i < n; i++) {
		bool has = false;
		for (int k = 0; k < s->n_loaded[nodes[i]]; k++)
			has |= strcmp(s->loaded[nodes[i]][k], version) == 0;
		if (!has)
			return ml_err_set(err, ML_EXIT_OPERATIONAL, "not ready");
	}
	return 0;
}

static int sim_set_live(void *ctx, const int *w, struct ml_err *err)
{
	(void)err;
	struct sim *s = ctx;
	int sum = 0;
	if (++s->lives == s->stop_at_live && s->stop)
		*s->stop = 1;
	for (size_t i = 0; i < s->n; i++) {
		s->live[i] = w[i];
		sum += w[i];
	}
	if (sum == 0)
		s->all_zero_seen++;
	return 0;
}

static int sim_set_preview(void *ctx, const int *w, struct ml_err *err)
{
	(void)err;
	struct sim *s = ctx;
	memcpy(s->preview, w, s->n * sizeof(*w));
	return 0;
}

static int sim_smoke(void *ctx, const size_t *nodes, size_t n,
		     const char *version, struct ml_err *err)
{
	(void)nodes;
	(void)n;
	(void)version;
	struct sim *s = ctx;
	if (s->smoke_fails) {
		ml_err_set(err, ML_EXIT_CHECK_FAILED, "smoke: eta out of range");
		return 1;
	}
	return 0;
}

static int sim_analyse(void *ctx, const struct plan_step *st, long long until,
		       struct ml_err *err)
{
	(void)st;
	(void)until;
	struct sim *s = ctx;
	if (s->analysis_pauses) {
		ml_err_set(err, ML_EXIT_PAUSED, "canary paused at 10%%: no data");
		return 2;
	}
	if (s->analysis_fails) {
		ml_err_set(err, ML_EXIT_CHECK_FAILED, "error rate 2.0%% vs 0.0%%");
		return 1;
	}
	return 0;
}

static struct cfg_env *make_env(size_t n, const char *strategy)
{
	char dir[] = "/tmp/mlctl-eng-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *path = path_join(dir, "e.yaml");
	FILE *f = fopen(path, "w");
	fprintf(f, "apiVersion: mlctl/v1\nkind: Environment\nname: e\ntier: prod\n"
		   "nodes:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  - { name: n%zu, url: \"http://127.0.0.1:%zu\" }\n",
			i + 1, 21000 + i);
	fprintf(f, "router: { driver: haproxy, listen: \"127.0.0.1:20999\", "
		   "preview: \"127.0.0.1:20998\" }\nstrategy: %s\n",
		strategy);
	fclose(f);
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *env = NULL;
	cr_assert_eq(cfg_env_load(path, &env, &d), 0);
	ml_diags_release(&d);
	unlink(path);
	rmdir(dir);
	free(path);
	return env;
}

static void rel_init(struct rstate_release *r, const char *version)
{
	memset(r, 0, sizeof(*r));
	r->model = xstrdup("eta");
	r->version = xstrdup(version);
	r->artifact = xasprintf("/models/eta-%s.yaml", version);
	memset(r->sha256, 'a', 64);
}

/* A cluster where every node serves 1.0.0 with weight 1, and the matching
 * recorded state. */
static void start_on_v1(struct sim *s, struct rstate *st,
			const struct cfg_env *env)
{
	memset(s, 0, sizeof(*s));
	s->n = env->n_nodes;
	rstate_init(st, env);
	rel_init(&st->release, "1.0.0");
	for (size_t i = 0; i < s->n; i++) {
		strcpy(s->loaded[i][0], "1.0.0");
		s->n_loaded[i] = 1;
		s->live[i] = s->preview[i] = 1;
		rstate_set_serving(st, i, "1.0.0");
	}
}

static struct engine_ops sim_ops(struct sim *s)
{
	struct engine_ops ops = { s, sim_load, sim_unload, sim_wait_ready,
				  sim_set_live, sim_set_preview, sim_smoke,
				  sim_analyse };
	return ops;
}

static int deploy(struct cfg_env *env, struct sim *s, struct rstate *st,
		  const char *version, struct engine_result *res)
{
	struct strategy_opts so;
	strategy_opts_for(env, -1, &so);
	struct rollout_state view = rstate_view(st);
	struct cfg_release rel;
	memset(&rel, 0, sizeof(rel));
	rel.version = (char *)version;
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(strategy_plan(&so, &view, &rel, &p, &err), 0, "%s", err.msg);
	struct rstate_release target;
	rel_init(&target, version);
	struct engine_ops ops = sim_ops(s);
	struct engine_opts o = { 0 };
	int rc = engine_run(env, &p, &target, st, &ops, &o, res);
	rstate_release_free(&target);
	plan_release(&p);
	return rc;
}

static void assert_cluster_on(const struct sim *s, const struct rstate *st,
			      const char *version)
{
	for (size_t i = 0; i < s->n; i++) {
		cr_assert_str_eq(serving(s, i), version, "node %zu serves %s", i,
				 serving(s, i));
		cr_assert_str_eq(st->serving[i], version);
		cr_assert_eq(s->live[i], st->live[i]);
	}
}

Test(engine, rolling_deploy_moves_every_node_and_never_drains_all)
{
	struct cfg_env *env = make_env(4, "{ type: rolling }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OK, "%s", res.reason);
	assert_cluster_on(&s, &st, "2.0.0");
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(s.live[i], 1);
		cr_assert_eq(s.n_loaded[i], 1, "old version unloaded");
	}
	cr_assert_eq(s.all_zero_seen, 0);
	cr_assert_str_eq(st.release.version, "2.0.0");
	cr_assert_str_eq(st.previous.version, "1.0.0");
	cr_assert_not(res.rolled_back);
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, failed_load_in_second_wave_restores_the_first_wave)
{
	struct cfg_env *env = make_env(4, "{ type: rolling }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.fail_load_at = 2;
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert(res.rolled_back);
	cr_assert_not(res.rollback_failed, "%s", res.reason);
	cr_assert(strstr(res.reason, "node refused the load"), "%s", res.reason);
	assert_cluster_on(&s, &st, "1.0.0");
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(s.live[i], 1, "weights restored");
	cr_assert_str_eq(st.release.version, "1.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, bluegreen_failed_smoke_leaves_blue_serving_and_exits_1)
{
	struct cfg_env *env = make_env(4, "{ type: bluegreen }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.smoke_fails = true;
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_CHECK_FAILED);
	cr_assert(res.rolled_back);
	assert_cluster_on(&s, &st, "1.0.0");
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(s.live[i], 1, "green back in rotation as before");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, bluegreen_switches_and_keeps_the_old_pool_loaded)
{
	struct cfg_env *env = make_env(4, "{ type: bluegreen }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OK, "%s", res.reason);
	cr_assert_str_eq(serving(&s, 0), "1.0.0");
	cr_assert_str_eq(serving(&s, 1), "1.0.0");
	cr_assert_str_eq(serving(&s, 2), "2.0.0");
	cr_assert_str_eq(serving(&s, 3), "2.0.0");
	cr_assert_eq(s.live[0], 0);
	cr_assert_eq(s.live[2], 1);
	cr_assert_eq(s.preview[2], 1);
	cr_assert_eq(s.preview[0], 0);
	cr_assert_eq(s.all_zero_seen, 0);
	engine_result_release(&res);
	/* the next deploy goes to blue, the idle pool */
	cr_assert_eq(deploy(env, &s, &st, "2.1.0", &res), ML_EXIT_OK, "%s", res.reason);
	cr_assert_str_eq(serving(&s, 0), "2.1.0");
	cr_assert_str_eq(serving(&s, 2), "2.0.0");
	cr_assert_eq(s.live[0], 1);
	cr_assert_eq(s.live[2], 0);
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, canary_analysis_failure_rolls_back_to_stable)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: 1s } ] }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.analysis_fails = true;
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.1.0", &res), ML_EXIT_CHECK_FAILED);
	cr_assert(strstr(res.reason, "error rate"), "%s", res.reason);
	assert_cluster_on(&s, &st, "1.0.0");
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(s.live[i], 1);
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, scale_down_first_failure_reloads_the_old_release)
{
	struct cfg_env *env = make_env(
		2, "{ type: rolling, max_unavailable: 1, scale_down_first: true }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.fail_load_at = 1;
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert_not(res.rollback_failed, "%s", res.reason);
	assert_cluster_on(&s, &st, "1.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, a_failing_undo_is_reported_as_rollback_failed)
{
	struct cfg_env *env = make_env(4, "{ type: rolling }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.fail_load_at = 2;
	s.fail_unload_at = 1; /* the undo's first unload fails */
	struct engine_result res;
	/* unloads: wave 1 (1), the undo of the partial wave-2 load (2), then
	 * the undo of wave 1's load (3) */
	s.fail_unload_at = 3;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert(res.rollback_failed, "%s", res.reason);
	cr_assert(strstr(res.reason, "rollback failed"), "%s", res.reason);
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, a_partial_unload_is_undone_on_the_nodes_that_unloaded)
{
	struct cfg_env *env = make_env(2, "{ type: recreate }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.fail_unload_at = 1;
	s.partial_unload = true; /* n1 unloads 1.0.0, n2 refuses */
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert_not(res.rollback_failed, "%s", res.reason);
	assert_cluster_on(&s, &st, "1.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, manual_pause_stops_with_exit_6_and_keeps_state)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: manual } ] }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_PAUSED);
	cr_assert_not(res.rolled_back);
	cr_assert_str_eq(serving(&s, 3), "2.0.0");
	cr_assert_str_eq(serving(&s, 0), "1.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, recreate_measures_its_downtime)
{
	struct cfg_env *env = make_env(2, "{ type: recreate }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OK);
	cr_assert_geq(res.downtime_ms, 0);
	assert_cluster_on(&s, &st, "2.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

/* ---- pause, resume and abort (mlctl continue / abort) ------------------ */

/* Deploy `version` with a manual pause (or a pausing analysis), keeping
 * the plan and the state from before, as the pause record does. */
static int deploy_keep(struct cfg_env *env, struct sim *s, struct rstate *st,
		       struct rstate *pre, struct plan *p, const char *version,
		       struct engine_result *res)
{
	struct strategy_opts so;
	strategy_opts_for(env, -1, &so);
	struct rollout_state view = rstate_view(st);
	struct cfg_release rel;
	memset(&rel, 0, sizeof(rel));
	rel.version = (char *)version;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(strategy_plan(&so, &view, &rel, p, &err), 0, "%s", err.msg);
	rstate_copy(pre, st);
	struct rstate_release target;
	rel_init(&target, version);
	struct engine_ops ops = sim_ops(s);
	struct engine_opts o = { 0 };
	int rc = engine_run(env, p, &target, st, &ops, &o, res);
	rstate_release_free(&target);
	return rc;
}

static int resume(struct cfg_env *env, struct sim *s, const struct rstate *pre,
		  const struct plan *p, size_t at, const char *abort_reason,
		  const char *version, struct rstate *st, struct engine_result *res)
{
	rstate_copy(st, pre);
	struct rstate_release target;
	rel_init(&target, version);
	struct engine_ops ops = sim_ops(s);
	struct engine_opts o = { 0 };
	o.resume_at = at;
	o.abort_reason = abort_reason;
	int rc = engine_run(env, p, &target, st, &ops, &o, res);
	rstate_release_free(&target);
	return rc;
}

Test(engine, continue_after_a_manual_pause_finishes_the_canary)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: manual }, "
		   "{ weight: 50, pause: 1s } ] }");
	struct sim s;
	struct rstate st, pre, st2;
	struct plan p;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy_keep(env, &s, &st, &pre, &p, "2.0.0", &res),
		     ML_EXIT_PAUSED);
	cr_assert_eq(p.steps[res.paused_at].kind, STEP_PAUSE);
	cr_assert_eq(res.canary_percent, 10);
	int loads = s.loads;
	engine_result_release(&res);
	/* a later process resumes: the steps done are replayed, not redone */
	cr_assert_eq(resume(env, &s, &pre, &p, res.paused_at + 1, NULL, "2.0.0",
			    &st2, &res),
		     ML_EXIT_OK, "%s", res.reason);
	cr_assert_eq(s.loads, loads + 2, "only the stable nodes load (2 waves)");
	assert_cluster_on(&s, &st2, "2.0.0");
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(s.live[i], 1);
	cr_assert_str_eq(st2.release.version, "2.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	rstate_release(&st2);
	rstate_release(&pre);
	plan_release(&p);
	cfg_env_free(env);
}

Test(engine, abort_after_a_pause_undoes_the_steps_of_the_earlier_run)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: manual } ] }");
	struct sim s;
	struct rstate st, pre, st2;
	struct plan p;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy_keep(env, &s, &st, &pre, &p, "2.0.0", &res),
		     ML_EXIT_PAUSED);
	cr_assert_str_eq(serving(&s, 3), "2.0.0");
	size_t at = res.paused_at + 1;
	engine_result_release(&res);
	cr_assert_eq(resume(env, &s, &pre, &p, at, "aborted by a person", "2.0.0",
			    &st2, &res),
		     ML_EXIT_CHECK_FAILED);
	cr_assert(res.rolled_back);
	cr_assert_not(res.rollback_failed, "%s", res.reason);
	cr_assert_str_eq(res.reason, "aborted by a person");
	cr_assert_gt(res.stable_at_ms, 0);
	assert_cluster_on(&s, &st2, "1.0.0");
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(s.live[i], 1);
	engine_result_release(&res);
	rstate_release(&st);
	rstate_release(&st2);
	rstate_release(&pre);
	plan_release(&p);
	cfg_env_free(env);
}

Test(engine, an_abort_with_nothing_to_replay_runs_no_step)
{
	/* a pause record whose resume_at is 0 (tampered) */
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: manual } ] }");
	struct sim s;
	struct rstate st, pre, st2;
	struct plan p;
	start_on_v1(&s, &st, env);
	struct engine_result res;
	cr_assert_eq(deploy_keep(env, &s, &st, &pre, &p, "2.0.0", &res),
		     ML_EXIT_PAUSED);
	engine_result_release(&res);
	int loads = s.loads;
	cr_assert_eq(resume(env, &s, &pre, &p, 0, "aborted by a person", "2.0.0",
			    &st2, &res),
		     ML_EXIT_CHECK_FAILED);
	cr_assert_eq(s.loads, loads, "the abort loaded nothing");
	cr_assert_str_eq(res.reason, "aborted by a person");
	engine_result_release(&res);
	rstate_release(&st);
	rstate_release(&st2);
	rstate_release(&pre);
	plan_release(&p);
	cfg_env_free(env);
}

Test(engine, an_analysis_asking_for_a_person_pauses_after_its_step)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: 1s }, "
		   "{ weight: 50, pause: 1s } ] }");
	struct sim s;
	struct rstate st, pre;
	struct plan p;
	start_on_v1(&s, &st, env);
	s.analysis_pauses = true;
	struct engine_result res;
	cr_assert_eq(deploy_keep(env, &s, &st, &pre, &p, "2.0.0", &res),
		     ML_EXIT_PAUSED);
	cr_assert_eq(p.steps[res.paused_at].kind, STEP_ANALYSE);
	cr_assert_eq(res.steps_done, res.paused_at + 1);
	cr_assert(strstr(res.reason, "no data"), "%s", res.reason);
	cr_assert_not(res.rolled_back);
	engine_result_release(&res);
	rstate_release(&st);
	rstate_release(&pre);
	plan_release(&p);
	cfg_env_free(env);
}

Test(engine, a_failed_analysis_reason_is_the_analysis_line_and_timed)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: 1s } ] }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.analysis_fails = true;
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.1.0", &res), ML_EXIT_CHECK_FAILED);
	cr_assert_str_eq(res.reason, "error rate 2.0% vs 0.0%");
	cr_assert_gt(res.stable_at_ms, 0, "all traffic back on stable is timed");
	cr_assert_eq(res.canary_percent, 10);
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, a_stop_signal_ends_the_run_before_the_next_step)
{
	struct cfg_env *env = make_env(4, "{ type: rolling }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	struct strategy_opts so;
	strategy_opts_for(env, -1, &so);
	struct rollout_state view = rstate_view(&st);
	struct cfg_release rel;
	memset(&rel, 0, sizeof(rel));
	rel.version = (char *)"2.0.0";
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(strategy_plan(&so, &view, &rel, &p, &err), 0, "%s", err.msg);
	struct rstate_release target;
	rel_init(&target, "2.0.0");
	struct engine_ops ops = sim_ops(&s);
	volatile sig_atomic_t stop = 1;
	struct engine_opts o = { 0 };
	o.stop = &stop;
	struct engine_result res;
	cr_assert_eq(engine_run(env, &p, &target, &st, &ops, &o, &res),
		     ML_EXIT_CHECK_FAILED);
	cr_assert(res.stopped);
	cr_assert(strstr(res.reason, "stopped by a signal before step 1"), "%s",
		  res.reason);
	assert_cluster_on(&s, &st, "1.0.0");
	engine_result_release(&res);
	rstate_release_free(&target);
	rstate_release(&st);
	plan_release(&p);
	cfg_env_free(env);
}

/* ---- the recorded state (rstate) --------------------------------------- */

Test(rstate, a_ledger_state_with_non_object_expectations_is_malformed_not_a_crash)
{
	struct cfg_env *env = make_env(2, "{ type: rolling }");
	char sha[65];
	memset(sha, 'a', 64);
	sha[64] = '\0';
	char *json = xasprintf(
		"{\"release\": {\"model\": \"eta\", \"version\": \"1.0.0\", "
		"\"artifact\": \"/m.yaml\", \"sha256\": \"%s\", "
		"\"expectations\": 5}, \"nodes\": []}",
		sha);
	struct rstate st;
	rstate_init(&st, env);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(rstate_from_json(&st, env, json, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	rstate_release(&st);
	free(json);
	cfg_env_free(env);
}

Test(engine, a_failed_check_is_known_even_when_the_rollback_fails_too)
{
	struct cfg_env *env = make_env(4, "{ type: bluegreen }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	s.smoke_fails = true;
	s.fail_unload_at = 1; /* the undo of green's load */
	struct engine_result res;
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert(res.rollback_failed);
	cr_assert(res.check_failed, "the smoke check said no: the release is "
				    "rejected even though the undo failed");
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, a_failure_is_timed_and_says_whether_the_target_took_traffic)
{
	struct cfg_env *env = make_env(4, "{ type: rolling }");
	struct sim s;
	struct rstate st;
	struct engine_result res;
	/* the first load fails: 2.0.0 never served any traffic */
	start_on_v1(&s, &st, env);
	s.fail_load_at = 1;
	double t0 = now_ms();
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert_geq(res.failed_at_ms, t0);
	cr_assert_not(res.target_served);
	engine_result_release(&res);
	rstate_release(&st);
	/* the second wave's load fails: the first wave served it */
	start_on_v1(&s, &st, env);
	s.fail_load_at = 2;
	t0 = now_ms();
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OPERATIONAL);
	cr_assert(res.target_served);
	cr_assert_geq(res.failed_at_ms, t0);
	cr_assert_geq(res.stable_at_ms, res.failed_at_ms,
		      "back on stable after the failure");
	cr_assert_not(res.timed_out);
	assert_cluster_on(&s, &st, "1.0.0");
	engine_result_release(&res);
	rstate_release(&st);
	/* a success did not stop: no failure time */
	start_on_v1(&s, &st, env);
	cr_assert_eq(deploy(env, &s, &st, "2.0.0", &res), ML_EXIT_OK);
	cr_assert_eq(res.failed_at_ms, 0);
	engine_result_release(&res);
	rstate_release(&st);
	cfg_env_free(env);
}

Test(engine, a_stop_seen_before_a_manual_pause_aborts_rather_than_pauses)
{
	struct cfg_env *env = make_env(
		4, "{ type: canary, steps: [ { weight: 10, pause: manual } ] }");
	struct sim s;
	struct rstate st;
	start_on_v1(&s, &st, env);
	volatile sig_atomic_t stop = 0;
	s.stop = &stop;
	s.stop_at_live = 2; /* the 10% weights, the step before the pause */
	struct strategy_opts so;
	strategy_opts_for(env, -1, &so);
	struct rollout_state view = rstate_view(&st);
	struct cfg_release rel;
	memset(&rel, 0, sizeof(rel));
	rel.version = (char *)"2.0.0";
	struct plan p;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(strategy_plan(&so, &view, &rel, &p, &err), 0, "%s", err.msg);
	struct rstate_release target;
	rel_init(&target, "2.0.0");
	struct engine_ops ops = sim_ops(&s);
	struct engine_opts o = { 0 };
	o.stop = &stop;
	struct engine_result res;
	cr_assert_eq(engine_run(env, &p, &target, &st, &ops, &o, &res),
		     ML_EXIT_CHECK_FAILED, "%s", res.reason);
	cr_assert(res.stopped);
	cr_assert(res.target_served);
	cr_assert(strstr(res.reason, "canary aborted at 10%: stopped by a signal"),
		  "%s", res.reason);
	assert_cluster_on(&s, &st, "1.0.0");
	engine_result_release(&res);
	rstate_release_free(&target);
	rstate_release(&st);
	plan_release(&p);
	cfg_env_free(env);
}
