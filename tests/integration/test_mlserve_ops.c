/* test_mlserve_ops.c — bin/mlserve under operations: loads, reloads and
 * unloads during concurrent traffic with zero failed requests (1 and 2
 * workers), a tampered artifact refused while the old version serves,
 * SIGTERM draining in-flight requests, --load at start, the admin token,
 * and artifacts fetched over HTTP. Needs MLSERVE_BIN. */
#include "test_mlserve_util.h"

#include <pthread.h>
#include <stdatomic.h>

static char dir[256];
static struct proc node, web;
static struct ms_resp r;
static char p1[512], s1[65], p2[512], s2[65];

static void setup(void)
{
	ms_tmpdir(dir, sizeof dir);
	ms_model(dir, "eta", "1.0.0", ETA1_TERMS, NULL, p1, s1);
	ms_model(dir, "eta", "2.0.0", ETA2_TERMS, NULL, p2, s2);
}

static void teardown(void)
{
	if (node.pid && proc_alive(&node))
		proc_stop(&node, SIGKILL, 2000);
	if (web.pid && proc_alive(&web))
		proc_stop(&web, SIGKILL, 2000);
	ms_resp_free(&r);
	ms_rmdir(dir);
}

TestSuite(mlserve_ops, .init = setup, .fini = teardown, .timeout = 120);

/* ---- traffic during repository changes ---------------------------------- */

struct traffic {
	int port;
	atomic_bool stop;
	atomic_int ok, failed, other_version;
	char first_failure[512];
};

static void *traffic_main(void *arg)
{
	struct traffic *t = arg;
	CURL *c = curl_easy_init();
	struct ms_resp rr = { 0 };
	while (!atomic_load(&t->stop)) {
		long st = ms_http(c, "POST", t->port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &rr);
		if (st == 200 && (strstr(rr.body, "\"model_version\":\"1.0.0\"") ||
				  strstr(rr.body, "\"model_version\":\"2.0.0\""))) {
			atomic_fetch_add(&t->ok, 1);
		} else if (st == 200) {
			atomic_fetch_add(&t->other_version, 1);
		} else {
			if (atomic_fetch_add(&t->failed, 1) == 0)
				snprintf(t->first_failure, sizeof t->first_failure, "%ld %s", st, rr.body);
		}
	}
	ms_resp_free(&rr);
	curl_easy_cleanup(c);
	return NULL;
}

static void churn_under_traffic(const char *workers)
{
	ms_start(&node, dir, "--workers", workers, NULL);
	cr_assert_eq(ms_load(node.port, "eta", p1, s1, NULL, &r), 200, "%s", r.body);
	struct traffic t = { .port = node.port };
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, traffic_main, &t);
	int versions_seen = 0;
	for (int round = 0; round < 6; round++) {
		/* new version in, old one out, then reload it with no parameters */
		cr_assert_eq(ms_load(node.port, "eta", p2, s2, NULL, &r), 200, "%s", r.body);
		cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/models/eta/unload",
				     "{\"parameters\":{\"version\":\"1.0.0\"}}", NULL, &r), 200, "%s", r.body);
		cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/models/eta/load", "", NULL, &r), 200,
			     "%s", r.body);
		cr_assert_eq(ms_load(node.port, "eta", p1, s1, NULL, &r), 200, "%s", r.body);
		cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/models/eta/unload",
				     "{\"parameters\":{\"version\":\"2.0.0\"}}", NULL, &r), 200, "%s", r.body);
		/* a failed load in the middle changes nothing */
		cr_assert_eq(ms_load(node.port, "eta", p2, s1, NULL, &r), 400);
		ms_sleep(50);
		versions_seen++;
	}
	ms_sleep(100);
	atomic_store(&t.stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(atomic_load(&t.failed), 0, "%d failed requests, first: %s", atomic_load(&t.failed),
		     t.first_failure);
	cr_assert_eq(atomic_load(&t.other_version), 0);
	cr_assert_gt(atomic_load(&t.ok), 100, "only %d requests", atomic_load(&t.ok));
	cr_assert_eq(versions_seen, 6);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/metrics", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "mlserve_repository_operations_total{op=\"load\",result=\"ok\"} 19\n"), "%s", r.body);
}

Test(mlserve_ops, load_unload_reload_under_traffic_fails_no_request)
{
	churn_under_traffic("1");
}

Test(mlserve_ops, two_workers_share_the_repository_under_traffic)
{
	churn_under_traffic("2");
}

Test(mlserve_ops, two_workers_both_serve_a_model_loaded_through_one)
{
	ms_start(&node, dir, "--workers", "2", NULL);
	cr_assert_eq(ms_load(node.port, "eta", p2, s2, NULL, &r), 200, "%s", r.body);
	/* fresh connections are spread over both workers by the kernel */
	for (int i = 0; i < 40; i++) {
		cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r),
			     200, "%s", r.body);
		cr_assert(strstr(r.body, "\"model_version\":\"2.0.0\""));
	}
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/metrics", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "mlserve_workers 2\n"));
	cr_assert(strstr(r.body, "code=\"200\"} 40\n"), "%s", r.body);
}

/* ---- a tampered artifact ------------------------------------------------- */

Test(mlserve_ops, tampered_artifact_is_refused_and_the_old_version_keeps_serving)
{
	ms_start(&node, dir, NULL);
	cr_assert_eq(ms_load(node.port, "eta", p1, s1, NULL, &r), 200, "%s", r.body);
	FILE *f = fopen(p2, "a");
	fputs("  - { coef: 9 }\n", f);
	fclose(f);
	cr_assert_eq(ms_load(node.port, "eta", p2, s2, NULL, &r), 400);
	cr_assert(strstr(r.body, "checksum mismatch: expected sha256 "), "%s", r.body);
	cr_assert(strstr(r.body, s2), "%s", r.body);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert(strstr(r.body, "\"model_version\":\"1.0.0\""), "%s", r.body);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/versions/2.0.0/ready", NULL, NULL, &r), 404);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/index", "{}", NULL, &r), 200);
	cr_assert(strstr(r.body, "{\"name\":\"eta\",\"state\":\"UNAVAILABLE\",\"reason\":\"artifact "), "%s", r.body);
	cr_assert(strstr(r.body, "{\"name\":\"eta\",\"version\":\"1.0.0\",\"state\":\"READY\""), "%s", r.body);
}

/* ---- SIGTERM ------------------------------------------------------------- */

struct one {
	int port;
	long status;
	char body[512];
};

static void *one_request(void *arg)
{
	struct one *o = arg;
	struct ms_resp rr = { 0 };
	o->status = ms_http(NULL, "POST", o->port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &rr);
	snprintf(o->body, sizeof o->body, "%s", rr.body);
	ms_resp_free(&rr);
	return NULL;
}

Test(mlserve_ops, sigterm_drains_in_flight_requests_then_exits_0)
{
	char p[512], sha[65];
	ms_model(dir, "eta", "2.1.0", ETA2_TERMS, "faults: { latency: 600ms }\n", p, sha);
	ms_start(&node, dir, NULL);
	cr_assert_eq(ms_load(node.port, "eta", p, sha, NULL, &r), 200, "%s", r.body);
	struct one o[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		o[i].port = node.port;
		pthread_create(&th[i], NULL, one_request, &o[i]);
	}
	ms_sleep(200);
	double t0 = ms_now();
	kill(node.pid, SIGTERM);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(o[i].status, 200, "in-flight request %d: %ld %s", i, o[i].status, o[i].body);
		cr_assert(strstr(o[i].body, "\"model_version\":\"2.1.0\""));
	}
	int rc = proc_wait(&node, 5000);
	cr_assert_eq(rc, 0, "exit status %d", rc);
	cr_assert_lt(ms_now() - t0, 3000);
	char *err = proc_slurp(node.err);
	cr_assert(strstr(err, "draining"), "%s", err);
	free(err);
	/* nothing listens any more */
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/live", NULL, NULL, &r), 0);
}

Test(mlserve_ops, sigterm_on_an_idle_node_with_open_connections_exits_at_once)
{
	ms_start(&node, dir, "--workers", "2", NULL);
	int fd = ms_connect(node.port);
	ms_send(fd, "GET /v2/health/live HTTP/1.1\r\n\r\n", 32);
	char *got = ms_recv(fd, "}", 2000, NULL);
	cr_assert(strstr(got, "200 OK"), "%s", got);
	free(got);
	double t0 = ms_now();
	cr_assert_eq(proc_stop(&node, SIGTERM, 5000), 0);
	cr_assert_lt(ms_now() - t0, 1500);
	close(fd);
}

/* ---- --load and the admin token ----------------------------------------- */

Test(mlserve_ops, load_flag_serves_a_release_with_its_contract)
{
	char rel[512];
	ms_release(dir, "eta", "2.0.0", "eta-2.0.0.yaml", s2, rel);
	ms_start(&node, dir, "--load", rel, NULL);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert(strstr(r.body, "\"model_version\":\"2.0.0\""), "%s", r.body);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "-1"), NULL, &r), 400);
	cr_assert_str_eq(r.body, "{\"error\":\"input 'd': must be > 0, got -1\"}");
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/ready", NULL, NULL, &r), 200);
}

Test(mlserve_ops, load_flag_with_a_bad_release_exits_2)
{
	char rel[512];
	ms_release(dir, "eta", "2.0.0", "eta-2.0.0.yaml", s1, rel); /* wrong digest */
	char *argv[] = { (char *)ms_bin(), "--listen", "127.0.0.1:0", "--load", rel, NULL };
	char out[600], err[600];
	snprintf(out, sizeof out, "%s/bad.out", dir);
	snprintf(err, sizeof err, "%s/bad.err", dir);
	cr_assert_eq(proc_start(&node, argv, NULL, out, err), 0);
	cr_assert_eq(proc_wait(&node, 5000), 2);
	char *e = proc_slurp(err);
	cr_assert(strstr(e, "release-2.0.0.yaml"), "%s", e);
	free(e);
	char *o = proc_slurp(out);
	cr_assert_null(strstr(o, "listening on"), "%s", o);
	free(o);
}

Test(mlserve_ops, admin_token_guards_the_repository_and_never_shows)
{
	char *env[] = { "MLS_TEST_TOKEN=s3cret-t0ken", NULL };
	ms_start_env(&node, dir, env, "--admin-token-env", "MLS_TEST_TOKEN", NULL);
	cr_assert_eq(ms_load(node.port, "eta", p2, s2, NULL, &r), 401);
	cr_assert(strstr(r.headers, "WWW-Authenticate: Bearer"), "%s", r.headers);
	cr_assert_eq(ms_load(node.port, "eta", p2, s2, "Authorization: Bearer nope", &r), 401);
	cr_assert_null(strstr(r.body, "s3cret"));
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/index", "", NULL, &r), 401);
	cr_assert_eq(ms_load(node.port, "eta", p2, s2, "Authorization: Bearer s3cret-t0ken", &r), 200, "%s", r.body);
	/* inference and health need no token */
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/metrics", NULL, NULL, &r), 200);
	cr_assert_null(strstr(r.body, "s3cret"));
	proc_stop(&node, SIGTERM, 5000);
	char *o = proc_slurp(node.out), *e = proc_slurp(node.err);
	cr_assert_null(strstr(o, "s3cret"));
	cr_assert_null(strstr(e, "s3cret"));
	free(o);
	free(e);
}

Test(mlserve_ops, empty_token_variable_means_no_token)
{
	char *env[] = { "MLS_TEST_TOKEN=", NULL };
	ms_start_env(&node, dir, env, "--admin-token-env", "MLS_TEST_TOKEN", NULL);
	cr_assert_eq(ms_load(node.port, "eta", p2, s2, NULL, &r), 200, "%s", r.body);
}

/* ---- artifacts over HTTP ------------------------------------------------- */

Test(mlserve_ops, artifact_fetched_over_http_is_verified)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("no /usr/bin/python3 for a file server");
	char *argv[] = { "/usr/bin/python3", "-u", "-c",
			 "import http.server,functools,sys\n"
			 "h=functools.partial(http.server.SimpleHTTPRequestHandler,directory=sys.argv[1])\n"
			 "s=http.server.ThreadingHTTPServer(('127.0.0.1',0),h)\n"
			 "print('listening on 127.0.0.1:%d'%s.server_address[1],flush=True)\n"
			 "s.serve_forever()\n",
			 dir, NULL };
	char out[600], err[600];
	snprintf(out, sizeof out, "%s/web.out", dir);
	snprintf(err, sizeof err, "%s/web.err", dir);
	cr_assert_eq(proc_start(&web, argv, NULL, out, err), 0);
	cr_assert_eq(proc_wait_listening(&web, 5000), 0, "file server did not start");
	ms_start(&node, dir, NULL);
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/eta-2.0.0.yaml", web.port);
	cr_assert_eq(ms_load(node.port, "eta", url, s2, NULL, &r), 200, "%s", r.body);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert(strstr(r.body, "\"model_version\":\"2.0.0\""));
	snprintf(url, sizeof url, "http://127.0.0.1:%d/eta-1.0.0.yaml", web.port);
	cr_assert_eq(ms_load(node.port, "eta", url, s2, NULL, &r), 400);
	cr_assert(strstr(r.body, "checksum mismatch"), "%s", r.body);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/missing.yaml", web.port);
	cr_assert_eq(ms_load(node.port, "eta", url, s2, NULL, &r), 400);
	cr_assert(strstr(r.body, "HTTP status 404"), "%s", r.body);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert(strstr(r.body, "\"model_version\":\"2.0.0\""));
}

/* ---- not ready ----------------------------------------------------------- */

struct bg_load {
	int port;
	char url[256];
	char sha[65];
	long status;
};

static void *bg_load_main(void *arg)
{
	struct bg_load *b = arg;
	struct ms_resp rr = { 0 };
	b->status = ms_load(b->port, "eta", b->url, b->sha, NULL, &rr);
	ms_resp_free(&rr);
	return NULL;
}

Test(mlserve_ops, a_model_loading_for_the_first_time_answers_503)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("no /usr/bin/python3 for a file server");
	/* a file server that takes 1.5 s to answer */
	char *argv[] = { "/usr/bin/python3", "-u", "-c",
			 "import http.server,functools,sys,time\n"
			 "class H(http.server.SimpleHTTPRequestHandler):\n"
			 "    def do_GET(self):\n"
			 "        time.sleep(1.5)\n"
			 "        super().do_GET()\n"
			 "h=functools.partial(H,directory=sys.argv[1])\n"
			 "s=http.server.ThreadingHTTPServer(('127.0.0.1',0),h)\n"
			 "print('listening on 127.0.0.1:%d'%s.server_address[1],flush=True)\n"
			 "s.serve_forever()\n",
			 dir, NULL };
	char out[600], err[600];
	snprintf(out, sizeof out, "%s/slow.out", dir);
	snprintf(err, sizeof err, "%s/slow.err", dir);
	cr_assert_eq(proc_start(&web, argv, NULL, out, err), 0);
	cr_assert_eq(proc_wait_listening(&web, 5000), 0, "file server did not start");
	ms_start(&node, dir, NULL);
	struct bg_load b = { .port = node.port };
	snprintf(b.url, sizeof b.url, "http://127.0.0.1:%d/eta-2.0.0.yaml", web.port);
	memcpy(b.sha, s2, sizeof b.sha);
	pthread_t th;
	pthread_create(&th, NULL, bg_load_main, &b);
	ms_sleep(400);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/ready", NULL, NULL, &r), 503, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"error\":\"model 'eta' is loading\"}");
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 503);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/index", "", NULL, &r), 200);
	cr_assert(strstr(r.body, "\"state\":\"LOADING\""), "%s", r.body);
	/* the node keeps answering everything else while the load runs */
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/ready", NULL, NULL, &r), 200);
	cr_assert_lt(r.ms, 500);
	pthread_join(th, NULL);
	cr_assert_eq(b.status, 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/ready", NULL, NULL, &r), 200);
}

Test(mlserve_ops, draining_node_reports_not_ready_and_closes_after_answering)
{
	char p[512], sha[65];
	ms_model(dir, "eta", "2.1.0", ETA2_TERMS, "faults: { latency: 800ms }\n", p, sha);
	ms_start(&node, dir, "--workers", "2", NULL);
	cr_assert_eq(ms_load(node.port, "eta", p, sha, NULL, &r), 200, "%s", r.body);
	/* one request in flight, one half sent when SIGTERM comes */
	struct one o = { .port = node.port };
	pthread_t th;
	pthread_create(&th, NULL, one_request, &o);
	int fd = ms_connect(node.port);
	ms_send(fd, "GET /v2/health/ready HTTP/1.1\r\n", 31);
	ms_sleep(200);
	kill(node.pid, SIGTERM);
	ms_sleep(200);
	ms_send(fd, "Host: x\r\n\r\n", 11);
	bool closed;
	char *got = ms_recv(fd, NULL, 3000, &closed);
	cr_assert(strstr(got, "HTTP/1.1 503"), "[%s] closed=%d", got, closed);
	cr_assert(strstr(got, "not ready: shutting down"), "%s", got);
	cr_assert(strstr(got, "Connection: close"), "%s", got);
	cr_assert(closed);
	free(got);
	close(fd);
	pthread_join(th, NULL);
	cr_assert_eq(o.status, 200, "%ld %s", o.status, o.body);
	cr_assert_eq(proc_wait(&node, 5000), 0);
}

Test(mlserve_ops, a_second_node_never_shares_a_port_in_use)
{
	ms_start(&node, dir, "--workers", "2", NULL);
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", node.port);
	char *argv[] = { (char *)ms_bin(), "--listen", listen, "--workers", "2", NULL };
	char out[600], err[600];
	snprintf(out, sizeof out, "%s/second.out", dir);
	snprintf(err, sizeof err, "%s/second.err", dir);
	cr_assert_eq(proc_start(&web, argv, NULL, out, err), 0);
	cr_assert_eq(proc_wait(&web, 5000), 1);
	char *e = proc_slurp(err);
	cr_assert(strstr(e, "Address already in use"), "%s", e);
	free(e);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/live", NULL, NULL, &r), 200);
}
