/* test_canary.c — canary with analysis end to end: the real mlctl starts
 * real mlserve nodes and a real haproxy or nginx on 127.0.0.1 (free
 * ports) in a temporary project, and rolls the ETA releases out as a
 * canary: 2.0.0 passes every step under wrk through haproxy with no
 * failed request; 2.1.0 (80 ms, 2% errors) is aborted at the first
 * interval and rolled back; the no-data policy with and without traffic
 * of mlctl's own; a release's analysis block tightening the environment's;
 * manual pauses with continue, continue --full and abort; the --timeout
 * deadline. Steps and intervals are short so each test takes seconds. */
#define _DEFAULT_SOURCE
#include "tproject.h"
#include "util.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>





/* A canary environment of n nodes behind `router` with the given steps
 * and analysis blocks (YAML flow text). Ports are kept so the file can
 * be rewritten with other settings (the same nodes keep running). */
struct env_ports {
	int nodes[8], listen, preview;
};

static void write_env(const char *name, size_t n, const char *router,
		      struct env_ports *ports, const char *steps,
		      const char *analysis)
{
	if (!ports->listen) {
		for (size_t i = 0; i < n; i++)
			ports->nodes[i] = tp_free_port();
		ports->listen = tp_free_port();
		ports->preview = tp_free_port();
	}
	char buf[4096];
	int len = snprintf(buf, sizeof(buf),
			   "apiVersion: mlctl/v1\nkind: Environment\nname: %s\n"
			   "tier: staging\nmanaged: true\nnode_driver: v2\nnodes:\n",
			   name);
	for (size_t i = 0; i < n; i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"  - { name: %s-%zu, url: \"http://127.0.0.1:%d\" }\n",
				name, i + 1, ports->nodes[i]);
	len += snprintf(buf + len, sizeof(buf) - (size_t)len,
			"router: { driver: %s, listen: \"127.0.0.1:%d\", "
			"preview: \"127.0.0.1:%d\" }\n"
			"strategy:\n  type: canary\n  steps: %s\n  analysis: %s\n",
			router, ports->listen, ports->preview, steps, analysis);
	char rel[64];
	snprintf(rel, sizeof(rel), "envs/%s.yaml", name);
	tp_write_file(rel, buf);
}

static void setup(void)
{
	tp_setup();
	setenv("NO_COLOR", "1", 1);
	setenv("TZ", "UTC", 1);
}

static void teardown(void)
{
	tp_teardown();
}

static json_t *status_env(const char *env)
{
	char *out = NULL;
	tp_mlctl(&out, NULL, 30, "status --env %s --output json", env);
	json_t *root = json_loads(out, 0, NULL);
	cr_assert_not_null(root, "status JSON: %s", out);
	free(out);
	json_t *e = json_incref(json_array_get(json_object_get(root, "environments"), 0));
	json_decref(root);
	return e;
}

/* Every node serves `version` and (with want_w > 0) has that weight. */
static void assert_env(const char *env, const char *version, int want_w)
{
	json_t *e = status_env(env);
	json_t *nodes = json_object_get(e, "nodes");
	cr_assert_gt(json_array_size(nodes), 0);
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));
		const char *s = json_string_value(json_object_get(n, "serving"));
		cr_assert(s && strcmp(s, version) == 0, "node %s serves %s, expected %s",
			  name, s ? s : "nothing", version);
		if (want_w > 0)
			cr_assert_eq(json_integer_value(json_object_get(n, "weight")),
				     want_w, "node %s weight", name);
	}
	json_decref(e);
}



/* Run a deploy-like command with --output json; the parsed result. */
static json_t *run_json(int *rc, char **err, int timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static json_t *run_json(int *rc, char **err, int timeout_s, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	char *out = NULL;
	*rc = tp_mlctl(&out, err, timeout_s, "%s --output json", args);
	json_t *o = json_loads(out, 0, NULL);
	cr_assert_not_null(o, "not JSON (exit %d): %s\n%s", *rc, out, err ? *err : "");
	free(out);
	return o;
}

/* wrk through a listener for `seconds` in the background (loopback,
 * bounded by -d); wrk never retries, so any failure shows. */



/* up, then `version` everywhere with a rolling deploy (no analysis). */
static void start_on(const char *env, const char *version)
{
	char *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "up %s", env), 0, "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 90, "deploy %s --env %s --strategy rolling",
			   version, env),
		     0, "%s", err);
	free(err);
}

/* The analysis intervals of a result: how many, how many of them had
 * canary data, how many failed. */
static void intervals(json_t *res, size_t *n, size_t *with_data, size_t *failed)
{
	json_t *an = json_object_get(res, "analysis");
	*n = json_array_size(an);
	*with_data = *failed = 0;
	size_t i;
	json_t *iv;
	json_array_foreach(an, i, iv) {
		const char *v = json_string_value(json_object_get(iv, "verdict"));
		*failed += v && strcmp(v, "fail") == 0;
		*with_data += v && strcmp(v, "no-data") != 0;
	}
}

TestSuite(canary, .init = setup, .fini = teardown, .timeout = 120);

Test(canary, good_release_passes_every_step_through_haproxy_under_wrk)
{
	struct env_ports ports = { 0 };
	write_env("cg", 4, "haproxy", &ports,
		  "[ { weight: 25, pause: 2s }, { weight: 50, pause: 2s } ]",
		  "{ interval: 500ms, min_requests: 10, traffic: { rate: 200 } }");
	start_on("cg", REL("1.0.0"));
	char listen[64], wrk_out[400];
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", ports.listen);
	snprintf(wrk_out, sizeof(wrk_out), "%s/wrk.txt", tp_dir);
	pid_t wrk = tp_wrk_start(listen, 7, wrk_out);
	usleep(500000);
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 90, "deploy " REL("2.0.0") " --env cg");
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "deployed");
	/* both steps analysed, with data (mlctl's own traffic, and wrk's) */
	size_t n, with_data, failed;
	intervals(res, &n, &with_data, &failed);
	cr_assert_geq(n, 8, "2 steps x 4 intervals, got %zu", n);
	cr_assert_eq(with_data, n);
	cr_assert_eq(failed, 0, "%s", err);
	cr_assert(strstr(err, "canary 25%: canary ") && strstr(err, "canary 50%: "),
		  "one live line per interval: %s", err);
	free(err);
	json_decref(res);
	long requests, errors;
	tp_wrk_result(wrk, wrk_out, &requests, &errors);
	cr_assert_gt(requests, 100, "background traffic ran");
	cr_assert_eq(errors, 0, "wrk saw %ld failed requests", errors);
	assert_env("cg", "2.0.0", 1);
	json_t *h = tp_history("cg");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "deployed");
	cr_assert_str_eq(tp_entry(h, 0, "strategy"), "canary");
	json_decref(h);
}

Test(canary, bad_release_is_aborted_at_the_first_interval_through_nginx)
{
	struct env_ports ports = { 0 };
	write_env("cb", 4, "nginx", &ports, "[ { weight: 25, pause: 5s } ]",
		  "{ interval: 500ms, min_requests: 10, traffic: { rate: 200 } }");
	start_on("cb", REL("2.0.0"));
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 90, "deploy " REL("2.1.0") " --env cb");
	cr_assert_eq(rc, 1, "%s", err);
	const char *reason = json_string_value(json_object_get(res, "reason"));
	cr_assert(reason && strncmp(reason, "canary aborted at 25%: ", 23) == 0,
		  "%s", reason);
	cr_assert(strstr(reason, "vs stable"), "compared with stable: %s", reason);
	/* failure_limit 1: the first interval with data decided it */
	size_t n, with_data, failed;
	intervals(res, &n, &with_data, &failed);
	cr_assert_eq(failed, 1);
	cr_assert_eq(with_data, 1, "aborted after %zu intervals with data",
		     with_data);
	cr_assert_eq(n, with_data, "the first interval had data");
	/* a figure, not asserted (nginx: a confirmed reload) */
	json_t *ms = json_object_get(res, "abort_to_stable_ms");
	cr_assert(json_is_number(ms), "abort_to_stable_ms is reported");
	cr_assert_str_eq(json_string_value(json_object_get(res, "abort_to_stable_from")),
			 "failing_interval");
	cr_log_info("nginx: failing interval end -> 100%% on stable: %.1f ms",
		    json_number_value(ms));
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "rejected");
	json_decref(res);
	free(err);
	assert_env("cb", "2.0.0", 1);
	json_t *h = tp_history("cb");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "rejected");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "2.1.0");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "canary aborted at 25%"), "%s",
		  tp_entry(h, 0, "reason"));
	json_decref(h);
	/* the rejected release does not come back by itself */
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.1.0") " --env cb"), 2);
	cr_assert(strstr(err, "rejected"), "%s", err);
	free(err);
}

Test(canary, bad_release_through_haproxy_with_a_failure_limit_of_two)
{
	struct env_ports ports = { 0 };
	write_env("cf", 4, "haproxy", &ports, "[ { weight: 25, pause: 5s } ]",
		  "{ interval: 500ms, min_requests: 10, failure_limit: 2, "
		  "max_error_rate: 5%, traffic: { rate: 200 } }");
	start_on("cf", REL("2.0.0"));
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 90, "deploy " REL("2.1.0") " --env cf"), 1,
		     "%s", err);
	/* one live line per interval; the second failure aborts */
	size_t fails = 0;
	for (const char *p = err; (p = strstr(p, "| FAIL ")); p++)
		fails++;
	cr_assert_eq(fails, 2, "%s", err);
	cr_assert(strstr(err, "\nmlctl: error: canary aborted at 25%: p99 "), "%s", err);
	const char *fig = strstr(out, "cf: rolled back; still on 2.0.0 (all traffic on it ");
	cr_assert(fig, "%s", out);
	cr_log_info("haproxy: %s", fig);
	free(out);
	free(err);
	assert_env("cf", "2.0.0", 1);
}

/* examples/eta/<name>: a copy of release-<version>.yaml with `extra`
 * appended (the same artifact, so it loads as that release). */
static void write_release_copy(const char *version, const char *name,
			       const char *extra)
{
	char *src = xasprintf("%s/examples/eta/release-%s.yaml", tp_dir, version);
	char *text = NULL;
	cr_assert_eq(read_file(src, 1 << 20, &text, NULL), 0, "%s", src);
	char *dst = xasprintf("examples/eta/%s", name);
	char *all = xasprintf("%s%s", text, extra);
	tp_write_file(dst, all);
	free(all);
	free(dst);
	free(text);
	free(src);
}

/* The environment's analysis is loose enough for 2.1.0 (80 ms, 2% errors)
 * to pass; the release's own `analysis:` tightens max_p99 and is the one
 * that aborts it. Its looser failure_limit is held to the environment's
 * (the default 1), said once on stderr. */
Test(canary, a_release_analysis_block_tightens_the_environments)
{
	struct env_ports ports = { 0 };
	write_env("ca", 4, "haproxy", &ports, "[ { weight: 25, pause: 3s } ]",
		  "{ interval: 500ms, min_requests: 10, max_error_rate: 50%, "
		  "max_error_rate_delta: 50%, max_p99_ratio: 1000, "
		  "traffic: { rate: 200 } }");
	start_on("ca", REL("2.0.0"));
	write_release_copy("2.1.0", "release-2.1.0-tight.yaml",
			   "analysis: { max_p99: 20ms, failure_limit: 3 }\n");
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 90, "deploy examples/eta/"
					       "release-2.1.0-tight.yaml --env ca");
	cr_assert_eq(rc, 1, "the release's max_p99 aborts it: %s", err);
	const char *reason = json_string_value(json_object_get(res, "reason"));
	cr_assert(reason && strncmp(reason, "canary aborted at 25%: p99 ", 27) == 0,
		  "%s", reason);
	cr_assert(strstr(reason, "(limit 20 ms)"), "%s", reason);
	static const char note[] =
		"mlctl: warning: analysis.failure_limit: the release's 3 is looser "
		"than the environment's 1 (the default); 1 applies\n";
	const char *at = strstr(err, note);
	cr_assert(at, "%s", err);
	cr_assert_null(strstr(at + 1, note), "said once: %s", err);
	size_t n, with_data, failed;
	intervals(res, &n, &with_data, &failed);
	cr_assert_eq(failed, 1, "failure_limit stays 1: %s", err);
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "rejected");
	json_decref(res);
	free(err);
	assert_env("ca", "2.0.0", 1);
}

/* continue judges the rest of a paused canary by the release's analysis
 * block as deployed (recorded in the ledger with the pause), not by the
 * manifest file edited since. */
Test(canary, continue_keeps_the_release_analysis_recorded_with_the_pause)
{
	struct env_ports ports = { 0 };
	write_env("cc", 4, "haproxy", &ports,
		  "[ { weight: 25, pause: manual }, { weight: 50, pause: 3s } ]",
		  "{ interval: 500ms, min_requests: 10, max_error_rate: 50%, "
		  "max_error_rate_delta: 50%, max_p99_ratio: 1000, "
		  "traffic: { rate: 200 } }");
	start_on("cc", REL("2.0.0"));
	write_release_copy("2.1.0", "release-2.1.0-tight.yaml",
			   "analysis: { max_p99: 20ms }\n");
	char *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy examples/eta/"
					      "release-2.1.0-tight.yaml --env cc"),
		     6, "%s", err);
	free(err);
	/* the same release (version, artifact), its limit loosened on disk */
	write_release_copy("2.1.0", "release-2.1.0-tight.yaml",
			   "analysis: { max_p99: 5s }\n");
	int rc;
	json_t *res = run_json(&rc, &err, 90, "continue --env cc");
	cr_assert_eq(rc, 1, "judged by max_p99 20ms as deployed: %s", err);
	const char *reason = json_string_value(json_object_get(res, "reason"));
	cr_assert(reason && strncmp(reason, "canary aborted at 50%: p99 ", 27) == 0,
		  "%s", reason);
	cr_assert(strstr(reason, "(limit 20 ms)"), "%s", reason);
	json_decref(res);
	free(err);
	assert_env("cc", "2.0.0", 1);
}

Test(canary, no_traffic_and_no_data_fail_aborts)
{
	struct env_ports ports = { 0 };
	write_env("cn", 4, "haproxy", &ports, "[ { weight: 25, pause: 3s } ]",
		  "{ interval: 500ms, max_no_data: 2 }");
	start_on("cn", REL("1.0.0"));
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 90, "deploy " REL("2.0.0") " --env cn");
	cr_assert_eq(rc, 1, "%s", err);
	const char *reason = json_string_value(json_object_get(res, "reason"));
	cr_assert(strstr(reason, "canary aborted at 25%: no data: 2 intervals"),
		  "%s", reason);
	size_t n, with_data, failed;
	intervals(res, &n, &with_data, &failed);
	cr_assert_eq(n, 2);
	cr_assert_eq(with_data, 0);
	/* no data is no verdict: aborted, not rejected */
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "aborted");
	cr_assert_str_eq(json_string_value(json_object_get(res, "abort_to_stable_from")),
			 "no_data");
	json_decref(res);
	free(err);
	assert_env("cn", "1.0.0", 1);

	/* no_data: pass lets the same quiet canary through */
	write_env("cn", 4, "haproxy", &ports, "[ { weight: 25, pause: 2s } ]",
		  "{ interval: 500ms, max_no_data: 2, no_data: pass }");
	cr_assert_eq(tp_mlctl(NULL, &err, 90, "deploy " REL("2.0.0") " --env cn"), 0,
		     "%s", err);
	free(err);
	assert_env("cn", "2.0.0", 1);

	/* no_data: pause waits for a person; abort ends it */
	write_env("cn", 4, "haproxy", &ports, "[ { weight: 25, pause: 2s } ]",
		  "{ interval: 500ms, max_no_data: 2, no_data: pause }");
	res = run_json(&rc, &err, 90, "deploy " REL("1.0.0") " --env cn");
	cr_assert_eq(rc, 6, "%s", err);
	cr_assert(strstr(json_string_value(json_object_get(res, "reason")),
			 "no_data: pause"));
	json_decref(res);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "abort --env cn"), 0, "%s", err);
	free(err);
	assert_env("cn", "2.0.0", 1);
}

Test(canary, traffic_of_its_own_gives_a_quiet_canary_data)
{
	struct env_ports ports = { 0 };
	write_env("ct", 2, "haproxy", &ports, "[ { weight: 50, pause: 2s } ]",
		  "{ interval: 500ms, max_no_data: 2, traffic: { rate: 100 } }");
	start_on("ct", REL("1.0.0"));
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 90, "deploy " REL("2.0.0") " --env ct");
	cr_assert_eq(rc, 0, "%s", err);
	size_t n, with_data, failed;
	intervals(res, &n, &with_data, &failed);
	cr_assert_geq(n, 3);
	cr_assert_eq(with_data, n, "%s", err);
	json_t *iv = json_array_get(json_object_get(res, "analysis"), 1);
	json_int_t c = json_integer_value(json_object_get(json_object_get(iv, "canary"), "requests"));
	json_int_t s = json_integer_value(json_object_get(json_object_get(iv, "stable"), "requests"));
	cr_assert(c >= 15 && s >= 15, "canary %lld, stable %lld requests", (long long)c,
		  (long long)s);
	cr_assert(strstr(err, "analysis traffic: "), "%s", err);
	json_decref(res);
	free(err);
	assert_env("ct", "2.0.0", 1);
}

Test(canary, manual_pauses_continue_continue_full_and_abort)
{
	struct env_ports ports = { 0 };
	write_env("cm", 4, "haproxy", &ports,
		  "[ { weight: 10, pause: manual }, { weight: 25, pause: manual }, "
		  "{ weight: 50, pause: manual } ]",
		  "{ interval: 500ms }");
	start_on("cm", REL("1.0.0"));
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 60, "deploy " REL("2.0.0") " --env cm"), 6,
		     "%s%s", out, err);
	cr_assert(strstr(out, "paused at 10% (step 1 of 3)"), "%s", out);
	free(out);
	free(err);
	/* the paused canary is there for all to see, and holds the env */
	json_t *e = status_env("cm");
	json_t *c = json_object_get(e, "canary");
	cr_assert_str_eq(json_string_value(json_object_get(c, "state")), "paused");
	cr_assert_eq(json_integer_value(json_object_get(c, "percent")), 10);
	cr_assert_str_eq(json_string_value(json_object_get(c, "version")), "2.0.0");
	json_t *n4 = json_array_get(json_object_get(e, "nodes"), 3);
	cr_assert_str_eq(json_string_value(json_object_get(n4, "serving")), "2.0.0");
	json_decref(e);
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "status --env cm"), 0);
	cr_assert(strstr(out, "canary in progress: eta 2.0.0 at 10% (step 1 of 3)"),
		  "%s", out);
	free(out);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.1.0") " --env cm"), 4);
	cr_assert(strstr(err, "paused rollout") && strstr(err, "mlctl abort"), "%s", err);
	free(err);
	/* continue: on to the next manual step */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "continue --env cm"), 6, "%s", err);
	cr_assert(strstr(out, "paused at 25% (step 2 of 3)"), "%s", out);
	free(out);
	free(err);
	/* --full needs a reason, then skips the rest */
	cr_assert_eq(tp_mlctl(NULL, NULL, 60, "continue --env cm --full"), 2);
	cr_assert_eq(tp_mlctl(NULL, &err, 90, "continue --env cm --full --reason "
					   "'metrics look fine'"),
		     0, "%s", err);
	cr_assert_null(strstr(err, "50% of traffic"), "step 3 was skipped: %s", err);
	free(err);
	assert_env("cm", "2.0.0", 1);
	json_t *h = tp_history("cm");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "continue");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "deployed");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "--full by ") &&
		  strstr(tp_entry(h, 0, "reason"), "metrics look fine"),
		  "%s", tp_entry(h, 0, "reason"));
	cr_assert_str_eq(tp_entry(h, 1, "outcome"), "paused");
	cr_assert_str_eq(tp_entry(h, 2, "outcome"), "paused");
	json_decref(h);
	/* abort: back on the stable release at once, recorded, not rejected */
	cr_assert_eq(tp_mlctl(NULL, NULL, 60, "abort --env cm"), 2, "nothing to abort");
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("1.0.0") " --env cm"), 6,
		     "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 60, "abort --env cm --reason 'not today'"), 0,
		     "%s", err);
	cr_assert(strstr(out, "aborted; back on 2.0.0"), "%s", out);
	free(out);
	free(err);
	assert_env("cm", "2.0.0", 1);
	h = tp_history("cm");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "abort");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "aborted");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "1.0.0");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "not today"), "%s", tp_entry(h, 0, "reason"));
	json_decref(h);
	/* an abort rejects nothing: the same release may go again */
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("1.0.0") " --env cm"), 6,
		     "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, NULL, 60, "abort --env cm"), 0);
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

/* The first line of the ledger's newest commit on env/<env>. */
static char *ledger_subject(const char *env)
{
	char *cmd = xasprintf("git --git-dir=%s/ledger log -1 --format=%%s env/%s",
			      tp_state, env);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char line[1024] = "";
	cr_assert_not_null(fgets(line, sizeof(line), p), "%s", cmd);
	pclose(p);
	free(cmd);
	return xstrdup(line);
}

/* The stop request `mlctl abort` leaves beside the lock is gone. */
static void assert_no_stop_request(const char *env)
{
	char *p = xasprintf("%s/locks/%s.stop", tp_state, env);
	cr_assert(!path_is_file(p), "%s is left behind", p);
	free(p);
}

Test(canary, abort_stops_a_running_canary_and_rolls_it_back)
{
	struct env_ports ports = { 0 };
	write_env("cr", 2, "haproxy", &ports, "[ { weight: 50, pause: 20s } ]",
		  "{ interval: 500ms, traffic: { rate: 100 } }");
	start_on("cr", REL("1.0.0"));
	pid_t child = tp_bg_start("bg", 60, "deploy " REL("2.0.0") " --env cr");
	/* wait until the canary is in its analysis pause */
	tp_bg_wait_for("bg", "canary 50%: canary ", 20);
	/* status: a rollout that runs, with its command and release */
	json_t *e = status_env("cr");
	json_t *r = json_object_get(e, "rollout_in_progress");
	cr_assert_str_eq(json_string_value(json_object_get(r, "state")), "running");
	cr_assert_str_eq(json_string_value(json_object_get(r, "command")), "deploy");
	cr_assert_str_eq(json_string_value(json_object_get(r, "release")), "eta 2.0.0");
	cr_assert_gt(json_integer_value(json_object_get(r, "pid")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(e, "canary"), "state")),
			 "running");
	json_decref(e);
	char *out = NULL, *err = NULL, who[512], want[700];
	me(who, sizeof(who));
	snprintf(want, sizeof(want), "canary aborted at 50%% by %s: stop it", who);
	cr_assert_eq(tp_mlctl(&out, &err, 60, "abort --env cr --reason 'stop it'"), 0,
		     "%s%s", out, err);
	cr_assert(strstr(out, want), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_bg_end(child, "bg", &out, &err), 1, "%s%s", out, err);
	/* the way back is timed from the abort, not from a deadline */
	cr_assert(strstr(out, "cr: rolled back; still on 1.0.0 (all traffic on it ") &&
			  strstr(out, " ms after the abort)"),
		  "%s", out);
	cr_assert(strstr(err, want), "%s", err);
	free(out);
	free(err);
	assert_env("cr", "1.0.0", 1);
	json_t *h = tp_history("cr");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "aborted");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "2.0.0");
	cr_assert_str_eq(tp_entry(h, 0, "reason"), want);
	json_decref(h);
	char *subject = ledger_subject("cr");
	cr_assert_null(strstr(subject, "by a signal"), "%s", subject);
	free(subject);
	char *cmd = xasprintf("git --git-dir=%s/ledger log -1 --format=%%B env/cr | "
			      "grep -qF '%s'",
			      tp_state, want);
	cr_assert_eq(system(cmd), 0, "the ledger commit says who and why: %s", cmd);
	free(cmd);
	assert_no_stop_request("cr");
}

/* The progress a running rollout publishes beside its lock. */
static char *progress_file(const char *env)
{
	return xasprintf("%s/locks/%s.progress", tp_state, env);
}

/* status --env E of a running canary, once its analysis has judged at
 * least `intervals` intervals (polled for up to 20 s). */
static json_t *status_with_intervals(const char *env, size_t intervals)
{
	json_t *e = NULL;
	for (int i = 0; i < 100; i++) {
		json_decref(e);
		e = status_env(env);
		json_t *last = json_object_get(json_object_get(e, "canary"),
					       "last_intervals");
		if (json_array_size(last) >= intervals)
			return e;
		usleep(200000);
	}
	char *t = json_dumps(e, JSON_INDENT(2));
	cr_assert_fail("no %zu intervals in status: %s", intervals, t);
	free(t);
	return e;
}

/* issue 5 §4: a canary that runs (timed pauses, nobody paused it) shows
 * its step, share and last verdicts in status, from the progress the
 * rollout publishes; the file goes when the rollout ends. */
Test(canary, status_shows_a_running_canary_with_its_step_share_and_verdicts)
{
	struct env_ports ports = { 0 };
	write_env("cp", 2, "haproxy", &ports,
		  "[ { weight: 25, pause: 20s }, { weight: 50, pause: 20s } ]",
		  "{ interval: 500ms, min_requests: 5, traffic: { rate: 200 } }");
	start_on("cp", REL("1.0.0"));
	char *file = progress_file("cp");
	cr_assert(!path_is_file(file), "no progress before a rollout runs");
	pid_t child = tp_bg_start("bg", 90, "deploy " REL("2.0.0") " --env cp");
	tp_bg_wait_for("bg", "canary 25%: canary ", 30);
	json_t *e = status_with_intervals("cp", 2);
	cr_assert(path_is_file(file), "%s is published while it runs", file);
	json_t *c = json_object_get(e, "canary");
	cr_assert_str_eq(json_string_value(json_object_get(c, "state")), "running");
	cr_assert_str_eq(json_string_value(json_object_get(c, "version")), "2.0.0");
	cr_assert_eq(json_integer_value(json_object_get(c, "percent")), 25);
	cr_assert_eq(json_integer_value(json_object_get(c, "step")), 1);
	cr_assert_eq(json_integer_value(json_object_get(c, "steps")), 2);
	json_t *last = json_object_get(c, "last_intervals");
	size_t i;
	json_t *iv;
	json_array_foreach(last, i, iv) {
		cr_assert_str_eq(json_string_value(json_object_get(iv, "verdict")),
				 "pass");
		cr_assert_eq(json_integer_value(json_object_get(iv, "percent")), 25);
	}
	json_t *r = json_object_get(e, "rollout_in_progress");
	cr_assert_str_eq(json_string_value(json_object_get(r, "state")), "running");
	cr_assert_str_eq(json_string_value(json_object_get(r, "command")), "deploy");
	cr_assert_str_eq(json_string_value(json_object_get(r, "release")), "eta 2.0.0");
	cr_assert_eq(json_integer_value(json_object_get(r, "percent")), 25);
	cr_assert_eq(json_integer_value(json_object_get(r, "step")), 1);
	cr_assert_eq(json_integer_value(json_object_get(r, "steps")), 2);
	cr_assert_gt(json_integer_value(json_object_get(r, "plan_step")), 0);
	cr_assert_gt(json_integer_value(json_object_get(r, "plan_steps")),
		     json_integer_value(json_object_get(r, "plan_step")));
	const char *at = json_string_value(json_object_get(r, "current_step"));
	cr_assert(at && strstr(at, "step 1: analyse canary vs stable"), "%s", at);
	cr_assert_eq(json_integer_value(json_object_get(c, "pid")),
		     json_integer_value(json_object_get(r, "pid")));
	json_decref(e);
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "status --env cp"), 0);
	cr_assert(strstr(out, "  canary in progress: eta 2.0.0 at 25% (step 1 of 2), "
			      "last verdicts: pass, pass"),
		  "%s", out);
	cr_assert(strstr(out, "  rollout in progress: pid ") &&
			  strstr(out, "step 1: analyse canary vs stable"),
		  "%s", out);
	cr_assert_null(strstr(out, "paused"), "%s", out);
	free(out);
	cr_assert_eq(tp_mlctl(&out, &err, 60, "abort --env cp"), 0, "%s%s", out, err);
	free(out);
	free(err);
	cr_assert_eq(tp_bg_end(child, "bg", NULL, NULL), 1);
	cr_assert(!path_is_file(file), "%s is withdrawn when the rollout ends", file);
	e = status_env("cp");
	cr_assert(json_is_null(json_object_get(e, "rollout_in_progress")));
	cr_assert(json_is_null(json_object_get(e, "canary")));
	json_decref(e);
	free(file);
}

/* A canary paused at a manual step is a rollout in progress; once a
 * `continue` has taken it up it is running, not paused; an abort of that
 * continue names who gave it and why. */
Test(canary, status_follows_a_paused_canary_through_continue_and_abort)
{
	struct env_ports ports = { 0 };
	write_env("cw", 2, "haproxy", &ports,
		  "[ { weight: 25, pause: manual }, { weight: 50, pause: 20s } ]",
		  "{ interval: 500ms, traffic: { rate: 100 } }");
	start_on("cw", REL("1.0.0"));
	cr_assert_eq(tp_mlctl(NULL, NULL, 60, "deploy " REL("2.0.0") " --env cw"), 6);
	json_t *e = status_env("cw");
	json_t *r = json_object_get(e, "rollout_in_progress");
	cr_assert(json_is_object(r), "a paused rollout is in progress");
	cr_assert_str_eq(json_string_value(json_object_get(r, "state")), "paused");
	cr_assert_str_eq(json_string_value(json_object_get(r, "command")), "deploy");
	cr_assert_str_eq(json_string_value(json_object_get(r, "release")), "eta 2.0.0");
	cr_assert_eq(json_integer_value(json_object_get(r, "step")), 1);
	cr_assert_eq(json_integer_value(json_object_get(r, "steps")), 2);
	cr_assert_eq(json_integer_value(json_object_get(r, "percent")), 25);
	cr_assert(json_string_length(json_object_get(r, "since")) > 0);
	cr_assert_null(json_object_get(r, "pid"), "nobody runs it");
	json_decref(e);

	pid_t child = tp_bg_start("cont", 60, "continue --env cw");
	tp_bg_wait_for("cont", "canary 50%: canary ", 20);
	e = status_env("cw");
	r = json_object_get(e, "rollout_in_progress");
	cr_assert_str_eq(json_string_value(json_object_get(r, "state")), "running");
	cr_assert_str_eq(json_string_value(json_object_get(r, "command")), "continue");
	cr_assert_str_eq(json_string_value(json_object_get(r, "began_with")), "deploy");
	cr_assert_str_eq(json_string_value(json_object_get(r, "release")), "eta 2.0.0");
	cr_assert_gt(json_integer_value(json_object_get(r, "pid")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(e, "canary"), "state")),
			 "running");
	/* where the continue stands now, as it publishes it */
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(e, "canary"),
							"percent")),
		     50);
	cr_assert_eq(json_integer_value(json_object_get(r, "step")), 2);
	json_decref(e);
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "status --env cw"), 0);
	cr_assert_null(strstr(out, "paused since"), "%s", out);
	cr_assert(strstr(out, "canary in progress: eta 2.0.0 running again from 25% "
			      "(step 1 of 2), now at 50% (step 2 of 2)") &&
			  strstr(out, "rollout in progress: pid "),
		  "%s", out);
	free(out);

	char who[512], want[700];
	me(who, sizeof(who));
	snprintf(want, sizeof(want), "canary aborted at 50%% by %s: stop it", who);
	cr_assert_eq(tp_mlctl(&out, &err, 60, "abort --env cw --reason 'stop it'"), 0,
		     "%s%s", out, err);
	free(out);
	free(err);
	cr_assert_eq(tp_bg_end(child, "cont", &out, &err), 1, "%s%s", out, err);
	cr_assert(strstr(out, " ms after the abort)"), "%s", out);
	free(out);
	free(err);
	assert_env("cw", "1.0.0", 1);
	json_t *h = tp_history("cw");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "continue");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "aborted");
	cr_assert_str_eq(tp_entry(h, 0, "reason"), want);
	json_decref(h);
	assert_no_stop_request("cw");
	e = status_env("cw");
	cr_assert(json_is_null(json_object_get(e, "rollout_in_progress")));
	cr_assert(json_is_null(json_object_get(e, "canary")));
	json_decref(e);
}

/* issue 5 §3: a canary that has not finished within --timeout aborts as
 * a failed analysis does: back on stable at once, exit 1 with one line,
 * and the release is rejected in that environment. */
Test(canary, the_progress_deadline_aborts_the_canary_and_rejects_the_release)
{
	struct env_ports ports = { 0 };
	write_env("cd", 2, "haproxy", &ports, "[ { weight: 50, pause: 20s } ]",
		  "{ interval: 500ms, traffic: { rate: 100 } }");
	start_on("cd", REL("1.0.0"));
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 60, "deploy " REL("2.0.0") " --env cd "
						"--timeout 2s");
	cr_assert_eq(rc, 1, "%s", err);
	const char *reason = json_string_value(json_object_get(res, "reason"));
	cr_assert(strstr(reason, "canary aborted at 50%: the rollout did not finish "
				 "within --timeout (2000 ms)"),
		  "%s", reason);
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "rejected");
	cr_assert_str_eq(json_string_value(json_object_get(res, "abort_to_stable_from")),
			 "deadline");
	json_decref(res);
	free(err);
	assert_env("cd", "1.0.0", 1);
	char *file = progress_file("cd");
	cr_assert(!path_is_file(file), "%s is withdrawn", file);
	free(file);
	json_t *h = tp_history("cd");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "rejected");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "did not finish within --timeout"),
		  "%s", tp_entry(h, 0, "reason"));
	json_decref(h);
	/* rejected there: the same deploy again needs --force */
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.0.0") " --env cd"), 2,
		     "%s", err);
	cr_assert(strstr(err, "eta 2.0.0 is rejected in cd: canary aborted at 50%: "
			      "the rollout did not finish within --timeout") &&
			  strstr(err, "--force"),
		  "%s", err);
	free(err);
}

/* A continue that has not finished within its --timeout rejects the
 * release as a deploy's deadline does (the record stays a continue). */
Test(canary, a_continue_past_its_deadline_rejects_the_release)
{
	struct env_ports ports = { 0 };
	write_env("ct", 2, "haproxy", &ports,
		  "[ { weight: 25, pause: manual }, { weight: 50, pause: 20s } ]",
		  "{ interval: 500ms, traffic: { rate: 100 } }");
	start_on("ct", REL("1.0.0"));
	cr_assert_eq(tp_mlctl(NULL, NULL, 60, "deploy " REL("2.0.0") " --env ct"), 6);
	int rc;
	char *err = NULL;
	json_t *res = run_json(&rc, &err, 60, "continue --env ct --timeout 2s");
	cr_assert_eq(rc, 1, "%s", err);
	cr_assert_str_eq(json_string_value(json_object_get(res, "action")), "continue");
	cr_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "rejected");
	const char *reason = json_string_value(json_object_get(res, "reason"));
	cr_assert(strstr(reason, "canary aborted at 50%: the rollout did not finish "
				 "within --timeout (2000 ms)"),
		  "%s", reason);
	json_decref(res);
	free(err);
	assert_env("ct", "1.0.0", 1);
	json_t *h = tp_history("ct");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "continue");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "rejected");
	json_decref(h);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "deploy " REL("2.0.0") " --env ct"), 2,
		     "%s", err);
	cr_assert(strstr(err, "is rejected in ct"), "%s", err);
	free(err);
}

/* Replace the tip of the ledger branch env/<env> with a copy whose
 * state.json has its "rollout" object's plan_sha renamed: a pause record
 * no mlctl can read (the message and trailers are kept). */
static void spoil_pause_record(const char *env)
{
	char *cmd = xasprintf(
		"set -e; export GIT_DIR=%s/ledger GIT_INDEX_FILE=%s/spoil.idx "
		"GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t "
		"GIT_COMMITTER_EMAIL=t@t; b=refs/heads/env/%s; "
		"git show $b:state.json | sed 's/\"plan_sha\"/\"plan_shx\"/' "
		">%s/spoil.json; grep -q plan_shx %s/spoil.json; "
		"blob=$(git hash-object -w %s/spoil.json); git read-tree $b; "
		"git update-index --cacheinfo 100644,$blob,state.json; "
		"tree=$(git write-tree); "
		"c=$(git log -1 --format=%%B $b | git commit-tree $tree -p $b^); "
		"git update-ref $b $c",
		tp_state, tp_dir, env, tp_dir, tp_dir, tp_dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	free(cmd);
}

Test(canary, an_unreadable_pause_record_refuses_rollouts_until_abort_clears_it)
{
	struct env_ports ports = { 0 };
	write_env("cu", 4, "haproxy", &ports, "[ { weight: 25, pause: manual } ]",
		  "{ interval: 500ms }");
	start_on("cu", REL("1.0.0"));
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 60, "deploy " REL("2.0.0") " --env cu"), 6,
		     "%s%s", out, err);
	free(out);
	free(err);
	spoil_pause_record("cu");
	/* no new rollout goes ahead over it: exit 2, naming the record and
	 * the way out */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "deploy " REL("2.1.0") " --env cu"), 2,
		     "%s%s", out, err);
	cr_assert(strstr(err, "cannot be read") && strstr(err, "state.json") &&
			  strstr(err, "env/cu") && strstr(err, "plan_sha") &&
			  strstr(err, "'mlctl abort --env cu'"),
		  "%s", err);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, &err, 60, "continue --env cu"), 2, "%s", err);
	cr_assert(strstr(err, "mlctl abort --env cu"), "%s", err);
	free(err);
	/* abort clears it: every node back on the ledger's current release,
	 * with its weights */
	cr_assert_eq(tp_mlctl(&out, &err, 60, "abort --env cu --reason 'spoilt'"), 0,
		     "%s%s", out, err);
	cr_assert(strstr(out, "back on 1.0.0"), "%s", out);
	free(out);
	free(err);
	assert_env("cu", "1.0.0", 1);
	json_t *e = status_env("cu");
	json_t *n4 = json_array_get(json_object_get(e, "nodes"), 3);
	json_t *loaded = json_object_get(n4, "loaded");
	cr_assert_eq(json_array_size(loaded), 1, "the canary's release is unloaded");
	cr_assert_str_eq(json_string_value(json_array_get(loaded, 0)), "1.0.0");
	json_decref(e);
	json_t *h = tp_history("cu");
	cr_assert_str_eq(tp_entry(h, 0, "action"), "abort");
	cr_assert_str_eq(tp_entry(h, 0, "outcome"), "aborted");
	cr_assert_str_eq(tp_entry(h, 0, "version"), "2.0.0");
	cr_assert(strstr(tp_entry(h, 0, "reason"), "spoilt"), "%s",
		  tp_entry(h, 0, "reason"));
	json_decref(h);
	/* and rollouts go again */
	cr_assert_eq(tp_mlctl(NULL, &err, 90, "deploy " REL("2.0.0") " --env cu "
					   "--strategy rolling"),
		     0, "%s", err);
	free(err);
	assert_env("cu", "2.0.0", 1);
}
