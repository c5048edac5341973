/* common.h — what several commands do the same way: load the project and
 * pick an environment, load a release manifest, open the ledger, print
 * config diagnostics. Each returns an exit status (ML_EXIT_OK on success)
 * after printing its own error. */
#ifndef MLCTL_COMMON_H
#define MLCTL_COMMON_H

#include "cli.h"
#include "config.h"
#include "err.h"
#include "project.h"

struct ledger;
struct plan;
struct rstate;

/* A file a command will write when its work is done (--junit, --report):
 * its directory must exist and be writable now, before any work.
 * ML_EXIT_OK, or a usage error naming the option (printed). */
int cli_check_output_path(const char *cmd, const char *opt, const char *path);
/* The environment's state from the ledger's newest record (`ledger` may
 * be NULL: a fresh state) into *st, and the plan that takes it to `rel`
 * with strategy `type` (-1: the environment's own) into *p. What deploy,
 * promote and plan share. Release st (when st->serving) and p. */
int cli_plan_release(const struct cfg_env *env, int type, struct ledger *ledger,
		     const struct cfg_release *rel, struct rstate *st,
		     struct plan *p);
/* Print every diagnostic as "file:line:col: error: path: msg" on stderr. */
void cli_print_diags(struct ml_diags *d);
/* Load envs/; every environment must be valid. */
int cli_load_project(const char *cmd, struct project *p);
/* Load envs/ for a command that reads or stops things (status, history,
 * wait, down, abort, rollback): environments whose files are not valid
 * (or that a cross-document error names) are left out with a warning, so
 * a typo in one file does not keep a person from the others. The names of
 * the invalid files go to *invalid_files when given (NULL-terminated;
 * free with project_paths_free). */
int cli_load_project_tolerant(const char *cmd, struct project *p,
			      char ***invalid_files);
/* As cli_load_env, tolerant of other environments' invalid files (see
 * cli_load_project_tolerant); `name` itself must be valid. */
int cli_load_env_tolerant(const char *cmd, const char *name, struct project *p,
			  struct cfg_env **env);
/* Load envs/ (all must be valid) and find `name` in it (*env borrowed
 * from p; release p with project_release). */
int cli_load_env(const char *cmd, const char *name, struct project *p,
		 struct cfg_env **env);
/* Load and check a release manifest (artifact digest included). */
int cli_load_release(const char *path, struct cfg_release **rel);
/* The same, plus the manifest's bytes as the ledger records them
 * (*bytes: caller frees). */
int cli_load_manifest(const char *cmd, const char *path,
		      struct cfg_release **rel, char **bytes, size_t *len);
/* Open the ledger under the state dir. With !create and no ledger yet,
 * *out is NULL and the status is ML_EXIT_OK (nothing recorded so far). */
int cli_open_ledger(const struct ml_ctx *ctx, bool create, struct ledger **out);
/* `--strategy S` (NULL: -1, the environment's own) into *type, and
 * `--timeout D` (NULL: the default 10m) into *ms. ML_EXIT_OK, or
 * ML_EXIT_USAGE after saying what was expected. */
#define CLI_ROLLOUT_TIMEOUT_MS 600000LL
int cli_strategy_opt(const char *cmd, const char *s, int *type);
int cli_timeout_opt(const char *cmd, const char *s, long long *ms);

/* Print an error's message (and position) and return its exit code. */
int cli_fail(const struct ml_err *err);

#endif
