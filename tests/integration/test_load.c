/* test_load.c — `mlctl load` end to end: the real binary against a real
 * nginx (fixed responses, 4xx/5xx, short keep-alive), real mlserve nodes
 * (counts match the node's /metrics, a stalling node shows coordinated
 * omission, injected errors), a closed port and a listener that never
 * answers. Everything on 127.0.0.1, bounded in time and count; every
 * process is stopped by its pid. Needs MLCTL_BIN (and MLSERVE_BIN for the
 * mlserve suite). */
#include "proc.h"
#include "rtest.h"
#include "sha256.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	char *s = malloc((size_t)n + 1);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Remove a directory tree this test made (no symlinks followed). */
static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *sub = fmt("%s/%s", path, de->d_name);
			struct stat st;
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				rm_tree(sub);
			else
				unlink(sub);
			free(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* A port nothing listens on right now. */
static int free_port(void)
{
	return rtt_free_port();
}

static bool can_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

struct run {
	int rc;
	char *out, *err;
	json_t *json;
};

static char g_dir[64];

/* Run mlctl with args (NULL-terminated), bounded by `limit_s`. */
static struct run mlctl(double limit_s, ...)
{
	const char *bin = getenv("MLCTL_BIN");
	cr_assert_not_null(bin, "MLCTL_BIN is not set");
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)bin;
	va_list ap;
	va_start(ap, limit_s);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	char *out = fmt("%s/mlctl.out", g_dir), *err = fmt("%s/mlctl.err", g_dir);
	struct proc p;
	cr_assert_eq(proc_start(&p, argv, NULL, out, err), 0);
	int rc = proc_wait(&p, (int)(limit_s * 1000));
	if (rc == -2) {
		proc_stop(&p, SIGKILL, 1000);
		cr_assert_fail("mlctl did not finish within %.0fs", limit_s);
	}
	struct run r = { rc, proc_slurp(out), proc_slurp(err), NULL };
	r.json = json_loads(r.out, 0, NULL);
	free(out);
	free(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->json);
}

static json_int_t jint(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	cr_assert(json_is_integer(v), "%s%s%s is not an integer", a,
		  b ? "." : "", b ? b : "");
	return json_integer_value(v);
}

static double jnum(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	if (b)
		v = json_object_get(v, b);
	cr_assert(json_is_number(v), "%s%s%s is not a number", a,
		  b ? "." : "", b ? b : "");
	return json_number_value(v);
}

/* ---- nginx -------------------------------------------------------------- */

static struct proc g_nginx;
static int g_port;

/* Start nginx on a free port; returns false when it did not come up on
 * it (the port was taken between free_port and nginx's bind). */
static bool nginx_try(void)
{
	char *logs = fmt("%s/logs", g_dir), *tmp = fmt("%s/tmp", g_dir);
	mkdir(logs, 0755);
	mkdir(tmp, 0755);
	g_port = free_port();
	char *conf = fmt(
		"daemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
		"error_log %s/error.log;\nevents { worker_connections 512; }\n"
		"http {\n  access_log off;\n"
		"  client_body_temp_path %s; proxy_temp_path %s;\n"
		"  fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
		"  keepalive_requests 100000;\n"
		"  server {\n    listen 127.0.0.1:%d;\n"
		"    access_log %s/access.log;\n"
		"    location = / { default_type application/json; "
		"return 200 '{\"ok\":true}'; }\n"
		"    location = /e404 { return 404 '{\"error\":\"nope\"}'; }\n"
		"    location = /e500 { return 500 '{\"error\":\"boom\"}'; }\n"
		"    location = /ka3 { keepalive_requests 3; return 200 'ok'; }\n"
		"  }\n}\n",
		g_dir, logs, tmp, tmp, tmp, tmp, tmp, g_port, logs);
	char *cpath = fmt("%s/nginx.conf", g_dir);
	spit(cpath, conf);
	char *elog = fmt("%s/error.log", logs);
	char *argv[] = { "/usr/sbin/nginx", "-p", g_dir, "-c", cpath, "-e",
			 elog, NULL };
	char *o = fmt("%s/nginx.out", logs), *e = fmt("%s/nginx.err", logs);
	cr_assert_eq(proc_start(&g_nginx, argv, NULL, o, e), 0);
	bool up = false;
	for (int i = 0; i < 500 && !up && proc_alive(&g_nginx); i++) {
		up = can_connect(g_port);
		if (!up)
			sleep_ms(10);
	}
	/* a failed bind ends nginx at once: whoever answered is not ours */
	sleep_ms(50);
	up = up && proc_alive(&g_nginx);
	if (!up)
		proc_stop(&g_nginx, SIGTERM, 3000);
	free(logs); free(tmp); free(conf); free(cpath); free(elog); free(o);
	free(e);
	return up;
}

static void nginx_start(void)
{
	char tmpl[] = "/tmp/mlctl-load-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(g_dir, sizeof(g_dir), "%s", tmpl);
	bool up = false;
	for (int attempt = 0; attempt < 3 && !up; attempt++)
		up = nginx_try();
	cr_assert(up, "nginx did not start: %s",
		  proc_slurp(fmt("%s/logs/error.log", g_dir)));
}

static void tmp_done(void)
{
	if (g_dir[0])
		rm_tree(g_dir);
	g_dir[0] = '\0';
}

static void nginx_stop(void)
{
	if (g_nginx.pid)
		proc_stop(&g_nginx, SIGTERM, 3000);
	tmp_done();
}

static char *url(const char *path) { return fmt("http://127.0.0.1:%d%s", g_port, path); }

static size_t access_count(void)
{
	char *p = fmt("%s/logs/access.log", g_dir);
	/* nginx writes each line as the request ends; give it a moment */
	size_t n = 0, last = (size_t)-1;
	for (int i = 0; i < 50 && n != last; i++) {
		last = n;
		sleep_ms(20);
		char *s = proc_slurp(p);
		n = count_lines(s);
		free(s);
	}
	free(p);
	return n;
}

TestSuite(load_nginx, .init = nginx_start, .fini = nginx_stop, .timeout = 40);

Test(load_nginx, open_model_keeps_the_schedule_and_the_server_agrees)
{
	char *u = url("/");
	struct run r = mlctl(20, "--output", "json", "load", u, "--rate", "200",
			     "--duration", "2s", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	cr_assert_not_null(r.json, "stdout is one JSON document: %s", r.out);
	/* exactly rate * duration requests, each one seen by nginx */
	cr_assert_eq(jint(r.json, "requests", NULL), 400);
	cr_assert_eq(access_count(), 400);
	double rate = jnum(r.json, "achieved_rate", NULL);
	cr_assert(rate > 180 && rate < 220, "achieved %.1f req/s", rate);
	cr_assert_eq(jint(r.json, "errors", "total"), 0);
	cr_assert_eq(jint(r.json, "reconnects", NULL), 0);
	/* late needs a stalled generator; a busy shared machine may cause a few */
	cr_assert(jint(r.json, "late", NULL) < 200, "late %lld",
		  (long long)jint(r.json, "late", NULL));
	json_t *lat = json_object_get(r.json, "latency");
	const char *keys[] = { "p50", "p90", "p99", "p99.9", "max" };
	double prev = 0;
	for (size_t i = 0; i < 5; i++) {
		double v = jnum(lat, keys[i], NULL);
		cr_assert(v >= prev && v < 1000, "%s = %g ms", keys[i], v);
		prev = v;
	}
	cr_assert_eq(json_array_size(json_object_get(r.json, "series")), 2);
	run_free(&r);
	free(u);
}

Test(load_nginx, closed_model_runs_as_fast_as_answered)
{
	char *u = url("/");
	struct run r = mlctl(20, "--output", "json", "load", u, "--rate", "max",
			     "-d", "1s", "-c", "4", "-t", "1", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	cr_assert_gt(jint(r.json, "requests", NULL), 500);
	cr_assert_eq(jint(r.json, "connects", NULL), 4);
	cr_assert_eq(jint(r.json, "errors", "total"), 0);
	cr_assert_eq(jint(r.json, "late", NULL), 0);
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(r.json, "options"), "model")),
			 "closed");
	cr_assert_eq((size_t)jint(r.json, "requests", NULL), access_count());
	run_free(&r);
	free(u);
}

Test(load_nginx, text_summary_names_the_figures)
{
	char *u = url("/");
	struct run r = mlctl(20, "load", u, "-r", "50", "-d", "1s",
			     "--max-p99", "5s", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	const char *words[] = { "requests    50 in", "errors      0", "late",
				"reconnects", "p99", "max_p99", "passed" };
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		cr_assert(strstr(r.out, words[i]) != NULL, "'%s' in:\n%s",
			  words[i], r.out);
	/* progress on stderr only; no escape codes off a tty */
	cr_assert(strstr(r.err, "load: http://127.0.0.1:") != NULL, "%s", r.err);
	cr_assert_null(strchr(r.out, '\033'));
	cr_assert_null(strchr(r.err, '\033'));
	run_free(&r);
	free(u);
}

Test(load_nginx, http_errors_are_classed_4xx_and_5xx)
{
	char *u4 = url("/e404"), *u5 = url("/e500");
	struct run r = mlctl(20, "--output", "json", "load", u4, "-r", "100",
			     "-d", "1s", NULL);
	cr_assert_eq(r.rc, 0, "no threshold, no failure: rc %d", r.rc);
	cr_assert_eq(jint(r.json, "errors", "4xx"), 100);
	cr_assert_eq(jint(r.json, "errors", "total"), 100);
	cr_assert_float_eq(jnum(r.json, "error_rate", NULL), 1.0, 1e-9);
	run_free(&r);
	r = mlctl(20, "--output", "json", "load", u5, "-r", "100", "-d", "1s",
		  "--max-error-rate", "1%", NULL);
	cr_assert_eq(r.rc, 1, "a broken threshold exits 1: rc %d", r.rc);
	cr_assert_eq(jint(r.json, "errors", "5xx"), 100);
	cr_assert_eq(jint(r.json, "errors", "4xx"), 0);
	cr_assert(json_is_false(json_object_get(r.json, "passed")));
	/* answered errors still have a latency */
	cr_assert_eq(jint(r.json, "latency", "count"), 100);
	run_free(&r);
	free(u4);
	free(u5);
}

Test(load_nginx, each_threshold_exits_1_when_broken)
{
	char *u = url("/");
	struct run r = mlctl(20, "load", u, "-r", "50", "-d", "1s",
			     "--min-rate", "100000", NULL);
	cr_assert_eq(r.rc, 1, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.out, "min_rate") && strstr(r.out, "BROKEN") &&
		  strstr(r.out, "FAILED"), "%s", r.out);
	run_free(&r);
	r = mlctl(20, "load", u, "-r", "50", "-d", "1s", "--max-p99", "1us",
		  NULL);
	cr_assert_eq(r.rc, 1, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.out, "max_p99") != NULL, "%s", r.out);
	run_free(&r);
	r = mlctl(20, "load", u, "-r", "50", "-d", "1s", "--max-p99", "2s",
		  "--max-error-rate", "0", "--min-rate", "10", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s%s", r.rc, r.out, r.err);
	run_free(&r);
	free(u);
}

Test(load_nginx, a_server_closing_keep_alive_is_not_an_error)
{
	/* nginx answers 3 requests per connection, then closes it */
	char *u = url("/ka3");
	struct run r = mlctl(20, "--output", "json", "load", u, "-r", "max",
			     "-d", "1s", "-c", "2", "-t", "1", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	json_int_t n = jint(r.json, "requests", NULL);
	cr_assert_gt(n, 30);
	cr_assert_eq(jint(r.json, "errors", "total"), 0);
	cr_assert_geq(jint(r.json, "connects", NULL), n / 3);
	run_free(&r);
	free(u);
}

Test(load_nginx, the_report_is_well_formed_html_with_svg)
{
	char *u = url("/");
	char *rep = fmt("%s/report.html", g_dir);
	struct run r = mlctl(20, "load", u, "-r", "200", "-d", "1s", "--report",
			     rep, "--max-p99", "1s", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	char *html = proc_slurp(rep);
	size_t svgs = 0;
	for (const char *p = html; (p = strstr(p, "<svg ")); p++)
		svgs++;
	cr_assert_eq(svgs, 4);
	cr_assert(strstr(html, "PASSED") != NULL);
	/* strict XML: zero complaints */
	char *cmd = fmt("xmllint --noout %s 2>&1", rep);
	FILE *p = popen(cmd, "r");
	char buf[4096];
	size_t got = fread(buf, 1, sizeof(buf) - 1, p);
	buf[got] = '\0';
	cr_assert_eq(pclose(p), 0, "%s", buf);
	cr_assert_eq(got, 0, "%s", buf);
	free(cmd);
	/* the HTML parser: only its notices that SVG tags are not HTML 4 */
	cmd = fmt("xmllint --html --noout %s 2>&1 | grep 'error :' | "
		  "grep -v 'Tag \\(svg\\|title\\|desc\\|rect\\|line\\|path\\|"
		  "text\\) invalid'; xmllint --html --noout %s 2>/dev/null", rep, rep);
	p = popen(cmd, "r");
	got = fread(buf, 1, sizeof(buf) - 1, p);
	buf[got] = '\0';
	int st = pclose(p);
	cr_assert_eq(WEXITSTATUS(st), 0);
	cr_assert_eq(got, 0, "unexpected xmllint --html output:\n%s", buf);
	free(cmd);
	free(html);
	free(rep);
	run_free(&r);
	free(u);
}

Test(load_nginx, json_mode_prints_one_document_and_quiet_silences_progress)
{
	char *u = url("/");
	struct run r = mlctl(20, "load", u, "-r", "20", "-d", "1s", "--quiet",
			     "--output", "json", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert_not_null(r.json, "%s", r.out);
	cr_assert_str_eq(r.err, "");
	json_t *keys[] = { json_object_get(r.json, "requests"),
			   json_object_get(r.json, "achieved_rate"),
			   json_object_get(r.json, "errors"),
			   json_object_get(r.json, "late"),
			   json_object_get(r.json, "reconnects"),
			   json_object_get(r.json, "latency") };
	for (size_t i = 0; i < 6; i++)
		cr_assert_not_null(keys[i]);
	run_free(&r);
	free(u);
}

/* ---- no server ------------------------------------------------------------ */

static void tmp_only(void)
{
	char tmpl[] = "/tmp/mlctl-load-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(g_dir, sizeof(g_dir), "%s", tmpl);
}

TestSuite(load_down, .init = tmp_only, .fini = tmp_done, .timeout = 30);

Test(load_down, a_closed_port_gives_connect_errors_and_exit_3)
{
	char *u = fmt("http://127.0.0.1:%d/", free_port());
	struct run r = mlctl(20, "--output", "json", "load", u, "-r", "50",
			     "-d", "1s", NULL);
	cr_assert_eq(r.rc, 3, "rc %d: %s", r.rc, r.err);
	cr_assert_eq(jint(r.json, "requests", NULL), 50);
	cr_assert_eq(jint(r.json, "errors", "connect"), 50);
	cr_assert_eq(jint(r.json, "errors", "total"), 50);
	cr_assert(strstr(r.err, "no response from") != NULL, "%s", r.err);
	run_free(&r);
	/* the closed model backs off instead of spinning */
	r = mlctl(20, "--output", "json", "load", u, "-r", "max", "-d", "1s",
		  "-c", "2", NULL);
	cr_assert_eq(r.rc, 3);
	json_int_t n = jint(r.json, "errors", "connect");
	cr_assert(n > 10 && n < 1000, "%lld connect errors", (long long)n);
	run_free(&r);
	free(u);
}

Test(load_down, a_silent_server_gives_timeouts)
{
	/* accepts connections (the kernel's backlog) but never answers */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	char *u = fmt("http://127.0.0.1:%d/", ntohs(a.sin_port));
	double t0 = mono_s();
	struct run r = mlctl(20, "--output", "json", "load", u, "-r", "20",
			     "-d", "1s", "-c", "4", "--timeout", "300ms", NULL);
	double took = mono_s() - t0;
	cr_assert_eq(r.rc, 3, "rc %d: %s", r.rc, r.err);
	cr_assert_eq(jint(r.json, "requests", NULL), 20);
	cr_assert_eq(jint(r.json, "errors", "timeout"), 20);
	cr_assert(took < 5, "took %.1fs", took);
	run_free(&r);
	free(u);
	close(fd);
}

Test(load_down, bad_usage_exits_2)
{
	const char *cases[][8] = {
		{ "load", NULL },
		{ "load", "http://127.0.0.1:1/", "--rate", "fast", NULL },
		{ "load", "http://127.0.0.1:1/", "--bogus", NULL },
		{ "load", "https://127.0.0.1:1/", NULL },
		{ "load", "http://127.0.0.1:1/", "-c", "2", "-t", "4", NULL },
		{ "load", "--env", "dev", NULL },
		{ "load", "http://127.0.0.1:1/", "--duration", NULL },
		{ "load", "http://127.0.0.1:1/", "--max-error-rate", "150%", NULL },
		{ "load", "http://127.0.0.1:1/", "--duration", "25h", NULL },
		{ "load", "http://127.0.0.1:1/", "--report", "/nonexistent/r.html", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *const *c = cases[i];
		struct run r = mlctl(10, c[0], c[1], c[2], c[3], c[4], c[5],
				     c[6], NULL);
		cr_assert_eq(r.rc, 2, "case %zu: rc %d", i, r.rc);
		cr_assert(strstr(r.err, "mlctl: error:") != NULL,
			  "case %zu: %s", i, r.err);
		cr_assert_str_eq(r.out, "", "case %zu", i);
		run_free(&r);
	}
	struct run r = mlctl(10, "load", "--help", NULL);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "--max-p99") != NULL);
	run_free(&r);
}

/* ---- mlserve ------------------------------------------------------------- */

#define MAX_NODES 2
static struct proc g_ms[MAX_NODES];
static int g_ms_port[MAX_NODES];

static void ms_init(void)
{
	tmp_only();
	const char *bin = getenv("MLSERVE_BIN");
	if (!bin || access(bin, X_OK) != 0)
		cr_skip_test("MLSERVE_BIN is not an executable");
}

static void ms_fini(void)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (g_ms[i].pid)
			proc_stop(&g_ms[i], SIGTERM, 3000);
	tmp_done();
}

/* A release of model "eta" at `version`, with extra model lines (faults). */
static char *write_release(const char *version, const char *model_extra)
{
	char *mp = fmt("%s/eta-%s.yaml", g_dir, version);
	char *m = fmt("apiVersion: mlctl/v1\nkind: Model\nname: eta\n"
		      "version: %s\ntype: linear\noutput: eta\n"
		      "terms:\n  - { coef: 1.07, ratio: [d, v] }\n"
		      "  - { coef: 0.05 }\n%s",
		      version, model_extra);
	spit(mp, m);
	char digest[65];
	cr_assert_eq(sha256_file_hex(mp, digest), 0);
	char *rp = fmt("%s/release-%s.yaml", g_dir, version);
	char *r = fmt("apiVersion: mlctl/v1\nkind: Release\nmodel: eta\n"
		      "version: %s\nserving_mode: realtime\n"
		      "artifact: { uri: eta-%s.yaml, sha256: \"%s\" }\n"
		      "expectations:\n  inputs:\n"
		      "    v: { type: number, exclusive_min: 0 }\n"
		      "    d: { type: number, exclusive_min: 0 }\n"
		      "  outputs:\n    eta: { type: number, min: 0 }\n"
		      "checks:\n  smoke: [ { input: { v: 50, d: 10 }, "
		      "expect: { eta: { min: 0.05, max: 1.0 } } } ]\n",
		      version, version, digest);
	spit(rp, r);
	free(mp);
	free(m);
	free(r);
	return rp;
}

static void ms_start(int i, const char *release)
{
	char *out = fmt("%s/mlserve-%d.out", g_dir, i);
	char *err = fmt("%s/mlserve-%d.err", g_dir, i);
	char *argv[] = { (char *)getenv("MLSERVE_BIN"), "--listen",
			 "127.0.0.1:0", "--load", (char *)release, NULL };
	cr_assert_eq(proc_start(&g_ms[i], argv, NULL, out, err), 0);
	g_ms_port[i] = proc_wait_listening(&g_ms[i], 10000) == 0
		? g_ms[i].port : 0;
	cr_assert_gt(g_ms_port[i], 0, "mlserve did not start: %s", proc_slurp(err));
	free(out);
	free(err);
}

/* An environment of n mlserve nodes without a router. */
static char *write_env(int n)
{
	char nodes[512] = "";
	size_t k = 0;
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(nodes + k, sizeof(nodes) - k,
				      "  - { name: lt-%d, url: \"http://"
				      "127.0.0.1:%d\" }\n", i + 1,
				      g_ms_port[i]);
	char *p = fmt("%s/lt.yaml", g_dir);
	char *e = fmt("apiVersion: mlctl/v1\nkind: Environment\nname: lt\n"
		      "tier: dev\nnode_driver: v2\nnodes:\n%s"
		      "router: { driver: none }\nstrategy: { type: recreate }\n"
		      "gates: []\n", nodes);
	spit(p, e);
	free(e);
	return p;
}

/* GET http://127.0.0.1:port/path over a plain socket: the whole reply
 * (the server closes: Connection: close). Caller frees. */
static char *http_get(int port, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char *req = fmt("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			"Connection: close\r\n\r\n", path, port);
	cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	free(req);
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	ssize_t r;
	while ((r = recv(fd, buf + n, cap - n - 1, 0)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* Sum of mlserve_requests_total{...,code="<code>"} on node i. */
static long metric_requests(int i, const char *code)
{
	char *body = http_get(g_ms_port[i], "/metrics");
	char *want = fmt("code=\"%s\"}", code);
	long total = 0;
	for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "mlserve_requests_total{", 23) == 0 &&
		    strstr(line, want))
			total += atol(strrchr(line, ' ') + 1);
	free(want);
	free(body);
	return total;
}

TestSuite(load_mlserve, .init = ms_init, .fini = ms_fini, .timeout = 60);

Test(load_mlserve, counts_match_the_node_metrics)
{
	char *rel = write_release("2.0.0", "");
	ms_start(0, rel);
	char *env = write_env(1);
	struct run r = mlctl(20, "--output", "json", "load", "--env", env,
			     "--release", rel, "-r", "300", "-d", "1s", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	cr_assert_eq(jint(r.json, "requests", NULL), 300);
	cr_assert_eq(jint(r.json, "ok", NULL), 300);
	cr_assert_eq(metric_requests(0, "200"), 300);
	json_t *t0 = json_array_get(json_object_get(json_object_get(r.json,
		"options"), "targets"), 0);
	cr_assert(strstr(json_string_value(t0), "/v2/models/eta/infer"), "%s",
		  json_string_value(t0));
	run_free(&r);
	free(env);
	free(rel);
}

/* --env sends client traffic (the unversioned path): with a release that
 * serves nowhere, the figures are another version's, and it says so */
Test(load_mlserve, a_release_loaded_nowhere_is_said)
{
	char *rel = write_release("2.0.0", "");
	ms_start(0, rel);
	char *env = write_env(1);
	char *other = write_release("2.1.0", "");
	struct run r = mlctl(20, "load", "--env", env, "--release", other, "-r",
			     "100", "-d", "1s", NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	cr_assert(strstr(r.err, "load: eta 2.1.0 is loaded on no node of lt: the "
				"answers come from the version each node serves"),
		  "%s", r.err);
	cr_assert_eq(metric_requests(0, "200"), 100, "2.0.0 answered");
	run_free(&r);
	free(other);
	free(env);
	free(rel);
}

Test(load_mlserve, nodes_without_a_router_share_the_load)
{
	char *rel = write_release("2.0.0", "");
	ms_start(0, rel);
	ms_start(1, rel);
	char *env = write_env(2);
	struct run r = mlctl(20, "--output", "json", "load", "--env", env,
			     "--release", rel, "-r", "400", "-d", "1s", "-c", "4",
			     NULL);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	long a = metric_requests(0, "200"), b = metric_requests(1, "200");
	cr_assert_eq(a + b, 400);
	cr_assert(a >= 120 && b >= 120, "split %ld / %ld", a, b);
	run_free(&r);
	free(env);
	free(rel);
}

Test(load_mlserve, a_stall_shows_in_the_open_p99_and_hides_in_the_closed)
{
	/* the node holds every request for up to 300 ms once a second */
	char *rel = write_release("9.0.0", "faults: { stall: { every: 1s, "
					   "for: 300ms } }\n");
	ms_start(0, rel);
	char *env = write_env(1);
	struct run open = mlctl(20, "--output", "json", "load", "--env", env,
				"--release", rel, "-r", "300", "-d", "2s", NULL);
	cr_assert_eq(open.rc, 0, "rc %d: %s", open.rc, open.err);
	struct run closed = mlctl(20, "--output", "json", "load", "--env", env,
				  "--release", rel, "-r", "max", "-d", "2s",
				  "-c", "4", "-t", "1", NULL);
	cr_assert_eq(closed.rc, 0, "rc %d: %s", closed.rc, closed.err);
	double p99_open = jnum(open.json, "latency", "p99");
	double p99_closed = jnum(closed.json, "latency", "p99");
	/* ~30% of the schedule falls in a stall: the open p99 sees it */
	cr_assert(p99_open > 100, "open p99 %.3f ms", p99_open);
	/* 4 connections wait out each stall, among thousands of requests */
	cr_assert(p99_closed < 50, "closed p99 %.3f ms", p99_closed);
	cr_assert(p99_open > 5 * p99_closed);
	cr_assert(jnum(closed.json, "latency", "max") > 100);
	cr_assert_gt(jint(open.json, "late", NULL), 0);
	cr_assert_eq(jint(open.json, "errors", "total"), 0);
	run_free(&open);
	run_free(&closed);
	free(env);
	free(rel);
}

Test(load_mlserve, injected_errors_are_5xx_and_break_the_error_rate)
{
	char *rel = write_release("2.1.0", "faults: { error_rate: 10% }\n");
	ms_start(0, rel);
	char *env = write_env(1);
	struct run r = mlctl(20, "--output", "json", "load", "--env", env,
			     "--release", rel, "-r", "400", "-d", "1s",
			     "--max-error-rate", "1%", NULL);
	cr_assert_eq(r.rc, 1, "rc %d: %s", r.rc, r.err);
	json_int_t e5 = jint(r.json, "errors", "5xx");
	cr_assert_eq(e5, 40, "5xx %lld", (long long)e5);
	cr_assert_eq(jint(r.json, "errors", "total"), e5);
	cr_assert_eq(metric_requests(0, "500"), e5);
	cr_assert_eq(metric_requests(0, "200"), 400 - e5);
	run_free(&r);
	free(env);
	free(rel);
}
