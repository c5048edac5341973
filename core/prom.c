/* prom.c — the Prometheus text format, line by line, tolerant of garbage:
 * a line that does not parse is counted and skipped. Each line is parsed
 * into a scratch buffer first and copied into one block per kept sample. */
#include "prom.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_start(char c, bool metric)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (metric && c == ':');
}

static bool is_name_char(char c, bool metric)
{
	return is_name_start(c, metric) || (c >= '0' && c <= '9');
}

int prom_parse_value(const char *s, size_t len, double *out)
{
	char buf[72];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return -1;
	/* the spellings Prometheus writes; strtod also takes "inf", "nan" */
	if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
		*out = INFINITY;
		return 0;
	}
	if (strcmp(buf, "-Inf") == 0) {
		*out = -INFINITY;
		return 0;
	}
	if (strcmp(buf, "NaN") == 0) {
		*out = NAN;
		return 0;
	}
	/* no leading space, no trailing garbage */
	if (!(buf[0] == '+' || buf[0] == '-' || buf[0] == '.' ||
	      (buf[0] >= '0' && buf[0] <= '9')))
		return -1;
	char *end = NULL;
	double v = strtod(buf, &end);
	if (end != buf + len)
		return -1;
	*out = v;
	return 0;
}

/* A parsed line: offsets into the scratch buffer. */
struct line {
	size_t name_off, name_len;
	size_t n_labels;
	size_t lname_off[PROM_MAX_LABELS], lname_len[PROM_MAX_LABELS];
	size_t lval_off[PROM_MAX_LABELS], lval_len[PROM_MAX_LABELS];
	double value;
};

static bool wanted(const char *name, size_t len, const char *const *keep)
{
	if (!keep)
		return true;
	for (size_t i = 0; keep[i]; i++) {
		size_t k = strlen(keep[i]);
		if (k <= len && memcmp(name, keep[i], k) == 0)
			return true;
	}
	return false;
}

static size_t skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* Parse p[0..n) (one line, no newline). Returns 1 = a sample (in *l, its
 * strings in scratch), 0 = nothing to keep (blank, comment, filtered out),
 * -1 = a bad line. */
static int parse_line(const char *p, size_t n, const char *const *keep,
		      char *scratch, struct line *l)
{
	size_t i = skip_ws(p, 0, n), o = 0;
	if (i == n || p[i] == '#')
		return 0;
	if (memchr(p, '\0', n))
		return -1;
	if (!is_name_start(p[i], true))
		return -1;
	size_t start = i;
	while (i < n && is_name_char(p[i], true))
		i++;
	l->name_len = i - start;
	if (l->name_len > PROM_MAX_NAME)
		return -1;
	if (!wanted(p + start, l->name_len, keep))
		return 0;
	l->name_off = o;
	memcpy(scratch + o, p + start, l->name_len);
	o += l->name_len;
	scratch[o++] = '\0';
	l->n_labels = 0;
	i = skip_ws(p, i, n);
	if (i < n && p[i] == '{') {
		i++;
		for (;;) {
			i = skip_ws(p, i, n);
			if (i < n && p[i] == '}') {
				i++;
				break;
			}
			if (l->n_labels == PROM_MAX_LABELS || i == n ||
			    !is_name_start(p[i], false))
				return -1;
			size_t k = l->n_labels, ls = i;
			while (i < n && is_name_char(p[i], false))
				i++;
			if (i - ls > PROM_MAX_NAME)
				return -1;
			for (size_t j = 0; j < k; j++)
				if (l->lname_len[j] == i - ls &&
				    memcmp(scratch + l->lname_off[j], p + ls, i - ls) == 0)
					return -1; /* duplicate label */
			l->lname_off[k] = o;
			l->lname_len[k] = i - ls;
			memcpy(scratch + o, p + ls, i - ls);
			o += i - ls;
			scratch[o++] = '\0';
			i = skip_ws(p, i, n);
			if (i == n || p[i] != '=')
				return -1;
			i = skip_ws(p, i + 1, n);
			if (i == n || p[i] != '"')
				return -1;
			i++;
			l->lval_off[k] = o;
			size_t vs = o;
			for (;;) {
				if (i == n)
					return -1;
				char c = p[i++];
				if (c == '"')
					break;
				if (c == '\\') {
					if (i == n)
						return -1;
					char e = p[i++];
					if (e == 'n')
						c = '\n';
					else if (e == '\\' || e == '"')
						c = e;
					else
						return -1;
				}
				if (o - vs >= PROM_MAX_LABEL_VALUE)
					return -1;
				scratch[o++] = c;
			}
			l->lval_len[k] = o - vs;
			scratch[o++] = '\0';
			l->n_labels++;
			i = skip_ws(p, i, n);
			if (i < n && p[i] == ',') {
				i++;
				continue;
			}
			if (i < n && p[i] == '}') {
				i++;
				break;
			}
			return -1;
		}
	}
	i = skip_ws(p, i, n);
	size_t vs = i;
	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	if (prom_parse_value(p + vs, i - vs, &l->value))
		return -1;
	i = skip_ws(p, i, n);
	if (i < n) { /* an optional integer timestamp (ms), ignored */
		size_t ts = i;
		if (p[i] == '-' || p[i] == '+')
			i++;
		size_t digits = i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == digits || i - ts > 24)
			return -1;
		if (skip_ws(p, i, n) != n)
			return -1;
	}
	return 1;
}

static void add_sample(struct prom_doc *doc, const char *scratch,
		       const struct line *l)
{
	size_t strings = l->name_len + 1;
	for (size_t k = 0; k < l->n_labels; k++)
		strings += l->lname_len[k] + l->lval_len[k] + 2;
	size_t head = l->n_labels * sizeof(struct prom_label);
	char *block = xmalloc(head + strings);
	struct prom_label *labels = (struct prom_label *)(void *)block;
	char *s = block + head;
	struct prom_sample smp = { 0 };
	memcpy(s, scratch + l->name_off, l->name_len + 1);
	smp.name = s;
	s += l->name_len + 1;
	for (size_t k = 0; k < l->n_labels; k++) {
		memcpy(s, scratch + l->lname_off[k], l->lname_len[k] + 1);
		labels[k].name = s;
		s += l->lname_len[k] + 1;
		memcpy(s, scratch + l->lval_off[k], l->lval_len[k] + 1);
		labels[k].value = s;
		s += l->lval_len[k] + 1;
	}
	smp.labels = l->n_labels ? labels : NULL;
	smp.n_labels = l->n_labels;
	smp.value = l->value;
	smp.block = block;
	if (doc->n == doc->cap) {
		doc->cap = doc->cap ? doc->cap * 2 : 64;
		doc->samples = xrealloc(doc->samples, doc->cap * sizeof(*doc->samples));
	}
	doc->samples[doc->n++] = smp;
}

size_t prom_parse(struct prom_doc *doc, const char *text, size_t len,
		  const char *const *keep)
{
	size_t kept = 0;
	/* a line's strings never outgrow the line (escapes only shrink),
	 * plus one NUL per name and value */
	char *scratch = xmalloc(PROM_MAX_LINE + 2 * PROM_MAX_LABELS + 2);
	struct line *l = xmalloc(sizeof(*l));
	size_t i = 0;
	while (i < len && !doc->truncated) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - i;
		if (n && text[end - 1] == '\r')
			n--; /* tolerate CRLF */
		if (n > PROM_MAX_LINE) {
			doc->bad_lines++;
		} else {
			int r = parse_line(text + i, n, keep, scratch, l);
			if (r < 0) {
				doc->bad_lines++;
			} else if (r > 0) {
				if (doc->n >= PROM_MAX_SAMPLES) {
					doc->truncated = true;
					break;
				}
				add_sample(doc, scratch, l);
				kept++;
			}
		}
		i = end + 1;
	}
	free(l);
	free(scratch);
	return kept;
}

void prom_doc_release(struct prom_doc *doc)
{
	for (size_t i = 0; i < doc->n; i++)
		free(doc->samples[i].block);
	free(doc->samples);
	memset(doc, 0, sizeof(*doc));
}

const char *prom_label(const struct prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}
