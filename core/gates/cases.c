/* cases.c — the acceptance gate's labelled cases (CSV with a header, or
 * JSONL) read into a table of numbers, and the metrics computed over the
 * answers: mae, rmse, mape, accuracy, exact. */
#include "gates/gate.h"

#include "exitcode.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gate_cases_release(struct gate_cases *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_cols; i++)
		free(c->names[i]);
	free(c->names);
	free(c->values);
	free(c->lines);
	memset(c, 0, sizeof(*c));
}

int gate_cases_column(const struct gate_cases *c, const char *name)
{
	for (size_t i = 0; i < c->n_cols; i++)
		if (strcmp(c->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- CSV ----------------------------------------------------------------- */

struct csv_field {
	char *text;
	unsigned col;
};

struct csv {
	const char *p, *end;
	unsigned line, col;
};

static void csv_fields_free(struct csv_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].text);
	free(f);
}

/* One record: fields up to an unquoted newline. *rec_line gets the line it
 * started on. Returns 1 with fields, 0 at the end, -1 with err. Blank lines
 * and lines starting with '#' are skipped. */
static int csv_record(struct csv *c, const char *name, struct csv_field **out,
		      size_t *n_out, unsigned *rec_line, struct ml_err *err)
{
	*out = NULL;
	*n_out = 0;
	/* skip blank and comment lines */
	for (;;) {
		if (c->p >= c->end)
			return 0;
		const char *q = c->p;
		while (q < c->end && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < c->end && *q != '\n' && *q != '#')
			break;
		const char *nl = memchr(q, '\n', (size_t)(c->end - q));
		c->p = nl ? nl + 1 : c->end;
		c->line++;
		c->col = 1;
	}
	*rec_line = c->line;
	size_t cap = 8, n = 0;
	struct csv_field *f = xcalloc(cap, sizeof(*f));
	for (;;) {
		/* one field */
		size_t bcap = 32, blen = 0;
		char *buf = xmalloc(bcap);
		unsigned fcol = c->col;
		bool quoted = false;
		while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
			c->p++;
			c->col++;
		}
		if (c->p < c->end && *c->p == '"') {
			quoted = true;
			fcol = c->col;
			c->p++;
			c->col++;
			for (;;) {
				if (c->p >= c->end) {
					free(buf);
					csv_fields_free(f, n);
					return ml_err_set(err, ML_EXIT_USAGE,
							  "%s:%u:%u: unterminated "
							  "quoted field",
							  name, *rec_line, fcol);
				}
				char ch = *c->p++;
				c->col++;
				if (ch == '"') {
					if (c->p < c->end && *c->p == '"') {
						c->p++;
						c->col++;
					} else {
						break;
					}
				} else if (ch == '\n') {
					c->line++;
					c->col = 1;
				}
				if (blen + 2 > bcap)
					buf = xrealloc(buf, bcap *= 2);
				buf[blen++] = ch;
			}
			while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
						 *c->p == '\r')) {
				c->p++;
				c->col++;
			}
			if (c->p < c->end && *c->p != ',' && *c->p != '\n') {
				free(buf);
				csv_fields_free(f, n);
				return ml_err_set(err, ML_EXIT_USAGE,
						  "%s:%u:%u: text after a quoted "
						  "field",
						  name, c->line, c->col);
			}
		} else {
			while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
				if (blen + 2 > bcap)
					buf = xrealloc(buf, bcap *= 2);
				buf[blen++] = *c->p++;
				c->col++;
			}
		}
		if (!quoted)
			while (blen && (buf[blen - 1] == ' ' || buf[blen - 1] == '\t' ||
					buf[blen - 1] == '\r'))
				blen--;
		buf[blen] = '\0';
		if (n == cap)
			f = xrealloc(f, (cap *= 2) * sizeof(*f));
		f[n].text = buf;
		f[n].col = fcol;
		n++;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			c->col++;
			continue;
		}
		if (c->p < c->end) { /* '\n' */
			c->p++;
			c->line++;
			c->col = 1;
		}
		break;
	}
	*out = f;
	*n_out = n;
	return 1;
}

static int parse_number(const char *s, double *v)
{
	char *end;
	if (!*s)
		return -1;
	*v = strtod(s, &end);
	if (*end || !isfinite(*v))
		return -1;
	return 0;
}

static int parse_csv(const char *name, const char *text, size_t len,
		     struct gate_cases *out, struct ml_err *err)
{
	struct csv c = { text, text + len, 1, 1 };
	struct csv_field *f = NULL;
	size_t n = 0;
	unsigned line;
	int r = csv_record(&c, name, &f, &n, &line, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return ml_err_set(err, ML_EXIT_USAGE, "%s: empty: expected a "
						      "header line naming the "
						      "columns",
				  name);
	/* a UTF-8 byte order mark before the header */
	if (n && strncmp(f[0].text, "\xEF\xBB\xBF", 3) == 0)
		memmove(f[0].text, f[0].text + 3, strlen(f[0].text + 3) + 1);
	out->names = xcalloc(n, sizeof(char *));
	out->n_cols = n;
	for (size_t i = 0; i < n; i++) {
		if (!f[i].text[0]) {
			ml_err_set(err, ML_EXIT_USAGE,
				   "%s:%u:%u: empty column name in the header",
				   name, line, f[i].col);
			goto fail;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(out->names[k], f[i].text) == 0) {
				ml_err_set(err, ML_EXIT_USAGE,
					   "%s:%u:%u: column '%s' appears twice "
					   "in the header",
					   name, line, f[i].col, f[i].text);
				goto fail;
			}
		out->names[i] = f[i].text;
		f[i].text = NULL;
	}
	csv_fields_free(f, n);
	f = NULL;
	size_t cap = 0;
	for (;;) {
		r = csv_record(&c, name, &f, &n, &line, err);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		if (n != out->n_cols) {
			ml_err_set(err, ML_EXIT_USAGE,
				   "%s:%u:%u: %zu field%s, the header has %zu",
				   name, line, n ? f[n - 1].col : 1, n,
				   n == 1 ? "" : "s", out->n_cols);
			goto fail;
		}
		if (out->n_rows == cap) {
			cap = cap ? 2 * cap : 256;
			out->values = xrealloc(out->values,
					       cap * out->n_cols * sizeof(double));
			out->lines = xrealloc(out->lines, cap * sizeof(unsigned));
		}
		double *row = out->values + out->n_rows * out->n_cols;
		for (size_t i = 0; i < n; i++)
			if (parse_number(f[i].text, &row[i])) {
				ml_err_set(err, ML_EXIT_USAGE,
					   "%s:%u:%u: %s: expected a number, "
					   "found '%.40s'",
					   name, line, f[i].col, out->names[i],
					   f[i].text);
				goto fail;
			}
		out->lines[out->n_rows++] = line;
		csv_fields_free(f, n);
		f = NULL;
	}
	return 0;
fail:
	csv_fields_free(f, n);
	gate_cases_release(out);
	return -1;
}

/* ---- JSONL --------------------------------------------------------------- */

static int parse_jsonl(const char *name, const char *text, size_t len,
		       struct gate_cases *out, struct ml_err *err)
{
	size_t cap_rows = 0;
	json_t **rows = NULL;
	unsigned *lines = NULL;
	size_t n_rows = 0;
	int rc = -1;
	const char *p = text, *end = text + len;
	unsigned line = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line++;
		const char *s = p;
		p = nl ? nl + 1 : end;
		while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s == le || *s == '#')
			continue;
		json_error_t je;
		json_t *o = json_loadb(s, (size_t)(le - s), 0, &je);
		if (!o) {
			ml_err_set(err, ML_EXIT_USAGE, "%s:%u:%d: %s", name, line,
				   je.column > 0 ? je.column : 1, je.text);
			goto out;
		}
		if (!json_is_object(o)) {
			json_decref(o);
			ml_err_set(err, ML_EXIT_USAGE,
				   "%s:%u:1: expected an object of column name "
				   "to number",
				   name, line);
			goto out;
		}
		const char *key;
		json_t *v;
		json_object_foreach(o, key, v) {
			if (!json_is_number(v) ||
			    !isfinite(json_number_value(v))) {
				ml_err_set(err, ML_EXIT_USAGE,
					   "%s:%u:1: %s: expected a number",
					   name, line, key);
				json_decref(o); /* owns key */
				goto out;
			}
			if (gate_cases_column(out, key) < 0) {
				out->names = xrealloc(out->names,
						      (out->n_cols + 1) * sizeof(char *));
				out->names[out->n_cols++] = xstrdup(key);
			}
		}
		if (n_rows == cap_rows) {
			cap_rows = cap_rows ? 2 * cap_rows : 256;
			rows = xrealloc(rows, cap_rows * sizeof(*rows));
			lines = xrealloc(lines, cap_rows * sizeof(*lines));
		}
		rows[n_rows] = o;
		lines[n_rows++] = line;
	}
	out->values = xcalloc(n_rows * out->n_cols + 1, sizeof(double));
	for (size_t r = 0; r < n_rows; r++)
		for (size_t c = 0; c < out->n_cols; c++) {
			json_t *v = json_object_get(rows[r], out->names[c]);
			out->values[r * out->n_cols + c] =
				v ? json_number_value(v) : NAN;
		}
	out->lines = lines;
	lines = NULL;
	out->n_rows = n_rows;
	rc = 0;
out:
	for (size_t r = 0; r < n_rows; r++)
		json_decref(rows[r]);
	free(rows);
	free(lines);
	if (rc)
		gate_cases_release(out);
	return rc;
}

int gate_cases_parse(const char *name, const char *text, size_t len,
		     struct gate_cases *out, struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	bool jsonl = str_has_suffix(name, ".jsonl") ||
		     str_has_suffix(name, ".ndjson");
	if (!jsonl) {
		size_t i = 0;
		while (i < len && (text[i] == ' ' || text[i] == '\t' ||
				   text[i] == '\r' || text[i] == '\n'))
			i++;
		jsonl = i < len && text[i] == '{';
	}
	return jsonl ? parse_jsonl(name, text, len, out, err)
		     : parse_csv(name, text, len, out, err);
}

/* ---- metrics ------------------------------------------------------------- */

static bool same(double p, double y)
{
	return fabs(p - y) <= 1e-9 * fmax(1.0, fabs(y));
}

double gate_metric(enum cfg_metric m, const double *pred, const double *expect,
		   size_t n)
{
	double sum = 0;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		double p = pred[i], y = expect[i];
		switch (m) {
		case CFG_M_MAE:
			sum += fabs(p - y);
			count++;
			break;
		case CFG_M_RMSE:
			sum += (p - y) * (p - y);
			count++;
			break;
		case CFG_M_MAPE:
			if (y != 0) {
				sum += fabs(p - y) / fabs(y);
				count++;
			}
			break;
		case CFG_M_ACCURACY:
			sum += fabs(p - y) <= 0.5;
			count++;
			break;
		case CFG_M_EXACT:
			sum += same(p, y);
			count++;
			break;
		}
	}
	if (count == 0)
		return NAN;
	double v = sum / (double)count;
	return m == CFG_M_RMSE ? sqrt(v) : v;
}

double gate_row_error(enum cfg_metric m, double pred, double expect)
{
	if (m == CFG_M_MAPE)
		return expect != 0 ? fabs(pred - expect) / fabs(expect) : INFINITY;
	return fabs(pred - expect);
}

bool gate_bound_ok(const struct gate_bound *b, double value)
{
	if (isnan(value))
		return false;
	return cfg_metric_lower_is_better(b->metric) ? value <= b->limit
						     : value >= b->limit;
}
