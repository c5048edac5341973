/* config_checks.c — the blocks releases and environments share: the data
 * contract (`expectations`) and the gate settings (`checks`). An
 * environment's checks are floors; merging with a release's is the gate
 * module's job. */
#include "config_internal.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- expectations ------------------------------------------------------ */

static void field_decode(struct dec *dc, const struct ydoc_pair *p,
			 struct cfg_field *f)
{
	static const char *const keys[] = { "type", "min", "max", "exclusive_min",
					    "exclusive_max", "required", NULL };
	memset(f, 0, sizeof(*f));
	f->name = xstrdup(p->key->str);
	f->pos = dec_pos(p->key);
	size_t saved = dec_push_key(dc, p->key->str);
	const struct ydoc_node *n = p->value;
	if (dec_map(dc, n, keys)) {
		int t = CFG_T_NUMBER;
		if (dec_enum(dc, n, "type", true, cfg_type_names, &t))
			f->type = (enum cfg_type)t;
		f->has_min = dec_number(dc, n, "min", false, &f->min);
		f->has_max = dec_number(dc, n, "max", false, &f->max);
		f->has_xmin = dec_number(dc, n, "exclusive_min", false, &f->xmin);
		f->has_xmax = dec_number(dc, n, "exclusive_max", false, &f->xmax);
		bool req = true;
		if (dec_bool(dc, n, "required", false, &req))
			f->optional = !req;
		bool bounded = f->has_min || f->has_max || f->has_xmin || f->has_xmax;
		if (bounded && f->type != CFG_T_NUMBER && f->type != CFG_T_INTEGER)
			dec_error(dc, n, "bounds apply to number and integer "
					 "fields, not %s",
				  cfg_type_name(f->type));
		double lo = f->has_min ? f->min : -INFINITY;
		double hi = f->has_max ? f->max : INFINITY;
		if (f->has_xmin && f->xmin >= lo)
			lo = f->xmin;
		if (f->has_xmax && f->xmax <= hi)
			hi = f->xmax;
		if (lo > hi || (lo == hi && (f->has_xmin || f->has_xmax)))
			dec_error(dc, n, "bounds leave no valid value");
	}
	dec_pop(dc, saved);
}

static void fields_decode(struct dec *dc, const struct ydoc_node *map,
			  const char *key, struct cfg_field **out, size_t *n)
{
	const struct ydoc_node *v = dec_field(dc, map, key, true);
	if (!v)
		return;
	size_t saved = dec_push_key(dc, key);
	if (v->kind != YDOC_MAP) {
		dec_error(dc, v, "expected a mapping of field name to rules, "
				 "found %s",
			  ydoc_describe(v));
	} else if (v->n_pairs == 0) {
		dec_error(dc, v, "expected at least one field");
	} else {
		*out = xcalloc(v->n_pairs, sizeof(**out));
		*n = v->n_pairs;
		for (size_t i = 0; i < v->n_pairs; i++)
			field_decode(dc, &v->pairs[i], &(*out)[i]);
	}
	dec_pop(dc, saved);
}

void cfg_expectations_decode(struct dec *dc, const struct ydoc_node *n,
			     struct cfg_expectations *out)
{
	static const char *const keys[] = { "inputs", "outputs", NULL };
	memset(out, 0, sizeof(*out));
	if (!dec_map(dc, n, keys))
		return;
	fields_decode(dc, n, "inputs", &out->inputs, &out->n_inputs);
	fields_decode(dc, n, "outputs", &out->outputs, &out->n_outputs);
}

void cfg_expectations_release(struct cfg_expectations *e)
{
	for (size_t i = 0; i < e->n_inputs; i++)
		free(e->inputs[i].name);
	for (size_t i = 0; i < e->n_outputs; i++)
		free(e->outputs[i].name);
	free(e->inputs);
	free(e->outputs);
	memset(e, 0, sizeof(*e));
}

const struct cfg_field *cfg_expectations_find(const struct cfg_field *f,
					      size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

static void fmt_num(char *buf, size_t sz, double x)
{
	snprintf(buf, sz, "%.17g", x);
	/* shortest form that reads back the same, without an exponent when
	 * there is one (10, not 1e+01) */
	bool have = false;
	for (int prec = 1; prec <= 17; prec++) {
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
		if (strtod(tmp, NULL) != x)
			continue;
		if (!strchr(tmp, 'e')) {
			snprintf(buf, sz, "%s", tmp);
			return;
		}
		if (!have)
			snprintf(buf, sz, "%s", tmp);
		have = true;
	}
}

bool cfg_field_check_number(const struct cfg_field *f, double x, char *msg,
			    size_t msgsz)
{
	char a[64], b[64];
	fmt_num(b, sizeof(b), x);
	if (!isfinite(x)) {
		snprintf(msg, msgsz, "must be a finite number, got %s", b);
		return false;
	}
	if (f->type == CFG_T_INTEGER && x != floor(x)) {
		snprintf(msg, msgsz, "must be an integer, got %s", b);
		return false;
	}
	if (f->has_xmin && !(x > f->xmin)) {
		fmt_num(a, sizeof(a), f->xmin);
		snprintf(msg, msgsz, "must be > %s, got %s", a, b);
		return false;
	}
	if (f->has_min && !(x >= f->min)) {
		fmt_num(a, sizeof(a), f->min);
		snprintf(msg, msgsz, "must be >= %s, got %s", a, b);
		return false;
	}
	if (f->has_xmax && !(x < f->xmax)) {
		fmt_num(a, sizeof(a), f->xmax);
		snprintf(msg, msgsz, "must be < %s, got %s", a, b);
		return false;
	}
	if (f->has_max && !(x <= f->max)) {
		fmt_num(a, sizeof(a), f->max);
		snprintf(msg, msgsz, "must be <= %s, got %s", a, b);
		return false;
	}
	return true;
}

static json_t *fields_json(const struct cfg_field *f, size_t n)
{
	json_t *obj = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "type", json_string(cfg_type_name(f[i].type)));
		if (f[i].has_min)
			json_object_set_new(r, "min", json_real(f[i].min));
		if (f[i].has_max)
			json_object_set_new(r, "max", json_real(f[i].max));
		if (f[i].has_xmin)
			json_object_set_new(r, "exclusive_min", json_real(f[i].xmin));
		if (f[i].has_xmax)
			json_object_set_new(r, "exclusive_max", json_real(f[i].xmax));
		if (f[i].optional)
			json_object_set_new(r, "required", json_false());
		json_object_set_new(obj, f[i].name, r);
	}
	return obj;
}

char *cfg_expectations_to_json(const struct cfg_expectations *e)
{
	json_t *root = json_object();
	json_object_set_new(root, "inputs", fields_json(e->inputs, e->n_inputs));
	json_object_set_new(root, "outputs", fields_json(e->outputs, e->n_outputs));
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	char *copy = xstrdup(s);
	free(s);
	return copy;
}

static int fields_from_json(json_t *obj, struct cfg_field **out, size_t *n)
{
	if (!json_is_object(obj))
		return -1;
	*n = json_object_size(obj);
	*out = xcalloc(*n + 1, sizeof(**out));
	const char *key;
	json_t *v;
	size_t i = 0;
	json_object_foreach(obj, key, v) {
		struct cfg_field *f = &(*out)[i++];
		f->name = xstrdup(key);
		const char *t = json_string_value(json_object_get(v, "type"));
		for (int k = 0; t && cfg_type_names[k]; k++)
			if (strcmp(cfg_type_names[k], t) == 0)
				f->type = (enum cfg_type)k;
		json_t *b;
		if ((b = json_object_get(v, "min")) && json_is_number(b))
			f->has_min = true, f->min = json_number_value(b);
		if ((b = json_object_get(v, "max")) && json_is_number(b))
			f->has_max = true, f->max = json_number_value(b);
		if ((b = json_object_get(v, "exclusive_min")) && json_is_number(b))
			f->has_xmin = true, f->xmin = json_number_value(b);
		if ((b = json_object_get(v, "exclusive_max")) && json_is_number(b))
			f->has_xmax = true, f->xmax = json_number_value(b);
		f->optional = json_is_false(json_object_get(v, "required"));
	}
	return 0;
}

int cfg_expectations_from_json(const char *json, struct cfg_expectations *out)
{
	memset(out, 0, sizeof(*out));
	json_t *root = json_loads(json, 0, NULL);
	int rc = -1;
	if (json_is_object(root) &&
	    fields_from_json(json_object_get(root, "inputs"), &out->inputs,
			     &out->n_inputs) == 0 &&
	    fields_from_json(json_object_get(root, "outputs"), &out->outputs,
			     &out->n_outputs) == 0)
		rc = 0;
	json_decref(root);
	if (rc)
		cfg_expectations_release(out);
	return rc;
}

void cfg_expectations_free_fields(struct cfg_expectations *e)
{
	cfg_expectations_release(e);
}

/* ---- checks ------------------------------------------------------------ */

void cfg_checks_init(struct cfg_checks *c)
{
	memset(c, 0, sizeof(*c));
	c->load.max_p99_ms = -1;
	c->load.max_error_rate = -1;
}

static void command_decode(struct dec *dc, const struct ydoc_node *n,
			   bool with_junit, struct cfg_cmd_check *out)
{
	static const char *const unit_keys[] = { "run", "junit", "timeout", NULL };
	static const char *const integ_keys[] = { "run", "timeout", NULL };
	out->set = true;
	out->pos = dec_pos(n);
	if (!dec_map(dc, n, with_junit ? unit_keys : integ_keys))
		return;
	dec_str(dc, n, "run", false, &out->run);
	if (with_junit)
		dec_str(dc, n, "junit", false, &out->junit);
	dec_duration(dc, n, "timeout", false, &out->timeout_ms);
}

static void value_decode(struct dec *dc, const struct ydoc_pair *p,
			 struct cfg_value *v)
{
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(p->key->str);
	v->pos = dec_pos(p->value);
	const struct ydoc_node *n = p->value;
	size_t saved = dec_push_key(dc, p->key->str);
	if (n->kind != YDOC_SCALAR || ydoc_is_null(n)) {
		dec_error(dc, n, "expected a number, string or boolean, found %s",
			  ydoc_describe(n));
		v->bad = true;
	} else if (n->plain && scalar_is_number(n->str, &v->num)) {
		v->kind = CFG_V_NUMBER;
	} else if (n->plain && scalar_is_bool(n->str, &v->b)) {
		v->kind = CFG_V_BOOL;
	} else {
		v->kind = CFG_V_STRING;
		v->str = xstrdup(n->str);
	}
	dec_pop(dc, saved);
}

static void expect_decode(struct dec *dc, const struct ydoc_pair *p,
			  struct cfg_expect *e)
{
	static const char *const keys[] = { "min", "max", "equals", NULL };
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(p->key->str);
	e->pos = dec_pos(p->key);
	const struct ydoc_node *n = p->value;
	size_t saved = dec_push_key(dc, p->key->str);
	if (n->kind == YDOC_SCALAR) {
		e->has_equals = dec_node_number(dc, n, &e->equals);
	} else if (dec_map(dc, n, keys)) {
		e->has_min = dec_number(dc, n, "min", false, &e->min);
		e->has_max = dec_number(dc, n, "max", false, &e->max);
		e->has_equals = dec_number(dc, n, "equals", false, &e->equals);
		if (!e->has_min && !e->has_max && !e->has_equals)
			dec_error(dc, n, "expected at least one of min, max, equals");
		else if (e->has_min && e->has_max && e->min > e->max)
			dec_error(dc, ydoc_get(n, "max"),
				  "max (%g) is below min (%g)", e->max, e->min);
	}
	dec_pop(dc, saved);
}

static void smoke_case_decode(struct dec *dc, const struct ydoc_node *n,
			      struct cfg_smoke_case *sc)
{
	static const char *const keys[] = { "input", "expect", NULL };
	memset(sc, 0, sizeof(*sc));
	sc->pos = dec_pos(n);
	if (!dec_map(dc, n, keys))
		return;
	const struct ydoc_node *in = dec_field(dc, n, "input", true);
	if (in) {
		size_t saved = dec_push_key(dc, "input");
		if (in->kind != YDOC_MAP || in->n_pairs == 0) {
			dec_error(dc, in, "expected a mapping of input name to "
					  "value, found %s",
				  ydoc_describe(in));
		} else {
			sc->inputs = xcalloc(in->n_pairs, sizeof(*sc->inputs));
			sc->n_inputs = in->n_pairs;
			for (size_t i = 0; i < in->n_pairs; i++)
				value_decode(dc, &in->pairs[i], &sc->inputs[i]);
		}
		dec_pop(dc, saved);
	}
	const struct ydoc_node *ex = dec_field(dc, n, "expect", false);
	if (ex) {
		size_t saved = dec_push_key(dc, "expect");
		if (ex->kind != YDOC_MAP) {
			dec_error(dc, ex, "expected a mapping of output name to "
					  "{min, max, equals}, found %s",
				  ydoc_describe(ex));
		} else {
			sc->expects = xcalloc(ex->n_pairs, sizeof(*sc->expects));
			sc->n_expects = ex->n_pairs;
			for (size_t i = 0; i < ex->n_pairs; i++)
				expect_decode(dc, &ex->pairs[i], &sc->expects[i]);
		}
		dec_pop(dc, saved);
	}
}

static void smoke_cases_decode(struct dec *dc, const struct ydoc_node *seq,
			       struct cfg_checks *out)
{
	if (!dec_seq(dc, seq))
		return;
	out->smoke.cases = xcalloc(seq->n_items, sizeof(*out->smoke.cases));
	out->smoke.n_cases = seq->n_items;
	for (size_t i = 0; i < seq->n_items; i++) {
		size_t saved = dec_push_index(dc, i);
		smoke_case_decode(dc, seq->items[i], &out->smoke.cases[i]);
		dec_pop(dc, saved);
	}
}

/* smoke: a list of cases, or { timeout, cases } */
static void smoke_decode(struct dec *dc, const struct ydoc_node *n,
			 struct cfg_checks *out)
{
	static const char *const keys[] = { "timeout", "cases", NULL };
	out->smoke.set = true;
	out->smoke.pos = dec_pos(n);
	if (n->kind == YDOC_SEQ) {
		smoke_cases_decode(dc, n, out);
		return;
	}
	if (n->kind != YDOC_MAP) {
		dec_error(dc, n, "expected a list of cases or a mapping with "
				 "timeout and cases, found %s",
			  ydoc_describe(n));
		return;
	}
	dec_map(dc, n, keys);
	dec_duration(dc, n, "timeout", false, &out->smoke.timeout_ms);
	const struct ydoc_node *cases = dec_field(dc, n, "cases", false);
	if (cases) {
		size_t saved = dec_push_key(dc, "cases");
		smoke_cases_decode(dc, cases, out);
		dec_pop(dc, saved);
	}
}

static void load_decode(struct dec *dc, const struct ydoc_node *n,
			struct cfg_checks *out)
{
	static const char *const keys[] = { "rate", "duration", "max_p99",
					    "max_error_rate", "connections", NULL };
	out->load.set = true;
	out->load.pos = dec_pos(n);
	if (!dec_map(dc, n, keys))
		return;
	dec_rate(dc, n, "rate", false, &out->load.rate);
	dec_duration(dc, n, "duration", false, &out->load.duration_ms);
	long long ms;
	if (dec_duration(dc, n, "max_p99", false, &ms))
		out->load.max_p99_ms = ms;
	double f;
	if (dec_percent(dc, n, "max_error_rate", false, &f))
		out->load.max_error_rate = f;
	long long c;
	if (dec_int(dc, n, "connections", false, 1, 10000, &c))
		out->load.connections = (int)c;
}

static void acceptance_decode(struct dec *dc, const struct ydoc_node *n,
			      const char *base_dir, struct cfg_checks *out)
{
	static const char *const keys[] = { "cases", "metric", "max", "min",
					    "batch", "concurrency", NULL };
	out->acceptance.set = true;
	out->acceptance.pos = dec_pos(n);
	if (!dec_map(dc, n, keys))
		return;
	if (dec_str(dc, n, "cases", false, &out->acceptance.cases_raw)) {
		out->acceptance.cases_pos = dec_pos(ydoc_get(n, "cases"));
		out->acceptance.cases =
			path_join(base_dir, out->acceptance.cases_raw);
		if (!path_is_file(out->acceptance.cases)) {
			size_t saved = dec_push_key(dc, "cases");
			dec_error(dc, ydoc_get(n, "cases"),
				  "cases file '%s' not found",
				  out->acceptance.cases);
			dec_pop(dc, saved);
		}
	}
	int m;
	if (dec_enum(dc, n, "metric", false, cfg_metric_names, &m)) {
		out->acceptance.has_metric = true;
		out->acceptance.metric = (enum cfg_metric)m;
	}
	out->acceptance.has_max = dec_number(dc, n, "max", false, &out->acceptance.max);
	out->acceptance.has_min = dec_number(dc, n, "min", false, &out->acceptance.min);
	if (out->acceptance.has_metric) {
		bool lower = cfg_metric_lower_is_better(out->acceptance.metric);
		const char *bad = lower ? "min" : "max";
		if ((lower && out->acceptance.has_min) ||
		    (!lower && out->acceptance.has_max)) {
			size_t saved = dec_push_key(dc, bad);
			dec_error(dc, ydoc_get(n, bad),
				  "metric %s is %s-is-better: give '%s', not '%s'",
				  cfg_metric_name(out->acceptance.metric),
				  lower ? "lower" : "higher", lower ? "max" : "min",
				  bad);
			dec_pop(dc, saved);
		}
	}
	long long v;
	if (dec_int(dc, n, "batch", false, 1, 100000, &v))
		out->acceptance.batch = (int)v;
	if (dec_int(dc, n, "concurrency", false, 1, 1024, &v))
		out->acceptance.concurrency = (int)v;
}

void cfg_checks_decode(struct dec *dc, const struct ydoc_node *n,
		       const char *base_dir, struct cfg_checks *out)
{
	static const char *const keys[] = { "unit", "integration", "smoke",
					    "load", "acceptance", NULL };
	if (!dec_map(dc, n, keys))
		return;
	const struct ydoc_node *v;
	size_t saved;
	if ((v = dec_field(dc, n, "unit", false))) {
		saved = dec_push_key(dc, "unit");
		command_decode(dc, v, true, &out->unit);
		dec_pop(dc, saved);
	}
	if ((v = dec_field(dc, n, "integration", false))) {
		saved = dec_push_key(dc, "integration");
		command_decode(dc, v, false, &out->integration);
		dec_pop(dc, saved);
	}
	if ((v = dec_field(dc, n, "smoke", false))) {
		saved = dec_push_key(dc, "smoke");
		smoke_decode(dc, v, out);
		dec_pop(dc, saved);
	}
	if ((v = dec_field(dc, n, "load", false))) {
		saved = dec_push_key(dc, "load");
		load_decode(dc, v, out);
		dec_pop(dc, saved);
	}
	if ((v = dec_field(dc, n, "acceptance", false))) {
		saved = dec_push_key(dc, "acceptance");
		acceptance_decode(dc, v, base_dir, out);
		dec_pop(dc, saved);
	}
}

void cfg_checks_release(struct cfg_checks *c)
{
	free(c->unit.run);
	free(c->unit.junit);
	free(c->integration.run);
	free(c->integration.junit);
	for (size_t i = 0; i < c->smoke.n_cases; i++) {
		struct cfg_smoke_case *sc = &c->smoke.cases[i];
		for (size_t j = 0; j < sc->n_inputs; j++) {
			free(sc->inputs[j].name);
			free(sc->inputs[j].str);
		}
		for (size_t j = 0; j < sc->n_expects; j++)
			free(sc->expects[j].name);
		free(sc->inputs);
		free(sc->expects);
	}
	free(c->smoke.cases);
	free(c->acceptance.cases);
	free(c->acceptance.cases_raw);
	cfg_checks_init(c);
}
