/* test_load_request.c — the load generator's plain parts: URL parsing,
 * request bytes, option checks, thresholds, the JSON document, the HTML
 * report and the environment/release target. No network. */
#include "config.h"
#include "exitcode.h"
#include "load/load.h"
#include "load/target.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- URLs ----------------------------------------------------------------- */

Test(load_url, parses_host_port_and_path)
{
	struct load_url u;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(load_url_parse("http://127.0.0.1:8080/v2/models/eta/infer?x=1",
				    &u, &err), 0);
	cr_assert_str_eq(u.host, "127.0.0.1");
	cr_assert_eq(u.port, 8080);
	cr_assert_str_eq(u.path, "/v2/models/eta/infer?x=1");
	cr_assert_str_eq(u.hostport, "127.0.0.1:8080");
	load_url_release(&u);
}

Test(load_url, defaults_port_80_and_path_slash)
{
	struct load_url u;
	cr_assert_eq(load_url_parse("http://localhost", &u, NULL), 0);
	cr_assert_eq(u.port, 80);
	cr_assert_str_eq(u.path, "/");
	load_url_release(&u);
	cr_assert_eq(load_url_parse("HTTP://h:81?q", &u, NULL), 0);
	cr_assert_str_eq(u.path, "/?q");
	load_url_release(&u);
	cr_assert_eq(load_url_parse("http://h:81/a#frag", &u, NULL), 0);
	cr_assert_str_eq(u.path, "/a");
	load_url_release(&u);
}

Test(load_url, takes_ipv6_literals)
{
	struct load_url u;
	cr_assert_eq(load_url_parse("http://[::1]:9000/x", &u, NULL), 0);
	cr_assert_str_eq(u.host, "::1");
	cr_assert_eq(u.port, 9000);
	cr_assert_str_eq(u.hostport, "[::1]:9000");
	load_url_release(&u);
}

Test(load_url, rejects_https_bad_ports_and_junk)
{
	static const char *const bad[] = {
		"https://127.0.0.1:443/", "ftp://x/", "127.0.0.1:80",
		"http://", "http://h:0/", "http://h:65536/", "http://h:80x/",
		"http://h:/", "http://[::1/", "http://h/a b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct load_url u;
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(load_url_parse(bad[i], &u, &err), -1, "%s", bad[i]);
		cr_assert_eq(err.code, ML_EXIT_USAGE);
		cr_assert(strstr(err.msg, bad[i]) != NULL || bad[i][0] != 'h',
			  "message names the URL: %s", err.msg);
	}
}

/* ---- request bytes -------------------------------------------------------- */

Test(load_request, get_has_host_and_no_body)
{
	struct load_url u;
	load_url_parse("http://127.0.0.1:8080/health", &u, NULL);
	size_t len;
	char *r = load_request_build(&u, NULL, NULL, 0, NULL, 0, &len);
	cr_assert_eq(strlen(r), len);
	cr_assert(strncmp(r, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n",
			  44) == 0, "%s", r);
	cr_assert(strstr(r, "User-Agent: mlctl-load/") != NULL);
	cr_assert_null(strstr(r, "Content-Length"));
	cr_assert(strcmp(r + len - 4, "\r\n\r\n") == 0);
	free(r);
	load_url_release(&u);
}

Test(load_request, body_implies_post_and_content_length)
{
	struct load_url u;
	load_url_parse("http://h:1/infer", &u, NULL);
	const char *hs[] = { "Content-Type: application/json",
			     "user-agent: mine" };
	size_t len;
	const char body[] = "{\"inputs\":[]}";
	char *r = load_request_build(&u, NULL, hs, 2, body, strlen(body), &len);
	cr_assert(strncmp(r, "POST /infer HTTP/1.1\r\n", 22) == 0);
	cr_assert(strstr(r, "Content-Length: 13\r\n") != NULL);
	cr_assert(strstr(r, "Content-Type: application/json\r\n") != NULL);
	/* the caller's User-Agent replaces ours */
	cr_assert_null(strstr(r, "mlctl-load"));
	cr_assert(memcmp(r + len - strlen(body), body, strlen(body)) == 0);
	free(r);
	load_url_release(&u);
}

Test(load_request, explicit_method_and_host)
{
	struct load_url u;
	load_url_parse("http://127.0.0.1:1/", &u, NULL);
	const char *hs[] = { "Host: example.org" };
	size_t len;
	char *r = load_request_build(&u, "DELETE", hs, 1, NULL, 0, &len);
	cr_assert(strncmp(r, "DELETE / HTTP/1.1\r\n", 19) == 0);
	cr_assert(strstr(r, "Host: example.org\r\n") != NULL);
	cr_assert_null(strstr(r, "Host: 127.0.0.1"));
	free(r);
	load_url_release(&u);
}

Test(load_request, long_methods_and_headers_fit)
{
	struct load_url u;
	load_url_parse("http://h:1/", &u, NULL);
	char method[600], hdr[2000];
	memset(method, 'M', sizeof(method) - 1);
	method[sizeof(method) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "X-Long: %01990d", 7);
	const char *hs[] = { hdr };
	size_t len;
	char *r = load_request_build(&u, method, hs, 1, "b", 1, &len);
	cr_assert_eq(strlen(r), len);
	cr_assert(strncmp(r, method, strlen(method)) == 0);
	cr_assert(strstr(r, hdr) != NULL);
	cr_assert_eq(r[len - 1], 'b');
	free(r);
	load_url_release(&u);
}

/* ---- options --------------------------------------------------------------- */

static const char *const one_url[] = { "http://127.0.0.1:1/" };

static struct load_opts good_opts(void)
{
	struct load_opts o = LOAD_OPTS_INIT;
	o.urls = one_url;
	o.n_urls = 1;
	o.rate = 100;
	return o;
}

Test(load_opts, defaults_are_valid)
{
	struct load_opts o = good_opts();
	cr_assert_eq(load_opts_check(&o, NULL), 0);
	cr_assert_eq(o.connections, 16);
	cr_assert_eq(o.duration_ms, 10000);
	cr_assert_eq(o.timeout_ms, 10000);
}

Test(load_opts, rejects_bad_values_with_a_reason)
{
	struct ml_err err = ML_ERR_INIT;
	struct load_opts o;
	const char *badh[] = { "NoColon" };
	const char *crlf[] = { "X: a\r\nY: b" };

	o = good_opts(); o.n_urls = 0;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	o = good_opts(); o.rate = -1;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	o = good_opts(); o.duration_ms = 0;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	o = good_opts(); o.connections = 0;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	o = good_opts(); o.threads = 4; o.connections = 2;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	cr_assert(strstr(err.msg, "threads") != NULL, "%s", err.msg);
	o = good_opts(); o.method = "GE T";
	cr_assert_eq(load_opts_check(&o, &err), -1);
	o = good_opts(); o.headers = badh; o.n_headers = 1;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	cr_assert(strstr(err.msg, "NoColon") != NULL);
	o = good_opts(); o.headers = crlf; o.n_headers = 1;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	o = good_opts(); o.timeout_ms = 0;
	cr_assert_eq(load_opts_check(&o, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_USAGE);
}

/* ---- a synthetic result ------------------------------------------------------ */

static void fake_result(struct load_result *r)
{
	memset(r, 0, sizeof(*r));
	hist_init(&r->latency);
	for (int i = 1; i <= 1000; i++)
		hist_record(&r->latency, i * 100); /* 0.1 .. 100 ms */
	r->requests = 1010;
	r->ok = 990;
	r->errors[LOAD_ERR_HTTP5XX] = 7;
	r->errors[LOAD_ERR_HTTP4XX] = 3;
	r->errors[LOAD_ERR_CONNECT] = 10;
	r->errors_total = 20;
	r->late = 4;
	r->reconnects = 2;
	r->elapsed_s = 2.0;
	r->achieved_rate = 505;
	r->error_rate = 20.0 / 1010;
	r->n_series = 2;
	r->series = calloc(2, sizeof(struct load_point));
	for (int i = 0; i < 2; i++) {
		r->series[i].t_s = i;
		r->series[i].dur_s = 1;
		r->series[i].requests = 505;
		r->series[i].errors = 10;
		r->series[i].p50_ms = 50;
		r->series[i].p99_ms = 99;
		r->series[i].max_ms = 100;
	}
}

Test(load_check, passes_and_breaks_each_threshold)
{
	struct load_result r;
	fake_result(&r);
	struct load_verdict v;
	struct load_thresholds t = LOAD_THRESHOLDS_INIT;
	load_check(&t, &r, &v);
	cr_assert(v.passed);
	cr_assert_eq(v.n, 0);

	t.max_p99_ms = 100; /* p99 is 99 ms */
	t.max_error_rate = 0.02;
	t.min_rate = 500;
	load_check(&t, &r, &v);
	cr_assert(v.passed);
	cr_assert_eq(v.n, 3);
	cr_assert_float_eq(v.items[0].value, 99.0, 0.1);

	t.max_p99_ms = 50;
	load_check(&t, &r, &v);
	cr_assert_not(v.passed);
	cr_assert_not(v.items[0].ok);
	cr_assert(v.items[1].ok && v.items[2].ok);

	t = (struct load_thresholds)LOAD_THRESHOLDS_INIT;
	t.max_error_rate = 0.01;
	load_check(&t, &r, &v);
	cr_assert_not(v.passed);

	t = (struct load_thresholds)LOAD_THRESHOLDS_INIT;
	t.min_rate = 600;
	load_check(&t, &r, &v);
	cr_assert_not(v.passed);
	cr_assert_str_eq(v.items[0].name, "min_rate");
	load_result_release(&r);
}

Test(load_check, an_empty_run_cannot_pass_latency_or_rate)
{
	struct load_result r;
	memset(&r, 0, sizeof(r));
	hist_init(&r.latency);
	struct load_thresholds t = LOAD_THRESHOLDS_INIT;
	t.max_p99_ms = 1000;
	struct load_verdict v;
	load_check(&t, &r, &v);
	cr_assert_not(v.passed);
	load_result_release(&r);
}

Test(load_json, has_the_documented_keys)
{
	struct load_result r;
	fake_result(&r);
	struct load_opts o = good_opts();
	o.duration_ms = 2000;
	struct load_thresholds t = LOAD_THRESHOLDS_INIT;
	t.max_p99_ms = 50;
	struct load_verdict v;
	load_check(&t, &r, &v);
	char *s = load_result_json(&o, &r, &v);
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	cr_assert_not_null(j, "%s", je.text);
	cr_assert_eq(json_integer_value(json_object_get(j, "requests")), 1010);
	cr_assert_float_eq(json_real_value(json_object_get(j, "achieved_rate")),
			   505.0, 1e-9);
	json_t *e = json_object_get(j, "errors");
	cr_assert_eq(json_integer_value(json_object_get(e, "total")), 20);
	cr_assert_eq(json_integer_value(json_object_get(e, "5xx")), 7);
	cr_assert_eq(json_integer_value(json_object_get(e, "4xx")), 3);
	cr_assert_eq(json_integer_value(json_object_get(e, "connect")), 10);
	cr_assert_eq(json_integer_value(json_object_get(e, "timeout")), 0);
	cr_assert_eq(json_integer_value(json_object_get(e, "closed")), 0);
	cr_assert_eq(json_integer_value(json_object_get(j, "late")), 4);
	cr_assert_eq(json_integer_value(json_object_get(j, "reconnects")), 2);
	json_t *l = json_object_get(j, "latency");
	cr_assert_str_eq(json_string_value(json_object_get(l, "unit")), "ms");
	cr_assert_float_eq(json_real_value(json_object_get(l, "p50")), 50.0,
			   0.1);
	cr_assert_float_eq(json_real_value(json_object_get(l, "p99")), 99.0,
			   0.1);
	cr_assert_not_null(json_object_get(l, "p90"));
	cr_assert_not_null(json_object_get(l, "p99.9"));
	cr_assert_float_eq(json_real_value(json_object_get(l, "max")), 100.0,
			   1e-9);
	cr_assert_eq(json_array_size(json_object_get(j, "series")), 2);
	cr_assert(json_is_false(json_object_get(j, "passed")));
	json_t *th = json_array_get(json_object_get(j, "thresholds"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(th, "name")),
			 "max_p99");
	cr_assert(json_is_false(json_object_get(th, "ok")));
	cr_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(j, "options"), "model")),
			 "open");
	json_decref(j);
	free(s);
	load_result_release(&r);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(load_report, writes_four_charts_and_escapes_text)
{
	struct load_result r;
	fake_result(&r);
	const char *urls[] = { "http://127.0.0.1:1/a?x=1&y=<2>" };
	struct load_opts o = good_opts();
	o.urls = urls;
	struct load_thresholds t = LOAD_THRESHOLDS_INIT;
	t.max_error_rate = 0.01;
	struct load_verdict v;
	load_check(&t, &r, &v);
	char path[] = "/tmp/mlctl-report-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(load_report_write(path, "T & <t>", &o, &r, &v, &err), 0,
		     "%s", err.msg);
	char *s = slurp(path);
	cr_assert_eq(count(s, "<svg "), 4);
	cr_assert_eq(count(s, "</svg>"), 4);
	cr_assert(strstr(s, "<title>T &amp; &lt;t&gt;</title>") != NULL);
	cr_assert(strstr(s, "a?x=1&amp;y=&lt;2&gt;") != NULL);
	cr_assert_null(strstr(s, "y=<2>"));
	cr_assert(strstr(s, "FAILED") != NULL);
	cr_assert_null(strstr(s, "<script"));
	cr_assert_null(strstr(s, "http-equiv"));
	free(s);
	unlink(path);
	load_result_release(&r);
}

Test(load_report, an_empty_run_still_renders)
{
	struct load_result r;
	memset(&r, 0, sizeof(r));
	hist_init(&r.latency);
	struct load_opts o = good_opts();
	o.rate = 0;
	char path[] = "/tmp/mlctl-report-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	cr_assert_eq(load_report_write(path, NULL, &o, &r, NULL, NULL), 0);
	char *s = slurp(path);
	cr_assert_eq(count(s, "class=\"axis\">no data</text>"), 4);
	free(s);
	unlink(path);
	load_result_release(&r);
}

Test(load_report, an_unwritable_path_is_an_error)
{
	struct load_result r;
	fake_result(&r);
	struct load_opts o = good_opts();
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(load_report_write("/nonexistent-dir/r.html", NULL, &o, &r,
				       NULL, &err), -1);
	cr_assert(strstr(err.msg, "/nonexistent-dir/r.html") != NULL);
	load_result_release(&r);
}

/* ---- environment + release target ------------------------------------------- */

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static const char MODEL[] =
	"apiVersion: mlctl/v1\nkind: Model\nname: eta\nversion: 2.0.0\n"
	"type: linear\noutput: eta\nterms:\n  - { coef: 1.0, ratio: [d, v] }\n";

static const char ENV_NODES[] =
	"apiVersion: mlctl/v1\nkind: Environment\nname: t\ntier: test\n"
	"node_driver: v2\nauth: { token_env: MLCTL_TEST_LOAD_TOKEN }\n"
	"nodes:\n"
	"  - { name: t-1, url: \"http://127.0.0.1:18501\" }\n"
	"  - { name: t-2, url: \"http://127.0.0.1:18502\" }\n"
	"router: { driver: none }\nstrategy: { type: recreate }\ngates: []\n"
	"checks: { load: { rate: 100, duration: 5s, max_p99: 250ms, "
	"max_error_rate: 1% } }\n";

static const char ENV_ROUTER[] =
	"apiVersion: mlctl/v1\nkind: Environment\nname: s\ntier: staging\n"
	"node_driver: v2\n"
	"nodes:\n  - { name: s-1, url: \"http://127.0.0.1:18511\" }\n"
	"router: { driver: nginx, listen: \"127.0.0.1:18510\" }\n"
	"strategy: { type: rolling }\ngates: []\n";

Test(load_target, builds_v2_requests_from_env_and_release)
{
	char dir[] = "/tmp/mlctl-target-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *mp = write_tmp(dir, "eta.yaml", MODEL);
	/* the release pins the model's digest */
	char cmd[512], digest[65] = "";
	snprintf(cmd, sizeof(cmd), "sha256sum %s", mp);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%64s", digest), 1);
	pclose(p);
	char rel_text[2048];
	snprintf(rel_text, sizeof(rel_text),
		 "apiVersion: mlctl/v1\nkind: Release\nmodel: eta\n"
		 "version: 2.0.0\nserving_mode: realtime\n"
		 "artifact: { uri: eta.yaml, sha256: \"%s\" }\n"
		 "expectations:\n  inputs:\n"
		 "    v: { type: number, exclusive_min: 0 }\n"
		 "    d: { type: number, exclusive_min: 0 }\n"
		 "  outputs:\n    eta: { type: number, min: 0 }\n"
		 "checks:\n"
		 "  smoke: [ { input: { v: 50, d: 10 }, expect: { eta: { min: 0 } } } ]\n"
		 "  load: { rate: 200, duration: 2s, max_p99: 500ms, "
		 "max_error_rate: 2%% }\n",
		 digest);
	char *rp = write_tmp(dir, "release.yaml", rel_text);
	char *ep = write_tmp(dir, "t.yaml", ENV_NODES);
	char *sp = write_tmp(dir, "s.yaml", ENV_ROUTER);
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *env = NULL, *senv = NULL;
	struct cfg_release *rel = NULL;
	cr_assert_eq(cfg_release_load(rp, &rel, &d), 0,
		     "%s", d.len ? d.items[0].msg : "");
	cr_assert_eq(cfg_env_load(ep, &env, &d), 0,
		     "%s", d.len ? d.items[0].msg : "");
	cr_assert_eq(cfg_env_load(sp, &senv, &d), 0,
		     "%s", d.len ? d.items[0].msg : "");

	setenv("MLCTL_TEST_LOAD_TOKEN", "s3cret", 1);
	struct load_env_target t;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(load_env_target_init(&t, env, rel, &err), 0, "%s", err.msg);
	/* no router: the nodes, round-robin */
	cr_assert_eq(t.n_urls, 2);
	cr_assert_str_eq(t.urls[0], "http://127.0.0.1:18501/v2/models/eta/infer");
	cr_assert_str_eq(t.urls[1], "http://127.0.0.1:18502/v2/models/eta/infer");
	cr_assert_str_eq(t.method, "POST");
	json_t *b = json_loads(t.body, 0, NULL);
	cr_assert_not_null(b, "%s", t.body);
	json_t *in0 = json_array_get(json_object_get(b, "inputs"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(in0, "datatype")),
			 "FP64");
	cr_assert_eq(json_array_size(json_object_get(b, "inputs")), 2);
	json_decref(b);
	bool auth = false;
	for (size_t i = 0; i < t.n_headers; i++)
		if (strcmp(t.headers[i], "Authorization: Bearer s3cret") == 0)
			auth = true;
	cr_assert(auth);
	struct load_opts o = LOAD_OPTS_INIT;
	load_env_target_apply(&t, &o);
	cr_assert_eq(o.n_urls, 2);
	cr_assert_eq(load_opts_check(&o, NULL), 0);
	load_env_target_release(&t);

	/* a router: its listener only */
	cr_assert_eq(load_env_target_init(&t, senv, rel, &err), 0, "%s", err.msg);
	cr_assert_eq(t.n_urls, 1);
	cr_assert_str_eq(t.urls[0], "http://127.0.0.1:18510/v2/models/eta/infer");
	load_env_target_release(&t);

	/* the release's load settings, tightened by the env's floors */
	double rate = 0;
	long long dur = 0;
	int conns = 0;
	struct load_thresholds th = LOAD_THRESHOLDS_INIT;
	load_checks_merge(env, rel, &rate, &dur, &conns, &th);
	cr_assert_float_eq(rate, 200, 1e-9);
	cr_assert_eq(dur, 5000);
	cr_assert_float_eq(th.max_p99_ms, 250, 1e-9);
	cr_assert_float_eq(th.max_error_rate, 0.01, 1e-9);

	cfg_env_free(env);
	cfg_env_free(senv);
	cfg_release_free(rel);
	ml_diags_release(&d);
	unlink(mp);
	unlink(rp);
	unlink(ep);
	unlink(sp);
	rmdir(dir);
	free(mp);
	free(rp);
	free(ep);
	free(sp);
}
