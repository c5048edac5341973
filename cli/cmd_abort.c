/* cmd_abort.c — `mlctl abort --env E [--reason TEXT]`: end a paused
 * canary: all traffic back on the stable release at once (the canary
 * weights are the first thing undone), the canary nodes unload the new
 * release and return to rotation, and the ledger records "aborted". A
 * person's abort is not a verdict on the release: it is not marked
 * rejected (a failed analysis is). A rollout that is running, not
 * paused, holds the environment's lock: abort then exits 4 naming it. */
#include "cli.h"
#include "common.h"
#include "ledger.h"
#include "lock.h"
#include "opts.h"
#include "rollout.h"
#include "rstate.h"
#include "strategy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const struct cmd_help cmd_abort_help = {
	"abort", "end a paused canary and return to the stable release",
	"  mlctl abort --env E [--reason TEXT]",
	"  --env E           the environment with the paused rollout\n"
	"  --reason TEXT     why, recorded in the ledger with who said so",
};

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
	int rc = cli_load_env("abort", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	if (lock_acquire(ctx->state_dir, env->name, "abort", &lk, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (rollout_paused_load(ledger, env, &pz, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!pz) {
		rc = cli_usage_error("abort", "%s has no paused rollout to abort",
				     env->name);
		goto out;
	}
	if (rollout_resume_plan(env, pz, &p, &err)) {
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
