/* rollout.c — running a plan for a command: progress lines, the engine on
 * the real drivers, the ledger record and the final result. A canary that
 * pauses is recorded with outcome "paused" and what `continue` and
 * `abort` need to resume it (rollout_paused.c). */
#define _DEFAULT_SOURCE /* SA_RESETHAND */
#include "rollout.h"
#include "rollout_internal.h"
#include "common.h"
#include "analysis.h"
#include "engine.h"
#include "engine_ops.h"
#include "gates/gate.h"
#include "http.h"
#include "ledger.h"
#include "lock.h"
#include "out.h"
#include "util.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
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
	rollout_progress_event(payload, ev);
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

/* DESIGN.md's outcome words: a deploy that a check refused is rejected,
 * and so is one that did not finish within --timeout (issue 5: a canary
 * past its deadline aborts as a failed analysis does, and the release is
 * rejected there); one whose step failed and was undone is rolled back
 * (the ledger counts only a rollback action's "rolled back" as serving);
 * "failed" when the undo itself failed. A rollback stopped by its
 * deadline is undone like a deploy, back on the release it meant to
 * leave (still the ledger's current one): aborted, never "rolled back",
 * which would make its target current, and never rejected, since a
 * rollback tests no release; any other rollback that did not finish
 * failed. Aborts by a person or a signal, and for want of data, are
 * decided by the caller (aborted). */
static const char *outcome_of(const struct engine_result *res, const char *action)
{
	bool rollback = strcmp(action, "rollback") == 0;
	if (res->exit_code == ML_EXIT_OK)
		return rollback ? LEDGER_OUTCOME_ROLLED_BACK : LEDGER_OUTCOME_DEPLOYED;
	if (res->rollback_failed)
		return LEDGER_OUTCOME_FAILED;
	if (res->timed_out)
		return rollback ? LEDGER_OUTCOME_ABORTED : LEDGER_OUTCOME_REJECTED;
	if (rollback)
		return LEDGER_OUTCOME_FAILED;
	if (res->exit_code == ML_EXIT_CHECK_FAILED)
		return LEDGER_OUTCOME_REJECTED;
	return LEDGER_OUTCOME_ROLLED_BACK;
}

/* ^C or SIGTERM (`mlctl abort` of a running rollout) while a plan runs:
 * the engine stops before its next step, an analysis within ~100 ms,
 * and the rollout is rolled back and recorded as aborted. A second
 * signal ends mlctl at once (SA_RESETHAND). */
static volatile sig_atomic_t stop_flag;
static bool stop_armed;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void rollout_arm_stop(void)
{
	if (stop_armed)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	stop_flag = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop_armed = true;
}

/* promote's gate results, one entry per gate that ran: this run's, else
 * those a resumed promote ran before its pause (a plan has one GATES
 * step); NULL when the run is no promote. New reference. */
static json_t *gates_json(const struct rollout_req *req)
{
	const struct engine_gates *g = req->gates;
	if ((!g || g->n_run == 0) && req->resume && !req->abort &&
	    req->resume->gates_json) {
		json_t *prior = json_loads(req->resume->gates_json, 0, NULL);
		if (json_is_array(prior))
			return prior;
		json_decref(prior);
	}
	if (!g)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < g->n_run; i++)
		json_array_append_new(a, gate_result_json(&g->results[i]));
	return a;
}

int rollout_prepare(const struct ml_ctx *ctx, struct ledger *ledger,
		    const struct cfg_env *env, const struct cfg_release *rel,
		    const char *action, bool force, struct lock **lk,
		    bool *rejected)
{
	struct ml_err err = ML_ERR_INIT;
	char what[160], *reason = NULL;
	*lk = NULL;
	*rejected = false;
	snprintf(what, sizeof(what), "%s %s %s", action, rel->model, rel->version);
	/* from the moment the lock names us, `mlctl abort` may signal us:
	 * the signal must find the handler, not kill us unrecorded */
	rollout_arm_stop();
	if (lock_acquire(ctx->state_dir, env->name, what, lk, &err))
		return cli_fail(&err);
	if ((*lk)->replaced_stale) {
		char buf[512];
		lock_holder_describe(&(*lk)->stale, buf, sizeof(buf));
		out_warn("replaced a stale lock on %s (%s)", env->name, buf);
	}
	int rc = rollout_refuse_when_paused(ledger, env);
	if (rc == ML_EXIT_OK &&
	    ledger_is_rejected(ledger, env->name, rel->model, rel->version,
			       rejected, &reason, &err)) {
		rc = cli_fail(&err);
	} else if (rc == ML_EXIT_OK && *rejected && !force) {
		out_error("%s %s is rejected in %s%s%s; %s it anyway with --force",
			  rel->model, rel->version, env->name, reason ? ": " : "",
			  reason ? reason : "", action);
		rc = ML_EXIT_USAGE;
	}
	free(reason);
	if (rc) {
		lock_release(*lk);
		*lk = NULL;
	}
	return rc;
}

int rollout_run(const struct ml_ctx *ctx, struct ledger *ledger,
		struct rstate *st, const struct plan *p,
		const struct rollout_req *req)
{
	const struct cfg_env *env = req->env;
	struct ml_err err = ML_ERR_INIT;
	if (!req->resume && !req->clear_unreadable) {
		int prc = rollout_refuse_when_paused(ledger, env);
		if (prc)
			return prc;
	}
	struct rstate_release target = { 0 };
	if (req->target)
		rstate_release_copy(&target, req->target);
	else
		rstate_release_set(&target, req->rel);
	/* what the record is about: the target, or the release an unreadable
	 * pause record paused */
	bool cleared = req->cleared_model && req->cleared_version;
	const char *model = cleared ? req->cleared_model : target.model;
	const char *version = cleared ? req->cleared_version : target.version;
	struct rstate pre;
	rstate_copy(&pre, st);
	char *run_dir = rollout_run_dir(ctx, env);
	struct engine_real real = { env, run_dir, req->rel, &target, p,
				    req->resume ? req->resume->analysis_json : NULL,
				    NULL };
	real.stop = &stop_flag;
	real.gates = req->gates;
	real.rel_analysis = req->rel_analysis;
	/* what `mlctl status` shows while it runs, beside the lock */
	struct rollout_progress prog;
	rollout_progress_init(&prog, ctx->state_dir, req, p, &target);
	real.on_interval = rollout_progress_interval;
	real.on_interval_payload = &prog;
	/* one HTTP client for the whole rollout: each node's connection is
	 * reused from load to ready to unload */
	struct ml_err herr = ML_ERR_INIT;
	if (http_client_new(&real.http, NULL, &herr))
		real.http = NULL; /* each node call then makes its own */
	struct engine_ops ops;
	engine_real_ops(&real, &ops);
	struct engine_opts eo = { req->timeout_ms, 0, on_progress, &prog,
				  req->resume ? req->resume->resume_at : 0,
				  req->resume && req->abort
					  ? (req->reason ? req->reason : "aborted")
					  : NULL };
	eo.stop = &stop_flag;
	struct engine_result res;
	/* armed since the lock was taken (a signal since then stops the
	 * run before its first step), or from here */
	rollout_arm_stop();
	if (req->resume)
		out_progress("%s %s %s in %s: %s from step %zu of %zu (%s)",
			     req->action, target.model, target.version, env->name,
			     req->abort ? "rolling back" : "resuming",
			     req->resume->resume_at + (req->abort ? 0 : 1),
			     p->n_steps, cfg_strategy_name(p->strategy));
	else if (req->clear_unreadable)
		out_progress("%s %s %s in %s: back to %s %s (%s, %zu step%s)",
			     req->action, model, version, env->name, target.model,
			     target.version, cfg_strategy_name(p->strategy),
			     p->n_steps, p->n_steps == 1 ? "" : "s");
	else
		out_progress("%s %s %s -> %s in %s (%s, %zu step%s)", req->action,
			     target.model,
			     p->from_version ? p->from_version : "(nothing)",
			     target.version, env->name,
			     cfg_strategy_name(p->strategy), p->n_steps,
			     p->n_steps == 1 ? "" : "s");
	double t_start = now_ms();
	int rc = engine_run(env, p, &target, st, &ops, &eo, &res);
	/* the analysis' intervals and the abort's speed, then its traffic
	 * is waited for */
	char *analysis = real.an ? analysis_log_json(real.an)
			 : req->resume && req->resume->analysis_json
				 ? xstrdup(req->resume->analysis_json)
				 : NULL;
	struct rollout_stop sp;
	memset(&sp, 0, sizeof(sp));
	if (real.an) {
		sp.an_failed_at = analysis_failed_at(real.an);
		sp.an_verdict = analysis_abort_is_verdict(real.an);
		sp.an_stopped = analysis_abort_is_stop(real.an);
	}
	/* `mlctl abort` says who asked and why beside the lock before its
	 * signal: taken even when the run ended otherwise, so it is gone */
	if (stop_flag)
		sp.asked = lock_stop_take(ctx->state_dir, env->name, &sp.ask) == 1;
	/* an abort for want of data is no verdict on the release */
	bool no_verdict = sp.an_failed_at > 0 && !sp.an_verdict;
	const char *back_text, *back_key;
	double abort_ms = rollout_back_ms(req, &res, t_start, &sp, &back_text,
					  &back_key);
	bool rollback = strcmp(req->action, "rollback") == 0;
	engine_real_release(&real);
	http_client_close(real.http);
	char stop_why[1600];
	rollout_stop_reason(req, p, &res, &sp, stop_why, sizeof(stop_why));
	const char *why = stop_why[0] ? stop_why : res.reason;

	const char *outcome = outcome_of(&res, req->action);
	if (rc == ML_EXIT_PAUSED)
		outcome = LEDGER_OUTCOME_PAUSED;
	else if ((req->abort || no_verdict || res.stopped) && !res.rollback_failed)
		outcome = LEDGER_OUTCOME_ABORTED;
	if (req->abort && rc == ML_EXIT_CHECK_FAILED)
		rc = ML_EXIT_OK; /* the abort did what was asked */
	char pause_why[600] = "";
	int c_step = 0, c_steps = 0;
	if (rc == ML_EXIT_PAUSED) {
		rollout_canary_position(p, res.paused_at, &c_step, &c_steps);
		if (strncmp(res.reason, "canary paused", 13) == 0)
			snprintf(pause_why, sizeof(pause_why), "%s", res.reason);
		else
			snprintf(pause_why, sizeof(pause_why),
				 "canary paused at %d%% (step %d of %d): "
				 "pause: manual",
				 res.canary_percent, c_step, c_steps);
	}
	json_t *extra = json_object();
	json_object_set_new(extra, "outcome", json_string(outcome));
	json_object_set_new(extra, "target", json_string(target.version));
	json_object_set_new(extra, "duration_s", json_real(res.duration_s));
	if (p->strategy == CFG_STRAT_RECREATE)
		json_object_set_new(extra, "downtime_ms", json_real(res.downtime_ms));
	if (why[0])
		json_object_set_new(extra, "reason", json_string(why));
	json_object_set_new(extra, "steps", json_loads(res.journal_json, 0, NULL));
	json_t *gates = gates_json(req);
	if (gates)
		json_object_set_new(extra, "gates", json_incref(gates));
	if (analysis)
		json_object_set_new(extra, "analysis", json_loads(analysis, 0, NULL));
	if (abort_ms >= 0) {
		json_object_set_new(extra, "abort_to_stable_ms", json_real(abort_ms));
		json_object_set_new(extra, "abort_to_stable_from",
				    json_string(back_key));
	}
	if (req->full_reason)
		json_object_set_new(extra, "full", json_string(req->full_reason));
	if (rc == ML_EXIT_PAUSED)
		json_object_set_new(extra, "rollout",
				    rollout_paused_json(env, req, p, &res, &pre, &target,
						c_step, c_steps));
	char *extra_txt = json_dumps(extra, JSON_COMPACT);
	char *state_json = rstate_to_json(st, env, extra_txt);
	free(extra_txt);
	json_decref(extra);

	struct ledger_record rec = { 0 };
	rec.env = env->name;
	rec.action = req->action;
	rec.outcome = outcome;
	rec.model = model;
	rec.version = version;
	rec.strategy = cfg_strategy_name(p->strategy);
	rec.reason = why[0] ? why : req->reason;
	if (rc == ML_EXIT_PAUSED)
		rec.reason = pause_why;
	else if (rc == ML_EXIT_OK && req->full_reason)
		rec.reason = req->full_reason;
	rec.manifest = req->manifest;
	rec.manifest_len = req->manifest_len;
	rec.state_json = state_json;
	rec.duration_s = res.duration_s;
	/* a failed check or the deadline rejects the release there, even
	 * when the rollback that followed failed too (the outcome then says
	 * "failed") */
	rec.reject = strcmp(outcome, LEDGER_OUTCOME_REJECTED) == 0 ||
		     (res.rollback_failed && (res.check_failed || res.timed_out) &&
		      !no_verdict && !res.stopped && !req->abort && !rollback);
	bool forced = req->force || (req->resume && req->resume->forced);
	bool done = rc == ML_EXIT_OK && !req->abort;
	rec.unreject = done && forced;
	rec.tag = done;
	char detail[96] = "";
	if (res.rolled_back)
		snprintf(detail, sizeof(detail), "%s",
			 res.rollback_failed ? "rollback failed"
					     : "back on the last good release");
	else if (rc == ML_EXIT_PAUSED)
		snprintf(detail, sizeof(detail), "canary at %d%%, step %d of %d",
			 res.canary_percent, c_step, c_steps);
	else if (done && req->full_reason)
		snprintf(detail, sizeof(detail), "remaining canary steps skipped");
	else if (done && req->resume &&
		 strcmp(req->resume->command, "promote") == 0)
		snprintf(detail, sizeof(detail), "continued after the pause");
	rec.detail = detail[0] ? detail : NULL;
	char oid[41] = "";
	if (ledger_record(ledger, &rec, oid, &err)) {
		out_error("the ledger could not record this %s: %s", req->action,
			  err.msg);
		if (rc == ML_EXIT_OK)
			rc = ML_EXIT_OPERATIONAL;
	}

	if (out_is_json()) {
		json_t *o = json_object();
		json_object_set_new(o, "env", json_string(env->name));
		json_object_set_new(o, "action", json_string(req->action));
		json_object_set_new(o, "model", json_string(model));
		json_object_set_new(o, "from", p->from_version ? json_string(p->from_version) : json_null());
		json_object_set_new(o, "to", json_string(version));
		json_object_set_new(o, "strategy", json_string(cfg_strategy_name(p->strategy)));
		json_object_set_new(o, "outcome", json_string(outcome));
		json_object_set_new(o, "exit_code", json_integer(rc));
		json_object_set_new(o, "duration_s", json_real(res.duration_s));
		if (p->strategy == CFG_STRAT_RECREATE)
			json_object_set_new(o, "downtime_ms", json_real(res.downtime_ms));
		json_object_set_new(o, "rolled_back", json_boolean(res.rolled_back));
		json_object_set_new(o, "reason", rec.reason ? json_string(rec.reason) : json_null());
		if (abort_ms >= 0) {
			json_object_set_new(o, "abort_to_stable_ms", json_real(abort_ms));
			json_object_set_new(o, "abort_to_stable_from",
					    json_string(back_key));
		}
		if (rc == ML_EXIT_PAUSED) {
			json_object_set_new(o, "canary_percent", json_integer(res.canary_percent));
			json_object_set_new(o, "resume_at", json_integer((json_int_t)res.paused_at + 1));
		}
		if (analysis)
			json_object_set_new(o, "analysis", json_loads(analysis, 0, NULL));
		json_object_set_new(o, "ledger_commit", oid[0] ? json_string(oid) : json_null());
		json_object_set_new(o, "steps", json_loads(res.journal_json, 0, NULL));
		if (gates)
			json_object_set_new(o, "gates", json_incref(gates));
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
		out_json_text(t);
		free(t);
		json_decref(o);
	} else if (rc == ML_EXIT_OK && req->clear_unreadable) {
		out_line("%s: %s %s aborted (its pause record could not be read); "
			 "back on %s",
			 env->name, model, version,
			 st->release.version ? st->release.version : "nothing");
	} else if (rc == ML_EXIT_OK && req->abort && abort_ms >= 0) {
		out_line("%s: %s %s aborted; back on %s (all traffic on it %.0f "
			 "ms after %s)",
			 env->name, target.model, target.version,
			 st->release.version ? st->release.version : "nothing",
			 abort_ms, back_text);
	} else if (rc == ML_EXIT_OK && req->abort) {
		out_line("%s: %s %s aborted; back on %s", env->name, target.model,
			 target.version,
			 st->release.version ? st->release.version : "nothing");
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
		out_line("%s: %s %s %s", env->name, target.model, target.version,
			 pause_why);
		out_line("%s: 'mlctl continue --env %s' resumes it (--full skips "
			 "the remaining canary steps); 'mlctl abort --env %s' "
			 "rolls it back",
			 env->name, env->name, env->name);
	} else {
		if (strncmp(why, "canary aborted", 14) == 0)
			out_error("%s", why); /* says where and why */
		else
			out_error("%s %s %s in %s: %s", req->action, target.model,
				  target.version, env->name, why);
		if (rollback && !res.rollback_failed)
			out_line("%s: not rolled back to %s%s; still on %s",
				 env->name, target.version,
				 res.rolled_back ? " (its steps were undone)" : "",
				 st->release.version ? st->release.version
						     : "nothing");
		else if (res.rolled_back && !res.rollback_failed && abort_ms >= 0)
			out_line("%s: rolled back; still on %s (all traffic on it "
				 "%.0f ms after %s)",
				 env->name,
				 st->release.version ? st->release.version
						     : "nothing",
				 abort_ms, back_text);
		else if (res.rolled_back && !res.rollback_failed)
			out_line("%s: rolled back; still on %s", env->name,
				 st->release.version ? st->release.version
						     : "nothing");
		else if (res.rollback_failed)
			out_error("%s: the rollback itself failed: a person must "
				  "look (mlctl status --env %s)",
				  env->name, env->name);
	}
	/* a signal once the run is recorded is too late to stop it, and must
	 * not kill a finished run either: the handler stays till exit (a
	 * second signal still ends mlctl at once: SA_RESETHAND) */
	json_decref(gates);
	free(state_json);
	free(analysis);
	engine_result_release(&res);
	rollout_progress_release(&prog);
	rstate_release_free(&target);
	rstate_release(&pre);
	free(run_dir);
	return rc;
}
