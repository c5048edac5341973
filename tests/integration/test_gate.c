/* test_gate.c — `mlctl gate` end to end: the real mlctl starts real mlserve
 * nodes and a real nginx on 127.0.0.1 (free ports) in a temporary project,
 * deploys the ETA releases and runs the gates: 2.0.0 passes every gate,
 * 2.1.0 fails load and acceptance (and is rejected), contract tests catch
 * a node without its contract and one answering 500 to bad input, a
 * failing unit command fails the gate with its output, JUnit is
 * well-formed (xmllint) with the counts the JSON reports, and a release
 * that loosens a floor is held to it. Load runs are 1 s long. */
#define _DEFAULT_SOURCE
#include "proc.h"
#include "sha256.h"
#include "tproject.h"
#include "util.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct proc g_node; /* a node the test starts itself (pid 0: none) */




static char *read_rel(const char *rel)
{
	char *p = path_join(tp_dir, rel), *text = NULL;
	cr_assert_eq(read_file(p, 1 << 20, &text, NULL), 0, "%s", p);
	free(p);
	return text;
}

/* Copy a file of the project replacing `from` by `to` (each must occur). */
static void derive(const char *src, const char *dst, int n, ...)
{
	char *text = read_rel(src);
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *from = va_arg(ap, const char *);
		const char *to = va_arg(ap, const char *);
		char *at = strstr(text, from);
		cr_assert_not_null(at, "'%s' not in %s", from, src);
		*at = '\0';
		char *t = xasprintf("%s%s%s", text, to, at + strlen(from));
		free(text);
		text = t;
	}
	va_end(ap);
	tp_write_file(dst, text);
	free(text);
}

/* An environment: `nodes` managed nodes on free ports (or the given URL
 * of an unmanaged node), nginx or no router, gates and checks as given. */
static void write_env(const char *name, size_t nodes, bool nginx,
		      const char *node_url, const char *gates, const char *checks)
{
	char buf[4096];
	int len = snprintf(buf, sizeof(buf),
			   "apiVersion: mlctl/v1\nkind: Environment\nname: %s\n"
			   "tier: staging\nmanaged: %s\nnode_driver: v2\nnodes:\n",
			   name, node_url ? "false" : "true");
	for (size_t i = 0; i < nodes; i++) {
		char url[64];
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", tp_free_port());
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"  - { name: %s-%zu, url: \"%s\" }\n", name, i + 1,
				node_url ? node_url : url);
	}
	if (nginx)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"router: { driver: nginx, listen: \"127.0.0.1:%d\" }\n",
				tp_free_port());
	else
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"router: { driver: none }\n");
	snprintf(buf + len, sizeof(buf) - (size_t)len,
		 "strategy: { type: %s }\ngates: %s\n%s", nginx ? "rolling" : "recreate",
		 gates, checks ? checks : "");
	char rel[64];
	snprintf(rel, sizeof(rel), "envs/%s.yaml", name);
	tp_write_file(rel, buf);
}


/* staging's shape, with a 1 s load floor */
#define STG_CHECKS                                                              \
	"checks:\n"                                                             \
	"  smoke: { timeout: 2s }\n"                                            \
	"  load: { rate: 100, duration: 1s, max_p99: 250ms, max_error_rate: 1% }\n" \
	"  acceptance: { metric: mape, max: 0.15 }\n"

static void setup(void)
{
	tp_setup();
	memset(&g_node, 0, sizeof(g_node));
	/* a short load test: the releases' 5 s become 1 s */
	static const char *const vs[] = { "1.0.0", "2.0.0", "2.1.0" };
	for (int i = 0; i < 3; i++) {
		char r[128];
		snprintf(r, sizeof(r), "examples/eta/release-%s.yaml", vs[i]);
		derive(r, r, 1, "duration: 5s", "duration: 1s");
	}
	/* 2.0.0's 50 ms p99 leaves little room on a busy test machine;
	 * 2.1.0 keeps it (its 80 ms fault fails it either way) */
	derive(REL("2.0.0"), REL("2.0.0"), 1, "max_p99: 50ms", "max_p99: 200ms");
	setenv("NO_COLOR", "1", 1);
	unsetenv("MLCTL_PROD_TOKEN");
}

static void teardown(void)
{
	if (g_node.pid)
		proc_stop(&g_node, SIGTERM, 5000);
	tp_teardown();
}

/* `gate ... --output json` parsed; the exit status in *rc. */
static json_t *gate_json(int *rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static json_t *gate_json(int *rc, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	char *out = NULL, *err = NULL;
	*rc = tp_mlctl(&out, &err, 120, "gate %s --output json", args);
	json_t *root = json_loads(out, 0, NULL);
	cr_assert_not_null(root, "gate JSON (exit %d): %s\nstderr: %s", *rc, out, err);
	cr_log_info("gate %s: exit %d\n%s", args, *rc, err);
	free(out);
	free(err);
	return root;
}

static json_t *gate_of(json_t *root, const char *name)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(root, "gates"), i, g) {
		if (strcmp(json_string_value(json_object_get(g, "gate")), name) == 0)
			return g;
	}
	cr_assert_fail("no gate %s in the JSON", name);
	return NULL;
}

static bool passed(json_t *root, const char *gate)
{
	return json_is_true(json_object_get(gate_of(root, gate), "passed"));
}

/* The failed check of a gate whose name contains `name`; its reason. */
static const char *failed_check(json_t *root, const char *gate, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(gate_of(root, gate), "checks"), i, c) {
		if (strstr(json_string_value(json_object_get(c, "name")), name) &&
		    json_is_false(json_object_get(c, "passed")))
			return json_string_value(json_object_get(c, "reason"));
	}
	return NULL;
}

/* xmllint says the file is well-formed; the testsuites' totals match the
 * JSON's checks. */
static void assert_junit(const char *rel, json_t *root)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s/%s", tp_dir, rel);
	cr_assert_eq(system(cmd), 0, "xmllint: %s is not well-formed", rel);
	size_t tests = 0, failed = 0;
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(root, "gates"), i, g) {
		tests += (size_t)json_integer_value(json_object_get(g, "checks_total"));
		failed += (size_t)json_integer_value(json_object_get(g, "checks_failed"));
	}
	char *xml = read_rel(rel);
	char want[128];
	snprintf(want, sizeof(want), "tests=\"%zu\" failures=\"%zu\"", tests, failed);
	cr_assert(strstr(xml, want), "%s not in\n%.600s", want, xml);
	size_t suites = 0;
	for (const char *p = xml; (p = strstr(p, "<testsuite ")); p++)
		suites++;
	cr_assert_eq(suites, json_array_size(json_object_get(root, "gates")),
		     "one testsuite per gate");
	free(xml);
}

TestSuite(gate, .init = setup, .fini = teardown, .timeout = 240);

Test(gate, staging_passes_2_0_0_and_fails_2_1_0_on_load_and_acceptance)
{
	write_env("stg", 2, true, NULL, "[integration, smoke, load, acceptance]",
		  STG_CHECKS);
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "up stg"), 0, "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 90, "deploy " REL("2.0.0") " --env stg"), 0,
		     "%s", err);
	free(err);

	int rc;
	json_t *j = gate_json(&rc, REL("2.0.0") " --env stg --junit pass.xml");
	cr_assert_eq(rc, 0);
	cr_assert_eq(json_array_size(json_object_get(j, "gates")), 4,
		     "one entry per gate");
	cr_assert(passed(j, "integration") && passed(j, "smoke") && passed(j, "load") &&
		  passed(j, "acceptance"));
	json_t *figs = json_object_get(gate_of(j, "acceptance"), "figures");
	double mape = json_number_value(json_object_get(json_object_get(figs, "metrics"),
							"mape"));
	cr_assert(mape > 0.005 && mape < 0.03, "2.0.0's mape is ~1.5%%: %g", mape);
	figs = json_object_get(gate_of(j, "integration"), "figures");
	cr_assert_eq(json_integer_value(json_object_get(figs, "router_reached")), 2,
		     "requests through nginx reach both nodes");
	cr_assert_str_eq(json_string_value(json_object_get(j, "outcome")), "gates passed");
	assert_junit("pass.xml", j);
	json_decref(j);
	char *p = path_join(tp_dir, "pass-load.html");
	cr_assert_eq(access(p, F_OK), 0, "the load report beside the JUnit file");
	free(p);

	/* 2.1.0 is not loaded yet: exit 2, nothing recorded */
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.1.0") " --env stg"), 2);
	cr_assert(strstr(err, "eta 2.1.0 is not loaded in stg: stg-1 serves 2.0.0"),
		  "%s", err);
	free(out);
	free(err);

	cr_assert_eq(tp_mlctl(NULL, &err, 90, "deploy " REL("2.1.0") " --env stg"), 0,
		     "%s", err);
	free(err);
	j = gate_json(&rc, REL("2.1.0") " --env stg --junit fail.xml");
	cr_assert_eq(rc, 1);
	cr_assert(passed(j, "integration"), "2.1.0 keeps its contract");
	cr_assert(passed(j, "smoke"));
	cr_assert_not(passed(j, "load"));
	cr_assert_not(passed(j, "acceptance"));
	json_t *fl = json_object_get(j, "failed");
	cr_assert_eq(json_array_size(fl), 2);
	cr_assert_str_eq(json_string_value(json_array_get(fl, 0)), "load");
	cr_assert_str_eq(json_string_value(json_array_get(fl, 1)), "acceptance");
	cr_assert_not_null(failed_check(j, "load", "p99"));
	cr_assert_not_null(failed_check(j, "load", "error rate"));
	const char *why = failed_check(j, "acceptance", "mape");
	cr_assert(why && strstr(why, "above 0.1"), "%s", why ? why : "(none)");
	cr_assert_eq(json_array_size(json_object_get(
			     json_object_get(gate_of(j, "acceptance"), "figures"), "worst")),
		     5);
	assert_junit("fail.xml", j);
	json_decref(j);
	char *xml = read_rel("fail.xml");
	cr_assert(strstr(xml, "<failure type=\"acceptance\" message=\"mape "), "%.2000s", xml);
	free(xml);

	/* the text form names both, and the ledger says so */
	cr_assert_eq(tp_mlctl(&out, &err, 120, "gate " REL("2.1.0") " --env stg --only "
							    "smoke,acceptance"),
		     1);
	cr_assert(strstr(out, "gates failed (acceptance); eta 2.1.0 is rejected in stg"),
		  "%s", out);
	cr_assert(strstr(out, "worst cases:"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "history --env stg --output json"), 0);
	json_t *h = json_loads(out, 0, NULL);
	free(out);
	json_t *e0 = json_array_get(json_object_get(h, "entries"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(e0, "action")), "gate");
	cr_assert_str_eq(json_string_value(json_object_get(e0, "outcome")), "gates failed");
	cr_assert_str_eq(json_string_value(json_object_get(e0, "detail")),
			 "load, acceptance");
	json_decref(h);
	/* rejected: deploying it again needs --force */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "deploy " REL("2.1.0") " --env stg"), 2);
	cr_assert(strstr(err, "rejected in stg"), "%s", err);
	free(out);
	free(err);
	/* and a rollback goes back to 2.0.0 */
	cr_assert_eq(tp_mlctl(&out, &err, 90, "rollback --env stg"), 0, "%s", err);
	cr_assert(strstr(out, "2.0.0"), "%s", out);
	free(out);
	free(err);
}

/* A node started by the test with --no-contract: it accepts a negative
 * velocity, and the contract tests say so. */
Test(gate, contract_tests_catch_a_node_without_its_contract)
{
	const char *bin = getenv("MLSERVE_BIN");
	if (!bin || access(bin, X_OK) != 0)
		cr_skip_test("MLSERVE_BIN is not set");
	char o[400], e[400];
	snprintf(o, sizeof(o), "%s/nc.out", tp_dir);
	snprintf(e, sizeof(e), "%s/nc.err", tp_dir);
	char *argv[] = { (char *)bin, "--listen", "127.0.0.1:0", "--no-contract", NULL };
	cr_assert_eq(proc_start(&g_node, argv, NULL, o, e), 0);
	cr_assert_eq(proc_wait_listening(&g_node, 10000), 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", g_node.port);
	write_env("nc", 1, false, url, "[integration]", NULL);
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.0.0") " --env nc"), 0, "%s",
		     err);
	free(err);
	int rc;
	json_t *j = gate_json(&rc, REL("2.0.0") " --env nc");
	cr_assert_eq(rc, 1);
	const char *why = failed_check(j, "integration", "v negative (-1)");
	cr_assert(why && strstr(why, "accepted (HTTP 200)"), "%s", why ? why : "(passed)");
	cr_assert_not_null(failed_check(j, "integration", "extra input"));
	cr_assert_null(failed_check(j, "integration", "valid inputs"));
	json_decref(j);
	(void)out;
}

/* A model whose node answers 500 to bad input: a 5xx is never right. */
Test(gate, contract_tests_catch_a_500_for_bad_input)
{
	derive("examples/eta/models/eta-2.0.0.yaml", "examples/eta/models/eta-2.2.0.yaml", 2,
	       "version: 2.0.0", "version: 2.2.0", "  - { coef: 0.05 }\n",
	       "  - { coef: 0.05 }\nfaults: { bad_input_status: 500 }\n");
	char *mp = path_join(tp_dir, "examples/eta/models/eta-2.2.0.yaml");
	char sha[65], old[65];
	cr_assert_eq(sha256_file_hex(mp, sha), 0);
	free(mp);
	char *r20 = read_rel(REL("2.0.0"));
	const char *q = strstr(r20, "sha256: \"");
	cr_assert_not_null(q);
	memcpy(old, q + 9, 64);
	old[64] = '\0';
	free(r20);
	derive(REL("2.0.0"), REL("2.2.0"), 3, "version: 2.0.0", "version: 2.2.0",
	       "eta-2.0.0.yaml", "eta-2.2.0.yaml", old, sha);
	write_env("bad", 1, false, NULL, "[integration]", NULL);
	char *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "up bad"), 0, "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.2.0") " --env bad"), 0, "%s",
		     err);
	free(err);
	int rc;
	json_t *j = gate_json(&rc, REL("2.2.0") " --env bad");
	cr_assert_eq(rc, 1);
	const char *why = failed_check(j, "integration", "v negative");
	cr_assert(why && strstr(why, "HTTP 500") && strstr(why, "never a 5xx"), "%s",
		  why ? why : "(passed)");
	cr_assert_null(failed_check(j, "integration", "valid inputs"));
	cr_assert_null(failed_check(j, "integration", "ready"));
	json_decref(j);
}

#define UNIT_SH                                                                   \
	"mkdir -p build\n"                                                        \
	"if [ -f fail-unit ]; then\n"                                             \
	"  echo 'FAILING: eta is biased low (expected 0.264, got 0.12)'\n"        \
	"  printf '%s' '<testsuites><testsuite name=\"eta\" tests=\"2\" "         \
	"failures=\"1\"><testcase name=\"bias\"><failure message=\"expected "     \
	"0.264, got 0.12\"/></testcase><testcase name=\"loads\"/></testsuite>"    \
	"</testsuites>' > build/unit.xml\n"                                       \
	"  exit 1\n"                                                              \
	"fi\n"                                                                    \
	"echo all good\n"                                                         \
	"printf '%s' '<testsuites><testsuite name=\"eta\" tests=\"2\"><testcase " \
	"name=\"bias\"/><testcase name=\"loads\"/></testsuite></testsuites>' "    \
	"> build/unit.xml\n"

Test(gate, a_failing_unit_command_fails_the_gate_with_its_output)
{
	tp_write_file("tests/unit.sh", UNIT_SH);
	derive(REL("2.0.0"), "examples/eta/release-unit.yaml", 1,
	       "{ run: \"make -C examples/eta unit\", junit: examples/eta/build/unit.xml }",
	       "{ run: \"sh tests/unit.sh\", junit: build/unit.xml }");
	write_env("tst", 1, false, NULL, "[unit, integration]",
		  "checks: { unit: { timeout: 30s } }\n");
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "up tst"), 0, "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy examples/eta/release-unit.yaml --env tst"),
		     0, "%s", err);
	free(err);
	int rc;
	json_t *j = gate_json(&rc, "examples/eta/release-unit.yaml --env tst --junit u.xml");
	cr_assert_eq(rc, 0);
	json_t *f = json_object_get(gate_of(j, "unit"), "figures");
	cr_assert_eq(json_integer_value(json_object_get(f, "tests")), 2);
	cr_assert_eq(json_integer_value(json_object_get(f, "failed")), 0);
	assert_junit("u.xml", j);
	json_decref(j);

	tp_write_file("fail-unit", "");
	cr_assert_eq(tp_mlctl(&out, &err, 120, "gate examples/eta/release-unit.yaml --env tst "
					    "--junit u.xml"),
		     1, "%s%s", out, err);
	cr_assert(strstr(out, "FAILING: eta is biased low"), "its output is shown: %s", out);
	cr_assert(strstr(out, "run: sh tests/unit.sh: exit status 1"), "%s", out);
	cr_assert(strstr(out, "eta.bias: expected 0.264, got 0.12"), "%s", out);
	cr_assert(strstr(out, "integration passed"), "the other gate still ran: %s", out);
	free(out);
	free(err);
	char *xml = read_rel("u.xml");
	cr_assert(strstr(xml, "FAILING: eta is biased low"), "in <system-out>: %s", xml);
	free(xml);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s/u.xml", tp_dir);
	cr_assert_eq(system(cmd), 0);
}

/* A release asking for a looser acceptance bound than the floor is held
 * to the floor: 1.0.0 (~16% MAPE) under `max: 0.5` still fails staging's
 * 0.15. */
Test(gate, a_release_that_loosens_a_floor_is_held_to_it)
{
	derive(REL("1.0.0"), "examples/eta/release-loose.yaml", 2,
	       "metric: mape, max: 0.10", "metric: mape, max: 0.5", "max_p99: 50ms",
	       "max_p99: 10s");
	write_env("stg", 1, false, NULL, "[load, acceptance]", STG_CHECKS);
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "up stg"), 0, "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy examples/eta/release-loose.yaml --env stg"),
		     0, "%s", err);
	free(err);
	int rc;
	json_t *j = gate_json(&rc, "examples/eta/release-loose.yaml --env stg");
	cr_assert_eq(rc, 1);
	cr_assert_eq(json_array_size(json_object_get(j, "held_to_floor")), 2, "%s",
		     json_dumps(json_object_get(j, "held_to_floor"), 0));
	cr_assert(passed(j, "load"));
	cr_assert_eq(json_integer_value(json_object_get(
			     json_object_get(gate_of(j, "load"), "figures"), "max_p99_ms")),
		     250);
	const char *why = failed_check(j, "acceptance", "mape <= 0.15");
	cr_assert(why && strstr(why, "environment's bound"), "%s", why ? why : "(passed)");
	json_decref(j);
	/* the warning says what was held */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "gate examples/eta/release-loose.yaml --env stg "
					   "--only acceptance"),
		     1);
	cr_assert(strstr(err, "acceptance.max (mape): the release's 0.5 is looser than "
			      "the environment's floor 0.15; 0.15 applies"),
		  "%s", err);
	free(out);
	free(err);
}

Test(gate, bad_usage_and_an_environment_that_is_down)
{
	write_env("tst", 1, false, NULL, "[unit, integration]", NULL);
	write_env("dv", 1, false, NULL, "[]", NULL);
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0") " --env tst --only smoke"), 2);
	cr_assert(strstr(err, "smoke is not a gate of tst (its gates: unit, integration)"),
		  "%s", err);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0") " --env tst --only bogus"), 2);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0") " --env tst --only ,"), 2);
	cr_assert(strstr(err, "--only: give at least one gate"), "%s", err);
	free(out);
	free(err);
	/* an output path that cannot be written is refused before any work */
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0")
			      " --env tst --junit /nonexistent/g.xml"),
		     2);
	cr_assert(strstr(err, "--junit /nonexistent/g.xml: no directory /nonexistent"),
		  "%s", err);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0")), 2);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0") " --env dv"), 0);
	cr_assert(strstr(err, "no gates"), "%s", err);
	free(out);
	free(err);
	/* never started: exit 3, naming the node */
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate " REL("2.0.0") " --env tst --only integration"),
		     3, "%s", err);
	cr_assert(strstr(err, "tst cannot be reached") && strstr(err, "tst-1"), "%s", err);
	free(out);
	free(err);
	/* the unit gate needs a command: the eta releases' runs make in a
	 * project without a Makefile, which fails the gate, not the usage */
	derive(REL("2.0.0"), "examples/eta/release-nounit.yaml", 1,
	       "  unit:        { run: \"make -C examples/eta unit\", junit: "
	       "examples/eta/build/unit.xml }\n",
	       "");
	cr_assert_eq(tp_mlctl(&out, &err, 30, "gate examples/eta/release-nounit.yaml --env tst"),
		     2);
	cr_assert(strstr(err, "sets no checks.unit.run"), "%s", err);
	free(out);
	free(err);
}
