/* cmd_up.c — `mlctl up [ENV...]`: start one mlserve per node (own session,
 * pid file and log under <state>/run/<env>/), wait until each is live, load
 * the release the ledger says each node serves, then start the router with
 * the ledger's weights (else the ones saved in its config, else 1 each).
 * What already runs is left alone and reported as running. Stopping is
 * cmd_down.c's; processes are core/proc's and core/router's. */
#include "cli.h"
#include "lock.h"
#include "common.h"
#include "engine_ops.h"
#include "ledger.h"
#include "node.h"
#include "proc.h"
#include "router.h"
#include "rstate.h"
#include "updown.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UP_LIVE_TIMEOUT_MS 15000L
#define UP_READY_TIMEOUT_MS 60000LL

const struct cmd_help cmd_up_help = {
	"up", "start the nodes and router of managed environments",
	"  mlctl up [ENV...]",
	"  ENV    an environment of envs/ with 'managed: true' (default: every\n"
	"         managed environment)\n"
	"  Nodes run mlserve: the one beside mlctl, else $MLCTL_MLSERVE, else\n"
	"  PATH. Pid files, logs and router configs go to <state>/run/<env>/.\n"
	"  Exit status: 0 when everything runs, 2 for an unknown or unmanaged\n"
	"  environment or invalid envs/, 3 when a node or the router did not\n"
	"  start or the current release did not load.",
};

/* The mlserve to run (caller frees), or NULL. */
static char *find_mlserve(void)
{
	char *self = proc_self_dir();
	if (self) {
		char *p = path_join(self, "mlserve");
		free(self);
		if (access(p, X_OK) == 0 && path_is_file(p))
			return p;
		free(p);
	}
	const char *env = getenv("MLCTL_MLSERVE");
	if (env && *env)
		return xstrdup(env);
	const char *path = getenv("PATH");
	char *dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	char *found = NULL, *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = path_join(*d ? d : ".", "mlserve");
		if (access(p, X_OK) == 0 && path_is_file(p))
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}

/* The last line of a log (for "exited: <why>"), into buf. */
static void log_last_line(const char *path, char *buf, size_t sz)
{
	char *text = NULL;
	size_t len = 0;
	buf[0] = '\0';
	if (read_file(path, 1 << 24, &text, &len) != 0)
		return;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	const char *nl = strrchr(text, '\n');
	snprintf(buf, sz, "%s", nl ? nl + 1 : text);
	free(text);
}

struct up_env {
	const struct cfg_env *env;
	char *run_dir;
	struct updown_proc *procs; /* nodes, then the router */
	size_t n_procs;
	bool *started;   /* per node: started by this run */
	char **errors;   /* per process, owned */
	char *error;     /* the environment's first failure, owned */
	char *release;   /* "eta 2.0.0" when one was loaded, owned */
};

static void fail_proc(struct up_env *u, size_t i, const char *msg)
{
	u->procs[i].state = "failed";
	u->errors[i] = xstrdup(msg);
	u->procs[i].error = u->errors[i];
	if (!u->error)
		u->error = xstrdup(msg);
	out_error("%s", msg);
}

/* Start the nodes that are not running. */
static void start_nodes(struct up_env *u, const char *mlserve)
{
	const struct cfg_env *env = u->env;
	for (size_t i = 0; i < env->n_nodes; i++) {
		const struct cfg_node *node = &env->nodes[i];
		struct updown_proc *pr = &u->procs[i];
		char *expect = updown_node_expect(node);
		pr->name = node->name;
		pr->kind = "node";
		pr->pid = proc_running(u->run_dir, node->name, expect);
		if (pr->pid) {
			pr->state = "running";
			out_progress("up %s: %s already running (pid %ld)",
				     env->name, node->name, (long)pr->pid);
			free(expect);
			continue;
		}
		char msg[800];
		if (!mlserve) {
			snprintf(msg, sizeof(msg),
				 "node %s: mlserve not found (beside mlctl, "
				 "$MLCTL_MLSERVE or PATH)",
				 node->name);
			fail_proc(u, i, msg);
			free(expect);
			continue;
		}
		if (proc_port_open(node->host, node->port)) {
			snprintf(msg, sizeof(msg),
				 "node %s: %s:%d is in use by a process mlctl "
				 "did not start (no live pid file in %s)",
				 node->name, node->host, node->port, u->run_dir);
			fail_proc(u, i, msg);
			free(expect);
			continue;
		}
		char *hp = strchr(expect, ' ') + 1;
		char *argv[] = { (char *)mlserve, "--listen", hp, NULL, NULL,
				 NULL };
		if (env->token_env) {
			argv[3] = "--admin-token-env";
			argv[4] = env->token_env;
		}
		struct proc_spec spec = PROC_SPEC_INIT;
		struct ml_err err = ML_ERR_INIT;
		spec.dir = u->run_dir;
		spec.name = node->name;
		spec.argv = argv;
		if (proc_spawn(&spec, &pr->pid, &err) < 0) {
			snprintf(msg, sizeof(msg), "node %s: %s", node->name,
				 err.msg);
			fail_proc(u, i, msg);
		} else {
			pr->state = "started";
			u->started[i] = true;
			out_progress("up %s: %s started (pid %ld, %s)", env->name,
				     node->name, (long)pr->pid, node->url);
		}
		free(expect);
	}
}

/* Wait until every node this run started answers live. */
static void wait_live(struct up_env *u)
{
	const struct cfg_env *env = u->env;
	size_t n = env->n_nodes;
	bool *live = xcalloc(n + 1, sizeof(bool));
	char (*last)[256] = xcalloc(n + 1, sizeof(*last));
	double deadline = now_ms() + UP_LIVE_TIMEOUT_MS;
	for (;;) {
		const struct cfg_node **ask = xcalloc(n + 1, sizeof(*ask));
		size_t *idx = xcalloc(n + 1, sizeof(size_t));
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (!u->started[i] || live[i] ||
			    strcmp(u->procs[i].state, "failed") == 0)
				continue;
			if (!proc_pid_alive(u->procs[i].pid, NULL)) {
				char *name = xasprintf("%s.log", env->nodes[i].name);
				char *log = path_join(u->run_dir, name), tail[300];
				log_last_line(log, tail, sizeof(tail));
				char msg[800];
				snprintf(msg, sizeof(msg),
					 "node %s exited at start: %s (see %s)",
					 env->nodes[i].name,
					 *tail ? tail : "no output", log);
				fail_proc(u, i, msg);
				u->started[i] = false;
				free(log);
				free(name);
				continue;
			}
			ask[k] = &env->nodes[i];
			idx[k++] = i;
		}
		if (k == 0) {
			free(ask);
			free(idx);
			break;
		}
		struct node_result *res = xcalloc(k + 1, sizeof(*res));
		struct node_call call = NODE_CALL_INIT;
		call.op = NODE_OP_LIVE;
		call.timeout_ms = 1000;
		node_run_many(env, ask, k, &call, NULL, res);
		for (size_t j = 0; j < k; j++) {
			if (res[j].rc == 0 && res[j].yes)
				live[idx[j]] = true;
			else
				snprintf(last[idx[j]], sizeof(last[0]), "%s",
					 res[j].err.msg);
		}
		node_results_release(res, k);
		free(res);
		bool late = now_ms() >= deadline;
		for (size_t j = 0; late && j < k; j++) {
			size_t i = idx[j];
			if (live[i])
				continue;
			char msg[800];
			snprintf(msg, sizeof(msg),
				 "node %s not live after %ld ms: %s",
				 env->nodes[i].name, UP_LIVE_TIMEOUT_MS, last[i]);
			fail_proc(u, i, msg);
		}
		free(ask);
		free(idx);
		if (late)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < n; i++)
		if (live[i])
			out_progress("up %s: %s live", env->name,
				     env->nodes[i].name);
	free(live);
	free(last);
}

static bool same_release(const struct rstate_release *a,
			 const struct rstate_release *b)
{
	return a->model && b->model && a->version && b->version &&
	       !strcmp(a->model, b->model) && !strcmp(a->version, b->version);
}

/* Load onto the nodes this run started the release the ledger says each
 * serves (the environment's release, or blue/green's previous one on the
 * idle pool), and wait until it is ready. Nodes that kept running kept
 * their models. `st` is the ledger's state (a fresh one when there is no
 * ledger or no record). */
static int up_load_current(struct up_env *u, struct rstate *st,
			   struct ml_err *err)
{
	const struct cfg_env *env = u->env;
	const struct rstate_release *rels[2] = { &st->release, &st->previous };
	struct engine_real real = { env, u->run_dir, NULL };
	struct engine_ops ops;
	engine_real_ops(&real, &ops);
	for (int r = 0; r < 2; r++) {
		const struct rstate_release *rel = rels[r];
		if (!rel->model || !rel->version)
			continue;
		if (r == 1 && same_release(rel, &st->release))
			continue; /* its nodes were loaded above */
		size_t *nodes = xcalloc(env->n_nodes + 1, sizeof(size_t));
		size_t n = 0;
		char names[256] = "";
		for (size_t i = 0; i < env->n_nodes; i++) {
			if (!u->started[i] || !st->serving[i] ||
			    strcmp(st->serving[i], rel->version) != 0)
				continue;
			nodes[n++] = i;
			size_t len = strlen(names);
			snprintf(names + len, sizeof(names) - len, "%s%s",
				 len ? ", " : "", env->nodes[i].name);
		}
		if (n == 0) {
			free(nodes);
			continue;
		}
		out_progress("up %s: loading %s %s on %s", env->name, rel->model,
			     rel->version, names);
		int rc = ops.load(ops.ctx, nodes, n, rel, NULL, err);
		if (rc == 0)
			rc = ops.wait_ready(ops.ctx, nodes, n, rel->model,
					    rel->version, UP_READY_TIMEOUT_MS,
					    err);
		free(nodes);
		if (rc != 0)
			return -1;
		if (r == 0) {
			free(u->release);
			u->release = xasprintf("%s %s", rel->model, rel->version);
		}
	}
	return 0;
}

/* The ledger's state for env: opened read-only when it exists. */
static int ledger_state(const struct ml_ctx *ctx, const struct cfg_env *env,
			struct rstate *st, bool *recorded, struct ml_err *err)
{
	struct ledger *l = NULL;
	char *path = path_join(ctx->state_dir, "ledger");
	bool exists = path_is_dir(path);
	free(path);
	*recorded = false;
	if (exists && ledger_open(ctx->state_dir, &l, err) < 0) {
		rstate_init(st, env);
		return -1;
	}
	int rc = rstate_load(st, env, l, err);
	ledger_free(l);
	*recorded = rc == 0 && st->release.model != NULL;
	return rc;
}

static void start_router(struct up_env *u, const struct rstate *st,
			 bool recorded)
{
	const struct cfg_env *env = u->env;
	size_t ri = env->n_nodes;
	struct updown_proc *pr = &u->procs[ri];
	struct ml_err err = ML_ERR_INIT;
	pr->name = "router";
	pr->kind = router_name(env);
	pr->state = "running";
	int *live = xcalloc(env->n_nodes + 1, sizeof(int));
	int *preview = xcalloc(env->n_nodes + 1, sizeof(int));
	const char *from = "equal weights";
	/* the ledger's weights, else the router's saved ones, else 1 each */
	if (recorded && router_weights_check(env, "live", st->live, &err) == 0 &&
	    router_weights_check(env, "preview", st->preview, &err) == 0) {
		memcpy(live, st->live, env->n_nodes * sizeof(int));
		memcpy(preview, st->preview, env->n_nodes * sizeof(int));
		from = "the ledger's weights";
	} else if (router_get_weights(env, u->run_dir, live, preview, &err) == 0) {
		from = "the saved weights";
	} else {
		for (size_t i = 0; i < env->n_nodes; i++)
			live[i] = preview[i] = 1;
	}
	int rc = router_start(env, u->run_dir, live, preview, &pr->pid, &err);
	if (rc < 0) {
		fail_proc(u, ri, err.msg);
	} else if (rc == 1) {
		out_progress("up %s: router %s already running (pid %ld)",
			     env->name, pr->kind, (long)pr->pid);
	} else {
		pr->state = "started";
		out_progress("up %s: router %s started (pid %ld, %s:%d) with %s",
			     env->name, pr->kind, (long)pr->pid,
			     env->listen.host, env->listen.port, from);
	}
	free(live);
	free(preview);
}

static bool up_env(const struct ml_ctx *ctx, const struct cfg_env *env,
		   const char *mlserve, json_t *arr)
{
	struct up_env u = { 0 };
	struct ml_err err = ML_ERR_INIT;
	bool has_router = env->router_driver != CFG_ROUTER_NONE;
	u.env = env;
	u.run_dir = updown_run_dir(ctx, env);
	u.n_procs = env->n_nodes + has_router;
	u.procs = xcalloc(u.n_procs + 1, sizeof(*u.procs));
	u.errors = xcalloc(u.n_procs + 1, sizeof(char *));
	u.started = xcalloc(env->n_nodes + 1, sizeof(bool));
	for (size_t i = 0; i < u.n_procs; i++)
		u.procs[i].state = "not running";
	if (proc_mkdir_p(u.run_dir, &err) < 0) {
		u.error = xstrdup(err.msg);
		out_error("%s", err.msg);
		goto report;
	}
	start_nodes(&u, mlserve);
	wait_live(&u);
	if (u.error) {
		if (has_router) {
			u.procs[env->n_nodes].name = "router";
			u.procs[env->n_nodes].kind = router_name(env);
		}
		goto report;
	}
	struct rstate st;
	bool recorded = false;
	if (ledger_state(ctx, env, &st, &recorded, &err) < 0 ||
	    up_load_current(&u, &st, &err) < 0) {
		char msg[800];
		snprintf(msg, sizeof(msg), "%s: %s", env->name, err.msg);
		u.error = xstrdup(msg);
		out_error("%s", msg);
	} else if (!u.release && recorded && st.release.model) {
		u.release = xasprintf("%s %s", st.release.model,
				      st.release.version);
	}
	if (has_router && !u.error)
		start_router(&u, &st, recorded);
	else if (has_router) {
		u.procs[env->n_nodes].name = "router";
		u.procs[env->n_nodes].kind = router_name(env);
	}
	rstate_release(&st);
report:
	updown_report_env(arr, env, u.run_dir, u.procs, u.n_procs, u.release,
			  u.error);
	bool ok = u.error == NULL;
	for (size_t i = 0; i < u.n_procs; i++)
		free(u.errors[i]);
	free(u.errors);
	free(u.procs);
	free(u.started);
	free(u.error);
	free(u.release);
	free(u.run_dir);
	return ok;
}

int cmd_up(int argc, char **argv, struct ml_ctx *ctx)
{
	struct project p = { 0 };
	struct cfg_env **envs = NULL;
	size_t n = 0;
	int rc = updown_select("up", argc, argv, &p, &envs, &n);
	if (rc) {
		project_release(&p);
		return rc;
	}
	if (n == 0)
		out_progress("up: no managed environments in envs/");
	char *mlserve = find_mlserve();
	json_t *arr = json_array();
	bool ok = true, locked = false;
	for (size_t i = 0; i < n; i++) {
		/* not while a rollout runs in that environment */
		struct lock *lk = NULL;
		struct ml_err lerr = ML_ERR_INIT;
		if (lock_acquire(ctx->state_dir, envs[i]->name, "up", &lk, &lerr)) {
			out_error("%s", lerr.msg);
			locked |= lerr.code == ML_EXIT_LOCKED;
			ok = false;
			continue;
		}
		ok &= up_env(ctx, envs[i], mlserve, arr);
		lock_release(lk);
	}
	updown_report_done("up", arr, ok);
	free(mlserve);
	free(envs);
	project_release(&p);
	return ok ? ML_EXIT_OK : locked ? ML_EXIT_LOCKED : ML_EXIT_OPERATIONAL;
}
