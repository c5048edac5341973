/* project.c — finding a project's documents and the checks that span
 * them. Each error is reported once, at the later of two clashing values
 * (files in the order given, then line). */
#include "project.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *dir, bool recursive, char ***v, size_t *n,
		    size_t *cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = path_join(dir, e->d_name);
		if (recursive && path_is_dir(p)) {
			collect(p, true, v, n, cap);
			free(p);
			continue;
		}
		if ((str_has_suffix(p, ".yaml") || str_has_suffix(p, ".yml")) &&
		    path_is_file(p)) {
			if (*n + 1 >= *cap) {
				*cap = *cap ? *cap * 2 : 16;
				*v = xrealloc(*v, *cap * sizeof(**v));
			}
			(*v)[(*n)++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
}

int project_yaml_files(const char *dir, bool recursive, char ***out)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	collect(dir, recursive, &v, &n, &cap);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	v = xrealloc(v, (n + 1) * sizeof(*v));
	v[n] = NULL;
	*out = v;
	return 0;
}

void project_paths_free(char **paths)
{
	if (!paths)
		return;
	for (char **p = paths; *p; p++)
		free(*p);
	free(paths);
}

static const struct cfg_env *find_env(struct cfg_env *const *envs, size_t n,
				      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (envs[i] && envs[i]->name && strcmp(envs[i]->name, name) == 0)
			return envs[i];
	return NULL;
}

static const char *suggest(struct cfg_env *const *envs, size_t n,
			   const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < n; i++) {
		if (!envs[i] || !envs[i]->name)
			continue;
		size_t dist = str_edit_distance(envs[i]->name, name);
		if (dist < best_d) {
			best_d = dist;
			best = envs[i]->name;
		}
	}
	return best;
}

static void env_missing(struct ml_diags *d, const char *file,
			struct cfg_pos pos, const char *path,
			struct cfg_env *const *envs, size_t n, const char *name)
{
	const char *s = suggest(envs, n, name);
	if (s)
		ml_diags_add(d, file, pos.line, pos.col, path,
			     "no environment named '%s' (did you mean '%s'?)",
			     name, s);
	else
		ml_diags_add(d, file, pos.line, pos.col, path,
			     "no environment named '%s'", name);
}

static bool is_broken(char *const *broken, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (broken[i] && strcmp(broken[i], name) == 0)
			return true;
	return false;
}

static void check_promotion(struct cfg_env *const *envs, size_t n,
			    char *const *broken, size_t n_broken,
			    struct ml_diags *d)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_env *e = envs[i];
		if (!e || !e->promotes_from)
			continue;
		if (!find_env(envs, n, e->promotes_from)) {
			if (is_broken(broken, n_broken, e->promotes_from))
				continue;
			env_missing(d, e->file, e->promotes_from_pos,
				    "promotes_from", envs, n, e->promotes_from);
			continue;
		}
		/* cycle through e? report once, at the cycle's last member */
		const struct cfg_env *cur = e;
		size_t steps = 0;
		bool cycle = false;
		size_t last = i;
		while (cur && cur->promotes_from && steps <= n) {
			cur = find_env(envs, n, cur->promotes_from);
			steps++;
			if (cur == e) {
				cycle = true;
				break;
			}
		}
		if (!cycle)
			continue;
		char chain[512] = "";
		size_t len = 0;
		cur = e;
		for (size_t k = 0; k <= steps && cur; k++) {
			for (size_t j = 0; j < n; j++)
				if (envs[j] == cur && j > last)
					last = j;
			int w = snprintf(chain + len, sizeof(chain) - len, "%s%s",
					 k ? " <- " : "", cur->name);
			if (w > 0 && (size_t)w < sizeof(chain) - len)
				len += (size_t)w;
			cur = k < steps ? find_env(envs, n, cur->promotes_from) : NULL;
		}
		if (last == i)
			ml_diags_add(d, e->file, e->promotes_from_pos.line,
				     e->promotes_from_pos.col, "promotes_from",
				     "promotion order forms a cycle: %s", chain);
	}
}

struct addr_use {
	const struct cfg_env *env;
	const char *what; /* "node 'x'" or "router listen" */
	const char *path;
	const char *host;
	int port;
	struct cfg_pos pos;
	bool is_node;
	size_t node_index;
};

static bool same_host(const char *a, const char *b)
{
	/* localhost and 127.0.0.1 are the same loopback listener */
	if (strcmp(a, "localhost") == 0)
		a = "127.0.0.1";
	if (strcmp(b, "localhost") == 0)
		b = "127.0.0.1";
	return strcasecmp_ascii(a, b) == 0;
}

static void check_addresses(struct cfg_env *const *envs, size_t n,
			    struct ml_diags *d)
{
	size_t cap = 0, count = 0;
	for (size_t i = 0; i < n; i++)
		if (envs[i])
			cap += envs[i]->n_nodes + 2;
	struct addr_use *uses = xcalloc(cap ? cap : 1, sizeof(*uses));
	for (size_t i = 0; i < n; i++) {
		const struct cfg_env *e = envs[i];
		if (!e || e->partial)
			continue;
		for (size_t k = 0; k < e->n_nodes; k++) {
			const struct cfg_node *nd = &e->nodes[k];
			if (!nd->host)
				continue;
			uses[count++] = (struct addr_use){
				e, nd->name, "url", nd->host, nd->port,
				nd->url_pos, true, k
			};
		}
		if (e->listen.set)
			uses[count++] = (struct addr_use){
				e, "router listen", "router.listen", e->listen.host,
				e->listen.port, e->listen.pos, false, 0
			};
		if (e->preview.set)
			uses[count++] = (struct addr_use){
				e, "router preview", "router.preview", e->preview.host,
				e->preview.port, e->preview.pos, false, 0
			};
	}
	for (size_t i = 0; i < count; i++) {
		for (size_t j = 0; j < i; j++) {
			struct addr_use *a = &uses[j], *b = &uses[i];
			if (a->port != b->port || !same_host(a->host, b->host))
				continue;
			if (a->env == b->env && !a->is_node && !b->is_node)
				continue; /* listen == preview: config_env.c says so */
			char path[96];
			if (b->is_node)
				snprintf(path, sizeof(path), "nodes[%zu].url",
					 b->node_index);
			else
				snprintf(path, sizeof(path), "%s", b->path);
			ml_diags_add(d, b->env->file, b->pos.line, b->pos.col, path,
				     "address %s:%d is already used by %s%s%s of "
				     "environment '%s' (%s:%u:%u)",
				     b->host, b->port, a->is_node ? "node '" : "",
				     a->what, a->is_node ? "'" : "", a->env->name,
				     a->env->file, a->pos.line, a->pos.col);
			break;
		}
	}
	free(uses);
}

static void check_node_names(struct cfg_env *const *envs, size_t n,
			     struct ml_diags *d)
{
	for (size_t i = 0; i < n; i++) {
		const struct cfg_env *e = envs[i];
		if (!e || e->partial)
			continue;
		for (size_t k = 0; k < e->n_nodes; k++) {
			const struct cfg_node *nd = &e->nodes[k];
			bool reported = false;
			for (size_t j = 0; j < i && !reported; j++) {
				if (!envs[j] || envs[j]->partial)
					continue;
				const struct cfg_node *other =
					cfg_env_node(envs[j], nd->name);
				if (!other)
					continue;
				char path[64];
				snprintf(path, sizeof(path), "nodes[%zu].name", k);
				ml_diags_add(d, e->file, nd->name_pos.line,
					     nd->name_pos.col, path,
					     "node name '%s' is already used in "
					     "environment '%s' (%s:%u:%u)",
					     nd->name, envs[j]->name, envs[j]->file,
					     other->name_pos.line, other->name_pos.col);
				reported = true;
			}
		}
	}
}

void project_check(struct cfg_env *const *envs, size_t n_envs,
		   struct cfg_pipeline *const *pipes, size_t n_pipes,
		   char *const *broken, size_t n_broken, struct ml_diags *d)
{
	for (size_t i = 0; i < n_envs; i++)
		for (size_t j = 0; j < i; j++)
			if (envs[i] && envs[j] && envs[i]->name && envs[j]->name &&
			    strcmp(envs[i]->name, envs[j]->name) == 0)
				ml_diags_add(d, envs[i]->file, envs[i]->name_pos.line,
					     envs[i]->name_pos.col, "name",
					     "environment '%s' is already defined in "
					     "%s",
					     envs[i]->name, envs[j]->file);
	for (size_t i = 0; i < n_pipes; i++) {
		const struct cfg_pipeline *p = pipes[i];
		if (!p)
			continue;
		for (size_t k = 0; k < p->n_stages; k++) {
			if (find_env(envs, n_envs, p->stages[k].name) ||
			    is_broken(broken, n_broken, p->stages[k].name))
				continue;
			char path[64];
			snprintf(path, sizeof(path), "stages[%zu].env", k);
			env_missing(d, p->file, p->stages[k].pos, path, envs, n_envs,
				    p->stages[k].name);
		}
	}
	check_promotion(envs, n_envs, broken, n_broken, d);
	check_node_names(envs, n_envs, d);
	check_addresses(envs, n_envs, d);
}

char *project_env_name_of(const char *file)
{
	char *name = cfg_peek_name(file);
	if (name)
		return name;
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t n = strlen(base);
	if (str_has_suffix(base, ".yaml"))
		n -= 5;
	else if (str_has_suffix(base, ".yml"))
		n -= 4;
	return xstrndup(base, n);
}

int project_load(const char *root, struct project *p, struct ml_diags *d)
{
	memset(p, 0, sizeof(*p));
	p->root = xstrdup(root);
	char *dir = path_join(root, "envs");
	char **files = NULL;
	project_yaml_files(dir, false, &files);
	free(dir);
	int rc = 0;
	/* environments whose files are not valid: references to them are
	 * not errors of the files that make them */
	char **broken = NULL;
	size_t n_broken = 0;
	for (char **f = files; *f; f++) {
		struct cfg_env *env = NULL;
		if (cfg_env_load(*f, &env, d)) {
			rc = -1;
			broken = xrealloc(broken, (n_broken + 1) * sizeof(*broken));
			broken[n_broken++] = project_env_name_of(*f);
			continue;
		}
		p->envs = xrealloc(p->envs, (p->n_envs + 1) * sizeof(*p->envs));
		p->envs[p->n_envs++] = env;
	}
	project_paths_free(files);
	size_t before = d->len;
	project_check(p->envs, p->n_envs, NULL, 0, broken, n_broken, d);
	for (size_t i = 0; i < n_broken; i++)
		free(broken[i]);
	free(broken);
	if (d->len != before)
		rc = -1;
	return rc;
}

void project_release(struct project *p)
{
	for (size_t i = 0; i < p->n_envs; i++)
		cfg_env_free(p->envs[i]);
	free(p->envs);
	free(p->root);
	memset(p, 0, sizeof(*p));
}

struct cfg_env *project_env(const struct project *p, const char *name)
{
	for (size_t i = 0; i < p->n_envs; i++)
		if (strcmp(p->envs[i]->name, name) == 0)
			return p->envs[i];
	return NULL;
}
