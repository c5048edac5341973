/* updown.h — what `mlctl up` and `mlctl down` share: which environments
 * they act on, where an environment's processes keep their pid files and
 * logs, how a node's process is recognised, and the result document both
 * print (one line per process, or one JSON document). */
#ifndef MLCTL_UPDOWN_H
#define MLCTL_UPDOWN_H

#include "cli.h"
#include "config.h"
#include "project.h"

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/* The environments named in argv (after the command name), or every
 * `managed: true` one when none is named. Loads the project into *p
 * (release with project_release) and fills *envs (borrowed from p; caller
 * frees the array) and *n. A named environment that does not exist or is
 * not managed is a usage error. Returns an exit status (printed). */
int updown_select(const char *cmd, int argc, char **argv, struct project *p,
		  struct cfg_env ***envs, size_t *n);

/* As updown_select, for `down`: environments whose envs/ files are not
 * valid (see cli_load_project_tolerant) do not stop the others; their
 * names — the ones named in argv, or all when none is named — go to
 * *orphans (NULL-terminated or NULL; free with project_paths_free), to be
 * stopped by their pid files alone. */
int updown_select_tolerant(const char *cmd, int argc, char **argv,
			   struct project *p, struct cfg_env ***envs,
			   size_t *n, char ***orphans);

/* <state>/run/<env> (caller frees). */
char *updown_run_dir(const struct ml_ctx *ctx, const struct cfg_env *env);

/* What a node's mlserve has in its command line: "--listen host:port"
 * (caller frees). */
char *updown_node_expect(const struct cfg_node *node);

/* One process of the result. */
struct updown_proc {
	const char *name;   /* node name or "router" */
	const char *kind;   /* "node", or the router driver */
	pid_t pid;          /* 0 when none */
	const char *state;  /* "started", "running", "stopped", "killed",
			       "not running", "failed" */
	const char *error;  /* why it failed, or NULL */
};

/* The result of one environment: text lines on stdout now, or a JSON
 * object appended to `arr` (with --output json). */
void updown_report_env(json_t *arr, const struct cfg_env *env,
		       const char *run_dir, const struct updown_proc *procs,
		       size_t n, const char *release, const char *error);
/* Print {"command": cmd, "environments": arr, "ok": ok} (JSON mode); takes
 * arr. */
void updown_report_done(const char *cmd, json_t *arr, bool ok);

#endif
