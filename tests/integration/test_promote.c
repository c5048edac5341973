/* test_promote.c — `mlctl promote` end to end on real nodes and routers:
 * the promotion order (deployed and gated in the previous environment),
 * manual approval (exit 5 without --approve), the gates run before the
 * blue/green switch or right after a rolling deploy, and a gate that says
 * no rolls the environment back and rejects the release there. */
#define _DEFAULT_SOURCE
#include "tproject.h"
#include "util.h"

#include <criterion/criterion.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(promote, .init = tp_setup, .fini = tp_teardown, .timeout = 240);

/* an env file with extra top-level keys (promotion, gates, checks) */
static void env_with(const char *name, size_t nodes, const char *router,
		     const char *strategy, const char *extra)
{
	tp_write_env(name, nodes, router, strategy);
	char *path = xasprintf("%s/envs/%s.yaml", tp_dir, name);
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	fputs(extra, f);
	fclose(f);
	free(path);
}

Test(promote, order_approval_then_gates_before_the_switch)
{
	env_with("ps", 2, "nginx", "{ type: rolling }",
		 "gates: [smoke, acceptance]\n");
	env_with("pp", 4, "haproxy", "{ type: bluegreen }",
		 "promotes_from: ps\napproval: manual\ngates: [smoke]\n");
	tp_ok("up ps pp");
	char *out = NULL, *err = NULL;
	/* never deployed to ps: the order is not met */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "promote " REL("2.0.0") " --to pp"), 5,
		     "%s%s", out, err);
	cr_assert(strstr(err, "never deployed to ps"), "%s", err);
	free(out);
	free(err);
	/* deployed but not gated there */
	tp_ok("deploy " REL("2.0.0") " --env ps");
	cr_assert_eq(tp_mlctl(&out, &err, 60, "promote " REL("2.0.0") " --to pp"), 5);
	cr_assert(strstr(err, "has not passed ps's gates"), "%s", err);
	free(out);
	free(err);
	tp_ok("gate " REL("2.0.0") " --env ps");
	/* gated: now approval is what is missing */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "promote " REL("2.0.0") " --to pp"), 5);
	cr_assert(strstr(err, "needs approval"), "%s", err);
	free(out);
	free(err);
	char *junit = xasprintf("%s/promote.xml", tp_dir);
	/* the approver is named even where USER and LOGNAME are not set
	 * (cron, some CI runners): by the account of the uid */
	unsetenv("USER");
	unsetenv("LOGNAME");
	cr_assert_eq(tp_mlctl(&out, &err, 120,
			      "promote " REL("2.0.0") " --to pp --approve --junit %s "
			      "--output json",
			      junit),
		     0, "%s%s", out, err);
	json_t *res = json_loads(out, 0, NULL);
	cr_assert_not_null(res, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "deployed");
	json_t *gates = json_object_get(res, "gates");
	cr_assert_eq(json_array_size(gates), 1);
	cr_assert(json_is_true(json_object_get(json_array_get(gates, 0), "passed")));
	/* the gates step ran before the switch */
	json_t *steps = json_object_get(res, "steps");
	size_t gates_at = 0, switch_at = 0, i;
	json_t *s;
	json_array_foreach(steps, i, s) {
		const char *k = json_string_value(json_object_get(s, "kind"));
		if (strcmp(k, "gates") == 0)
			gates_at = i + 1;
		if (strcmp(k, "switch") == 0)
			switch_at = i + 1;
	}
	cr_assert(gates_at && switch_at && gates_at < switch_at,
		  "gates at %zu, switch at %zu", gates_at, switch_at);
	json_decref(res);
	free(out);
	free(err);
	char *cmd = xasprintf("xmllint --noout %s", junit);
	cr_assert_eq(system(cmd), 0, "JUnit XML is well-formed");
	free(cmd);
	free(junit);
	/* blue/green: the live pool serves it */
	json_t *st = tp_status_json("pp");
	json_t *nodes = json_object_get(
		json_array_get(json_object_get(st, "environments"), 0), "nodes");
	size_t live = 0;
	json_array_foreach(nodes, i, s) {
		if (json_integer_value(json_object_get(s, "weight")) <= 0)
			continue;
		live++;
		cr_assert_str_eq(json_string_value(json_object_get(s, "serving")), "2.0.0");
	}
	cr_assert_eq(live, 2);
	json_decref(st);
	json_t *h = tp_history("pp");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "deployed");
	char *who = user_at_host(), *want = xasprintf("approved by %s", who);
	cr_assert(strstr(tp_entry(h, 0, "reason"), want), "%s (want %s)",
		  tp_entry(h, 0, "reason"), want);
	free(want);
	free(who);
	json_decref(h);
}

Test(promote, a_failing_gate_rolls_back_and_rejects_the_release)
{
	env_with("pg", 2, "nginx", "{ type: rolling }", "gates: [smoke, acceptance]\n");
	tp_ok("up pg");
	tp_ok("deploy " REL("2.0.0") " --env pg");
	char *out = NULL, *err = NULL;
	/* 2.1.0 passes smoke, fails acceptance (MAPE ~50%) */
	cr_assert_eq(tp_mlctl(&out, &err, 120, "promote " REL("2.1.0") " --to pg"), 1,
		     "%s%s", out, err);
	cr_assert(strstr(err, "acceptance"), "%s", err);
	/* timed from the failing gate: there is no deadline to blame */
	cr_assert(strstr(out, "pg: rolled back; still on 2.0.0 (all traffic on it ") &&
			  strstr(out, " ms after the failing check)"),
		  "%s", out);
	cr_assert_null(strstr(out, "deadline"), "%s", out);
	free(out);
	free(err);
	tp_assert_serving("pg", "2.0.0");
	json_t *h = tp_history("pg");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "rejected");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "2.1.0");
	json_decref(h);
	/* rejected there: a plain deploy now needs --force */
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.1.0") " --env pg"), 2);
	cr_assert(strstr(err, "rejected"), "%s", err);
	free(err);
}

Test(promote, bluegreen_gate_failure_never_switches_live_traffic)
{
	env_with("pb", 4, "haproxy", "{ type: bluegreen }", "gates: [acceptance]\n");
	tp_ok("up pb");
	tp_ok("deploy " REL("1.0.0") " --env pb");
	int before[4], after[4];
	tp_live_weights("pb", before, 4);
	cr_assert_eq(tp_mlctl(NULL, NULL, 120, "promote " REL("2.0.0") " --to pb"), 0);
	/* promoting it again moves it onto the other pool, gated again */
	cr_assert_eq(tp_mlctl(NULL, NULL, 120, "promote " REL("2.0.0") " --to pb"), 0);
	char *out = NULL, *err = NULL;
	/* 1.0.0 is live again after a rollback; 2.1.0 fails acceptance
	 * through the preview listener, before any switch */
	tp_ok("rollback --env pb");
	tp_live_weights("pb", before, 4);
	cr_assert_eq(tp_mlctl(&out, &err, 120, "promote " REL("2.1.0") " --to pb"), 1,
		     "%s%s", out, err);
	free(out);
	free(err);
	tp_live_weights("pb", after, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(after[i], before[i], "node %d weight %d -> %d", i,
			     before[i], after[i]);
}

/* A canary environment of 4 nodes behind haproxy with the given steps and
 * extra keys, up and serving 1.0.0 everywhere. */
static void canary_env(const char *name, const char *steps, const char *extra)
{
	char *strategy = xasprintf("{ type: canary, steps: %s, "
				   "analysis: { interval: 500ms } }",
				   steps);
	env_with(name, 4, "haproxy", strategy, extra);
	free(strategy);
	char *cmd = xasprintf("up %s", name);
	tp_ok(cmd);
	free(cmd);
	cmd = xasprintf("deploy " REL("1.0.0") " --env %s --strategy rolling", name);
	tp_ok(cmd);
	free(cmd);
}

static void assert_equal_weights(const char *env)
{
	int w[4];
	tp_live_weights(env, w, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(w[i], 1, "%s node %d weight %d", env, i + 1, w[i]);
}

Test(promote, a_canary_paused_at_a_manual_step_continues_as_a_promote)
{
	canary_env("pc", "[ { weight: 25, pause: manual } ]",
		   "approval: manual\ngates: [smoke]\n");
	env_with("pn", 1, "none", "{ type: recreate }",
		 "promotes_from: pc\ngates: [smoke]\n");
	tp_ok("up pn");
	char *out = NULL, *err = NULL;
	char *junit = xasprintf("%s/pc-gates.xml", tp_dir);
	cr_assert_eq(tp_mlctl(&out, &err, 120,
			      "promote " REL("2.0.0") " --to pc --approve --junit %s",
			      junit),
		     6, "%s%s", out, err);
	cr_assert(strstr(out, "paused at 25% (step 1 of 1)"), "%s", out);
	cr_assert(strstr(err, "gates: smoke passed"), "%s", err);
	free(out);
	free(err);
	char *cmd = xasprintf("xmllint --noout %s", junit);
	cr_assert_eq(system(cmd), 0, "the gates' JUnit XML is written at the pause");
	free(cmd);
	free(junit);
	/* continue rebuilds promote's plan (with its gates step) */
	cr_assert_eq(tp_mlctl(&out, &err, 120, "continue --env pc --output json"), 0,
		     "%s%s", out, err);
	json_t *res = json_loads(out, 0, NULL);
	cr_assert_not_null(res, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(res, "action")), "promote");
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "deployed");
	json_t *gates = json_object_get(res, "gates");
	cr_assert_eq(json_array_size(gates), 1, "%s", out);
	cr_assert(json_is_true(json_object_get(json_array_get(gates, 0), "passed")));
	json_decref(res);
	free(out);
	free(err);
	tp_assert_serving("pc", "2.0.0");
	assert_equal_weights("pc");
	json_t *h = tp_history("pc");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "deployed");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "2.0.0");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "approved by"), "%s",
		  tp_entry(h, 0, "reason"));
	cr_assert_str_eq(tp_entry(h, 1, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 1, "outcome"), "paused");
	json_decref(h);
	/* it reads like a promote's: the promotion order out of pc is met */
	tp_ok("promote " REL("2.0.0") " --to pn");
	tp_assert_serving("pn", "2.0.0");
}

Test(promote, a_canary_paused_at_a_manual_step_aborts_back_to_stable)
{
	canary_env("pa", "[ { weight: 25, pause: manual }, { weight: 50, pause: 5s } ]",
		   "gates: [smoke]\n");
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 120, "promote " REL("2.0.0") " --to pa"), 6,
		     "%s%s", out, err);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 60, "abort --env pa --reason 'not today'"), 0,
		     "%s%s", out, err);
	cr_assert(strstr(out, "aborted; back on 1.0.0"), "%s", out);
	free(out);
	free(err);
	tp_assert_serving("pa", "1.0.0");
	assert_equal_weights("pa");
	json_t *h = tp_history("pa");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "abort");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "aborted");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "2.0.0");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "not today"), "%s",
		  tp_entry(h, 0, "reason"));
	json_decref(h);
	/* an abort rejects nothing */
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "abort --env pa"), 2, "%s", err);
	free(err);
	tp_ok("deploy " REL("2.0.0") " --env pa --strategy rolling");
}

Test(promote, a_promote_paused_twice_continues_with_full_as_a_promote)
{
	canary_env("pf",
		   "[ { weight: 25, pause: manual }, { weight: 50, pause: manual }, "
		   "{ weight: 75, pause: 5s } ]",
		   "gates: [smoke]\n");
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 120, "promote " REL("2.0.0") " --to pf"), 6,
		     "%s%s", out, err);
	free(out);
	free(err);
	/* the pause record a continue writes still says promote */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "continue --env pf"), 6, "%s%s", out, err);
	cr_assert(strstr(out, "paused at 50% (step 2 of 3)"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 120, "continue --env pf --full --reason "
					       "'metrics look fine'"),
		     0, "%s%s", out, err);
	cr_assert_null(strstr(err, "75% of traffic"), "step 3 was skipped: %s", err);
	free(out);
	free(err);
	tp_assert_serving("pf", "2.0.0");
	assert_equal_weights("pf");
	json_t *h = tp_history("pf");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "deployed");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "--full by ") &&
		  strstr(tp_entry(h, 0, "reason"), "metrics look fine"),
		  "%s", tp_entry(h, 0, "reason"));
	cr_assert_str_eq(tp_entry(h, 1, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 1, "outcome"), "paused");
	cr_assert_str_eq(tp_entry(h, 2, "outcome"), "paused");
	json_decref(h);
}

/* As canary_env, with analysis traffic of mlctl's own, so that its
 * timed pauses have data and go on until their end. */
static void busy_canary_env(const char *name, const char *steps,
			    const char *extra)
{
	char *strategy = xasprintf("{ type: canary, steps: %s, analysis: "
				   "{ interval: 500ms, min_requests: 5, traffic: { rate: 200 } } }",
				   steps);
	env_with(name, 4, "haproxy", strategy, extra);
	free(strategy);
	char *cmd = xasprintf("up %s", name);
	tp_ok(cmd);
	free(cmd);
	cmd = xasprintf("deploy " REL("1.0.0") " --env %s --strategy rolling", name);
	tp_ok(cmd);
	free(cmd);
}

/* A promote that has not finished within --timeout is undone and rejects
 * the release there, as a deploy's deadline does. */
Test(promote, a_promote_past_its_deadline_rejects_the_release)
{
	busy_canary_env("pt", "[ { weight: 25, pause: 20s } ]", "gates: [smoke]\n");
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 120, "promote " REL("2.0.0") " --to pt "
					       "--timeout 3s --output json"),
		     1, "%s%s", out, err);
	json_t *res = json_loads(out, 0, NULL);
	cr_assert_not_null(res, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(res, "action")), "promote");
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "rejected");
	cr_assert(strstr(json_string_value(json_object_get(res, "reason")),
			 "did not finish within --timeout (3000 ms)"),
		  "%s", out);
	json_decref(res);
	free(out);
	free(err);
	tp_assert_serving("pt", "1.0.0");
	assert_equal_weights("pt");
	json_t *h = tp_history("pt");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "rejected");
	json_decref(h);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "promote " REL("2.0.0") " --to pt"), 2,
		     "%s", err);
	cr_assert(strstr(err, "is rejected in pt"), "%s", err);
	free(err);
}

/* "user@host" of this process, as mlctl names who gave an abort. */
static void me(char *buf, size_t size)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	struct passwd *pw = getpwuid(geteuid());
	snprintf(buf, size, "%s@%s", pw && pw->pw_name ? pw->pw_name : getenv("USER"),
		 host);
}

/* `mlctl abort` stops a running promote as it stops a running deploy:
 * the promote rolls back and records "aborted" with who asked and why;
 * nothing is rejected. */
Test(promote, abort_stops_a_running_promote_and_rolls_it_back)
{
	busy_canary_env("pr", "[ { weight: 25, pause: 20s } ]", "gates: [smoke]\n");
	pid_t child = tp_bg_start("bg", 90, "promote " REL("2.0.0") " --to pr");
	tp_bg_wait_for("bg", "canary 25%: canary ", 30);
	json_t *st = tp_status_json("pr");
	json_t *e = json_array_get(json_object_get(st, "environments"), 0);
	json_t *r = json_object_get(e, "rollout_in_progress");
	cr_assert_str_eq(json_string_value(json_object_get(r, "command")), "promote");
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(e, "canary"), "state")),
			 "running");
	json_decref(st);
	char *out = NULL, *err = NULL, who[512], want[700];
	me(who, sizeof(who));
	snprintf(want, sizeof(want), "canary aborted at 25%% by %s: stop it", who);
	cr_assert_eq(tp_mlctl(&out, &err, 90, "abort --env pr --reason 'stop it'"), 0,
		     "%s%s", out, err);
	cr_assert(strstr(out, "pr: promote eta 2.0.0: aborted: ") && strstr(out, want),
		  "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_bg_end(child, "bg", &out, &err), 1, "%s%s", out, err);
	cr_assert(strstr(err, want), "%s", err);
	cr_assert(strstr(out, " ms after the abort)"), "%s", out);
	free(out);
	free(err);
	tp_assert_serving("pr", "1.0.0");
	assert_equal_weights("pr");
	json_t *h = tp_history("pr");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "promote");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "aborted");
	cr_assert_str_eq(tp_entry(h, 0, "reason"), want);
	json_decref(h);
	char *stop = xasprintf("%s/locks/pr.stop", tp_state);
	cr_assert(!path_is_file(stop), "%s is left behind", stop);
	free(stop);
	/* an abort rejects nothing */
	tp_ok("deploy " REL("2.0.0") " --env pr --strategy rolling");
}
