/* cmd_abort.c — `mlctl abort --env E [--reason TEXT]`: end a canary.
 * A paused one: all traffic back on the stable release at once (the
 * canary weights are the first thing undone), the canary nodes unload
 * the new release and return to rotation, and the ledger records
 * "aborted". A running deploy, promote or continue on this host: a stop
 * request beside its lock says who asks and why, it gets SIGTERM, stops
 * (an analysis pause within ~100 ms, otherwise before its next step),
 * rolls itself back and records "aborted" with that; abort waits for it.
 * A person's abort is not a verdict on the release: it is not marked
 * rejected (a failed analysis is). A pause record that cannot be read
 * (which refuses every new rollout) is cleared too: the nodes go back to
 * the ledger's current release. */
#define _DEFAULT_SOURCE /* kill, gethostname */
#include "cli.h"
#include "common.h"
#include "ledger.h"
#include "lock.h"
#include "opts.h"
#include "rollout.h"
#include "rstate.h"
#include "strategy.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct cmd_help cmd_abort_help = {
	"abort", "end a canary and return all traffic to the stable release",
	"  mlctl abort --env E [--reason TEXT]",
	"  --env E           the environment with the paused or running rollout\n"
	"  --reason TEXT     why, recorded in the ledger with who said so",
};

/* Whether a lock's holder runs a rollout that a stop request and SIGTERM
 * roll back (rollout_run): a deploy, a promote or a continue ("deploy eta
 * 2.0.0", "promote eta 2.0.0", "continue"). Not a rollback (it is itself
 * the way back), nor up, down or another abort. */
static bool stoppable(const char *what)
{
	static const char *const cmds[] = { "deploy", "promote", "continue" };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
		size_t n = strlen(cmds[i]);
		if (strncmp(what, cmds[i], n) == 0 && (what[n] == ' ' || !what[n]))
			return true;
	}
	return false;
}

/* Whether a ledger entry is the record of the rollout `h` held the lock
 * for (written, perhaps, just before we looked): its command, model and
 * version are the holder's, and it is no older than the holder's start. */
static bool record_of(const struct ledger_entry *e, const struct lock_holder *h)
{
	if (!strchr(h->what, ' ')) /* "continue": of whichever it resumed */
		return e->when >= h->started;
	char what[256];
	snprintf(what, sizeof(what), "%s %s %s", e->action ? e->action : "",
		 e->model ? e->model : "", e->version ? e->version : "");
	return e->when >= h->started && strcmp(what, h->what) == 0;
}

/* A deploy, promote or continue running on this host holds env's lock:
 * leave it a stop request (who asks and why, for its record), signal it
 * and wait until it has rolled back and let go. Returns the exit status, or -1
 * when no such rollout runs, or when it paused before it saw the signal
 * (the paused rollout is then aborted as any other). */
static int abort_running(const struct ml_ctx *ctx, const struct cfg_env *env,
			 struct ledger *ledger, const char *reason)
{
	enum lock_state ls = LOCK_FREE;
	struct lock_holder h;
	struct ml_err err = ML_ERR_INIT;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	if (lock_inspect(ctx->state_dir, env->name, &ls, &h, &err) ||
	    ls != LOCK_HELD || strcmp(h.host, host) != 0 ||
	    !stoppable(h.what))
		return -1;
	char who[512];
	lock_holder_describe(&h, who, sizeof(who));
	const struct lock_holder to = h;
	/* the newest record now: the stopped rollout must write a newer one */
	char before[41] = "";
	struct ledger_entry *was = NULL;
	if (ledger_current(ledger, env->name, 0, NULL, &was, &err) == 0 && was)
		snprintf(before, sizeof(before), "%s", was->oid);
	ledger_entry_free(was);
	ml_err_release(&err);
	struct lock_stop prior;
	int posted = lock_stop_post(ctx->state_dir, env->name, &to, reason,
				    &prior, &err);
	if (posted < 0)
		out_warn("%s; the rollout's record will not say who stopped it",
			 err.msg);
	if (posted == 1) {
		/* a second signal would end it at once, without its rollback */
		out_progress("abort: %s already asked the running rollout in %s "
			     "to stop%s%s; waiting for it: %s",
			     prior.by, env->name, prior.reason[0] ? ": " : "",
			     prior.reason, who);
	} else if (kill(h.pid, SIGTERM) != 0) {
		out_error("cannot signal the rollout in %s, %s: %s", env->name, who,
			  strerror(errno));
		lock_stop_withdraw(ctx->state_dir, env->name, &to);
		return ML_EXIT_LOCKED;
	} else {
		out_progress("abort: asked the running rollout in %s to stop: %s",
			     env->name, who);
	}
	/* it stops within a step (an analysis within ~100 ms), then rolls
	 * back; a load or wait-ready step may take its time */
	for (int i = 0; i < 1200; i++) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		if (lock_inspect(ctx->state_dir, env->name, &ls, &h, &err) == 0 &&
		    ls != LOCK_HELD)
			break;
	}
	if (ls == LOCK_HELD) {
		out_error("the rollout in %s has not stopped after 120 s: %s",
			  env->name, who);
		return ML_EXIT_LOCKED;
	}
	/* it let go: a request it did not take (it ended first) goes */
	lock_stop_withdraw(ctx->state_dir, env->name, &to);
	struct ledger_entry *tip = NULL;
	if (ledger_current(ledger, env->name, 0, NULL, &tip, &err))
		return cli_fail(&err);
	if (!tip || (strcmp(tip->oid, before) == 0 && !record_of(tip, &to))) {
		/* it let go of the lock without a record: it stopped before
		 * its rollout began (refused, nothing to do) or was killed */
		out_error("the rollout in %s ended without a record (%s): it "
			  "stopped before it began, or was killed; see 'mlctl "
			  "status --env %s'",
			  env->name, who, env->name);
		ledger_entry_free(tip);
		return ML_EXIT_OPERATIONAL;
	}
	if (tip && tip->outcome && strcmp(tip->outcome, LEDGER_OUTCOME_PAUSED) == 0) {
		out_progress("abort: the rollout in %s paused before it stopped; "
			     "aborting the paused rollout",
			     env->name);
		ledger_entry_free(tip);
		return -1;
	}
	int rc = ML_EXIT_OK;
	const char *outcome = tip && tip->outcome ? tip->outcome : "?";
	if (strcmp(outcome, LEDGER_OUTCOME_FAILED) == 0)
		rc = ML_EXIT_OPERATIONAL;
	else if (strcmp(outcome, LEDGER_OUTCOME_DEPLOYED) == 0)
		rc = ML_EXIT_CHECK_FAILED; /* it finished first */
	out_line("%s: %s %s %s: %s%s%s", env->name, tip && tip->action ? tip->action : "?",
		 tip && tip->model ? tip->model : "", tip && tip->version ? tip->version : "",
		 outcome, tip && tip->reason ? ": " : "",
		 tip && tip->reason ? tip->reason : "");
	if (rc == ML_EXIT_CHECK_FAILED)
		out_warn("the rollout finished before it could stop; 'mlctl rollback "
			 "--env %s' goes back",
			 env->name);
	ledger_entry_free(tip);
	return rc;
}

/* A pause record that cannot be read (why: rollout_paused_load's word).
 * The nodes go back to what the ledger says is current, the release of
 * its newest record that left one serving: as a rollback takes them to a
 * release (rolling behind a router, recreate without), from where the
 * pause record says they stand (unknown when even that does not read:
 * every node loads it again), then with that record's weights. The abort
 * record ends the pause. With no release ever served there is nothing to
 * go back to: the nodes are left as they are and only the record is
 * written. */
static int abort_unreadable(const struct ml_ctx *ctx, struct ledger *ledger,
			    const struct cfg_env *env, const struct lock *lk,
			    const char *reason, const struct ml_err *why)
{
	struct ledger_entry *good = NULL, *tip = NULL;
	struct rstate st = { 0 }, then = { 0 };
	struct plan p = { 0 };
	struct ml_err err = ML_ERR_INIT;
	char *msg = NULL, *state_json = NULL;
	int rc = ML_EXIT_OK;
	out_warn("%s", why->msg);
	if (ledger_current(ledger, env->name, LEDGER_LOAD_STATE | LEDGER_LOAD_MANIFEST,
			   &good, &tip, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	rstate_init(&st, env);
	struct ml_err serr = ML_ERR_INIT;
	if (!tip->state_json || rstate_from_json(&st, env, tip->state_json, &serr)) {
		rstate_release(&st);
		rstate_init(&st, env);
		out_warn("%s: where the nodes stand is unknown (%s); each one gets "
			 "the current release again",
			 env->name, serr.msg[0] ? serr.msg : "no state");
	}
	bool known = tip->model && tip->version;
	msg = xasprintf("paused rollout aborted by %s@%s: its record could not be "
			"read%s%s",
			lk->holder.user, lk->holder.host, reason ? ": " : "",
			reason ? reason : "");
	if (!good) {
		state_json = rstate_to_json(&st, env, "{\"outcome\": \"aborted\"}");
		struct ledger_record rec = { 0 };
		rec.env = env->name;
		rec.action = LEDGER_ACTION_ABORT;
		rec.outcome = LEDGER_OUTCOME_ABORTED;
		rec.model = known ? tip->model : NULL;
		rec.version = known ? tip->version : NULL;
		rec.detail = "nothing to go back to";
		rec.reason = msg;
		rec.manifest = tip->manifest;
		rec.manifest_len = tip->manifest_len;
		rec.state_json = state_json;
		if (ledger_record(ledger, &rec, NULL, &err)) {
			rc = cli_fail(&err);
			goto out;
		}
		out_line("%s: the unreadable pause record is cleared; no release "
			 "ever served %s, so the nodes are left as they are",
			 env->name, env->name);
		goto out;
	}
	rstate_init(&then, env);
	if (!good->state_json || rstate_from_json(&then, env, good->state_json, &err) ||
	    !then.release.model) {
		if (!err.msg[0])
			ml_err_set(&err, ML_EXIT_OPERATIONAL,
				   "the ledger entry of %s %s has no release",
				   good->model, good->version);
		rc = cli_fail(&err);
		goto out;
	}
	int type = env->router_driver == CFG_ROUTER_NONE ? CFG_STRAT_RECREATE
							  : CFG_STRAT_ROLLING;
	struct strategy_opts so;
	strategy_opts_for(env, type, &so);
	struct rollout_state view = rstate_view(&st);
	struct cfg_release fake = { 0 };
	fake.version = then.release.version;
	if (strategy_plan(&so, &view, &fake, &p, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	bool live = false;
	for (size_t i = 0; i < env->n_nodes; i++)
		live |= then.live[i] > 0;
	if (env->router_driver != CFG_ROUTER_NONE && live) {
		struct plan_step *s = plan_add(&p, STEP_WEIGHTS, NULL, 0);
		s->weights = xcalloc(env->n_nodes, sizeof(*s->weights));
		for (size_t i = 0; i < env->n_nodes; i++)
			s->weights[i] = then.live[i];
		plan_step_text(s, "weights as the ledger's current record (%s %s) "
				  "has them",
			       then.release.model, then.release.version);
	}
	struct rollout_req req = { LEDGER_ACTION_ABORT, env, NULL, &then.release,
				   tip->manifest, tip->manifest_len, -1, 0, msg,
				   false };
	req.abort = true;
	req.clear_unreadable = true;
	req.cleared_model = known ? tip->model : NULL;
	req.cleared_version = known ? tip->version : NULL;
	rc = rollout_run(ctx, ledger, &st, &p, &req);
out:
	free(state_json);
	free(msg);
	plan_release(&p);
	if (then.serving)
		rstate_release(&then);
	if (st.serving)
		rstate_release(&st);
	ledger_entry_free(good);
	ledger_entry_free(tip);
	return rc;
}

int cmd_abort(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *reason = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--reason", NULL, &reason, NULL },
		{ 0 },
	};
	int n = cli_parse("abort", argc, argv, opts, pos, 0);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (!env_name)
		return cli_usage_error("abort", "--env E is required");

	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct ledger *ledger = NULL;
	struct lock *lk = NULL;
	struct rollout_paused *pz = NULL;
	struct rstate st = { 0 };
	struct plan p = { 0 };
	struct ml_err err = ML_ERR_INIT;
	char *why = NULL;
	int rc = cli_load_env_tolerant("abort", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	/* a rollout may take the lock between our look and our own lock:
	 * then it is one to stop after all */
	for (int attempt = 0;; attempt++) {
		if ((rc = abort_running(ctx, env, ledger, reason)) >= 0)
			goto out;
		rc = ML_EXIT_OK;
		if (lock_acquire(ctx->state_dir, env->name, "abort", &lk, &err) == 0)
			break;
		if (err.code != ML_EXIT_LOCKED || attempt == 2) {
			rc = cli_fail(&err);
			goto out;
		}
		ml_err_release(&err);
	}
	if (rollout_paused_load(ledger, env, &pz, &err)) {
		rc = err.code == ML_EXIT_USAGE
			     ? abort_unreadable(ctx, ledger, env, lk, reason, &err)
			     : cli_fail(&err);
		goto out;
	}
	if (!pz) {
		rc = cli_usage_error("abort", "%s has no paused rollout to abort",
				     env->name);
		goto out;
	}
	if (rollout_resume_plan(env, pz, &p, NULL, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	why = xasprintf("canary aborted at %d%% by %s@%s%s%s", pz->canary_percent,
			lk->holder.user, lk->holder.host, reason ? ": " : "",
			reason ? reason : "");
	rstate_copy(&st, &pz->pre);
	struct rollout_req req = { LEDGER_ACTION_ABORT, env, NULL, &pz->target,
				   pz->manifest, pz->manifest_len, pz->cli_strategy,
				   0, why, false };
	req.resume = pz;
	req.abort = true;
	rc = rollout_run(ctx, ledger, &st, &p, &req);
out:
	free(why);
	plan_release(&p);
	if (st.serving)
		rstate_release(&st);
	rollout_paused_free(pz);
	lock_release(lk);
	ledger_free(ledger);
	project_release(&proj);
	return rc;
}
