/* gate_unit.c — the unit gate: the model's own unit tests, run by the
 * command the release names (checks.unit.run; an environment may add one
 * of its own) in the project root, with its test counts read from the
 * JUnit report it writes (checks.unit.junit) or the TAP it prints. */
#include "gates/gate_internal.h"

#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gate_unit_run(const struct gate_ctx *c, struct gate_result *out)
{
	gate_result_init(out, CFG_GATE_UNIT);
	double t0 = now_ms();
	size_t tests = 0, failed = 0, skipped = 0;
	for (size_t i = 0; i < c->lim->n_unit; i++) {
		const struct cfg_cmd_check *cc = c->lim->unit[i];
		const char *label = cc == &c->rel->checks.unit ? ""
								: "environment: ";
		gate_run_command(c, out, label, cc->run, cc->junit,
				 c->lim->unit_timeout_ms, &tests, &failed,
				 &skipped);
	}
	out->ms = now_ms() - t0;
	char t[32];
	gate_fmt_ms(out->ms, t, sizeof(t));
	if (tests)
		gate_set_summary(out, "%zu tests, %zu failed, %zu skipped in %s",
				 tests, failed, skipped, t);
	else
		gate_set_summary(out, "%zu command%s in %s (no test counts: "
				      "no JUnit report or TAP)",
				 c->lim->n_unit, c->lim->n_unit == 1 ? "" : "s", t);
	json_object_set_new(out->figures, "tests", json_integer((json_int_t)tests));
	json_object_set_new(out->figures, "failed", json_integer((json_int_t)failed));
	json_object_set_new(out->figures, "skipped", json_integer((json_int_t)skipped));
	json_object_set_new(out->figures, "commands",
			    json_integer((json_int_t)c->lim->n_unit));
}
