/* test_mlserve.c — bin/mlserve from the outside, on 127.0.0.1 with a free
 * port: every V2 endpoint and status code, the data contract over HTTP,
 * HTTP limits and timeouts, keep-alive and pipelining, fault switches,
 * and /metrics checked by promtool. Needs MLSERVE_BIN. */
#include "test_mlserve_util.h"

#include <math.h>

static char dir[256];
static struct proc node;
static struct ms_resp r;
static char eta2[512], eta2_sha[65];

static void setup(void)
{
	ms_tmpdir(dir, sizeof dir);
	ms_model(dir, "eta", "2.0.0", ETA2_TERMS, NULL, eta2, eta2_sha);
}

static void teardown(void)
{
	if (node.pid && proc_alive(&node))
		proc_stop(&node, SIGKILL, 2000);
	ms_resp_free(&r);
	ms_rmdir(dir);
}

TestSuite(mlserve_http, .init = setup, .fini = teardown, .timeout = 60);

/* A node with eta 2.0.0 loaded over the repository API. */
static void start_loaded(void)
{
	ms_start(&node, dir, NULL);
	cr_assert_eq(ms_load(node.port, "eta", eta2, eta2_sha, NULL, &r), 200, "%s", r.body);
}

Test(mlserve_http, health_and_server_metadata)
{
	ms_start(&node, dir, NULL);
	cr_assert_str_eq(node.host, "127.0.0.1");
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/live", NULL, NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/ready", NULL, NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "\"extensions\":[\"model_repository\"]"), "%s", r.body);
	cr_assert(strstr(r.headers, "Content-Type: application/json"), "%s", r.headers);
	cr_assert_eq(ms_http(NULL, "HEAD", node.port, "/v2", NULL, NULL, &r), 200);
	cr_assert_eq(r.len, 0);
}

Test(mlserve_http, every_model_endpoint)
{
	start_loaded();
	cr_assert(strstr(r.body, "\"version\":\"2.0.0\""), "%s", r.body);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "\"versions\":[\"2.0.0\"]"), "%s", r.body);
	cr_assert(strstr(r.body, "{\"name\":\"d\",\"datatype\":\"FP64\",\"shape\":[-1]}"), "%s", r.body);
	cr_assert(strstr(r.body, "\"outputs\":[{\"name\":\"eta\",\"datatype\":\"FP64\",\"shape\":[-1]}]"), "%s", r.body);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/versions/2.0.0", NULL, NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/ready", NULL, NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/versions/2.0.0/ready", NULL, NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/versions/1.0.0/ready", NULL, NULL, &r), 404);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/nope/ready", NULL, NULL, &r), 404);
	cr_assert_str_eq(r.body, "{\"error\":\"unknown model 'nope'\"}");
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert_str_eq(r.body, "{\"model_name\":\"eta\",\"model_version\":\"2.0.0\",\"id\":\"t1\",\"outputs\":"
				 "[{\"name\":\"eta\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[0.264]}]}");
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/versions/2.0.0/infer", INFER_BODY("50", "10"),
			     NULL, &r), 200);
	cr_assert(strstr(r.body, "\"model_version\":\"2.0.0\""));
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/versions/7/infer", INFER_BODY("50", "10"),
			     NULL, &r), 404);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/index", "", NULL, &r), 200);
	cr_assert(strstr(r.body, "{\"name\":\"eta\",\"version\":\"2.0.0\",\"state\":\"READY\",\"reason\":\"\"}"),
		  "%s", r.body);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/repository/models/eta/unload", "", NULL, &r), 200);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 404);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/metrics", NULL, NULL, &r), 200);
	cr_assert(strstr(r.headers, "text/plain; version=0.0.4"), "%s", r.headers);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/openapi.json", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "\"openapi\":\"3.1.0\""));
}

Test(mlserve_http, wrong_method_is_405_and_unknown_path_404)
{
	start_loaded();
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/infer", NULL, NULL, &r), 405);
	cr_assert(strstr(r.headers, "Allow: POST"), "%s", r.headers);
	cr_assert(strstr(r.body, "\"error\""));
	cr_assert_eq(ms_http(NULL, "DELETE", node.port, "/v2/models/eta", NULL, NULL, &r), 405);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/repository/index", NULL, NULL, &r), 405);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v3", NULL, NULL, &r), 404);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/models/eta/explain", NULL, NULL, &r), 404);
}

Test(mlserve_http, batch_infer_gives_n_outputs)
{
	start_loaded();
	const char *b = "{\"inputs\":[{\"name\":\"v\",\"shape\":[4],\"datatype\":\"FP64\",\"data\":[10,20,40,50]},"
			"{\"name\":\"d\",\"shape\":[4],\"datatype\":\"FP64\",\"data\":[1,2,4,10]}]}";
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", b, NULL, &r), 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"shape\":[4],\"data\":[0.157"), "%s", r.body);
	cr_assert(strstr(r.body, ",0.264]}]}"), "%s", r.body);
	cr_assert_eq(ms_count(r.body, "0.157"), 3, "%s", r.body);
}

/* Every contract rule over the wire: the status and the exact message. */
Test(mlserve_http, every_contract_violation_is_a_400_naming_input_and_rule)
{
	start_loaded();
	static const char *cases[][2] = {
		{ INFER_BODY("-3", "10"), "input 'v': must be > 0, got -3" },
		{ INFER_BODY("50", "0"), "input 'd': must be > 0, got 0" },
		{ INFER_BODY("NaN", "10"), "input 'v': must be a finite number, got NaN" },
		{ INFER_BODY("50", "Infinity"), "input 'd': must be a finite number, got Infinity" },
		{ INFER_BODY("1e400", "10"), "input 'v': must be a finite number, got 1e400 (too large for a double)" },
		{ INFER_BODY("\"fast\"", "10"), "input 'v': must be a number, got \\\"fast\\\"" },
		{ "{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[5]}]}",
		  "input 'd': missing (required by the contract)" },
		{ "{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[5]},"
		  "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[5]},"
		  "{\"name\":\"speed\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[5]}]}",
		  "input 'speed': unknown input (expected v, d)" },
		{ "{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[5]},"
		  "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[5]}]}",
		  "input 'v': datatype must be FP64, got \\\"BYTES\\\"" },
		{ "{\"inputs\":[{\"name\":\"v\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[5]},"
		  "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[5]}]}",
		  "input 'v': shape [2] does not match the 1 value in 'data'" },
		{ "{\"inputs\": [", "request body is not valid JSON: value expected at end of input (byte 12)" },
		{ "[1,2]", "request body must be a JSON object, got an array" },
		{ "", "request body is empty (expected a JSON object with 'inputs')" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cr_expect_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", cases[i][0], NULL, &r), 400,
			     "case %zu: %s", i, r.body);
		char want[600];
		snprintf(want, sizeof want, "{\"error\":\"%s\"}", cases[i][1]);
		cr_expect_str_eq(r.body, want, "case %zu", i);
	}
}

Test(mlserve_http, no_contract_node_accepts_anything)
{
	ms_start(&node, dir, "--no-contract", NULL);
	cr_assert_eq(ms_load(node.port, "eta", eta2, eta2_sha, NULL, &r), 200, "%s", r.body);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("-10", "10"), NULL, &r), 200,
		     "%s", r.body);
	cr_assert(strstr(r.body, "\"data\":[-1.02]"), "%s", r.body);
}

Test(mlserve_http, keep_alive_reuses_one_connection)
{
	start_loaded();
	CURL *c = curl_easy_init();
	for (int i = 0; i < 20; i++)
		cr_assert_eq(ms_http(c, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	long conns = -1;
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	cr_assert_eq(conns, 0, "the last request opened a new connection");
	curl_easy_cleanup(c);
}

Test(mlserve_http, pipelined_requests_are_answered_in_order)
{
	start_loaded();
	int fd = ms_connect(node.port);
	char req[4096];
	int n = 0;
	const char *bodies[] = { INFER_BODY("10", "10"), INFER_BODY("-1", "10"), INFER_BODY("20", "10") };
	for (int i = 0; i < 3; i++)
		n += snprintf(req + n, sizeof req - (size_t)n,
			      "POST /v2/models/eta/infer HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
			      strlen(bodies[i]), bodies[i]);
	n += snprintf(req + n, sizeof req - (size_t)n, "GET /v2/health/live HTTP/1.1\r\nConnection: close\r\n\r\n");
	ms_send(fd, req, (size_t)n);
	bool closed;
	char *all = ms_recv(fd, NULL, 5000, &closed);
	close(fd);
	cr_assert(closed, "Connection: close did not close");
	char *a = strstr(all, "HTTP/1.1 200"), *b = strstr(all, "HTTP/1.1 400"), *c = strstr(a + 1, "HTTP/1.1 200");
	cr_assert(a && b && c && a < b && b < c, "%s", all);
	cr_assert(strstr(a, "[1.12]") && strstr(c, "[0.585"), "%s", all);
	cr_assert_eq(ms_count(all, "HTTP/1.1 "), 4, "%s", all);
	cr_assert(strstr(all, "{\"live\":true}"), "%s", all);
	free(all);
}

Test(mlserve_http, body_limit_is_413_from_headers_also_with_expect_continue)
{
	ms_start(&node, dir, "--max-body-size", "1k", NULL);
	/* Content-Length over the limit: answered before any body byte */
	int fd = ms_connect(node.port);
	const char *h = "POST /v2/models/eta/infer HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
	ms_send(fd, h, strlen(h));
	char *got = ms_recv(fd, "}", 3000, NULL);
	cr_assert(strstr(got, "HTTP/1.1 413"), "%s", got);
	cr_assert(strstr(got, "request body too large: 5000 bytes (limit 1024 bytes)"), "%s", got);
	free(got);
	close(fd);
	/* Expect: 100-continue: 413 at once, no 100 */
	fd = ms_connect(node.port);
	h = "POST /v2/models/eta/infer HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
	ms_send(fd, h, strlen(h));
	got = ms_recv(fd, "}", 3000, NULL);
	cr_assert(strncmp(got, "HTTP/1.1 413", 12) == 0, "%s", got);
	free(got);
	close(fd);
	/* within the limit: 100 Continue first, then the answer */
	fd = ms_connect(node.port);
	h = "POST /v2/models/eta/infer HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	ms_send(fd, h, strlen(h));
	got = ms_recv(fd, "\r\n\r\n", 3000, NULL);
	cr_assert(strncmp(got, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0, "%s", got);
	free(got);
	ms_send(fd, "{}", 2);
	got = ms_recv(fd, "}", 3000, NULL);
	cr_assert(strstr(got, "HTTP/1.1 404"), "%s", got); /* no model loaded */
	free(got);
	close(fd);
	/* libcurl sends Expect for big bodies: the 413 must not wait for it */
	char big[3000];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = 0;
	big[0] = '{';
	big[sizeof big - 2] = '}';
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", big, NULL, &r), 413);
	cr_assert_lt(r.ms, 900, "waited for the 100-continue timeout (%.0f ms)", r.ms);
}

Test(mlserve_http, oversized_headers_are_431)
{
	ms_start(&node, dir, "--max-header-size", "1k", NULL);
	char hdr[3000];
	snprintf(hdr, sizeof hdr, "X-Filler: %02000d", 1);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/live", NULL, hdr, &r), 431);
	cr_assert(strstr(r.body, "request header fields too large (limit 1024 bytes)"), "%s", r.body);
}

Test(mlserve_http, slow_clients_get_408_and_idle_connections_close)
{
	ms_start(&node, dir, "--read-timeout", "300ms", "--idle-timeout", "500ms", NULL);
	int fd = ms_connect(node.port);
	ms_send(fd, "GET /v2/health/live HTTP/1.1\r\nHost:", 35);
	double t0 = ms_now();
	bool closed;
	char *got = ms_recv(fd, NULL, 3000, &closed);
	cr_assert(strstr(got, "HTTP/1.1 408"), "%s", got);
	cr_assert(closed);
	cr_assert_lt(ms_now() - t0, 2000);
	free(got);
	close(fd);
	fd = ms_connect(node.port);
	t0 = ms_now();
	got = ms_recv(fd, NULL, 3000, &closed);
	cr_assert(closed, "idle connection stayed open");
	cr_assert_eq(strlen(got), 0);
	cr_assert_geq(ms_now() - t0, 400);
	free(got);
	close(fd);
}

Test(mlserve_http, connections_over_the_cap_get_503)
{
	ms_start(&node, dir, "--max-connections", "2", NULL);
	int a = ms_connect(node.port), b = ms_connect(node.port);
	ms_sleep(100);
	int c = ms_connect(node.port);
	char *got = ms_recv(c, NULL, 3000, NULL);
	cr_assert(strstr(got, "HTTP/1.1 503"), "%s", got);
	cr_assert(strstr(got, "too many connections (limit 2)"), "%s", got);
	free(got);
	close(c);
	close(a);
	ms_sleep(100);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/live", NULL, NULL, &r), 200);
	close(b);
}

Test(mlserve_http, malformed_http_is_400_and_closes)
{
	ms_start(&node, dir, NULL);
	int fd = ms_connect(node.port);
	ms_send(fd, "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 30);
	bool closed;
	char *got = ms_recv(fd, NULL, 3000, &closed);
	cr_assert(strstr(got, "HTTP/1.1 400"), "%s", got);
	cr_assert(strstr(got, "Connection: close"), "%s", got);
	cr_assert(closed);
	free(got);
	close(fd);
}

/* ---- faults ------------------------------------------------------------- */

static void start_with_faults(const char *faults)
{
	char p[512], sha[65];
	ms_model(dir, "eta", "2.1.0", ETA2_TERMS, faults, p, sha);
	ms_start(&node, dir, NULL);
	cr_assert_eq(ms_load(node.port, "eta", p, sha, NULL, &r), 200, "%s", r.body);
}

Test(mlserve_http, latency_fault_delays_only_valid_infer)
{
	start_with_faults("faults: { latency: 300ms }\n");
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
	cr_assert_geq(r.ms, 295, "%.1f ms", r.ms);
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("-50", "10"), NULL, &r), 400);
	cr_assert_lt(r.ms, 250, "%.1f ms", r.ms);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/ready", NULL, NULL, &r), 200);
	cr_assert_lt(r.ms, 250);
	/* the loop is never blocked: 8 concurrent delayed requests take ~300 ms, not 2.4 s */
	CURLM *m = curl_multi_init();
	CURL *h[8];
	struct ms_resp rr[8];
	memset(rr, 0, sizeof rr);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/models/eta/infer", node.port);
	for (int i = 0; i < 8; i++) {
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, INFER_BODY("50", "10"));
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, ms_on_body);
		curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &rr[i]);
		curl_multi_add_handle(m, h[i]);
	}
	double t0 = ms_now();
	int running = 1;
	while (running) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	double took = ms_now() - t0;
	for (int i = 0; i < 8; i++) {
		long st = 0;
		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &st);
		cr_expect_eq(st, 200);
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
		free(rr[i].body);
	}
	curl_multi_cleanup(m);
	cr_assert_lt(took, 1500, "concurrent delayed requests took %.0f ms", took);
}

Test(mlserve_http, error_rate_fault_is_deterministic)
{
	start_with_faults("faults: { error_rate: 2% }\n");
	CURL *c = curl_easy_init();
	int fails = 0;
	for (int i = 1; i <= 100; i++) {
		long st = ms_http(c, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r);
		if (st == 500) {
			fails++;
			cr_assert_eq(i % 50, 0, "request %d failed", i);
			cr_assert(strstr(r.body, "\"error\""));
		} else {
			cr_assert_eq(st, 200);
		}
	}
	curl_easy_cleanup(c);
	cr_assert_eq(fails, 2);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/metrics", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "mlserve_requests_total{model=\"eta\",version=\"2.1.0\",code=\"500\"} 2\n"), "%s", r.body);
	cr_assert(strstr(r.body, "mlserve_requests_total{model=\"eta\",version=\"2.1.0\",code=\"200\"} 98\n"), "%s", r.body);
}

Test(mlserve_http, stall_fault_holds_answers_during_the_window)
{
	start_with_faults("faults: { stall: { every: 1s, for: 400ms } }\n");
	/* within 1.2 s of sequential requests some wait for the window to
	 * end and some do not; health is never held */
	double t0 = ms_now();
	int slow = 0, fast = 0;
	while (ms_now() - t0 < 1200) {
		cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r), 200);
		if (r.ms > 150)
			slow++;
		else
			fast++;
		cr_assert_eq(ms_http(NULL, "GET", node.port, "/v2/health/live", NULL, NULL, &r), 200);
		cr_assert_lt(r.ms, 150);
	}
	cr_assert_geq(slow, 1);
	cr_assert_geq(fast, 1);
}

Test(mlserve_http, bad_input_status_fault_answers_bad_input_with_500)
{
	start_with_faults("faults: { bad_input_status: 500 }\n");
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("-3", "10"), NULL, &r), 500);
	cr_assert_str_eq(r.body, "{\"error\":\"input 'v': must be > 0, got -3\"}");
	cr_assert_eq(ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("3", "10"), NULL, &r), 200);
}

/* ---- metrics ------------------------------------------------------------ */

Test(mlserve_http, metrics_pass_promtool_and_count_by_model_version_code)
{
	start_loaded();
	for (int i = 0; i < 5; i++)
		ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("50", "10"), NULL, &r);
	ms_http(NULL, "POST", node.port, "/v2/models/eta/infer", INFER_BODY("-50", "10"), NULL, &r);
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/metrics", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"200\"} 5\n"), "%s", r.body);
	cr_assert(strstr(r.body, "mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"400\"} 1\n"));
	cr_assert(strstr(r.body, "mlserve_request_duration_seconds_count{model=\"eta\",version=\"2.0.0\"} 6\n"));
	cr_assert(strstr(r.body, "mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"+Inf\"} 6\n"));
	cr_assert(strstr(r.body, "mlserve_models_loaded 1\n"));
	cr_assert(strstr(r.body, "mlserve_inflight_requests 1\n"), "%s", r.body); /* this scrape */
	char path[512];
	snprintf(path, sizeof path, "%s/metrics.txt", dir);
	ms_write(path, r.body);
	if (access("/usr/bin/promtool", X_OK) != 0)
		cr_skip_test("promtool not installed");
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < '%s' > '%s.lint' 2>&1", path, path);
	int rc = system(cmd);
	snprintf(path + strlen(path), sizeof path - strlen(path), ".lint");
	char *lint = proc_slurp(path);
	cr_assert_eq(rc, 0, "promtool: %s", lint);
	cr_assert_eq(strlen(lint), 0, "promtool: %s", lint);
	free(lint);
}

Test(mlserve_http, openapi_carries_the_contract)
{
	start_loaded();
	cr_assert_eq(ms_http(NULL, "GET", node.port, "/openapi.json", NULL, NULL, &r), 200);
	cr_assert(strstr(r.body, "\"/v2/models/eta/infer\""), "%s", r.body);
	cr_assert(strstr(r.body, "\"eta_2.0.0_contract\":{\"title\":\"Data contract (inputs)\",\"type\":\"object\","
				 "\"properties\":{\"v\":{\"type\":\"number\",\"exclusiveMinimum\":0.0}"),
		  "%s", r.body);
}
