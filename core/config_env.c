/* config_env.c — the Environment document: nodes, router, strategy,
 * gates and checks floors. Checks within one file live here (unique node
 * names and URLs, strategy keys that fit the type, pools and canary nodes
 * naming nodes of this environment); checks across files are project.c's. */
#include "config_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void nodes_decode(struct dec *dc, const struct ydoc_node *root,
			 struct cfg_env *env)
{
	static const char *const keys[] = { "name", "url", NULL };
	const struct ydoc_node *seq = dec_field(dc, root, "nodes", true);
	if (!seq)
		return;
	size_t saved = dec_push_key(dc, "nodes");
	if (dec_seq(dc, seq)) {
		if (seq->n_items == 0)
			dec_error(dc, seq, "expected at least one node");
		env->nodes = xcalloc(seq->n_items, sizeof(*env->nodes));
		for (size_t i = 0; i < seq->n_items; i++) {
			const struct ydoc_node *n = seq->items[i];
			struct cfg_node *node = &env->nodes[env->n_nodes++];
			node->pos = dec_pos(n);
			size_t s2 = dec_push_index(dc, i);
			if (dec_map(dc, n, keys)) {
				dec_name(dc, n, "name", true, &node->name,
					 &node->name_pos);
				if (dec_str(dc, n, "url", true, &node->url)) {
					const struct ydoc_node *u = ydoc_get(n, "url");
					node->url_pos = dec_pos(u);
					size_t s3 = dec_push_key(dc, "url");
					if (strchr(node->url, '['))
						dec_error(dc, u,
							  "IPv6 addresses are not supported "
							  "(use an IPv4 address or a host "
							  "name), found '%s'",
							  node->url);
					else if (cfg_parse_url(node->url, true,
							       &node->host, &node->port,
							       &node->tls))
						dec_error(dc, u,
							  "expected an http or https URL "
							  "with host and port, like "
							  "http://127.0.0.1:8411, found '%s'",
							  node->url);
					dec_pop(dc, s3);
				}
			}
			dec_pop(dc, s2);
		}
		/* unique names within the environment (across: project.c) */
		for (size_t i = 0; i < env->n_nodes; i++) {
			for (size_t j = 0; j < i; j++) {
				struct cfg_node *a = &env->nodes[j], *b = &env->nodes[i];
				if (a->name && b->name && strcmp(a->name, b->name) == 0) {
					size_t s2 = dec_push_index(dc, i);
					size_t s3 = dec_push_key(dc, "name");
					dec_error_pos(dc, b->name_pos,
						      "duplicate node name '%s' (also "
						      "at line %u)",
						      b->name, a->name_pos.line);
					dec_pop(dc, s3);
					dec_pop(dc, s2);
				}
			}
		}
	}
	dec_pop(dc, saved);
}

static void addr_decode(struct dec *dc, const struct ydoc_node *router,
			const char *key, struct cfg_addr *out)
{
	char *s = NULL;
	if (!dec_str(dc, router, key, false, &s))
		return;
	const struct ydoc_node *n = ydoc_get(router, key);
	out->pos = dec_pos(n);
	if (!strchr(s, '[') && cfg_parse_hostport(s, &out->host, &out->port) == 0) {
		out->set = true;
	} else {
		size_t saved = dec_push_key(dc, key);
		if (strchr(s, '['))
			dec_error(dc, n, "IPv6 addresses are not supported (use an "
					 "IPv4 address or a host name), found '%s'",
				  s);
		else
			dec_error(dc, n, "expected host:port like 127.0.0.1:8410, "
					 "found '%s'",
				  s);
		dec_pop(dc, saved);
	}
	free(s);
}

static void router_decode(struct dec *dc, const struct ydoc_node *root,
			  struct cfg_env *env)
{
	static const char *const keys[] = { "driver", "listen", "preview", NULL };
	const struct ydoc_node *n = dec_field(dc, root, "router", false);
	if (!n)
		return;
	size_t saved = dec_push_key(dc, "router");
	if (dec_map(dc, n, keys)) {
		int d = CFG_ROUTER_NONE;
		if (dec_enum(dc, n, "driver", true, cfg_router_driver_names, &d))
			env->router_driver = (enum cfg_router_driver)d;
		addr_decode(dc, n, "listen", &env->listen);
		addr_decode(dc, n, "preview", &env->preview);
		const struct ydoc_node *l = ydoc_get(n, "listen");
		if (env->router_driver != CFG_ROUTER_NONE && (!l || ydoc_is_null(l))) {
			size_t s2 = dec_push_key(dc, "listen");
			dec_error(dc, n, "missing required key 'listen' (the %s "
					 "router needs an address)",
				  cfg_router_driver_name(env->router_driver));
			dec_pop(dc, s2);
		}
		if (env->listen.set && env->preview.set &&
		    strcmp(env->listen.host, env->preview.host) == 0 &&
		    env->listen.port == env->preview.port) {
			size_t s2 = dec_push_key(dc, "preview");
			dec_error_pos(dc, env->preview.pos,
				      "preview address is the same as listen");
			dec_pop(dc, s2);
		}
	}
	dec_pop(dc, saved);
}

static void amount_decode(struct dec *dc, const struct ydoc_node *map,
			  const char *key, struct cfg_amount *out)
{
	const struct ydoc_node *n = dec_field(dc, map, key, false);
	if (!n)
		return;
	size_t saved = dec_push_key(dc, key);
	long long v;
	double f;
	out->pos = dec_pos(n);
	if (n->kind == YDOC_SCALAR && n->plain && scalar_is_int(n->str, &v) &&
	    v >= 0 && v <= 100000) {
		out->set = true;
		out->value = (double)v;
	} else if (n->kind == YDOC_SCALAR && strchr(n->str, '%') &&
		   cfg_parse_percent(n->str, &f) == 0) {
		out->set = true;
		out->percent = true;
		out->value = f;
	} else {
		bool scalar = n->kind == YDOC_SCALAR;
		dec_error(dc, n, "expected a node count like 1 or a percentage "
				 "like 25%%, found %s%s%s",
			  scalar ? "'" : "", scalar ? n->str : ydoc_describe(n),
			  scalar ? "'" : "");
	}
	dec_pop(dc, saved);
}

static void name_list_decode(struct dec *dc, const struct ydoc_node *map,
			     const char *key, struct cfg_name_ref **out,
			     size_t *n_out)
{
	const struct ydoc_node *seq = dec_field(dc, map, key, false);
	if (!seq)
		return;
	size_t saved = dec_push_key(dc, key);
	if (dec_seq(dc, seq)) {
		if (seq->n_items == 0)
			dec_error(dc, seq, "expected at least one node name");
		*out = xcalloc(seq->n_items, sizeof(**out));
		for (size_t i = 0; i < seq->n_items; i++) {
			size_t s2 = dec_push_index(dc, i);
			struct cfg_name_ref *r = &(*out)[*n_out];
			if (dec_node_name(dc, seq->items[i], &r->name)) {
				r->pos = dec_pos(seq->items[i]);
				(*n_out)++;
			}
			dec_pop(dc, s2);
		}
	}
	dec_pop(dc, saved);
}

static void steps_decode(struct dec *dc, const struct ydoc_node *map,
			 struct cfg_strategy *st)
{
	static const char *const keys[] = { "weight", "pause", NULL };
	const struct ydoc_node *seq = dec_field(dc, map, "steps", false);
	if (!seq)
		return;
	size_t saved = dec_push_key(dc, "steps");
	if (dec_seq(dc, seq)) {
		if (seq->n_items == 0)
			dec_error(dc, seq, "expected at least one step");
		st->steps = xcalloc(seq->n_items, sizeof(*st->steps));
		st->n_steps = seq->n_items;
		int prev = 0;
		for (size_t i = 0; i < seq->n_items; i++) {
			const struct ydoc_node *n = seq->items[i];
			struct cfg_step *step = &st->steps[i];
			step->pos = dec_pos(n);
			size_t s2 = dec_push_index(dc, i);
			if (dec_map(dc, n, keys)) {
				long long w;
				if (dec_int(dc, n, "weight", true, 1, 100, &w)) {
					step->weight = (int)w;
					if (step->weight <= prev) {
						size_t s3 = dec_push_key(dc, "weight");
						dec_error(dc, ydoc_get(n, "weight"),
							  "expected a weight above the "
							  "previous step's %d, found %d",
							  prev, step->weight);
						dec_pop(dc, s3);
					}
					prev = step->weight;
				}
				const struct ydoc_node *p = ydoc_get(n, "pause");
				if (p && p->kind == YDOC_SCALAR &&
				    strcmp(p->str, "manual") == 0)
					step->manual = true;
				else if (p)
					dec_duration(dc, n, "pause", false,
						     &step->pause_ms);
			}
			dec_pop(dc, s2);
		}
	}
	dec_pop(dc, saved);
}

static void strategy_key_fits(struct dec *dc, const struct ydoc_node *n,
			      const char *key, unsigned types_mask,
			      enum cfg_strategy_type t, const char *which)
{
	const struct ydoc_pair *p = ydoc_pair(n, key);
	if (p && !(types_mask & (1u << t))) {
		size_t s = dec_push_key(dc, key);
		dec_error(dc, p->key, "'%s' applies to %s strategies, not %s",
			  key, which, cfg_strategy_name(t));
		dec_pop(dc, s);
	}
}

static void strategy_decode(struct dec *dc, const struct ydoc_node *root,
			    struct cfg_env *env)
{
	static const char *const keys[] = {
		"type", "steps", "analysis", "max_surge", "max_unavailable",
		"scale_down_first", "pools", "canary_nodes", NULL
	};
	static const char *const pool_keys[] = { "blue", "green", NULL };
	struct cfg_strategy *st = &env->strategy;
	const struct ydoc_node *n = dec_field(dc, root, "strategy", false);
	if (!n)
		return;
	size_t saved = dec_push_key(dc, "strategy");
	st->pos = dec_pos(n);
	if (!dec_map(dc, n, keys))
		goto out;
	int t;
	/* an unknown or missing type is reported; the other keys are still
	 * checked (every error of a file), only not against the type */
	bool typed = dec_enum(dc, n, "type", true, cfg_strategy_names, &t);
	if (typed) {
		st->set = true;
		st->type = (enum cfg_strategy_type)t;
		st->type_pos = dec_pos(ydoc_get(n, "type"));
	}
	const unsigned canary = 1u << CFG_STRAT_CANARY;
	const unsigned rolling = 1u << CFG_STRAT_ROLLING;
	if (!typed)
		goto values;
	strategy_key_fits(dc, n, "steps", canary, st->type, "canary");
	strategy_key_fits(dc, n, "analysis", canary, st->type, "canary");
	strategy_key_fits(dc, n, "canary_nodes", canary, st->type, "canary");
	strategy_key_fits(dc, n, "max_surge", rolling | canary, st->type,
			  "rolling and canary");
	strategy_key_fits(dc, n, "max_unavailable", rolling | canary, st->type,
			  "rolling and canary");
	strategy_key_fits(dc, n, "scale_down_first", rolling | canary, st->type,
			  "rolling and canary");
values:
	steps_decode(dc, n, st);
	const struct ydoc_node *a = dec_field(dc, n, "analysis", false);
	if (a) {
		size_t s = dec_push_key(dc, "analysis");
		cfg_analysis_decode(dc, a, &st->analysis);
		dec_pop(dc, s);
	}
	amount_decode(dc, n, "max_surge", &st->max_surge);
	amount_decode(dc, n, "max_unavailable", &st->max_unavailable);
	if (st->max_surge.set && st->max_unavailable.set &&
	    st->max_surge.value == 0 && st->max_unavailable.value == 0) {
		size_t s = dec_push_key(dc, "max_unavailable");
		dec_error_pos(dc, st->max_unavailable.pos,
			      "max_surge and max_unavailable cannot both be 0");
		dec_pop(dc, s);
	}
	dec_bool(dc, n, "scale_down_first", false, &st->scale_down_first);
	name_list_decode(dc, n, "canary_nodes", &st->canary_nodes,
			 &st->n_canary_nodes);
	const struct ydoc_node *pools = dec_field(dc, n, "pools", false);
	if (pools) {
		size_t s = dec_push_key(dc, "pools");
		if (dec_map(dc, pools, pool_keys)) {
			st->has_pools = true;
			if (!ydoc_get(pools, "blue") || !ydoc_get(pools, "green"))
				dec_error(dc, pools, "expected both 'blue' and "
						     "'green' pools");
			name_list_decode(dc, pools, "blue", &st->blue, &st->n_blue);
			name_list_decode(dc, pools, "green", &st->green, &st->n_green);
		}
		dec_pop(dc, s);
	}
out:
	dec_pop(dc, saved);
}

/* Names in pools / canary_nodes must be nodes of this env; pools must not
 * overlap. */
static void node_refs_check(struct dec *dc, struct cfg_env *env)
{
	struct cfg_strategy *st = &env->strategy;
	struct {
		const char *path;
		struct cfg_name_ref *refs;
		size_t n;
	} lists[] = {
		{ "strategy.pools.blue", st->blue, st->n_blue },
		{ "strategy.pools.green", st->green, st->n_green },
		{ "strategy.canary_nodes", st->canary_nodes, st->n_canary_nodes },
	};
	size_t saved = dc->plen;
	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			struct cfg_name_ref *r = &lists[l].refs[i];
			dec_pop(dc, 0);
			dec_push_key(dc, lists[l].path);
			dec_push_index(dc, i);
			if (!cfg_env_node(env, r->name)) {
				dec_error_pos(dc, r->pos,
					      "no node named '%s' in environment '%s'",
					      r->name, env->name ? env->name : "?");
				continue;
			}
			for (size_t j = 0; j < i; j++)
				if (strcmp(lists[l].refs[j].name, r->name) == 0)
					dec_error_pos(dc, r->pos,
						      "node '%s' is listed twice",
						      r->name);
			if (l == 1)
				for (size_t j = 0; j < st->n_blue; j++)
					if (strcmp(st->blue[j].name, r->name) == 0)
						dec_error_pos(dc, r->pos,
							      "node '%s' is in both "
							      "pools (blue at line %u)",
							      r->name, st->blue[j].pos.line);
		}
	}
	if (st->n_canary_nodes && st->n_canary_nodes >= env->n_nodes) {
		dec_pop(dc, 0);
		dec_push_key(dc, "strategy.canary_nodes");
		dec_error_pos(dc, st->canary_nodes[0].pos,
			      "canary_nodes must leave at least one stable node");
	}
	dec_pop(dc, 0);
	(void)saved;
}

static void gates_decode(struct dec *dc, const struct ydoc_node *root,
			 struct cfg_env *env)
{
	const struct ydoc_node *seq = dec_field(dc, root, "gates", false);
	if (!seq)
		return;
	size_t saved = dec_push_key(dc, "gates");
	if (dec_seq(dc, seq)) {
		env->gates = xcalloc(seq->n_items, sizeof(*env->gates));
		env->gate_pos = xcalloc(seq->n_items, sizeof(*env->gate_pos));
		for (size_t i = 0; i < seq->n_items; i++) {
			const struct ydoc_node *g = seq->items[i];
			size_t s2 = dec_push_index(dc, i);
			int k = g->kind == YDOC_SCALAR ? cfg_gate_parse(g->str) : -1;
			if (k < 0) {
				bool scalar = g->kind == YDOC_SCALAR;
				dec_error(dc, g, "expected a gate: unit, integration, "
						 "smoke, load or acceptance, found %s%s%s",
					  scalar ? "'" : "",
					  scalar ? g->str : ydoc_describe(g),
					  scalar ? "'" : "");
			} else {
				bool dup = false;
				for (size_t j = 0; j < env->n_gates; j++)
					dup |= env->gates[j] == (enum cfg_gate)k;
				if (dup)
					dec_error(dc, g, "gate '%s' is listed twice",
						  g->str);
				env->gate_pos[env->n_gates] = dec_pos(g);
				env->gates[env->n_gates++] = (enum cfg_gate)k;
			}
			dec_pop(dc, s2);
		}
	}
	dec_pop(dc, saved);
}

static void exec_decode(struct dec *dc, const struct ydoc_node *root,
			struct cfg_env *env)
{
	static const char *const keys[] = { "load", "unload", "ready", "live",
					    "timeout", NULL };
	const struct ydoc_node *n = dec_field(dc, root, "exec", false);
	if (!n) {
		if (env->node_driver == CFG_NODE_EXEC) {
			size_t s = dec_push_key(dc, "exec");
			dec_error(dc, ydoc_get(root, "node_driver"),
				  "node_driver exec needs an 'exec' block with "
				  "load, unload and ready commands");
			dec_pop(dc, s);
		}
		return;
	}
	size_t saved = dec_push_key(dc, "exec");
	if (env->node_driver != CFG_NODE_EXEC) {
		dec_error(dc, n, "'exec' applies to node_driver exec, not %s",
			  cfg_node_driver_name(env->node_driver));
	} else if (dec_map(dc, n, keys)) {
		dec_str(dc, n, "load", true, &env->exec.load);
		dec_str(dc, n, "unload", true, &env->exec.unload);
		dec_str(dc, n, "ready", true, &env->exec.ready);
		dec_str(dc, n, "live", false, &env->exec.live);
		dec_duration(dc, n, "timeout", false, &env->exec.timeout_ms);
	}
	dec_pop(dc, saved);
}

static int env_load(const char *path, struct cfg_env **out, struct ml_diags *d,
		    bool keep_partial)
{
	static const char *const keys[] = {
		"apiVersion", "kind", "name", "tier", "promotes_from", "approval",
		"managed", "node_driver", "exec", "auth", "nodes", "router",
		"strategy", "gates", "checks", NULL
	};
	static const char *const auth_keys[] = { "token_env", NULL };
	*out = NULL;
	struct dec dc;
	struct ydoc *doc = cfg_open(path, "Environment", &dc, d);
	if (!doc)
		return -1;
	const struct ydoc_node *root = ydoc_root(doc);
	struct cfg_env *env = xcalloc(1, sizeof(*env));
	env->file = xstrdup(path);
	cfg_checks_init(&env->checks);
	env->strategy.type = CFG_STRAT_RECREATE;
	cfg_analysis_init(&env->strategy.analysis);

	dec_map(&dc, root, keys);
	dec_name(&dc, root, "name", true, &env->name, &env->name_pos);
	int v;
	if (dec_enum(&dc, root, "tier", true, cfg_tier_names, &v))
		env->tier = (enum cfg_tier)v;
	if (dec_name(&dc, root, "promotes_from", false, &env->promotes_from,
		     &env->promotes_from_pos) &&
	    env->name && strcmp(env->promotes_from, env->name) == 0) {
		size_t s = dec_push_key(&dc, "promotes_from");
		dec_error_pos(&dc, env->promotes_from_pos,
			      "an environment cannot promote from itself");
		dec_pop(&dc, s);
	}
	if (dec_enum(&dc, root, "approval", false, cfg_approval_names, &v))
		env->approval = (enum cfg_approval)v;
	dec_bool(&dc, root, "managed", false, &env->managed);
	if (dec_enum(&dc, root, "node_driver", false, cfg_node_driver_names, &v))
		env->node_driver = (enum cfg_node_driver)v;
	exec_decode(&dc, root, env);
	const struct ydoc_node *auth = dec_field(&dc, root, "auth", false);
	if (auth) {
		size_t s = dec_push_key(&dc, "auth");
		if (dec_map(&dc, auth, auth_keys))
			dec_str(&dc, auth, "token_env", true, &env->token_env);
		dec_pop(&dc, s);
	}
	nodes_decode(&dc, root, env);
	router_decode(&dc, root, env);
	strategy_decode(&dc, root, env);
	node_refs_check(&dc, env);
	if (env->strategy.set && env->strategy.type == CFG_STRAT_BLUEGREEN &&
	    !env->strategy.has_pools && env->n_nodes < 2) {
		dec_push_key(&dc, "strategy.type");
		dec_error_pos(&dc, env->strategy.type_pos,
			      "bluegreen needs at least 2 nodes (two pools)");
		dec_pop(&dc, 0);
	}
	if (env->strategy.set && env->strategy.type == CFG_STRAT_CANARY &&
	    env->n_nodes < 2) {
		dec_push_key(&dc, "strategy.type");
		dec_error_pos(&dc, env->strategy.type_pos,
			      "canary needs at least 2 nodes (canary and stable)");
		dec_pop(&dc, 0);
	}
	gates_decode(&dc, root, env);
	const struct ydoc_node *checks = dec_field(&dc, root, "checks", false);
	if (checks) {
		char *dir = path_dirname(path);
		size_t s = dec_push_key(&dc, "checks");
		cfg_checks_decode(&dc, checks, dir, &env->checks);
		dec_pop(&dc, s);
		free(dir);
	}
	ydoc_free(doc);
	if (dc.errors) {
		if (keep_partial) {
			env->partial = true;
			*out = env;
		} else {
			cfg_env_free(env);
		}
		return -1;
	}
	*out = env;
	return 0;
}

int cfg_env_load(const char *path, struct cfg_env **out, struct ml_diags *d)
{
	return env_load(path, out, d, false);
}

int cfg_env_load_partial(const char *path, struct cfg_env **out,
			 struct ml_diags *d)
{
	return env_load(path, out, d, true);
}

static void refs_free(struct cfg_name_ref *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].name);
	free(r);
}

void cfg_env_free(struct cfg_env *env)
{
	if (!env)
		return;
	free(env->file);
	free(env->name);
	free(env->promotes_from);
	free(env->exec.load);
	free(env->exec.unload);
	free(env->exec.ready);
	free(env->exec.live);
	free(env->token_env);
	for (size_t i = 0; i < env->n_nodes; i++) {
		free(env->nodes[i].name);
		free(env->nodes[i].url);
		free(env->nodes[i].host);
	}
	free(env->nodes);
	free(env->listen.host);
	free(env->preview.host);
	free(env->strategy.steps);
	refs_free(env->strategy.blue, env->strategy.n_blue);
	refs_free(env->strategy.green, env->strategy.n_green);
	refs_free(env->strategy.canary_nodes, env->strategy.n_canary_nodes);
	free(env->gates);
	free(env->gate_pos);
	cfg_checks_release(&env->checks);
	free(env);
}

const struct cfg_node *cfg_env_node(const struct cfg_env *env, const char *name)
{
	for (size_t i = 0; i < env->n_nodes; i++)
		if (env->nodes[i].name && strcmp(env->nodes[i].name, name) == 0)
			return &env->nodes[i];
	return NULL;
}
