/* test_eta.c — unit tests of the ETA model files: each loads, its terms
 * are computable from the contract's inputs (v, d), and it gives the known
 * outputs for known inputs. Run from examples/eta (make unit). */
#include "config.h"
#include "err.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

static struct cfg_model *load_model(const char *version)
{
	char path[128];
	snprintf(path, sizeof(path), "models/eta-%s.yaml", version);
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	int rc = cfg_model_load(path, &m, &d);
	for (size_t i = 0; i < d.len; i++)
		cr_log_error("%s:%u:%u: %s", d.items[i].file, d.items[i].line,
			     d.items[i].col, d.items[i].msg);
	ml_diags_release(&d);
	cr_assert_eq(rc, 0, "model %s does not load", version);
	char *inputs[] = { "v", "d" };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(cfg_model_bind(m, inputs, 2, &err), 0, "%s", err.msg);
	return m;
}

static double eta(const struct cfg_model *m, double v, double d)
{
	double row[2] = { v, d };
	return cfg_model_eval(m, row);
}

Test(eta, v1_0_0_is_distance_over_velocity)
{
	struct cfg_model *m = load_model("1.0.0");
	cr_assert_str_eq(m->output, "eta");
	cr_assert_float_eq(eta(m, 50, 10), 0.2, 1e-12);
	cr_assert_float_eq(eta(m, 20, 100), 5.0, 1e-12);
	cfg_model_free(m);
}

Test(eta, v2_0_0_adds_the_fixed_overhead)
{
	struct cfg_model *m = load_model("2.0.0");
	cr_assert_float_eq(eta(m, 50, 10), 1.07 * 0.2 + 0.05, 1e-12);
	cr_assert_float_eq(eta(m, 100, 1), 1.07 * 0.01 + 0.05, 1e-12);
	cfg_model_free(m);
}

Test(eta, v2_1_0_is_biased_low_and_carries_faults)
{
	struct cfg_model *m = load_model("2.1.0");
	cr_assert_float_eq(eta(m, 50, 10), 0.12, 1e-12);
	cr_assert_eq(m->faults.latency_ms, 80);
	cr_assert_float_eq(m->faults.error_rate, 0.02, 1e-12);
	cfg_model_free(m);
}

Test(eta, every_version_is_positive_and_monotonic_on_the_contract_domain)
{
	const char *versions[] = { "1.0.0", "2.0.0", "2.1.0" };
	for (size_t k = 0; k < 3; k++) {
		struct cfg_model *m = load_model(versions[k]);
		for (double v = 20; v <= 120; v += 10) {
			for (double d = 1; d <= 100; d += 9) {
				double e = eta(m, v, d);
				cr_assert(isfinite(e) && e > 0, "%s: eta(%g,%g)=%g",
					  versions[k], v, d, e);
				cr_assert_gt(eta(m, v, d + 1), e, "%s: grows with d",
					     versions[k]);
				cr_assert_lt(eta(m, v + 1, d), e, "%s: shrinks with v",
					     versions[k]);
			}
		}
		cfg_model_free(m);
	}
}

Test(eta, releases_load_and_their_digests_match_the_model_files)
{
	const char *versions[] = { "1.0.0", "2.0.0", "2.1.0" };
	for (size_t k = 0; k < 3; k++) {
		char path[64];
		snprintf(path, sizeof(path), "release-%s.yaml", versions[k]);
		struct ml_diags d = ML_DIAGS_INIT;
		struct cfg_release *rel = NULL;
		int rc = cfg_release_load(path, &rel, &d);
		for (size_t i = 0; i < d.len; i++)
			cr_log_error("%s:%u:%u: %s", d.items[i].file,
				     d.items[i].line, d.items[i].col, d.items[i].msg);
		ml_diags_release(&d);
		cr_assert_eq(rc, 0, "%s does not validate", path);
		cr_assert_str_eq(rel->version, versions[k]);
		cfg_release_free(rel);
	}
}

Test(eta, smoke_case_of_the_manifest_is_within_expect_for_every_version)
{
	/* the manifests' smoke case: v=50, d=10 -> eta in [0.05, 1.0] */
	const char *versions[] = { "1.0.0", "2.0.0", "2.1.0" };
	for (size_t k = 0; k < 3; k++) {
		struct cfg_model *m = load_model(versions[k]);
		double e = eta(m, 50, 10);
		cr_assert(e >= 0.05 && e <= 1.0, "%s: %g", versions[k], e);
		cfg_model_free(m);
	}
}
