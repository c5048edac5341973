/* cmd_down.c — `mlctl down [ENV...]`: stop what `mlctl up` started, by
 * the pid files under <state>/run/<env>/: the router first (so no request
 * is sent to a node going away), then every node — all signalled at once,
 * then each waited for (SIGKILL after 10 s). A pid file whose process is
 * gone, or is no longer ours, is removed and reported as "not running".
 * An environment whose envs/ file is not valid is stopped by its pid files
 * alone (router: its command line names the run directory; node: an
 * mlserve's --listen), so a broken file never strands running processes. */
#define _DEFAULT_SOURCE
#include "cli.h"
#include "lock.h"
#include "proc.h"
#include "router.h"
#include "updown.h"
#include "util.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOWN_STOP_TIMEOUT_MS 10000L

const struct cmd_help cmd_down_help = {
	"down", "stop the nodes and router that mlctl up started",
	"  mlctl down [ENV...]",
	"  ENV    an environment of envs/ with 'managed: true' (default: every\n"
	"         managed environment)\n"
	"  Processes are found by their pid files in <state>/run/<env>/ and\n"
	"  stopped by pid: SIGTERM, then SIGKILL after 10 s.\n"
	"  An environment whose file in envs/ is not valid is stopped by its pid\n"
	"  files alone (with a warning); the others are not held up by it.\n"
	"  Exit status: 0 when nothing of theirs runs any more, 2 for an unknown\n"
	"  or unmanaged environment, 3 when a process would not stop.",
};

/* Pid files in run_dir that belong to no node of env (nor the router):
 * left alone, but said. */
static void warn_strays(const struct cfg_env *env, const char *run_dir)
{
	DIR *d = opendir(run_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pid") != 0)
			continue;
		char *name = xstrndup(de->d_name, len - 4);
		bool known = strcmp(name, "router") == 0 ||
			     strcmp(name, "nginx") == 0 ||
			     cfg_env_node(env, name) != NULL;
		if (!known && proc_running(run_dir, name, NULL))
			out_warn("down %s: %s/%s names a running process that "
				 "is not a node of %s: left alone",
				 env->name, run_dir, de->d_name, env->file);
		free(name);
	}
	closedir(d);
}

static bool down_env(const struct ml_ctx *ctx, const struct cfg_env *env,
		     json_t *arr)
{
	char *run_dir = updown_run_dir(ctx, env);
	bool has_router = env->router_driver != CFG_ROUTER_NONE;
	size_t n = env->n_nodes + has_router;
	struct updown_proc *procs = xcalloc(n + 1, sizeof(*procs));
	char **errors = xcalloc(n + 1, sizeof(char *));
	char *error = NULL;
	struct ml_err err = ML_ERR_INIT;
	size_t ri = env->n_nodes;

	if (has_router) {
		struct updown_proc *pr = &procs[ri];
		pr->name = "router";
		pr->kind = router_name(env);
		pr->pid = router_running(env, run_dir);
		int rc = router_stop(env, run_dir, &err);
		if (rc < 0) {
			pr->state = "failed";
			errors[ri] = xstrdup(err.msg);
			pr->error = errors[ri];
			error = xstrdup(err.msg);
			out_error("%s", err.msg);
		} else {
			pr->state = rc == 0 ? "stopped" : "not running";
			if (rc == 0)
				out_progress("down %s: router %s stopped (pid %ld)",
					     env->name, pr->kind, (long)pr->pid);
		}
	}
	/* every node gets SIGTERM now; proc_terminate then waits for each */
	char **expect = xcalloc(env->n_nodes + 1, sizeof(char *));
	for (size_t i = 0; i < env->n_nodes; i++) {
		expect[i] = updown_node_expect(&env->nodes[i]);
		procs[i].name = env->nodes[i].name;
		procs[i].kind = "node";
		procs[i].pid = proc_running(run_dir, env->nodes[i].name, expect[i]);
		if (procs[i].pid)
			kill(procs[i].pid, SIGTERM);
	}
	for (size_t i = 0; i < env->n_nodes; i++) {
		bool killed = false;
		int rc = proc_terminate(run_dir, env->nodes[i].name, expect[i],
					DOWN_STOP_TIMEOUT_MS, &killed, &err);
		if (rc < 0) {
			char msg[800];
			snprintf(msg, sizeof(msg), "node %s: %s",
				 env->nodes[i].name, err.msg);
			procs[i].state = "failed";
			errors[i] = xstrdup(msg);
			procs[i].error = errors[i];
			if (!error)
				error = xstrdup(msg);
			out_error("%s", msg);
			continue;
		}
		/* signalled above: gone before proc_terminate looked */
		if (rc == 1 && procs[i].pid)
			rc = 0;
		procs[i].state = rc == 1 ? "not running"
				 : killed ? "killed"
					  : "stopped";
		if (rc == 0)
			out_progress("down %s: %s %s (pid %ld)", env->name,
				     env->nodes[i].name, procs[i].state,
				     (long)procs[i].pid);
	}
	warn_strays(env, run_dir);
	updown_report_env(arr, env, run_dir, procs, n, NULL, error);
	bool ok = error == NULL;
	for (size_t i = 0; i < env->n_nodes; i++)
		free(expect[i]);
	for (size_t i = 0; i < n; i++)
		free(errors[i]);
	free(expect);
	free(errors);
	free(procs);
	free(error);
	free(run_dir);
	return ok;
}

/* Stop the processes of run_dir's pid files: the router's (pass
 * `routers`) or every other (nodes); their results go to procs. */
static bool stop_pid_files(const char *env_name, const char *run_dir,
			   bool routers, json_t *procs)
{
	bool ok = true;
	DIR *d = opendir(run_dir);
	if (!d)
		return true;
	char *router_expect = xasprintf("%s/", run_dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pid") != 0)
			continue;
		char *pname = xstrndup(de->d_name, len - 4);
		bool router = strcmp(pname, "router") == 0;
		if (router != routers) {
			free(pname);
			continue;
		}
		/* the router's command line names its config in run_dir;
		 * a node is an mlserve with --listen */
		const char *expect = router ? router_expect : "--listen ";
		pid_t pid = proc_running(run_dir, pname, expect);
		bool killed = false;
		struct ml_err err = ML_ERR_INIT;
		int rc = proc_terminate(run_dir, pname, expect, DOWN_STOP_TIMEOUT_MS,
					&killed, &err);
		const char *state = rc < 0 ? "failed"
				    : rc == 1 ? "not running"
				    : killed  ? "killed"
					      : "stopped";
		if (rc < 0) {
			out_error("down %s: %s: %s", env_name, pname, err.msg);
			ok = false;
		} else if (rc == 0) {
			out_progress("down %s: %s %s (pid %ld, by its pid file)",
				     env_name, pname, state, (long)pid);
		}
		json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "name", pname,
				      "kind", router ? "router" : "node",
				      "pid", (json_int_t)pid, "state", state);
		if (rc < 0)
			json_object_set_new(o, "error", json_string(err.msg));
		json_array_append_new(procs, o);
		free(pname);
	}
	closedir(d);
	free(router_expect);
	return ok;
}

/* An environment known only by name (its file is not valid): every pid
 * file of its run directory, the router first so that no request goes
 * to a node going away. */
static bool down_orphan(const struct ml_ctx *ctx, const char *name, json_t *arr)
{
	char *rel = xasprintf("run/%s", name);
	char *run_dir = path_join(ctx->state_dir, rel);
	free(rel);
	json_t *procs = json_array();
	bool ok = stop_pid_files(name, run_dir, true, procs);
	ok &= stop_pid_files(name, run_dir, false, procs);
	if (out_is_json())
		json_array_append_new(arr, json_pack("{s:s, s:b, s:o, s:b}", "name",
						     name, "config_valid", 0,
						     "processes", procs, "ok", ok));
	else
		json_decref(procs);
	free(run_dir);
	return ok;
}

int cmd_down(int argc, char **argv, struct ml_ctx *ctx)
{
	struct project p = { 0 };
	struct cfg_env **envs = NULL;
	char **orphans = NULL;
	size_t n = 0;
	int rc = updown_select_tolerant("down", argc, argv, &p, &envs, &n,
					&orphans);
	if (rc) {
		project_release(&p);
		return rc;
	}
	if (n == 0 && !orphans)
		out_progress("down: no managed environments in envs/");
	json_t *arr = json_array();
	bool ok = true, locked = false;
	for (size_t i = 0; i < n; i++) {
		/* not while a rollout runs in that environment */
		struct lock *lk = NULL;
		struct ml_err lerr = ML_ERR_INIT;
		if (lock_acquire(ctx->state_dir, envs[i]->name, "down", &lk, &lerr)) {
			out_error("%s", lerr.msg);
			locked |= lerr.code == ML_EXIT_LOCKED;
			ok = false;
			continue;
		}
		ok &= down_env(ctx, envs[i], arr);
		lock_release(lk);
	}
	for (size_t i = 0; orphans && orphans[i]; i++) {
		struct lock *lk = NULL;
		struct ml_err lerr = ML_ERR_INIT;
		if (lock_acquire(ctx->state_dir, orphans[i], "down", &lk, &lerr)) {
			out_error("%s", lerr.msg);
			locked |= lerr.code == ML_EXIT_LOCKED;
			ok = false;
			continue;
		}
		ok &= down_orphan(ctx, orphans[i], arr);
		lock_release(lk);
	}
	project_paths_free(orphans);
	updown_report_done("down", arr, ok);
	free(envs);
	project_release(&p);
	return ok ? ML_EXIT_OK : locked ? ML_EXIT_LOCKED : ML_EXIT_OPERATIONAL;
}
