/* test_config_model.c — Model documents (the artifact mlserve serves):
 * terms of each kind, fault switches, the buffer loader, binding and
 * evaluation, and the errors each bad term or fault gets. */
#include "cfgtest.h"
#include "config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

TestSuite(cfg_model, .init = cfgt_setup, .fini = cfgt_teardown, .timeout = 30);

/* Lines 1-7; terms from line 8 */
#define HEAD                                                                  \
	"apiVersion: mlctl/v1\n"                                              \
	"kind: Model\n"                                                       \
	"name: m\n"                                                           \
	"version: 1.0.0\n"                                                    \
	"type: linear\n"                                                      \
	"output: y\n"                                                         \
	"terms:\n"

#define MODEL_ERR(text, line, col, path, msg)                                 \
	cfgt_model_error("m.yaml", text, line, col, path, msg)

static struct cfg_model *model_ok(const char *text)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	cr_assert_eq(cfg_model_load_buffer("m.yaml", text, strlen(text), &m, &d), 0,
		     "%s", cfgt_dump(&d));
	ml_diags_release(&d);
	return m;
}

Test(cfg_model, every_term_kind_and_fault_loads_and_evaluates)
{
	struct cfg_model *m = model_ok(HEAD
				       "  - { coef: 2, input: a }\n"
				       "  - { coef: -1.5, ratio: [a, b] }\n"
				       "  - { coef: 0.5, product: [b, c] }\n"
				       "  - coef: 3\n"
				       "faults:\n"
				       "  latency: 80ms\n"
				       "  error_rate: 0.02\n"
				       "  stall: { every: 10s, for: 2s }\n"
				       "  bad_input_status: 503\n");
	cr_assert_str_eq(m->file, "m.yaml");
	cr_assert_eq(m->n_terms, 4);
	cr_assert_eq(m->terms[0].kind, CFG_TERM_INPUT);
	cr_assert_str_eq(m->terms[0].a, "a");
	cr_assert_null(m->terms[0].b);
	cr_assert_eq(m->terms[1].kind, CFG_TERM_RATIO);
	cr_assert_float_eq(m->terms[1].coef, -1.5, 1e-12);
	cr_assert_eq(m->terms[2].kind, CFG_TERM_PRODUCT);
	cr_assert_str_eq(m->terms[2].a, "b");
	cr_assert_str_eq(m->terms[2].b, "c");
	cr_assert_eq(m->terms[3].kind, CFG_TERM_CONST);
	cr_assert_eq(m->terms[3].pos.line, 11);
	cr_assert_eq(m->terms[3].pos.col, 5);
	cr_assert_eq(m->n_inputs, 3);
	cr_assert_str_eq(m->inputs[0], "a");
	cr_assert_str_eq(m->inputs[1], "b");
	cr_assert_str_eq(m->inputs[2], "c");
	cr_assert_eq(m->faults.latency_ms, 80);
	cr_assert_float_eq(m->faults.error_rate, 0.02, 1e-12);
	cr_assert_eq(m->faults.stall_every_ms, 10000);
	cr_assert_eq(m->faults.stall_for_ms, 2000);
	cr_assert_eq(m->faults.bad_input_status, 503);
	/* bound in another order than first use */
	char *names[] = { "c", "b", "a" };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(cfg_model_bind(m, names, 3, &err), 0);
	cr_assert_eq(m->terms[1].ia, 2);
	cr_assert_eq(m->terms[1].ib, 1);
	double row[] = { 5, 4, 2 }; /* c, b, a */
	cr_assert_float_eq(cfg_model_eval(m, row),
			   2 * 2 - 1.5 * 2 / 4 + 0.5 * 4 * 5 + 3, 1e-12);
	cfg_model_free(m);
}

Test(cfg_model, binding_refuses_an_input_the_contract_lacks)
{
	struct cfg_model *m = model_ok(HEAD "  - { coef: 1, ratio: [d, v] }\n");
	char *names[] = { "v" };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(cfg_model_bind(m, names, 1, &err), -1);
	cr_assert_str_eq(err.msg, "model term 0 uses input 'd', which the contract "
				  "does not declare");
	cfg_model_free(m);
}

Test(cfg_model, buffer_loader_reports_under_the_given_name)
{
	static const char text[] = "apiVersion: mlctl/v1\nkind: Model\nname: m\n";
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	cr_assert_eq(cfg_model_load_buffer("fetched://eta", text, strlen(text), &m,
					   &d), -1);
	cr_assert_null(m);
	cr_assert_eq(d.len, 4, "%s", cfgt_dump(&d));
	cfgt_expect(&d, "fetched://eta", 1, 1, "version",
		    "missing required key 'version'");
	cfgt_expect(&d, "fetched://eta", 1, 1, "terms",
		    "missing required key 'terms'");
	ml_diags_release(&d);
}

Test(cfg_model, buffer_loader_rejects_an_empty_buffer)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	cr_assert_eq(cfg_model_load_buffer("b", "", 0, &m, &d), -1);
	cfgt_expect_only(&d, "b", 1, 1, NULL, "empty file: expected a YAML document");
	ml_diags_release(&d);
}

Test(cfg_model, buffer_loader_rejects_a_top_level_list)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	cr_assert_eq(cfg_model_load_buffer("b", "[1, 2]\n", 7, &m, &d), -1);
	cfgt_expect_only(&d, "b", 1, 1, NULL,
			 "expected a mapping at the top of the file, found a list");
	ml_diags_release(&d);
}

Test(cfg_model, rejects_term_with_two_kinds)
{
	MODEL_ERR(HEAD "  - { coef: 1, input: a, ratio: [a, b] }\n", 8, 5, "terms[0]",
		  "a term has at most one of input, ratio, product");
}

Test(cfg_model, rejects_ratio_of_three_inputs)
{
	MODEL_ERR(HEAD "  - { coef: 1, ratio: [a, b, c] }\n", 8, 23,
		  "terms[0].ratio",
		  "expected a list of two input names like [d, v], found a list of 3");
}

Test(cfg_model, rejects_product_written_as_a_string)
{
	MODEL_ERR(HEAD "  - { coef: 1, product: a*b }\n", 8, 25, "terms[0].product",
		  "expected a list of two input names like [d, v], found a scalar");
}

Test(cfg_model, rejects_term_without_coef)
{
	MODEL_ERR(HEAD "  - { input: a }\n", 8, 5, "terms[0].coef",
		  "missing required key 'coef'");
}

Test(cfg_model, rejects_coef_that_is_not_a_number)
{
	MODEL_ERR(HEAD "  - { coef: big, input: a }\n", 8, 13, "terms[0].coef",
		  "expected a number, found 'big'");
}

Test(cfg_model, rejects_misspelt_term_key_with_did_you_mean)
{
	MODEL_ERR(HEAD "  - { coef: 1, ration: [a, b] }\n", 8, 16, "terms[0].ration",
		  "unknown key 'ration' (did you mean 'ratio'?)");
}

Test(cfg_model, rejects_input_name_with_a_space)
{
	MODEL_ERR(HEAD "  - { coef: 1, input: \"a b\" }\n", 8, 23, "terms[0].input",
		  "expected a name (letters, digits, '.', '_', '-'; at most 63), "
		  "found 'a b'");
}

Test(cfg_model, rejects_empty_terms)
{
	MODEL_ERR("apiVersion: mlctl/v1\nkind: Model\nname: m\nversion: 1.0.0\n"
		  "type: linear\noutput: y\nterms: []\n",
		  7, 8, "terms", "expected at least one term");
}

Test(cfg_model, rejects_unknown_model_type)
{
	MODEL_ERR("apiVersion: mlctl/v1\nkind: Model\nname: m\nversion: 1.0.0\n"
		  "type: quadratic\noutput: y\nterms: [ { coef: 1 } ]\n",
		  5, 7, "type", "expected one of linear, found 'quadratic'");
}

Test(cfg_model, rejects_missing_output)
{
	MODEL_ERR("apiVersion: mlctl/v1\nkind: Model\nname: m\nversion: 1.0.0\n"
		  "type: linear\nterms: [ { coef: 1 } ]\n",
		  1, 1, "output", "missing required key 'output'");
}

Test(cfg_model, rejects_stall_as_long_as_its_period)
{
	MODEL_ERR(HEAD "  - { coef: 1 }\nfaults: { stall: { every: 2s, for: 2s } }\n",
		  9, 36, "faults.stall.for",
		  "a stall must be shorter than its period ('every')");
}

Test(cfg_model, rejects_stall_with_a_zero_period)
{
	MODEL_ERR(HEAD "  - { coef: 1 }\nfaults: { stall: { every: 0s, for: 0s } }\n",
		  9, 27, "faults.stall.every", "expected a period above 0");
}

Test(cfg_model, rejects_stall_with_a_bad_period_once)
{
	MODEL_ERR(HEAD "  - { coef: 1 }\nfaults: { stall: { every: soon, for: 1s } }\n",
		  9, 27, "faults.stall.every",
		  "expected a duration like 250ms, 10s, 2m or 1h, found 'soon'");
}

Test(cfg_model, rejects_bad_input_status_below_100)
{
	MODEL_ERR(HEAD "  - { coef: 1 }\nfaults: { bad_input_status: 99 }\n", 9, 29,
		  "faults.bad_input_status", "expected an integer 100..599, found '99'");
}

Test(cfg_model, rejects_error_rate_over_100_percent)
{
	MODEL_ERR(HEAD "  - { coef: 1 }\nfaults: { error_rate: 200% }\n", 9, 23,
		  "faults.error_rate",
		  "expected a percentage like 1% or a fraction 0..1, found '200%'");
}

Test(cfg_model, rejects_wrong_kind)
{
	MODEL_ERR("apiVersion: mlctl/v1\nkind: Release\nname: m\nversion: 1.0.0\n"
		  "type: linear\noutput: y\nterms: [ { coef: 1 } ]\n",
		  2, 7, "kind", "expected kind 'Model', found 'Release'");
}
