/* plan.c — building plans: steps, their readable text, and the sizing
 * rules the strategies share (rolling waves, canary weights, pools). */
#include "exitcode.h"
#include "strategy.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *step_kind_name(enum step_kind k)
{
	static const char *const names[] = {
#define STEP_NAME(name, text) text,
		STEP_KIND_LIST(STEP_NAME)
#undef STEP_NAME
	};
	return names[k];
}

struct plan_step *plan_add(struct plan *p, enum step_kind kind,
			   const size_t *nodes, size_t n_nodes)
{
	if (p->n_steps == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->steps = xrealloc(p->steps, p->cap * sizeof(*p->steps));
	}
	struct plan_step *s = &p->steps[p->n_steps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if (n_nodes) {
		s->nodes = xmalloc(n_nodes * sizeof(*s->nodes));
		memcpy(s->nodes, nodes, n_nodes * sizeof(*nodes));
		s->n_nodes = n_nodes;
	}
	return s;
}

struct plan_step *plan_insert(struct plan *p, size_t at, enum step_kind kind,
			      const size_t *nodes, size_t n_nodes)
{
	if (at > p->n_steps)
		at = p->n_steps;
	plan_add(p, kind, nodes, n_nodes);
	struct plan_step s = p->steps[p->n_steps - 1];
	memmove(&p->steps[at + 1], &p->steps[at],
		(p->n_steps - 1 - at) * sizeof(*p->steps));
	p->steps[at] = s;
	return &p->steps[at];
}

void plan_step_text(struct plan_step *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(s->text);
	s->text = xvasprintf(fmt, ap);
	va_end(ap);
}

char *plan_node_list(const struct cfg_env *env, const size_t *nodes, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(env->nodes[nodes[i]].name) + 2;
	char *s = xmalloc(len);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, env->nodes[nodes[i]].name);
	}
	return s;
}

void plan_add_unloads(struct plan *p, const struct cfg_env *env,
		      const struct rollout_state *st, const size_t *nodes,
		      size_t n, int wave, const char *keep)
{
	size_t *group = xmalloc((n + 1) * sizeof(*group));
	for (size_t i = 0; i < n; i++) {
		const char *v = st->serving[nodes[i]];
		if (!v || (keep && strcmp(v, keep) == 0))
			continue;
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= st->serving[nodes[j]] &&
				strcmp(st->serving[nodes[j]], v) == 0;
		if (seen)
			continue; /* this version's step is already planned */
		size_t k = 0;
		for (size_t j = i; j < n; j++)
			if (st->serving[nodes[j]] &&
			    strcmp(st->serving[nodes[j]], v) == 0)
				group[k++] = nodes[j];
		struct plan_step *s = plan_add(p, STEP_UNLOAD, group, k);
		s->wave = wave;
		s->version = xstrdup(v);
		char *names = plan_node_list(env, group, k);
		if (wave)
			plan_step_text(s, "wave %d: unload %s from %s", wave, v, names);
		else
			plan_step_text(s, "unload %s from %s", v, names);
		free(names);
	}
	free(group);
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		free(p->steps[i].nodes);
		free(p->steps[i].weights);
		free(p->steps[i].version);
		free(p->steps[i].text);
	}
	free(p->steps);
	free(p->from_version);
	free(p->to_version);
	free(p->target_nodes);
	memset(p, 0, sizeof(*p));
}

static size_t amount(const struct cfg_amount *a, size_t n, bool round_up,
		     double default_frac)
{
	double v;
	bool percent = a && a->set ? a->percent : true;
	double value = a && a->set ? a->value : default_frac;
	if (percent)
		v = round_up ? ceil(value * (double)n - 1e-9)
			     : floor(value * (double)n + 1e-9);
	else
		v = value;
	if (v < 0)
		v = 0;
	return (size_t)v;
}

void strategy_rolling_sizes(const struct cfg_strategy *block, size_t n_nodes,
			    size_t *unavailable, size_t *surge)
{
	size_t u = amount(block ? &block->max_unavailable : NULL, n_nodes, false, 0.25);
	size_t s = amount(block ? &block->max_surge : NULL, n_nodes, true, 0.25);
	bool scale_down_first = block && block->scale_down_first;
	if (scale_down_first) {
		/* capacity-bound nodes never hold two versions */
		s = 0;
		if (u == 0)
			u = 1;
	}
	/* never drain every node at once */
	if (n_nodes > 1 && u > n_nodes - 1)
		u = n_nodes - 1;
	if (n_nodes <= 1 && !scale_down_first)
		u = 0;
	if (u + s == 0)
		s = 1;
	if (u + s > n_nodes)
		s = n_nodes > u ? n_nodes - u : 0;
	*unavailable = u;
	*surge = s;
}

static unsigned gcd_u(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;
		a = b;
		b = t;
	}
	return a;
}

void strategy_canary_weights(size_t n, size_t k, int percent, int *canary_w,
			     int *stable_w)
{
	if (percent >= 100 || k >= n) {
		*canary_w = 1;
		*stable_w = 0;
		return;
	}
	/* k*c / (k*c + (n-k)*s) = percent/100  =>  c = p(n-k), s = (100-p)k */
	unsigned c = (unsigned)percent * (unsigned)(n - k);
	unsigned s = (unsigned)(100 - percent) * (unsigned)k;
	unsigned g = gcd_u(c, s);
	if (g) {
		c /= g;
		s /= g;
	}
	unsigned hi = c > s ? c : s;
	if (hi > 256) {
		double f = 256.0 / hi;
		c = (unsigned)lround(c * f);
		s = (unsigned)lround(s * f);
		if (c == 0)
			c = 1;
		if (s == 0)
			s = 1;
	}
	*canary_w = (int)c;
	*stable_w = (int)s;
}

size_t strategy_canary_nodes(const struct cfg_env *env, size_t *out)
{
	const struct cfg_strategy *st = &env->strategy;
	size_t n = 0;
	if (st->type == CFG_STRAT_CANARY && st->n_canary_nodes) {
		for (size_t i = 0; i < env->n_nodes; i++)
			for (size_t j = 0; j < st->n_canary_nodes; j++)
				if (strcmp(env->nodes[i].name, st->canary_nodes[j].name) == 0)
					out[n++] = i;
		return n;
	}
	size_t k = (env->n_nodes + 3) / 4; /* ceil(25%) */
	if (k == 0 && env->n_nodes)
		k = 1;
	for (size_t i = env->n_nodes - k; i < env->n_nodes; i++)
		out[n++] = i;
	return n;
}

void strategy_pools(const struct cfg_env *env, size_t *blue, size_t *n_blue,
		    size_t *green, size_t *n_green)
{
	const struct cfg_strategy *st = &env->strategy;
	*n_blue = *n_green = 0;
	if (st->has_pools) {
		for (size_t i = 0; i < env->n_nodes; i++) {
			for (size_t j = 0; j < st->n_blue; j++)
				if (strcmp(env->nodes[i].name, st->blue[j].name) == 0)
					blue[(*n_blue)++] = i;
			for (size_t j = 0; j < st->n_green; j++)
				if (strcmp(env->nodes[i].name, st->green[j].name) == 0)
					green[(*n_green)++] = i;
		}
		return;
	}
	size_t half = (env->n_nodes + 1) / 2;
	for (size_t i = 0; i < env->n_nodes; i++) {
		if (i < half)
			blue[(*n_blue)++] = i;
		else
			green[(*n_green)++] = i;
	}
}

void strategy_opts_for(const struct cfg_env *env, int cli_type,
		       struct strategy_opts *out)
{
	memset(out, 0, sizeof(*out));
	out->env = env;
	enum cfg_strategy_type env_type =
		env->strategy.set ? env->strategy.type : CFG_STRAT_RECREATE;
	out->type = cli_type >= 0 ? (enum cfg_strategy_type)cli_type : env_type;
	out->env_block = out->type == env_type && env->strategy.set
				 ? &env->strategy
				 : NULL;
}

/* The version most nodes in rotation serve now (all nodes when none is
 * in rotation), or NULL. */
static char *majority_version(const struct rollout_state *st)
{
	bool any_live = false;
	for (size_t i = 0; i < st->n_nodes; i++)
		any_live |= st->serving[i] && (!st->weights || st->weights[i] > 0);
	const char *best = NULL;
	size_t best_n = 0;
	for (size_t i = 0; i < st->n_nodes; i++) {
		bool counts_i = !any_live || !st->weights || st->weights[i] > 0;
		if (!st->serving[i] || !counts_i)
			continue;
		size_t c = 0;
		for (size_t j = 0; j < st->n_nodes; j++) {
			bool counts_j = !any_live || !st->weights || st->weights[j] > 0;
			c += counts_j && st->serving[j] &&
			     strcmp(st->serving[j], st->serving[i]) == 0;
		}
		if (c > best_n) {
			best_n = c;
			best = st->serving[i];
		}
	}
	return best ? xstrdup(best) : NULL;
}

/* Whether every node serves `version` and is in rotation: then there is
 * nothing to do, whatever the strategy. */
static bool all_on(const struct rollout_state *st, const char *version)
{
	for (size_t i = 0; i < st->n_nodes; i++) {
		if (!st->serving[i] || strcmp(st->serving[i], version) != 0)
			return false;
		if (st->weights && st->weights[i] <= 0)
			return false;
	}
	return st->n_nodes > 0;
}

/* After a rollout that leaves every node on the target, nodes a previous
 * blue/green left out of rotation come back with equal weights. */
void strategy_equalize_if_needed(const struct strategy_opts *o,
				 const struct rollout_state *st, struct plan *p)
{
	const struct cfg_env *env = o->env;
	if (env->router_driver == CFG_ROUTER_NONE || !st->weights)
		return;
	bool idle = false;
	for (size_t i = 0; i < env->n_nodes; i++)
		idle |= st->weights[i] <= 0;
	if (!idle)
		return;
	struct plan_step *s = plan_add(p, STEP_WEIGHTS, NULL, 0);
	s->weights = xcalloc(env->n_nodes, sizeof(*s->weights));
	for (size_t j = 0; j < env->n_nodes; j++)
		s->weights[j] = 1;
	plan_step_text(s, "equal weights on every node");
}

int strategy_plan(const struct strategy_opts *o, const struct rollout_state *st,
		  const struct cfg_release *rel, struct plan *out,
		  struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	if (st->model && rel->model && strcmp(st->model, rel->model) != 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "%s serves model '%s'; this release is model "
				  "'%s' (an environment serves one model: use "
				  "another environment for '%s')",
				  o->env->name, st->model, rel->model, rel->model);
	out->strategy = o->type;
	out->to_version = xstrdup(rel->version);
	out->from_version = majority_version(st);
	if (all_on(st, rel->version))
		return 0; /* nothing to do */
	int rc = -1;
	switch (o->type) {
	case CFG_STRAT_RECREATE:
		rc = strategy_recreate_plan(o, st, rel->version, out, err);
		break;
	case CFG_STRAT_ROLLING:
		rc = strategy_rolling_plan(o, st, rel->version, out, err);
		break;
	case CFG_STRAT_BLUEGREEN:
		rc = strategy_bluegreen_plan(o, st, rel->version, out, err);
		break;
	case CFG_STRAT_CANARY:
		if (!out->from_version) {
			/* nothing serves yet: no stable release to compare
			 * a canary with, so the release rolls out directly */
			out->strategy = CFG_STRAT_ROLLING;
			struct strategy_opts ro = { CFG_STRAT_ROLLING, NULL, o->env };
			rc = strategy_rolling_plan(&ro, st, rel->version, out, err);
			break;
		}
		rc = strategy_canary_plan(o, st, rel->version, out, err);
		break;
	}
	if (rc)
		plan_release(out);
	return rc;
}
