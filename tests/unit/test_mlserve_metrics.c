/* test_mlserve_metrics.c — Prometheus rendering of mlserve's metrics:
 * bucket layout (10 per decade, 0.1 ms .. 10 s), cumulative histograms with
 * +Inf = _count, per-worker slots summed, label escaping. */
#include "examples/mlserve/metrics.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(mlserve_metrics, .timeout = 10);

Test(mlserve_metrics, buckets_are_ten_per_decade_from_100us_to_10s)
{
	cr_assert_float_eq(metrics_bucket_bound(0), 0.0001, 1e-15);
	cr_assert_float_eq(metrics_bucket_bound(METRICS_BUCKETS - 1), 10.0, 1e-12);
	for (int d = 0; d < 5; d++) {
		double lo = 0.0001 * pow(10, d), hi = lo * 10;
		int n = 0;
		for (size_t i = 0; i < METRICS_BUCKETS; i++)
			if (metrics_bucket_bound(i) > lo * 1.0000001 && metrics_bucket_bound(i) <= hi * 1.0000001)
				n++;
		cr_assert_geq(n, 10, "decade %d has %d buckets", d, n);
	}
	for (size_t i = 1; i < METRICS_BUCKETS; i++)
		cr_assert_gt(metrics_bucket_bound(i), metrics_bucket_bound(i - 1));
	cr_assert_str_eq(metrics_bucket_label(1), "0.000125");
	cr_assert_str_eq(metrics_bucket_label(METRICS_BUCKETS), "+Inf");
}

Test(mlserve_metrics, observations_land_in_the_first_bucket_at_or_above)
{
	cr_assert_eq(metrics_bucket_index(0.00005), 0);
	cr_assert_eq(metrics_bucket_index(0.0001), 0);
	cr_assert_eq(metrics_bucket_index(0.00011), 1);
	cr_assert_eq(metrics_bucket_index(0.08), 29); /* 80 ms */
	cr_assert_eq(metrics_bucket_index(11), METRICS_BUCKETS);
}

static size_t count_lines(const char *s, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, pl) == 0)
			n++;
	return n;
}

Test(mlserve_metrics, renders_counters_histograms_and_gauges)
{
	struct metrics m;
	metrics_init(&m, 2);
	struct metrics_series *s = metrics_series_get(&m, "eta", "2.0.0");
	cr_assert_eq(metrics_series_get(&m, "eta", "2.0.0"), s);
	metrics_observe(s, 0, 200, 500000);   /* 0.5 ms */
	metrics_observe(s, 1, 200, 80000000); /* 80 ms */
	metrics_observe(s, 1, 400, 100000);
	metrics_count(&m.workers[0].http[MH_HEALTH], 200);
	metrics_gauge_add(&m.workers[1].inflight, 3);
	const char *loaded[] = { "eta", "2.0.0" };
	struct mbuf out = MBUF_INIT;
	metrics_render(&m, &out, loaded, 1);
	const char *t = out.data;
	cr_assert(strstr(t, "mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"200\"} 2\n"), "%s", t);
	cr_assert(strstr(t, "mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"400\"} 1\n"));
	cr_assert(strstr(t, "# TYPE mlserve_request_duration_seconds histogram\n"));
	cr_assert_eq(count_lines(t, "mlserve_request_duration_seconds_bucket{"), METRICS_BUCKETS + 1);
	cr_assert(strstr(t, "le=\"0.0005\"} 2\n"), "%s", t);
	cr_assert(strstr(t, "le=\"0.08\"} 3\n") || strstr(t, "le=\"0.08\"} 3"), "%s", t);
	cr_assert(strstr(t, "le=\"+Inf\"} 3\n"));
	cr_assert(strstr(t, "mlserve_request_duration_seconds_count{model=\"eta\",version=\"2.0.0\"} 3\n"));
	cr_assert(strstr(t, "mlserve_request_duration_seconds_sum{model=\"eta\",version=\"2.0.0\"} 0.0806"), "%s", t);
	cr_assert(strstr(t, "mlserve_models_loaded 1\n"));
	cr_assert(strstr(t, "mlserve_model_loaded{model=\"eta\",version=\"2.0.0\"} 1\n"));
	cr_assert(strstr(t, "mlserve_inflight_requests 3\n"));
	cr_assert(strstr(t, "mlserve_http_requests_total{handler=\"health\",code=\"200\"} 1\n"));
	/* every sample's metric has a TYPE line before it */
	cr_assert_eq(count_lines(t, "# TYPE "), count_lines(t, "# HELP "));
	mbuf_release(&out);
	metrics_release(&m);
}

Test(mlserve_metrics, escapes_label_values)
{
	struct mbuf out = MBUF_INIT;
	metrics_add_label(&out, "a\"b\\c\nd");
	cr_assert_str_eq(out.data, "\"a\\\"b\\\\c\\nd\"");
	mbuf_release(&out);
}

Test(mlserve_metrics, many_codes_do_not_overflow_slots)
{
	struct metrics m;
	metrics_init(&m, 1);
	for (int code = 200; code < 230; code++)
		metrics_count(&m.workers[0].http[MH_OTHER], code);
	struct mbuf out = MBUF_INIT;
	metrics_render(&m, &out, NULL, 0);
	cr_assert_leq(count_lines(out.data, "mlserve_http_requests_total{handler=\"other\""), METRICS_CODES);
	mbuf_release(&out);
	metrics_release(&m);
}
