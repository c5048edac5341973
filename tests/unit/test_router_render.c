/* test_router_render.c — the router configs mlctl writes: haproxy and
 * nginx files for given weights (`down` for 0 in nginx, weight 0 kept in
 * haproxy), refused weight arrays (all zero, out of range), acceptance by
 * the real `nginx -t` and `haproxy -c`, weights read back from a saved
 * file, `show servers state` parsing, and the `none` driver's no-ops.
 * Nothing is started here: tests/integration/test_router.c does that. */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <criterion/criterion.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "exitcode.h"
#include "proc.h"
#include "router.h"
#include "router_driver.h"
#include "util.h"

static char root[64];
static char *run_dir;

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/mlctl-rtr-XXXXXX");
	cr_assert(mkdtemp(root));
	run_dir = path_join(root, "state/run/e1");
}

static int rm_entry(const char *p, const struct stat *st, int fl,
		    struct FTW *ftw)
{
	(void)st;
	(void)fl;
	(void)ftw;
	remove(p);
	return 0;
}

static void teardown(void)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(run_dir);
}

TestSuite(router_render, .init = setup, .fini = teardown, .timeout = 60);

/* An environment with n nodes on ports 9101.. behind `driver`, with a
 * preview listener when `preview`. */
static struct cfg_env *env_with(const char *driver, int n, bool preview)
{
	char *yaml = xasprintf("apiVersion: mlctl/v1\n"
			       "kind: Environment\n"
			       "name: e1\n"
			       "tier: staging\n"
			       "managed: true\n"
			       "nodes:\n");
	for (int i = 1; i <= n; i++) {
		char *more = xasprintf("%s  - { name: e1-%d, url: "
				       "\"http://127.0.0.1:%d\" }\n",
				       yaml, i, 9100 + i);
		free(yaml);
		yaml = more;
	}
	char *more;
	if (strcmp(driver, "none") == 0)
		more = xasprintf("%srouter: { driver: none }\n", yaml);
	else
		more = xasprintf("%srouter: { driver: %s, listen: "
				 "\"127.0.0.1:9100\"%s }\n",
				 yaml, driver,
				 preview ? ", preview: \"127.0.0.1:9109\"" : "");
	free(yaml);
	char *path = path_join(root, "e1.yaml");
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(more, f);
	fclose(f);
	free(more);
	struct cfg_env *env = NULL;
	struct ml_diags d = ML_DIAGS_INIT;
	int rc = cfg_env_load(path, &env, &d);
	cr_assert_eq(rc, 0, "env: %s",
		     d.len ? d.items[0].msg : "(no diagnostic)");
	ml_diags_release(&d);
	free(path);
	return env;
}

static char *render(const struct cfg_env *env, const int *live,
		    const int *preview)
{
	char *text = NULL;
	struct ml_err err = ML_ERR_INIT;
	int rc = router_render(env, run_dir, live, preview, &text, &err);
	cr_assert_eq(rc, 0, "render: %s", err.msg);
	return text;
}

static void skip_without(const char *prog)
{
	char *p = router_find_program(prog, NULL);
	if (!p)
		cr_skip_test("%s is not installed", prog);
	free(p);
}

/* ---- nginx --------------------------------------------------------------- */

Test(router_render, nginx_marks_weight_0_down_and_never_writes_weight_0)
{
	struct cfg_env *env = env_with("nginx", 3, true);
	int live[] = { 3, 0, 1 }, preview[] = { 0, 0, 2 };
	char *t = render(env, live, preview);
	cr_assert(strstr(t, "server 127.0.0.1:9101 weight=3 "), "%s", t);
	cr_assert(strstr(t, "server 127.0.0.1:9102 down;"), "%s", t);
	cr_assert(strstr(t, "server 127.0.0.1:9103 weight=1 "), "%s", t);
	cr_assert_null(strstr(t, "weight=0"), "%s", t);
	cr_assert(strstr(t, "upstream live {"));
	cr_assert(strstr(t, "upstream preview {"));
	cr_assert(strstr(t, "listen 127.0.0.1:9100;"));
	cr_assert(strstr(t, "listen 127.0.0.1:9109;"));
	cr_assert(strstr(t, "proxy_pass http://live;"));
	cr_assert(strstr(t, "proxy_pass http://preview;"));
	cfg_env_free(env);
	free(t);
}

Test(router_render, nginx_config_has_retries_keepalive_and_run_dir_paths)
{
	struct cfg_env *env = env_with("nginx", 2, false);
	char *t = render(env, NULL, NULL);
	const char *must[] = {
		"daemon off;",
		"worker_shutdown_timeout 10s;",
		"access_log off;",
		"proxy_http_version 1.1;",
		"proxy_set_header Connection \"\";",
		/* one literal: clang warns on concatenation in arrays */
		"proxy_next_upstream error timeout http_502 http_503 non_idempotent;",
		"proxy_next_upstream_tries 3;",
		"keepalive 32;",
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(*must); i++)
		cr_assert(strstr(t, must[i]), "missing %s in\n%s", must[i], t);
	const char *paths[] = { "pid", "error_log", "client_body_temp_path",
				"proxy_temp_path", "fastcgi_temp_path",
				"uwsgi_temp_path", "scgi_temp_path" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		char *want = xasprintf("%s \"%s/", paths[i], run_dir);
		cr_assert(strstr(t, want), "missing %s in\n%s", want, t);
		free(want);
	}
	cr_assert_null(strstr(t, "reuseport"));
	/* no preview listener: no second server block */
	cr_assert_null(strstr(t, "proxy_pass http://preview;"));
	cfg_env_free(env);
	free(t);
}

Test(router_render, nginx_t_accepts_the_written_config)
{
	skip_without("nginx");
	struct cfg_env *env = env_with("nginx", 4, true);
	int live[] = { 1, 1, 0, 0 }, preview[] = { 0, 0, 1, 1 };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_config_write(env, run_dir, live, preview, &err), 0,
		     "%s", err.msg);
	char *cfg = router_config_path(env, run_dir);
	char *prog = router_find_program("nginx", NULL);
	char *prefix = xasprintf("%s/", run_dir);
	char *elog = path_join(run_dir, "error.log");
	char *argv[] = { prog, "-t", "-p", prefix, "-c", cfg, "-e", elog, NULL };
	char *out = NULL;
	int status = -1;
	cr_assert_eq(proc_run(argv, 15000, &out, &status, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(status, 0, "nginx -t: %s", out);
	cr_assert(strstr(out, "syntax is ok"), "%s", out);
	free(out);
	free(prog);
	free(prefix);
	free(elog);
	free(cfg);
	cfg_env_free(env);
}

/* ---- haproxy ------------------------------------------------------------- */

Test(router_render, haproxy_lists_every_node_in_both_backends_with_weights)
{
	struct cfg_env *env = env_with("haproxy", 4, true);
	int live[] = { 1, 1, 0, 0 }, preview[] = { 0, 0, 5, 256 };
	char *t = render(env, live, preview);
	char *live_be = strstr(t, "backend live");
	char *prev_be = strstr(t, "backend preview");
	cr_assert(live_be && prev_be, "%s", t);
	cr_assert(live_be < prev_be);
	cr_assert(strstr(live_be, "server e1-3 127.0.0.1:9103 weight 0 check"));
	cr_assert(strstr(live_be, "server e1-1 127.0.0.1:9101 weight 1 check"));
	cr_assert(strstr(prev_be, "server e1-3 127.0.0.1:9103 weight 5 check"));
	cr_assert(strstr(prev_be, "server e1-4 127.0.0.1:9104 weight 256 check"));
	char *sock = xasprintf("stats socket \"%s/haproxy.sock\" mode 600 "
			       "level admin",
			       run_dir);
	cr_assert(strstr(t, sock), "%s", t);
	const char *must[] = {
		"frontend live",
		"bind 127.0.0.1:9100",
		"frontend preview",
		"bind 127.0.0.1:9109",
		"balance roundrobin",
		"option httpchk GET /v2/health/ready",
		"http-reuse safe",
		"retries 3",
		"option redispatch",
		"retry-on conn-failure empty-response response-timeout 503",
		"mode http",
	};
	for (size_t i = 0; i < sizeof(must) / sizeof(*must); i++)
		cr_assert(strstr(t, must[i]), "missing %s in\n%s", must[i], t);
	free(sock);
	free(t);
	cfg_env_free(env);
}

Test(router_render, haproxy_without_preview_has_no_preview_frontend)
{
	struct cfg_env *env = env_with("haproxy", 2, false);
	char *t = render(env, NULL, NULL);
	cr_assert_null(strstr(t, "frontend preview"));
	cr_assert(strstr(t, "backend preview")); /* weights still kept */
	free(t);
	cfg_env_free(env);
}

Test(router_render, haproxy_c_accepts_the_written_config)
{
	skip_without("haproxy");
	struct cfg_env *env = env_with("haproxy", 4, true);
	int live[] = { 3, 1, 0, 0 };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_config_write(env, run_dir, live, NULL, &err), 0,
		     "%s", err.msg);
	char *cfg = router_config_path(env, run_dir);
	char *prog = router_find_program("haproxy", NULL);
	char *argv[] = { prog, "-c", "-f", cfg, NULL };
	char *out = NULL;
	int status = -1;
	cr_assert_eq(proc_run(argv, 15000, &out, &status, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(status, 0, "haproxy -c: %s", out);
	cr_assert(strstr(out, "valid"), "%s", out);
	cr_assert_null(strstr(out, "WARNING"), "%s", out);
	free(out);
	free(prog);
	free(cfg);
	cfg_env_free(env);
}

Test(router_render, haproxy_socket_path_too_long_is_refused)
{
	struct cfg_env *env = env_with("haproxy", 1, false);
	char *deep = xasprintf("%s/%0100d", run_dir, 0);
	char *text = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_render(env, deep, NULL, NULL, &text, &err), -1);
	cr_assert(strstr(err.msg, "unix socket"), "%s", err.msg);
	cr_assert_null(text);
	free(deep);
	cfg_env_free(env);
}

/* ---- refused weights ----------------------------------------------------- */

Test(router_render, all_zero_weights_are_refused_by_every_router)
{
	const char *drivers[] = { "nginx", "haproxy" };
	for (int k = 0; k < 2; k++) {
		struct cfg_env *env = env_with(drivers[k], 3, true);
		int zero[] = { 0, 0, 0 };
		char *text = NULL;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(router_render(env, run_dir, zero, NULL, &text, &err),
			     -1);
		cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
		char *want = xasprintf("router %s of e1: every live weight is 0",
				       drivers[k]);
		cr_assert(strstr(err.msg, want), "%s", err.msg);
		free(want);
		memset(&err, 0, sizeof(err));
		cr_assert_eq(router_config_write(env, run_dir, NULL, zero, &err),
			     -1);
		cr_assert(strstr(err.msg, "every preview weight is 0"), "%s",
			  err.msg);
		char *cfg = router_config_path(env, run_dir);
		cr_assert_not(path_is_file(cfg), "nothing written");
		free(cfg);
		cfg_env_free(env);
	}
}

Test(router_render, out_of_range_weights_are_refused)
{
	struct cfg_env *env = env_with("haproxy", 2, false);
	int big[] = { 257, 1 }, neg[] = { 1, -1 };
	char *text = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_render(env, run_dir, big, NULL, &text, &err), -1);
	cr_assert(strstr(err.msg, "live weight of e1-1 is 257"), "%s", err.msg);
	cr_assert_eq(router_render(env, run_dir, neg, NULL, &text, &err), -1);
	cr_assert(strstr(err.msg, "live weight of e1-2 is -1"), "%s", err.msg);
	cfg_env_free(env);
}

/* ---- weights saved in the file ------------------------------------------ */

Test(router_render, weights_read_back_from_a_stopped_routers_config)
{
	const char *drivers[] = { "nginx", "haproxy" };
	for (int k = 0; k < 2; k++) {
		struct cfg_env *env = env_with(drivers[k], 4, true);
		int live[] = { 2, 0, 1, 5 }, preview[] = { 0, 7, 0, 0 };
		int gl[4] = { -1, -1, -1, -1 }, gp[4] = { -1, -1, -1, -1 };
		struct ml_err err = ML_ERR_INIT;
		/* nothing saved yet */
		cr_assert_eq(router_get_weights(env, run_dir, gl, gp, &err), 1,
			     "%s", err.msg);
		cr_assert_eq(gl[0], -1);
		cr_assert_eq(router_config_write(env, run_dir, live, preview,
						 &err),
			     0, "%s", err.msg);
		cr_assert_eq(router_get_weights(env, run_dir, gl, gp, &err), 0,
			     "%s", err.msg);
		for (int i = 0; i < 4; i++) {
			cr_assert_eq(gl[i], live[i], "%s live[%d]", drivers[k], i);
			cr_assert_eq(gp[i], preview[i], "%s preview[%d]",
				     drivers[k], i);
		}
		cfg_env_free(env);
		/* a node list the file does not cover: nothing usable saved */
		env = env_with(drivers[k], 5, true);
		int gl5[5], gp5[5];
		cr_assert_eq(router_get_weights(env, run_dir, gl5, gp5, &err), 1);
		cfg_env_free(env);
		char *cfg = path_join(run_dir, k ? "haproxy.cfg" : "nginx.conf");
		unlink(cfg);
		free(cfg);
	}
}

Test(router_render, nginx_refuses_mixed_http_and_https_nodes)
{
	char *path = path_join(root, "mixed.yaml");
	FILE *f = fopen(path, "w");
	fputs("apiVersion: mlctl/v1\nkind: Environment\nname: e1\ntier: dev\n"
	      "nodes:\n"
	      "  - { name: a, url: \"http://127.0.0.1:9101\" }\n"
	      "  - { name: b, url: \"https://127.0.0.1:9102\" }\n"
	      "router: { driver: nginx, listen: \"127.0.0.1:9100\" }\n",
	      f);
	fclose(f);
	struct cfg_env *env = NULL;
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(cfg_env_load(path, &env, &d), 0);
	char *text = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(router_render(env, run_dir, NULL, NULL, &text, &err), -1);
	cr_assert(strstr(err.msg, "mix http and https"), "%s", err.msg);
	ml_diags_release(&d);
	cfg_env_free(env);
	free(path);
}

/* ---- none ----------------------------------------------------------------- */

Test(router_render, none_router_does_nothing_and_reports_equal_weights)
{
	struct cfg_env *env = env_with("none", 2, false);
	struct ml_err err = ML_ERR_INIT;
	int w[] = { 0, 3 }, gl[2] = { 0, 0 }, gp[2] = { 0, 0 };
	char *text = NULL;
	cr_assert_eq(router_render(env, run_dir, NULL, NULL, &text, &err), 0);
	cr_assert_str_eq(text, "");
	free(text);
	cr_assert_eq(router_config_write(env, run_dir, w, w, &err), 0);
	cr_assert_eq(router_start(env, run_dir, NULL, NULL, NULL, &err), 1);
	cr_assert_eq(router_running(env, run_dir), 0);
	cr_assert_eq(router_set_weights(env, run_dir, w, &err), 0);
	cr_assert_eq(router_set_preview(env, run_dir, w, &err), 0);
	cr_assert_eq(router_get_weights(env, run_dir, gl, gp, &err), 0);
	cr_assert(gl[0] == 1 && gl[1] == 1 && gp[0] == 1 && gp[1] == 1);
	cr_assert_eq(router_stop(env, run_dir, &err), 1);
	cr_assert_null(router_config_path(env, run_dir));
	cr_assert_not(path_is_dir(run_dir), "none creates nothing");
	cfg_env_free(env);
}

Test(router_render, set_weights_fails_when_the_router_is_not_running)
{
	struct cfg_env *env = env_with("haproxy", 2, false);
	struct ml_err err = ML_ERR_INIT;
	int w[] = { 1, 0 };
	cr_assert_eq(router_set_weights(env, run_dir, w, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "router haproxy of e1: not running"), "%s",
		  err.msg);
	cfg_env_free(env);
}

/* ---- haproxy's `show servers state` -------------------------------------- */

Test(router_render, parses_show_servers_state_by_its_header)
{
	const char *text =
		"1\n"
		"# be_id be_name srv_id srv_name srv_addr srv_op_state "
		"srv_admin_state srv_uweight srv_iweight "
		"srv_time_since_last_change srv_check_status\n"
		"3 live 1 n1 127.0.0.1 2 0 4 1 0 15\n"
		"3 live 2 n2 127.0.0.1 0 8 5 1 0 8\n"
		"4 preview 1 n1 127.0.0.1 2 1 1 1 0 15\n"
		"\n";
	struct hap_server *rows = NULL;
	size_t n = 0;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(hap_parse_servers_state(text, &rows, &n, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(rows[0].be, "live");
	cr_assert_str_eq(rows[0].name, "n1");
	cr_assert_eq(rows[0].op_state, 2);
	cr_assert_eq(rows[0].uweight, 4);
	cr_assert_eq(hap_effective_weight(&rows[0]), 4);
	/* drained: weight kept, traffic 0 */
	cr_assert_eq(rows[1].uweight, 5);
	cr_assert_eq(hap_effective_weight(&rows[1]), 0);
	/* maintenance */
	cr_assert_str_eq(rows[2].be, "preview");
	cr_assert_eq(hap_effective_weight(&rows[2]), 0);
	free(rows);
	cr_assert_eq(hap_parse_servers_state("Unknown command.\n", &rows, &n,
					     &err),
		     -1);
	cr_assert(strstr(err.msg, "unexpected answer"), "%s", err.msg);
}
