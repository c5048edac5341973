/* router_nginx.c — the nginx router driver: renders nginx.conf (weighted
 * upstreams with `down` for 0, retries to the next upstream, keep-alive to
 * the nodes, every path under the run dir, no `reuseport`), and changes it
 * the only way nginx allows: render a candidate, `nginx -t` it, rename it
 * over nginx.conf, SIGHUP the master, and wait until error.log says a new
 * worker started and the old one stopped accepting — or put the previous
 * file back when the master said [emerg]. The master keeps serving the old
 * configuration whenever a reload fails. Process handling is router.c's. */
#define _DEFAULT_SOURCE
#include "router_driver.h"
#include "sbuf.h"

#include "exitcode.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NGX_CHECK_TIMEOUT_MS 15000L
#define NGX_RELOAD_TIMEOUT_MS 5000.0


/* ---------------------------------------------------------------- render */

static void render_upstream(struct sbuf *b, const struct cfg_env *env,
			    const char *name, const int *w)
{
	sbuf_printf(b, "\n\tupstream %s {\n", name);
	for (size_t i = 0; i < env->n_nodes; i++) {
		const struct cfg_node *n = &env->nodes[i];
		char *hp = router_hostport(n->host, n->port);
		/* weight=0 is a syntax error in nginx: 0 means `down` */
		if (w[i] > 0)
			sbuf_printf(b,
				  "\t\tserver %s weight=%d max_fails=1 "
				  "fail_timeout=2s; # %s\n",
				  hp, w[i], n->name);
		else
			sbuf_printf(b, "\t\tserver %s down; # %s\n", hp, n->name);
		free(hp);
	}
	sbuf_printf(b,
		  "\t\tkeepalive 32;\n"
		  "\t\tkeepalive_timeout 30s;\n"
		  "\t}\n");
}

static void render_server(struct sbuf *b, const struct cfg_addr *a,
			  const char *upstream, const char *scheme)
{
	char *hp = router_hostport(a->host, a->port);
	sbuf_printf(b,
		  "\n\tserver {\n"
		  "\t\tlisten %s;\n"
		  "\t\tlocation / {\n"
		  "\t\t\tproxy_pass %s://%s;\n"
		  "\t\t\tproxy_http_version 1.1;\n"
		  "\t\t\tproxy_set_header Connection \"\";\n"
		  "\t\t\tproxy_set_header Host $host;\n"
		  "\t\t\tproxy_next_upstream error timeout http_502 "
		  "http_503 non_idempotent;\n"
		  "\t\t\tproxy_next_upstream_tries 3;\n"
		  "\t\t\tproxy_next_upstream_timeout 10s;\n"
		  "\t\t\tproxy_connect_timeout 2s;\n"
		  "\t\t\tproxy_send_timeout 60s;\n"
		  "\t\t\tproxy_read_timeout 60s;\n",
		  hp, scheme, upstream);
	if (!strcmp(scheme, "https"))
		sbuf_printf(b,
			  "\t\t\tproxy_ssl_server_name on;\n"
			  "\t\t\tproxy_ssl_verify on;\n"
			  "\t\t\tproxy_ssl_trusted_certificate "
			  "/etc/ssl/certs/ca-certificates.crt;\n");
	sbuf_printf(b, "\t\t}\n\t}\n");
	free(hp);
}

static int ngx_render(const struct cfg_env *env, const char *dir,
		      const int *live, const int *preview, char **out,
		      struct ml_err *err)
{
	size_t n_tls = 0;
	for (size_t i = 0; i < env->n_nodes; i++)
		n_tls += env->nodes[i].tls;
	if (n_tls && n_tls != env->n_nodes)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "nginx cannot mix http and https nodes in "
				  "one upstream (%zu of %zu are https)",
				  n_tls, env->n_nodes);
	const char *scheme = n_tls ? "https" : "http";
	struct sbuf b = SBUF_INIT;
	sbuf_printf(&b,
		  "# nginx.conf of environment %s, written by mlctl: do not "
		  "edit by hand.\n"
		  "# Every change is rendered, checked with `nginx -t` and "
		  "reloaded.\n"
		  "daemon off;\n"
		  "master_process on;\n"
		  "worker_processes 1;\n"
		  "pid \"%s/nginx.pid\";\n"
		  "error_log \"%s/error.log\" notice;\n"
		  "worker_shutdown_timeout 10s;\n"
		  "\n"
		  "events {\n"
		  "\tworker_connections 4096;\n"
		  "}\n"
		  "\n"
		  "http {\n"
		  "\taccess_log off;\n"
		  "\tserver_tokens off;\n"
		  "\tclient_body_temp_path \"%s/temp/client_body\";\n"
		  "\tproxy_temp_path \"%s/temp/proxy\";\n"
		  "\tfastcgi_temp_path \"%s/temp/fastcgi\";\n"
		  "\tuwsgi_temp_path \"%s/temp/uwsgi\";\n"
		  "\tscgi_temp_path \"%s/temp/scgi\";\n"
		  "\tclient_max_body_size 16m;\n"
		  "\tkeepalive_timeout 65s;\n"
		  "\tkeepalive_requests 100000;\n",
		  env->name, dir, dir, dir, dir, dir, dir, dir);
	render_upstream(&b, env, "live", live);
	render_upstream(&b, env, "preview", preview);
	render_server(&b, &env->listen, "live", scheme);
	if (env->preview.set)
		render_server(&b, &env->preview, "preview", scheme);
	sbuf_printf(&b, "}\n");
	*out = b.s;
	return 0;
}

/* ---------------------------------------------------------------- check */

static char *nginx_program(struct ml_err *err)
{
	char *p = router_find_program("nginx", "MLCTL_NGINX");
	if (!p)
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "nginx not found (install the Debian package "
			   "nginx-light, or set MLCTL_NGINX)");
	return p;
}

/* nginx's own words, on one line: "[emerg] unknown directive ... in
 * /x/nginx.conf.new:12" without the "nginx: " prefixes and the closing
 * "test failed" line. */
static void squeeze_output(char *s)
{
	char *w = s;
	char *save = NULL;
	bool first = true;
	for (char *line = strtok_r(s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "nginx: ", 7))
			line += 7;
		if (strstr(line, "test failed") || !*line)
			continue;
		if (!first)
			*w++ = ';', *w++ = ' ';
		size_t n = strlen(line);
		memmove(w, line, n);
		w += n;
		first = false;
	}
	*w = '\0';
}

static int ngx_check(const struct cfg_env *env, const char *dir,
		     const char *path, struct ml_err *err)
{
	(void)env;
	char *temp = path_join(dir, "temp");
	if (proc_mkdir_p(temp, err) < 0) {
		free(temp);
		return -1;
	}
	free(temp);
	char *program = nginx_program(err);
	if (!program)
		return -1;
	char *prefix = xasprintf("%s/", dir);
	char *elog = path_join(dir, "error.log");
	char *argv[] = { program, "-t", "-q", "-p", prefix, "-c", (char *)path,
			 "-e", elog, NULL };
	char *output = NULL;
	int status = -1;
	int rc = proc_run(argv, NGX_CHECK_TIMEOUT_MS, &output, &status, err);
	if (rc == 0 && status != 0) {
		if (output)
			squeeze_output(output);
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL,
				"nginx -t rejected the new config: %s",
				output && *output ? output : "(no output)");
	}
	free(output);
	free(prefix);
	free(elog);
	free(program);
	return rc;
}

static char **ngx_argv(const char *dir, const char *program)
{
	char **argv = xcalloc(8, sizeof(char *));
	argv[0] = xstrdup(program);
	argv[1] = xstrdup("-p");
	argv[2] = xasprintf("%s/", dir);
	argv[3] = xstrdup("-c");
	argv[4] = path_join(dir, "nginx.conf");
	argv[5] = xstrdup("-e");
	argv[6] = path_join(dir, "error.log");
	return argv;
}

static char *ngx_expect(const char *dir)
{
	char *cfg = path_join(dir, "nginx.conf");
	char *e = xasprintf("-c %s", cfg);
	free(cfg);
	return e;
}

/* ---------------------------------------------------------------- reload */

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* error.log from byte `from` on (caller frees), or NULL. */
static char *log_since(const char *path, long from)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	if (fseek(f, from, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	size_t cap = 8192, len = 0;
	char *buf = xmalloc(cap);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += r;
		if (cap - len < 1024) {
			if (cap >= (4u << 20))
				break;
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* The first line of `text` holding `needle`, from the needle on (past
 * the timestamp), copied into buf. */
static bool find_line(const char *text, const char *needle, char *buf,
		      size_t sz)
{
	const char *p = strstr(text, needle);
	if (!p)
		return false;
	const char *start = p;
	const char *end = strchr(p, '\n');
	size_t n = end ? (size_t)(end - start) : strlen(start);
	snprintf(buf, sz, "%.*s", (int)n, start);
	return true;
}

/* After a refused reload the master may still be at it (a failed bind()
 * is retried for ~2.5 s, each try logged): wait until error.log has been
 * quiet for 700 ms (at most 4 s), so the next reload's verdict is not
 * mixed up with this one's last words. */
static void wait_quiet(const char *elog, pid_t pid)
{
	double deadline = now_ms() + 4000, quiet_since = now_ms();
	long size = file_size(elog);
	while (now_ms() < deadline && proc_pid_alive(pid, NULL)) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		long now = file_size(elog);
		if (now != size) {
			size = now;
			quiet_since = now_ms();
		} else if (now_ms() - quiet_since >= 700) {
			return;
		}
	}
}

/* SIGHUP the master and wait for its verdict in error.log. */
static int reload(const char *dir, pid_t pid, struct ml_err *err)
{
	char *elog = path_join(dir, "error.log");
	long from = file_size(elog);
	int rc = -1;
	if (kill(pid, SIGHUP) != 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot signal pid %ld: %s",
			   (long)pid, strerror(errno));
		goto out;
	}
	double deadline = now_ms() + NGX_RELOAD_TIMEOUT_MS;
	for (;;) {
		char *text = log_since(elog, from), line[400];
		const char *rec = text ? strstr(text, "reconfiguring") : NULL;
		if (rec && find_line(rec, "[emerg]", line, sizeof(line))) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "reload refused, the previous config keeps "
				   "serving: %s",
				   line);
			free(text);
			wait_quiet(elog, pid);
			goto out;
		}
		/* done when the new worker runs and the old one has stopped
		 * accepting (it logs this as it closes its listeners) */
		const char *started = rec ? strstr(rec, "start worker process")
					  : NULL;
		if (started && strstr(started, "gracefully shutting down")) {
			free(text);
			rc = 0;
			goto out;
		}
		free(text);
		if (!proc_pid_alive(pid, NULL)) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "the nginx master (pid %ld) exited during "
				   "the reload (see %s)",
				   (long)pid, elog);
			goto out;
		}
		if (now_ms() >= deadline) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "the nginx master (pid %ld) did not confirm "
				   "the reload within %.0f ms (see %s)",
				   (long)pid, NGX_RELOAD_TIMEOUT_MS, elog);
			goto out;
		}
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
out:
	free(elog);
	return rc;
}

static int ngx_apply(const struct cfg_env *env, const char *dir, pid_t pid,
		     bool preview, const int *w, struct ml_err *err)
{
	char *cfg = path_join(dir, "nginx.conf");
	char *tmp = xasprintf("%s.new", cfg), *prev = xasprintf("%s.prev", cfg);
	char *text = NULL, *old = NULL;
	size_t old_len = 0;
	int *other = xcalloc(env->n_nodes + 1, sizeof(int));
	int rc = -1;
	if (read_file(cfg, 16u << 20, &old, &old_len) != 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot read %s: %s", cfg,
			   strerror(errno));
		goto out;
	}
	if (router_parse_section(env, cfg, "upstream",
				 preview ? "live" : "preview", false, other) != 0)
		for (size_t i = 0; i < env->n_nodes; i++)
			other[i] = 1;
	if (ngx_render(env, dir, preview ? other : w, preview ? w : other,
		       &text, err) < 0)
		goto out;
	if (strcmp(text, old) == 0) {
		rc = 0; /* nothing changes: no reload */
		goto out;
	}
	if (router_write_file(tmp, text, err) < 0)
		goto out;
	if (ngx_check(env, dir, tmp, err) < 0) {
		unlink(tmp);
		goto out;
	}
	if (router_write_file(prev, old, err) < 0) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, cfg) != 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot rename %s: %s", tmp,
			   strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (reload(dir, pid, err) < 0) {
		/* the master still runs the old config: so must the file */
		rename(prev, cfg);
		goto out;
	}
	rc = 0;
out:
	free(other);
	free(text);
	free(old);
	free(prev);
	free(tmp);
	free(cfg);
	return rc;
}

static int ngx_get(const struct cfg_env *env, const char *dir, pid_t pid,
		   int *live, int *preview, struct ml_err *err)
{
	(void)pid;
	(void)err;
	char *cfg = path_join(dir, "nginx.conf");
	int rc = router_parse_section(env, cfg, "upstream", "live", false, live);
	if (rc == 0)
		rc = router_parse_section(env, cfg, "upstream", "preview", false,
					  preview);
	free(cfg);
	return rc;
}

const struct router_driver router_nginx_driver = {
	.name = "nginx",
	.config_name = "nginx.conf",
	.render = ngx_render,
	.check = ngx_check,
	.argv = ngx_argv,
	.expect = ngx_expect,
	.started = NULL,
	.stopped = NULL,
	.apply = ngx_apply,
	.get = ngx_get,
};
