/* cmd_status.c — `mlctl status [--env E]`: per node its URL, live/ready,
 * loaded versions, the version it serves and its router weights, beside
 * what the ledger says the environment runs and the rollout in progress
 * (status_rollout.c: the lock's holder, the progress it publishes, a
 * paused canary). Asks every node at once. Exit 3 when a node or the
 * router cannot be reached. */
#include "cli.h"
#include "common.h"
#include "ledger.h"
#include "lock.h"
#include "node.h"
#include "opts.h"
#include "router.h"
#include "rollout.h"
#include "rstate.h"
#include "status_rollout.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const struct cmd_help cmd_status_help = {
	"status", "show what each environment's nodes and router are doing",
	"  mlctl status [--env E]",
	"  --env E    one environment (default: every environment)",
};

struct node_view {
	bool live, ready, reached;
	char loaded[256];
	char serving[64];
	char error[256];
};

/* exec nodes have no index and no version-less readiness: each is asked
 * whether the version the ledger says it serves is ready (its `ready`
 * command with that version); a ready node is shown serving it. */
static void ask_exec_nodes(const struct cfg_env *env, const struct rstate *st,
			   struct node_view *v)
{
	for (size_t i = 0; i < env->n_nodes; i++) {
		if (!v[i].live || !st->release.model || !st->serving[i])
			continue;
		const struct cfg_node *p = &env->nodes[i];
		struct node_result res;
		memset(&res, 0, sizeof(res));
		struct node_call call = NODE_CALL_INIT;
		call.op = NODE_OP_VERSION_READY;
		call.model = st->release.model;
		call.version = st->serving[i];
		node_run_many(env, &p, 1, &call, NULL, &res);
		v[i].ready = res.rc == 0 && res.yes;
		if (v[i].ready) {
			snprintf(v[i].loaded, sizeof(v[i].loaded), "%s", st->serving[i]);
			snprintf(v[i].serving, sizeof(v[i].serving), "%s",
				 st->serving[i]);
		}
		node_results_release(&res, 1);
	}
}

static void ask_nodes(const struct cfg_env *env, const struct rstate *st,
		      struct node_view *v)
{
	const char *model = st->release.model;
	size_t n = env->n_nodes;
	const struct cfg_node **p = xcalloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		p[i] = &env->nodes[i];
	struct node_result *res = xcalloc(n + 1, sizeof(*res));
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_LIVE;
	node_run_many(env, p, n, &call, NULL, res);
	for (size_t i = 0; i < n; i++) {
		v[i].reached = res[i].rc == 0;
		v[i].live = res[i].rc == 0 && res[i].yes;
		if (res[i].rc)
			snprintf(v[i].error, sizeof(v[i].error), "%.250s", res[i].err.msg);
	}
	node_results_release(res, n);
	if (env->node_driver == CFG_NODE_EXEC) {
		ask_exec_nodes(env, st, v);
	} else {
		call.op = NODE_OP_READY;
		node_run_many(env, p, n, &call, NULL, res);
		for (size_t i = 0; i < n; i++)
			v[i].ready = res[i].rc == 0 && res[i].yes;
		node_results_release(res, n);
	}
	if (env->node_driver == CFG_NODE_V2) {
		call.op = NODE_OP_INDEX;
		node_run_many(env, p, n, &call, NULL, res);
		for (size_t i = 0; i < n; i++) {
			size_t len = 0;
			for (size_t k = 0; res[i].rc == 0 && k < res[i].n_models; k++) {
				const struct node_model_state *m = &res[i].models[k];
				if (model && strcmp(m->name, model) != 0)
					continue;
				if (!m->state || strcmp(m->state, "READY") != 0)
					continue;
				int w = snprintf(v[i].loaded + len, sizeof(v[i].loaded) - len,
						 "%s%s", len ? "," : "",
						 m->version ? m->version : "?");
				if (w > 0 && (size_t)w < sizeof(v[i].loaded) - len)
					len += (size_t)w;
				/* index order is load order: the last one serves */
				snprintf(v[i].serving, sizeof(v[i].serving), "%s",
					 m->version ? m->version : "?");
			}
		}
		node_results_release(res, n);
	}
	free(res);
	free(p);
}

static int status_env(const struct ml_ctx *ctx, const struct cfg_env *env,
		      struct ledger *ledger, json_t *arr)
{
	struct rstate st;
	struct ml_err err = ML_ERR_INIT;
	if (rstate_load(&st, env, ledger, &err)) {
		rstate_release(&st);
		return cli_fail(&err);
	}
	struct node_view *v = xcalloc(env->n_nodes + 1, sizeof(*v));
	ask_nodes(env, &st, v);
	int *live = xcalloc(env->n_nodes + 1, sizeof(*live));
	int *preview = xcalloc(env->n_nodes + 1, sizeof(*preview));
	char *run_dir = path_join(ctx->state_dir, "run");
	char *env_run = path_join(run_dir, env->name);
	bool router_ok = true;
	char router_err[256] = "";
	if (env->router_driver != CFG_ROUTER_NONE) {
		int g = router_get_weights(env, env_run, live, preview, &err);
		if (g == 0 && router_running(env, env_run) <= 0)
			g = 1;
		if (g) {
			router_ok = false;
			snprintf(router_err, sizeof(router_err), "%.250s",
				 g > 0 ? "not running (mlctl up)" : err.msg);
		}
	}
	/* a rollout that runs holds the environment's lock; one paused for
	 * a person is the ledger's tip */
	enum lock_state ls = LOCK_FREE;
	struct lock_holder holder;
	bool held = lock_inspect(ctx->state_dir, env->name, &ls, &holder,
				 &err) == 0 &&
		    ls == LOCK_HELD;
	struct rollout_paused *pz = NULL;
	if (rollout_paused_load(ledger, env, &pz, &err))
		out_warn("%s", err.msg);
	/* where a rollout that runs stands, as it published it */
	json_t *published = NULL;
	if (held)
		lock_progress_read(ctx->state_dir, env->name, &holder, &published);
	struct status_rollout ro;
	status_rollout_init(&ro, held ? &holder : NULL, published, pz);
	json_decref(published);
	int rc = router_ok ? ML_EXIT_OK : ML_EXIT_OPERATIONAL;
	for (size_t i = 0; i < env->n_nodes; i++)
		if (!v[i].reached)
			rc = ML_EXIT_OPERATIONAL;
	const char *rel = st.release.model ? st.release.version : NULL;
	if (out_is_json()) {
		json_t *o = json_object(), *nodes = json_array();
		json_object_set_new(o, "env", json_string(env->name));
		json_object_set_new(o, "model", st.release.model ? json_string(st.release.model) : json_null());
		json_object_set_new(o, "version", rel ? json_string(rel) : json_null());
		json_object_set_new(o, "strategy", st.strategy ? json_string(st.strategy) : json_null());
		json_t *r = json_object();
		json_object_set_new(r, "driver", json_string(cfg_router_driver_name(env->router_driver)));
		if (env->listen.set) {
			char *l = xasprintf("%s:%d", env->listen.host, env->listen.port);
			json_object_set_new(r, "listen", json_string(l));
			free(l);
		}
		json_object_set_new(r, "ok", json_boolean(router_ok));
		if (!router_ok)
			json_object_set_new(r, "error", json_string(router_err));
		json_object_set_new(o, "router", r);
		json_object_set_new(o, "rollout_in_progress",
				    json_incref(ro.progress));
		json_object_set_new(o, "canary", json_incref(ro.canary));
		for (size_t i = 0; i < env->n_nodes; i++) {
			json_t *n = json_object(), *loaded = json_array();
			json_object_set_new(n, "name", json_string(env->nodes[i].name));
			json_object_set_new(n, "url", json_string(env->nodes[i].url));
			json_object_set_new(n, "live", json_boolean(v[i].live));
			json_object_set_new(n, "ready", json_boolean(v[i].ready));
			char *save = NULL, *copy = xstrdup(v[i].loaded);
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				json_array_append_new(loaded, json_string(t));
			free(copy);
			json_object_set_new(n, "loaded", loaded);
			json_object_set_new(n, "serving", v[i].serving[0] ? json_string(v[i].serving) : json_null());
			if (env->router_driver != CFG_ROUTER_NONE && router_ok) {
				json_object_set_new(n, "weight", json_integer(live[i]));
				json_object_set_new(n, "preview_weight", json_integer(preview[i]));
			}
			if (v[i].error[0])
				json_object_set_new(n, "error", json_string(v[i].error));
			json_array_append_new(nodes, n);
		}
		json_object_set_new(o, "nodes", nodes);
		json_array_append_new(arr, o);
	} else {
		out_line("%s%s%s: %s%s%s%s%s, router %s%s", out_c(OUT_BOLD), env->name,
			 out_c(OUT_RESET), rel ? st.release.model : "nothing deployed",
			 rel ? " " : "", rel ? rel : "", st.strategy ? " via " : "",
			 st.strategy ? st.strategy : "",
			 cfg_router_driver_name(env->router_driver),
			 env->router_driver == CFG_ROUTER_NONE ? ""
			 : router_ok			       ? " (running)"
							       : " (unreachable)");
		out_line("  %-12s %-26s %-5s %-5s %-9s %-18s %s", "NODE", "URL", "LIVE",
			 "READY", "SERVING", "LOADED", "WEIGHT");
		for (size_t i = 0; i < env->n_nodes; i++) {
			char w[32] = "-";
			if (env->router_driver != CFG_ROUTER_NONE && router_ok)
				snprintf(w, sizeof(w), "%d (preview %d)", live[i], preview[i]);
			out_line("  %-12s %-26s %s%-5s%s %-5s %-9s %-18s %s",
				 env->nodes[i].name, env->nodes[i].url,
				 v[i].live ? out_c(OUT_GREEN) : out_c(OUT_RED),
				 v[i].live ? "yes" : "no", out_c(OUT_RESET),
				 v[i].ready ? "yes" : "no",
				 v[i].serving[0] ? v[i].serving : "-",
				 v[i].loaded[0] ? v[i].loaded : "-", w);
		}
		if (!router_ok)
			out_warn("%s: router %s: %s", env->name,
				 cfg_router_driver_name(env->router_driver), router_err);
		if (ro.canary_line[0])
			out_line("  canary in progress: %s", ro.canary_line);
		if (ro.verdicts[0])
			out_line("  last verdicts: %s", ro.verdicts);
		if (ro.holder_line[0])
			out_line("  rollout in progress: %s", ro.holder_line);
	}
	free(run_dir);
	free(env_run);
	free(live);
	free(preview);
	free(v);
	status_rollout_release(&ro);
	rollout_paused_free(pz);
	rstate_release(&st);
	return rc;
}

int cmd_status(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ 0 },
	};
	if (cli_parse("status", argc, argv, opts, pos, 0) < 0)
		return ML_EXIT_USAGE;
	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct ledger *ledger = NULL;
	json_t *arr = json_array();
	int rc;
	if (env_name)
		rc = cli_load_env_tolerant("status", env_name, &proj, &env);
	else
		rc = cli_load_project_tolerant("status", &proj, NULL);
	if (rc)
		goto out;
	if ((rc = cli_open_ledger(ctx, false, &ledger)))
		goto out;
	for (size_t i = 0; i < proj.n_envs; i++) {
		if (env && proj.envs[i] != env)
			continue;
		int r = status_env(ctx, proj.envs[i], ledger, arr);
		if (r > rc)
			rc = r;
	}
	if (out_is_json()) {
		json_t *root = json_object();
		json_object_set_new(root, "environments", json_incref(arr));
		char *t = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
		out_json_text(t);
		free(t);
		json_decref(root);
	}
out:
	json_decref(arr);
	ledger_free(ledger);
	project_release(&proj);
	return rc;
}
