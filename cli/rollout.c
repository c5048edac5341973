/* rollout.c — running a plan for a command: progress lines, the engine on
 * the real drivers, the ledger record and the final result. */
#include "rollout.h"
#include "engine.h"
#include "engine_ops.h"
#include "ledger.h"
#include "out.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rollout_print_noop(const struct cfg_env *env, const char *action,
			const char *model, const char *version)
{
	if (out_is_json()) {
		json_t *o = json_object();
		json_object_set_new(o, "env", json_string(env->name));
		json_object_set_new(o, "action", json_string(action));
		json_object_set_new(o, "model", json_string(model));
		json_object_set_new(o, "to", json_string(version));
		json_object_set_new(o, "outcome", json_string("unchanged"));
		json_object_set_new(o, "exit_code", json_integer(0));
		json_object_set_new(o, "steps", json_array());
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		out_json_text(t);
		free(t);
		json_decref(o);
		return;
	}
	out_line("%s: already serving %s %s; nothing to do", env->name, model,
		 version);
}

char *rollout_run_dir(const struct ml_ctx *ctx, const struct cfg_env *env)
{
	char *run = path_join(ctx->state_dir, "run");
	char *dir = path_join(run, env->name);
	free(run);
	return dir;
}

/* "[#####.....]" for step i of n on a tty. */
static void bar(char *buf, size_t sz, size_t i, size_t n)
{
	size_t width = 10, full = n ? (i * width + n - 1) / n : width;
	if (sz < width + 3)
		return;
	buf[0] = '[';
	for (size_t k = 0; k < width; k++)
		buf[1 + k] = k < full ? '#' : '.';
	buf[width + 1] = ']';
	buf[width + 2] = '\0';
}

static void on_progress(const struct engine_event *ev, void *payload)
{
	(void)payload;
	const char *text = ev->step->text ? ev->step->text : "";
	if (ev->status == -2) {
		if (out_live()) {
			char b[16] = "";
			bar(b, sizeof(b), ev->index - 1, ev->total);
			fprintf(stderr, "%s%s %zu/%zu%s %s%s ...\r", out_ce(OUT_DIM), b,
				ev->index, ev->total, out_ce(OUT_RESET),
				ev->undo ? "undo: " : "", text);
			fflush(stderr);
		}
		return;
	}
	if (out_live())
		fputs("\033[K", stderr); /* clear the live line */
	if (ev->status == 0)
		out_progress("[%zu/%zu] %s%s %sok%s (%.0f ms)", ev->index, ev->total,
			     ev->undo ? "undo: " : "", text, out_ce(OUT_GREEN),
			     out_ce(OUT_RESET), ev->ms);
	else
		out_progress("[%zu/%zu] %s%s %sfailed%s: %s", ev->index, ev->total,
			     ev->undo ? "undo: " : "", text, out_ce(OUT_RED),
			     out_ce(OUT_RESET), ev->error ? ev->error : "");
}

/* DESIGN.md's outcome words: a deploy that a check refused is rejected;
 * one stopped by its deadline is aborted; one whose step failed and was
 * undone is rolled back (the ledger counts only a rollback action's
 * "rolled back" as serving); "failed" when the undo itself failed. */
static const char *outcome_of(const struct engine_result *res, const char *action)
{
	bool rollback = strcmp(action, "rollback") == 0;
	if (res->exit_code == ML_EXIT_OK)
		return rollback ? LEDGER_OUTCOME_ROLLED_BACK : LEDGER_OUTCOME_DEPLOYED;
	if (res->rollback_failed || rollback)
		return LEDGER_OUTCOME_FAILED;
	if (res->timed_out)
		return LEDGER_OUTCOME_ABORTED;
	if (res->exit_code == ML_EXIT_CHECK_FAILED)
		return LEDGER_OUTCOME_REJECTED;
	return LEDGER_OUTCOME_ROLLED_BACK;
}


int rollout_run(const struct ml_ctx *ctx, struct ledger *ledger,
		struct rstate *st, const struct plan *p,
		const struct rollout_req *req)
{
	const struct cfg_env *env = req->env;
	struct rstate_release target = { 0 };
	if (req->target)
		rstate_release_copy(&target, req->target);
	else
		rstate_release_set(&target, req->rel);
	char *run_dir = rollout_run_dir(ctx, env);
	struct engine_real real = { env, run_dir, req->rel };
	struct engine_ops ops;
	engine_real_ops(&real, &ops);
	struct engine_opts eo = { req->timeout_ms, 0, on_progress, NULL };
	struct engine_result res;
	out_progress("%s %s %s -> %s in %s (%s, %zu step%s)", req->action,
		     target.model, p->from_version ? p->from_version : "(nothing)",
		     target.version, env->name, cfg_strategy_name(p->strategy),
		     p->n_steps, p->n_steps == 1 ? "" : "s");
	int rc = engine_run(env, p, &target, st, &ops, &eo, &res);

	const char *outcome = outcome_of(&res, req->action);
	json_t *extra = json_object();
	json_object_set_new(extra, "outcome", json_string(outcome));
	json_object_set_new(extra, "target", json_string(target.version));
	json_object_set_new(extra, "duration_s", json_real(res.duration_s));
	if (p->strategy == CFG_STRAT_RECREATE)
		json_object_set_new(extra, "downtime_ms", json_real(res.downtime_ms));
	if (res.reason[0])
		json_object_set_new(extra, "reason", json_string(res.reason));
	json_object_set_new(extra, "steps", json_loads(res.journal_json, 0, NULL));
	char *extra_txt = json_dumps(extra, JSON_COMPACT);
	char *state_json = rstate_to_json(st, env, extra_txt);
	free(extra_txt);
	json_decref(extra);

	struct ledger_record rec = { 0 };
	rec.env = env->name;
	rec.action = req->action;
	rec.outcome = outcome;
	rec.model = target.model;
	rec.version = target.version;
	rec.strategy = cfg_strategy_name(p->strategy);
	rec.reason = res.reason[0] ? res.reason : req->reason;
	rec.manifest = req->manifest;
	rec.manifest_len = req->manifest_len;
	rec.state_json = state_json;
	rec.duration_s = res.duration_s;
	rec.reject = strcmp(outcome, LEDGER_OUTCOME_REJECTED) == 0;
	rec.unreject = rc == ML_EXIT_OK && req->force;
	rec.tag = rc == ML_EXIT_OK;
	char detail[96] = "";
	if (res.rolled_back)
		snprintf(detail, sizeof(detail), "%s",
			 res.rollback_failed ? "rollback failed"
					     : "back on the last good release");
	rec.detail = detail[0] ? detail : NULL;
	struct ml_err err = ML_ERR_INIT;
	char oid[41] = "";
	if (rc != ML_EXIT_PAUSED && ledger_record(ledger, &rec, oid, &err)) {
		out_error("the ledger could not record this %s: %s", req->action,
			  err.msg);
		if (rc == ML_EXIT_OK)
			rc = ML_EXIT_OPERATIONAL;
	}

	if (out_is_json()) {
		json_t *o = json_object();
		json_object_set_new(o, "env", json_string(env->name));
		json_object_set_new(o, "action", json_string(req->action));
		json_object_set_new(o, "model", json_string(target.model));
		json_object_set_new(o, "from", p->from_version ? json_string(p->from_version) : json_null());
		json_object_set_new(o, "to", json_string(target.version));
		json_object_set_new(o, "strategy", json_string(cfg_strategy_name(p->strategy)));
		json_object_set_new(o, "outcome", json_string(outcome));
		json_object_set_new(o, "exit_code", json_integer(rc));
		json_object_set_new(o, "duration_s", json_real(res.duration_s));
		if (p->strategy == CFG_STRAT_RECREATE)
			json_object_set_new(o, "downtime_ms", json_real(res.downtime_ms));
		json_object_set_new(o, "rolled_back", json_boolean(res.rolled_back));
		json_object_set_new(o, "reason", res.reason[0] ? json_string(res.reason) : json_null());
		json_object_set_new(o, "ledger_commit", oid[0] ? json_string(oid) : json_null());
		json_object_set_new(o, "steps", json_loads(res.journal_json, 0, NULL));
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		out_json_text(t);
		free(t);
		json_decref(o);
	} else if (rc == ML_EXIT_OK) {
		char took[32];
		if (res.duration_s < 1)
			snprintf(took, sizeof(took), "%.0f ms", res.duration_s * 1000);
		else
			snprintf(took, sizeof(took), "%.1f s", res.duration_s);
		out_line("%s: %s %s %s in %s (%s)", env->name, target.model,
			 target.version, outcome, took,
			 cfg_strategy_name(p->strategy));
		if (p->strategy == CFG_STRAT_RECREATE && res.downtime_ms > 0)
			out_line("%s: recreate left the environment without a "
				 "serving node for %.0f ms",
				 env->name, res.downtime_ms);
	} else if (rc == ML_EXIT_PAUSED) {
		out_line("%s: paused: %s ('mlctl continue --env %s' resumes)",
			 env->name, res.reason, env->name);
	} else {
		out_error("%s %s %s in %s: %s", req->action, target.model,
			  target.version, env->name, res.reason);
		if (res.rolled_back && !res.rollback_failed)
			out_line("%s: rolled back; still on %s", env->name,
				 st->release.version ? st->release.version
						     : "nothing");
		else if (res.rollback_failed)
			out_error("%s: the rollback itself failed: a person must "
				  "look (mlctl status --env %s)",
				  env->name, env->name);
	}
	free(state_json);
	engine_result_release(&res);
	rstate_release_free(&target);
	free(run_dir);
	return rc;
}
