/* test_up_down.c — `mlctl up` and `mlctl down` as a user runs them
 * (MLCTL_BIN, with bin/mlserve beside it): the repository's envs/ copied
 * into a temporary project with every port rewritten to a free one, then
 * up (every managed environment: nodes live, routers answering, pid files
 * and logs under the state dir), up again (idempotent, same pids), down
 * (every process gone, by pid), plus the failures: unknown and unmanaged
 * environments (exit 2), a node port held by a stranger (exit 3), a node
 * that died before down, and router weights restored after down/up. Run
 * from the repository root; every process is stopped in teardown. */
#define _DEFAULT_SOURCE
#include "rtest.h"

#include "core/config.h"
#include "core/proc.h"
#include "core/project.h"
#include "core/router.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char *proj, *state;

/* the rewritten ports: original -> free */
#define MAXPORTS 32
static int port_from[MAXPORTS], port_to[MAXPORTS], n_ports;

static int port_of(int original)
{
	for (int i = 0; i < n_ports; i++)
		if (port_from[i] == original)
			return port_to[i];
	cr_assert_fail("port %d not rewritten", original);
	return -1;
}

static int new_port(void)
{
	for (;;) {
		int p = rtt_free_port();
		bool dup = false;
		for (int i = 0; i < n_ports; i++)
			dup |= port_to[i] == p;
		if (!dup)
			return p;
	}
}

/* Copy the YAML files of envs/ with every 127.0.0.1:PORT rewritten. */
static void copy_envs(void)
{
	char *dst = path_join(proj, "envs");
	cr_assert_eq(mkdir(dst, 0755), 0);
	DIR *d = opendir("envs");
	cr_assert_not_null(d, "run from the repository root (envs/)");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!str_has_suffix(de->d_name, ".yaml"))
			continue;
		char *src = path_join("envs", de->d_name), *text = NULL;
		size_t len;
		cr_assert_eq(read_file(src, 1 << 20, &text, &len), 0);
		char *out = xstrdup("");
		const char *p = text;
		const char *key = "127.0.0.1:";
		for (const char *hit; (hit = strstr(p, key));) {
			hit += strlen(key);
			int orig = atoi(hit);
			int to = -1;
			for (int i = 0; i < n_ports; i++)
				if (port_from[i] == orig)
					to = port_to[i];
			if (to < 0) {
				cr_assert(n_ports < MAXPORTS);
				to = new_port();
				port_from[n_ports] = orig;
				port_to[n_ports++] = to;
			}
			char *more = xasprintf("%s%.*s%d", out, (int)(hit - p), p,
					       to);
			free(out);
			out = more;
			p = hit;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		char *more = xasprintf("%s%s", out, p);
		free(out);
		char *to = path_join(dst, de->d_name);
		rtt_write(to, more);
		free(to);
		free(more);
		free(text);
		free(src);
	}
	closedir(d);
	free(dst);
}

static void setup(void)
{
	proj = rtt_tmpdir("mlctl-updown-it");
	state = path_join(proj, "state");
	n_ports = 0;
	copy_envs();
}

/* Whatever up left behind, stopped by pid from the pid files. */
static void stop_all(void)
{
	char *run = path_join(state, "run");
	DIR *d = opendir(run);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *env_dir = path_join(run, de->d_name);
		DIR *e = opendir(env_dir);
		struct dirent *f;
		while (e && (f = readdir(e))) {
			if (!str_has_suffix(f->d_name, ".pid"))
				continue;
			char *name = xstrndup(f->d_name, strlen(f->d_name) - 4);
			struct ml_err err = ML_ERR_INIT;
			pid_t pid = proc_running(env_dir, name, NULL);
			if (pid)
				proc_terminate_pid(pid, 3000, NULL, &err);
			free(name);
		}
		if (e)
			closedir(e);
		free(env_dir);
	}
	if (d)
		closedir(d);
	free(run);
}

static void teardown(void)
{
	stop_all();
	rtt_rm_rf(proj);
	free(proj);
	free(state);
}

TestSuite(updown, .init = setup, .fini = teardown, .timeout = 120);

static const char *mlctl_bin(void)
{
	const char *b = getenv("MLCTL_BIN");
	if (!b || !*b)
		b = "bin/mlctl";
	if (access(b, X_OK) != 0)
		cr_skip_test("no mlctl at %s (set MLCTL_BIN)", b);
	rtt_mlserve_bin(); /* up needs mlserve beside mlctl */
	return b;
}

/* Run mlctl -C proj --state state ARGS...; its exit status, and its
 * stdout + stderr in *out (caller frees). */
static int mlctl(char **out, const char *a1, const char *a2, const char *a3)
{
	char *bin = path_real(mlctl_bin());
	char *argv[] = { bin, "-C", proj, "--state", state, (char *)a1,
			 (char *)a2, (char *)a3, NULL };
	int status = -1;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(proc_run(argv, 90000, out, &status, &err), 0, "%s",
		     err.msg);
	free(bin);
	return status;
}

static struct cfg_env *load_env(const char *name)
{
	char *rel = xasprintf("envs/%s.yaml", name);
	char *path = path_join(proj, rel);
	struct cfg_env *env = NULL;
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(cfg_env_load(path, &env, &d), 0, "%s", path);
	ml_diags_release(&d);
	free(path);
	free(rel);
	return env;
}

static char *run_dir(const char *env)
{
	char *rel = xasprintf("run/%s", env);
	char *p = path_join(state, rel);
	free(rel);
	return p;
}

static pid_t node_pid(const char *env, const char *node)
{
	char *dir = run_dir(env);
	pid_t pid = proc_running(dir, node, "--listen");
	free(dir);
	return pid;
}

/* Every node of every managed env runs, is live, and has a log. */
static void expect_all_up(const char **envs, size_t n_envs)
{
	for (size_t k = 0; k < n_envs; k++) {
		struct cfg_env *env = load_env(envs[k]);
		char *dir = run_dir(env->name);
		for (size_t i = 0; i < env->n_nodes; i++) {
			const struct cfg_node *node = &env->nodes[i];
			cr_assert(node_pid(env->name, node->name) > 0,
				  "%s has no running pid file", node->name);
			cr_assert_eq(rtt_get(node->port, "/v2/health/live", NULL),
				     200, "%s not live", node->name);
			char *log = xasprintf("%s/%s.log", dir, node->name);
			cr_assert(path_is_file(log), "%s", log);
			free(log);
		}
		if (env->router_driver != CFG_ROUTER_NONE) {
			cr_assert(router_running(env, dir) > 0, "%s router",
				  env->name);
			cr_assert_eq(rtt_get(env->listen.port, "/v2", NULL), 200,
				     "%s router answers", env->name);
			if (env->preview.set)
				cr_assert_eq(rtt_get(env->preview.port, "/v2",
						     NULL),
					     200, "%s preview answers", env->name);
		}
		free(dir);
		cfg_env_free(env);
	}
}

static const char *all_envs[] = { "dev", "test", "staging", "prod" };

Test(updown, up_starts_every_managed_env_again_is_a_no_op_and_down_stops_all)
{
	char *out = NULL;
	int st = mlctl(&out, "up", NULL, NULL);
	cr_assert_eq(st, 0, "mlctl up: %d\n%s", st, out);
	cr_assert(strstr(out, "prod-4") && strstr(out, "started"), "%s", out);
	free(out);
	expect_all_up(all_envs, 4);
	pid_t before = node_pid("prod", "prod-2");

	/* again: everything reported running, nothing restarted */
	st = mlctl(&out, "--quiet", "--output=json", "up");
	cr_assert_eq(st, 0, "%s", out);
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	cr_assert_not_null(doc, "not one JSON document: %s\n%s", jerr.text, out);
	json_t *envs = json_object_get(doc, "environments");
	cr_assert_eq(json_array_size(envs), 4);
	size_t n_procs = 0, i;
	json_t *e;
	json_array_foreach(envs, i, e) {
		size_t j;
		json_t *pr;
		json_array_foreach(json_object_get(e, "processes"), j, pr) {
			n_procs++;
			cr_assert_str_eq(json_string_value(json_object_get(pr,
									   "state")),
					 "running", "%s",
					 json_string_value(json_object_get(pr, "name")));
			cr_assert(json_integer_value(json_object_get(pr, "pid")) > 0);
		}
	}
	cr_assert_eq(n_procs, 1 + 1 + 3 + 5, "8 nodes and 2 routers");
	cr_assert(json_is_true(json_object_get(doc, "ok")));
	json_decref(doc);
	free(out);
	cr_assert_eq(node_pid("prod", "prod-2"), before, "not restarted");

	/* down: every process exits, pid files go */
	struct cfg_env *prod = load_env("prod");
	char *prod_dir = run_dir("prod");
	pid_t router = router_running(prod, prod_dir);
	st = mlctl(&out, "down", NULL, NULL);
	cr_assert_eq(st, 0, "mlctl down: %s", out);
	cr_assert(strstr(out, "stopped"), "%s", out);
	free(out);
	cr_assert_not(proc_pid_alive(before, NULL), "prod-2 gone");
	cr_assert_not(proc_pid_alive(router, NULL), "prod router gone");
	for (size_t k = 0; k < 4; k++) {
		struct cfg_env *env = load_env(all_envs[k]);
		char *dir = run_dir(env->name);
		for (size_t n = 0; n < env->n_nodes; n++) {
			char *pidf = xasprintf("%s/%s.pid", dir,
					       env->nodes[n].name);
			cr_assert_not(path_is_file(pidf), "%s left", pidf);
			free(pidf);
			cr_assert_not(proc_port_open("127.0.0.1",
						     env->nodes[n].port),
				      "%s still listening", env->nodes[n].name);
		}
		cr_assert_eq(router_running(env, dir), 0);
		free(dir);
		cfg_env_free(env);
	}
	/* and down again has nothing to do */
	st = mlctl(&out, "down", "prod", NULL);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "not running"), "%s", out);
	free(out);
	free(prod_dir);
	cfg_env_free(prod);
}

Test(updown, unknown_and_unmanaged_environments_are_usage_errors)
{
	char *out = NULL;
	int st = mlctl(&out, "up", "prdo", NULL);
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "no environment named 'prdo' (did you mean "
			      "'prod'?)"),
		  "%s", out);
	free(out);
	/* dev, unmanaged */
	char *dev = path_join(proj, "envs/dev.yaml"), *text = NULL;
	size_t len;
	cr_assert_eq(read_file(dev, 1 << 20, &text, &len), 0);
	char *m = strstr(text, "managed: true");
	cr_assert_not_null(m);
	char *edited = xasprintf("%.*smanaged: false%s", (int)(m - text), text,
				 m + strlen("managed: true"));
	rtt_write(dev, edited);
	free(edited);
	st = mlctl(&out, "up", "dev", NULL);
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "environment 'dev' is not managed"), "%s", out);
	free(out);
	st = mlctl(&out, "down", "--bogus", NULL);
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "unknown option '--bogus'"), "%s", out);
	free(out);
	free(text);
	free(dev);
}

Test(updown, a_node_port_held_by_a_stranger_fails_up_with_exit_3)
{
	int port = port_of(8101); /* dev-1 */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	char *out = NULL;
	int st = mlctl(&out, "up", "dev", NULL);
	close(fd);
	cr_assert_eq(st, 3, "%s", out);
	char *want = xasprintf("node dev-1: 127.0.0.1:%d is in use by a process "
			       "mlctl did not start",
			       port);
	cr_assert(strstr(out, want), "%s", out);
	cr_assert(strstr(out, "failed"), "%s", out);
	cr_assert_eq(node_pid("dev", "dev-1"), 0);
	free(want);
	free(out);
}

Test(updown, down_reports_a_node_that_died_and_stops_the_rest)
{
	char *out = NULL;
	int st = mlctl(&out, "up", "staging", NULL);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	pid_t dead = node_pid("staging", "staging-1");
	pid_t alive = node_pid("staging", "staging-2");
	cr_assert(dead > 0 && alive > 0);
	kill(dead, SIGKILL);
	for (int i = 0; i < 200 && proc_pid_alive(dead, NULL); i++)
		usleep(10000);
	st = mlctl(&out, "down", "staging", NULL);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "staging-1") && strstr(out, "not running"), "%s",
		  out);
	cr_assert_not(proc_pid_alive(alive, NULL));
	free(out);
}

/* A typo in one environment's file must not strand its processes, nor
 * hold up status and down of the others. */
Test(updown, an_invalid_env_file_does_not_strand_its_processes)
{
	char *out = NULL;
	int st = mlctl(&out, "up", "staging", "test");
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	struct cfg_env *staging = load_env("staging");
	char *dir = run_dir("staging");
	pid_t router = router_running(staging, dir);
	pid_t n1 = node_pid("staging", "staging-1");
	pid_t t1 = node_pid("test", "test-1");
	cr_assert(router > 0 && n1 > 0 && t1 > 0);
	char *path = path_join(proj, "envs/staging.yaml"), *text = NULL;
	size_t len;
	cr_assert_eq(read_file(path, 1 << 20, &text, &len), 0);
	char *m = strstr(text, "tier: staging");
	cr_assert_not_null(m);
	char *edited = xasprintf("%.*stier: stagign%s", (int)(m - text), text,
				 m + strlen("tier: staging"));
	rtt_write(path, edited);
	free(edited);
	/* status of another environment goes on, with a warning */
	st = mlctl(&out, "status", "--env", "test");
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "envs/staging.yaml is not valid and is left out"),
		  "%s", out);
	free(out);
	/* but not of the broken one itself */
	st = mlctl(&out, "status", "--env", "staging");
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "found 'stagign'"), "%s", out);
	free(out);
	/* down stops the broken environment by its pid files, and the rest */
	st = mlctl(&out, "down", NULL, NULL);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "down staging: staging-1 stopped (pid"), "%s", out);
	cr_assert(strstr(out, "by its pid file"), "%s", out);
	free(out);
	for (int i = 0; i < 200 && (proc_pid_alive(router, NULL) ||
				    proc_pid_alive(n1, NULL) ||
				    proc_pid_alive(t1, NULL));
	     i++)
		usleep(10000);
	cr_assert_not(proc_pid_alive(router, NULL), "router stopped");
	cr_assert_not(proc_pid_alive(n1, NULL), "staging-1 stopped");
	cr_assert_not(proc_pid_alive(t1, NULL), "test-1 stopped");
	free(text);
	free(path);
	free(dir);
	cfg_env_free(staging);
}

Test(updown, router_weights_survive_down_and_up)
{
	char *out = NULL;
	int st = mlctl(&out, "up", "prod", NULL);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	struct cfg_env *prod = load_env("prod");
	char *dir = run_dir("prod");
	int w[] = { 1, 1, 0, 0 };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_set_weights(prod, dir, w, &err), 0, "%s", err.msg);
	st = mlctl(&out, "down", "prod", NULL);
	cr_assert_eq(st, 0, "%s", out);
	free(out);
	st = mlctl(&out, "up", "prod", NULL);
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "with the saved weights"), "%s", out);
	free(out);
	int gl[4], gp[4];
	cr_assert_eq(router_get_weights(prod, dir, gl, gp, &err), 0, "%s",
		     err.msg);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(gl[i], w[i], "live[%d] = %d", i, gl[i]);
	/* traffic follows: prod-3 gets none */
	long before = rtt_count(prod->nodes[2].port, "metadata");
	for (int i = 0; i < 10; i++)
		cr_assert_eq(rtt_get(prod->listen.port, "/v2", NULL), 200);
	cr_assert_eq(rtt_count(prod->nodes[2].port, "metadata"), before);
	free(dir);
	cfg_env_free(prod);
}
