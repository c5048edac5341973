/* test_analysis.c — canary analysis maths on synthetic scrapes and
 * deltas: limits, their tightening and the notes where a release asks for
 * less, snapshots from /metrics text, reset-aware deltas (a node that
 * restarted), merged histograms, interpolated quantiles, verdicts against
 * absolute and relative limits, the no-data policy and failure_limit, and
 * the live line. */
#include "analysis.h"
#include "prom.h"
#include "util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct analysis_snapshot *snap(const char *text, const char *model)
{
	struct prom_doc d = PROM_DOC_INIT;
	prom_parse(&d, text, strlen(text), NULL);
	struct analysis_snapshot *s = xcalloc(1, sizeof(*s));
	analysis_snapshot_from(&d, model, s);
	prom_doc_release(&d);
	return s;
}

/* A series by hand: requests by code, and buckets (le, cumulative). */
static void series(struct analysis_series *s, const char *version, double ok,
		   double e5, double e4, size_t nb, const double *le,
		   const double *cum)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->version, sizeof(s->version), "%s", version);
	s->codes[0] = 200;
	s->counts[0] = ok;
	s->codes[1] = 500;
	s->counts[1] = e5;
	s->codes[2] = 400;
	s->counts[2] = e4;
	s->n_codes = 3;
	s->n_buckets = nb;
	for (size_t i = 0; i < nb; i++) {
		s->le[i] = le[i];
		s->cum[i] = cum[i];
	}
	s->h_count = nb ? cum[nb - 1] : 0;
}

static const double LE[] = { 0.001, 0.01, 0.1, INFINITY };

/* ---- limits -------------------------------------------------------------- */

Test(analysis, defaults_are_the_issues)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	cr_assert_eq(l.interval_ms, 10000);
	cr_assert_float_eq(l.max_error_rate, 0.01, 1e-12);
	cr_assert_float_eq(l.max_error_rate_delta, 0.01, 1e-12);
	cr_assert_float_eq(l.max_p99_ratio, 2, 1e-12);
	cr_assert_lt(l.max_p99_ms, 0);
	cr_assert_eq(l.min_requests, 20);
	cr_assert_eq(l.no_data, CFG_NODATA_FAIL);
	cr_assert_eq(l.max_no_data, 3);
	cr_assert_eq(l.failure_limit, 1);
	cr_assert_float_eq(l.traffic_rate, 0, 1e-12);
}

static struct cfg_analysis unset(void)
{
	struct cfg_analysis a;
	memset(&a, 0, sizeof(a));
	a.set = true;
	a.interval_ms = a.max_p99_ms = -1;
	a.max_error_rate = a.max_error_rate_delta = a.max_p99_ratio = -1;
	a.min_requests = a.max_no_data = a.failure_limit = -1;
	return a;
}

Test(analysis, env_overrides_defaults_and_a_release_only_tightens)
{
	struct cfg_analysis env = unset();
	env.interval_ms = 1000;
	env.max_error_rate = 0.02;
	env.max_p99_ms = 250;
	env.traffic_rate = 500;
	env.has_no_data = true;
	env.no_data = CFG_NODATA_PAUSE;
	struct analysis_limits l;
	analysis_limits_from_env(&env, &l);
	cr_assert_eq(l.interval_ms, 1000);
	cr_assert_float_eq(l.max_error_rate, 0.02, 1e-12);
	cr_assert_float_eq(l.max_p99_ms, 250, 1e-12);
	cr_assert_float_eq(l.max_error_rate_delta, 0.01, 1e-12); /* default */
	cr_assert_eq(l.no_data, CFG_NODATA_PAUSE);

	struct cfg_analysis rel = unset();
	rel.max_error_rate = 0.05;   /* looser: ignored */
	rel.max_p99_ms = 100;        /* tighter: wins */
	rel.max_p99_ratio = 1.5;     /* tighter */
	rel.min_requests = 10;       /* fewer: looser, ignored */
	rel.failure_limit = 3;       /* looser: ignored */
	rel.has_no_data = true;
	rel.no_data = CFG_NODATA_PASS; /* looser: ignored */
	rel.interval_ms = 100;       /* the environment's stays */
	analysis_limits_tighten(&l, &rel);
	cr_assert_float_eq(l.max_error_rate, 0.02, 1e-12);
	cr_assert_float_eq(l.max_p99_ms, 100, 1e-12);
	cr_assert_float_eq(l.max_p99_ratio, 1.5, 1e-12);
	cr_assert_eq(l.min_requests, 20);
	cr_assert_eq(l.failure_limit, 1);
	cr_assert_eq(l.no_data, CFG_NODATA_PAUSE);
	cr_assert_eq(l.interval_ms, 1000);
	rel = unset();
	rel.has_no_data = true;
	rel.no_data = CFG_NODATA_FAIL;
	rel.min_requests = 50;
	analysis_limits_tighten(&l, &rel);
	cr_assert_eq(l.no_data, CFG_NODATA_FAIL);
	cr_assert_eq(l.min_requests, 50);
	analysis_limits_tighten(&l, NULL); /* no block: no change */
	cr_assert_eq(l.min_requests, 50);
}

Test(analysis, a_release_asking_for_looser_limits_is_held_with_a_note_each)
{
	struct cfg_analysis env = unset();
	env.interval_ms = 1000;
	env.max_p99_ms = 250;
	env.traffic_rate = 200;
	struct cfg_analysis rel = unset();
	rel.max_p99_ms = 500;        /* looser than the environment's */
	rel.failure_limit = 3;       /* looser than the default */
	rel.has_no_data = true;
	rel.no_data = CFG_NODATA_PASS; /* looser than the default fail */
	rel.traffic_rate = 50;       /* less traffic: looser */
	rel.interval_ms = 2000;      /* the environment's to set */
	rel.max_error_rate = 0.005;  /* tighter: wins, no note */
	rel.min_requests = 40;       /* tighter */
	struct analysis_limits l;
	struct analysis_held h;
	analysis_limits_merge(&env, &rel, &l, &h);
	cr_assert_float_eq(l.max_p99_ms, 250, 1e-12);
	cr_assert_eq(l.failure_limit, 1);
	cr_assert_eq(l.no_data, CFG_NODATA_FAIL);
	cr_assert_float_eq(l.traffic_rate, 200, 1e-12);
	cr_assert_eq(l.interval_ms, 1000);
	cr_assert_float_eq(l.max_error_rate, 0.005, 1e-12);
	cr_assert_eq(l.min_requests, 40);
	cr_assert_eq(h.n, 5, "%zu notes", h.n);
	cr_assert_str_eq(h.line[0], "analysis.interval: the release's 2s is not "
				    "the environment's 1s; 1s applies (the "
				    "interval is the environment's to set)");
	cr_assert_str_eq(h.line[1], "analysis.max_p99: the release's 500ms is "
				    "looser than the environment's 250ms; 250ms "
				    "applies");
	cr_assert_str_eq(h.line[2], "analysis.no_data: the release's pass is "
				    "looser than the environment's fail (the "
				    "default); fail applies");
	cr_assert_str_eq(h.line[3], "analysis.failure_limit: the release's 3 is "
				    "looser than the environment's 1 (the "
				    "default); 1 applies");
	cr_assert_str_eq(h.line[4], "analysis.traffic.rate: the release's 50/s "
				    "is looser than the environment's 200/s; "
				    "200/s applies");

	/* tighter or equal everywhere: no note; no block: no note either */
	rel = unset();
	rel.max_p99_ms = 100;
	rel.max_error_rate = 0.01;   /* equal to the default */
	rel.max_error_rate_delta = 0.5 / 100;
	analysis_limits_merge(&env, &rel, &l, &h);
	cr_assert_eq(h.n, 0, "%s", h.line[0]);
	cr_assert_float_eq(l.max_p99_ms, 100, 1e-12);
	analysis_limits_merge(&env, NULL, &l, &h);
	cr_assert_eq(h.n, 0);
	cr_assert_float_eq(l.max_p99_ms, 250, 1e-12);
	/* no max_p99 in the environment: any is tighter */
	env.max_p99_ms = -1;
	rel = unset();
	rel.max_p99_ms = 5000;
	analysis_limits_merge(&env, &rel, &l, &h);
	cr_assert_eq(h.n, 0);
	cr_assert_float_eq(l.max_p99_ms, 5000, 1e-12);
}

/* ---- snapshots --------------------------------------------------------------- */

Test(analysis, snapshot_takes_the_models_series_only)
{
	struct analysis_snapshot *s = snap(
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"200\"} 10\n"
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"503\"} 2\n"
		"mlserve_requests_total{model=\"other\",version=\"1\",code=\"200\"} 99\n"
		"mlserve_requests_total{model=\"eta\",version=\"1.0.0\",code=\"200\"} 5\n"
		"mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"+Inf\"} 12\n"
		"mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"0.01\"} 11\n"
		"mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"bogus\"} 11\n"
		"mlserve_request_duration_seconds_count{model=\"eta\",version=\"2.0.0\"} 12\n"
		"mlserve_request_duration_seconds_sum{model=\"eta\",version=\"2.0.0\"} 0.06\n"
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"200\"} -4\n"
		"mlserve_start_time_seconds 1234.5\n"
		"garbage line here\n",
		"eta");
	cr_assert(s->ok);
	cr_assert_float_eq(s->start_time, 1234.5, 1e-9);
	cr_assert_eq(s->n_series, 2);
	cr_assert_eq(s->bad_lines, 1);
	const struct analysis_series *v2 = &s->series[0];
	cr_assert_str_eq(v2->version, "2.0.0");
	cr_assert_eq(v2->n_codes, 2);
	cr_assert_float_eq(v2->counts[0], 10, 1e-9); /* the -4 was dropped */
	cr_assert_eq(v2->n_buckets, 2);
	cr_assert_float_eq(v2->le[0], 0.01, 1e-12); /* sorted by le */
	cr_assert(isinf(v2->le[1]));
	cr_assert_float_eq(v2->h_count, 12, 1e-9);
	cr_assert_str_eq(s->series[1].version, "1.0.0");
	free(s);
}

/* ---- deltas ---------------------------------------------------------------- */

Test(analysis, delta_of_growing_counters)
{
	struct analysis_series a, b;
	series(&a, "2.0.0", 100, 1, 3, 4, LE, (double[]){ 50, 90, 100, 104 });
	series(&b, "2.0.0", 150, 4, 3, 4, LE, (double[]){ 70, 130, 152, 157 });
	struct analysis_delta d;
	analysis_series_delta(&a, &b, false, &d);
	cr_assert_not(d.reset);
	cr_assert_float_eq(d.requests, 53, 1e-9);
	cr_assert_float_eq(d.errors, 3, 1e-9);
	cr_assert_float_eq(d.client_errors, 0, 1e-9);
	cr_assert_float_eq(d.cum[0], 20, 1e-9);
	cr_assert_float_eq(d.cum[1], 40, 1e-9);
	cr_assert_float_eq(d.cum[3], 53, 1e-9);
	cr_assert_float_eq(d.count, 53, 1e-9);
}

Test(analysis, a_counter_that_went_down_was_reset)
{
	/* the node restarted: 150 before, 30 now -> 30 happened since */
	struct analysis_series a, b;
	series(&a, "2.0.0", 150, 4, 0, 4, LE, (double[]){ 70, 130, 152, 154 });
	series(&b, "2.0.0", 30, 1, 0, 4, LE, (double[]){ 20, 30, 31, 31 });
	struct analysis_delta d;
	analysis_series_delta(&a, &b, false, &d);
	cr_assert(d.reset);
	cr_assert_float_eq(d.requests, 31, 1e-9);
	cr_assert_float_eq(d.errors, 1, 1e-9);
	cr_assert_float_eq(d.cum[3], 31, 1e-9);
	cr_assert_float_eq(d.count, 31, 1e-9);
}

Test(analysis, one_counter_down_resets_the_whole_series)
{
	/* 200s grew past the old count but 500s went down: a reset, so the
	 * 200s' delta is their whole new value too */
	struct analysis_series a, b;
	series(&a, "2.0.0", 10, 5, 0, 4, LE, (double[]){ 15, 15, 15, 15 });
	series(&b, "2.0.0", 12, 0, 0, 4, LE, (double[]){ 12, 12, 12, 12 });
	struct analysis_delta d;
	analysis_series_delta(&a, &b, false, &d);
	cr_assert(d.reset);
	cr_assert_float_eq(d.requests, 12, 1e-9);
	cr_assert_float_eq(d.errors, 0, 1e-9);
}

Test(analysis, a_vanished_code_or_bucket_means_reset)
{
	struct analysis_series a, b;
	series(&a, "2.0.0", 10, 2, 0, 4, LE, (double[]){ 12, 12, 12, 12 });
	series(&b, "2.0.0", 20, 2, 0, 4, LE, (double[]){ 22, 22, 22, 22 });
	b.n_codes = 1; /* the 500 counter is gone */
	struct analysis_delta d;
	analysis_series_delta(&a, &b, false, &d);
	cr_assert(d.reset);
	series(&b, "2.0.0", 20, 2, 0, 3, LE, (double[]){ 22, 22, 22 });
	analysis_series_delta(&a, &b, false, &d); /* +Inf bucket gone */
	cr_assert(d.reset);
}

Test(analysis, a_node_restart_resets_even_growing_counters)
{
	struct analysis_series a, b;
	series(&a, "2.0.0", 10, 0, 0, 4, LE, (double[]){ 10, 10, 10, 10 });
	series(&b, "2.0.0", 25, 0, 0, 4, LE, (double[]){ 25, 25, 25, 25 });
	struct analysis_delta d;
	analysis_series_delta(&a, &b, true, &d);
	cr_assert(d.reset);
	cr_assert_float_eq(d.requests, 25, 1e-9);
}

Test(analysis, a_new_series_counts_from_zero)
{
	struct analysis_series b;
	series(&b, "2.0.0", 7, 1, 0, 4, LE, (double[]){ 8, 8, 8, 8 });
	struct analysis_delta d;
	analysis_series_delta(NULL, &b, false, &d);
	cr_assert_not(d.reset);
	cr_assert_float_eq(d.requests, 8, 1e-9);
	cr_assert_float_eq(d.errors, 1, 1e-9);
}

Test(analysis, garbage_buckets_stay_cumulative)
{
	struct analysis_series b;
	/* a bucket lower than the one before it (garbage) */
	series(&b, "x", 10, 0, 0, 4, LE, (double[]){ 5, 3, 9, 10 });
	struct analysis_delta d;
	analysis_series_delta(NULL, &b, false, &d);
	for (size_t i = 1; i < d.n_buckets; i++)
		cr_assert_geq(d.cum[i], d.cum[i - 1]);
}

/* ---- groups and quantiles ---------------------------------------------- */

Test(analysis, quantile_interpolates_within_the_bucket)
{
	double le[] = { 0.001, 0.01, 0.1, INFINITY };
	double cum[] = { 50, 90, 100, 100 };
	/* p50: rank 50 is the end of the first bucket */
	cr_assert_float_eq(analysis_quantile(le, cum, 4, 0.5), 0.001, 1e-12);
	/* p70: rank 70 of 90 -> halfway through (0.001, 0.01] */
	cr_assert_float_eq(analysis_quantile(le, cum, 4, 0.7), 0.0055, 1e-12);
	/* p99: rank 99, the 9th of 10 in (0.01, 0.1] */
	cr_assert_float_eq(analysis_quantile(le, cum, 4, 0.99), 0.091, 1e-12);
	/* p25: in the first bucket, from 0 */
	cr_assert_float_eq(analysis_quantile(le, cum, 4, 0.25), 0.0005, 1e-12);
	/* a rank in +Inf gives the highest finite bound */
	double cum2[] = { 0, 0, 1, 100 };
	cr_assert_float_eq(analysis_quantile(le, cum2, 4, 0.99), 0.1, 1e-12);
	double zero[] = { 0, 0, 0, 0 };
	cr_assert(isnan(analysis_quantile(le, zero, 4, 0.5)));
	cr_assert(isnan(analysis_quantile(le, zero, 0, 0.5)));
}

Test(analysis, groups_sum_nodes_and_merge_bucket_layouts)
{
	struct analysis_group g;
	analysis_group_init(&g);
	struct analysis_delta d1 = { 0 }, d2 = { 0 };
	d1.requests = 100;
	d1.errors = 2;
	d1.n_buckets = 3;
	d1.le[0] = 0.001, d1.le[1] = 0.01, d1.le[2] = INFINITY;
	d1.cum[0] = 90, d1.cum[1] = 100, d1.cum[2] = 100;
	d2.requests = 100;
	d2.n_buckets = 2;
	d2.le[0] = 0.005, d2.le[1] = INFINITY;
	d2.cum[0] = 100, d2.cum[1] = 100;
	analysis_group_add(&g, &d1);
	analysis_group_add(&g, &d2);
	analysis_group_finish(&g);
	cr_assert_float_eq(g.requests, 200, 1e-9);
	cr_assert_float_eq(g.error_rate, 0.01, 1e-12);
	cr_assert_eq(g.n_buckets, 4);
	/* union: 0.001 -> 90+0, 0.005 -> 90+100, 0.01 -> 100+100 */
	cr_assert_float_eq(g.cum[0], 90, 1e-9);
	cr_assert_float_eq(g.cum[1], 190, 1e-9);
	cr_assert_float_eq(g.cum[2], 200, 1e-9);
	cr_assert_float_eq(g.cum[3], 200, 1e-9);
	cr_assert(g.p99_ms > 5 && g.p99_ms <= 10, "p99 %g", g.p99_ms);
	struct analysis_group empty;
	analysis_group_init(&empty);
	analysis_group_finish(&empty);
	cr_assert_float_eq(empty.error_rate, 0, 1e-12);
	cr_assert(isnan(empty.p99_ms));
}

/* ---- verdicts ----------------------------------------------------------- */

static void group(struct analysis_group *g, double requests, double errors,
		  double p99_ms)
{
	analysis_group_init(g);
	g->requests = requests;
	g->errors = errors;
	g->error_rate = requests > 0 ? errors / requests : 0;
	g->p50_ms = p99_ms / 2;
	g->p99_ms = p99_ms;
}

static struct analysis_interval iv_of(double cr, double ce, double cp,
				      double sr, double se, double sp)
{
	struct analysis_interval iv;
	memset(&iv, 0, sizeof(iv));
	iv.percent = 10;
	iv.step = 1;
	group(&iv.canary, cr, ce, cp);
	group(&iv.stable, sr, se, sp);
	return iv;
}

Test(analysis, a_healthy_canary_passes)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	struct analysis_interval iv = iv_of(412, 0, 3.4, 3701, 0, 3.2);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_PASS, "%s", iv.reason);
	/* exactly at a limit passes */
	iv = iv_of(100, 1, 3, 1000, 0, 3);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_PASS, "%s", iv.reason);
}

Test(analysis, error_rate_relative_to_stable)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	l.max_error_rate = 0.05; /* only the relative limit bites */
	struct analysis_interval iv = iv_of(100, 2, 3, 1000, 0, 3);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_FAIL);
	cr_assert_str_eq(iv.reason, "error rate +2.0% > +1%");
	cr_assert_str_eq(iv.detail, "error rate 2.0% vs stable 0.0% (limit +1%)");
	/* the same canary beside an equally bad stable passes */
	iv = iv_of(100, 2, 3, 1000, 15, 3);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_PASS, "%s", iv.reason);
}

Test(analysis, absolute_limits_and_several_at_once)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	l.max_p99_ms = 50;
	struct analysis_interval iv = iv_of(100, 2, 81, 1000, 0, 3.2);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_FAIL);
	cr_assert_str_eq(iv.detail,
			 "error rate 2.0% (limit 1%); error rate 2.0% vs stable "
			 "0.0% (limit +1%); p99 81 ms (limit 50 ms); p99 81 ms vs "
			 "stable 3.2 ms (limit 2x)");
}

Test(analysis, p99_ratio_has_a_floor_for_fast_nodes)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	/* 0.3 ms vs 0.1 ms is 3x, but both are under the floor: pass */
	struct analysis_interval iv = iv_of(100, 0, 0.3, 1000, 0, 0.1);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_PASS, "%s", iv.reason);
	/* 19 ms vs 0.1 ms: 1.9x the floor, pass; 21 ms: 2.1x, fail */
	iv = iv_of(100, 0, 19, 1000, 0, 0.1);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_PASS, "%s", iv.reason);
	iv = iv_of(100, 0, 21, 1000, 0, 0.1);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_FAIL);
	/* above the floor the plain ratio applies: 50 vs 20 = 2.5x */
	iv = iv_of(100, 0, 50, 1000, 0, 20);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_FAIL);
	cr_assert_str_eq(iv.detail, "p99 50 ms vs stable 20 ms (limit 2x)");
}

Test(analysis, too_little_stable_traffic_skips_relative_limits)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	l.max_error_rate = -1; /* no absolute limit */
	struct analysis_interval iv = iv_of(100, 5, 80, 10, 0, 1);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_PASS, "%s", iv.reason);
}

Test(analysis, too_few_canary_requests_is_no_data)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	struct analysis_interval iv = iv_of(12, 12, 900, 1000, 0, 1);
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_NO_DATA);
	cr_assert_str_eq(iv.reason, "12 < 20 requests");
}

Test(analysis, a_canary_scrape_failure_fails_the_interval)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	struct analysis_interval iv = iv_of(0, 0, NAN, 1000, 0, 1);
	snprintf(iv.scrape_error, sizeof(iv.scrape_error),
		 "metrics of canary prod-4: connection refused");
	analysis_judge(&l, &iv);
	cr_assert_eq(iv.verdict, ANALYSIS_FAIL);
	cr_assert(strstr(iv.detail, "prod-4"));
}

/* ---- tracking over intervals ---------------------------------------------- */

static enum analysis_action feed(const struct analysis_limits *l,
				 struct analysis_tracker *t,
				 enum analysis_verdict v, char *why)
{
	struct analysis_interval iv;
	memset(&iv, 0, sizeof(iv));
	iv.verdict = v;
	snprintf(iv.detail, sizeof(iv.detail), "error rate 2.0%% vs stable 0.0%% "
					       "(limit +1%%)");
	return analysis_track(l, t, &iv, why, 400);
}

Test(analysis, failure_limit_counts_failed_intervals)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	l.failure_limit = 2;
	struct analysis_tracker t = { 0 };
	char why[400];
	cr_assert_eq(feed(&l, &t, ANALYSIS_FAIL, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_PASS, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_FAIL, why), ANALYSIS_ABORT);
	cr_assert_str_eq(why, "error rate 2.0% vs stable 0.0% (limit +1%)");
	l.failure_limit = 1;
	struct analysis_tracker t1 = { 0 };
	cr_assert_eq(feed(&l, &t1, ANALYSIS_FAIL, why), ANALYSIS_ABORT);
}

Test(analysis, no_data_fail_after_max_no_data_intervals)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	struct analysis_tracker t = { 0 };
	char why[400];
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_GO_ON);
	/* data in between restarts the count */
	cr_assert_eq(feed(&l, &t, ANALYSIS_PASS, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_ABORT);
	cr_assert(strstr(why, "no data: 3 intervals in a row"), "%s", why);
	cr_assert(strstr(why, "(no_data: fail)"), "%s", why);
}

Test(analysis, no_data_pause_and_pass)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	l.max_no_data = 2;
	l.no_data = CFG_NODATA_PAUSE;
	struct analysis_tracker t = { 0 };
	char why[400];
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_GO_ON);
	cr_assert_eq(feed(&l, &t, ANALYSIS_NO_DATA, why), ANALYSIS_PAUSE);
	cr_assert(strstr(why, "no_data: pause"), "%s", why);
	l.no_data = CFG_NODATA_PASS;
	struct analysis_tracker t2 = { 0 };
	for (int i = 0; i < 10; i++)
		cr_assert_eq(feed(&l, &t2, ANALYSIS_NO_DATA, why), ANALYSIS_GO_ON);
	cr_assert_eq(analysis_step_end(&l, &t2, why, sizeof(why)), ANALYSIS_GO_ON);
}

Test(analysis, a_step_never_passes_blind)
{
	struct analysis_limits l;
	analysis_limits_default(&l); /* max_no_data 3 */
	struct analysis_tracker t = { 0 };
	char why[400];
	/* a short step: two no-data intervals, then its end */
	feed(&l, &t, ANALYSIS_NO_DATA, why);
	feed(&l, &t, ANALYSIS_NO_DATA, why);
	cr_assert_eq(analysis_step_end(&l, &t, why, sizeof(why)), ANALYSIS_ABORT);
	cr_assert(strstr(why, "no interval of the step"), "%s", why);
	/* a step with data ends fine, and the next starts afresh */
	feed(&l, &t, ANALYSIS_PASS, why);
	cr_assert_eq(analysis_step_end(&l, &t, why, sizeof(why)), ANALYSIS_GO_ON);
	cr_assert_eq(analysis_step_end(&l, &t, why, sizeof(why)), ANALYSIS_ABORT);
	l.no_data = CFG_NODATA_PAUSE;
	cr_assert_eq(analysis_step_end(&l, &t, why, sizeof(why)), ANALYSIS_PAUSE);
}

/* ---- output ---------------------------------------------------------------- */

Test(analysis, the_live_line_reads_like_the_issue)
{
	struct analysis_limits l;
	analysis_limits_default(&l);
	l.max_error_rate = -1;
	struct analysis_interval iv = iv_of(412, 8, 81, 3701, 0, 3.2);
	iv.canary.p50_ms = 2.1;
	iv.stable.p50_ms = 1.4;
	analysis_judge(&l, &iv);
	char line[600];
	analysis_interval_line(&iv, line, sizeof(line));
	cr_assert(strncmp(line,
			  "canary 10%: canary 412 req, 8 err (1.9%), p50 2.1 ms p99 "
			  "81 ms | stable 3701 req, 0 err (0.0%), p50 1.4 ms p99 3.2 ms | FAIL "
			  "error rate +1.9% > +1%",
			  strlen("canary 10%: canary 412 req, 8 err (1.9%), p50 2.1 ms "
				 "p99 81 ms | stable 3701 req, 0 err (0.0%), p50 1.4 ms p99 3.2 "
				 "ms | FAIL error rate +1.9% > +1%")) == 0,
		  "%s", line);
	iv = iv_of(5, 0, 1, 100, 0, 1);
	analysis_judge(&l, &iv);
	analysis_interval_line(&iv, line, sizeof(line));
	cr_assert(strstr(line, "| no data (5 < 20 requests)"), "%s", line);
	char *j = analysis_interval_json(&iv);
	cr_assert(strstr(j, "\"verdict\":\"no-data\""), "%s", j);
	cr_assert(strstr(j, "\"requests\":5"), "%s", j);
	free(j);
}
