/* test_mlserve_api.c — mlserve's endpoints driven without sockets: routing,
 * status codes (404/405/401/503), the repository extension (load with
 * checksum, failed load keeps the old version, reload, unload, index),
 * infer (model_version, id, batch, most recent version), fault switches,
 * metadata and the OpenAPI document; plus the command-line options. */
#include "examples/mlserve/api.h"
#include "examples/mlserve/options.h"
#include "core/util.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static struct metrics mx;
static struct repo repo;
static struct api_opts ao;
static struct api_ctx ctx;
static struct api_resp resp;

static void sha256(const char *data, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned len = 0;
	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* Write a model file; returns its path (static buffer per call slot). */
static const char *model_file(const char *name, const char *version, const char *terms,
			      const char *faults, char sha[65])
{
	static char paths[8][128];
	static int slot;
	char *p = paths[slot++ % 8];
	snprintf(p, 128, "%s/%s-%s.yaml", dir, name, version);
	char body[1024];
	int n = snprintf(body, sizeof body,
			 "apiVersion: mlctl/v1\nkind: Model\nname: %s\nversion: %s\ntype: linear\n"
			 "output: eta\nterms:\n%s%s",
			 name, version, terms, faults ? faults : "");
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fwrite(body, 1, (size_t)n, f);
	fclose(f);
	sha256(body, (size_t)n, sha);
	return p;
}

#define ETA2 "  - { coef: 1.07, ratio: [d, v] }\n  - { coef: 0.05 }\n"
#define ETA1 "  - { coef: 1.0, ratio: [d, v] }\n"
#define CONTRACT "{\"inputs\":{\"v\":{\"type\":\"number\",\"exclusive_min\":0},\"d\":{\"type\":\"number\",\"exclusive_min\":0}},\"outputs\":{\"eta\":{\"type\":\"number\",\"min\":0}}}"

static struct mhttp_req req(enum mhttp_method m, const char *path, const char *body)
{
	static char pbuf[512], bbuf[4096];
	struct mhttp_req q;
	memset(&q, 0, sizeof q);
	q.method = m;
	q.method_name = m == MHTTP_GET ? "GET" : m == MHTTP_POST ? "POST" : m == MHTTP_HEAD ? "HEAD" : "PUT";
	snprintf(pbuf, sizeof pbuf, "%s", path);
	q.path = pbuf;
	q.path_len = strlen(pbuf);
	q.query = (char *)"";
	snprintf(bbuf, sizeof bbuf, "%s", body ? body : "");
	q.body = bbuf;
	q.body_len = strlen(bbuf);
	q.keep_alive = true;
	return q;
}

/* Run a request; loads are prepared and committed synchronously. */
static int call(enum mhttp_method m, const char *path, const char *body)
{
	struct mhttp_req q = req(m, path, body);
	api_handle(&ctx, &q, &resp);
	if (resp.job) {
		repo_load_prepare(&repo, resp.job);
		api_load_done(&ctx, resp.job, &resp);
	}
	return resp.status;
}

static const char *text(void)
{
	return ctx.body.data ? ctx.body.data : "";
}

static int load(const char *model, const char *path, const char *sha, const char *version)
{
	char body[2048];
	snprintf(body, sizeof body,
		 "{\"parameters\":{\"artifact\":\"%s\",\"sha256\":\"%s\"%s%s%s,\"expectations\":" CONTRACT "}}",
		 path, sha, version ? ",\"version\":\"" : "", version ? version : "", version ? "\"" : "");
	char url[256];
	snprintf(url, sizeof url, "/v2/repository/models/%s/load", model);
	return call(MHTTP_POST, url, body);
}

#define INFER1(v, d) \
	"{\"id\":\"q-1\",\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[" v "]}," \
	"{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[" d "]}]}"

static void init(void)
{
	snprintf(dir, sizeof dir, "/tmp/mlserve-api-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	metrics_init(&mx, 1);
	repo_init(&repo, &mx);
	ao.enforce_contract = true;
	ao.admin_token = NULL;
	ao.quiet = true;
	atomic_store(&ao.ready, true);
	atomic_store(&ao.draining, false);
	api_ctx_init(&ctx, &repo, &mx, &ao, 0);
}

static void fini(void)
{
	api_ctx_release(&ctx);
	repo_release(&repo);
	metrics_release(&mx);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(mlserve_api, .init = init, .fini = fini, .timeout = 20);

Test(mlserve_api, server_metadata_health_and_unknown_paths)
{
	cr_assert_eq(call(MHTTP_GET, "/v2", NULL), 200);
	cr_assert(strstr(text(), "\"extensions\":[\"model_repository\"]"), "%s", text());
	cr_assert_eq(call(MHTTP_GET, "/v2/health/live", NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/v2/health/ready", NULL), 200);
	atomic_store(&ao.ready, false);
	cr_assert_eq(call(MHTTP_GET, "/v2/health/ready", NULL), 503);
	cr_assert(strstr(text(), "\"error\""));
	cr_assert_eq(call(MHTTP_GET, "/nope", NULL), 404);
	cr_assert_eq(call(MHTTP_GET, "/v2/health/dead", NULL), 404);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta/versions", NULL), 404);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta", NULL), 404);
	cr_assert(strstr(text(), "unknown model 'eta'"), "%s", text());
}

Test(mlserve_api, wrong_method_is_405_with_allow)
{
	cr_assert_eq(call(MHTTP_POST, "/v2/health/live", "{}"), 405);
	cr_assert_str_eq(resp.extra, "Allow: GET, HEAD\r\n");
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta/infer", NULL), 405);
	cr_assert_str_eq(resp.extra, "Allow: POST\r\n");
	cr_assert_eq(call(MHTTP_PUT, "/v2/repository/index", NULL), 405);
	cr_assert_eq(call(MHTTP_HEAD, "/v2", NULL), 200);
	cr_assert(resp.head_only);
}

Test(mlserve_api, load_then_infer_reports_model_version_and_echoes_id)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, "2.0.0"), 200, "%s", text());
	cr_assert(strstr(text(), "\"state\":\"READY\""));
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10")), 200, "%s", text());
	cr_assert_str_eq(text(), "{\"model_name\":\"eta\",\"model_version\":\"2.0.0\",\"id\":\"q-1\","
				 "\"outputs\":[{\"name\":\"eta\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[0.264]}]}");
	cr_assert_eq(resp.handler, MH_INFER);
	cr_assert_not_null(resp.series);
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/versions/2.0.0/infer", INFER1("50", "10")), 200);
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/versions/9/infer", INFER1("50", "10")), 404);
	cr_assert(strstr(text(), "no version '9'"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/other/infer", INFER1("50", "10")), 404);
}

Test(mlserve_api, batch_of_n_rows_gives_n_outputs)
{
	char sha[65];
	const char *p = model_file("eta", "1.0.0", ETA1, NULL, sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200, "%s", text());
	const char *b = "{\"inputs\":[{\"name\":\"v\",\"shape\":[3],\"datatype\":\"FP64\",\"data\":[10,20,40]},"
			"{\"name\":\"d\",\"shape\":[3],\"datatype\":\"FP64\",\"data\":[5,5,5]}]}";
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", b), 200, "%s", text());
	cr_assert(strstr(text(), "\"shape\":[3],\"data\":[0.5,0.25,0.125]"), "%s", text());
	cr_assert_null(strstr(text(), "\"id\""));
}

Test(mlserve_api, contract_violations_are_400_naming_the_input)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200, "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("-3", "10")), 400);
	cr_assert_str_eq(text(), "{\"error\":\"input 'v': must be > 0, got -3\"}");
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", "{\"inputs\": [}"), 400);
	cr_assert(strstr(text(), "not valid JSON"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", ""), 400);
	cr_assert(strstr(text(), "empty"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", "\"text\""), 400);
}

Test(mlserve_api, no_contract_mode_serves_bad_input)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200, "%s", text());
	ao.enforce_contract = false;
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("-10", "10")), 200, "%s", text());
	cr_assert(strstr(text(), "\"data\":[-1.02]"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("0", "10")), 200, "%s", text());
	cr_assert(strstr(text(), "\"data\":[null]"), "%s", text());
}

Test(mlserve_api, tampered_artifact_is_refused_and_old_version_keeps_serving)
{
	char sha1[65], sha2[65];
	const char *p1 = model_file("eta", "1.0.0", ETA1, NULL, sha1);
	cr_assert_eq(load("eta", p1, sha1, "1.0.0"), 200, "%s", text());
	const char *p2 = model_file("eta", "2.0.0", ETA2, NULL, sha2);
	FILE *f = fopen(p2, "a");
	fputs("# tampered\n", f);
	fclose(f);
	cr_assert_eq(load("eta", p2, sha2, "2.0.0"), 400);
	cr_assert(strstr(text(), "checksum mismatch"), "%s", text());
	cr_assert(strstr(text(), sha2), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10")), 200);
	cr_assert(strstr(text(), "\"model_version\":\"1.0.0\""), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/index", "{}"), 200);
	cr_assert(strstr(text(), "\"version\":\"1.0.0\",\"state\":\"READY\""), "%s", text());
	cr_assert(strstr(text(), "\"version\":\"2.0.0\",\"state\":\"UNAVAILABLE\""), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/index", "{\"ready\":true}"), 200);
	cr_assert_null(strstr(text(), "UNAVAILABLE"), "%s", text());
}

Test(mlserve_api, load_refuses_bad_parameters)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, "3.0.0"), 400);
	cr_assert(strstr(text(), "is version '2.0.0'"), "%s", text());
	cr_assert_eq(load("eta", "relative/path.yaml", sha, NULL), 400);
	cr_assert(strstr(text(), "absolute path"), "%s", text());
	cr_assert_eq(load("eta", p, "abc", NULL), 400);
	cr_assert(strstr(text(), "64 hex"), "%s", text());
	/* no digest, no load: the node verifies what it loads */
	char *nosha = xasprintf("{\"parameters\":{\"artifact\":\"%s\"}}", p);
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/load", nosha), 400);
	cr_assert(strstr(text(), "parameters.sha256 (the artifact's 64 hex digits) is "
				 "required"),
		  "%s", text());
	free(nosha);
	/* eta's artifact is not model foo */
	cr_assert_eq(load("foo", p, sha, NULL), 400);
	cr_assert(strstr(text(), "is model 'eta', not 'foo'"), "%s", text());
	cr_assert_eq(load("eta", "/nonexistent/model.yaml", sha, NULL), 400);
	cr_assert(strstr(text(), "No such file"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/load", "{}"), 400);
	cr_assert(strstr(text(), "parameters.artifact is required"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/load",
			  "{\"parameters\":{\"artifact\":\"/x\",\"expectations\":{\"inputs\":{\"v\":{\"type\":\"banana\"}}}}}"),
		     400);
	cr_assert(strstr(text(), "parameters.expectations.inputs.v.type"), "%s", text());
	char bad[65];
	const char *pb = model_file("eta", "9.9.9", "  - { coef: 1, ratio: [d, w] }\n", NULL, bad);
	cr_assert_eq(load("eta", pb, bad, NULL), 400);
	cr_assert(strstr(text(), "input 'w'"), "%s", text());
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta", NULL), 404);
}

Test(mlserve_api, unversioned_infer_serves_most_recent_and_unload_falls_back)
{
	char s1[65], s2[65];
	const char *p1 = model_file("eta", "1.0.0", ETA1, NULL, s1);
	const char *p2 = model_file("eta", "2.0.0", ETA2, NULL, s2);
	cr_assert_eq(load("eta", p2, s2, NULL), 200);
	cr_assert_eq(load("eta", p1, s1, NULL), 200);
	call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10"));
	cr_assert(strstr(text(), "\"model_version\":\"1.0.0\""), "%s", text());
	/* reload 2.0.0 without parameters makes it the most recent again */
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/load", "{\"parameters\":{\"version\":\"2.0.0\"}}"), 200,
		     "%s", text());
	call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10"));
	cr_assert(strstr(text(), "\"model_version\":\"2.0.0\""), "%s", text());
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta", NULL), 200);
	cr_assert(strstr(text(), "\"versions\":[\"1.0.0\",\"2.0.0\"]"), "%s", text());
	cr_assert(strstr(text(), "{\"name\":\"v\",\"datatype\":\"FP64\",\"shape\":[-1]}"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/unload", "{\"parameters\":{\"version\":\"2.0.0\"}}"),
		     200, "%s", text());
	call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10"));
	cr_assert(strstr(text(), "\"model_version\":\"1.0.0\""), "%s", text());
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta/versions/2.0.0/ready", NULL), 404);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta/versions/1.0.0/ready", NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta/ready", NULL), 200);
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/unload", NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta/ready", NULL), 404);
	cr_assert_eq(call(MHTTP_POST, "/v2/repository/models/eta/unload", NULL), 404);
}

Test(mlserve_api, repository_needs_the_admin_token_when_set)
{
	ao.admin_token = "s3cret";
	struct mhttp_req q = req(MHTTP_POST, "/v2/repository/index", "");
	api_handle(&ctx, &q, &resp);
	cr_assert_eq(resp.status, 401);
	cr_assert(strstr(resp.extra, "WWW-Authenticate: Bearer"));
	q.has_auth = true;
	snprintf(q.auth, sizeof q.auth, "Bearer wrong");
	api_handle(&ctx, &q, &resp);
	cr_assert_eq(resp.status, 401);
	cr_assert_null(strstr(text(), "s3cret"));
	snprintf(q.auth, sizeof q.auth, "Bearer s3cret");
	api_handle(&ctx, &q, &resp);
	cr_assert_eq(resp.status, 200);
	/* inference never needs the token */
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("1", "1")), 404);
}

Test(mlserve_api, error_rate_fault_fails_every_50th_request_that_passed_the_contract)
{
	char sha[65];
	const char *p = model_file("eta", "2.1.0", ETA2, "faults: { error_rate: 2% }\n", sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200, "%s", text());
	int fails = 0;
	for (int i = 1; i <= 200; i++) {
		/* bad requests do not count */
		cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("-1", "1")), 400);
		int st = call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10"));
		if (st == 500) {
			fails++;
			cr_assert_eq(i % 50, 0, "request %d failed", i);
			cr_assert(strstr(text(), "injected fault"), "%s", text());
		} else {
			cr_assert_eq(st, 200);
		}
	}
	cr_assert_eq(fails, 4);
	/* health is never failed */
	cr_assert_eq(call(MHTTP_GET, "/v2/health/ready", NULL), 200);
}

Test(mlserve_api, latency_and_stall_faults_ask_for_a_delay)
{
	char sha[65];
	const char *p = model_file("eta", "2.1.0", ETA2, "faults: { latency: 80ms }\n", sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200, "%s", text());
	cr_assert_eq(resp.delay_ms, 0);
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10")), 200);
	cr_assert_eq(resp.delay_ms, 80);
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("-5", "10")), 400);
	cr_assert_eq(resp.delay_ms, 0);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/eta", NULL), 200);
	cr_assert_eq(resp.delay_ms, 0);
	const char *ps = model_file("eta", "3.0.0", ETA2, "faults: { stall: { every: 10s, for: 5s } }\n", sha);
	cr_assert_eq(load("eta", ps, sha, NULL), 200, "%s", text());
	/* just loaded: inside the first stall window */
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("50", "10")), 200);
	cr_assert_gt(resp.delay_ms, 4000);
	cr_assert_leq(resp.delay_ms, 5000);
}

Test(mlserve_api, bad_input_status_fault_answers_bad_input_with_that_status)
{
	char sha[65];
	const char *p = model_file("eta", "2.1.0", ETA2, "faults: { bad_input_status: 500 }\n", sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200, "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("-3", "10")), 500);
	cr_assert(strstr(text(), "input 'v': must be > 0"), "%s", text());
	cr_assert_eq(call(MHTTP_POST, "/v2/models/eta/infer", INFER1("3", "10")), 200);
}

Test(mlserve_api, openapi_document_carries_the_contract_as_json_schema)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/openapi.json", NULL), 200);
	json_error_t je;
	json_t *doc = json_loads(text(), 0, &je);
	cr_assert_not_null(doc, "%s", je.text);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	json_t *paths = json_object_get(doc, "paths");
	cr_assert_not_null(json_object_get(paths, "/v2/models/eta/infer"));
	cr_assert_not_null(json_object_get(paths, "/v2/models/eta/versions/2.0.0/infer"));
	json_t *c = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
				    "eta_2.0.0_contract");
	cr_assert_not_null(c);
	json_t *v = json_object_get(json_object_get(c, "properties"), "v");
	cr_assert_str_eq(json_string_value(json_object_get(v, "type")), "number");
	cr_assert_float_eq(json_number_value(json_object_get(v, "exclusiveMinimum")), 0, 1e-12);
	cr_assert_eq(json_array_size(json_object_get(c, "required")), 2);
	json_decref(doc);
}

Test(mlserve_api, metrics_endpoint_renders_prometheus_text)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/metrics", NULL), 200);
	cr_assert(strstr(resp.ctype, "text/plain; version=0.0.4"));
	cr_assert(strstr(text(), "mlserve_model_loaded{model=\"eta\",version=\"2.0.0\"} 1"), "%s", text());
}

Test(mlserve_api, percent_encoded_names_are_decoded)
{
	char sha[65];
	const char *p = model_file("eta", "2.0.0", ETA2, NULL, sha);
	cr_assert_eq(load("eta", p, sha, NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/%65ta", NULL), 200);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/%zz", NULL), 404);
	cr_assert_eq(call(MHTTP_GET, "/v2/models/e%00", NULL), 404);
}

/* ---- options ------------------------------------------------------------ */

TestSuite(mlserve_options, .timeout = 10);

Test(mlserve_options, parses_every_flag)
{
	char *argv[] = { "mlserve", "--listen", "127.0.0.1:0", "--workers=2", "--load", "a.yaml",
			 "--load", "b.yaml", "--admin-token-env", "TOK", "--no-contract",
			 "--max-body-size", "2m", "--max-header-size=8k", "--max-connections", "10",
			 "--read-timeout", "500ms", "--idle-timeout", "2s", "--drain-timeout", "1m" };
	struct mlserve_opts o;
	char err[256];
	cr_assert_eq(mlserve_opts_parse(&o, sizeof argv / sizeof argv[0], argv, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(o.srv.host, "127.0.0.1");
	cr_assert_eq(o.srv.port, 0);
	cr_assert_eq(o.srv.workers, 2);
	cr_assert_eq(o.n_loads, 2);
	cr_assert_str_eq(o.loads[1], "b.yaml");
	cr_assert_str_eq(o.token_env, "TOK");
	cr_assert(o.no_contract);
	cr_assert_eq(o.srv.lim.max_body, 2u << 20);
	cr_assert_eq(o.srv.lim.max_header, 8192);
	cr_assert_eq(o.srv.max_connections, 10);
	cr_assert_eq(o.srv.read_timeout_ms, 500);
	cr_assert_eq(o.srv.idle_timeout_ms, 2000);
	cr_assert_eq(o.srv.drain_timeout_ms, 60000);
	mlserve_opts_release(&o);
}

Test(mlserve_options, defaults_and_errors)
{
	struct mlserve_opts o;
	char err[256];
	char *a0[] = { "mlserve" };
	cr_assert_eq(mlserve_opts_parse(&o, 1, a0, err, sizeof err), 0);
	cr_assert_eq(o.srv.lim.max_body, 1u << 20);
	cr_assert_eq(o.srv.workers, 1);
	cr_assert_str_eq(o.srv.host, "127.0.0.1");
	mlserve_opts_release(&o);
	char *bad[][2] = { { "--workers", "0" }, { "--listen", "nohost" }, { "--listen", "1.2.3.4:99999" },
			   { "--read-timeout", "soon" }, { "--max-body-size", "lots" }, { "--frobnicate", "1" } };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[] = { "mlserve", bad[i][0], bad[i][1] };
		cr_expect_eq(mlserve_opts_parse(&o, 3, argv, err, sizeof err), -1, "%s %s", bad[i][0], bad[i][1]);
		mlserve_opts_release(&o);
	}
	char *miss[] = { "mlserve", "--load" };
	cr_assert_eq(mlserve_opts_parse(&o, 2, miss, err, sizeof err), -1);
	cr_assert(strstr(err, "needs a value"), "%s", err);
	mlserve_opts_release(&o);
}

Test(mlserve_options, listen_forms)
{
	struct server_opts s;
	server_opts_default(&s);
	cr_assert_eq(server_parse_listen(&s, "[::1]:8080"), 0);
	cr_assert_str_eq(s.host, "::1");
	cr_assert_eq(server_parse_listen(&s, "localhost:9"), 0);
	cr_assert_str_eq(s.host, "127.0.0.1");
	cr_assert_eq(server_parse_listen(&s, ":7"), 0);
	cr_assert_eq(s.port, 7);
	size_t sz;
	cr_assert_eq(mlserve_parse_size("1MiB", &sz), 0);
	cr_assert_eq(sz, 1u << 20);
	cr_assert_eq(mlserve_parse_size("512", &sz), 0);
	cr_assert_eq(sz, 512);
}
