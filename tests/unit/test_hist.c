/* test_hist.c — the load generator's log-linear histogram against exact
 * sorted samples: every percentile lands in the counter of the exact value
 * (relative error below 1/1024, i.e. 3 significant digits), for random and
 * adversarial distributions; merging equals recording everything. */
#include "load/hist.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic across runs */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static double rnd01(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The exact value at percentile p: the sample of rank ceil(p% of n). */
static int64_t exact_at(const int64_t *sorted, size_t n, double p)
{
	double r = p / 100.0 * (double)n;
	size_t rank = (size_t)r;
	if ((double)rank < r)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static const double PS[] = { 0,  1,  10,   25,    50,     75,  90,
			     95, 99, 99.5, 99.9, 99.99, 99.999, 100 };
#define NPS (sizeof(PS) / sizeof(*PS))

/* Record samples, sort a copy, and check every percentile. */
static void check_against_exact(int64_t *v, size_t n)
{
	struct hist h;
	hist_init(&h);
	for (size_t i = 0; i < n; i++)
		hist_record(&h, v[i]);
	qsort(v, n, sizeof(*v), cmp_i64);
	cr_assert_eq(h.total, n);
	cr_assert_eq(h.min, v[0]);
	cr_assert_eq(h.max, v[n - 1]);
	for (size_t k = 0; k < NPS; k++) {
		int64_t exact = exact_at(v, n, PS[k]);
		int64_t got = hist_percentile(&h, PS[k]);
		/* same counter as the exact value */
		cr_assert_eq(hist_lowest_equivalent(got),
			     hist_lowest_equivalent(exact),
			     "p%g: got %lld, exact %lld", PS[k], (long long)got,
			     (long long)exact);
		/* and within 3 significant digits */
		cr_assert(llabs(got - exact) <= exact / 1024,
			  "p%g: got %lld, exact %lld", PS[k], (long long)got,
			  (long long)exact);
	}
	hist_release(&h);
}

Test(hist, layout_is_17408_counters)
{
	cr_assert_eq(hist_counts_len(), 17408);
}

Test(hist, empty_reports_zeros)
{
	struct hist h;
	hist_init(&h);
	cr_assert_eq(hist_percentile(&h, 50), 0);
	cr_assert_eq(hist_percentile(&h, 100), 0);
	cr_assert_eq(hist_mean(&h), 0.0);
	size_t it = 0;
	int64_t lo, hi;
	uint64_t c;
	cr_assert_not(hist_next(&h, &it, &lo, &hi, &c));
	hist_release(&h);
}

Test(hist, every_microsecond_below_2048_is_exact)
{
	struct hist h;
	hist_init(&h);
	for (int64_t v = 1; v <= 2000; v++)
		hist_record(&h, v);
	cr_assert_eq(hist_percentile(&h, 50), 1000);
	cr_assert_eq(hist_percentile(&h, 99), 1980);
	cr_assert_eq(hist_percentile(&h, 0), 1);
	cr_assert_eq(hist_percentile(&h, 100), 2000);
	cr_assert_float_eq(hist_mean(&h), 1000.5, 1e-9);
	for (int64_t v = 1; v < 2048; v++) {
		cr_assert_eq(hist_lowest_equivalent(v), v);
		cr_assert_eq(hist_highest_equivalent(v), v);
	}
	hist_release(&h);
}

Test(hist, equivalent_ranges_hold_three_significant_digits)
{
	for (int i = 0; i < 200000; i++) {
		int64_t v = 1 + (int64_t)(rng() % (uint64_t)HIST_MAX_US);
		int64_t lo = hist_lowest_equivalent(v);
		int64_t hi = hist_highest_equivalent(v);
		cr_assert(lo <= v && v <= hi, "%lld in [%lld, %lld]",
			  (long long)v, (long long)lo, (long long)hi);
		cr_assert(hi - lo + 1 <= (v >= 2048 ? v / 1024 + 1 : 1),
			  "range of %lld is %lld wide", (long long)v,
			  (long long)(hi - lo + 1));
	}
}

Test(hist, uniform_random_matches_exact_percentiles)
{
	size_t n = 100000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = 1 + (int64_t)(rng() % 500000);
	check_against_exact(v, n);
	free(v);
}

Test(hist, log_uniform_random_over_the_whole_range)
{
	/* 1 µs .. 60 s, evenly spread over the decades */
	size_t n = 100000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (int64_t)llround(pow(10, rnd01() * log10(6e7)));
	for (size_t i = 0; i < n; i++)
		if (v[i] < 1)
			v[i] = 1;
	check_against_exact(v, n);
	free(v);
}

Test(hist, exponential_latencies_with_a_long_tail)
{
	size_t n = 50000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = 100 + (int64_t)(-log(1 - rnd01()) * 3000.0);
	check_against_exact(v, n);
	free(v);
}

Test(hist, bimodal_stall_shows_in_the_tail)
{
	/* 99% fast answers at ~200 µs, 1% stalled at ~2 s: p99 must be fast,
	 * p99.5 the stall */
	size_t n = 100000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = i % 100 == 0 ? 2000000 + (int64_t)(rng() % 1000)
				    : 150 + (int64_t)(rng() % 100);
	check_against_exact(v, n);
	struct hist h;
	hist_init(&h);
	for (size_t i = 0; i < n; i++)
		hist_record(&h, v[i]);
	cr_assert_lt(hist_percentile(&h, 99), 300);
	cr_assert_gt(hist_percentile(&h, 99.5), 1990000);
	hist_release(&h);
	free(v);
}

Test(hist, bucket_boundaries_and_their_neighbours)
{
	/* powers of two (where a bucket starts) and +-1 around them */
	int64_t v[3 * 26];
	size_t n = 0;
	for (int b = 0; b < 26; b++) {
		int64_t p = (int64_t)1 << b;
		v[n++] = p;
		v[n++] = p + 1;
		v[n++] = p > 1 ? p - 1 : 1;
	}
	check_against_exact(v, n);
}

Test(hist, a_single_repeated_value)
{
	size_t n = 1000;
	int64_t *v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = 123457;
	struct hist h;
	hist_init(&h);
	for (size_t i = 0; i < n; i++)
		hist_record(&h, v[i]);
	/* capped at the exact max: no rounding up for a lone value */
	for (size_t k = 0; k < NPS; k++)
		cr_assert_eq(hist_percentile(&h, PS[k]), 123457);
	hist_release(&h);
	free(v);
}

Test(hist, out_of_range_values_are_clamped)
{
	struct hist h;
	hist_init(&h);
	hist_record(&h, 0);
	hist_record(&h, -5);
	hist_record(&h, HIST_MAX_US * 10);
	cr_assert_eq(h.total, 3);
	cr_assert_eq(h.min, 1);
	cr_assert_eq(h.max, HIST_MAX_US);
	cr_assert_eq(hist_percentile(&h, 50), 1);
	cr_assert_eq(hist_percentile(&h, 100), HIST_MAX_US);
	hist_release(&h);
}

Test(hist, record_n_counts_many_at_once)
{
	struct hist h;
	hist_init(&h);
	hist_record_n(&h, 500, 1000000000000ULL);
	hist_record_n(&h, 9000000, 10000000000ULL);
	hist_record_n(&h, 7, 0);
	cr_assert_eq(h.total, 1010000000000ULL);
	cr_assert_eq(hist_percentile(&h, 99), 500);
	cr_assert_eq(hist_lowest_equivalent(hist_percentile(&h, 99.5)),
		     hist_lowest_equivalent(9000000));
	hist_release(&h);
}

Test(hist, merge_equals_recording_everything)
{
	struct hist all, part[4], merged;
	hist_init(&all);
	hist_init(&merged);
	for (int k = 0; k < 4; k++)
		hist_init(&part[k]);
	for (int i = 0; i < 200000; i++) {
		int64_t v = (int64_t)llround(pow(10, rnd01() * 7.5));
		hist_record(&all, v);
		hist_record(&part[rng() % 4], v);
	}
	for (int k = 0; k < 4; k++)
		hist_merge(&merged, &part[k]);
	cr_assert_eq(merged.total, all.total);
	cr_assert_eq(merged.min, all.min);
	cr_assert_eq(merged.max, all.max);
	cr_assert_float_eq(merged.sum, all.sum, 1e-6 * all.sum);
	cr_assert_eq(memcmp(merged.counts, all.counts,
			    hist_counts_len() * sizeof(uint64_t)),
		     0);
	for (size_t k = 0; k < NPS; k++)
		cr_assert_eq(hist_percentile(&merged, PS[k]),
			     hist_percentile(&all, PS[k]));
	/* merging an empty histogram changes nothing */
	struct hist empty;
	hist_init(&empty);
	hist_merge(&merged, &empty);
	cr_assert_eq(merged.total, all.total);
	cr_assert_eq(merged.min, all.min);
	hist_release(&empty);
	for (int k = 0; k < 4; k++)
		hist_release(&part[k]);
	hist_release(&all);
	hist_release(&merged);
}

Test(hist, several_percentiles_in_one_pass_agree)
{
	struct hist h;
	hist_init(&h);
	for (int i = 0; i < 10000; i++)
		hist_record(&h, 1 + (int64_t)(rng() % 80000));
	int64_t out[NPS];
	hist_percentiles(&h, PS, NPS, out);
	for (size_t k = 0; k < NPS; k++)
		cr_assert_eq(out[k], hist_percentile(&h, PS[k]));
	hist_release(&h);
}

Test(hist, iteration_visits_every_count_in_order)
{
	struct hist h;
	hist_init(&h);
	for (int i = 0; i < 5000; i++)
		hist_record(&h, 1 + (int64_t)(rng() % 3000000));
	size_t it = 0;
	int64_t lo, hi, prev = 0;
	uint64_t c, sum = 0;
	while (hist_next(&h, &it, &lo, &hi, &c)) {
		cr_assert_gt(lo, prev);
		cr_assert_geq(hi, lo);
		prev = hi;
		sum += c;
	}
	cr_assert_eq(sum, h.total);
	hist_reset(&h);
	cr_assert_eq(h.total, 0);
	it = 0;
	cr_assert_not(hist_next(&h, &it, &lo, &hi, &c));
	hist_release(&h);
}
