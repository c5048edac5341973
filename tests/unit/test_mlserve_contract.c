/* test_mlserve_contract.c — every rule of mlserve's data contract on a V2
 * infer request (each a 400 message naming the input and the rule), the
 * contract's JSON form, --no-contract leniency, and the linear model's
 * evaluation through cfg_model_bind/eval. */
#include "examples/mlserve/contract.h"

#include "config.h"
#include "err.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static struct contract k;
static struct mjson_doc doc = MJSON_DOC_INIT, req = MJSON_DOC_INIT;
static struct infer_in in;
static char msg[512];

static const char *eta_contract =
	"{\"inputs\":{\"v\":{\"type\":\"number\",\"exclusive_min\":0},"
	"\"d\":{\"type\":\"number\",\"exclusive_min\":0,\"max\":1000}},"
	"\"outputs\":{\"eta\":{\"type\":\"number\",\"min\":0}}}";

static void init(void)
{
	cr_assert_eq(mjson_parse(&doc, eta_contract, strlen(eta_contract), msg, sizeof msg), 0);
	cr_assert_eq(contract_from_json(&k, &doc, 0, msg, sizeof msg), 0, "%s", msg);
}

static void fini(void)
{
	contract_release(&k);
	mjson_doc_release(&doc);
	mjson_doc_release(&req);
	infer_in_release(&in);
}

TestSuite(mlserve_contract, .init = init, .fini = fini, .timeout = 10);

/* Decode a request; returns 0 or -1 (message in msg). */
static int decode(const char *body, bool enforce)
{
	msg[0] = 0;
	if (mjson_parse(&req, body, strlen(body), msg, sizeof msg) < 0)
		return -2;
	return contract_decode(&k, enforce, "eta", &req, &in, msg, sizeof msg);
}

#define T2(v, d) \
	"{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[" v "]}," \
	"{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[" d "]}]}"

static void expect_400(const char *body, const char *text)
{
	cr_assert_eq(decode(body, true), -1, "accepted %s", body);
	cr_assert(strstr(msg, text), "message '%s' lacks '%s'", msg, text);
}

Test(mlserve_contract, parses_expectations_json)
{
	cr_assert_eq(k.n_inputs, 2);
	cr_assert_str_eq(k.inputs[0].name, "v");
	cr_assert(k.inputs[0].has_xmin);
	cr_assert(k.inputs[1].has_max);
	cr_assert_eq(k.n_outputs, 1);
	cr_assert(k.declared);
}

Test(mlserve_contract, expectations_round_trip_from_cfg_to_json)
{
	struct cfg_expectations e = { k.inputs, k.n_inputs, k.outputs, k.n_outputs };
	char *js = cfg_expectations_to_json(&e);
	struct contract k2;
	struct mjson_doc d2 = MJSON_DOC_INIT;
	cr_assert_eq(mjson_parse(&d2, js, strlen(js), msg, sizeof msg), 0);
	cr_assert_eq(contract_from_json(&k2, &d2, 0, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(k2.n_inputs, 2);
	cr_assert_float_eq(k2.inputs[1].max, 1000, 1e-9);
	contract_release(&k2);
	mjson_doc_release(&d2);
	free(js);
}

Test(mlserve_contract, rejects_bad_expectations)
{
	const char *bad[][2] = {
		{ "[]", "expected an object" },
		{ "{\"inputs\":{\"v\":{\"type\":\"float\"}}}", "type" },
		{ "{\"inputs\":{\"v\":{\"minn\":1}}}", "unknown rule 'minn'" },
		{ "{\"inputs\":{\"v\":{\"min\":\"1\"}}}", "finite number" },
		{ "{\"inputs\":{}}", "at least one input" },
		{ "{\"inputs\":{\"v\":{}},\"extra\":1}", "unknown key 'extra'" },
		{ "{\"inputs\":{\"s\":{\"type\":\"string\",\"min\":1}}}", "bounds apply" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct contract c2;
		struct mjson_doc d2 = MJSON_DOC_INIT;
		cr_assert_eq(mjson_parse(&d2, bad[i][0], strlen(bad[i][0]), msg, sizeof msg), 0);
		cr_expect_eq(contract_from_json(&c2, &d2, 0, msg, sizeof msg), -1, "%s", bad[i][0]);
		cr_expect(strstr(msg, bad[i][1]), "'%s' lacks '%s'", msg, bad[i][1]);
		mjson_doc_release(&d2);
	}
}

Test(mlserve_contract, accepts_a_valid_single_row)
{
	cr_assert_eq(decode("{\"id\":\"r1\",\"inputs\":["
			    "{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[50]},"
			    "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[10]}]}",
			    true),
		     0, "%s", msg);
	cr_assert_eq(in.rows, 1);
	cr_assert_float_eq(in.vals[0], 50, 1e-12);
	cr_assert_float_eq(in.vals[1], 10, 1e-12);
	cr_assert(in.id_tok >= 0);
}

Test(mlserve_contract, accepts_a_batch_in_any_input_order)
{
	const char *b = "{\"inputs\":[{\"name\":\"d\",\"shape\":[3],\"datatype\":\"FP32\",\"data\":[1,2,3]},"
			"{\"name\":\"v\",\"shape\":[3],\"datatype\":\"INT64\",\"data\":[10,20,30]}],"
			"\"outputs\":[{\"name\":\"eta\"}],\"parameters\":{\"x\":1}}";
	cr_assert_eq(decode(b, true), 0, "%s", msg);
	cr_assert_eq(in.rows, 3);
	cr_assert_float_eq(in.vals[0 * 3 + 2], 30, 1e-12); /* v, row 2 */
	cr_assert_float_eq(in.vals[1 * 3 + 1], 2, 1e-12);  /* d, row 1 */
}

Test(mlserve_contract, a_shape_other_than_the_declared_rank_is_a_400)
{
	/* the metadata says [-1]: [1,1] is another tensor, nested or flat */
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1,1],\"datatype\":\"FP64\",\"data\":[[1]]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': shape [1,1] does not match the model's [-1]");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1,1],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': shape [1,1] does not match the model's [-1]");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': shape [] does not match the model's [-1]");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[[1],[2]]},"
		   "{\"name\":\"d\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[1,2]}]}",
		   "input 'v': 'data' is nested deeper than its shape [2]");
}

Test(mlserve_contract, out_of_range_names_input_and_rule)
{
	expect_400(T2("-3", "10"), "input 'v': must be > 0, got -3");
	expect_400(T2("0", "10"), "input 'v': must be > 0, got 0");
	/* the bound's wording comes from core (cfg_field_check_number) */
	expect_400(T2("5", "1000.5"), "input 'd': must be <= ");
	cr_assert(strstr(msg, "got 1000.5"), "%s", msg);
}

Test(mlserve_contract, out_of_range_in_a_batch_names_the_row)
{
	const char *b = "{\"inputs\":[{\"name\":\"v\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[1,-2]},"
			"{\"name\":\"d\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[1,2]}]}";
	expect_400(b, "input 'v': must be > 0, got -2 (row 1)");
}

Test(mlserve_contract, nan_infinity_and_overflow_are_not_finite)
{
	expect_400(T2("NaN", "10"), "input 'v': must be a finite number, got NaN");
	expect_400(T2("5", "Infinity"), "input 'd': must be a finite number, got Infinity");
	expect_400(T2("-Infinity", "1"), "got -Infinity");
	expect_400(T2("1e999", "1"), "input 'v': must be a finite number, got 1e999 (too large for a double)");
}

Test(mlserve_contract, non_numeric_values_are_named)
{
	expect_400(T2("\"fast\"", "10"), "input 'v': must be a number, got \"fast\"");
	expect_400(T2("null", "10"), "input 'v': must be a number, got null");
	expect_400(T2("true", "10"), "got true");
	expect_400(T2("{}", "10"), "got an object");
}

Test(mlserve_contract, missing_unknown_and_duplicate_inputs)
{
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'd': missing");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"w\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'w': unknown input (expected v, d)");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': given more than once");
}

Test(mlserve_contract, wrong_datatype_is_named)
{
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[1]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': datatype must be FP64, got \"BYTES\"");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"data\":[1]}]}",
		   "input 'v': 'datatype'");
}

Test(mlserve_contract, wrong_shapes_are_named)
{
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': shape [2] does not match the 1 value in 'data'");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[2,2],\"datatype\":\"FP64\",\"data\":[1,2,3,4]}]}",
		   "input 'v': shape [2,2] does not match the model's [-1]");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[-1],\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "non-negative integers");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[1,2]},"
		   "{\"name\":\"d\",\"shape\":[3],\"datatype\":\"FP64\",\"data\":[1,2,3]}]}",
		   "input 'd': batch size 3 differs from input 'v' (batch size 2)");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"datatype\":\"FP64\",\"data\":[1]}]}",
		   "input 'v': 'shape'");
}

Test(mlserve_contract, malformed_structure_is_named)
{
	expect_400("[1,2]", "must be a JSON object, got an array");
	expect_400("{}", "'inputs' is required");
	expect_400("{\"inputs\":{}}", "'inputs' must be an array");
	expect_400("{\"inputs\":[3]}", "inputs[0] must be an object");
	expect_400("{\"inputs\":[{\"shape\":[1]}]}", "inputs[0]: 'name'");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":3}]}",
		   "input 'v': 'data' (an array) is required");
	expect_400("{\"id\":5,\"inputs\":[]}", "'id' must be a string");
	expect_400("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]},"
		   "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[1]}],"
		   "\"outputs\":[{\"name\":\"speed\"}]}",
		   "output \"speed\": unknown output (the model gives 'eta')");
}

Test(mlserve_contract, integer_fields_need_integers)
{
	struct contract k2;
	struct mjson_doc d2 = MJSON_DOC_INIT;
	const char *c = "{\"inputs\":{\"n\":{\"type\":\"integer\",\"min\":1}}}";
	cr_assert_eq(mjson_parse(&d2, c, strlen(c), msg, sizeof msg), 0);
	cr_assert_eq(contract_from_json(&k2, &d2, 0, msg, sizeof msg), 0, "%s", msg);
	const char *b = "{\"inputs\":[{\"name\":\"n\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1.5]}]}";
	cr_assert_eq(mjson_parse(&req, b, strlen(b), msg, sizeof msg), 0);
	cr_assert_eq(contract_decode(&k2, true, "y", &req, &in, msg, sizeof msg), -1);
	cr_assert(strstr(msg, "input 'n': must be an integer, got 1.5"), "%s", msg);
	b = "{\"inputs\":[{\"name\":\"n\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[2]}]}";
	cr_assert_eq(mjson_parse(&req, b, strlen(b), msg, sizeof msg), 0);
	cr_assert_eq(contract_decode(&k2, true, "y", &req, &in, msg, sizeof msg), -1);
	cr_assert(strstr(msg, "datatype must be INT64"), "%s", msg);
	contract_release(&k2);
	mjson_doc_release(&d2);
}

Test(mlserve_contract, no_contract_accepts_anything_evaluable)
{
	cr_assert_eq(decode(T2("-3", "\"x\""), false), 0, "%s", msg);
	cr_assert_float_eq(in.vals[0], -3, 1e-12);
	cr_assert(isnan(in.vals[1]));
	cr_assert_eq(decode("{\"inputs\":[{\"name\":\"v\",\"data\":[NaN]},{\"name\":\"zz\",\"data\":[1]}]}", false),
		     0, "%s", msg);
	cr_assert(isnan(in.vals[1])); /* d missing */
	cr_assert_eq(decode("[]", false), -1);
}

Test(mlserve_contract, model_must_fit_the_contract)
{
	const char *y = "apiVersion: mlctl/v1\nkind: Model\nname: eta\nversion: 1.0.0\ntype: linear\n"
			"output: eta\nterms:\n  - { coef: 1.0, ratio: [d, w] }\n";
	struct cfg_model *m = NULL;
	struct ml_diags dg = ML_DIAGS_INIT;
	cr_assert_eq(cfg_model_load_buffer("m.yaml", y, strlen(y), &m, &dg), 0);
	cr_assert_eq(contract_check_model(&k, m, msg, sizeof msg), -1);
	cr_assert(strstr(msg, "input 'w'"), "%s", msg);
	struct contract own;
	contract_from_model(&own, m);
	cr_assert_eq(own.n_inputs, 2);
	cr_assert_eq(contract_check_model(&own, m, msg, sizeof msg), 0, "%s", msg);
	contract_release(&own);
	cfg_model_free(m);
	ml_diags_release(&dg);
}

Test(mlserve_contract, linear_model_evaluates_bound_rows)
{
	const char *y = "apiVersion: mlctl/v1\nkind: Model\nname: eta\nversion: 2.0.0\ntype: linear\n"
			"output: eta\nterms:\n  - { coef: 1.07, ratio: [d, v] }\n  - { coef: 0.05 }\n"
			"  - { coef: 2, input: v }\n  - { coef: 0.5, product: [v, d] }\n";
	struct cfg_model *m = NULL;
	struct ml_diags dg = ML_DIAGS_INIT;
	cr_assert_eq(cfg_model_load_buffer("m.yaml", y, strlen(y), &m, &dg), 0);
	char *names[] = { k.inputs[0].name, k.inputs[1].name };
	struct ml_err e = ML_ERR_INIT;
	cr_assert_eq(cfg_model_bind(m, names, 2, &e), 0);
	double row[2] = { 50, 10 }; /* v, d */
	cr_assert_float_eq(cfg_model_eval(m, row), 1.07 * 10 / 50 + 0.05 + 100 + 250, 1e-9);
	cfg_model_free(m);
	ml_diags_release(&dg);
}

Test(mlserve_contract, datatypes_by_field_type)
{
	cr_assert(contract_datatype_ok(CFG_T_NUMBER, "FP32"));
	cr_assert(contract_datatype_ok(CFG_T_NUMBER, "UINT8"));
	cr_assert_not(contract_datatype_ok(CFG_T_NUMBER, "BYTES"));
	cr_assert_not(contract_datatype_ok(CFG_T_INTEGER, "FP64"));
	cr_assert(contract_datatype_ok(CFG_T_STRING, "BYTES"));
	cr_assert(contract_datatype_ok(CFG_T_BOOLEAN, "BOOL"));
}
