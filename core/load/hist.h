/* hist.h — an HDR-style log-linear histogram of latencies in microseconds.
 *
 * Values from 1 µs to 60 s are kept to 3 significant decimal digits: the
 * range is cut into power-of-two buckets, each split into 2048 linear
 * sub-buckets (half of them shared with the bucket below), so any recorded
 * value is known to within 1/1024 (< 0.1%) of itself. Below 2048 µs every
 * microsecond has its own counter. That is 17,408 counters (136 KiB).
 * Merging is adding counters, so per-thread histograms merge exactly.
 *
 * Values above 60 s are counted in the top counter (HIST_MAX_US); the
 * exact largest and smallest values recorded are kept beside the counters.
 * Values below 1 µs count as 1 µs. Not thread-safe: one writer at a time.
 */
#ifndef MLCTL_LOAD_HIST_H
#define MLCTL_LOAD_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_MAX_US 60000000LL /* 60 s */

struct hist {
	uint64_t *counts; /* owned, HIST_COUNTS entries */
	uint64_t total;
	int64_t min, max; /* exact, of the clamped values; 0 when empty */
	double sum;       /* for the mean */
};

/* The number of counters (the layout is fixed). */
size_t hist_counts_len(void);

/* Set up an empty histogram in caller storage; release with
 * hist_release. Aborts on out of memory. */
void hist_init(struct hist *h);
void hist_release(struct hist *h);
/* Forget every recorded value; keeps the memory. */
void hist_reset(struct hist *h);

/* Record one value / `n` copies of one value, in microseconds. */
void hist_record(struct hist *h, int64_t us);
void hist_record_n(struct hist *h, int64_t us, uint64_t n);

/* Add every count of `from` to `to` (from is left as is). */
void hist_merge(struct hist *to, const struct hist *from);

/* The value at percentile p (0..100): the smallest recorded value v such
 * that at least p% of the values are <= v, reported as the highest value
 * equivalent to v's counter (capped at the exact max). 0 when empty.
 * Cost: one pass over the counters. */
int64_t hist_percentile(const struct hist *h, double p);
/* Several percentiles in one pass; ps must be ascending. */
void hist_percentiles(const struct hist *h, const double *ps, size_t n,
		      int64_t *out);
double hist_mean(const struct hist *h);

/* Values equivalent to v share one counter: [lowest, highest]. */
int64_t hist_lowest_equivalent(int64_t v);
int64_t hist_highest_equivalent(int64_t v);

/* Walk the non-empty counters in increasing order: `*it` starts at 0;
 * each call returns true and fills the counter's value range and count,
 * false at the end. */
bool hist_next(const struct hist *h, size_t *it, int64_t *lo, int64_t *hi,
	       uint64_t *count);

#endif
