/* cmd_gate.c — `mlctl gate RELEASE --env E [--only LIST] [--junit FILE]
 * [--report FILE]`: run the environment's gates, in its order, against the
 * release where it is loaded in E; every requested gate runs and is
 * reported, even after one fails. Writes JUnit XML, records the run in the
 * ledger (a failure marks the release rejected in E) and changes nothing
 * else. The gates themselves are core/gates'. */
#define _DEFAULT_SOURCE /* gethostname */
#include "cli.h"
#include "common.h"
#include "gates/gate.h"
#include "ledger.h"
#include "opts.h"
#include "rstate.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct cmd_help cmd_gate_help = {
	"gate", "run an environment's test gates against a release",
	"  mlctl gate RELEASE --env E [--only LIST] [--junit FILE] [--report FILE]",
	"  RELEASE          the release manifest (loaded in E: mlctl deploy first)\n"
	"  --env E          the environment whose gates run (its `gates:`, in order)\n"
	"  --only LIST      run only these of E's gates, e.g. unit,smoke\n"
	"  --junit FILE     write JUnit XML: one testsuite per gate, one testcase\n"
	"                   per check\n"
	"  --report FILE    write the load gate's HTML report (default with\n"
	"                   --junit: <junit>-load.html beside the JUnit file)\n"
	"  Thresholds: E's checks are floors; the release may only tighten them.\n"
	"  Exit status: 0 every gate passed, 1 a gate failed (nothing changed; the\n"
	"  release is marked rejected in E), 2 bad usage or input, or the release\n"
	"  is not loaded in E, 3 E cannot be reached.",
};

#define MAX_FAILED_SHOWN 8
#define OUTPUT_LINES_SHOWN 40

static int parse_only(const char *list, const struct cfg_env *env, bool *want)
{
	char *copy = xstrdup(list), *save = NULL;
	int rc = ML_EXIT_OK;
	size_t named = 0;
	for (char *t = strtok_r(copy, ", ", &save); t && !rc;
	     t = strtok_r(NULL, ", ", &save)) {
		named++;
		int g = cfg_gate_parse(t);
		if (g < 0) {
			rc = cli_usage_error("gate", "--only: no gate named '%s' "
						     "(gates: unit, integration, "
						     "smoke, load, acceptance)",
					     t);
			break;
		}
		bool listed = false;
		for (size_t i = 0; i < env->n_gates; i++)
			listed |= env->gates[i] == (enum cfg_gate)g;
		if (!listed) {
			char gl[128] = "";
			size_t k = 0;
			for (size_t i = 0; i < env->n_gates && k < sizeof(gl); i++)
				k += (size_t)snprintf(gl + k, sizeof(gl) - k, "%s%s",
						      i ? ", " : "",
						      cfg_gate_name(env->gates[i]));
			rc = cli_usage_error("gate", "--only: %s is not a gate of "
						     "%s (its gates: %s)",
					     t, env->name, k ? gl : "none");
			break;
		}
		want[g] = true;
	}
	free(copy);
	if (!rc && named == 0)
		rc = cli_usage_error("gate", "--only: give at least one gate (e.g. "
					     "--only smoke,load)");
	return rc;
}

/* "<dir>/<stem>-load.html" beside a JUnit file. */
static char *report_beside(const char *junit)
{
	char *dir = path_dirname(junit);
	const char *base = strrchr(junit, '/');
	base = base ? base + 1 : junit;
	size_t n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".xml") == 0)
		n -= 4;
	char *stem = xstrndup(base, n);
	char *name = xasprintf("%s-load.html", stem);
	char *p = path_join(dir, name);
	free(dir);
	free(stem);
	free(name);
	return p;
}

/* ---- text output ---------------------------------------------------------- */

static void print_output_tail(const char *output)
{
	/* the last lines of a command's output, indented */
	size_t lines = 0;
	const char *p = output + strlen(output);
	while (p > output && p[-1] == '\n')
		p--;
	const char *start = p;
	while (start > output) {
		if (start[-1] == '\n' && ++lines == OUTPUT_LINES_SHOWN)
			break;
		start--;
	}
	if (start > output)
		out_line("      | [... earlier output in the JUnit report or with "
			 "--output json ...]");
	while (start < p) {
		const char *nl = memchr(start, '\n', (size_t)(p - start));
		size_t len = nl ? (size_t)(nl - start) : (size_t)(p - start);
		out_line("      | %.*s", (int)len, start);
		start = nl ? nl + 1 : p;
	}
}

static void print_worst(const struct gate_result *r)
{
	json_t *worst = json_object_get(r->figures, "worst");
	const char *out_name = json_string_value(json_object_get(r->figures, "output"));
	if (!json_array_size(worst))
		return;
	out_line("      worst cases:");
	size_t i;
	json_t *w;
	json_array_foreach(worst, i, w) {
		out_line("        line %lld: %s: %s expected %g, got %g (error %.4g)",
			 (long long)json_integer_value(json_object_get(w, "line")),
			 json_string_value(json_object_get(w, "inputs")),
			 out_name ? out_name : "output",
			 json_number_value(json_object_get(w, "expected")),
			 json_number_value(json_object_get(w, "predicted")),
			 json_number_value(json_object_get(w, "error")));
	}
}

static void print_text(const struct cfg_release *rel, const struct cfg_env *env,
		       const struct gate_target *t, const struct gate_result *res,
		       size_t n, bool passed, const char *verdict)
{
	char nodes[512] = "";
	size_t k = 0;
	for (size_t i = 0; i < t->n_nodes && k < sizeof(nodes); i++)
		k += (size_t)snprintf(nodes + k, sizeof(nodes) - k, "%s%s",
				      i ? ", " : "", t->nodes[i]->name);
	out_line("%sgate %s %s in %s%s (nodes %s%s%s)", out_c(OUT_BOLD), rel->model,
		 rel->version, env->name, out_c(OUT_RESET), nodes,
		 t->router_url ? "; router " : "",
		 t->router_url ? t->router_url : "");
	for (size_t i = 0; i < n; i++) {
		const struct gate_result *r = &res[i];
		char tm[32];
		if (r->ms < 1000)
			snprintf(tm, sizeof(tm), "%.0fms", r->ms);
		else
			snprintf(tm, sizeof(tm), "%.2fs", r->ms / 1000);
		out_line("  %-11s %s%-6s%s %7s  %s", cfg_gate_name(r->gate),
			 r->passed ? out_c(OUT_GREEN) : out_c(OUT_RED),
			 r->passed ? "passed" : "FAILED", out_c(OUT_RESET), tm,
			 r->summary ? r->summary : "");
		if (r->passed)
			continue;
		size_t shown = 0;
		for (size_t c = 0; c < r->n_checks; c++) {
			const struct gate_check *ck = &r->checks[c];
			if (ck->ok)
				continue;
			if (shown++ == MAX_FAILED_SHOWN) {
				out_line("      ... and %zu more failed checks "
					 "(--junit or --output json lists them)",
					 r->n_failed - MAX_FAILED_SHOWN);
				break;
			}
			out_line("      %sx%s %s: %s", out_c(OUT_RED), out_c(OUT_RESET),
				 ck->name, ck->reason ? ck->reason : "failed");
		}
		if (r->gate == CFG_GATE_ACCEPTANCE)
			print_worst(r);
		if (r->output && (r->gate == CFG_GATE_UNIT ||
				  r->gate == CFG_GATE_INTEGRATION))
			print_output_tail(r->output);
	}
	out_line("%s%s%s", passed ? out_c(OUT_GREEN) : out_c(OUT_RED),
		 verdict, out_c(OUT_RESET));
}

/* ---- the command ----------------------------------------------------------- */

int cmd_gate(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *only = NULL, *junit = NULL,
		   *report = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--only", NULL, &only, NULL },
		{ "--junit", NULL, &junit, NULL },
		{ "--report", NULL, &report, NULL },
		{ 0 },
	};
	int n = cli_parse("gate", argc, argv, opts, pos, 1);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (n != 1)
		return cli_usage_error("gate", "which release? give its manifest");
	if (!env_name)
		return cli_usage_error("gate", "--env E is required");
	if (cli_check_output_path("gate", "--junit", junit) ||
	    cli_check_output_path("gate", "--report", report))
		return ML_EXIT_USAGE;

	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct cfg_release *rel = NULL;
	struct ledger *ledger = NULL;
	struct rstate st = { 0 };
	struct gate_target target = { 0 };
	struct gate_result *results = NULL;
	struct ml_err err = ML_ERR_INIT;
	char *manifest = NULL, *report_path = NULL, *state_json = NULL;
	size_t manifest_len = 0, n_run = 0;
	json_t *doc = NULL;
	int rc = cli_load_env("gate", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_load_release(pos[0], &rel)))
		goto out;
	if (read_file(pos[0], 1 << 20, &manifest, &manifest_len)) {
		rc = cli_usage_error("gate", "%s: %s", pos[0], strerror(errno));
		goto out;
	}

	/* which gates, in the environment's order */
	bool want[CFG_GATE_COUNT] = { false };
	if (only) {
		if ((rc = parse_only(only, env, want)))
			goto out;
	} else {
		for (size_t i = 0; i < env->n_gates; i++)
			want[env->gates[i]] = true;
	}
	enum cfg_gate order[CFG_GATE_COUNT];
	size_t n_gates = 0;
	for (size_t i = 0; i < env->n_gates; i++)
		if (want[env->gates[i]])
			order[n_gates++] = env->gates[i];
	if (n_gates == 0) {
		out_progress("gate: %s lists no gates; nothing to run", env->name);
		if (out_is_json())
			out_json_text("{\n  \"gates\": [],\n  \"passed\": true\n}");
		rc = ML_EXIT_OK;
		goto out;
	}

	struct gate_limits lim;
	gate_limits_merge(&env->checks, &rel->checks, rel->serving_mode, &lim);
	for (size_t i = 0; i < lim.n_held; i++)
		out_warn("%s", lim.held[i]);
	if (report)
		report_path = xstrdup(report);
	else if (junit && want[CFG_GATE_LOAD])
		report_path = report_beside(junit);
	struct gate_ctx gc = { env, rel, &lim, &target, ".", report_path };
	bool bad = false;
	for (size_t i = 0; i < n_gates; i++) {
		struct ml_err e = ML_ERR_INIT;
		if (gate_preflight(order[i], &gc, &e)) {
			out_error("%s", e.msg);
			bad = true;
		}
		ml_err_release(&e);
	}
	if (bad) {
		rc = ML_EXIT_USAGE;
		goto out;
	}

	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	if (rstate_load(&st, env, ledger, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (gate_target_find(env, rel, &st, &target, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (target.others)
		out_progress("gate: not serving %s: %s; the gates test %zu node%s",
			     rel->version, target.others, target.n_nodes,
			     target.n_nodes == 1 ? "" : "s");
	if (target.router_note)
		out_progress("gate: %s", target.router_note);

	/* run every gate; none stops the others */
	double t0 = now_ms();
	results = xcalloc(n_gates, sizeof(*results));
	char failed[128] = "", ran[128] = "";
	size_t fk = 0, rk = 0;
	for (size_t i = 0; i < n_gates; i++) {
		out_progress("gate: %s ...", cfg_gate_name(order[i]));
		gate_run(order[i], &gc, &results[i]);
		n_run++;
		const struct gate_result *r = &results[i];
		out_progress("gate: %s %s (%.2fs)", cfg_gate_name(order[i]),
			     r->passed ? "passed" : "FAILED", r->ms / 1000);
		rk += (size_t)snprintf(ran + rk, sizeof(ran) - rk, "%s%s",
				       rk ? ", " : "", cfg_gate_name(order[i]));
		if (!r->passed)
			fk += (size_t)snprintf(failed + fk, sizeof(failed) - fk,
					       "%s%s", fk ? ", " : "",
					       cfg_gate_name(order[i]));
	}
	double dur_s = (now_ms() - t0) / 1000;
	bool passed = fk == 0;
	rc = passed ? ML_EXIT_OK : ML_EXIT_CHECK_FAILED;

	if (junit) {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		struct gate_junit_info info = { env->name, rel->model, rel->version,
						(long long)time(NULL), host };
		if (gate_junit_write(junit, results, n_run, &info, &err)) {
			out_error("%s", err.msg);
			rc = ML_EXIT_USAGE;
		} else {
			out_progress("gate: JUnit XML written to %s", junit);
		}
	}
	for (size_t i = 0; i < n_run; i++)
		if (results[i].report)
			out_progress("gate: load report written to %s",
				     results[i].report);

	/* the ledger: the state as it was, plus this run */
	json_t *extra = json_object();
	json_t *gj = json_array();
	for (size_t i = 0; i < n_run; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "gate", json_string(cfg_gate_name(results[i].gate)));
		json_object_set_new(o, "passed", json_boolean(results[i].passed));
		json_object_set_new(o, "duration_s", json_real(results[i].ms / 1000));
		json_object_set_new(o, "summary", json_string(results[i].summary));
		json_object_set(o, "figures", results[i].figures);
		json_array_append_new(gj, o);
	}
	json_object_set_new(extra, "gates", gj);
	json_object_set_new(extra, "outcome",
			    json_string(passed ? LEDGER_OUTCOME_GATES_PASSED
					       : LEDGER_OUTCOME_GATES_FAILED));
	char *extra_txt = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
	state_json = rstate_to_json(&st, env, extra_txt);
	free(extra_txt);
	char reason[600] = "";
	for (size_t i = 0; i < n_run && !passed; i++)
		if (!results[i].passed) {
			char buf[512];
			snprintf(reason, sizeof(reason), "%s gate: %s",
				 cfg_gate_name(results[i].gate),
				 gate_first_failure(&results[i], buf, sizeof(buf)));
			break;
		}
	struct ledger_record rec = { 0 };
	rec.env = env->name;
	rec.action = LEDGER_ACTION_GATE;
	rec.outcome = passed ? LEDGER_OUTCOME_GATES_PASSED : LEDGER_OUTCOME_GATES_FAILED;
	rec.model = rel->model;
	rec.version = rel->version;
	rec.detail = passed ? ran : failed;
	rec.reason = passed ? NULL : reason;
	rec.manifest = manifest;
	rec.manifest_len = manifest_len;
	rec.state_json = state_json;
	rec.duration_s = dur_s;
	rec.reject = !passed;
	char oid[41] = "";
	if (ledger_record(ledger, &rec, oid, &err)) {
		out_error("the ledger could not record this gate run: %s", err.msg);
		if (rc == ML_EXIT_OK)
			rc = ML_EXIT_OPERATIONAL;
	}

	char verdict[256];
	if (passed)
		snprintf(verdict, sizeof(verdict), "gates passed (%s)", ran);
	else
		snprintf(verdict, sizeof(verdict),
			 "gates failed (%s); %s %s is rejected in %s", failed,
			 rel->model, rel->version, env->name);
	if (out_is_json()) {
		doc = json_object();
		json_object_set_new(doc, "env", json_string(env->name));
		json_object_set_new(doc, "model", json_string(rel->model));
		json_object_set_new(doc, "version", json_string(rel->version));
		json_object_set_new(doc, "passed", json_boolean(passed));
		json_object_set_new(doc, "outcome", json_string(rec.outcome));
		json_object_set_new(doc, "exit_code", json_integer(rc));
		json_object_set_new(doc, "duration_s", json_real(dur_s));
		json_t *nodes = json_array();
		for (size_t i = 0; i < target.n_nodes; i++)
			json_array_append_new(nodes, json_string(target.nodes[i]->name));
		json_object_set_new(doc, "nodes", nodes);
		json_object_set_new(doc, "router", target.router_url
							   ? json_string(target.router_url)
							   : json_null());
		json_t *held = json_array();
		for (size_t i = 0; i < lim.n_held; i++)
			json_array_append_new(held, json_string(lim.held[i]));
		json_object_set_new(doc, "held_to_floor", held);
		json_t *gates = json_array();
		json_t *fl = json_array();
		for (size_t i = 0; i < n_run; i++) {
			json_array_append_new(gates, gate_result_json(&results[i]));
			if (!results[i].passed)
				json_array_append_new(
					fl, json_string(cfg_gate_name(results[i].gate)));
		}
		json_object_set_new(doc, "gates", gates);
		json_object_set_new(doc, "failed", fl);
		json_object_set_new(doc, "junit", junit ? json_string(junit) : json_null());
		json_object_set_new(doc, "ledger_commit", oid[0] ? json_string(oid) : json_null());
		char *txt = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
		out_json_text(txt);
		free(txt);
	} else {
		print_text(rel, env, &target, results, n_run, passed, verdict);
	}
out:
	json_decref(doc);
	for (size_t i = 0; results && i < n_run; i++)
		gate_result_release(&results[i]);
	free(results);
	free(state_json);
	free(report_path);
	free(manifest);
	gate_target_release(&target);
	if (st.serving)
		rstate_release(&st);
	ledger_free(ledger);
	cfg_release_free(rel);
	project_release(&proj);
	ml_err_release(&err);
	return rc;
}
