/* analysis_limits.c — the limits a canary is judged by (see analysis.h):
 * the defaults, the environment's strategy.analysis over them, and a
 * release's analysis block, which may only tighten them. Pure: no I/O. */
#include "analysis.h"

void analysis_limits_default(struct analysis_limits *l)
{
	l->interval_ms = 10000;
	l->max_error_rate = 0.01;
	l->max_error_rate_delta = 0.01;
	l->max_p99_ms = -1;
	l->max_p99_ratio = 2;
	l->min_requests = 20;
	l->no_data = CFG_NODATA_FAIL;
	l->max_no_data = 3;
	l->failure_limit = 1;
	l->traffic_rate = 0;
}

void analysis_limits_from_env(const struct cfg_analysis *a,
			      struct analysis_limits *l)
{
	analysis_limits_default(l);
	if (!a || !a->set)
		return;
	if (a->interval_ms > 0)
		l->interval_ms = a->interval_ms;
	if (a->max_error_rate >= 0)
		l->max_error_rate = a->max_error_rate;
	if (a->max_error_rate_delta >= 0)
		l->max_error_rate_delta = a->max_error_rate_delta;
	if (a->max_p99_ms >= 0)
		l->max_p99_ms = (double)a->max_p99_ms;
	if (a->max_p99_ratio >= 0)
		l->max_p99_ratio = a->max_p99_ratio;
	if (a->min_requests >= 0)
		l->min_requests = a->min_requests;
	if (a->has_no_data)
		l->no_data = a->no_data;
	if (a->max_no_data > 0)
		l->max_no_data = a->max_no_data;
	if (a->failure_limit > 0)
		l->failure_limit = a->failure_limit;
	if (a->traffic_rate > 0)
		l->traffic_rate = a->traffic_rate;
}

static double tighter_max(double have, double rel)
{
	if (rel < 0)
		return have;
	return have < 0 || rel < have ? rel : have;
}

/* pass < pause < fail */
static int no_data_rank(enum cfg_no_data n)
{
	return n == CFG_NODATA_PASS ? 0 : n == CFG_NODATA_PAUSE ? 1 : 2;
}

void analysis_limits_tighten(struct analysis_limits *l,
			     const struct cfg_analysis *r)
{
	if (!r || !r->set)
		return;
	l->max_error_rate = tighter_max(l->max_error_rate, r->max_error_rate);
	l->max_error_rate_delta =
		tighter_max(l->max_error_rate_delta, r->max_error_rate_delta);
	l->max_p99_ms = tighter_max(l->max_p99_ms, r->max_p99_ms >= 0
							   ? (double)r->max_p99_ms
							   : -1);
	l->max_p99_ratio = tighter_max(l->max_p99_ratio, r->max_p99_ratio);
	if (r->min_requests > l->min_requests)
		l->min_requests = r->min_requests;
	if (r->max_no_data > 0 && r->max_no_data < l->max_no_data)
		l->max_no_data = r->max_no_data;
	if (r->failure_limit > 0 && r->failure_limit < l->failure_limit)
		l->failure_limit = r->failure_limit;
	if (r->has_no_data && no_data_rank(r->no_data) > no_data_rank(l->no_data))
		l->no_data = r->no_data;
	if (r->traffic_rate > l->traffic_rate)
		l->traffic_rate = r->traffic_rate;
}
