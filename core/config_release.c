/* config_release.c — the Release manifest: artifact (checked here: a local
 * artifact must exist and match its sha256; its Model must agree with the
 * manifest), the data contract, the release's own checks and its canary
 * analysis block (config_analysis.c decodes it). */
#include "config_internal.h"
#include "sha256.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool version_ok(const char *s)
{
	if (!*s || strlen(s) > 64 || !isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".+-_", *s))
			return false;
	return true;
}

static void artifact_decode(struct dec *dc, const struct ydoc_node *root,
			    struct cfg_release *rel)
{
	static const char *const keys[] = { "uri", "sha256", NULL };
	const struct ydoc_node *a = dec_field(dc, root, "artifact", true);
	if (!a)
		return;
	rel->artifact_pos = dec_pos(a);
	size_t saved = dec_push_key(dc, "artifact");
	if (!dec_map(dc, a, keys))
		goto out;
	char *sha = NULL;
	if (dec_str(dc, a, "sha256", true, &sha)) {
		rel->sha_pos = dec_pos(ydoc_get(a, "sha256"));
		if (!cfg_is_sha256(sha)) {
			size_t s = dec_push_key(dc, "sha256");
			dec_error_pos(dc, rel->sha_pos,
				      "expected a sha256 digest (64 hex digits), "
				      "found '%s'",
				      sha);
			dec_pop(dc, s);
		} else {
			for (size_t i = 0; i < 64; i++)
				rel->sha256[i] = (char)tolower((unsigned char)sha[i]);
			rel->sha256[64] = '\0';
		}
	}
	free(sha);
	if (!dec_str(dc, a, "uri", true, &rel->artifact_uri))
		goto out;
	rel->uri_pos = dec_pos(ydoc_get(a, "uri"));
	size_t s = dec_push_key(dc, "uri");
	const char *uri = rel->artifact_uri;
	if (strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0) {
		rel->artifact_remote = true;
		if (cfg_parse_url(uri, false, NULL, NULL, NULL))
			dec_error_pos(dc, rel->uri_pos,
				      "expected an http(s) URL with a host, found "
				      "'%s'",
				      uri);
	} else if (strstr(uri, "://")) {
		dec_error_pos(dc, rel->uri_pos,
			      "expected a path or an http(s) URL, found '%s'", uri);
	} else {
		const char *p = strncmp(uri, "file:", 5) == 0 ? uri + 5 : uri;
		rel->artifact_path = path_join(rel->dir, p);
		char digest[65];
		if (!path_is_file(rel->artifact_path)) {
			dec_error_pos(dc, rel->uri_pos, "artifact '%s' not found",
				      rel->artifact_path);
		} else if (sha256_file_hex(rel->artifact_path, digest)) {
			dec_error_pos(dc, rel->uri_pos, "cannot read artifact '%s': %s",
				      rel->artifact_path, strerror(errno));
		} else if (rel->sha256[0] && strcmp(digest, rel->sha256) != 0) {
			dec_pop(dc, s);
			s = dec_push_key(dc, "sha256");
			dec_error_pos(dc, rel->sha_pos,
				      "sha256 mismatch: the manifest says %s but "
				      "%s has %s",
				      rel->sha256, rel->artifact_path, digest);
		}
	}
	dec_pop(dc, s);
out:
	dec_pop(dc, saved);
}

/* The artifact's Model must be this release's model and version, read
 * only inputs the contract declares, and produce a declared output. */
static void model_check(struct dec *dc, struct cfg_release *rel)
{
	struct cfg_model *m = NULL;
	if (cfg_model_load(rel->artifact_path, &m, dc->d)) {
		dc->errors++;
		dec_pop(dc, 0);
		dec_push_key(dc, "artifact.uri");
		dec_error_pos(dc, rel->uri_pos, "artifact '%s' is not a valid Model",
			      rel->artifact_path);
		dec_pop(dc, 0);
		return;
	}
	dec_pop(dc, 0);
	dec_push_key(dc, "artifact.uri");
	if (rel->model && strcmp(m->name, rel->model) != 0)
		dec_error_pos(dc, rel->uri_pos,
			      "artifact is model '%s' but the release is '%s'",
			      m->name, rel->model);
	if (rel->version && strcmp(m->version, rel->version) != 0)
		dec_error_pos(dc, rel->uri_pos,
			      "artifact is version '%s' but the release is '%s'",
			      m->version, rel->version);
	const struct cfg_expectations *e = &rel->expectations;
	if (e->n_inputs) {
		for (size_t i = 0; i < m->n_inputs; i++)
			if (!cfg_expectations_find(e->inputs, e->n_inputs,
						   m->inputs[i]))
				dec_error_pos(dc, rel->uri_pos,
					      "the model reads input '%s', which "
					      "expectations.inputs does not declare",
					      m->inputs[i]);
	}
	if (e->n_outputs &&
	    !cfg_expectations_find(e->outputs, e->n_outputs, m->output))
		dec_error_pos(dc, rel->uri_pos,
			      "the model's output '%s' is not in "
			      "expectations.outputs",
			      m->output);
	dec_pop(dc, 0);
	cfg_model_free(m);
}

/* Smoke cases may only name declared inputs and outputs, with values of
 * the declared type. */
static void smoke_check(struct dec *dc, struct cfg_release *rel)
{
	const struct cfg_expectations *e = &rel->expectations;
	if (!e->n_inputs)
		return;
	for (size_t i = 0; i < rel->checks.smoke.n_cases; i++) {
		const struct cfg_smoke_case *sc = &rel->checks.smoke.cases[i];
		for (size_t j = 0; j < sc->n_inputs; j++) {
			const struct cfg_value *v = &sc->inputs[j];
			if (v->bad)
				continue; /* reported once, by the decoder */
			const struct cfg_field *f =
				cfg_expectations_find(e->inputs, e->n_inputs, v->name);
			dec_pop(dc, 0);
			dec_push_key(dc, "checks.smoke");
			dec_push_index(dc, i);
			dec_push_key(dc, "input");
			dec_push_key(dc, v->name);
			bool numeric = f && (f->type == CFG_T_NUMBER ||
					     f->type == CFG_T_INTEGER);
			char msg[160];
			if (!f)
				dec_error_pos(dc, v->pos,
					      "input '%s' is not declared in "
					      "expectations.inputs",
					      v->name);
			else if (numeric && v->kind != CFG_V_NUMBER)
				dec_error_pos(dc, v->pos, "expected a %s",
					      cfg_type_name(f->type));
			else if (numeric &&
				 !cfg_field_check_number(f, v->num, msg, sizeof(msg)))
				dec_error_pos(dc, v->pos,
					      "smoke input breaks the contract: %s",
					      msg);
		}
		for (size_t j = 0; j < e->n_inputs; j++) {
			bool given = false;
			for (size_t k = 0; k < sc->n_inputs; k++)
				given |= strcmp(sc->inputs[k].name, e->inputs[j].name) == 0;
			if (!given && !e->inputs[j].optional) {
				dec_pop(dc, 0);
				dec_push_key(dc, "checks.smoke");
				dec_push_index(dc, i);
				dec_push_key(dc, "input");
				dec_error_pos(dc, sc->pos,
					      "missing input '%s' (required by "
					      "expectations.inputs)",
					      e->inputs[j].name);
			}
		}
		for (size_t j = 0; j < sc->n_expects; j++) {
			const struct cfg_expect *x = &sc->expects[j];
			if (!cfg_expectations_find(e->outputs, e->n_outputs, x->name)) {
				dec_pop(dc, 0);
				dec_push_key(dc, "checks.smoke");
				dec_push_index(dc, i);
				dec_push_key(dc, "expect");
				dec_push_key(dc, x->name);
				dec_error_pos(dc, x->pos,
					      "output '%s' is not declared in "
					      "expectations.outputs",
					      x->name);
			}
		}
	}
	dec_pop(dc, 0);
}

int cfg_release_load(const char *path, struct cfg_release **out,
		     struct ml_diags *d)
{
	static const char *const keys[] = {
		"apiVersion", "kind", "model", "version", "serving_mode",
		"artifact", "expectations", "checks", "analysis", NULL
	};
	*out = NULL;
	struct dec dc;
	struct ydoc *doc = cfg_open(path, "Release", &dc, d);
	if (!doc)
		return -1;
	const struct ydoc_node *root = ydoc_root(doc);
	struct cfg_release *rel = xcalloc(1, sizeof(*rel));
	rel->file = xstrdup(path);
	rel->dir = path_dirname(path);
	cfg_checks_init(&rel->checks);
	cfg_analysis_init(&rel->analysis);

	dec_map(&dc, root, keys);
	dec_name(&dc, root, "model", true, &rel->model, NULL);
	if (dec_str(&dc, root, "version", true, &rel->version) &&
	    !version_ok(rel->version)) {
		size_t s = dec_push_key(&dc, "version");
		dec_error(&dc, ydoc_get(root, "version"),
			  "expected a version like 2.0.0 (letters, digits, '.', "
			  "'+', '-', '_'), found '%s'",
			  rel->version);
		dec_pop(&dc, s);
	}
	int m;
	if (dec_enum(&dc, root, "serving_mode", false, cfg_mode_names, &m))
		rel->serving_mode = (enum cfg_serving_mode)m;
	const struct ydoc_node *ex = dec_field(&dc, root, "expectations", true);
	if (ex) {
		size_t s = dec_push_key(&dc, "expectations");
		cfg_expectations_decode(&dc, ex, &rel->expectations);
		dec_pop(&dc, s);
	}
	int before_artifact = dc.errors;
	artifact_decode(&dc, root, rel);
	if (dc.errors == before_artifact && rel->artifact_path)
		model_check(&dc, rel);
	const struct ydoc_node *checks = dec_field(&dc, root, "checks", false);
	if (checks) {
		size_t s = dec_push_key(&dc, "checks");
		cfg_checks_decode(&dc, checks, rel->dir, &rel->checks);
		dec_pop(&dc, s);
	}
	smoke_check(&dc, rel);
	const struct ydoc_node *an = dec_field(&dc, root, "analysis", false);
	if (an) {
		size_t s = dec_push_key(&dc, "analysis");
		cfg_analysis_decode(&dc, an, &rel->analysis);
		dec_pop(&dc, s);
	}
	ydoc_free(doc);
	if (dc.errors) {
		cfg_release_free(rel);
		return -1;
	}
	*out = rel;
	return 0;
}

void cfg_release_free(struct cfg_release *rel)
{
	if (!rel)
		return;
	free(rel->file);
	free(rel->dir);
	free(rel->model);
	free(rel->version);
	free(rel->artifact_uri);
	free(rel->artifact_path);
	cfg_expectations_release(&rel->expectations);
	cfg_checks_release(&rel->checks);
	free(rel);
}
