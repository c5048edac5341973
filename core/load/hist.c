/* hist.c — the log-linear latency histogram (see hist.h for the layout).
 * Index arithmetic follows HdrHistogram's: bucket = which power of two,
 * sub-bucket = the top 11 significant bits of the value. */
#include "load/hist.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

/* 3 significant digits need 2 * 10^3 distinct sub-buckets: 2048. */
#define SUB_BITS 11
#define SUB_COUNT (1 << SUB_BITS)       /* 2048 */
#define SUB_HALF_BITS (SUB_BITS - 1)    /* 10 */
#define SUB_HALF (1 << SUB_HALF_BITS)   /* 1024 */
#define SUB_MASK ((int64_t)SUB_COUNT - 1)
/* Buckets until 2048 << (n - 1) exceeds 60e6: n = 16. */
#define BUCKETS 16
#define COUNTS_LEN ((size_t)(BUCKETS + 1) * SUB_HALF)

size_t hist_counts_len(void) { return COUNTS_LEN; }

static int bucket_of(int64_t v)
{
	/* position of the highest set bit of (v | mask), minus the sub-bucket
	 * width: 0 for v < 2048 */
	int pow2ceil = 64 - __builtin_clzll((unsigned long long)(v | SUB_MASK));
	return pow2ceil - SUB_BITS;
}

static size_t index_of(int64_t v)
{
	int b = bucket_of(v);
	int64_t sub = v >> b;
	return ((size_t)(b + 1) << SUB_HALF_BITS) + (size_t)(sub - SUB_HALF);
}

static int64_t value_of(size_t i)
{
	int b = (int)(i >> SUB_HALF_BITS) - 1;
	int64_t sub = (int64_t)(i & (SUB_HALF - 1)) + SUB_HALF;
	if (b < 0) {
		sub -= SUB_HALF;
		b = 0;
	}
	return sub << b;
}

static int64_t clamp(int64_t us)
{
	if (us < 1)
		return 1;
	if (us > HIST_MAX_US)
		return HIST_MAX_US;
	return us;
}

int64_t hist_lowest_equivalent(int64_t v)
{
	v = clamp(v);
	int b = bucket_of(v);
	return (v >> b) << b;
}

int64_t hist_highest_equivalent(int64_t v)
{
	v = clamp(v);
	int b = bucket_of(v);
	return hist_lowest_equivalent(v) + ((int64_t)1 << b) - 1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = xcalloc(COUNTS_LEN, sizeof(uint64_t));
}

void hist_release(struct hist *h)
{
	if (!h)
		return;
	free(h->counts);
	memset(h, 0, sizeof(*h));
}

void hist_reset(struct hist *h)
{
	if (h->total)
		memset(h->counts, 0, COUNTS_LEN * sizeof(uint64_t));
	h->total = 0;
	h->min = h->max = 0;
	h->sum = 0;
}

void hist_record_n(struct hist *h, int64_t us, uint64_t n)
{
	if (n == 0)
		return;
	us = clamp(us);
	h->counts[index_of(us)] += n;
	if (h->total == 0 || us < h->min)
		h->min = us;
	if (us > h->max)
		h->max = us;
	h->total += n;
	h->sum += (double)us * (double)n;
}

void hist_record(struct hist *h, int64_t us) { hist_record_n(h, us, 1); }

void hist_merge(struct hist *to, const struct hist *from)
{
	if (from->total == 0)
		return;
	for (size_t i = 0; i < COUNTS_LEN; i++)
		to->counts[i] += from->counts[i];
	if (to->total == 0 || from->min < to->min)
		to->min = from->min;
	if (from->max > to->max)
		to->max = from->max;
	to->total += from->total;
	to->sum += from->sum;
}

static uint64_t rank_of(const struct hist *h, double p)
{
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	/* ceil(p% of total), at least the first value */
	double r = p / 100.0 * (double)h->total;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > h->total)
		rank = h->total;
	return rank;
}

static int64_t report_value(const struct hist *h, size_t i)
{
	int64_t v = hist_highest_equivalent(value_of(i));
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return v;
}

void hist_percentiles(const struct hist *h, const double *ps, size_t n,
		      int64_t *out)
{
	size_t k = 0;
	if (h->total == 0) {
		for (k = 0; k < n; k++)
			out[k] = 0;
		return;
	}
	uint64_t cum = 0;
	for (size_t i = 0; i < COUNTS_LEN && k < n; i++) {
		cum += h->counts[i];
		while (k < n && cum >= rank_of(h, ps[k]))
			out[k++] = report_value(h, i);
	}
	for (; k < n; k++)
		out[k] = h->max;
}

int64_t hist_percentile(const struct hist *h, double p)
{
	int64_t v;
	hist_percentiles(h, &p, 1, &v);
	return v;
}

double hist_mean(const struct hist *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

bool hist_next(const struct hist *h, size_t *it, int64_t *lo, int64_t *hi,
	       uint64_t *count)
{
	for (size_t i = *it; i < COUNTS_LEN; i++) {
		if (h->counts[i] == 0)
			continue;
		*lo = value_of(i);
		*hi = hist_highest_equivalent(*lo);
		*count = h->counts[i];
		*it = i + 1;
		return true;
	}
	*it = COUNTS_LEN;
	return false;
}
