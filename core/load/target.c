/* target.c — an environment and a release as a load target (target.h). */
#include "load/target.h"

#include "exitcode.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const struct cfg_field *input_field(const struct cfg_release *rel,
					   const char *name)
{
	for (size_t i = 0; i < rel->expectations.n_inputs; i++)
		if (strcmp(rel->expectations.inputs[i].name, name) == 0)
			return &rel->expectations.inputs[i];
	return NULL;
}

char *load_v2_body(const struct cfg_release *rel,
		   const struct cfg_smoke_case *sc)
{
	json_t *inputs = json_array();
	for (size_t i = 0; i < sc->n_inputs; i++) {
		const struct cfg_value *v = &sc->inputs[i];
		const struct cfg_field *f = input_field(rel, v->name);
		json_t *in = json_object();
		json_t *data = json_array();
		const char *dt;
		switch (v->kind) {
		case CFG_V_STRING:
			dt = "BYTES";
			json_array_append_new(data, json_string(v->str));
			break;
		case CFG_V_BOOL:
			dt = "BOOL";
			json_array_append_new(data, json_boolean(v->b));
			break;
		case CFG_V_NUMBER:
		default:
			dt = f ? cfg_type_v2(f->type) : "FP64";
			if (f && f->type == CFG_T_INTEGER)
				json_array_append_new(
					data, json_integer((json_int_t)v->num));
			else
				json_array_append_new(data, json_real(v->num));
			break;
		}
		json_object_set_new(in, "name", json_string(v->name));
		json_object_set_new(in, "shape", json_pack("[i]", 1));
		json_object_set_new(in, "datatype", json_string(dt));
		json_object_set_new(in, "data", data);
		json_array_append_new(inputs, in);
	}
	json_t *root = json_object();
	json_object_set_new(root, "inputs", inputs);
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		abort(); /* out of memory */
	char *out = xstrdup(s);
	free(s);
	return out;
}

static void add_str(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

int load_env_target_init(struct load_env_target *out,
			 const struct cfg_env *env,
			 const struct cfg_release *rel, struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	if (rel->checks.smoke.n_cases == 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "%s: the release has no smoke case to build "
				  "an infer request from (give --body FILE)",
				  rel->file);
	char *path = xasprintf("/v2/models/%s/infer", rel->model);
	if (env->router_driver != CFG_ROUTER_NONE && env->listen.set) {
		bool v6 = strchr(env->listen.host, ':') != NULL;
		add_str(&out->urls, &out->n_urls,
			xasprintf(v6 ? "http://[%s]:%d%s" : "http://%s:%d%s",
				  env->listen.host, env->listen.port, path));
	} else {
		for (size_t i = 0; i < env->n_nodes; i++) {
			const struct cfg_node *nd = &env->nodes[i];
			if (nd->tls) {
				free(path);
				load_env_target_release(out);
				return ml_err_set(err, ML_EXIT_USAGE,
						  "%s: node %s is https, which "
						  "the load generator does not "
						  "speak", env->file, nd->name);
			}
			bool v6 = strchr(nd->host, ':') != NULL;
			add_str(&out->urls, &out->n_urls,
				xasprintf(v6 ? "http://[%s]:%d%s"
					     : "http://%s:%d%s",
					  nd->host, nd->port, path));
		}
	}
	free(path);
	if (out->n_urls == 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "%s: environment '%s' has neither a router "
				  "nor a node", env->file, env->name);
	out->method = xstrdup("POST");
	out->body = load_v2_body(rel, &rel->checks.smoke.cases[0]);
	out->body_len = strlen(out->body);
	add_str(&out->headers, &out->n_headers,
		xstrdup("Content-Type: application/json"));
	const char *tok = env->token_env ? getenv(env->token_env) : NULL;
	if (tok && *tok)
		add_str(&out->headers, &out->n_headers,
			xasprintf("Authorization: Bearer %s", tok));
	return 0;
}

char *load_versioned_infer_url(const char *base, const char *model,
			       const char *version)
{
	size_t l = strlen(base);
	while (l && base[l - 1] == '/')
		l--;
	return xasprintf("%.*s/v2/models/%s/versions/%s/infer", (int)l, base,
			 model, version);
}

void load_env_target_release(struct load_env_target *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_urls; i++)
		free(t->urls[i]);
	for (size_t i = 0; i < t->n_headers; i++)
		free(t->headers[i]);
	free(t->urls);
	free(t->headers);
	free(t->method);
	free(t->body);
	memset(t, 0, sizeof(*t));
}

void load_env_target_apply(const struct load_env_target *t,
			   struct load_opts *o)
{
	o->urls = (const char *const *)t->urls;
	o->n_urls = t->n_urls;
	o->method = t->method;
	o->headers = (const char *const *)t->headers;
	o->n_headers = t->n_headers;
	o->body = t->body;
	o->body_len = t->body_len;
}

void load_checks_merge(const struct cfg_env *env,
		       const struct cfg_release *rel, double *rate,
		       long long *duration_ms, int *connections,
		       struct load_thresholds *t)
{
	const struct cfg_checks *cs[2] = { env ? &env->checks : NULL,
					   rel ? &rel->checks : NULL };
	for (int i = 0; i < 2; i++) {
		if (!cs[i] || !cs[i]->load.set)
			continue;
		const struct cfg_checks *c = cs[i];
		if (c->load.rate > *rate)
			*rate = c->load.rate;
		if (c->load.duration_ms > *duration_ms)
			*duration_ms = c->load.duration_ms;
		if (c->load.connections > *connections)
			*connections = c->load.connections;
		double p99 = (double)c->load.max_p99_ms;
		if (c->load.max_p99_ms >= 0 &&
		    (t->max_p99_ms < 0 || p99 < t->max_p99_ms))
			t->max_p99_ms = p99;
		double er = c->load.max_error_rate;
		if (er >= 0 && (t->max_error_rate < 0 || er < t->max_error_rate))
			t->max_error_rate = er;
	}
}
