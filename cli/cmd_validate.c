/* cmd_validate.c — `mlctl validate [PATH...]`: load every document, run
 * the cross-document checks, and report one line per document or all of
 * its errors (file:line:col, key path, expected vs found). With no PATH:
 * the YAML files in envs/ and pipelines/, and every Release under examples/. */
#include "cli.h"
#include "config.h"
#include "project.h"
#include "util.h"
#include "yamldoc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cmd_help cmd_validate_help = {
	"validate", "check environments, releases, models and pipelines",
	"  mlctl validate [PATH...]",
	"  PATH    a YAML file or a directory of them (default: envs/*.yaml,\n"
	"          pipelines/*.yaml and every Release under examples/)\n"
	"  Exit status: 0 when every document is valid, 2 otherwise.",
};

struct vdoc {
	char *path;
	char *real; /* realpath, to match cross-document diagnostics */
	enum cfg_kind kind;
	struct cfg_env *env;
	struct cfg_release *rel;
	struct cfg_model *model;
	struct cfg_pipeline *pipe;
	struct ml_diags diags;
};

static char *real_or_copy(const char *p)
{
	return path_real(p);
}

/* A document whose kind we cannot tell: report why, precisely. */
static void unknown_kind(struct vdoc *v)
{
	struct ydoc *doc = NULL;
	if (ydoc_load_file(v->path, &doc, &v->diags))
		return;
	const struct ydoc_node *root = ydoc_root(doc);
	const struct ydoc_node *k = root->kind == YDOC_MAP ? ydoc_get(root, "kind")
							   : NULL;
	if (root->kind != YDOC_MAP)
		ml_diags_add(&v->diags, v->path, root->line, root->col, NULL,
			     "expected a mapping at the top of the file, found %s",
			     ydoc_describe(root));
	else if (!k)
		ml_diags_add(&v->diags, v->path, root->line, root->col, "kind",
			     "missing required key 'kind' (Environment, Release, "
			     "Model or Pipeline)");
	else
		ml_diags_add(&v->diags, v->path, k->line, k->col, "kind",
			     "unknown kind %s%s%s: expected Environment, Release, "
			     "Model or Pipeline",
			     k->kind == YDOC_SCALAR ? "'" : "",
			     k->kind == YDOC_SCALAR ? k->str : ydoc_describe(k),
			     k->kind == YDOC_SCALAR ? "'" : "");
	ydoc_free(doc);
}

static void load_doc(struct vdoc *v)
{
	switch (v->kind) {
	case CFG_KIND_ENVIRONMENT:
		cfg_env_load_partial(v->path, &v->env, &v->diags);
		break;
	case CFG_KIND_RELEASE:
		cfg_release_load(v->path, &v->rel, &v->diags);
		break;
	case CFG_KIND_MODEL:
		cfg_model_load(v->path, &v->model, &v->diags);
		break;
	case CFG_KIND_PIPELINE:
		cfg_pipeline_load(v->path, &v->pipe, &v->diags);
		break;
	case CFG_KIND_UNKNOWN:
		unknown_kind(v);
		break;
	}
}

static void vdoc_free(struct vdoc *v)
{
	free(v->path);
	free(v->real);
	cfg_env_free(v->env);
	cfg_release_free(v->rel);
	cfg_model_free(v->model);
	cfg_pipeline_free(v->pipe);
	ml_diags_release(&v->diags);
}

struct vset {
	struct vdoc *docs;
	size_t n, cap;
};

static void vset_add(struct vset *s, const char *path, enum cfg_kind kind)
{
	char *real = real_or_copy(path);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->docs[i].real, real) == 0) {
			free(real);
			return;
		}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->docs = xrealloc(s->docs, s->cap * sizeof(*s->docs));
	}
	struct vdoc *v = &s->docs[s->n++];
	memset(v, 0, sizeof(*v));
	v->path = xstrdup(path);
	v->real = real;
	v->kind = kind;
}

static void add_dir(struct vset *s, const char *dir, bool recursive,
		    bool releases_only)
{
	char **files = NULL;
	project_yaml_files(dir, recursive, &files);
	for (char **f = files; *f; f++) {
		enum cfg_kind k = cfg_peek_kind(*f);
		if (releases_only && k != CFG_KIND_RELEASE)
			continue;
		vset_add(s, *f, k);
	}
	project_paths_free(files);
}

static const char *doc_name(const struct vdoc *v, char *buf, size_t sz)
{
	if (v->env && !v->env->partial)
		snprintf(buf, sz, "Environment %s, %zu node%s", v->env->name,
			 v->env->n_nodes, v->env->n_nodes == 1 ? "" : "s");
	else if (v->rel)
		snprintf(buf, sz, "Release %s %s", v->rel->model, v->rel->version);
	else if (v->model)
		snprintf(buf, sz, "Model %s %s, %zu term%s", v->model->name,
			 v->model->version, v->model->n_terms,
			 v->model->n_terms == 1 ? "" : "s");
	else if (v->pipe)
		snprintf(buf, sz, "Pipeline %s, %zu stage%s", v->pipe->name,
			 v->pipe->n_stages, v->pipe->n_stages == 1 ? "" : "s");
	else
		snprintf(buf, sz, "%s", cfg_kind_name(v->kind));
	return buf;
}

/* Cross-document checks: the requested environments and pipelines, with
 * the project's other environments as context. Diagnostics land on the
 * requested document whose file they name. */
static void cross_check(struct vset *s)
{
	struct cfg_env **envs = NULL;
	size_t n_envs = 0;
	struct cfg_pipeline **pipes = NULL;
	size_t n_pipes = 0;
	struct vset context = { 0 };
	bool any_env = false;
	for (size_t i = 0; i < s->n; i++)
		any_env |= s->docs[i].kind == CFG_KIND_ENVIRONMENT ||
			   s->docs[i].kind == CFG_KIND_PIPELINE;
	if (!any_env)
		return;
	/* the project's environments not requested, loaded silently; a file
	 * there that does not even parse is a broken environment too, known
	 * by its name or else its file name (envs/prod.yaml: 'prod'), so
	 * references to it are not reported again */
	char **files = NULL;
	project_yaml_files("envs", false, &files);
	size_t n_files = 0, n_unparsed = 0;
	while (files[n_files])
		n_files++;
	char **unparsed = xcalloc(n_files + 1, sizeof(*unparsed));
	for (char **f = files; *f; f++) {
		char *real = real_or_copy(*f);
		bool requested = false;
		for (size_t i = 0; i < s->n; i++)
			requested |= strcmp(s->docs[i].real, real) == 0;
		free(real);
		enum cfg_kind k = cfg_peek_kind(*f);
		if (k == CFG_KIND_UNKNOWN) {
			unparsed[n_unparsed++] = project_env_name_of(*f);
		} else if (!requested && k == CFG_KIND_ENVIRONMENT) {
			vset_add(&context, *f, CFG_KIND_ENVIRONMENT);
		}
	}
	project_paths_free(files);
	for (size_t i = 0; i < context.n; i++)
		load_doc(&context.docs[i]);

	size_t total = s->n + context.n;
	envs = xcalloc(total, sizeof(*envs));
	pipes = xcalloc(total, sizeof(*pipes));
	char **broken = xcalloc(total + n_unparsed, sizeof(*broken));
	size_t n_broken = 0;
	for (size_t i = 0; i < total; i++) {
		struct vdoc *v = i < s->n ? &s->docs[i] : &context.docs[i - s->n];
		/* a partial environment with a name is there for the checks */
		if (v->kind == CFG_KIND_ENVIRONMENT &&
		    (!v->env || (v->env->partial && !v->env->name)))
			broken[n_broken++] = cfg_peek_name(v->path);
	}
	for (size_t i = 0; i < n_unparsed; i++)
		broken[n_broken++] = unparsed[i];
	free(unparsed);
	for (size_t i = 0; i < s->n; i++) {
		if (s->docs[i].env)
			envs[n_envs++] = s->docs[i].env;
		if (s->docs[i].pipe)
			pipes[n_pipes++] = s->docs[i].pipe;
	}
	for (size_t i = 0; i < context.n; i++)
		if (context.docs[i].env)
			envs[n_envs++] = context.docs[i].env;

	struct ml_diags d = ML_DIAGS_INIT;
	project_check(envs, n_envs, pipes, n_pipes, broken, n_broken, &d);
	for (size_t k = 0; k < d.len; k++) {
		char *real = real_or_copy(d.items[k].file);
		for (size_t i = 0; i < s->n; i++) {
			if (strcmp(s->docs[i].real, real) != 0)
				continue;
			struct ml_diag *dg = &d.items[k];
			ml_diags_add(&s->docs[i].diags, dg->file, dg->line, dg->col,
				     dg->path, "%s", dg->msg);
			break;
		}
		free(real);
	}
	ml_diags_release(&d);
	for (size_t i = 0; i < context.n; i++)
		vdoc_free(&context.docs[i]);
	free(context.docs);
	for (size_t i = 0; i < n_broken; i++)
		free(broken[i]);
	free(broken);
	free(envs);
	free(pipes);
}

static json_t *diag_json(const struct ml_diag *dg)
{
	json_t *e = json_object();
	json_object_set_new(e, "file", json_string(dg->file ? dg->file : ""));
	json_object_set_new(e, "line", json_integer(dg->line));
	json_object_set_new(e, "column", json_integer(dg->col));
	json_object_set_new(e, "path", dg->path ? json_string(dg->path) : json_null());
	json_object_set_new(e, "message", json_string(dg->msg));
	return e;
}

static int report(struct vset *s)
{
	size_t bad_docs = 0, n_errors = 0;
	json_t *docs = json_array();
	for (size_t i = 0; i < s->n; i++) {
		struct vdoc *v = &s->docs[i];
		char name[160];
		ml_diags_sort(&v->diags);
		bool ok = v->diags.len == 0;
		bad_docs += !ok;
		n_errors += v->diags.len;
		doc_name(v, name, sizeof(name));
		if (out_is_json()) {
			json_t *o = json_object(), *errs = json_array();
			json_object_set_new(o, "file", json_string(v->path));
			json_object_set_new(o, "kind", v->kind == CFG_KIND_UNKNOWN
							       ? json_null()
							       : json_string(cfg_kind_name(v->kind)));
			json_object_set_new(o, "valid", json_boolean(ok));
			if (ok)
				json_object_set_new(o, "summary", json_string(name));
			for (size_t k = 0; k < v->diags.len; k++)
				json_array_append_new(errs, diag_json(&v->diags.items[k]));
			json_object_set_new(o, "errors", errs);
			json_array_append_new(docs, o);
			continue;
		}
		if (ok) {
			out_line("%sok%s %s (%s)", out_c(OUT_GREEN), out_c(OUT_RESET),
				 v->path, name);
			continue;
		}
		for (size_t k = 0; k < v->diags.len; k++) {
			char *line = ml_diag_format(&v->diags.items[k]);
			out_err_line(line);
			free(line);
		}
	}
	if (out_is_json()) {
		json_t *root = json_object();
		json_object_set_new(root, "valid", json_boolean(bad_docs == 0));
		json_object_set_new(root, "documents", docs);
		json_object_set_new(root, "errors", json_integer((json_int_t)n_errors));
		char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		out_json_text(txt);
		free(txt);
		json_decref(root);
	} else {
		json_decref(docs);
		if (bad_docs)
			out_progress("validate: %zu error%s in %zu of %zu document%s",
				     n_errors, n_errors == 1 ? "" : "s", bad_docs,
				     s->n, s->n == 1 ? "" : "s");
	}
	return bad_docs ? ML_EXIT_USAGE : ML_EXIT_OK;
}

int cmd_validate(int argc, char **argv, struct ml_ctx *ctx)
{
	(void)ctx;
	struct vset s = { 0 };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("validate", "unknown option '%s'",
					       argv[i]);
	}
	int rc = ML_EXIT_OK;
	bool any_path = false;
	for (int i = 1; i < argc; i++)
		any_path |= strcmp(argv[i], "--") != 0;
	if (!any_path) {
		add_dir(&s, "envs", false, false);
		add_dir(&s, "pipelines", false, false);
		add_dir(&s, "examples", true, true);
		if (s.n == 0) {
			rc = cli_usage_error("validate",
					     "no documents found (envs/, pipelines/, "
					     "examples/) — is this an mlctl project? "
					     "Use -C DIR");
			goto out;
		}
	}
	bool after_dashes = false;
	for (int i = 1; i < argc; i++) {
		if (!after_dashes && strcmp(argv[i], "--") == 0) {
			after_dashes = true;
			continue;
		}
		if (path_is_dir(argv[i]))
			add_dir(&s, argv[i], true, false);
		else
			vset_add(&s, argv[i], cfg_peek_kind(argv[i]));
	}
	for (size_t i = 0; i < s.n; i++)
		load_doc(&s.docs[i]);
	cross_check(&s);
	rc = report(&s);
out:
	for (size_t i = 0; i < s.n; i++)
		vdoc_free(&s.docs[i]);
	free(s.docs);
	return rc;
}
