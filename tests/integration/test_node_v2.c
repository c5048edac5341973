/* test_node_v2.c — the node drivers against real processes: the v2 driver
 * against bin/mlserve (MLSERVE_BIN) on 127.0.0.1 port 0 with the eta
 * releases of examples/eta (probes, batch load and readiness, index,
 * metadata check, infer, unload, the bearer token, a tampered artifact
 * refused while the old version serves, an unreachable node), and the exec
 * driver with shell commands (success, failure, placeholders, a timeout
 * that kills the process group). Run from the repository root. */
#define _DEFAULT_SOURCE
#include "config.h"
#include "err.h"
#include "exitcode.h"
#include "node.h"
#include "proc.h"
#include "util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NODES 3

static char dir[256];
static struct proc procs[MAX_NODES];
static size_t n_procs;
static struct cfg_node nodes[MAX_NODES];
static const struct cfg_node *ptrs[MAX_NODES];
static char urls[MAX_NODES][64], names[MAX_NODES][16];
static struct cfg_env env;
static struct cfg_release *rel1, *rel2;

static struct cfg_release *release(const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = NULL;
	int rc = cfg_release_load(path, &r, &d);
	for (size_t i = 0; i < d.len; i++)
		cr_log_error("%s:%u:%u: %s", d.items[i].file, d.items[i].line,
			     d.items[i].col, d.items[i].msg);
	ml_diags_release(&d);
	cr_assert_eq(rc, 0, "cannot load %s (run from the repository root)",
		     path);
	return r;
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/mlctl-node-it-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	memset(&env, 0, sizeof env);
	env.name = "it";
	env.node_driver = CFG_NODE_V2;
	rel1 = release("examples/eta/release-1.0.0.yaml");
	rel2 = release("examples/eta/release-2.0.0.yaml");
}

static void teardown(void)
{
	for (size_t i = 0; i < n_procs; i++)
		if (procs[i].pid && proc_alive(&procs[i]))
			proc_stop(&procs[i], SIGKILL, 2000);
	cfg_release_free(rel1);
	cfg_release_free(rel2);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

static const char *mlserve_bin(void)
{
	const char *b = getenv("MLSERVE_BIN");
	if (!b || access(b, X_OK) != 0)
		cr_skip_test("MLSERVE_BIN is not an executable");
	return b;
}

/* Start mlserve node i (token: the admin token it requires, or NULL). */
static void start_node(size_t i, const char *token)
{
	char *argv[8];
	int n = 0;
	argv[n++] = (char *)mlserve_bin();
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	char envbuf[128];
	char *envv[2] = { NULL, NULL };
	if (token) {
		argv[n++] = "--admin-token-env";
		argv[n++] = "IT_NODE_ADMIN_TOKEN";
		snprintf(envbuf, sizeof envbuf, "IT_NODE_ADMIN_TOKEN=%s", token);
		envv[0] = envbuf;
	}
	argv[n] = NULL;
	char out[512], err[512];
	snprintf(out, sizeof out, "%s/node%zu.out", dir, i);
	snprintf(err, sizeof err, "%s/node%zu.err", dir, i);
	cr_assert_eq(proc_start(&procs[i], argv, envv, out, err), 0);
	if (n_procs <= i)
		n_procs = i + 1;
	if (proc_wait_listening(&procs[i], 5000) < 0) {
		char *e = proc_slurp(procs[i].err);
		cr_assert_fail("mlserve did not start: %s", e);
	}
	snprintf(names[i], sizeof names[i], "n%zu", i + 1);
	snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%d", procs[i].port);
	nodes[i].name = names[i];
	nodes[i].url = urls[i];
	nodes[i].host = "127.0.0.1";
	nodes[i].port = procs[i].port;
	ptrs[i] = &nodes[i];
	if (env.n_nodes <= i)
		env.n_nodes = i + 1;
	env.nodes = nodes;
}

/* A node entry for a port nothing listens on. */
static void dead_node(size_t i)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	snprintf(names[i], sizeof names[i], "dead");
	snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%d",
		 ntohs(a.sin_port));
	nodes[i].name = names[i];
	nodes[i].url = urls[i];
	nodes[i].port = ntohs(a.sin_port);
	ptrs[i] = &nodes[i];
}

/* eta for v=50, d=10 through node i; fills the served version. */
static double eta_50_10(size_t i, const char *version, char served[32])
{
	double v = 50, d = 10;
	struct node_input in[2] = { { "v", NULL, &v, 1 }, { "d", NULL, &d, 1 } };
	struct node_infer_result res;
	struct ml_err err = ML_ERR_INIT;
	int rc = node_infer(&env, &nodes[i], "eta", version, in, 2, &res, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(res.status, 200);
	const struct node_output *o = node_infer_output(&res, "eta");
	cr_assert_not_null(o);
	cr_assert_eq(o->n, 1);
	double x = o->data[0];
	snprintf(served, 32, "%s", res.model_version ? res.model_version : "");
	node_infer_result_release(&res);
	return x;
}

TestSuite(node_v2, .init = setup, .fini = teardown, .timeout = 60);

Test(node_v2, probes_on_a_fresh_node)
{
	start_node(0, NULL);
	bool yes = false;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_live(&env, &nodes[0], &yes, &err), 0, "%s", err.msg);
	cr_assert(yes);
	cr_assert_eq(node_ready(&env, &nodes[0], &yes, &err), 0, "%s", err.msg);
	cr_assert(yes);
	/* not loaded: an answer, not an error */
	cr_assert_eq(node_version_ready(&env, &nodes[0], "eta", "1.0.0", &yes,
					&err),
		     0, "%s", err.msg);
	cr_assert_not(yes);
	cr_assert_eq(err.code, 0);
	cr_assert(strstr(err.msg, "node n1 (http://127.0.0.1:") &&
			  strstr(err.msg, "version-ready eta 1.0.0: HTTP 404"),
		  "%s", err.msg);
	struct node_model_state *ms = NULL;
	size_t n = 99;
	cr_assert_eq(node_loaded_versions(&env, &nodes[0], &ms, &n, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(n, 0);
	node_model_states_free(ms, n);
}

Test(node_v2, batch_load_wait_index_metadata_infer_unload)
{
	start_node(0, NULL);
	start_node(1, NULL);
	struct node_result res[2];
	struct node_call call = NODE_CALL_INIT;

	call.op = NODE_OP_LOAD;
	call.rel = rel1;
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 0, "%s | %s",
		     res[0].err.msg, res[1].err.msg);
	cr_assert(res[0].yes && res[1].yes);
	cr_assert_eq(res[0].node, &nodes[0]);
	cr_assert_eq(res[1].status, 200);
	node_results_release(res, 2);

	cr_assert_eq(node_wait_ready_many(&env, ptrs, 2, "eta", "1.0.0", 5000, NULL,
					  res),
		     0, "%s | %s", res[0].err.msg, res[1].err.msg);
	node_results_release(res, 2);

	call = (struct node_call)NODE_CALL_INIT;
	call.op = NODE_OP_INDEX;
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(res[i].n_models, 1, "node %d lists %zu", i,
			     res[i].n_models);
		cr_assert_str_eq(res[i].models[0].name, "eta");
		cr_assert_str_eq(res[i].models[0].version, "1.0.0");
		cr_assert_str_eq(res[i].models[0].state, "READY");
	}
	node_results_release(res, 2);

	call = (struct node_call)NODE_CALL_INIT;
	call.op = NODE_OP_METADATA;
	call.rel = rel1;
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 0);
	cr_assert(res[0].yes, "%s", res[0].err.msg);
	cr_assert_eq(res[1].n_mismatches, 0);
	node_results_release(res, 2);

	char served[32];
	cr_assert_float_eq(eta_50_10(0, NULL, served), 0.2, 1e-9);
	cr_assert_str_eq(served, "1.0.0");

	/* 2.0.0 next to 1.0.0: unversioned infer follows the newest load */
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_load(&env, &nodes[0], rel2, &err), 0, "%s", err.msg);
	cr_assert_eq(node_wait_ready(&env, &nodes[0], "eta", "2.0.0", 5000, &err),
		     0, "%s", err.msg);
	cr_assert_float_eq(eta_50_10(0, NULL, served), 1.07 * 0.2 + 0.05, 1e-9);
	cr_assert_str_eq(served, "2.0.0");
	cr_assert_float_eq(eta_50_10(0, "1.0.0", served), 0.2, 1e-9);
	cr_assert_str_eq(served, "1.0.0");

	struct node_model_state *ms = NULL;
	size_t n = 0;
	cr_assert_eq(node_loaded_versions(&env, &nodes[0], &ms, &n, &err), 0);
	cr_assert_eq(n, 2);
	node_model_states_free(ms, n);

	/* unload 1.0.0 on both; a second unload finds nothing to do */
	call = (struct node_call)NODE_CALL_INIT;
	call.op = NODE_OP_UNLOAD;
	call.model = "eta";
	call.version = "1.0.0";
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 0,
		     "%s", res[0].err.msg);
	cr_assert(res[0].yes && res[1].yes);
	node_results_release(res, 2);
	bool yes = true;
	cr_assert_eq(node_version_ready(&env, &nodes[0], "eta", "1.0.0", &yes,
					&err),
		     0);
	cr_assert_not(yes);
	cr_assert_eq(node_run_many(&env, ptrs, 1, &call, NULL, res), 0);
	cr_assert_not(res[0].yes);
	cr_assert(strstr(res[0].err.msg, "not loaded"), "%s", res[0].err.msg);
	node_results_release(res, 1);
	cr_assert_eq(node_unload(&env, &nodes[0], "eta", "1.0.0", &err), 0);
	cr_assert_float_eq(eta_50_10(0, NULL, served), 1.07 * 0.2 + 0.05, 1e-9);
}

Test(node_v2, metadata_mismatches_are_reported)
{
	start_node(0, NULL);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), 0, "%s", err.msg);
	/* a release whose contract differs from what the node serves */
	struct cfg_expectations *e = &rel1->expectations;
	cr_assert_eq(e->n_inputs, 2);
	free(e->inputs[1].name);
	e->inputs[1].name = xstrdup("distance");
	e->outputs[0].type = CFG_T_INTEGER;
	char **mm = NULL;
	size_t n = 0;
	cr_assert_eq(node_metadata_check(&env, &nodes[0], rel1, &mm, &n, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(mm[0], "input 'distance': the release expects it, the "
				"node does not declare it");
	cr_assert_str_eq(mm[1], "input 'd': the node declares it, the release "
				"does not");
	cr_assert_str_eq(mm[2], "output 'eta': the node declares datatype FP64, "
				"the release expects a integer (INT64)");
	node_strings_free(mm, n);

	/* a version the node does not have: an error, not a mismatch */
	cr_assert_eq(node_metadata_check(&env, &nodes[0], rel2, &mm, &n, &err),
		     -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "metadata eta 2.0.0: HTTP 404"), "%s", err.msg);
}

Test(node_v2, bearer_token_from_the_environment_variable)
{
	start_node(0, "s3cret-t0ken");
	env.token_env = "IT_MLCTL_TOKEN";
	struct ml_err err = ML_ERR_INIT;

	unsetenv("IT_MLCTL_TOKEN");
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "refused: HTTP 401") &&
			  strstr(err.msg, "(IT_MLCTL_TOKEN is unset or empty)"),
		  "%s", err.msg);

	setenv("IT_MLCTL_TOKEN", "", 1);
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), -1);

	setenv("IT_MLCTL_TOKEN", "wrong", 1);
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), -1);
	cr_assert(strstr(err.msg, "was not accepted"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "wrong"), "the token leaked: %s",
		       err.msg);

	setenv("IT_MLCTL_TOKEN", "s3cret-t0ken", 1); /* read at call time */
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), 0, "%s", err.msg);
	struct node_model_state *ms = NULL;
	size_t n = 0;
	cr_assert_eq(node_loaded_versions(&env, &nodes[0], &ms, &n, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(n, 1);
	node_model_states_free(ms, n);
	/* health and inference need no token */
	unsetenv("IT_MLCTL_TOKEN");
	char served[32];
	eta_50_10(0, NULL, served);
	cr_assert_str_eq(served, "1.0.0");
	cr_assert_eq(node_wait_ready(&env, &nodes[0], "eta", "1.0.0", 2000, &err),
		     0, "%s", err.msg);
}

Test(node_v2, tampered_artifact_is_refused_and_the_old_version_serves)
{
	start_node(0, NULL);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), 0, "%s", err.msg);

	/* 2.0.0's model file, one byte changed, the manifest's old digest */
	char *buf = NULL;
	size_t len = 0;
	cr_assert_eq(read_file(rel2->artifact_path, 1 << 20, &buf, &len), 0);
	char *p = strstr(buf, "1.07");
	cr_assert_not_null(p);
	p[3] = '9'; /* 1.09 */
	char *copy = xasprintf("%s/eta-2.0.0.yaml", dir);
	FILE *f = fopen(copy, "w");
	cr_assert_not_null(f);
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	free(rel2->artifact_path);
	rel2->artifact_path = copy;

	cr_assert_eq(node_load(&env, &nodes[0], rel2, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	char want[200];
	snprintf(want, sizeof want, "node n1 (%s): load eta 2.0.0: refused: HTTP 4",
		 urls[0]);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	cr_assert(strstr(err.msg, "sha256") || strstr(err.msg, "checksum"), "%s",
		  err.msg);

	char served[32];
	cr_assert_float_eq(eta_50_10(0, NULL, served), 0.2, 1e-9);
	cr_assert_str_eq(served, "1.0.0");
	bool yes = true;
	cr_assert_eq(node_version_ready(&env, &nodes[0], "eta", "2.0.0", &yes,
					&err),
		     0);
	cr_assert_not(yes);
}

Test(node_v2, an_unreachable_node_is_an_operational_error)
{
	start_node(0, NULL);
	dead_node(1);
	struct node_result res[2];
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_LOAD;
	call.rel = rel1;
	call.timeout_ms = 2000;
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 1);
	cr_assert_eq(res[0].rc, 0, "%s", res[0].err.msg);
	cr_assert_eq(res[1].rc, -1);
	cr_assert_eq(res[1].err.code, ML_EXIT_OPERATIONAL);
	char want[300];
	snprintf(want, sizeof want,
		 "node dead (%s): load eta 1.0.0: connect to 127.0.0.1:%d failed: "
		 "Connection refused (3 attempts)",
		 urls[1], nodes[1].port);
	cr_assert_str_eq(res[1].err.msg, want);
	node_results_release(res, 2);

	bool yes = true;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_live(&env, &nodes[1], &yes, &err), -1);
	cr_assert_not(yes);

	double t0 = now_ms();
	cr_assert_eq(node_wait_ready_many(&env, ptrs, 2, "eta", "1.0.0", 400, NULL, res),
		     1);
	cr_assert_lt(now_ms() - t0, 3000);
	cr_assert_eq(res[0].rc, 0);
	cr_assert_eq(res[1].rc, -1);
	cr_assert(strstr(res[1].err.msg, "wait version-ready eta 1.0.0: not ready "
					 "after 400 ms; last answer: connect to"),
		  "%s", res[1].err.msg);
	node_results_release(res, 2);
}

/* ---- the exec driver ---------------------------------------------------- */

static void exec_env(const char *load, const char *unload, const char *ready,
		     long long timeout_ms)
{
	memset(&env, 0, sizeof env);
	env.name = "it-exec";
	env.node_driver = CFG_NODE_EXEC;
	env.exec.load = (char *)load;
	env.exec.unload = (char *)unload;
	env.exec.ready = (char *)ready;
	env.exec.timeout_ms = timeout_ms;
	for (size_t i = 0; i < 2; i++) {
		snprintf(names[i], sizeof names[i], "x%zu", i + 1);
		snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%zu", 9000 + i);
		nodes[i].name = names[i];
		nodes[i].url = urls[i];
		ptrs[i] = &nodes[i];
	}
	env.nodes = nodes;
	env.n_nodes = 2;
}

Test(node_v2, exec_true_false_and_placeholders)
{
	char load[600];
	snprintf(load, sizeof load,
		 "printf '%%s|' {node} {url} {model} {version} {sha256} "
		 "\"$MLCTL_NODE\" > %s/{node}.load; test -f {artifact}",
		 dir);
	exec_env(load, "echo cannot unload {version} on {node} >&2; exit 3",
		 "false", 0);
	struct node_result res[2];
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_LOAD;
	call.rel = rel2;
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 0, "%s",
		     res[0].err.msg);
	cr_assert(res[0].yes && res[1].yes);
	cr_assert_eq(res[0].status, 0);
	node_results_release(res, 2);
	for (int i = 0; i < 2; i++) {
		char path[400];
		snprintf(path, sizeof path, "%s/x%d.load", dir, i + 1);
		char *got = NULL;
		size_t len = 0;
		cr_assert_eq(read_file(path, 4096, &got, &len), 0, "%s", path);
		char want[400];
		snprintf(want, sizeof want, "x%d|http://127.0.0.1:%d|eta|2.0.0|%s|x%d|",
			 i + 1, 9000 + i, rel2->sha256, i + 1);
		cr_assert_str_eq(got, want);
		free(got);
	}

	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_unload(&env, &nodes[0], "eta", "1.0.0", &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert_str_eq(err.msg, "node x1 (http://127.0.0.1:9000): unload eta "
				  "1.0.0: exec.unload exited with status 3: "
				  "cannot unload 1.0.0 on x1");

	/* ready says no: an answer */
	bool yes = true;
	cr_assert_eq(node_version_ready(&env, &nodes[0], "eta", "2.0.0", &yes,
					&err),
		     0);
	cr_assert_not(yes);
	/* no exec.live: nothing to ask, the node counts as live */
	cr_assert_eq(node_live(&env, &nodes[0], &yes, &err), 0);
	cr_assert(yes);
	/* the repository index needs v2 */
	struct node_model_state *ms = NULL;
	size_t n = 0;
	cr_assert_eq(node_loaded_versions(&env, &nodes[0], &ms, &n, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_USAGE);
}

Test(node_v2, exec_timeout_kills_the_process_group)
{
	char marker[400];
	snprintf(marker, sizeof marker, "%s/survived", dir);
	char ready[600];
	/* a child in the background that would outlive the shell */
	snprintf(ready, sizeof ready,
		 "(sleep 2; touch %s) & echo waiting for {version}; sleep 30",
		 marker);
	exec_env("true", "true", ready, 300);
	struct node_result res[2];
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_VERSION_READY;
	call.model = "eta";
	call.version = "2.0.0";
	double t0 = now_ms();
	cr_assert_eq(node_run_many(&env, ptrs, 2, &call, NULL, res), 2);
	double took = now_ms() - t0;
	cr_assert_lt(took, 2500, "took %.0f ms", took);
	cr_assert_geq(took, 290);
	cr_assert_eq(res[0].err.code, ML_EXIT_OPERATIONAL);
	cr_assert_str_eq(res[0].err.msg,
			 "node x1 (http://127.0.0.1:9000): version-ready eta "
			 "2.0.0: exec.ready timed out after 300 ms; its process "
			 "group was killed: waiting for 2.0.0");
	cr_assert_eq(res[1].status, -1);
	node_results_release(res, 2);

	/* wait_ready with exec gives up at its own deadline */
	struct ml_err err = ML_ERR_INIT;
	exec_env("true", "true", "exit 1", 0);
	t0 = now_ms();
	cr_assert_eq(node_wait_ready(&env, &nodes[0], "eta", "2.0.0", 300, &err),
		     -1);
	cr_assert_lt(now_ms() - t0, 2000);
	cr_assert(strstr(err.msg, "not ready after 300 ms; last answer: "
				  "exec.ready exited with status 1"),
		  "%s", err.msg);

	sleep(2);
	usleep(300000);
	cr_assert_eq(access(marker, F_OK), -1,
		     "the background child survived the group kill");
}

Test(node_v2, exec_round_trip_through_the_real_node)
{
	/* exec commands that drive mlserve with curl(1): the same node, two
	 * drivers */
	if (access("/usr/bin/curl", X_OK) != 0)
		cr_skip_test("no curl(1)");
	start_node(0, NULL);
	char load[700], ready[300];
	snprintf(load, sizeof load,
		 "curl -sf -X POST {url}/v2/repository/models/{model}/load "
		 "-d '{\"parameters\":{\"version\":\"'{version}'\","
		 "\"artifact\":\"'{artifact}'\",\"sha256\":\"'{sha256}'\"}}'");
	snprintf(ready, sizeof ready,
		 "curl -sf {url}/v2/models/{model}/versions/{version}/ready");
	char url0[64];
	snprintf(url0, sizeof url0, "%s", urls[0]);
	exec_env(load, "true", ready, 5000);
	snprintf(urls[0], sizeof urls[0], "%s", url0);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_load(&env, &nodes[0], rel1, &err), 0, "%s", err.msg);
	cr_assert_eq(node_wait_ready(&env, &nodes[0], "eta", "1.0.0", 3000, &err),
		     0, "%s", err.msg);
	char served[32];
	cr_assert_float_eq(eta_50_10(0, NULL, served), 0.2, 1e-9);
	cr_assert_str_eq(served, "1.0.0");
}
