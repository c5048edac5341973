/* cmd_continue.c — `mlctl continue --env E [--full --reason TEXT]
 * [--timeout D]`: resume a canary paused for a person (a `pause: manual`
 * step, or analysis with `no_data: pause`) at the step after the pause.
 * `--full` skips the remaining canary steps and rolls the release onto
 * every node at once; the reason and who gave it go to the ledger. The
 * plan is rebuilt from the state recorded before the rollout began by the
 * command that began it, so it is the plan that paused (rollout.h); a
 * promote's keeps its gates step, and its records stay a promote's. The
 * canary is judged by the release's analysis block as recorded with the
 * pause. */
#include "cli.h"
#include "common.h"
#include "ledger.h"
#include "lock.h"
#include "opts.h"
#include "promote_plan.h"
#include "rollout.h"
#include "rstate.h"
#include "strategy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const struct cmd_help cmd_continue_help = {
	"continue", "resume a paused canary",
	"  mlctl continue --env E [--full --reason TEXT] [--timeout D]",
	"  --env E           the environment with the paused rollout\n"
	"  --full            skip the remaining canary steps: roll the release\n"
	"                    onto every node now (needs --reason)\n"
	"  --reason TEXT     why, recorded in the ledger with who said so\n"
	"  --timeout D       give up, roll back and exit 1 after D (default 10m)",
};

/* Whether a step belongs to the canary phase: its weights, analyses and
 * pauses (the rolling phase and the final equal weights come after). */
static bool canary_step(const struct plan_step *s)
{
	return s->kind == STEP_ANALYSE || s->kind == STEP_PAUSE ||
	       (s->kind == STEP_WEIGHTS && s->canary_percent > 0);
}

/* --full: drop the canary steps from `from` on; returns how many. */
static size_t drop_canary_steps(struct plan *p, size_t from)
{
	size_t w = from, dropped = 0;
	for (size_t i = from; i < p->n_steps; i++) {
		struct plan_step *s = &p->steps[i];
		if (canary_step(s)) {
			free(s->nodes);
			free(s->weights);
			free(s->version);
			free(s->text);
			dropped++;
			continue;
		}
		p->steps[w++] = *s;
	}
	p->n_steps = w;
	return dropped;
}

/* The analysis block of the manifest recorded with the pause. It was
 * valid when deployed; a record that no longer reads is the ledger's
 * fault, and going on without the release's limits would loosen them. */
static int recorded_analysis(const struct rollout_paused *pz,
			     struct cfg_analysis *out, bool *has)
{
	struct ml_diags d = ML_DIAGS_INIT;
	const char *name = pz->target.manifest_path ? pz->target.manifest_path
						    : "manifest";
	*has = false;
	if (cfg_release_analysis_from_buffer(name, pz->manifest,
					     pz->manifest_len, out, &d)) {
		cli_print_diags(&d);
		ml_diags_release(&d);
		out_error("the manifest of %s %s recorded with the pause cannot be "
			  "read for its analysis block",
			  pz->target.model, pz->target.version);
		return ML_EXIT_OPERATIONAL;
	}
	ml_diags_release(&d);
	*has = true;
	return ML_EXIT_OK;
}

int cmd_continue(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *reason = NULL, *timeout = NULL, *pos[1];
	bool full = false;
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--full", NULL, NULL, &full },
		{ "--reason", NULL, &reason, NULL },
		{ "--timeout", NULL, &timeout, NULL },
		{ 0 },
	};
	int n = cli_parse("continue", argc, argv, opts, pos, 0);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (!env_name)
		return cli_usage_error("continue", "--env E is required");
	if (full && (!reason || !*reason))
		return cli_usage_error("continue", "--full skips the remaining "
						   "canary steps: say why with "
						   "--reason TEXT");
	long long timeout_ms;
	if (cli_timeout_opt("continue", timeout, &timeout_ms))
		return ML_EXIT_USAGE;

	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct ledger *ledger = NULL;
	struct lock *lk = NULL;
	struct rollout_paused *pz = NULL;
	struct cfg_release *rel = NULL;
	struct rstate st = { 0 };
	struct plan p = { 0 };
	struct ml_err err = ML_ERR_INIT;
	struct engine_gates gates = { 0 };
	struct gate_limits lim;
	char *full_reason = NULL, *why = NULL;
	struct cfg_analysis recorded;
	bool has_recorded = false;
	int rc = cli_load_env("continue", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	rollout_arm_stop(); /* before the lock names us: see rollout.h */
	if (lock_acquire(ctx->state_dir, env->name, "continue", &lk, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (rollout_paused_load(ledger, env, &pz, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!pz) {
		rc = cli_usage_error("continue", "%s has no paused rollout to "
						 "continue",
				     env->name);
		goto out;
	}
	/* the manifest as deployed, for the analysis' traffic and smoke */
	if (pz->target.manifest_path && path_is_file(pz->target.manifest_path)) {
		struct ml_diags d = ML_DIAGS_INIT;
		if (cfg_release_load(pz->target.manifest_path, &rel, &d) == 0 &&
		    (strcmp(rel->version, pz->target.version) != 0 ||
		     strcmp(rel->sha256, pz->target.sha256) != 0)) {
			cfg_release_free(rel);
			rel = NULL;
		}
		ml_diags_release(&d);
	}
	if (!rel)
		out_warn("the manifest of %s %s is not at hand as deployed (%s); "
			 "analysis runs without traffic of its own",
			 pz->target.model, pz->target.version,
			 pz->target.manifest_path ? pz->target.manifest_path : "?");
	/* the limits: the release's analysis block as recorded with the
	 * pause, whatever the file says now, so the rollout is judged to
	 * the end as it began */
	if (pz->manifest &&
	    (rc = recorded_analysis(pz, &recorded, &has_recorded)))
		goto out;
	bool promote = strcmp(pz->command, "promote") == 0;
	if (rollout_resume_plan(env, pz, &p, promote ? &gates : NULL, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	/* a promote's gates still ahead run as promote runs them */
	bool gates_ahead = promote && promote_gates_ahead(&p, pz->resume_at);
	if (gates_ahead && !rel) {
		rc = cli_usage_error("continue", "%s's gates are still to run on "
						 "%s %s and need its manifest as "
						 "promoted (%s); restore it to "
						 "continue, or abort",
				     env->name, pz->target.model,
				     pz->target.version,
				     pz->target.manifest_path
					     ? pz->target.manifest_path
					     : "?");
		goto out;
	}
	if (gates_ahead && (rc = promote_gates_prepare(env, rel, &lim, &gates)))
		goto out;
	if (full) {
		size_t k = drop_canary_steps(&p, pz->resume_at);
		full_reason = xasprintf("continued with --full by %s@%s at %d%% "
					"(%zu canary step%s skipped): %s",
					lk->holder.user, lk->holder.host,
					pz->canary_percent, k, k == 1 ? "" : "s",
					reason);
	}
	rstate_copy(&st, &pz->pre);
	/* a promote's records stay a promote's: its action, its reason
	 * (the approval) and its gates */
	if (promote && pz->note)
		why = reason ? xasprintf("%s; %s", pz->note, reason)
			     : xstrdup(pz->note);
	struct rollout_req req = { promote ? "promote" : LEDGER_ACTION_CONTINUE,
				   env, rel, &pz->target, pz->manifest,
				   pz->manifest_len, pz->cli_strategy, timeout_ms,
				   why ? why : reason, false };
	req.rel_analysis = has_recorded ? &recorded : NULL;
	req.resume = pz;
	req.full_reason = full_reason;
	req.gates = gates_ahead ? &gates : NULL;
	rc = rollout_run(ctx, ledger, &st, &p, &req);
	int jrc = promote_write_junit(pz->junit, env, pz->target.model,
				      pz->target.version, &gates);
	if (rc == ML_EXIT_OK)
		rc = jrc;
out:
	promote_gates_release(&gates);
	free(why);
	free(full_reason);
	plan_release(&p);
	if (st.serving)
		rstate_release(&st);
	cfg_release_free(rel);
	rollout_paused_free(pz);
	lock_release(lk);
	ledger_free(ledger);
	project_release(&proj);
	return rc;
}
