/* target.c — where a release is loaded in an environment, asked of the
 * nodes themselves (version-ready on each, concurrently), and whether the
 * router can carry the gates' traffic to it. */
#include "gates/gate.h"

#include "exitcode.h"
#include "node.h"
#include "proc.h"
#include "rstate.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gate_target_release(struct gate_target *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->router_url);
	free(t->router_note);
	free(t->others);
	memset(t, 0, sizeof(*t));
}

static void append(char **s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void append(char **s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *add = xvasprintf(fmt, ap);
	va_end(ap);
	char *n = xasprintf("%s%s%s", *s ? *s : "", *s ? ", " : "", add);
	free(add);
	free(*s);
	*s = n;
}

/* What node i serves, from its repository index (v2) or the ledger. */
static const char *serving_of(const struct node_result *idx,
			      const struct rstate *st, size_t i,
			      const char *model)
{
	if (idx && idx[i].rc == 0) {
		for (size_t k = 0; k < idx[i].n_models; k++)
			if (idx[i].models[k].name &&
			    strcmp(idx[i].models[k].name, model) == 0 &&
			    idx[i].models[k].version &&
			    idx[i].models[k].state &&
			    strcmp(idx[i].models[k].state, "READY") == 0)
				return idx[i].models[k].version;
		return "nothing";
	}
	if (st && i < st->n_nodes && st->serving[i])
		return st->serving[i];
	return "nothing";
}

int gate_target_find(const struct cfg_env *env, const struct cfg_release *rel,
		     const struct rstate *st, struct gate_target *out,
		     struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	size_t n = env->n_nodes;
	if (n == 0)
		return ml_err_set(err, ML_EXIT_USAGE, "%s: environment %s has "
						      "no nodes",
				  env->file, env->name);
	const struct cfg_node **all = xcalloc(n, sizeof(*all));
	for (size_t i = 0; i < n; i++)
		all[i] = &env->nodes[i];
	struct node_result *res = xcalloc(n, sizeof(*res));
	struct node_result *idx = NULL;
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_VERSION_READY;
	call.model = rel->model;
	call.version = rel->version;
	call.rel = rel;
	int rc = -1;
	size_t bad = node_run_many(env, all, n, &call, NULL, res);
	if (bad) {
		char *list = NULL;
		for (size_t i = 0; i < n; i++)
			if (res[i].rc < 0)
				append(&list, "%s", res[i].err.msg);
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "%s cannot be reached: %s (is it up? mlctl up %s)",
			   env->name, list, env->name);
		free(list);
		goto out;
	}
	out->nodes = xcalloc(n, sizeof(*out->nodes));
	for (size_t i = 0; i < n; i++)
		if (res[i].yes)
			out->nodes[out->n_nodes++] = all[i];
	if (out->n_nodes < n && env->node_driver == CFG_NODE_V2) {
		idx = xcalloc(n, sizeof(*idx));
		struct node_call ic = NODE_CALL_INIT;
		ic.op = NODE_OP_INDEX;
		node_run_many(env, all, n, &ic, NULL, idx);
	}
	for (size_t i = 0; i < n; i++)
		if (!res[i].yes)
			append(&out->others, "%s serves %s", env->nodes[i].name,
			       serving_of(idx, st, i, rel->model));
	if (out->n_nodes == 0) {
		ml_err_set(err, ML_EXIT_USAGE,
			   "%s %s is not loaded in %s: %s; deploy it first "
			   "(mlctl deploy %s --env %s)",
			   rel->model, rel->version, env->name, out->others,
			   rel->file, env->name);
		goto out;
	}

	/* the router: usable when everything it sends live traffic to
	 * serves this release */
	if (env->router_driver != CFG_ROUTER_NONE && env->listen.set) {
		char *mixed = NULL;
		for (size_t i = 0; i < n; i++) {
			bool live = !st || i >= st->n_nodes || st->live[i] > 0;
			if (live && !res[i].yes)
				append(&mixed, "%s", env->nodes[i].name);
		}
		if (mixed) {
			out->router_note = xasprintf(
				"the router also sends traffic to %s, which "
				"%s not serve %s; the gates go to the nodes",
				mixed, strchr(mixed, ',') ? "do" : "does",
				rel->version);
			free(mixed);
		} else if (!proc_port_open(env->listen.host, env->listen.port)) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "the router of %s (%s:%d) does not accept "
				   "connections (is it up? mlctl up %s)",
				   env->name, env->listen.host, env->listen.port,
				   env->name);
			goto out;
		} else {
			bool v6 = strchr(env->listen.host, ':') != NULL;
			out->router_url = xasprintf(v6 ? "http://[%s]:%d"
						       : "http://%s:%d",
						    env->listen.host,
						    env->listen.port);
		}
	}
	rc = 0;
out:
	if (rc)
		gate_target_release(out);
	node_results_release(res, n);
	if (idx)
		node_results_release(idx, n);
	free(res);
	free(idx);
	free(all);
	return rc;
}
