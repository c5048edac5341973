/* fuzz_prom.c — libFuzzer target for what canary analysis does with a
 * node's /metrics (untrusted): the Prometheus text parser (everything, and
 * the analysis' name filter), a snapshot of model "eta", a delta against
 * a fixed earlier snapshot and against nothing, a group with quantiles,
 * and a verdict with its line and JSON. Seeds: tests/fuzz/seeds/fuzz_prom
 * (mlserve's own output). */
#include "analysis.h"
#include "prom.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keep[] = { ANALYSIS_REQUESTS_METRIC,
					    ANALYSIS_LATENCY_METRIC,
					    ANALYSIS_START_METRIC, NULL };
	struct prom_doc all = PROM_DOC_INIT, some = PROM_DOC_INIT;
	prom_parse(&all, (const char *)data, size, NULL);
	prom_parse(&some, (const char *)data, size, keep);
	if (some.n > all.n)
		abort();
	for (size_t i = 0; i < all.n; i++) {
		const struct prom_sample *s = &all.samples[i];
		if (!s->name || strlen(s->name) > PROM_MAX_NAME)
			abort();
		for (size_t k = 0; k < s->n_labels; k++)
			if (prom_label(s, s->labels[k].name) == NULL)
				abort();
	}
	struct analysis_snapshot *cur = calloc(1, sizeof(*cur));
	struct analysis_snapshot *prev = calloc(1, sizeof(*prev));
	analysis_snapshot_from(&some, "eta", cur);
	/* an earlier scrape: half of every counter */
	*prev = *cur;
	for (size_t i = 0; i < prev->n_series; i++) {
		struct analysis_series *s = &prev->series[i];
		for (size_t k = 0; k < s->n_codes; k++)
			s->counts[k] /= 2;
		for (size_t k = 0; k < s->n_buckets; k++)
			s->cum[k] /= 2;
		s->h_count /= 2;
	}
	struct analysis_group g;
	analysis_group_init(&g);
	struct analysis_delta *d = malloc(sizeof(*d));
	for (size_t i = 0; i < cur->n_series; i++) {
		analysis_series_delta(&prev->series[i], &cur->series[i], false, d);
		analysis_group_add(&g, d);
		analysis_series_delta(NULL, &cur->series[i], i % 2 == 0, d);
		analysis_group_add(&g, d);
		for (size_t k = 1; k < d->n_buckets; k++)
			if (d->cum[k] < d->cum[k - 1])
				abort();
	}
	analysis_group_finish(&g);
	struct analysis_interval *iv = calloc(1, sizeof(*iv));
	iv->canary = g;
	iv->stable = g;
	iv->percent = 10;
	struct analysis_limits l;
	analysis_limits_default(&l);
	analysis_judge(&l, iv);
	char line[600];
	analysis_interval_line(iv, line, sizeof(line));
	free(analysis_interval_json(iv));
	free(iv);
	free(d);
	free(cur);
	free(prev);
	prom_doc_release(&all);
	prom_doc_release(&some);
	return 0;
}
