/* test_gate_cases.c — the acceptance gate's cases files (CSV with quotes,
 * CRLF, comments and a BOM; JSONL with missing columns) with errors at
 * line:column, the metrics against hand-computed values, and the request
 * counters read from Prometheus text. */
#include "gates/gate.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

static int parse(const char *name, const char *text, struct gate_cases *c,
		 struct ml_err *err)
{
	return gate_cases_parse(name, text, strlen(text), c, err);
}

Test(gate_cases, csv_with_header_quotes_crlf_comments_and_blank_lines)
{
	const char *csv = "\xEF\xBB\xBFv, d ,\"eta\"\r\n"
			  "# a comment\r\n"
			  "\r\n"
			  "50,10,0.264\r\n"
			  "\"20\", 5 ,\"0.3175\"\r\n"
			  "1e2,1,1.5e-2";
	struct gate_cases c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(parse("cases.csv", csv, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_cols, 3);
	cr_assert_str_eq(c.names[0], "v");
	cr_assert_str_eq(c.names[1], "d");
	cr_assert_str_eq(c.names[2], "eta");
	cr_assert_eq(c.n_rows, 3);
	cr_assert_float_eq(c.values[0], 50, 1e-12);
	cr_assert_float_eq(c.values[3 + 2], 0.3175, 1e-12);
	cr_assert_float_eq(c.values[6], 100, 1e-12);
	cr_assert_float_eq(c.values[8], 0.015, 1e-12);
	cr_assert_eq(c.lines[0], 4);
	cr_assert_eq(c.lines[2], 6);
	cr_assert_eq(gate_cases_column(&c, "eta"), 2);
	cr_assert_eq(gate_cases_column(&c, "x"), -1);
	gate_cases_release(&c);
}

Test(gate_cases, csv_errors_name_line_and_column)
{
	struct gate_cases c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(parse("c.csv", "v,d,eta\n50,10,0.2\n50,abc,0.2\n", &c, &err), -1);
	cr_assert_str_eq(err.msg, "c.csv:3:4: d: expected a number, found 'abc'");
	cr_assert_eq(parse("c.csv", "v,d,eta\n50,10\n", &c, &err), -1);
	cr_assert_str_eq(err.msg, "c.csv:2:4: 2 fields, the header has 3");
	cr_assert_eq(parse("c.csv", "v,v\n1,2\n", &c, &err), -1);
	cr_assert_str_eq(err.msg, "c.csv:1:3: column 'v' appears twice in the header");
	cr_assert_eq(parse("c.csv", "v,d\n\"1,2\n", &c, &err), -1);
	cr_assert(strstr(err.msg, "c.csv:2:1: unterminated quoted field"), "%s", err.msg);
	cr_assert_eq(parse("c.csv", "", &c, &err), -1);
	cr_assert(strstr(err.msg, "empty"), "%s", err.msg);
	cr_assert_eq(parse("c.csv", "v,d\n1,nan\n", &c, &err), -1, "NaN is no number here");
	cr_assert_eq(parse("c.csv", "v,d\n1,\n", &c, &err), -1, "an empty value");
}

Test(gate_cases, jsonl_by_extension_or_by_content)
{
	const char *jl = "{\"v\": 50, \"d\": 10, \"eta\": 0.264}\n"
			 "\n"
			 "{\"d\": 5, \"v\": 20, \"eta\": 0.3175, \"note_id\": 7}\n"
			 "{\"v\": 30, \"eta\": 1}\n";
	struct gate_cases c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(parse("cases.txt", jl, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_cols, 4);
	cr_assert_str_eq(c.names[3], "note_id");
	cr_assert_eq(c.n_rows, 3);
	cr_assert_float_eq(c.values[4 + 0], 20, 1e-12);
	cr_assert_float_eq(c.values[4 + 1], 5, 1e-12);
	cr_assert(isnan(c.values[0 + 3]), "a column the row lacks is NaN");
	cr_assert(isnan(c.values[8 + 1]));
	cr_assert_eq(c.lines[1], 3);
	gate_cases_release(&c);

	cr_assert_eq(parse("c.jsonl", "{\"v\": 1}\n{\"v\": \"x\"}\n", &c, &err), -1);
	cr_assert_str_eq(err.msg, "c.jsonl:2:1: v: expected a number");
	cr_assert_eq(parse("c.jsonl", "{\"v\": 1}\n[1]\n", &c, &err), -1);
	cr_assert(strstr(err.msg, "c.jsonl:2:1: expected an object"), "%s", err.msg);
	cr_assert_eq(parse("c.ndjson", "{\"v\": 1,}\n", &c, &err), -1);
	cr_assert(strncmp(err.msg, "c.ndjson:1:", 11) == 0, "%s", err.msg);
}

Test(gate_metrics, mae_rmse_mape_by_hand)
{
	double p[] = { 1, 2, 3, 4 };
	double y[] = { 2, 2, 1, 8 };
	/* errors 1, 0, 2, 4 */
	cr_assert_float_eq(gate_metric(CFG_M_MAE, p, y, 4), 7.0 / 4, 1e-12);
	cr_assert_float_eq(gate_metric(CFG_M_RMSE, p, y, 4), sqrt(21.0 / 4), 1e-12);
	/* relative: 0.5, 0, 2, 0.5 */
	cr_assert_float_eq(gate_metric(CFG_M_MAPE, p, y, 4), 3.0 / 4, 1e-12);
}

Test(gate_metrics, mape_skips_zero_truths_and_is_undefined_without_any)
{
	double p[] = { 1, 5 };
	double y[] = { 0, 4 };
	cr_assert_float_eq(gate_metric(CFG_M_MAPE, p, y, 2), 0.25, 1e-12);
	double y0[] = { 0, 0 };
	cr_assert(isnan(gate_metric(CFG_M_MAPE, p, y0, 2)));
	cr_assert(isnan(gate_metric(CFG_M_MAE, p, y, 0)));
	cr_assert(isinf(gate_row_error(CFG_M_MAPE, 1, 0)));
	cr_assert_float_eq(gate_row_error(CFG_M_MAPE, 3, 4), 0.25, 1e-12);
	cr_assert_float_eq(gate_row_error(CFG_M_RMSE, 3, 4), 1, 1e-12);
}

Test(gate_metrics, accuracy_rounds_to_classes_and_exact_is_exact)
{
	double p[] = { 0.9, 1.4, 2.6, 3 };
	double y[] = { 1, 2, 3, 3 };
	cr_assert_float_eq(gate_metric(CFG_M_ACCURACY, p, y, 4), 0.75, 1e-12);
	cr_assert_float_eq(gate_metric(CFG_M_EXACT, p, y, 4), 0.25, 1e-12);
	double q[] = { 1e9 + 0.5, 1.0000000000001 };
	double z[] = { 1e9, 1 };
	cr_assert_float_eq(gate_metric(CFG_M_EXACT, q, z, 2), 1, 1e-12,
			   "relative tolerance 1e-9");
}

Test(gate_metrics, bounds_by_direction)
{
	struct gate_bound mx = { CFG_M_MAPE, 0.10, "release" };
	struct gate_bound mn = { CFG_M_ACCURACY, 0.9, "release" };
	cr_assert(gate_bound_ok(&mx, 0.10));
	cr_assert_not(gate_bound_ok(&mx, 0.1001));
	cr_assert(gate_bound_ok(&mn, 0.95));
	cr_assert_not(gate_bound_ok(&mn, 0.85));
	cr_assert_not(gate_bound_ok(&mx, NAN), "undefined never passes");
}

Test(gate_metrics, request_counters_from_prometheus_text)
{
	const char *m =
		"# HELP mlserve_requests_total Inference requests answered\n"
		"# TYPE mlserve_requests_total counter\n"
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"200\"} 10\n"
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"500\"} 2\n"
		"mlserve_requests_total{model=\"other\",version=\"1\",code=\"200\"} 99\n"
		"mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"0.1\"} 12\n"
		"mlserve_request_duration_seconds_count{model=\"eta\",version=\"2.0.0\"} 12\n"
		"mlserve_request_duration_seconds_sum{model=\"eta\",version=\"2.0.0\"} 0.01\n"
		"mlserve_http_requests_total{handler=\"infer\",code=\"200\"} 111\n";
	cr_assert_float_eq(gate_metrics_requests(m, "eta"), 12, 1e-12);
	cr_assert_float_eq(gate_metrics_requests(m, "other"), 99, 1e-12);
	cr_assert_eq(gate_metrics_requests(m, "none"), -1);
	/* Triton's counter */
	const char *t = "nv_inference_request_success{model=\"eta\",version=\"1\"} 5\n"
			"nv_inference_request_failure{model=\"eta\",version=\"1\"} 1\n";
	cr_assert_float_eq(gate_metrics_requests(t, "eta"), 5, 1e-12);
	cr_assert_eq(gate_metrics_requests("", "eta"), -1);
}
