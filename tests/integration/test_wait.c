/* test_wait.c — `mlctl wait` end to end: the real mlctl waits on real
 * mlserve nodes and a real haproxy on 127.0.0.1 (free ports) in a temporary
 * project. It times out with exit 7 within its timeout while nothing runs,
 * returns 0 once `up` has started the nodes, sees which version takes live
 * traffic (blue/green: only the pool in rotation), waits out a held lock,
 * and a wait started before a deploy ends when that deploy has finished. */
#define _DEFAULT_SOURCE
#include "lock.h"
#include "tproject.h"
#include "util.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(wait, .init = tp_setup, .fini = tp_teardown, .timeout = 180);

static json_t *json_of(const char *out)
{
	json_t *root = json_loads(out, 0, NULL);
	cr_assert_not_null(root, "wait JSON: %s", out);
	return root;
}

/* `mlctl wait ARGS` in the background, stdout to `outfile`. */
static pid_t wait_start(const char *outfile, const char *const *args)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		const char *argv[24] = { "mlctl", "-C", tp_dir, "--state", tp_state,
					 "--no-color", "wait" };
		size_t n = 7;
		for (size_t i = 0; args[i] && n < 23; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execv(getenv("MLCTL_BIN"), (char *const *)argv);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	return pid;
}

/* The exit status of pid within timeout_s, else kill it and fail. */
static int wait_exit(pid_t pid, int timeout_s)
{
	int st = 0;
	for (int i = 0; i < timeout_s * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	cr_assert_fail("mlctl wait did not end within %d s", timeout_s);
	return -1;
}

Test(wait, bad_usage_and_unknown_env_exit_2)
{
	tp_write_env("wu", 1, "none", "{ type: recreate }");
	char *err = NULL;
	cr_assert_eq(tp_mlctl(NULL, &err, 30, "wait --env wu --for bogus"), 2);
	cr_assert(strstr(err, "--for takes"), "%s", err);
	free(err);
	cr_assert_eq(tp_mlctl(NULL, NULL, 30, "wait --env wu --for live=1.0.0"), 2);
	cr_assert_eq(tp_mlctl(NULL, NULL, 30, "wait --env wu --timeout soon"), 2);
	cr_assert_eq(tp_mlctl(NULL, NULL, 30, "wait --env wu --interval 1ms"), 2);
	cr_assert_eq(tp_mlctl(NULL, NULL, 30, "wait"), 2);
	cr_assert_eq(tp_mlctl(NULL, &err, 30, "wait --env wx --for live"), 2);
	cr_assert(strstr(err, "did you mean 'wu'"), "%s", err);
	free(err);
}

Test(wait, live_times_out_before_up_and_returns_after_up)
{
	tp_write_env("wl", 2, "none", "{ type: recreate }");
	char *out = NULL, *err = NULL;
	double t0 = now_ms();
	cr_assert_eq(tp_mlctl(&out, &err, 30, "wait --env wl --for live --timeout 1s"), 7,
		     "%s%s", out, err);
	double took = now_ms() - t0;
	cr_assert(took >= 900 && took < 4000, "timed out after %.0f ms", took);
	cr_assert(strstr(out, "wl: timed out after"), "%s", out);
	cr_assert(strstr(out, "wl-1 not live (connection refused)"), "%s", out);
	cr_assert(strstr(err, "waiting for live"), "progress on stderr: %s", err);
	free(out);
	free(err);
	/* the JSON document of a timeout: what is missing, node by node */
	cr_assert_eq(tp_mlctl(&out, NULL, 30,
			      "wait --env wl --for ready --timeout 0s --output json"),
		     7);
	json_t *j = json_of(out);
	cr_assert_str_eq(json_string_value(json_object_get(j, "env")), "wl");
	cr_assert_str_eq(json_string_value(json_object_get(j, "for")), "ready");
	cr_assert(json_is_false(json_object_get(j, "met")));
	cr_assert(json_is_number(json_object_get(j, "waited_s")));
	json_t *m = json_object_get(j, "missing");
	cr_assert_eq(json_array_size(m), 2, "%s", out);
	cr_assert(strstr(json_string_value(json_array_get(m, 1)), "wl-2 not ready"),
		  "%s", out);
	json_decref(j);
	free(out);

	tp_ok("up wl");
	cr_assert_eq(tp_mlctl(&out, &err, 30, "wait --env wl --for live --timeout 20s"), 0,
		     "%s%s", out, err);
	cr_assert(strstr(out, "wl: live (2 nodes) after"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, NULL, 30,
			      "wait --env wl --for ready --timeout 20s --output json"),
		     0);
	j = json_of(out);
	cr_assert(json_is_true(json_object_get(j, "met")));
	cr_assert_eq(json_array_size(json_object_get(j, "missing")), 0);
	cr_assert(json_is_number(json_object_get(j, "waited_s")));
	json_decref(j);
	free(out);
	/* nothing deployed: running, but not settled */
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "wait --env wl --timeout 1s"), 7);
	cr_assert(strstr(out, "nothing deployed to wl yet"), "%s", out);
	free(out);
}

Test(wait, serving_follows_the_traffic_through_haproxy)
{
	/* blue/green: after the first deploy one pool takes all traffic and
	 * the other serves nothing with weight 0 */
	tp_write_env("wb", 4, "haproxy", "{ type: bluegreen }");
	tp_ok("up wb");
	tp_ok("deploy " REL("1.0.0") " --env wb");
	char *out = NULL, *err = NULL;
	cr_assert_eq(tp_mlctl(&out, &err, 30,
			      "wait --env wb --for serving=1.0.0 --timeout 20s"),
		     0, "%s%s", out, err);
	cr_assert(strstr(out, "wb: serving=1.0.0 (eta 1.0.0 on 2 of 4 nodes)"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, &err, 30,
			      "wait --env wb --for serving=2.0.0 --timeout 1s"),
		     7, "%s%s", out, err);
	cr_assert(strstr(out, "serves eta 1.0.0, not 2.0.0"), "%s", out);
	free(out);
	free(err);
	/* settled (the default): idle, ready, serving the ledger's release */
	cr_assert_eq(tp_mlctl(&out, &err, 30, "wait --env wb --timeout 20s"), 0,
		     "%s%s", out, err);
	cr_assert(strstr(out, "wb: settled (eta 1.0.0 on 2 of 4 nodes) after"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(tp_mlctl(&out, NULL, 30,
			      "wait --env wb --for serving --output json --timeout 20s"),
		     0);
	json_t *j = json_of(out);
	cr_assert_str_eq(json_string_value(json_object_get(j, "for")), "serving");
	cr_assert_str_eq(json_string_value(json_object_get(j, "model")), "eta");
	cr_assert_str_eq(json_string_value(json_object_get(j, "version")), "1.0.0");
	json_decref(j);
	free(out);
	/* the router gone: traffic can no longer be told, so not serving */
	tp_ok("down wb");
	cr_assert_eq(tp_mlctl(&out, NULL, 30,
			      "wait --env wb --for serving=1.0.0 --timeout 0s"),
		     7);
	cr_assert(strstr(out, "router haproxy not running"), "%s", out);
	free(out);
}

Test(wait, idle_waits_for_the_lock_holder)
{
	tp_write_env("wi", 1, "none", "{ type: recreate }");
	tp_ok("up wi");
	tp_ok("deploy " REL("1.0.0") " --env wi");
	struct lock *lk = NULL;
	struct ml_err e = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(tp_state, "wi", "deploy eta 9.9.9", &lk, &e), 0,
		     "%s", e.msg);
	char *out = NULL;
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "wait --env wi --for idle --timeout 1s"), 7);
	cr_assert(strstr(out, "a rollout is running") && strstr(out, "deploy eta 9.9.9"),
		  "%s", out);
	free(out);
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "wait --env wi --timeout 1s"), 7);
	free(out);
	/* a wait in progress ends once the lock is let go */
	char bg[400];
	snprintf(bg, sizeof(bg), "%s/wait-idle.txt", tp_dir);
	const char *args[] = { "--env", "wi", "--for", "idle", "--timeout", "60s",
			       "--interval", "100ms", NULL };
	pid_t pid = wait_start(bg, args);
	usleep(500000);
	cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "still waiting while locked");
	lock_release(lk);
	cr_assert_eq(wait_exit(pid, 20), 0);
	char *txt = NULL;
	cr_assert_eq(read_file(bg, 1 << 16, &txt, NULL), 0);
	cr_assert(strstr(txt, "wi: idle"), "%s", txt);
	free(txt);
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "wait --env wi --timeout 10s"), 0);
	cr_assert(strstr(out, "wi: settled (eta 1.0.0 on 1 node) after"), "%s", out);
	free(out);
}

Test(wait, a_wait_started_before_a_deploy_ends_when_it_has_finished)
{
	tp_write_env("wd", 2, "haproxy", "{ type: rolling }");
	tp_ok("up wd");
	tp_ok("deploy " REL("1.0.0") " --env wd");
	char settled_out[400], serving_out[400];
	snprintf(settled_out, sizeof(settled_out), "%s/wait-settled.json", tp_dir);
	snprintf(serving_out, sizeof(serving_out), "%s/wait-serving.txt", tp_dir);
	const char *settled[] = { "--for", "settled=2.0.0", "--env", "wd",
				  "--timeout", "60s", "--output", "json", NULL };
	const char *serving[] = { "--env", "wd", "--for=serving=2.0.0",
				  "--timeout=60s", "--interval=200ms", NULL };
	pid_t p1 = wait_start(settled_out, settled);
	pid_t p2 = wait_start(serving_out, serving);
	usleep(1000000);
	cr_assert_eq(waitpid(p1, NULL, WNOHANG), 0, "settled=2.0.0 still waiting");
	cr_assert_eq(waitpid(p2, NULL, WNOHANG), 0, "serving=2.0.0 still waiting");
	tp_ok("deploy " REL("2.0.0") " --env wd");
	cr_assert_eq(wait_exit(p1, 20), 0);
	cr_assert_eq(wait_exit(p2, 20), 0);
	char *txt = NULL;
	cr_assert_eq(read_file(settled_out, 1 << 16, &txt, NULL), 0);
	json_t *j = json_of(txt);
	cr_assert_str_eq(json_string_value(json_object_get(j, "env")), "wd");
	cr_assert_str_eq(json_string_value(json_object_get(j, "for")), "settled=2.0.0");
	cr_assert(json_is_true(json_object_get(j, "met")));
	cr_assert_eq(json_array_size(json_object_get(j, "missing")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(j, "version")), "2.0.0");
	cr_assert_geq(json_number_value(json_object_get(j, "waited_s")), 1.0);
	json_decref(j);
	free(txt);
	cr_assert_eq(read_file(serving_out, 1 << 16, &txt, NULL), 0);
	/* all traffic on 2.0.0: maybe while the rolling deploy still drains
	 * its last wave ("on 1 of 2 nodes") */
	cr_assert(strstr(txt, "wd: serving=2.0.0 (eta 2.0.0 on "), "%s", txt);
	free(txt);
	tp_assert_serving("wd", "2.0.0");
}
