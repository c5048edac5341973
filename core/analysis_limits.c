/* analysis_limits.c — the limits a canary is judged by (see analysis.h):
 * the defaults, the environment's strategy.analysis over them, and a
 * release's analysis block, which may only tighten them; where it asks for
 * a looser value, the environment's holds and a readable line says so
 * (worded like the gates' floors, core/gates/thresholds.c). Pure: no I/O. */
#include "analysis.h"

#include <stdio.h>
#include <string.h>

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

/* ---- where the release asked for less --------------------------------- */

static void fmt_dur(char *buf, size_t sz, double ms)
{
	long long v = (long long)ms;
	if (v >= 60000 && v % 60000 == 0)
		snprintf(buf, sz, "%lldm", v / 60000);
	else if (v >= 1000 && v % 1000 == 0)
		snprintf(buf, sz, "%llds", v / 1000);
	else
		snprintf(buf, sz, "%lldms", v);
}

static void fmt_pct(char *buf, size_t sz, double frac)
{
	snprintf(buf, sz, "%g%%", 100 * frac);
}

static void fmt_num(char *buf, size_t sz, double v)
{
	snprintf(buf, sz, "%g", v);
}

static void fmt_rate(char *buf, size_t sz, double v)
{
	snprintf(buf, sz, "%g/s", v);
}

/* One line: "analysis.max_p99: the release's 500ms is looser than the
 * environment's 250ms; 250ms applies". `dflt`: the environment does not
 * set the key, its value is the default. */
static void held(struct analysis_held *h, const char *key, const char *rel,
		 const char *env, bool dflt)
{
	if (h->n == ANALYSIS_MAX_HELD)
		return;
	snprintf(h->line[h->n++], sizeof(h->line[0]),
		 "analysis.%.32s: the release's %.31s is looser than the "
		 "environment's %.31s%s; %.31s applies",
		 key, rel, env, dflt ? " (the default)" : "", env);
}

typedef void (*fmt_fn)(char *buf, size_t sz, double v);

/* A limit where lower is tighter; `have` < 0: the environment has none,
 * so any value of the release tightens. */
static void held_max(struct analysis_held *h, const char *key, double have,
		     double rel, bool env_set, fmt_fn fmt)
{
	if (rel < 0 || have < 0 || rel <= have)
		return;
	char a[32], b[32];
	fmt(a, sizeof(a), rel);
	fmt(b, sizeof(b), have);
	held(h, key, a, b, !env_set);
}

/* A setting where higher is tighter (min_requests, traffic.rate). */
static void held_min(struct analysis_held *h, const char *key, double have,
		     double rel, bool env_set, fmt_fn fmt)
{
	if (rel < 0 || rel >= have)
		return;
	char a[32], b[32];
	fmt(a, sizeof(a), rel);
	fmt(b, sizeof(b), have);
	held(h, key, a, b, !env_set);
}

/* Each value of `r` the tightening will ignore, against the environment's
 * effective limits `l` (before tightening). */
static void note_held(const struct cfg_analysis *e, const struct cfg_analysis *r,
		      const struct analysis_limits *l, struct analysis_held *h)
{
	bool es = e && e->set;
	if (r->interval_ms > 0 && r->interval_ms != l->interval_ms &&
	    h->n < ANALYSIS_MAX_HELD) {
		char a[32], b[32];
		fmt_dur(a, sizeof(a), (double)r->interval_ms);
		fmt_dur(b, sizeof(b), (double)l->interval_ms);
		snprintf(h->line[h->n++], sizeof(h->line[0]),
			 "analysis.interval: the release's %s is not the "
			 "environment's %s%s; %s applies (the interval is the "
			 "environment's to set)",
			 a, b, es && e->interval_ms > 0 ? "" : " (the default)", b);
	}
	held_max(h, "max_error_rate", l->max_error_rate, r->max_error_rate,
		 es && e->max_error_rate >= 0, fmt_pct);
	held_max(h, "max_error_rate_delta", l->max_error_rate_delta,
		 r->max_error_rate_delta, es && e->max_error_rate_delta >= 0,
		 fmt_pct);
	held_max(h, "max_p99", l->max_p99_ms,
		 r->max_p99_ms >= 0 ? (double)r->max_p99_ms : -1,
		 es && e->max_p99_ms >= 0, fmt_dur);
	held_max(h, "max_p99_ratio", l->max_p99_ratio, r->max_p99_ratio,
		 es && e->max_p99_ratio >= 0, fmt_num);
	held_min(h, "min_requests", l->min_requests, r->min_requests,
		 es && e->min_requests >= 0, fmt_num);
	if (r->has_no_data && no_data_rank(r->no_data) < no_data_rank(l->no_data))
		held(h, "no_data", cfg_no_data_name(r->no_data),
		     cfg_no_data_name(l->no_data), !(es && e->has_no_data));
	held_max(h, "max_no_data", l->max_no_data,
		 r->max_no_data > 0 ? r->max_no_data : -1,
		 es && e->max_no_data > 0, fmt_num);
	held_max(h, "failure_limit", l->failure_limit,
		 r->failure_limit > 0 ? r->failure_limit : -1,
		 es && e->failure_limit > 0, fmt_num);
	if (r->traffic_rate > 0)
		held_min(h, "traffic.rate", l->traffic_rate, r->traffic_rate,
			 es && e->traffic_rate > 0, fmt_rate);
}

void analysis_limits_merge(const struct cfg_analysis *env,
			   const struct cfg_analysis *rel,
			   struct analysis_limits *out, struct analysis_held *h)
{
	analysis_limits_from_env(env, out);
	if (h)
		h->n = 0;
	if (!rel || !rel->set)
		return;
	if (h)
		note_held(env, rel, out, h);
	analysis_limits_tighten(out, rel);
}
