/* test_config_release.c — Release manifests: the artifact (exists, digest
 * matches and names both digests when it does not, its Model agrees with
 * the manifest), the data contract, the release's own checks (smoke
 * cases keep the contract, acceptance thresholds on the right side) and
 * its canary analysis block. */
#include "cfgtest.h"
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
	cfgt_setup();
	cfgt_release_fixture();
}

TestSuite(cfg_release, .init = setup, .fini = cfgt_teardown, .timeout = 30);

/* Lines 1-4 */
#define HEAD                                                                  \
	"apiVersion: mlctl/v1\n"                                              \
	"kind: Release\n"                                                     \
	"model: eta\n"                                                        \
	"version: 2.0.0\n"
/* Line 5: uri at column 18, sha256 at column 49 */
#define ART "artifact: { uri: models/eta-2.0.0.yaml, sha256: \"@SHA@\" }\n"
/* Lines 6-11 */
#define EXPECT                                                                \
	"expectations:\n"                                                     \
	"  inputs:\n"                                                         \
	"    v: { type: number, exclusive_min: 0 }\n"                         \
	"    d: { type: number, exclusive_min: 0 }\n"                         \
	"  outputs:\n"                                                        \
	"    eta: { type: number, min: 0 }\n"

#define REL_ERR(text, line, col, path, msg)                                   \
	cfgt_release_error("release.yaml", text, line, col, path, msg)

static struct cfg_release *release_ok(const char *text)
{
	const char *p = cfgt_write_sha("release.yaml", text, "models/eta-2.0.0.yaml");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = NULL;
	cr_assert_eq(cfg_release_load(p, &r, &d), 0, "%s", cfgt_dump(&d));
	ml_diags_release(&d);
	return r;
}

/* cfgt_dir + "/" + rel, for messages that name resolved paths */
static const char *in_dir(const char *rel)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", cfgt_dir, rel);
	return buf[k];
}

/* ---- valid documents ---------------------------------------------------- */

Test(cfg_release, minimal_release_loads_with_defaults)
{
	struct cfg_release *r = release_ok(HEAD ART EXPECT);
	cr_assert_str_eq(r->model, "eta");
	cr_assert_str_eq(r->version, "2.0.0");
	cr_assert_eq(r->serving_mode, CFG_MODE_REALTIME);
	cr_assert_str_eq(r->dir, cfgt_dir);
	cr_assert_str_eq(r->artifact_path, in_dir("models/eta-2.0.0.yaml"));
	cr_assert_str_eq(r->sha256, cfgt_sha("models/eta-2.0.0.yaml"));
	cr_assert_not(r->checks.unit.set);
	cr_assert_not(r->checks.smoke.set);
	cr_assert_not(r->checks.load.set);
	cr_assert_eq(r->checks.load.max_p99_ms, -1);
	cr_assert_not(r->checks.acceptance.set);
	cr_assert_not(r->analysis.set);
	cr_assert_eq(r->analysis.max_p99_ms, -1);
	cr_assert_eq(r->analysis.failure_limit, -1);
	cfg_release_free(r);
}

Test(cfg_release, uppercase_digest_and_file_prefix_are_accepted)
{
	char text[1024];
	char sha[65];
	strcpy(sha, cfgt_sha("models/eta-2.0.0.yaml"));
	for (char *s = sha; *s; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 32);
	snprintf(text, sizeof(text),
		 HEAD "artifact: { uri: \"file:models/eta-2.0.0.yaml\", sha256: %s }\n"
		 EXPECT "serving_mode: near-real-time\n", sha);
	struct cfg_release *r = release_ok(text);
	cr_assert_str_eq(r->sha256, cfgt_sha("models/eta-2.0.0.yaml"));
	cr_assert_str_eq(r->artifact_path, in_dir("models/eta-2.0.0.yaml"));
	cr_assert_eq(r->serving_mode, CFG_MODE_NEAR_REAL_TIME);
	cfg_release_free(r);
}

Test(cfg_release, remote_artifact_is_checked_for_form_only)
{
	struct cfg_release *r = release_ok(
		HEAD
		"artifact:\n"
		"  uri: https://models.example.com/eta/2.0.0.yaml\n"
		"  sha256: 0000000000000000000000000000000000000000000000000000000000000000\n"
		EXPECT);
	cr_assert(r->artifact_remote);
	cr_assert_null(r->artifact_path);
	cr_assert_str_eq(r->artifact_uri, "https://models.example.com/eta/2.0.0.yaml");
	cfg_release_free(r);
}

Test(cfg_release, every_check_and_contract_key_loads)
{
	struct cfg_release *r = release_ok(
		HEAD ART
		"expectations:\n"
		"  inputs:\n"
		"    v: { type: number, exclusive_min: 0, exclusive_max: 300 }\n"
		"    d: { type: integer, min: 1, max: 1000 }\n"
		"    city: { type: string, required: false }\n"
		"    night: { type: boolean, required: false }\n"
		"  outputs:\n"
		"    eta: { type: number, min: 0 }\n"
		"checks:\n"
		"  unit: { run: make unit, junit: build/u.xml, timeout: 30s }\n"
		"  integration: { run: make integ, timeout: 2m }\n"
		"  smoke:\n"
		"    timeout: 500ms\n"
		"    cases:\n"
		"      - input: { v: 50, d: 10, city: Lyon, night: true }\n"
		"        expect: { eta: 0.264 }\n"
		"      - input: { v: 1e2, d: 1 }\n"
		"        expect: { eta: { max: 1 } }\n"
		"  load: { rate: 200/s, duration: 1m, max_p99: 50ms, max_error_rate: 0.01, "
		"connections: 8 }\n"
		"  acceptance: { cases: cases.csv, metric: accuracy, min: 0.9, batch: 50, "
		"concurrency: 4 }\n");
	const struct cfg_expectations *e = &r->expectations;
	cr_assert_eq(e->n_inputs, 4);
	cr_assert(e->inputs[0].has_xmax);
	cr_assert_float_eq(e->inputs[0].xmax, 300, 1e-12);
	cr_assert_eq(e->inputs[1].type, CFG_T_INTEGER);
	cr_assert_float_eq(e->inputs[1].max, 1000, 1e-12);
	cr_assert_eq(e->inputs[2].type, CFG_T_STRING);
	cr_assert(e->inputs[2].optional);
	cr_assert_eq(e->inputs[3].type, CFG_T_BOOLEAN);
	const struct cfg_checks *c = &r->checks;
	cr_assert_str_eq(c->unit.run, "make unit");
	cr_assert_str_eq(c->unit.junit, "build/u.xml");
	cr_assert_eq(c->unit.timeout_ms, 30000);
	cr_assert_str_eq(c->integration.run, "make integ");
	cr_assert_null(c->integration.junit);
	cr_assert_eq(c->integration.timeout_ms, 120000);
	cr_assert_eq(c->smoke.timeout_ms, 500);
	cr_assert_eq(c->smoke.n_cases, 2);
	const struct cfg_smoke_case *s0 = &c->smoke.cases[0];
	cr_assert_eq(s0->n_inputs, 4);
	cr_assert_eq(s0->inputs[2].kind, CFG_V_STRING);
	cr_assert_str_eq(s0->inputs[2].str, "Lyon");
	cr_assert_eq(s0->inputs[3].kind, CFG_V_BOOL);
	cr_assert(s0->inputs[3].b);
	cr_assert(s0->expects[0].has_equals);
	cr_assert_float_eq(s0->expects[0].equals, 0.264, 1e-12);
	cr_assert_float_eq(c->smoke.cases[1].inputs[0].num, 100, 1e-12);
	cr_assert(c->smoke.cases[1].expects[0].has_max);
	cr_assert_not(c->smoke.cases[1].expects[0].has_min);
	cr_assert_float_eq(c->load.rate, 200, 1e-12);
	cr_assert_eq(c->load.duration_ms, 60000);
	cr_assert_eq(c->load.connections, 8);
	cr_assert_eq(c->acceptance.metric, CFG_M_ACCURACY);
	cr_assert(c->acceptance.has_min);
	cr_assert_not(c->acceptance.has_max);
	cr_assert_float_eq(c->acceptance.min, 0.9, 1e-12);
	cr_assert_eq(c->acceptance.batch, 50);
	cr_assert_eq(c->acceptance.concurrency, 4);
	cr_assert_str_eq(c->acceptance.cases, in_dir("cases.csv"));
	char *j = cfg_expectations_to_json(e);
	cr_assert_not_null(strstr(j, "\"city\":{\"type\":\"string\",\"required\":false}"), "%s", j);
	free(j);
	cfg_release_free(r);
}

/* ---- the canary analysis block ----------------------------------------- */

Test(cfg_release, analysis_block_loads_with_the_environments_keys)
{
	struct cfg_release *r = release_ok(
		HEAD ART EXPECT
		"analysis:\n"
		"  interval: 1s\n"
		"  max_error_rate: 0.5%\n"
		"  max_error_rate_delta: 0.002\n"
		"  max_p99: 20ms\n"
		"  max_p99_ratio: 1.5\n"
		"  min_requests: 50\n"
		"  no_data: pause\n"
		"  max_no_data: 2\n"
		"  failure_limit: 1\n"
		"  traffic: { rate: 300/s }\n");
	const struct cfg_analysis *a = &r->analysis;
	cr_assert(a->set);
	cr_assert_eq(a->pos.line, 13);
	cr_assert_eq(a->interval_ms, 1000);
	cr_assert_float_eq(a->max_error_rate, 0.005, 1e-12);
	cr_assert_float_eq(a->max_error_rate_delta, 0.002, 1e-12);
	cr_assert_eq(a->max_p99_ms, 20);
	cr_assert_float_eq(a->max_p99_ratio, 1.5, 1e-12);
	cr_assert_eq(a->min_requests, 50);
	cr_assert(a->has_no_data);
	cr_assert_eq(a->no_data, CFG_NODATA_PAUSE);
	cr_assert_eq(a->max_no_data, 2);
	cr_assert_eq(a->failure_limit, 1);
	cr_assert_float_eq(a->traffic_rate, 300, 1e-12);
	cfg_release_free(r);

	/* keys left out stay unset: the environment's apply */
	r = release_ok(HEAD ART EXPECT "analysis: { max_p99: 20ms }\n");
	cr_assert(r->analysis.set);
	cr_assert_eq(r->analysis.max_p99_ms, 20);
	cr_assert_lt(r->analysis.max_error_rate, 0);
	cr_assert_eq(r->analysis.interval_ms, -1);
	cr_assert_not(r->analysis.has_no_data);
	cr_assert_float_eq(r->analysis.traffic_rate, 0, 1e-12);
	cfg_release_free(r);
}

Test(cfg_release, rejects_analysis_max_p99_that_is_not_a_duration)
{
	/* line 12: "analysis: { max_p99: fast }", the value at column 22 */
	REL_ERR(HEAD ART EXPECT "analysis: { max_p99: fast }\n", 12, 22,
		"analysis.max_p99",
		"expected a duration like 250ms, 10s, 2m or 1h, found 'fast'");
}

Test(cfg_release, rejects_unknown_analysis_key_with_did_you_mean)
{
	REL_ERR(HEAD ART EXPECT "analysis: { max_p99: 20ms, falure_limit: 2 }\n",
		12, 28, "analysis.falure_limit",
		"unknown key 'falure_limit' (did you mean 'failure_limit'?)");
}

Test(cfg_release, rejects_analysis_values_the_environment_would_reject)
{
	REL_ERR(HEAD ART EXPECT
		"analysis:\n"
		"  traffic: { rate: 5/m }\n",
		13, 20, "analysis.traffic.rate",
		"expected a rate in requests per second like 200 or 200/s, found "
		"'5/m'");
	REL_ERR(HEAD ART EXPECT "analysis: { max_p99_ratio: 0.5 }\n", 12, 28,
		"analysis.max_p99_ratio", "expected a ratio >= 1, found 0.5");
	REL_ERR(HEAD ART EXPECT "analysis: { no_data: skip }\n", 12, 22,
		"analysis.no_data",
		"expected one of fail, pause or pass, found 'skip'");
	REL_ERR(HEAD ART EXPECT "analysis: [ max_p99 ]\n", 12, 11, "analysis",
		"expected a mapping, found a list");
}

Test(cfg_release, analysis_block_alone_from_a_recorded_manifest)
{
	static const char text[] =
		HEAD "artifact: { uri: gone.yaml, sha256: x }\n"
		"analysis: { max_p99: 20ms, failure_limit: 1 }\n";
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_analysis a;
	/* the rest of the manifest is not checked (the artifact may be gone) */
	cr_assert_eq(cfg_release_analysis_from_buffer("rec.yaml", text,
						      strlen(text), &a, &d),
		     0, "%s", cfgt_dump(&d));
	cr_assert(a.set);
	cr_assert_eq(a.max_p99_ms, 20);
	cr_assert_eq(a.failure_limit, 1);
	cr_assert_eq(a.min_requests, -1);
	static const char none[] = HEAD ART;
	cr_assert_eq(cfg_release_analysis_from_buffer("rec.yaml", none,
						      strlen(none), &a, &d),
		     0);
	cr_assert_not(a.set);
	cr_assert_eq(a.max_p99_ms, -1);
	static const char bad[] = HEAD "analysis: { max_p99: fast }\n";
	cr_assert_eq(cfg_release_analysis_from_buffer("rec.yaml", bad,
						      strlen(bad), &a, &d),
		     -1);
	cfgt_expect_only(&d, "rec.yaml", 5, 22, "analysis.max_p99",
			 "expected a duration like 250ms, 10s, 2m or 1h, found "
			 "'fast'");
	cr_assert_not(a.set);
	ml_diags_release(&d);
}

/* ---- the artifact ------------------------------------------------------- */

Test(cfg_release, rejects_digest_that_is_not_64_hex)
{
	REL_ERR(HEAD "artifact: { uri: models/eta-2.0.0.yaml, sha256: \"abc123\" }\n"
		EXPECT,
		5, 49, "artifact.sha256",
		"expected a sha256 digest (64 hex digits), found 'abc123'");
}

Test(cfg_release, rejects_digest_with_a_non_hex_digit)
{
	REL_ERR(HEAD "artifact:\n"
		"  uri: models/eta-2.0.0.yaml\n"
		"  sha256: g000000000000000000000000000000000000000000000000000000000000000\n"
		EXPECT,
		7, 11, "artifact.sha256",
		"expected a sha256 digest (64 hex digits), found "
		"'g000000000000000000000000000000000000000000000000000000000000000'");
}

Test(cfg_release, rejects_digest_mismatch_naming_both_digests)
{
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "sha256 mismatch: the manifest says "
		 "00000000000000000000000000000000000000000000000000000000000000ff "
		 "but %s has %s",
		 in_dir("models/eta-2.0.0.yaml"), cfgt_sha("models/eta-2.0.0.yaml"));
	REL_ERR(HEAD "artifact: { uri: models/eta-2.0.0.yaml, sha256: "
		"\"00000000000000000000000000000000000000000000000000000000000000FF\" }\n"
		EXPECT,
		5, 49, "artifact.sha256", msg);
}

Test(cfg_release, rejects_missing_artifact_file)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "artifact '%s' not found",
		 in_dir("models/eta-9.9.9.yaml"));
	REL_ERR(HEAD "artifact: { uri: models/eta-9.9.9.yaml, sha256: \"@SHA@\" }\n"
		EXPECT,
		5, 18, "artifact.uri", msg);
}

Test(cfg_release, rejects_ftp_artifact)
{
	REL_ERR(HEAD "artifact: { uri: \"ftp://h/eta.yaml\", sha256: \"@SHA@\" }\n"
		EXPECT,
		5, 18, "artifact.uri",
		"expected a path or an http(s) URL, found 'ftp://h/eta.yaml'");
}

Test(cfg_release, rejects_http_artifact_without_a_host)
{
	REL_ERR(HEAD "artifact: { uri: \"http:///eta.yaml\", sha256: \"@SHA@\" }\n"
		EXPECT,
		5, 18, "artifact.uri",
		"expected an http(s) URL with a host, found 'http:///eta.yaml'");
}

Test(cfg_release, rejects_missing_artifact_key)
{
	REL_ERR(HEAD EXPECT, 1, 1, "artifact", "missing required key 'artifact'");
}

Test(cfg_release, rejects_artifact_without_digest)
{
	REL_ERR(HEAD "artifact: { uri: models/eta-2.0.0.yaml }\n" EXPECT, 5, 11,
		"artifact.sha256", "missing required key 'sha256'");
}

Test(cfg_release, rejects_version_that_differs_from_the_artifact)
{
	REL_ERR("apiVersion: mlctl/v1\nkind: Release\nmodel: eta\nversion: 2.0.1\n"
		ART EXPECT,
		5, 18, "artifact.uri",
		"artifact is version '2.0.0' but the release is '2.0.1'");
}

Test(cfg_release, rejects_model_that_differs_from_the_artifact)
{
	REL_ERR("apiVersion: mlctl/v1\nkind: Release\nmodel: eta2\nversion: 2.0.0\n"
		ART EXPECT,
		5, 18, "artifact.uri",
		"artifact is model 'eta' but the release is 'eta2'");
}

Test(cfg_release, rejects_model_input_the_contract_does_not_declare)
{
	REL_ERR(HEAD ART
		"expectations:\n"
		"  inputs: { v: { type: number } }\n"
		"  outputs: { eta: { type: number } }\n",
		5, 18, "artifact.uri",
		"the model reads input 'd', which expectations.inputs does not "
		"declare");
}

Test(cfg_release, rejects_model_output_the_contract_does_not_declare)
{
	REL_ERR(HEAD ART
		"expectations:\n"
		"  inputs: { v: { type: number }, d: { type: number } }\n"
		"  outputs: { minutes: { type: number } }\n",
		5, 18, "artifact.uri",
		"the model's output 'eta' is not in expectations.outputs");
}

Test(cfg_release, rejects_artifact_that_is_not_a_valid_model)
{
	const char *bad = cfgt_write("models/bad.yaml",
				     "apiVersion: mlctl/v1\nkind: Model\nname: eta\n"
				     "version: 2.0.0\ntype: linear\noutput: eta\n"
				     "terms: []\n");
	const char *p = cfgt_write_sha(
		"release.yaml",
		HEAD "artifact: { uri: models/bad.yaml, sha256: \"@SHA@\" }\n" EXPECT,
		"models/bad.yaml");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = NULL;
	cr_assert_eq(cfg_release_load(p, &r, &d), -1);
	cr_assert_eq(d.len, 2, "%s", cfgt_dump(&d));
	cfgt_expect(&d, bad, 7, 8, "terms", "expected at least one term");
	char msg[512];
	snprintf(msg, sizeof(msg), "artifact '%s' is not a valid Model", bad);
	cfgt_expect(&d, p, 5, 18, "artifact.uri", msg);
	ml_diags_release(&d);
}

/* ---- header, enums, contract -------------------------------------------- */

Test(cfg_release, rejects_wrong_kind)
{
	REL_ERR("apiVersion: mlctl/v1\nkind: Model\nmodel: eta\nversion: 2.0.0\n"
		ART EXPECT,
		2, 7, "kind", "expected kind 'Release', found 'Model'");
}

Test(cfg_release, rejects_version_with_a_space)
{
	const char *p = cfgt_write_sha("release.yaml",
				       "apiVersion: mlctl/v1\nkind: Release\n"
				       "model: eta\nversion: 2.0 beta\n" ART EXPECT,
				       "models/eta-2.0.0.yaml");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = NULL;
	cr_assert_eq(cfg_release_load(p, &r, &d), -1);
	cfgt_expect(&d, p, 4, 10, "version",
		    "expected a version like 2.0.0 (letters, digits, '.', '+', "
		    "'-', '_'), found '2.0 beta'");
	/* and it is not the artifact's version either */
	cfgt_expect(&d, p, 5, 18, "artifact.uri",
		    "artifact is version '2.0.0' but the release is '2.0 beta'");
	cr_assert_eq(d.len, 2, "%s", cfgt_dump(&d));
	ml_diags_release(&d);
}

Test(cfg_release, rejects_unknown_serving_mode)
{
	REL_ERR(HEAD ART EXPECT "serving_mode: streaming\n", 12, 15, "serving_mode",
		"expected one of realtime, near-real-time, batch or edge, found "
		"'streaming'");
}

Test(cfg_release, rejects_unknown_field_type)
{
	REL_ERR(HEAD ART
		"expectations:\n"
		"  inputs:\n"
		"    v: { type: float }\n"
		"    d: { type: number }\n"
		"  outputs: { eta: { type: number } }\n",
		8, 16, "expectations.inputs.v.type",
		"expected one of number, integer, string or boolean, found 'float'");
}

Test(cfg_release, rejects_bounds_that_leave_no_value)
{
	REL_ERR(HEAD ART
		"expectations:\n"
		"  inputs:\n"
		"    v: { type: number, min: 5, exclusive_max: 5 }\n"
		"    d: { type: number }\n"
		"  outputs: { eta: { type: number } }\n",
		8, 8, "expectations.inputs.v", "bounds leave no valid value");
}

Test(cfg_release, rejects_bounds_on_a_string_field)
{
	REL_ERR(HEAD ART
		"expectations:\n"
		"  inputs:\n"
		"    v: { type: number }\n"
		"    d: { type: number }\n"
		"    city: { type: string, min: 1 }\n"
		"  outputs: { eta: { type: number } }\n",
		10, 11, "expectations.inputs.city",
		"bounds apply to number and integer fields, not string");
}

Test(cfg_release, rejects_empty_inputs)
{
	REL_ERR(HEAD ART
		"expectations:\n"
		"  inputs: {}\n"
		"  outputs: { eta: { type: number } }\n",
		7, 11, "expectations.inputs", "expected at least one field");
}

/* ---- smoke cases and the contract ---------------------------------------- */

Test(cfg_release, rejects_smoke_input_not_declared_in_expectations)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke: [ { input: { v: 50, d: 10, x: 1 } } ]\n",
		13, 40, "checks.smoke[0].input.x",
		"input 'x' is not declared in expectations.inputs");
}

Test(cfg_release, rejects_smoke_input_that_breaks_the_contract)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke:\n"
		"    - input: { v: 0, d: 10 }\n",
		14, 19, "checks.smoke[0].input.v",
		"smoke input breaks the contract: must be > 0, got 0");
}

Test(cfg_release, rejects_smoke_input_of_the_wrong_type)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke:\n"
		"    - input: { v: fast, d: 10 }\n",
		14, 19, "checks.smoke[0].input.v", "expected a number");
}

Test(cfg_release, rejects_smoke_case_missing_a_required_input)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke:\n"
		"    - input: { v: 50 }\n",
		14, 7, "checks.smoke[0].input",
		"missing input 'd' (required by expectations.inputs)");
}

Test(cfg_release, rejects_smoke_expectation_on_an_undeclared_output)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke:\n"
		"    - input: { v: 50, d: 10 }\n"
		"      expect: { minutes: { max: 1 } }\n",
		15, 17, "checks.smoke[0].expect.minutes",
		"output 'minutes' is not declared in expectations.outputs");
}

Test(cfg_release, rejects_smoke_expectation_with_max_below_min)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke:\n"
		"    - input: { v: 50, d: 10 }\n"
		"      expect: { eta: { min: 1, max: 0.01 } }\n",
		15, 37, "checks.smoke[0].expect.eta", "max (0.01) is below min (1)");
}

Test(cfg_release, rejects_smoke_expectation_without_bounds)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke:\n"
		"    - input: { v: 50, d: 10 }\n"
		"      expect: { eta: {} }\n",
		15, 22, "checks.smoke[0].expect.eta",
		"expected at least one of min, max, equals");
}

Test(cfg_release, rejects_smoke_input_that_is_a_list)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  smoke: [ { input: { v: [50], d: 10 } } ]\n",
		13, 26, "checks.smoke[0].input.v",
		"expected a number, string or boolean, found a list");
}

Test(cfg_release, rejects_smoke_that_is_a_number)
{
	REL_ERR(HEAD ART EXPECT "checks: { smoke: 5 }\n", 12, 18, "checks.smoke",
		"expected a list of cases or a mapping with timeout and cases, found "
		"a scalar");
}

/* ---- load and acceptance ------------------------------------------------- */

Test(cfg_release, rejects_acceptance_metric_with_the_wrong_threshold_side)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  acceptance: { cases: cases.csv, metric: mape, min: 0.1 }\n",
		13, 54, "checks.acceptance.min",
		"metric mape is lower-is-better: give 'max', not 'min'");
}

Test(cfg_release, rejects_acceptance_cases_file_that_does_not_exist)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "cases file '%s' not found", in_dir("gone.csv"));
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  acceptance: { cases: gone.csv, metric: mape, max: 0.1 }\n",
		13, 24, "checks.acceptance.cases", msg);
}

Test(cfg_release, rejects_unknown_acceptance_metric)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  acceptance: { cases: cases.csv, metric: f1, max: 0.1 }\n",
		13, 43, "checks.acceptance.metric",
		"expected one of mae, rmse, mape, accuracy or exact, found 'f1'");
}

Test(cfg_release, rejects_load_with_zero_connections)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  load: { rate: 100, connections: 0 }\n",
		13, 35, "checks.load.connections",
		"expected an integer 1..10000, found '0'");
}

Test(cfg_release, rejects_junit_on_the_integration_check)
{
	REL_ERR(HEAD ART EXPECT
		"checks:\n"
		"  integration: { run: make it, junit: it.xml }\n",
		13, 32, "checks.integration.junit", "unknown key 'junit'");
}

Test(cfg_release, reports_every_error_of_a_release)
{
	const char *p = cfgt_write_sha(
		"release.yaml",
		HEAD ART EXPECT "serving_mode: live\n"
		"checks:\n"
		"  load: { rate: fast, duration: 5 }\n",
		"models/eta-2.0.0.yaml");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = NULL;
	cr_assert_eq(cfg_release_load(p, &r, &d), -1);
	cr_assert_eq(d.len, 3, "%s", cfgt_dump(&d));
	cfgt_expect(&d, p, 12, 15, "serving_mode",
		    "expected one of realtime, near-real-time, batch or edge, "
		    "found 'live'");
	cfgt_expect(&d, p, 14, 17, "checks.load.rate",
		    "expected a rate in requests per second like 200 or 200/s, "
		    "found 'fast'");
	cfgt_expect(&d, p, 14, 33, "checks.load.duration",
		    "expected a duration like 250ms, 10s, 2m or 1h, found '5'");
	ml_diags_release(&d);
}
