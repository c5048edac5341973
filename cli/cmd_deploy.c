/* cmd_deploy.c — `mlctl deploy RELEASE --env E [--strategy S] [--force]
 * [--timeout D]`: run the strategy with its built-in checks (readiness,
 * blue/green preview smoke, canary pauses); on a failed step the
 * environment goes back to its last good release. Ignores promotes_from
 * and approval (that is `promote`). */
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

const struct cmd_help cmd_deploy_help = {
	"deploy", "roll a release out to an environment",
	"  mlctl deploy RELEASE --env E [--strategy S] [--force] [--timeout D]",
	"  RELEASE           the release manifest\n"
	"  --env E           the environment\n"
	"  --strategy S      recreate, rolling, bluegreen or canary (default: the\n"
	"                    environment's; S's defaults unless S is the env's type)\n"
	"  --force           deploy a release rejected in E (and clear the\n"
	"                    rejection when it succeeds)\n"
	"  --timeout D       give up, roll back and exit 1 after D (default 10m)",
};

int cmd_deploy(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *strategy = NULL, *timeout = NULL, *pos[1];
	bool force = false;
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--strategy", NULL, &strategy, NULL },
		{ "--timeout", NULL, &timeout, NULL },
		{ "--force", "-f", NULL, &force },
		{ 0 },
	};
	int n = cli_parse("deploy", argc, argv, opts, pos, 1);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (n != 1)
		return cli_usage_error("deploy", "which release? give its manifest");
	if (!env_name)
		return cli_usage_error("deploy", "--env E is required");
	int type;
	if (cli_strategy_opt("deploy", strategy, &type))
		return ML_EXIT_USAGE;
	long long timeout_ms;
	if (cli_timeout_opt("deploy", timeout, &timeout_ms))
		return ML_EXIT_USAGE;

	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct cfg_release *rel = NULL;
	struct ledger *ledger = NULL;
	struct lock *lk = NULL;
	struct rstate st = { 0 };
	struct plan p = { 0 };
	char *manifest = NULL;
	size_t manifest_len = 0;
	int rc = cli_load_env("deploy", env_name, &proj, &env);
	if (rc)
		goto out;
	/* the manifest and the artifact's digest are checked before anything
	 * else happens */
	if ((rc = cli_load_manifest("deploy", pos[0], &rel, &manifest,
				    &manifest_len)))
		goto out;
	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	bool rejected = false;
	if ((rc = rollout_prepare(ctx, ledger, env, rel, "deploy", force, &lk,
				  &rejected)))
		goto out;
	if ((rc = cli_plan_release(env, type, ledger, rel, &st, &p)))
		goto out;
	if (p.n_steps == 0) {
		rollout_print_noop(env, "deploy", rel->model, rel->version);
		rc = ML_EXIT_OK;
		goto out;
	}
	struct rollout_req req = { "deploy", env, rel, NULL, manifest, manifest_len,
				   type, timeout_ms,
				   rejected ? "forced over a rejection" : NULL, force };
	rc = rollout_run(ctx, ledger, &st, &p, &req);
out:
	free(manifest);
	plan_release(&p);
	if (st.serving)
		rstate_release(&st);
	lock_release(lk);
	ledger_free(ledger);
	cfg_release_free(rel);
	project_release(&proj);
	return rc;
}
