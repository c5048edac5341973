/* common.c — loading the project, releases and the ledger for commands. */
#include "common.h"
#include "ledger.h"
#include "out.h"
#include "rstate.h"
#include "strategy.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_check_output_path(const char *cmd, const char *opt, const char *path)
{
	if (!path)
		return ML_EXIT_OK;
	if (!*path)
		return cli_usage_error(cmd, "%s: an empty file name", opt);
	if (path_is_dir(path))
		return cli_usage_error(cmd, "%s %s: is a directory", opt, path);
	char *dir = path_dirname(path);
	int rc = ML_EXIT_OK;
	if (!path_is_dir(dir))
		rc = cli_usage_error(cmd, "%s %s: no directory %s", opt, path, dir);
	else if (access(dir, W_OK) != 0)
		rc = cli_usage_error(cmd, "%s %s: cannot write in %s: %s", opt,
				     path, dir, strerror(errno));
	free(dir);
	return rc;
}

int cli_plan_release(const struct cfg_env *env, int type, struct ledger *ledger,
		     const struct cfg_release *rel, struct rstate *st,
		     struct plan *p)
{
	struct ml_err err = ML_ERR_INIT;
	if (rstate_load(st, env, ledger, &err))
		return cli_fail(&err);
	struct strategy_opts so;
	strategy_opts_for(env, type, &so);
	struct rollout_state view = rstate_view(st);
	if (strategy_plan(&so, &view, rel, p, &err))
		return cli_fail(&err);
	return ML_EXIT_OK;
}

void cli_print_diags(struct ml_diags *d)
{
	ml_diags_sort(d);
	for (size_t i = 0; i < d->len; i++) {
		char *line = ml_diag_format(&d->items[i]);
		out_err_line(line);
		free(line);
	}
}

static int no_project_dir(const char *cmd, struct project *p)
{
	project_release(p);
	return cli_usage_error(cmd, "no envs/ directory here: is this an "
				    "mlctl project? (use -C DIR)");
}

static void invalid_project(struct ml_diags *d)
{
	cli_print_diags(d);
	out_error("the project's environments are not valid (see 'mlctl "
		  "validate')");
}

int cli_load_project(const char *cmd, struct project *p)
{
	struct ml_diags d = ML_DIAGS_INIT;
	if (!path_is_dir("envs"))
		return no_project_dir(cmd, p);
	int rc = project_load(".", p, &d);
	if (rc) {
		invalid_project(&d);
		ml_diags_release(&d);
		return ML_EXIT_USAGE;
	}
	ml_diags_release(&d);
	return ML_EXIT_OK;
}

static bool diags_name_file(const struct ml_diags *d, const char *file)
{
	for (size_t i = 0; i < d->len; i++)
		if (d->items[i].file && strcmp(d->items[i].file, file) == 0)
			return true;
	return false;
}

/* One warning per file the diagnostics name. */
static void warn_invalid_files(const char *cmd, const struct ml_diags *d)
{
	for (size_t i = 0; i < d->len; i++) {
		const char *f = d->items[i].file;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = d->items[j].file && f && strcmp(d->items[j].file, f) == 0;
		if (!seen && f)
			out_warn("%s: %s is not valid and is left out ('mlctl "
				 "validate %s' says why)",
				 cmd, f, f);
	}
}

int cli_load_project_tolerant(const char *cmd, struct project *p,
			      char ***invalid_files)
{
	struct ml_diags d = ML_DIAGS_INIT;
	if (invalid_files)
		*invalid_files = NULL;
	if (!path_is_dir("envs"))
		return no_project_dir(cmd, p);
	if (project_load(".", p, &d) == 0) {
		ml_diags_release(&d);
		return ML_EXIT_OK;
	}
	/* an environment some diagnostic names is not one to act on either
	 * (a cross-document error such as a shared node URL) */
	size_t kept = 0;
	for (size_t i = 0; i < p->n_envs; i++) {
		if (diags_name_file(&d, p->envs[i]->file))
			cfg_env_free(p->envs[i]);
		else
			p->envs[kept++] = p->envs[i];
	}
	p->n_envs = kept;
	warn_invalid_files(cmd, &d);
	if (invalid_files) {
		char **list = xcalloc(d.len + 1, sizeof(*list));
		size_t n = 0;
		for (size_t i = 0; i < d.len; i++) {
			bool seen = false;
			for (size_t j = 0; j < n && !seen; j++)
				seen = strcmp(list[j], d.items[i].file) == 0;
			if (!seen && d.items[i].file)
				list[n++] = xstrdup(d.items[i].file);
		}
		*invalid_files = list;
	}
	ml_diags_release(&d);
	return ML_EXIT_OK;
}

static int find_env_named(const char *cmd, const char *name, struct project *p,
			  struct cfg_env **env)
{
	*env = project_env(p, name);
	if (!*env) {
		const char *best = NULL;
		size_t best_d = 3;
		for (size_t i = 0; i < p->n_envs; i++) {
			size_t dist = str_edit_distance(p->envs[i]->name, name);
			if (dist < best_d) {
				best_d = dist;
				best = p->envs[i]->name;
			}
		}
		if (best)
			return cli_usage_error(cmd, "no environment named '%s' (did "
						    "you mean '%s'?)",
					       name, best);
		return cli_usage_error(cmd, "no environment named '%s'", name);
	}
	return ML_EXIT_OK;
}

int cli_load_env(const char *cmd, const char *name, struct project *p,
		 struct cfg_env **env)
{
	*env = NULL;
	int rc = cli_load_project(cmd, p);
	if (rc)
		return rc;
	return find_env_named(cmd, name, p, env);
}

int cli_load_env_tolerant(const char *cmd, const char *name, struct project *p,
			  struct cfg_env **env)
{
	*env = NULL;
	if (!path_is_dir("envs"))
		return no_project_dir(cmd, p);
	struct ml_diags d = ML_DIAGS_INIT;
	if (project_load(".", p, &d) == 0) {
		ml_diags_release(&d);
		return find_env_named(cmd, name, p, env);
	}
	struct cfg_env *e = project_env(p, name);
	if (!e || diags_name_file(&d, e->file)) {
		/* the environment asked for is itself not valid */
		invalid_project(&d);
		ml_diags_release(&d);
		return ML_EXIT_USAGE;
	}
	warn_invalid_files(cmd, &d);
	ml_diags_release(&d);
	*env = e;
	return ML_EXIT_OK;
}

int cli_load_release(const char *path, struct cfg_release **rel)
{
	struct ml_diags d = ML_DIAGS_INIT;
	if (cfg_release_load(path, rel, &d)) {
		cli_print_diags(&d);
		ml_diags_release(&d);
		return ML_EXIT_USAGE;
	}
	ml_diags_release(&d);
	return ML_EXIT_OK;
}

int cli_load_manifest(const char *cmd, const char *path,
		      struct cfg_release **rel, char **bytes, size_t *len)
{
	int rc = cli_load_release(path, rel);
	if (rc)
		return rc;
	if (read_file(path, 1 << 20, bytes, len))
		return cli_usage_error(cmd, "%s: %s", path, strerror(errno));
	return ML_EXIT_OK;
}

int cli_open_ledger(const struct ml_ctx *ctx, bool create, struct ledger **out)
{
	*out = NULL;
	char *path = path_join(ctx->state_dir, "ledger");
	bool exists = path_is_dir(path);
	free(path);
	if (!exists && !create)
		return ML_EXIT_OK;
	struct ml_err err = ML_ERR_INIT;
	if (ledger_open(ctx->state_dir, out, &err))
		return cli_fail(&err);
	return ML_EXIT_OK;
}

int cli_fail(const struct ml_err *err)
{
	if (err->file && err->line)
		out_error("%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	else
		out_error("%s", err->msg);
	return err->code ? err->code : ML_EXIT_OPERATIONAL;
}

int cli_strategy_opt(const char *cmd, const char *s, int *type)
{
	*type = -1;
	if (s && (*type = cfg_strategy_parse(s)) < 0)
		return cli_usage_error(cmd, "--strategy takes recreate, rolling, "
					    "bluegreen or canary, not '%s'",
				       s);
	return ML_EXIT_OK;
}

int cli_timeout_opt(const char *cmd, const char *s, long long *ms)
{
	*ms = CLI_ROLLOUT_TIMEOUT_MS;
	if (s && (cfg_parse_duration(s, ms) || *ms <= 0))
		return cli_usage_error(cmd, "--timeout takes a duration like 90s "
					    "or 10m, not '%s'",
				       s);
	return ML_EXIT_OK;
}
