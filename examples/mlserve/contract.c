/* contract.c — building a version's data contract (from a load request's
 * JSON `expectations`, a release manifest, or the model alone) and checking
 * V2 infer requests against it. Bounds checks and their wording come from
 * core/config (cfg_field_check_number) so mlctl and mlserve say the same. */
#include "contract.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * building
 * ==================================================================== */

static int type_parse(const char *s, enum cfg_type *t)
{
	static const struct { const char *name; enum cfg_type t; } names[] = {
		{ "number", CFG_T_NUMBER },   { "integer", CFG_T_INTEGER },
		{ "string", CFG_T_STRING },   { "boolean", CFG_T_BOOLEAN },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*t = names[i].t;
			return 0;
		}
	}
	return -1;
}

static int field_from_json(struct cfg_field *f, const struct mjson_doc *d, size_t name_tok,
			   size_t rules, const char *where, char *msg, size_t msgsz)
{
	char name[128];
	mjson_str_copy(d, &d->toks[name_tok], name, sizeof name);
	f->name = xstrdup(name);
	f->type = CFG_T_NUMBER;
	const struct mjson_tok *r = &d->toks[rules];
	if (r->type != MJSON_OBJECT) {
		snprintf(msg, msgsz, "expectations.%s.%s: expected an object of rules, got %s",
			 where, name, mjson_type_desc((enum mjson_type)r->type));
		return -1;
	}
	size_t k = rules + 1;
	for (uint32_t m = 0; m < r->count; m++) {
		size_t v = k + 1;
		const struct mjson_tok *kt = &d->toks[k], *vt = &d->toks[v];
		char key[64];
		mjson_str_copy(d, kt, key, sizeof key);
		if (strcmp(key, "type") == 0) {
			char tn[32];
			if (vt->type != MJSON_STRING ||
			    (mjson_str_copy(d, vt, tn, sizeof tn), type_parse(tn, &f->type) < 0)) {
				snprintf(msg, msgsz,
					 "expectations.%s.%s.type: expected number, integer, "
					 "string or boolean",
					 where, name);
				return -1;
			}
		} else if (strcmp(key, "required") == 0) {
			if (vt->type != MJSON_TRUE && vt->type != MJSON_FALSE) {
				snprintf(msg, msgsz, "expectations.%s.%s.required: expected a boolean",
					 where, name);
				return -1;
			}
			f->optional = vt->type == MJSON_FALSE;
		} else if (strcmp(key, "description") == 0 || strcmp(key, "name") == 0) {
			/* informative */
		} else {
			double *dst = NULL;
			bool *has = NULL;
			if (strcmp(key, "min") == 0 || strcmp(key, "minimum") == 0)
				dst = &f->min, has = &f->has_min;
			else if (strcmp(key, "max") == 0 || strcmp(key, "maximum") == 0)
				dst = &f->max, has = &f->has_max;
			else if (strcmp(key, "exclusive_min") == 0 ||
				 strcmp(key, "exclusiveMinimum") == 0)
				dst = &f->xmin, has = &f->has_xmin;
			else if (strcmp(key, "exclusive_max") == 0 ||
				 strcmp(key, "exclusiveMaximum") == 0)
				dst = &f->xmax, has = &f->has_xmax;
			if (!dst) {
				snprintf(msg, msgsz,
					 "expectations.%s.%s: unknown rule '%s' (expected type, "
					 "min, max, exclusive_min, exclusive_max or required)",
					 where, name, key);
				return -1;
			}
			if (vt->type != MJSON_NUMBER || !isfinite(vt->num)) {
				snprintf(msg, msgsz, "expectations.%s.%s.%s: expected a finite number",
					 where, name, key);
				return -1;
			}
			*dst = vt->num;
			*has = true;
		}
		k = d->toks[v].next;
	}
	bool bounded = f->has_min || f->has_max || f->has_xmin || f->has_xmax;
	if (bounded && f->type != CFG_T_NUMBER && f->type != CFG_T_INTEGER) {
		snprintf(msg, msgsz, "expectations.%s.%s: bounds apply to number and integer fields",
			 where, name);
		return -1;
	}
	return 0;
}

static int fields_from_json(struct cfg_field **out, size_t *n, const struct mjson_doc *d,
			    long tok, const char *where, char *msg, size_t msgsz)
{
	*out = NULL;
	*n = 0;
	if (tok < 0)
		return 0;
	const struct mjson_tok *t = &d->toks[tok];
	if (t->type != MJSON_OBJECT && t->type != MJSON_ARRAY) {
		snprintf(msg, msgsz, "expectations.%s: expected an object of fields, got %s",
			 where, mjson_type_desc((enum mjson_type)t->type));
		return -1;
	}
	*out = xcalloc(t->count ? t->count : 1, sizeof **out);
	size_t k = (size_t)tok + 1;
	for (uint32_t m = 0; m < t->count; m++) {
		size_t name_tok, rules;
		if (t->type == MJSON_OBJECT) {
			name_tok = k;
			rules = k + 1;
			k = d->toks[rules].next;
		} else {
			rules = k;
			k = d->toks[k].next;
			long nt = mjson_obj_get(d, rules, "name");
			if (nt < 0 || d->toks[nt].type != MJSON_STRING) {
				snprintf(msg, msgsz, "expectations.%s[%u]: 'name' (a string) is required",
					 where, m);
				return -1;
			}
			name_tok = (size_t)nt;
		}
		if (d->toks[name_tok].len == 0) {
			snprintf(msg, msgsz, "expectations.%s: a field name is empty", where);
			return -1;
		}
		(*n)++;
		if (field_from_json(&(*out)[*n - 1], d, name_tok, rules, where, msg, msgsz) < 0)
			return -1;
		for (size_t j = 0; j + 1 < *n; j++) {
			if (strcmp((*out)[j].name, (*out)[*n - 1].name) == 0) {
				snprintf(msg, msgsz, "expectations.%s.%s: declared twice", where,
					 (*out)[j].name);
				return -1;
			}
		}
	}
	return 0;
}

int contract_from_json(struct contract *c, const struct mjson_doc *d, size_t tok,
		       char *msg, size_t msgsz)
{
	memset(c, 0, sizeof *c);
	if (d->toks[tok].type == MJSON_NULL)
		return 0;
	if (d->toks[tok].type != MJSON_OBJECT) {
		snprintf(msg, msgsz, "expectations: expected an object, got %s",
			 mjson_type_desc((enum mjson_type)d->toks[tok].type));
		return -1;
	}
	size_t k = tok + 1;
	for (uint32_t m = 0; m < d->toks[tok].count; m++) {
		if (!mjson_str_eq(d, &d->toks[k], "inputs") &&
		    !mjson_str_eq(d, &d->toks[k], "outputs")) {
			char key[64];
			mjson_str_copy(d, &d->toks[k], key, sizeof key);
			snprintf(msg, msgsz,
				 "expectations: unknown key '%s' (expected inputs, outputs)", key);
			return -1;
		}
		k = d->toks[k + 1].next;
	}
	long in = mjson_obj_get(d, tok, "inputs"), out = mjson_obj_get(d, tok, "outputs");
	if (fields_from_json(&c->inputs, &c->n_inputs, d, in, "inputs", msg, msgsz) < 0 ||
	    fields_from_json(&c->outputs, &c->n_outputs, d, out, "outputs", msg, msgsz) < 0) {
		contract_release(c);
		return -1;
	}
	if (c->n_inputs == 0) {
		snprintf(msg, msgsz, "expectations.inputs: at least one input is required");
		contract_release(c);
		return -1;
	}
	c->declared = true;
	return 0;
}

static struct cfg_field *fields_copy(const struct cfg_field *f, size_t n)
{
	struct cfg_field *o = xcalloc(n ? n : 1, sizeof *o);
	for (size_t i = 0; i < n; i++) {
		o[i] = f[i];
		o[i].name = xstrdup(f[i].name);
	}
	return o;
}

void contract_from_cfg(struct contract *c, const struct cfg_expectations *e)
{
	memset(c, 0, sizeof *c);
	c->inputs = fields_copy(e->inputs, e->n_inputs);
	c->n_inputs = e->n_inputs;
	c->outputs = fields_copy(e->outputs, e->n_outputs);
	c->n_outputs = e->n_outputs;
	c->declared = e->n_inputs > 0;
}

void contract_from_model(struct contract *c, const struct cfg_model *m)
{
	memset(c, 0, sizeof *c);
	c->inputs = xcalloc(m->n_inputs ? m->n_inputs : 1, sizeof *c->inputs);
	c->n_inputs = m->n_inputs;
	for (size_t i = 0; i < m->n_inputs; i++) {
		c->inputs[i].name = xstrdup(m->inputs[i]);
		c->inputs[i].type = CFG_T_NUMBER;
	}
	c->outputs = xcalloc(1, sizeof *c->outputs);
	c->outputs[0].name = xstrdup(m->output ? m->output : "output");
	c->outputs[0].type = CFG_T_NUMBER;
	c->n_outputs = 1;
}

int contract_check_model(const struct contract *c, const struct cfg_model *m,
			 char *msg, size_t msgsz)
{
	for (size_t i = 0; i < m->n_inputs; i++) {
		long k = contract_input(c, m->inputs[i]);
		if (k < 0) {
			snprintf(msg, msgsz,
				 "the model uses input '%s', which the expectations do not declare",
				 m->inputs[i]);
			return -1;
		}
		enum cfg_type t = c->inputs[k].type;
		if (t != CFG_T_NUMBER && t != CFG_T_INTEGER) {
			snprintf(msg, msgsz,
				 "the model uses input '%s' as a number, but the expectations "
				 "declare it %s",
				 m->inputs[i], cfg_type_name(t));
			return -1;
		}
	}
	if (c->n_outputs) {
		bool found = false;
		for (size_t i = 0; i < c->n_outputs; i++)
			found |= m->output && strcmp(c->outputs[i].name, m->output) == 0;
		if (!found) {
			snprintf(msg, msgsz,
				 "the model's output '%s' is not declared in expectations.outputs",
				 m->output ? m->output : "");
			return -1;
		}
	}
	return 0;
}

void contract_release(struct contract *c)
{
	for (size_t i = 0; i < c->n_inputs; i++)
		free(c->inputs[i].name);
	for (size_t i = 0; i < c->n_outputs; i++)
		free(c->outputs[i].name);
	free(c->inputs);
	free(c->outputs);
	memset(c, 0, sizeof *c);
}

long contract_input(const struct contract *c, const char *name)
{
	for (size_t i = 0; i < c->n_inputs; i++)
		if (strcmp(c->inputs[i].name, name) == 0)
			return (long)i;
	return -1;
}

void infer_in_release(struct infer_in *in)
{
	free(in->vals);
	free(in->seen);
	memset(in, 0, sizeof *in);
}

bool contract_datatype_ok(enum cfg_type t, const char *dt)
{
	static const char *const numeric[] = { "FP64", "FP32", "FP16", "INT8", "INT16",
					       "INT32", "INT64", "UINT8", "UINT16",
					       "UINT32", "UINT64", NULL };
	switch (t) {
	case CFG_T_NUMBER:
		for (size_t i = 0; numeric[i]; i++)
			if (strcmp(dt, numeric[i]) == 0)
				return true;
		return false;
	case CFG_T_INTEGER:
		for (size_t i = 3; numeric[i]; i++)
			if (strcmp(dt, numeric[i]) == 0)
				return true;
		return false;
	case CFG_T_STRING:
		return strcmp(dt, "BYTES") == 0;
	case CFG_T_BOOLEAN:
		return strcmp(dt, "BOOL") == 0;
	}
	return false;
}

/* ======================================================================
 * decoding an infer request
 * ==================================================================== */

/* The request's text of token t, shortened for messages. */
static void tok_text(const struct mjson_doc *d, const struct mjson_tok *t, char *buf, size_t sz)
{
	if (t->type == MJSON_OBJECT || t->type == MJSON_ARRAY) {
		snprintf(buf, sz, "%s", mjson_type_desc((enum mjson_type)t->type));
		return;
	}
	size_t n = t->len;
	const char *s = d->src + t->start;
	bool quote = t->type == MJSON_STRING;
	size_t max = 40;
	/* never cut a UTF-8 sequence in half */
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	snprintf(buf, sz, "%s%.*s%s%s", quote ? "\"" : "", (int)n, s,
		 n < t->len ? "..." : "", quote ? "\"" : "");
}

static void fmt_shape(const struct mjson_doc *d, size_t shape, char *buf, size_t sz)
{
	size_t o = 0;
	o += (size_t)snprintf(buf + o, sz - o, "[");
	size_t k = shape + 1;
	for (uint32_t i = 0; i < d->toks[shape].count && o < sz - 16; i++) {
		const struct mjson_tok *t = &d->toks[k];
		o += (size_t)snprintf(buf + o, sz - o, "%s%.*s", i ? "," : "",
				      (int)(t->len > 20 ? 20 : t->len), d->src + t->start);
		k = t->next;
	}
	snprintf(buf + o, sz - o, "]");
}

/* Count the leaves of a (possibly nested) data array. */
static size_t count_leaves(const struct mjson_doc *d, size_t arr)
{
	size_t n = 0, end = d->toks[arr].next;
	for (size_t k = arr + 1; k < end;) {
		if (d->toks[k].type == MJSON_ARRAY) {
			k++;
			continue;
		}
		n++;
		k = d->toks[k].next;
	}
	return n;
}

/* Whether a data array holds no arrays (the form a 1-D shape allows). */
static bool data_is_flat(const struct mjson_doc *d, size_t arr)
{
	size_t k = arr + 1;
	for (uint32_t i = 0; i < d->toks[arr].count; i++) {
		if (d->toks[k].type == MJSON_ARRAY)
			return false;
		k = d->toks[k].next;
	}
	return true;
}

/* The bounds test alone: cfg_field_check_number formats its message even
 * for a good value, so it is only asked for the wording of a violation. */
static bool bounds_ok(const struct cfg_field *f, double x)
{
	if (f->type == CFG_T_INTEGER && x != floor(x))
		return false;
	if (f->has_xmin && !(x > f->xmin))
		return false;
	if (f->has_min && !(x >= f->min))
		return false;
	if (f->has_xmax && !(x < f->xmax))
		return false;
	if (f->has_max && !(x <= f->max))
		return false;
	return true;
}

static void row_suffix(char *buf, size_t sz, size_t rows, size_t r)
{
	if (rows > 1)
		snprintf(buf, sz, " (row %zu)", r);
	else
		buf[0] = 0;
}

/* Fill the values of input i from data token `data`, checking each. */
static int fill_values(const struct contract *c, bool enforce, size_t i, const struct mjson_doc *d,
		       size_t data, struct infer_in *in, char *msg, size_t msgsz)
{
	const struct cfg_field *f = &c->inputs[i];
	double *col = in->vals + i * in->rows;
	size_t end = d->toks[data].next, r = 0;
	for (size_t k = data + 1; k < end && r < in->rows;) {
		const struct mjson_tok *t = &d->toks[k];
		if (t->type == MJSON_ARRAY) {
			k++;
			continue;
		}
		k = t->next;
		char got[64], rs[32];
		double x = NAN;
		bool ok;
		switch (f->type) {
		case CFG_T_NUMBER:
		case CFG_T_INTEGER:
			ok = t->type == MJSON_NUMBER;
			if (ok)
				x = t->num;
			break;
		case CFG_T_STRING:
			ok = t->type == MJSON_STRING;
			break;
		case CFG_T_BOOLEAN:
			ok = t->type == MJSON_TRUE || t->type == MJSON_FALSE;
			if (ok)
				x = t->type == MJSON_TRUE;
			break;
		default:
			ok = false;
		}
		col[r] = x;
		if (!enforce) {
			r++;
			continue;
		}
		row_suffix(rs, sizeof rs, in->rows, r);
		if (!ok) {
			tok_text(d, t, got, sizeof got);
			snprintf(msg, msgsz, "input '%s': must be %s, got %s%s", f->name,
				 f->type == CFG_T_NUMBER    ? "a number"
				 : f->type == CFG_T_INTEGER ? "an integer"
				 : f->type == CFG_T_STRING  ? "a string"
							    : "a boolean",
				 got, rs);
			return -1;
		}
		if (t->type == MJSON_NUMBER) {
			if (t->flags & (MJSON_F_NONFINITE | MJSON_F_OVERFLOW)) {
				tok_text(d, t, got, sizeof got);
				snprintf(msg, msgsz, "input '%s': must be a finite number, got %s%s%s",
					 f->name, got,
					 (t->flags & MJSON_F_OVERFLOW) ? " (too large for a double)" : "",
					 rs);
				return -1;
			}
			char rule[200];
			if (!bounds_ok(f, x) && !cfg_field_check_number(f, x, rule, sizeof rule)) {
				snprintf(msg, msgsz, "input '%s': %s%s", f->name, rule, rs);
				return -1;
			}
		}
		r++;
	}
	for (; r < in->rows; r++)
		col[r] = NAN;
	return 0;
}

int contract_decode(const struct contract *c, bool enforce, const char *output,
		    const struct mjson_doc *d, struct infer_in *in, char *msg,
		    size_t msgsz)
{
	const struct mjson_tok *root = &d->toks[0];
	in->rows = 0;
	in->id_tok = -1;
	if (root->type != MJSON_OBJECT) {
		snprintf(msg, msgsz, "request body must be a JSON object, got %s",
			 mjson_type_desc((enum mjson_type)root->type));
		return -1;
	}
	long id = mjson_obj_get(d, 0, "id");
	if (id >= 0) {
		if (d->toks[id].type == MJSON_STRING)
			in->id_tok = id;
		else if (enforce) {
			snprintf(msg, msgsz, "'id' must be a string, got %s",
				 mjson_type_desc((enum mjson_type)d->toks[id].type));
			return -1;
		}
	}
	long inputs = mjson_obj_get(d, 0, "inputs");
	if (inputs < 0) {
		snprintf(msg, msgsz, "'inputs' is required (an array of tensors)");
		return -1;
	}
	if (d->toks[inputs].type != MJSON_ARRAY) {
		snprintf(msg, msgsz, "'inputs' must be an array, got %s",
			 mjson_type_desc((enum mjson_type)d->toks[inputs].type));
		return -1;
	}
	if (in->seen_cap < c->n_inputs) {
		in->seen = xrealloc(in->seen, c->n_inputs * sizeof *in->seen);
		in->seen_cap = c->n_inputs;
	}
	for (size_t i = 0; i < c->n_inputs; i++)
		in->seen[i] = -1;

	/* pass 1: names, datatypes, shapes, batch size */
	bool have_rows = false;
	long rows_from = -1;
	size_t k = (size_t)inputs + 1;
	for (uint32_t e = 0; e < d->toks[inputs].count; e++) {
		size_t ent = k;
		k = d->toks[k].next;
		if (d->toks[ent].type != MJSON_OBJECT) {
			snprintf(msg, msgsz, "inputs[%u] must be an object, got %s", e,
				 mjson_type_desc((enum mjson_type)d->toks[ent].type));
			return -1;
		}
		long nt = mjson_obj_get(d, ent, "name");
		if (nt < 0 || d->toks[nt].type != MJSON_STRING) {
			snprintf(msg, msgsz, "inputs[%u]: 'name' (a string) is required", e);
			return -1;
		}
		char name[64];
		size_t nlen = mjson_str_copy(d, &d->toks[nt], name, sizeof name);
		if (nlen >= sizeof name)
			strcpy(name + sizeof name - 4, "...");
		long fi = nlen < sizeof name ? contract_input(c, name) : -1;
		if (fi < 0) {
			if (!enforce)
				continue;
			char list[200];
			size_t o = 0;
			list[0] = 0;
			for (size_t j = 0; j < c->n_inputs && o < sizeof list - 40; j++)
				o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "",
						      c->inputs[j].name);
			char shown[80];
			struct mjson_tok tmp = d->toks[nt];
			tok_text(d, &tmp, shown, sizeof shown);
			snprintf(msg, msgsz, "input %s: unknown input (expected %s)", shown, list);
			/* prefer the quoted form input 'x' */
			if (nlen < sizeof name && !(d->toks[nt].flags & MJSON_F_ESCAPED))
				snprintf(msg, msgsz, "input '%s': unknown input (expected %s)", name,
					 list);
			return -1;
		}
		const struct cfg_field *f = &c->inputs[fi];
		if (in->seen[fi] >= 0 && enforce) {
			snprintf(msg, msgsz, "input '%s': given more than once", f->name);
			return -1;
		}
		long data = mjson_obj_get(d, ent, "data");
		if (data < 0 || d->toks[data].type != MJSON_ARRAY) {
			if (!enforce && data >= 0 && d->toks[data].type == MJSON_NUMBER) {
				/* a bare number: one row */
			} else {
				snprintf(msg, msgsz, "input '%s': 'data' (an array) is required",
					 f->name);
				return -1;
			}
		}
		size_t leaves = d->toks[data].type == MJSON_ARRAY ? count_leaves(d, (size_t)data) : 1;
		if (enforce) {
			long dt = mjson_obj_get(d, ent, "datatype");
			if (dt < 0 || d->toks[dt].type != MJSON_STRING) {
				snprintf(msg, msgsz,
					 "input '%s': 'datatype' (a string such as %s) is required",
					 f->name, cfg_type_v2(f->type));
				return -1;
			}
			char dts[16];
			size_t dl = mjson_str_copy(d, &d->toks[dt], dts, sizeof dts);
			if (dl >= sizeof dts || !contract_datatype_ok(f->type, dts)) {
				char got[64];
				tok_text(d, &d->toks[dt], got, sizeof got);
				snprintf(msg, msgsz, "input '%s': datatype must be %s, got %s", f->name,
					 cfg_type_v2(f->type), got);
				return -1;
			}
			long sh = mjson_obj_get(d, ent, "shape");
			if (sh < 0 || d->toks[sh].type != MJSON_ARRAY) {
				snprintf(msg, msgsz,
					 "input '%s': 'shape' (an array such as [%zu]) is required",
					 f->name, leaves);
				return -1;
			}
			const struct mjson_tok *st = &d->toks[sh];
			unsigned long long prod = 1, dims[2] = { 0, 0 };
			size_t q = (size_t)sh + 1;
			for (uint32_t j = 0; j < st->count; j++) {
				const struct mjson_tok *x = &d->toks[q];
				if (x->type != MJSON_NUMBER || !(x->flags & MJSON_F_INTEGER) ||
				    x->num < 0 || x->num > 1e15) {
					snprintf(msg, msgsz,
						 "input '%s': 'shape' must be an array of "
						 "non-negative integers",
						 f->name);
					return -1;
				}
				if (j < 2)
					dims[j] = (unsigned long long)x->num;
				prod = prod * (unsigned long long)x->num;
				if (prod > 1e15)
					prod = (unsigned long long)1e15;
				q = x->next;
			}
			char shs[64];
			/* the metadata declares every input [-1]: a batch of N
			 * values is [N], never [N,1] or any other rank */
			if (st->count != 1) {
				fmt_shape(d, (size_t)sh, shs, sizeof shs);
				snprintf(msg, msgsz,
					 "input '%s': shape %s does not match the model's "
					 "[-1] (a batch of N values has shape [N])",
					 f->name, shs);
				return -1;
			}
			if (prod != leaves) {
				fmt_shape(d, (size_t)sh, shs, sizeof shs);
				snprintf(msg, msgsz,
					 "input '%s': shape %s does not match the %zu value%s in "
					 "'data'",
					 f->name, shs, leaves, leaves == 1 ? "" : "s");
				return -1;
			}
			if (!data_is_flat(d, (size_t)data)) {
				fmt_shape(d, (size_t)sh, shs, sizeof shs);
				snprintf(msg, msgsz,
					 "input '%s': 'data' is nested deeper than its shape %s",
					 f->name, shs);
				return -1;
			}
			if (have_rows && dims[0] != in->rows) {
				snprintf(msg, msgsz,
					 "input '%s': batch size %llu differs from input '%s' "
					 "(batch size %zu)",
					 f->name, dims[0], c->inputs[rows_from].name, in->rows);
				return -1;
			}
			in->rows = (size_t)dims[0];
		} else if (!have_rows || leaves > in->rows) {
			in->rows = leaves;
		}
		have_rows = true;
		rows_from = fi;
		in->seen[fi] = data;
	}
	if (enforce) {
		for (size_t i = 0; i < c->n_inputs; i++) {
			if (in->seen[i] < 0 && !c->inputs[i].optional) {
				snprintf(msg, msgsz, "input '%s': missing (required by the contract)",
					 c->inputs[i].name);
				return -1;
			}
		}
	}
	long outs = mjson_obj_get(d, 0, "outputs");
	if (outs >= 0 && enforce) {
		if (d->toks[outs].type != MJSON_ARRAY) {
			snprintf(msg, msgsz, "'outputs' must be an array of {\"name\": ...}");
			return -1;
		}
		size_t q = (size_t)outs + 1;
		for (uint32_t j = 0; j < d->toks[outs].count; j++) {
			long nt = mjson_obj_get(d, q, "name");
			if (nt < 0 || d->toks[nt].type != MJSON_STRING) {
				snprintf(msg, msgsz, "outputs[%u]: 'name' (a string) is required", j);
				return -1;
			}
			if (!mjson_str_eq(d, &d->toks[nt], output)) {
				char got[64];
				tok_text(d, &d->toks[nt], got, sizeof got);
				snprintf(msg, msgsz, "output %s: unknown output (the model gives '%s')",
					 got, output);
				return -1;
			}
			q = d->toks[q].next;
		}
	}

	/* pass 2: values */
	size_t need = c->n_inputs * in->rows;
	if (need > in->cap) {
		in->vals = xrealloc(in->vals, need * sizeof *in->vals);
		in->cap = need;
	}
	for (size_t i = 0; i < c->n_inputs; i++) {
		long data = in->seen[i];
		if (data < 0) {
			for (size_t r = 0; r < in->rows; r++)
				in->vals[i * in->rows + r] = NAN;
			continue;
		}
		if (d->toks[data].type != MJSON_ARRAY) {
			in->vals[i * in->rows] = d->toks[data].num;
			for (size_t r = 1; r < in->rows; r++)
				in->vals[i * in->rows + r] = NAN;
			continue;
		}
		if (fill_values(c, enforce, i, d, (size_t)data, in, msg, msgsz) < 0)
			return -1;
	}
	return 0;
}
