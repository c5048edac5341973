/* updown.c — environment selection, run directories and result output
 * shared by `mlctl up` (cmd_up.c) and `mlctl down` (cmd_down.c). */
#include "updown.h"

#include "common.h"
#include "router.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMED 64

static void orphan_add(char ***list, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], name) == 0)
			return;
	*list = xrealloc(*list, (*n + 2) * sizeof(**list));
	(*list)[(*n)++] = xstrdup(name);
	(*list)[*n] = NULL;
}

static int select_envs(const char *cmd, int argc, char **argv, struct project *p,
		       struct cfg_env ***envs_out, size_t *n_out, char ***orphans)
{
	const char *names[MAX_NAMED];
	char **invalid = NULL, **orph = NULL;
	size_t n_orph = 0;
	*envs_out = NULL;
	*n_out = 0;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			break;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error(cmd, "unknown option '%s'",
					       argv[i]);
	int n_names = 0;
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		if (!only_pos && strcmp(argv[i], "--") == 0) {
			only_pos = true;
			continue;
		}
		if (n_names == MAX_NAMED)
			return cli_usage_error(cmd, "too many environments");
		names[n_names++] = argv[i];
	}
	int rc = orphans ? cli_load_project_tolerant(cmd, p, &invalid)
			 : cli_load_project(cmd, p);
	if (rc)
		return rc;
	struct cfg_env **envs = xcalloc(p->n_envs + 1, sizeof(*envs));
	size_t n = 0;
	if (n_names == 0) {
		for (size_t i = 0; i < p->n_envs; i++)
			if (p->envs[i]->managed)
				envs[n++] = p->envs[i];
		for (size_t i = 0; invalid && invalid[i]; i++) {
			char *name = project_env_name_of(invalid[i]);
			orphan_add(&orph, &n_orph, name);
			free(name);
		}
	}
	for (int k = 0; k < n_names; k++) {
		struct cfg_env *e = project_env(p, names[k]);
		bool is_orphan = false;
		for (size_t i = 0; !e && invalid && invalid[i] && !is_orphan; i++) {
			char *name = project_env_name_of(invalid[i]);
			is_orphan = strcmp(name, names[k]) == 0;
			free(name);
		}
		if (is_orphan) {
			orphan_add(&orph, &n_orph, names[k]);
			continue;
		}
		if (!e) {
			const char *best = NULL;
			size_t best_d = 3;
			for (size_t i = 0; i < p->n_envs; i++) {
				size_t d = str_edit_distance(p->envs[i]->name,
							     names[k]);
				if (d < best_d) {
					best_d = d;
					best = p->envs[i]->name;
				}
			}
			free(envs);
			project_paths_free(invalid);
			project_paths_free(orph);
			if (best)
				return cli_usage_error(cmd, "no environment named "
							    "'%s' (did you mean "
							    "'%s'?)",
						       names[k], best);
			return cli_usage_error(cmd, "no environment named '%s'",
					       names[k]);
		}
		if (!e->managed) {
			free(envs);
			project_paths_free(invalid);
			project_paths_free(orph);
			return cli_usage_error(cmd, "environment '%s' is not "
						    "managed: mlctl does not start "
						    "or stop its nodes (set "
						    "'managed: true' in %s)",
					       e->name, e->file);
		}
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= envs[i] == e;
		if (!dup)
			envs[n++] = e;
	}
	project_paths_free(invalid);
	*envs_out = envs;
	*n_out = n;
	if (orphans)
		*orphans = orph;
	return ML_EXIT_OK;
}

int updown_select(const char *cmd, int argc, char **argv, struct project *p,
		  struct cfg_env ***envs_out, size_t *n_out)
{
	return select_envs(cmd, argc, argv, p, envs_out, n_out, NULL);
}

int updown_select_tolerant(const char *cmd, int argc, char **argv,
			   struct project *p, struct cfg_env ***envs_out,
			   size_t *n_out, char ***orphans)
{
	*orphans = NULL;
	return select_envs(cmd, argc, argv, p, envs_out, n_out, orphans);
}

char *updown_run_dir(const struct ml_ctx *ctx, const struct cfg_env *env)
{
	char *rel = xasprintf("run/%s", env->name);
	char *dir = path_join(ctx->state_dir, rel);
	free(rel);
	return dir;
}

char *updown_node_expect(const struct cfg_node *node)
{
	char *hp = strchr(node->host, ':') ? xasprintf("[%s]:%d", node->host,
							node->port)
					   : xasprintf("%s:%d", node->host,
						       node->port);
	char *e = xasprintf("--listen %s", hp);
	free(hp);
	return e;
}

/* Where a process answers: the node's URL, or the router's listeners. */
static char *where(const struct cfg_env *env, const struct updown_proc *pr)
{
	if (strcmp(pr->kind, "node") != 0) {
		if (env->preview.set)
			return xasprintf("%s:%d (preview %s:%d)", env->listen.host,
					 env->listen.port, env->preview.host,
					 env->preview.port);
		return xasprintf("%s:%d", env->listen.host, env->listen.port);
	}
	const struct cfg_node *node = cfg_env_node(env, pr->name);
	return xstrdup(node ? node->url : "");
}

void updown_report_env(json_t *arr, const struct cfg_env *env,
		       const char *run_dir, const struct updown_proc *procs,
		       size_t n, const char *release, const char *error)
{
	if (out_is_json()) {
		json_t *o = json_object(), *list = json_array();
		json_object_set_new(o, "name", json_string(env->name));
		json_object_set_new(o, "run_dir", json_string(run_dir));
		json_object_set_new(o, "router", json_string(router_name(env)));
		for (size_t i = 0; i < n; i++) {
			const struct updown_proc *pr = &procs[i];
			json_t *j = json_object();
			bool is_router = strcmp(pr->kind, "node") != 0;
			json_object_set_new(j, "name", json_string(pr->name));
			json_object_set_new(j, "kind", json_string(pr->kind));
			json_object_set_new(j, "pid", pr->pid > 0
							      ? json_integer(pr->pid)
							      : json_null());
			if (is_router) {
				char *l = xasprintf("%s:%d", env->listen.host,
						    env->listen.port);
				json_object_set_new(j, "listen", json_string(l));
				free(l);
				if (env->preview.set) {
					l = xasprintf("%s:%d", env->preview.host,
						      env->preview.port);
					json_object_set_new(j, "preview",
							    json_string(l));
					free(l);
				}
			} else {
				char *u = where(env, pr);
				json_object_set_new(j, "url", json_string(u));
				free(u);
			}
			json_object_set_new(j, "state", json_string(pr->state));
			if (pr->error)
				json_object_set_new(j, "error",
						    json_string(pr->error));
			json_array_append_new(list, j);
		}
		json_object_set_new(o, "processes", list);
		json_object_set_new(o, "release", release ? json_string(release)
							  : json_null());
		json_object_set_new(o, "ok", json_boolean(error == NULL));
		if (error)
			json_object_set_new(o, "error", json_string(error));
		json_array_append_new(arr, o);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct updown_proc *pr = &procs[i];
		char pid[32] = "-";
		if (pr->pid > 0)
			snprintf(pid, sizeof(pid), "pid %ld", (long)pr->pid);
		char *w = where(env, pr);
		bool bad = strcmp(pr->state, "failed") == 0;
		out_line("%-8s  %-10s  %-7s  %-10s  %-40s  %s%s%s", env->name,
			 pr->name, pr->kind, pid, w,
			 bad ? out_c(OUT_RED) : "", pr->state,
			 bad ? out_c(OUT_RESET) : "");
		free(w);
	}
	if (release)
		out_line("%-8s  serving %s", env->name, release);
}

void updown_report_done(const char *cmd, json_t *arr, bool ok)
{
	if (!out_is_json()) {
		json_decref(arr);
		return;
	}
	json_t *root = json_object();
	json_object_set_new(root, "command", json_string(cmd));
	json_object_set_new(root, "environments", arr);
	json_object_set_new(root, "ok", json_boolean(ok));
	char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					 JSON_REAL_PRECISION(15));
	out_json_text(txt);
	free(txt);
	json_decref(root);
}
