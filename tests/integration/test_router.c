/* test_router.c — the router drivers against real routers: haproxy and
 * nginx started by core/router on free 127.0.0.1 ports in front of 2-3
 * real mlserve nodes (MLSERVE_BIN). Weights are moved and the nodes'
 * /metrics counters say who got the traffic; haproxy weight flips under a
 * bounded wrk load must cost 0 non-2xx and 0 socket errors (nginx's figure
 * is printed, not asserted: a reload closes idle keep-alive connections);
 * nginx configs refused by `nginx -t` or by the reload itself leave the
 * old config serving. Every process is stopped by pid in teardown. */
#define _DEFAULT_SOURCE
#include "rtest.h"

#include "core/config.h"
#include "core/exitcode.h"
#include "core/proc.h"
#include "core/router.h"
#include "core/router_driver.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXN 4

static char *dir, *run_dir;
static pid_t node_pid[MAXN];
static int node_port[MAXN];
static int n_nodes;
static int listen_port, preview_port;
static struct cfg_env *env;

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void setup(void)
{
	dir = rtt_tmpdir("mlctl-router-it");
	run_dir = path_join(dir, "state/run/it");
	n_nodes = 0;
	env = NULL;
}

static void teardown(void)
{
	struct ml_err err = ML_ERR_INIT;
	if (env)
		router_stop(env, run_dir, &err);
	for (int i = 0; i < n_nodes; i++)
		if (node_pid[i] > 0)
			proc_terminate_pid(node_pid[i], 3000, NULL, &err);
	cfg_env_free(env);
	env = NULL;
	rtt_rm_rf(dir);
	free(dir);
	free(run_dir);
}

TestSuite(router, .init = setup, .fini = teardown, .timeout = 90);

/* n real nodes, then the environment naming them (node `dead_last`: the
 * last node is a port nobody listens on). */
static void make_env(const char *driver, int n, bool dead_last)
{
	char *yaml = xstrdup("apiVersion: mlctl/v1\n"
			     "kind: Environment\n"
			     "name: it\n"
			     "tier: staging\n"
			     "nodes:\n");
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "it-%d", i + 1);
		if (dead_last && i == n - 1) {
			node_port[i] = rtt_free_port();
			node_pid[i] = 0;
		} else {
			node_port[i] = rtt_start_mlserve(dir, name, &node_pid[i]);
		}
		n_nodes = i + 1;
		char *more = xasprintf("%s  - { name: %s, url: "
				       "\"http://127.0.0.1:%d\" }\n",
				       yaml, name, node_port[i]);
		free(yaml);
		yaml = more;
	}
	listen_port = rtt_free_port();
	preview_port = rtt_free_port();
	char *more = xasprintf("%srouter: { driver: %s, listen: "
			       "\"127.0.0.1:%d\", preview: \"127.0.0.1:%d\" }\n",
			       yaml, driver, listen_port, preview_port);
	free(yaml);
	char *path = path_join(dir, "it.yaml");
	rtt_write(path, more);
	free(more);
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(cfg_env_load(path, &env, &d), 0, "env: %s",
		     d.len ? d.items[0].msg : "?");
	ml_diags_release(&d);
	free(path);
}

static void start_router(const int *live, const int *preview)
{
	struct ml_err err = ML_ERR_INIT;
	pid_t pid = 0;
	cr_assert_eq(router_start(env, run_dir, live, preview, &pid, &err), 0,
		     "%s", err.msg);
	cr_assert(pid > 0);
	cr_assert_eq(router_running(env, run_dir), pid);
}

/* Send k requests through `port`, all must answer 200; then how many each
 * node got (metadata requests counted by the node itself). */
static void traffic(int port, int k, long *got)
{
	long before[MAXN];
	for (int i = 0; i < n_nodes; i++)
		before[i] = node_pid[i] ? rtt_count(node_port[i], "metadata") : 0;
	for (int r = 0; r < k; r++) {
		int st = rtt_get(port, "/v2", NULL);
		cr_assert_eq(st, 200, "request %d through port %d: status %d", r,
			     port, st);
	}
	for (int i = 0; i < n_nodes; i++)
		got[i] = node_pid[i] ? rtt_count(node_port[i], "metadata") -
					       before[i]
				     : 0;
}

static void set_live(const int *w)
{
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_set_weights(env, run_dir, w, &err), 0, "%s",
		     err.msg);
}

static void expect_weights(const int *live, const int *preview)
{
	int gl[MAXN], gp[MAXN];
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_get_weights(env, run_dir, gl, gp, &err), 0, "%s",
		     err.msg);
	for (int i = 0; i < n_nodes; i++) {
		if (live)
			cr_assert_eq(gl[i], live[i], "live[%d] %d != %d", i,
				     gl[i], live[i]);
		if (preview)
			cr_assert_eq(gp[i], preview[i], "preview[%d] %d != %d",
				     i, gp[i], preview[i]);
	}
}

/* Weights move traffic; both listeners; get_weights agrees. */
static void weights_move_traffic(const char *driver)
{
	make_env(driver, 3, false);
	start_router(NULL, NULL);
	long got[MAXN];
	traffic(listen_port, 30, got);
	for (int i = 0; i < 3; i++)
		cr_assert(got[i] >= 5, "%s equal weights: node %d got %ld of 30",
			  driver, i + 1, got[i]);

	int only1[] = { 1, 0, 0 };
	set_live(only1);
	traffic(listen_port, 20, got);
	cr_assert(got[0] == 20 && got[1] == 0 && got[2] == 0,
		  "%s live {1,0,0}: %ld %ld %ld", driver, got[0], got[1],
		  got[2]);

	int w23[] = { 0, 3, 1 };
	set_live(w23);
	traffic(listen_port, 40, got);
	cr_assert(got[0] == 0 && got[1] >= 20 && got[2] >= 4 &&
			  got[1] + got[2] == 40,
		  "%s live {0,3,1}: %ld %ld %ld", driver, got[0], got[1],
		  got[2]);

	/* preview moves on its own */
	int p3[] = { 0, 0, 1 };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_set_preview(env, run_dir, p3, &err), 0, "%s",
		     err.msg);
	traffic(preview_port, 10, got);
	cr_assert(got[0] == 0 && got[1] == 0 && got[2] == 10,
		  "%s preview {0,0,1}: %ld %ld %ld", driver, got[0], got[1],
		  got[2]);
	traffic(listen_port, 8, got);
	cr_assert_eq(got[0], 0, "live untouched by the preview change");
	expect_weights(w23, p3);

	/* all-zero refused, nothing changed */
	int zero[] = { 0, 0, 0 };
	cr_assert_eq(router_set_weights(env, run_dir, zero, &err), -1);
	cr_assert(strstr(err.msg, "every live weight is 0"), "%s", err.msg);
	expect_weights(w23, p3);

	/* saved: a stopped router's file says the same, a restart keeps it */
	cr_assert_eq(router_stop(env, run_dir, &err), 0, "%s", err.msg);
	cr_assert_eq(router_running(env, run_dir), 0);
	char *pidf = path_join(run_dir, "router.pid");
	cr_assert_not(path_is_file(pidf), "pid file removed");
	free(pidf);
	cr_assert_eq(router_stop(env, run_dir, &err), 1, "second stop: no-op");
	expect_weights(w23, p3);
	int gl[MAXN], gp[MAXN];
	cr_assert_eq(router_get_weights(env, run_dir, gl, gp, &err), 0);
	start_router(gl, gp);
	traffic(listen_port, 8, got);
	cr_assert_eq(got[0], 0, "%s: restart restored the saved weights",
		     driver);
}

Test(router, haproxy_weights_move_traffic_without_reload)
{
	weights_move_traffic("haproxy");
}

Test(router, nginx_weights_move_traffic_by_reload)
{
	weights_move_traffic("nginx");
}

Test(router, start_twice_leaves_the_running_router_alone)
{
	make_env("haproxy", 2, false);
	start_router(NULL, NULL);
	pid_t pid = router_running(env, run_dir);
	int w[] = { 1, 0 };
	struct ml_err err = ML_ERR_INIT;
	pid_t again = 0;
	cr_assert_eq(router_start(env, run_dir, w, NULL, &again, &err), 1);
	cr_assert_eq(again, pid);
	expect_weights((int[]){ 1, 1 }, NULL);
}

Test(router, haproxy_drains_with_the_runtime_api_and_shows_it)
{
	make_env("haproxy", 2, false);
	start_router(NULL, NULL);
	int w[] = { 4, 0 };
	set_live(w);
	char *sock = path_join(run_dir, "haproxy.sock");
	char *out = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(hap_command(sock, "show servers state live", &out, &err),
		     0, "%s", err.msg);
	struct hap_server *rows = NULL;
	size_t n = 0;
	cr_assert_eq(hap_parse_servers_state(out, &rows, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(rows[0].uweight, 4);
	cr_assert_eq(rows[1].uweight, 0);
	cr_assert(rows[1].admin_state & 0x08, "it-2 is drained: %d",
		  rows[1].admin_state);
	free(rows);
	free(out);
	/* back in: ready again */
	set_live((int[]){ 1, 1 });
	cr_assert_eq(hap_command(sock, "show servers state live", &out, &err), 0);
	cr_assert_eq(hap_parse_servers_state(out, &rows, &n, &err), 0);
	cr_assert_eq(rows[1].admin_state & 0x08, 0, "it-2 ready");
	cr_assert_eq(rows[1].uweight, 1);
	free(rows);
	free(out);
	free(sock);
}

Test(router, haproxy_refuses_to_send_all_traffic_to_down_nodes)
{
	make_env("haproxy", 3, true); /* it-3 has no process */
	start_router(NULL, NULL);
	char *sock = path_join(run_dir, "haproxy.sock");
	struct ml_err err = ML_ERR_INIT;
	bool down = false;
	for (int i = 0; i < 300 && !down; i++) {
		char *out = NULL;
		struct hap_server *rows = NULL;
		size_t n = 0;
		if (hap_command(sock, "show servers state live", &out, &err) == 0 &&
		    hap_parse_servers_state(out, &rows, &n, &err) == 0 && n == 3)
			down = rows[2].op_state == 0;
		free(rows);
		free(out);
		if (!down)
			nap(20);
	}
	cr_assert(down, "haproxy never saw it-3 down");
	int only_dead[] = { 0, 0, 1 };
	cr_assert_eq(router_set_weights(env, run_dir, only_dead, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "router haproxy of it: refusing to move live "
				  "weights: no server that would keep traffic "
				  "is up (health checks: it-3 down)"),
		  "%s", err.msg);
	expect_weights((int[]){ 1, 1, 1 }, NULL);
	long got[MAXN];
	traffic(listen_port, 10, got);
	cr_assert_eq(got[0] + got[1], 10);
	free(sock);
}

/* wrk's summary: requests, non-2xx, socket errors. */
struct wrk_figures {
	long requests, non2xx, sock_errors;
};

static struct wrk_figures wrk_parse(const char *text)
{
	struct wrk_figures f = { -1, 0, 0 };
	const char *p = strstr(text, " requests in ");
	if (p) {
		const char *s = p;
		while (s > text && s[-1] != '\n')
			s--;
		f.requests = atol(s);
	}
	if ((p = strstr(text, "Non-2xx or 3xx responses:")))
		f.non2xx = atol(p + strlen("Non-2xx or 3xx responses:"));
	if ((p = strstr(text, "Socket errors:"))) {
		long c = 0, r = 0, w = 0, t = 0;
		sscanf(p, "Socket errors: connect %ld, read %ld, write %ld, "
			  "timeout %ld",
		       &c, &r, &w, &t);
		f.sock_errors = c + r + w + t;
	}
	return f;
}

/* Flip live weights ~every 100 ms while wrk -t1 -c8 -d3s runs. */
static struct wrk_figures flips_under_load(int *flips)
{
	char *wrk = router_find_program("wrk", NULL);
	if (!wrk)
		cr_skip_test("wrk is not installed");
	char *url = xasprintf("http://127.0.0.1:%d/v2", listen_port);
	char *argv[] = { wrk, "-t1", "-c8", "-d3s", url, NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct ml_err err = ML_ERR_INIT;
	spec.dir = dir;
	spec.name = "wrk";
	spec.argv = argv;
	pid_t pid = 0;
	cr_assert_eq(proc_spawn(&spec, &pid, &err), 0, "%s", err.msg);
	static const int seq[][MAXN] = {
		{ 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 1, 1, 0 },
		{ 0, 1, 1 }, { 5, 1, 0 }, { 0, 0, 3 }, { 1, 1, 1 },
	};
	*flips = 0;
	double end = now_ms() + 2600;
	while (now_ms() < end) {
		const int *w = seq[*flips % 8];
		if (router_set_weights(env, run_dir, w, &err) < 0) {
			kill(pid, SIGKILL);
			rtt_wait_exit(pid, 2000);
			cr_assert_fail("flip %d: %s", *flips, err.msg);
		}
		(*flips)++;
		nap(100);
	}
	int st = rtt_wait_exit(pid, 10000);
	cr_assert_eq(st, 0, "wrk exit status %d", st);
	char *log = path_join(dir, "wrk.log"), *text = NULL;
	size_t len;
	cr_assert_eq(read_file(log, 1 << 20, &text, &len), 0);
	struct wrk_figures f = wrk_parse(text);
	cr_assert(f.requests > 0, "wrk output: %s", text);
	free(text);
	free(log);
	free(url);
	free(wrk);
	return f;
}

Test(router, haproxy_weight_flips_under_wrk_load_fail_nothing)
{
	make_env("haproxy", 3, false);
	start_router(NULL, NULL);
	int flips = 0;
	struct wrk_figures f = flips_under_load(&flips);
	printf("router haproxy: %d weight changes under wrk -t1 -c8 -d3s: "
	       "%ld requests, %ld non-2xx, %ld socket errors\n",
	       flips, f.requests, f.non2xx, f.sock_errors);
	fflush(stdout);
	cr_assert(flips >= 15, "only %d flips", flips);
	cr_assert_eq(f.non2xx, 0, "non-2xx during haproxy weight moves");
	cr_assert_eq(f.sock_errors, 0, "socket errors during haproxy weight moves");
}

Test(router, nginx_reloads_under_wrk_load_figure)
{
	make_env("nginx", 3, false);
	start_router(NULL, NULL);
	int flips = 0;
	struct wrk_figures f = flips_under_load(&flips);
	/* a figure, not an assertion: reloads close idle keep-alive client
	 * connections and wrk never retries (PROTOCOLS.md C) */
	printf("router nginx: %d reloads under wrk -t1 -c8 -d3s: %ld requests, "
	       "%ld non-2xx, %ld socket errors\n",
	       flips, f.requests, f.non2xx, f.sock_errors);
	fflush(stdout);
	cr_assert(flips >= 5, "only %d reloads", flips);
	cr_assert_eq(f.non2xx, 0, "nginx retries failed upstreams");
}

static char *slurp(const char *path)
{
	char *t = NULL;
	size_t n;
	cr_assert_eq(read_file(path, 1 << 20, &t, &n), 0, "%s", path);
	return t;
}

Test(router, nginx_config_rejected_by_nginx_t_keeps_the_old_one_serving)
{
	make_env("nginx", 2, false);
	int w[] = { 1, 0 };
	start_router(w, NULL);
	pid_t pid = router_running(env, run_dir);
	char *cfg = router_config_path(env, run_dir);
	char *before = slurp(cfg);
	/* a node address nginx -t refuses */
	int saved = env->nodes[1].port;
	env->nodes[1].port = 70000;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_set_weights(env, run_dir, (int[]){ 0, 1 }, &err),
		     -1);
	env->nodes[1].port = saved;
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "router nginx of it: nginx -t rejected the "
				  "new config: [emerg] invalid port in "
				  "upstream \"127.0.0.1:70000\""),
		  "%s", err.msg);
	char *after = slurp(cfg);
	cr_assert_str_eq(after, before, "nginx.conf untouched");
	cr_assert_eq(router_running(env, run_dir), pid);
	long got[MAXN];
	traffic(listen_port, 10, got);
	cr_assert(got[0] == 10 && got[1] == 0, "old weights serve: %ld %ld",
		  got[0], got[1]);
	free(before);
	free(after);
	free(cfg);
}

Test(router, nginx_reload_refused_by_the_master_keeps_the_old_one_serving)
{
	make_env("nginx", 2, false);
	int w[] = { 1, 0 };
	start_router(w, NULL);
	pid_t pid = router_running(env, run_dir);
	char *cfg = router_config_path(env, run_dir);
	char *before = slurp(cfg);
	/* nginx -t does not bind; the master does, and fails, at reload */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	int saved = env->preview.port;
	env->preview.port = ntohs(sa.sin_port);
	struct ml_err err = ML_ERR_INIT;
	int rc = router_set_weights(env, run_dir, (int[]){ 0, 1 }, &err);
	env->preview.port = saved;
	close(fd);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(err.msg, "reload refused, the previous config keeps "
				  "serving"),
		  "%s", err.msg);
	cr_assert(strstr(err.msg, "Address already in use"), "%s", err.msg);
	char *after = slurp(cfg);
	cr_assert_str_eq(after, before, "nginx.conf put back");
	cr_assert_eq(router_running(env, run_dir), pid);
	long got[MAXN];
	traffic(listen_port, 10, got);
	cr_assert(got[0] == 10 && got[1] == 0, "old weights serve: %ld %ld",
		  got[0], got[1]);
	/* and the next good change goes through */
	set_live((int[]){ 0, 1 });
	traffic(listen_port, 10, got);
	cr_assert(got[0] == 0 && got[1] == 10, "new weights: %ld %ld", got[0],
		  got[1]);
	free(before);
	free(after);
	free(cfg);
}

Test(router, start_fails_clearly_when_the_listen_port_is_taken)
{
	make_env("haproxy", 1, false);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)listen_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_start(env, run_dir, NULL, NULL, NULL, &err), -1);
	close(fd);
	char *want = xasprintf("router haproxy of it: 127.0.0.1:%d is already "
			       "in use by another process",
			       listen_port);
	cr_assert(strstr(err.msg, want), "%s", err.msg);
	cr_assert_eq(router_running(env, run_dir), 0);
	free(want);
}
