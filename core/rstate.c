/* rstate.c — an environment's rollout state, to and from the ledger's
 * state.json. */
#include "rstate.h"
#include "ledger.h"
#include "exitcode.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void rstate_init(struct rstate *s, const struct cfg_env *env)
{
	memset(s, 0, sizeof(*s));
	s->n_nodes = env->n_nodes;
	s->serving = xcalloc(env->n_nodes, sizeof(*s->serving));
	s->live = xcalloc(env->n_nodes, sizeof(*s->live));
	s->preview = xcalloc(env->n_nodes, sizeof(*s->preview));
	for (size_t i = 0; i < env->n_nodes; i++)
		s->live[i] = s->preview[i] = 1;
}

void rstate_release_free(struct rstate_release *r)
{
	free(r->model);
	free(r->version);
	free(r->manifest_path);
	free(r->artifact);
	free(r->expectations_json);
	memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void rstate_release_copy(struct rstate_release *dst,
			 const struct rstate_release *src)
{
	dst->model = dup_or_null(src->model);
	dst->version = dup_or_null(src->version);
	dst->manifest_path = dup_or_null(src->manifest_path);
	dst->artifact = dup_or_null(src->artifact);
	dst->expectations_json = dup_or_null(src->expectations_json);
	memcpy(dst->sha256, src->sha256, sizeof(dst->sha256));
}

void rstate_release_set(struct rstate_release *r, const struct cfg_release *rel)
{
	rstate_release_free(r);
	r->model = xstrdup(rel->model);
	r->version = xstrdup(rel->version);
	r->manifest_path = path_real(rel->file);
	r->artifact = rel->artifact_path ? path_real(rel->artifact_path)
					 : xstrdup(rel->artifact_uri);
	memcpy(r->sha256, rel->sha256, sizeof(r->sha256));
	r->expectations_json = cfg_expectations_to_json(&rel->expectations);
}

void rstate_release(struct rstate *s)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		free(s->serving[i]);
	free(s->serving);
	free(s->live);
	free(s->preview);
	free(s->strategy);
	rstate_release_free(&s->release);
	rstate_release_free(&s->previous);
	memset(s, 0, sizeof(*s));
}

void rstate_copy(struct rstate *dst, const struct rstate *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->n_nodes = src->n_nodes;
	dst->serving = xcalloc(src->n_nodes + 1, sizeof(*dst->serving));
	dst->live = xcalloc(src->n_nodes + 1, sizeof(*dst->live));
	dst->preview = xcalloc(src->n_nodes + 1, sizeof(*dst->preview));
	for (size_t i = 0; i < src->n_nodes; i++) {
		dst->serving[i] = dup_or_null(src->serving[i]);
		dst->live[i] = src->live[i];
		dst->preview[i] = src->preview[i];
	}
	rstate_release_copy(&dst->release, &src->release);
	rstate_release_copy(&dst->previous, &src->previous);
	dst->strategy = dup_or_null(src->strategy);
}

void rstate_set_serving(struct rstate *s, size_t i, const char *version)
{
	free(s->serving[i]);
	s->serving[i] = dup_or_null(version);
}

static json_t *release_json(const struct rstate_release *r)
{
	if (!r->model)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "model", json_string(r->model));
	json_object_set_new(o, "version", json_string(r->version));
	if (r->manifest_path)
		json_object_set_new(o, "manifest", json_string(r->manifest_path));
	json_object_set_new(o, "artifact", json_string(r->artifact ? r->artifact : ""));
	json_object_set_new(o, "sha256", json_string(r->sha256));
	json_t *ex = r->expectations_json
			     ? json_loads(r->expectations_json, 0, NULL)
			     : NULL;
	json_object_set_new(o, "expectations", ex ? ex : json_object());
	return o;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int release_from_json(struct rstate_release *r, json_t *o)
{
	if (!json_is_object(o))
		return 0;
	const char *model = jstr(o, "model"), *version = jstr(o, "version");
	const char *sha = jstr(o, "sha256");
	json_t *ex = json_object_get(o, "expectations");
	if (!model || !version || !sha || !cfg_is_sha256(sha) ||
	    (ex && !json_is_object(ex)))
		return -1;
	r->model = xstrdup(model);
	r->version = xstrdup(version);
	r->manifest_path = dup_or_null(jstr(o, "manifest"));
	r->artifact = dup_or_null(jstr(o, "artifact"));
	snprintf(r->sha256, sizeof(r->sha256), "%s", sha);
	if (ex) {
		char *t = json_dumps(ex, JSON_COMPACT | JSON_PRESERVE_ORDER);
		r->expectations_json = xstrdup(t);
		free(t);
	}
	return 0;
}

static int clamp_weight(json_int_t v)
{
	return v < 0 ? 0 : v > 256 ? 256 : (int)v;
}

int rstate_from_json(struct rstate *s, const struct cfg_env *env,
		     const char *json, struct ml_err *err)
{
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr);
	if (!json_is_object(root)) {
		json_decref(root);
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "ledger state of '%s' is not a JSON object: %s",
				  env->name, jerr.text);
	}
	json_t *nodes = json_object_get(root, "nodes");
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		const char *name = jstr(n, "name");
		if (!name)
			continue;
		for (size_t k = 0; k < env->n_nodes; k++) {
			if (strcmp(env->nodes[k].name, name) != 0)
				continue;
			rstate_set_serving(s, k, jstr(n, "serving"));
			json_t *w = json_object_get(n, "weight");
			json_t *p = json_object_get(n, "preview_weight");
			/* untrusted: router weights are 0..256 */
			if (json_is_integer(w))
				s->live[k] = clamp_weight(json_integer_value(w));
			if (json_is_integer(p))
				s->preview[k] = clamp_weight(json_integer_value(p));
		}
	}
	int rc = 0;
	if (release_from_json(&s->release, json_object_get(root, "release")) ||
	    release_from_json(&s->previous, json_object_get(root, "previous")))
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL,
				"ledger state of '%s' has a malformed release",
				env->name);
	const char *strategy = jstr(root, "strategy");
	if (strategy)
		s->strategy = xstrdup(strategy);
	json_decref(root);
	return rc;
}

int rstate_load(struct rstate *s, const struct cfg_env *env, struct ledger *l,
		struct ml_err *err)
{
	rstate_init(s, env);
	if (!l)
		return 0;
	struct ledger_entry *tip = NULL;
	if (ledger_current(l, env->name, LEDGER_LOAD_STATE, NULL, &tip, err))
		return -1;
	int rc = 0;
	if (tip && tip->state_json && *tip->state_json)
		rc = rstate_from_json(s, env, tip->state_json, err);
	ledger_entry_free(tip);
	return rc;
}

char *rstate_to_json(const struct rstate *s, const struct cfg_env *env,
		     const char *extra_json)
{
	json_t *root = json_object();
	json_object_set_new(root, "env", json_string(env->name));
	json_object_set_new(root, "release", release_json(&s->release));
	if (s->previous.model)
		json_object_set_new(root, "previous", release_json(&s->previous));
	if (s->strategy)
		json_object_set_new(root, "strategy", json_string(s->strategy));
	json_object_set_new(root, "router",
			    json_string(cfg_router_driver_name(env->router_driver)));
	json_t *nodes = json_array();
	for (size_t i = 0; i < s->n_nodes; i++) {
		json_t *n = json_object();
		json_object_set_new(n, "name", json_string(env->nodes[i].name));
		json_object_set_new(n, "url", json_string(env->nodes[i].url));
		json_object_set_new(n, "serving", s->serving[i]
							  ? json_string(s->serving[i])
							  : json_null());
		json_object_set_new(n, "weight", json_integer(s->live[i]));
		json_object_set_new(n, "preview_weight", json_integer(s->preview[i]));
		json_array_append_new(nodes, n);
	}
	json_object_set_new(root, "nodes", nodes);
	if (extra_json) {
		json_t *extra = json_loads(extra_json, 0, NULL);
		if (json_is_object(extra))
			json_object_update(root, extra);
		json_decref(extra);
	}
	char *t = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	char *out = xstrdup(t);
	free(t);
	return out;
}

struct rollout_state rstate_view(const struct rstate *s)
{
	struct rollout_state v = { s->n_nodes, (const char *const *)s->serving,
				   s->live, s->release.model };
	return v;
}
