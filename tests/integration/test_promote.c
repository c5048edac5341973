/* test_promote.c — `mlctl promote` end to end on real nodes and routers:
 * the promotion order (deployed and gated in the previous environment),
 * manual approval (exit 5 without --approve), the gates run before the
 * blue/green switch or right after a rolling deploy, and a gate that says
 * no rolls the environment back and rejects the release there. */
#define _DEFAULT_SOURCE
#include "tproject.h"
#include "util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	cr_assert(strstr(tp_entry(h, 0, "reason"), "approved by"), "%s",
		  tp_entry(h, 0, "reason"));
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
