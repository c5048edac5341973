/* cmd_promote.c — `mlctl promote RELEASE --to E`: the promotion order
 * (the release deployed and not rejected in the environment E promotes
 * from, its gates passed there), approval (`approval: manual` needs
 * --approve), then the deploy with E's gates run where the strategy
 * allows before traffic — through the blue/green preview, on the canary
 * nodes before the first step — or right after a rolling or recreate
 * deploy; a gate that says no rolls the environment back and rejects the
 * release there. A canary that pauses for a person is continued or
 * aborted with this plan rebuilt (promote_plan.c). */
#include "cli.h"
#include "common.h"
#include "gates/gate.h"
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
#include <unistd.h>

const struct cmd_help cmd_promote_help = {
	"promote", "deploy a release to the next environment, gated",
	"  mlctl promote RELEASE --to E [--approve] [--strategy S] [--timeout D]\n"
	"                [--junit FILE] [--force]",
	"  RELEASE         the release manifest\n"
	"  --to E          the environment to promote into\n"
	"  --approve       approve a promotion into an environment with\n"
	"                  'approval: manual' (recorded with your name)\n"
	"  --strategy S    as for deploy\n"
	"  --timeout D     as for deploy (default 10m)\n"
	"  --junit FILE    JUnit XML of the gates\n"
	"  --force         promote a release rejected in E\n"
	"  Exit status: 0 promoted; 1 a gate or check said no (E is back on its\n"
	"  last good release); 2 bad input; 3 operational failure; 4 locked;\n"
	"  5 promotion order not met or approval needed; 6 paused at a manual\n"
	"  canary step (mlctl continue / abort).",
};

struct gate_seen {
	const char *model, *version;
	int verdict; /* 0 none yet, 1 passed, -1 failed */
};

static int on_entry(const struct ledger_entry *e, void *payload)
{
	struct gate_seen *g = payload;
	if (!e->model || !e->version || strcmp(e->model, g->model) ||
	    strcmp(e->version, g->version) || !e->action || !e->outcome)
		return 0;
	if (strcmp(e->action, LEDGER_ACTION_GATE) == 0) {
		g->verdict = strcmp(e->outcome, LEDGER_OUTCOME_GATES_PASSED) == 0 ? 1 : -1;
		return 1;
	}
	if (strcmp(e->action, "promote") == 0 &&
	    strcmp(e->outcome, LEDGER_OUTCOME_DEPLOYED) == 0) {
		g->verdict = 1;
		return 1;
	}
	return 0;
}

/* The promotion order: deployed in `from`, not rejected there, and its
 * gates (when `from` has any) passed there. ML_EXIT_OK or POLICY. */
static int order_check(struct ledger *ledger, const struct project *proj,
		       const struct cfg_env *env, const struct cfg_release *rel)
{
	if (!env->promotes_from)
		return ML_EXIT_OK;
	const char *from = env->promotes_from;
	struct ml_err err = ML_ERR_INIT;
	struct ledger_entry *dep = NULL;
	if (ledger_deployment(ledger, from, rel->model, rel->version, 0, &dep, &err))
		return cli_fail(&err);
	if (!dep) {
		out_error("promotion order: %s %s was never deployed to %s (%s "
			  "promotes from %s)",
			  rel->model, rel->version, from, env->name, from);
		return ML_EXIT_POLICY;
	}
	ledger_entry_free(dep);
	bool rejected = false;
	char *reason = NULL;
	if (ledger_is_rejected(ledger, from, rel->model, rel->version, &rejected,
			       &reason, &err))
		return cli_fail(&err);
	if (rejected) {
		out_error("promotion order: %s %s is rejected in %s%s%s", rel->model,
			  rel->version, from, reason ? ": " : "", reason ? reason : "");
		free(reason);
		return ML_EXIT_POLICY;
	}
	struct cfg_env *src = project_env(proj, from);
	if (src && src->n_gates) {
		struct gate_seen g = { rel->model, rel->version, 0 };
		if (ledger_history(ledger, from, 0, on_entry, &g, &err) < 0)
			return cli_fail(&err);
		if (g.verdict != 1) {
			out_error("promotion order: %s %s has not passed %s's gates "
				  "(mlctl gate %s --env %s)",
				  rel->model, rel->version, from, rel->file, from);
			return ML_EXIT_POLICY;
		}
	}
	return ML_EXIT_OK;
}

int cmd_promote(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *to = NULL, *strategy = NULL, *timeout = NULL, *junit = NULL;
	const char *pos[1];
	bool approve = false, force = false;
	const struct cli_opt opts[] = {
		{ "--to", NULL, &to, NULL },
		{ "--env", "-e", &to, NULL },
		{ "--strategy", NULL, &strategy, NULL },
		{ "--timeout", NULL, &timeout, NULL },
		{ "--junit", NULL, &junit, NULL },
		{ "--approve", NULL, NULL, &approve },
		{ "--force", "-f", NULL, &force },
		{ 0 },
	};
	int n = cli_parse("promote", argc, argv, opts, pos, 1);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (n != 1)
		return cli_usage_error("promote", "which release? give its manifest");
	if (!to)
		return cli_usage_error("promote", "--to E is required");
	if (cli_check_output_path("promote", "--junit", junit))
		return ML_EXIT_USAGE;
	int type;
	if (cli_strategy_opt("promote", strategy, &type))
		return ML_EXIT_USAGE;
	long long timeout_ms;
	if (cli_timeout_opt("promote", timeout, &timeout_ms))
		return ML_EXIT_USAGE;

	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct cfg_release *rel = NULL;
	struct ledger *ledger = NULL;
	struct lock *lk = NULL;
	struct rstate st = { 0 };
	struct plan p = { 0 };
	struct engine_gates gates = { 0 };
	struct gate_limits lim;
	char *manifest = NULL, *note = NULL, *junit_abs = NULL;
	size_t manifest_len = 0;
	int rc = cli_load_env("promote", to, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_load_manifest("promote", pos[0], &rel, &manifest,
				    &manifest_len)))
		goto out;
	/* the gates' settings are checked before anything happens */
	if ((rc = promote_gates_prepare(env, rel, &lim, &gates)))
		goto out;
	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	if ((rc = order_check(ledger, &proj, env, rel)))
		goto out;
	if (env->approval == CFG_APPROVAL_MANUAL && !approve) {
		out_error("promotion into %s needs approval: rerun with --approve "
			  "(your name goes into the ledger)",
			  env->name);
		rc = ML_EXIT_POLICY;
		goto out;
	}
	bool rejected = false;
	if ((rc = rollout_prepare(ctx, ledger, env, rel, "promote", force, &lk,
				  &rejected)))
		goto out;
	if ((rc = cli_plan_release(env, type, ledger, rel, &st, &p)))
		goto out;
	if (p.n_steps == 0 && env->n_gates == 0) {
		rollout_print_noop(env, "promote", rel->model, rel->version);
		rc = ML_EXIT_OK;
		goto out;
	}
	if (env->n_gates)
		promote_insert_gates(env, &st, &p, &gates);
	if (approve) {
		char *who = user_at_host();
		note = xasprintf("approved by %s", who);
		free(who);
	}
	struct rollout_req req = { 0 };
	req.action = "promote";
	req.env = env;
	req.rel = rel;
	req.manifest = manifest;
	req.manifest_len = manifest_len;
	req.strategy = type;
	req.timeout_ms = timeout_ms;
	req.reason = rejected ? "forced over a rejection" : note;
	req.force = force;
	req.gates = env->n_gates ? &gates : NULL;
	junit_abs = junit ? promote_junit_path(junit) : NULL;
	req.junit = junit_abs;
	rc = rollout_run(ctx, ledger, &st, &p, &req);
	int jrc = promote_write_junit(junit, env, rel->model, rel->version, &gates);
	if (rc == ML_EXIT_OK)
		rc = jrc;
out:
	promote_gates_release(&gates);
	free(junit_abs);
	free(note);
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
