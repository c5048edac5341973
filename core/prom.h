/* prom.h — a small parser of the Prometheus text exposition format
 * (PROTOCOLS.md B), enough for what canary analysis reads from a node's
 * /metrics: samples `name{label="value",...} value [timestamp]`.
 *
 * The input is untrusted (whatever answers on a node's port): the parser
 * never fails on content. A line it cannot read is skipped and counted in
 * `bad_lines`; `# HELP` / `# TYPE` and other comments are skipped; a
 * timestamp is accepted and ignored. Limits bound what one document can
 * cost: lines over PROM_MAX_LINE bytes, names over PROM_MAX_NAME bytes,
 * more than PROM_MAX_LABELS labels or a label value over
 * PROM_MAX_LABEL_VALUE bytes make a bad line; after PROM_MAX_SAMPLES
 * samples the rest is ignored (`truncated`). Embedded NUL bytes make their
 * line bad. Values: decimal or hex floats, `+Inf`, `-Inf`, `NaN`. Label
 * values unescape `\\`, `\"` and `\n`; any other escape makes a bad line,
 * as does a duplicate label name. Cost: linear in the input; one
 * allocation per kept sample (its strings live in one block). */
#ifndef MLCTL_PROM_H
#define MLCTL_PROM_H

#include <stdbool.h>
#include <stddef.h>

#define PROM_MAX_LINE 65536
#define PROM_MAX_NAME 256
#define PROM_MAX_LABELS 32
#define PROM_MAX_LABEL_VALUE 4096
#define PROM_MAX_SAMPLES 100000

struct prom_label {
	const char *name, *value; /* point into the sample's block */
};

struct prom_sample {
	const char *name; /* the sample's metric name, e.g. "x_bucket" */
	struct prom_label *labels;
	size_t n_labels;
	double value;
	char *block; /* owns name, labels and their strings */
};

/* A parsed document; owns its samples. Zeroed (PROM_DOC_INIT) is empty. */
struct prom_doc {
	struct prom_sample *samples;
	size_t n, cap;
	size_t bad_lines;
	bool truncated; /* PROM_MAX_SAMPLES reached */
};

#define PROM_DOC_INIT { NULL, 0, 0, 0, false }

/* Parse text[0..len) and append its samples to `doc`. With `keep` (a
 * NULL-terminated list of metric name prefixes) only samples whose name
 * starts with one of them are kept; NULL keeps all. Returns how many
 * samples were kept from this text. */
size_t prom_parse(struct prom_doc *doc, const char *text, size_t len,
		  const char *const *keep);
/* Free what doc owns and make it empty again. */
void prom_doc_release(struct prom_doc *doc);

/* The value of label `name` on a sample (borrowed), or NULL. */
const char *prom_label(const struct prom_sample *s, const char *name);

/* A sample value or an `le` bound: "0.25", "1e3", "+Inf", "-Inf", "NaN"
 * (the whole of s[0..len) must be the number). 0, or -1. */
int prom_parse_value(const char *s, size_t len, double *out);

#endif
