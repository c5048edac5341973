/* config_analysis.c — the canary `analysis:` block, one decoder for both
 * places it appears: an environment's `strategy.analysis` and a release's
 * top-level `analysis` (which may only tighten the environment's; see
 * core/analysis.h). Also the block alone from a release manifest's text,
 * for `continue`, which judges with the manifest recorded in the ledger. */
#include "config_internal.h"

#include <string.h>

void cfg_analysis_init(struct cfg_analysis *a)
{
	memset(a, 0, sizeof(*a));
	a->interval_ms = a->max_p99_ms = -1;
	a->max_error_rate = a->max_error_rate_delta = a->max_p99_ratio = -1;
	a->min_requests = a->max_no_data = a->failure_limit = -1;
}

void cfg_analysis_decode(struct dec *dc, const struct ydoc_node *n,
			 struct cfg_analysis *a)
{
	static const char *const keys[] = {
		"interval", "max_error_rate", "max_error_rate_delta", "max_p99",
		"max_p99_ratio", "min_requests", "no_data", "max_no_data",
		"failure_limit", "traffic", NULL
	};
	static const char *const traffic_keys[] = { "rate", NULL };
	a->set = true;
	a->pos = dec_pos(n);
	if (!dec_map(dc, n, keys))
		return;
	dec_duration(dc, n, "interval", false, &a->interval_ms);
	dec_percent(dc, n, "max_error_rate", false, &a->max_error_rate);
	dec_percent(dc, n, "max_error_rate_delta", false, &a->max_error_rate_delta);
	dec_duration(dc, n, "max_p99", false, &a->max_p99_ms);
	double r;
	if (dec_number(dc, n, "max_p99_ratio", false, &r)) {
		if (r < 1) {
			size_t s = dec_push_key(dc, "max_p99_ratio");
			dec_error(dc, ydoc_get(n, "max_p99_ratio"),
				  "expected a ratio >= 1, found %g", r);
			dec_pop(dc, s);
		} else {
			a->max_p99_ratio = r;
		}
	}
	long long v;
	if (dec_int(dc, n, "min_requests", false, 0, 1000000000, &v))
		a->min_requests = (int)v;
	int nd;
	if (dec_enum(dc, n, "no_data", false, cfg_no_data_names, &nd)) {
		a->has_no_data = true;
		a->no_data = (enum cfg_no_data)nd;
	}
	if (dec_int(dc, n, "max_no_data", false, 1, 1000000, &v))
		a->max_no_data = (int)v;
	if (dec_int(dc, n, "failure_limit", false, 1, 1000000, &v))
		a->failure_limit = (int)v;
	const struct ydoc_node *t = dec_field(dc, n, "traffic", false);
	if (t) {
		size_t s = dec_push_key(dc, "traffic");
		if (dec_map(dc, t, traffic_keys))
			dec_rate(dc, t, "rate", true, &a->traffic_rate);
		dec_pop(dc, s);
	}
}

int cfg_release_analysis_from_buffer(const char *name, const char *buf,
				     size_t len, struct cfg_analysis *out,
				     struct ml_diags *d)
{
	cfg_analysis_init(out);
	struct ydoc *doc = NULL;
	if (ydoc_load_buffer(name, buf, len, &doc, d))
		return -1;
	struct dec dc;
	dec_init(&dc, name, d);
	const struct ydoc_node *root = ydoc_root(doc);
	if (root->kind != YDOC_MAP) {
		dec_error(&dc, root, "expected a mapping at the top of the file, "
				     "found %s",
			  ydoc_describe(root));
	} else {
		const struct ydoc_node *a = dec_field(&dc, root, "analysis", false);
		if (a) {
			size_t s = dec_push_key(&dc, "analysis");
			cfg_analysis_decode(&dc, a, out);
			dec_pop(&dc, s);
		}
	}
	ydoc_free(doc);
	if (dc.errors) {
		cfg_analysis_init(out);
		return -1;
	}
	return 0;
}
