/* router.h — how traffic is split across an environment's nodes
 * (DESIGN.md "Router driver"), one interface whatever env->router_driver:
 *
 *  - haproxy: `haproxy.cfg` with a `live` frontend on router.listen and a
 *    `preview` frontend on router.preview (when set), backends `live` and
 *    `preview` each listing every node (server name = node name) with
 *    health checks on /v2/health/ready, retries and redispatch. Weights
 *    move through the runtime API on `<run_dir>/haproxy.sock` (`set server
 *    <be>/<node> weight N`, `state ready|drain`) with no reload, raising
 *    weights before lowering others so a backend never has every server at
 *    0, then are checked with `show servers state` and persisted in
 *    haproxy.cfg (not reloaded) so a later start restores them.
 *  - nginx: `nginx.conf` with upstreams `live` and `preview` (weight=N, or
 *    `down` for 0 — nginx rejects weight=0), a server on listen and one on
 *    preview (when set), retries to the next upstream on error, timeout,
 *    502 and 503 (also for POST: inference is safe to retry), keep-alive to
 *    the nodes, every temp path, the pid and the error log under run_dir.
 *    A change renders a candidate, runs `nginx -t` on it, renames it over
 *    nginx.conf, sends SIGHUP and waits for the master to confirm the
 *    reload in error.log; on any failure the previous file is put back and
 *    the previous configuration keeps serving.
 *  - none: every call succeeds and does nothing (traffic goes to the nodes
 *    directly); get_weights answers 1 for every node.
 *
 * Weights: arrays of env->n_nodes ints in env->nodes order, each 0..256
 * (ROUTER_MAX_WEIGHT); 0 = drained, out of rotation. An array with every
 * weight 0 is refused (a backend must keep a server). A NULL array means
 * "1 for every node". Arrays are borrowed for the call.
 *
 * run_dir is the environment's run directory (<state>/run/<env>/), created
 * when missing; relative paths are made absolute against the current
 * directory. It holds the config, `router.pid`, `router.log` (the router's
 * stdout and stderr) and, per driver, haproxy.sock or nginx's error.log,
 * nginx.pid and temp/. The router runs in its own session, found again by
 * its pid file, so any mlctl process can change or stop what another one
 * started.
 *
 * Every function returns 0 on success or -1 with err filled, code
 * ML_EXIT_OPERATIONAL, the message naming the router, the environment and
 * the reason: "router haproxy of prod: set server live/prod-2 weight 5:
 * No such server." Not thread-safe per run_dir: one rollout at a time (the
 * caller holds the environment's lock). */
#ifndef MLCTL_ROUTER_H
#define MLCTL_ROUTER_H

#include "config.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ROUTER_MAX_WEIGHT 256
#define ROUTER_START_TIMEOUT_MS 10000L
#define ROUTER_STOP_TIMEOUT_MS 10000L

/* "haproxy", "nginx", "none". */
const char *router_name(const struct cfg_env *env);

/* The config file's path under run_dir ("<run_dir>/haproxy.cfg",
 * "<run_dir>/nginx.conf"), or NULL for `none`. Caller frees. */
char *router_config_path(const struct cfg_env *env, const char *run_dir);

/* Check a weight array for env (NULL is valid): 0 or -1 with err naming
 * which (`what`: "live", "preview") and why. */
int router_weights_check(const struct cfg_env *env, const char *what,
			 const int *weights, struct ml_err *err);

/* Render the config text for these weights without touching any file;
 * *out is the text (caller frees). For tests and `--dry-run`s. `none`
 * gives "". */
int router_render(const struct cfg_env *env, const char *run_dir,
		  const int *live, const int *preview, char **out,
		  struct ml_err *err);

/* Render and write the config under run_dir atomically (a temp file
 * checked by the router itself — `haproxy -c`, `nginx -t` — then renamed).
 * Does not touch a running router: use set_weights/set_preview for that. */
int router_config_write(const struct cfg_env *env, const char *run_dir,
			const int *live, const int *preview,
			struct ml_err *err);

/* Write the config with these weights and start the router in its own
 * session; returns when it accepts connections on every listener (and,
 * haproxy, on its admin socket), at most ROUTER_START_TIMEOUT_MS. Returns
 * 1 when it was already running (left alone, config untouched), 0 when
 * started (*pid, may be NULL, gets its pid either way); `none`: 1. */
int router_start(const struct cfg_env *env, const char *run_dir,
		 const int *live, const int *preview, pid_t *pid,
		 struct ml_err *err);

/* Stop the router named by <run_dir>/router.pid (SIGTERM, then SIGKILL
 * after ROUTER_STOP_TIMEOUT_MS) and wait for it to exit. 0 when it was
 * stopped, 1 when it was not running; `none`: 1. */
int router_stop(const struct cfg_env *env, const char *run_dir,
		struct ml_err *err);

/* The router's pid when it runs (pid file, process alive, its command
 * line names this run_dir's config), else 0. `none`: 0. */
pid_t router_running(const struct cfg_env *env, const char *run_dir);

/* Move the live (resp. preview) weights of a running router; the other
 * listener's weights are kept. haproxy: runtime API, no reload, verified;
 * before anything changes, refuses when no server that would keep a
 * weight > 0 is up per haproxy's health checks. nginx: rewrite + `nginx
 * -t` + reload + confirm. Fails without changing anything when the router
 * is not running. */
int router_set_weights(const struct cfg_env *env, const char *run_dir,
		       const int *live, struct ml_err *err);
int router_set_preview(const struct cfg_env *env, const char *run_dir,
		       const int *preview, struct ml_err *err);

/* The current weights, into arrays of env->n_nodes (either may be NULL
 * when not wanted): haproxy from `show servers state` when running (a
 * drained or maintenance server counts as 0), else from its config file;
 * nginx from its config file. Returns 0 when filled, 1 when there is no
 * config under run_dir or it does not list every node of env (nothing
 * saved for this node list; outputs untouched), -1 on error. `none`: 1s,
 * returns 0. */
int router_get_weights(const struct cfg_env *env, const char *run_dir,
		       int *live, int *preview, struct ml_err *err);

#endif
