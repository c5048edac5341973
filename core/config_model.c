/* config_model.c — the Model document (the artifact mlserve serves): a
 * linear sum of terms over named inputs, plus test fault switches; and its
 * evaluation. */
#include "config_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void add_input(struct cfg_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_inputs; i++)
		if (strcmp(m->inputs[i], name) == 0)
			return;
	m->inputs = xrealloc(m->inputs, (m->n_inputs + 1) * sizeof(*m->inputs));
	m->inputs[m->n_inputs++] = xstrdup(name);
}

static void pair_decode(struct dec *dc, const struct ydoc_node *t,
			const char *key, struct cfg_term *term)
{
	const struct ydoc_node *v = ydoc_get(t, key);
	size_t s = dec_push_key(dc, key);
	if (v->kind == YDOC_SEQ && v->n_items != 2) {
		dec_error(dc, v, "expected a list of two input names like [d, v], "
				 "found a list of %zu",
			  v->n_items);
	} else if (v->kind != YDOC_SEQ) {
		dec_error(dc, v, "expected a list of two input names like [d, v], "
				 "found %s",
			  ydoc_describe(v));
	} else {
		size_t s2 = dec_push_index(dc, 0);
		dec_node_name(dc, v->items[0], &term->a);
		dec_pop(dc, s2);
		s2 = dec_push_index(dc, 1);
		dec_node_name(dc, v->items[1], &term->b);
		dec_pop(dc, s2);
	}
	dec_pop(dc, s);
}

static void terms_decode(struct dec *dc, const struct ydoc_node *root,
			 struct cfg_model *m)
{
	static const char *const keys[] = { "coef", "input", "ratio", "product", NULL };
	const struct ydoc_node *seq = dec_field(dc, root, "terms", true);
	if (!seq)
		return;
	size_t saved = dec_push_key(dc, "terms");
	if (dec_seq(dc, seq)) {
		if (seq->n_items == 0)
			dec_error(dc, seq, "expected at least one term");
		m->terms = xcalloc(seq->n_items, sizeof(*m->terms));
		m->n_terms = seq->n_items;
		for (size_t i = 0; i < seq->n_items; i++) {
			const struct ydoc_node *t = seq->items[i];
			struct cfg_term *term = &m->terms[i];
			term->pos = dec_pos(t);
			term->ia = term->ib = -1;
			size_t s2 = dec_push_index(dc, i);
			if (dec_map(dc, t, keys)) {
				dec_number(dc, t, "coef", true, &term->coef);
				int kinds = !!ydoc_get(t, "input") +
					    !!ydoc_get(t, "ratio") +
					    !!ydoc_get(t, "product");
				if (kinds > 1) {
					dec_error(dc, t, "a term has at most one of "
							 "input, ratio, product");
				} else if (ydoc_get(t, "input")) {
					term->kind = CFG_TERM_INPUT;
					dec_name(dc, t, "input", true, &term->a, NULL);
				} else if (ydoc_get(t, "ratio")) {
					term->kind = CFG_TERM_RATIO;
					pair_decode(dc, t, "ratio", term);
				} else if (ydoc_get(t, "product")) {
					term->kind = CFG_TERM_PRODUCT;
					pair_decode(dc, t, "product", term);
				} else {
					term->kind = CFG_TERM_CONST;
				}
				if (term->a)
					add_input(m, term->a);
				if (term->b)
					add_input(m, term->b);
			}
			dec_pop(dc, s2);
		}
	}
	dec_pop(dc, saved);
}

static void faults_decode(struct dec *dc, const struct ydoc_node *root,
			  struct cfg_model *m)
{
	static const char *const keys[] = { "latency", "error_rate", "stall",
					    "bad_input_status", NULL };
	static const char *const stall_keys[] = { "every", "for", NULL };
	const struct ydoc_node *n = dec_field(dc, root, "faults", false);
	if (!n)
		return;
	size_t saved = dec_push_key(dc, "faults");
	if (dec_map(dc, n, keys)) {
		dec_duration(dc, n, "latency", false, &m->faults.latency_ms);
		dec_percent(dc, n, "error_rate", false, &m->faults.error_rate);
		long long st;
		if (dec_int(dc, n, "bad_input_status", false, 100, 599, &st))
			m->faults.bad_input_status = (int)st;
		const struct ydoc_node *s = dec_field(dc, n, "stall", false);
		if (s) {
			size_t s2 = dec_push_key(dc, "stall");
			if (dec_map(dc, s, stall_keys)) {
				bool every = dec_duration(dc, s, "every", true,
							  &m->faults.stall_every_ms);
				bool dur = dec_duration(dc, s, "for", true,
							&m->faults.stall_for_ms);
				if (every && dur && m->faults.stall_every_ms &&
				    m->faults.stall_for_ms >= m->faults.stall_every_ms) {
					size_t s3 = dec_push_key(dc, "for");
					dec_error(dc, ydoc_get(s, "for"),
						  "a stall must be shorter than "
						  "its period ('every')");
					dec_pop(dc, s3);
				} else if (every && m->faults.stall_every_ms == 0) {
					size_t s3 = dec_push_key(dc, "every");
					dec_error(dc, ydoc_get(s, "every"),
						  "expected a period above 0");
					dec_pop(dc, s3);
				}
			}
			dec_pop(dc, s2);
		}
	}
	dec_pop(dc, saved);
}

static int model_decode(struct dec *dc, struct ydoc *doc, const char *name,
			struct cfg_model **out)
{
	static const char *const keys[] = { "apiVersion", "kind", "name",
					    "version", "type", "output",
					    "terms", "faults", NULL };
	static const char *const types[] = { "linear", NULL };
	const struct ydoc_node *root = ydoc_root(doc);
	struct cfg_model *m = xcalloc(1, sizeof(*m));
	m->file = xstrdup(name);
	dec_map(dc, root, keys);
	dec_name(dc, root, "name", true, &m->name, NULL);
	dec_str(dc, root, "version", true, &m->version);
	int t;
	dec_enum(dc, root, "type", true, types, &t);
	dec_name(dc, root, "output", true, &m->output, NULL);
	terms_decode(dc, root, m);
	faults_decode(dc, root, m);
	if (dc->errors) {
		cfg_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int cfg_model_load(const char *path, struct cfg_model **out, struct ml_diags *d)
{
	*out = NULL;
	struct dec dc;
	struct ydoc *doc = cfg_open(path, "Model", &dc, d);
	if (!doc)
		return -1;
	int rc = model_decode(&dc, doc, path, out);
	ydoc_free(doc);
	return rc;
}

int cfg_model_load_buffer(const char *name, const char *buf, size_t len,
			  struct cfg_model **out, struct ml_diags *d)
{
	*out = NULL;
	struct ydoc *doc = NULL;
	if (ydoc_load_buffer(name, buf, len, &doc, d))
		return -1;
	struct dec dc;
	dec_init(&dc, name, d);
	const struct ydoc_node *root = ydoc_root(doc);
	int rc = -1;
	if (root->kind != YDOC_MAP)
		dec_error(&dc, root, "expected a mapping at the top of the file, "
				     "found %s",
			  ydoc_describe(root));
	else {
		dec_header(&dc, root, "Model");
		rc = model_decode(&dc, doc, name, out);
	}
	ydoc_free(doc);
	return rc;
}

void cfg_model_free(struct cfg_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_terms; i++) {
		free(m->terms[i].a);
		free(m->terms[i].b);
	}
	for (size_t i = 0; i < m->n_inputs; i++)
		free(m->inputs[i]);
	free(m->inputs);
	free(m->terms);
	free(m->file);
	free(m->name);
	free(m->version);
	free(m->output);
	free(m);
}

static int index_of(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int cfg_model_bind(struct cfg_model *m, char *const *names, size_t n,
		   struct ml_err *err)
{
	for (size_t i = 0; i < m->n_terms; i++) {
		struct cfg_term *t = &m->terms[i];
		t->ia = t->a ? index_of(names, n, t->a) : -1;
		t->ib = t->b ? index_of(names, n, t->b) : -1;
		if ((t->a && t->ia < 0) || (t->b && t->ib < 0))
			return ml_err_set(err, 2,
					  "model term %zu uses input '%s', which "
					  "the contract does not declare",
					  i, t->a && t->ia < 0 ? t->a : t->b);
	}
	return 0;
}

double cfg_model_eval(const struct cfg_model *m, const double *row)
{
	double sum = 0;
	for (size_t i = 0; i < m->n_terms; i++) {
		const struct cfg_term *t = &m->terms[i];
		switch (t->kind) {
		case CFG_TERM_CONST:
			sum += t->coef;
			break;
		case CFG_TERM_INPUT:
			sum += t->coef * row[t->ia];
			break;
		case CFG_TERM_RATIO:
			sum += t->coef * row[t->ia] / row[t->ib];
			break;
		case CFG_TERM_PRODUCT:
			sum += t->coef * row[t->ia] * row[t->ib];
			break;
		}
	}
	return sum;
}
