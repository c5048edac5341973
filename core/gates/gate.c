/* gate.c — gate results (checks, summary, figures, JSON), the dispatcher
 * and the preflight that checks a gate has what it needs before anything
 * runs. The gates themselves live in gate_<name>.c. */
#include "gates/gate.h"

#include "exitcode.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- results ------------------------------------------------------------ */

void gate_result_init(struct gate_result *r, enum cfg_gate g)
{
	memset(r, 0, sizeof(*r));
	r->gate = g;
	r->passed = true;
	r->figures = json_object();
}

void gate_result_release(struct gate_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_checks; i++) {
		free(r->checks[i].name);
		free(r->checks[i].reason);
		free(r->checks[i].detail);
	}
	free(r->checks);
	free(r->summary);
	free(r->output);
	free(r->report);
	json_decref(r->figures);
	memset(r, 0, sizeof(*r));
}

struct gate_check *gate_add_check(struct gate_result *r, const char *name,
				  double ms, const char *reason)
{
	if (r->n_checks == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->checks = xrealloc(r->checks, r->cap * sizeof(*r->checks));
	}
	struct gate_check *c = &r->checks[r->n_checks++];
	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->ms = ms;
	c->ok = reason == NULL;
	c->reason = reason ? xstrdup(reason) : NULL;
	if (!c->ok) {
		r->n_failed++;
		r->passed = false;
	}
	return c;
}

struct gate_check *gate_add_checkf(struct gate_result *r, const char *name,
				   double ms, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *reason = xvasprintf(fmt, ap);
	va_end(ap);
	struct gate_check *c = gate_add_check(r, name, ms, reason);
	free(reason);
	return c;
}

struct gate_check *gate_add_skip(struct gate_result *r, const char *name,
				 const char *why)
{
	struct gate_check *c = gate_add_check(r, name, 0, NULL);
	c->skipped = true;
	c->reason = xstrdup(why);
	r->n_skipped++;
	return c;
}

void gate_set_summary(struct gate_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(r->summary);
	r->summary = xvasprintf(fmt, ap);
	va_end(ap);
}

const char *gate_first_failure(const struct gate_result *r, char *buf,
			       size_t sz)
{
	for (size_t i = 0; i < r->n_checks; i++)
		if (!r->checks[i].ok) {
			snprintf(buf, sz, "%s: %s", r->checks[i].name,
				 r->checks[i].reason ? r->checks[i].reason : "failed");
			return buf;
		}
	return NULL;
}

json_t *gate_result_json(const struct gate_result *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "gate", json_string(cfg_gate_name(r->gate)));
	json_object_set_new(o, "passed", json_boolean(r->passed));
	json_object_set_new(o, "duration_s", json_real(r->ms / 1000));
	json_object_set_new(o, "summary", json_string(r->summary ? r->summary : ""));
	json_object_set_new(o, "checks_total", json_integer((json_int_t)r->n_checks));
	json_object_set_new(o, "checks_failed", json_integer((json_int_t)r->n_failed));
	json_t *checks = json_array();
	for (size_t i = 0; i < r->n_checks; i++) {
		const struct gate_check *c = &r->checks[i];
		json_t *cj = json_object();
		json_object_set_new(cj, "name", json_string(c->name));
		json_object_set_new(cj, "passed", json_boolean(c->ok));
		if (c->skipped)
			json_object_set_new(cj, "skipped", json_true());
		json_object_set_new(cj, "duration_s", json_real(c->ms / 1000));
		json_object_set_new(cj, "reason",
				    c->reason ? json_string(c->reason) : json_null());
		json_array_append_new(checks, cj);
	}
	json_object_set_new(o, "checks", checks);
	json_object_set(o, "figures", r->figures ? r->figures : json_object());
	if (r->report)
		json_object_set_new(o, "report", json_string(r->report));
	if (r->output && !r->passed)
		json_object_set_new(o, "output", json_string(r->output));
	return o;
}

/* ---- preflight and dispatch ---------------------------------------------- */

static bool numeric(enum cfg_type t)
{
	return t == CFG_T_NUMBER || t == CFG_T_INTEGER;
}

int gate_preflight(enum cfg_gate g, const struct gate_ctx *c,
		   struct ml_err *err)
{
	const struct gate_limits *l = c->lim;
	const struct cfg_release *rel = c->rel;
	switch (g) {
	case CFG_GATE_UNIT:
		if (l->n_unit == 0)
			return ml_err_set(err, ML_EXIT_USAGE,
					  "unit: %s sets no checks.unit.run (the "
					  "command that runs the model's unit "
					  "tests), and neither does %s",
					  rel->file, c->env->file);
		return 0;
	case CFG_GATE_LOAD:
		if (l->n_smoke_rel == 0 && l->n_smoke_env == 0)
			return ml_err_set(err, ML_EXIT_USAGE,
					  "load: %s has no smoke case to build "
					  "the load request from (checks.smoke)",
					  rel->file);
		return 0;
	case CFG_GATE_ACCEPTANCE: {
		if (!l->acc_cases)
			return ml_err_set(err, ML_EXIT_USAGE,
					  "acceptance: %s sets no "
					  "checks.acceptance.cases",
					  rel->file);
		if (l->n_acc == 0)
			return ml_err_set(err, ML_EXIT_USAGE,
					  "acceptance: no threshold: give "
					  "checks.acceptance max (mae, rmse, "
					  "mape) or min (accuracy, exact) in %s "
					  "or %s",
					  rel->file, c->env->file);
		if (rel->expectations.n_outputs == 0)
			return ml_err_set(err, ML_EXIT_USAGE,
					  "acceptance: %s declares no output "
					  "(expectations.outputs)", rel->file);
		for (size_t i = 0; i < rel->expectations.n_inputs; i++)
			if (!numeric(rel->expectations.inputs[i].type))
				return ml_err_set(
					err, ML_EXIT_USAGE,
					"acceptance: input '%s' is %s; the "
					"acceptance gate sends numbers only",
					rel->expectations.inputs[i].name,
					cfg_type_name(rel->expectations.inputs[i].type));
		char *text = NULL;
		size_t len = 0;
		if (read_file(l->acc_cases, 256u << 20, &text, &len))
			return ml_err_set(err, ML_EXIT_USAGE,
					  "acceptance: cannot read %s",
					  l->acc_cases);
		struct gate_cases cs;
		int rc = gate_cases_parse(l->acc_cases, text, len, &cs, err);
		free(text);
		if (rc)
			return -1;
		rc = 0;
		if (cs.n_rows == 0)
			rc = ml_err_set(err, ML_EXIT_USAGE, "%s: no cases",
					l->acc_cases);
		for (size_t i = 0; !rc && i < rel->expectations.n_inputs; i++) {
			const struct cfg_field *f = &rel->expectations.inputs[i];
			if (!f->optional && gate_cases_column(&cs, f->name) < 0)
				rc = ml_err_set(err, ML_EXIT_USAGE,
						"%s: no column '%s' (an input "
						"of %s %s)",
						l->acc_cases, f->name, rel->model,
						rel->version);
		}
		bool have_out = false;
		for (size_t i = 0; i < rel->expectations.n_outputs; i++)
			have_out |= gate_cases_column(
					    &cs, rel->expectations.outputs[i].name) >= 0;
		if (!rc && !have_out)
			rc = ml_err_set(err, ML_EXIT_USAGE,
					"%s: no column for the expected output "
					"'%s'",
					l->acc_cases, rel->expectations.outputs[0].name);
		gate_cases_release(&cs);
		return rc;
	}
	case CFG_GATE_INTEGRATION:
	case CFG_GATE_SMOKE:
		return 0;
	}
	return 0;
}

void gate_run(enum cfg_gate g, const struct gate_ctx *c,
	      struct gate_result *out)
{
	switch (g) {
	case CFG_GATE_UNIT:
		gate_unit_run(c, out);
		return;
	case CFG_GATE_INTEGRATION:
		gate_integration_run(c, out);
		return;
	case CFG_GATE_SMOKE:
		gate_smoke_run(c, out);
		return;
	case CFG_GATE_LOAD:
		gate_load_run(c, out);
		return;
	case CFG_GATE_ACCEPTANCE:
		gate_acceptance_run(c, out);
		return;
	}
	gate_result_init(out, g);
}
