/* cmd_rollback.c — `mlctl rollback --env E [--to VERSION]`: back to the
 * previous good release (or VERSION). Blue/green's fast path is one router
 * switch to the pool that still serves it; otherwise the release rolls
 * back like a deploy of it (rolling behind a router, recreate without).
 * A manual rollback rejects nothing. */
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

const struct cmd_help cmd_rollback_help = {
	"rollback", "go back to the previous good release",
	"  mlctl rollback --env E [--to VERSION] [--timeout D]",
	"  --env E         the environment\n"
	"  --to VERSION    the version to go back to (default: the release that\n"
	"                  served before the current one and is not rejected)\n"
	"  --timeout D     give up after D (default 10m)",
};

/* Blue/green fast path: nodes out of rotation that still serve version. */
static bool fast_path(const struct cfg_env *env, const struct rstate *st,
		      const char *version, struct plan *p)
{
	if (env->router_driver == CFG_ROUTER_NONE)
		return false;
	size_t *pool = xcalloc(env->n_nodes + 1, sizeof(*pool));
	size_t k = 0;
	bool live_has = false;
	for (size_t i = 0; i < env->n_nodes; i++) {
		bool serves = st->serving[i] && strcmp(st->serving[i], version) == 0;
		if (serves && st->live[i] == 0)
			pool[k++] = i;
		live_has |= serves && st->live[i] > 0;
	}
	if (!k || live_has) {
		free(pool);
		return false;
	}
	struct plan_step *s = plan_add(p, STEP_SWITCH, pool, k);
	s->weights = xcalloc(env->n_nodes, sizeof(*s->weights));
	for (size_t i = 0; i < k; i++)
		s->weights[pool[i]] = 1;
	char *names = plan_node_list(env, pool, k);
	plan_step_text(s, "switch live traffic back to %s (serving %s)", names,
		       version);
	free(names);
	p->strategy = CFG_STRAT_BLUEGREEN;
	p->target_nodes = pool;
	p->n_target_nodes = k;
	return true;
}

int cmd_rollback(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *to = NULL, *timeout = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--to", NULL, &to, NULL },
		{ "--timeout", NULL, &timeout, NULL },
		{ 0 },
	};
	int n = cli_parse("rollback", argc, argv, opts, pos, 0);
	if (n < 0)
		return ML_EXIT_USAGE;
	if (!env_name)
		return cli_usage_error("rollback", "--env E is required");
	long long timeout_ms;
	if (cli_timeout_opt("rollback", timeout, &timeout_ms))
		return ML_EXIT_USAGE;
	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct ledger *ledger = NULL;
	struct lock *lk = NULL;
	struct rstate st = { 0 }, then = { 0 };
	struct ledger_entry *target = NULL;
	struct cfg_release *rel = NULL;
	struct plan p = { 0 };
	struct ml_err err = ML_ERR_INIT;
	char *manifest = NULL;
	size_t manifest_len = 0;
	int rc = cli_load_env_tolerant("rollback", env_name, &proj, &env);
	if (rc)
		goto out;
	if ((rc = cli_open_ledger(ctx, true, &ledger)))
		goto out;
	if (lock_acquire(ctx->state_dir, env->name, "rollback", &lk, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if ((rc = rollout_refuse_when_paused(ledger, env)))
		goto out;
	if (rstate_load(&st, env, ledger, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (!st.release.model) {
		rc = cli_usage_error("rollback", "nothing was ever deployed to %s",
				     env->name);
		goto out;
	}
	if (to) {
		if (ledger_deployment(ledger, env->name, st.release.model, to,
				      LEDGER_LOAD_STATE, &target, &err)) {
			rc = cli_fail(&err);
			goto out;
		}
		if (!target) {
			rc = cli_usage_error("rollback", "%s %s was never deployed to %s",
					     st.release.model, to, env->name);
			goto out;
		}
	} else {
		if (ledger_previous_good(ledger, env->name, st.release.model, NULL,
					 LEDGER_LOAD_STATE, &target, &err)) {
			rc = cli_fail(&err);
			goto out;
		}
		if (!target) {
			rc = cli_usage_error("rollback", "%s has no earlier good release "
							 "of %s to go back to",
					     env->name, st.release.model);
			goto out;
		}
	}
	/* the target's recorded release (artifact, digest, contract) */
	rstate_init(&then, env);
	if (!target->state_json ||
	    rstate_from_json(&then, env, target->state_json, &err) ||
	    !then.release.model) {
		if (!err.msg[0])
			ml_err_set(&err, ML_EXIT_OPERATIONAL,
				   "the ledger entry of %s %s has no release",
				   target->model, target->version);
		rc = cli_fail(&err);
		goto out;
	}
	if (strcmp(then.release.version, st.release.version) == 0) {
		rollout_print_noop(env, "rollback", then.release.model,
				   then.release.version);
		rc = ML_EXIT_OK;
		goto out;
	}
	if (ledger_manifest_of(ledger, env->name, then.release.model,
			       then.release.version, &manifest, &manifest_len, &err))
		out_warn("%s: the manifest of %s %s is not in the ledger: %s",
			 env->name, then.release.model, then.release.version, err.msg);
	/* with the manifest still at hand (and unchanged), smoke cases can
	 * run; the nodes load the recorded artifact either way */
	if (then.release.manifest_path && path_is_file(then.release.manifest_path)) {
		struct ml_diags d = ML_DIAGS_INIT;
		if (cfg_release_load(then.release.manifest_path, &rel, &d) == 0 &&
		    (strcmp(rel->version, then.release.version) != 0 ||
		     strcmp(rel->sha256, then.release.sha256) != 0)) {
			cfg_release_free(rel);
			rel = NULL;
		}
		ml_diags_release(&d);
	}
	if (!fast_path(env, &st, then.release.version, &p)) {
		struct strategy_opts so;
		int type = env->router_driver == CFG_ROUTER_NONE ? CFG_STRAT_RECREATE
								  : CFG_STRAT_ROLLING;
		if (env->strategy.set && (env->strategy.type == CFG_STRAT_RECREATE ||
					  env->strategy.type == CFG_STRAT_BLUEGREEN))
			type = (int)env->strategy.type;
		strategy_opts_for(env, type, &so);
		struct rollout_state view = rstate_view(&st);
		struct cfg_release fake = { 0 };
		fake.version = then.release.version;
		if (strategy_plan(&so, &view, &fake, &p, &err)) {
			rc = cli_fail(&err);
			goto out;
		}
	}
	p.from_version = p.from_version ? p.from_version : xstrdup(st.release.version);
	free(p.to_version);
	p.to_version = xstrdup(then.release.version);
	struct rollout_req req = { "rollback", env, rel, &then.release, manifest,
				   manifest_len, -1, timeout_ms, NULL, false };
	rc = rollout_run(ctx, ledger, &st, &p, &req);
out:
	free(manifest);
	plan_release(&p);
	cfg_release_free(rel);
	ledger_entry_free(target);
	if (then.serving)
		rstate_release(&then);
	if (st.serving)
		rstate_release(&st);
	lock_release(lk);
	ledger_free(ledger);
	project_release(&proj);
	return rc;
}
