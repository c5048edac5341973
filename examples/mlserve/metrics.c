/* metrics.c — counters, gauges and latency histograms for /metrics, and
 * their Prometheus text rendering (checked with `promtool check metrics`
 * in the tests). Workers write their own slots without locks; rendering
 * sums the slots. */
#include "metrics.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const handler_names[MH_COUNT] = {
	"health", "metadata", "infer", "repository", "metrics", "openapi", "other",
};

const char *metrics_handler_name(enum metrics_handler h)
{
	return h < MH_COUNT ? handler_names[h] : "other";
}

/* R10 preferred numbers, 10 per decade */
static const char *const mant[10] = { "1", "1.25", "1.6", "2", "2.5", "3.15", "4", "5", "6.3", "8" };
static char labels[METRICS_BUCKETS][16];
static double bounds[METRICS_BUCKETS];
static pthread_once_t bounds_once = PTHREAD_ONCE_INIT;

static void bounds_init(void)
{
	/* decades 1e-4 .. 1e0, then the final 10 */
	static const char *const dec_fmt[5] = { "0.000%s", "0.00%s", "0.0%s", "0.%s", "%s" };
	for (int d = 0; d < 5; d++) {
		for (int k = 0; k < 10; k++) {
			size_t i = (size_t)(d * 10 + k);
			char digits[8];
			/* mantissa without the dot, e.g. 1.25 -> "125" */
			const char *m = mant[k];
			size_t o = 0;
			for (const char *p = m; *p; p++)
				if (*p != '.')
					digits[o++] = *p;
			digits[o] = 0;
			if (d < 4) {
				snprintf(labels[i], sizeof labels[i], dec_fmt[d], digits);
			} else {
				snprintf(labels[i], sizeof labels[i], "%s", m);
			}
			bounds[i] = strtod(labels[i], NULL);
		}
	}
	snprintf(labels[50], sizeof labels[50], "10");
	bounds[50] = 10.0;
}

double metrics_bucket_bound(size_t i)
{
	pthread_once(&bounds_once, bounds_init);
	return i < METRICS_BUCKETS ? bounds[i] : 1e300;
}

const char *metrics_bucket_label(size_t i)
{
	pthread_once(&bounds_once, bounds_init);
	return i < METRICS_BUCKETS ? labels[i] : "+Inf";
}

size_t metrics_bucket_index(double s)
{
	pthread_once(&bounds_once, bounds_init);
	size_t lo = 0, hi = METRICS_BUCKETS; /* first bound >= s */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (bounds[mid] >= s)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo; /* METRICS_BUCKETS = +Inf */
}

void metrics_init(struct metrics *m, size_t n_workers)
{
	pthread_once(&bounds_once, bounds_init);
	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
	m->n_workers = n_workers ? n_workers : 1;
	m->workers = xcalloc(m->n_workers, sizeof *m->workers);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void metrics_release(struct metrics *m)
{
	struct metrics_series *s = m->series;
	while (s) {
		struct metrics_series *n = s->next;
		free(s->model);
		free(s->version);
		free(s->slots);
		free(s);
		s = n;
	}
	free(m->workers);
	pthread_mutex_destroy(&m->mu);
	memset(m, 0, sizeof *m);
}

struct metrics_series *metrics_series_get(struct metrics *m, const char *model,
					  const char *version)
{
	pthread_mutex_lock(&m->mu);
	struct metrics_series *s;
	for (s = m->series; s; s = s->next)
		if (strcmp(s->model, model) == 0 && strcmp(s->version, version) == 0)
			break;
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->model = xstrdup(model);
		s->version = xstrdup(version);
		s->slots = xcalloc(m->n_workers, sizeof *s->slots);
		/* append, so rendering follows load order */
		struct metrics_series **pp = &m->series;
		while (*pp)
			pp = &(*pp)->next;
		*pp = s;
	}
	pthread_mutex_unlock(&m->mu);
	return s;
}

static inline void add_u(atomic_ullong *c, unsigned long long v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

void metrics_gauge_add(atomic_llong *g, long long d)
{
	atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + d,
			      memory_order_relaxed);
}

void metrics_count(struct metrics_codes *c, int code)
{
	size_t last = METRICS_CODES - 1;
	for (size_t i = 0; i < METRICS_CODES; i++) {
		unsigned k = atomic_load_explicit(&c->code[i], memory_order_relaxed);
		if (k == (unsigned)code) {
			add_u(&c->count[i], 1);
			return;
		}
		if (k == 0) {
			/* publish the count before the code, so a reader that sees
			 * the code never sees a stale zero slot of someone else */
			add_u(&c->count[i], 1);
			atomic_store_explicit(&c->code[i], (unsigned)code, memory_order_release);
			return;
		}
	}
	/* more distinct codes than slots: lump into the last (rare) */
	add_u(&c->count[last], 1);
}

void metrics_observe(struct metrics_series *s, size_t w, int code, unsigned long long ns)
{
	struct metrics_slot *sl = &s->slots[w];
	metrics_count(&sl->codes, code);
	add_u(&sl->bucket[metrics_bucket_index((double)ns / 1e9)], 1);
	add_u(&sl->sum_ns, ns);
	add_u(&sl->count, 1);
}

void metrics_add_label(struct mbuf *out, const char *s)
{
	mbuf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '\\')
			mbuf_add(out, "\\\\", 2);
		else if (*s == '"')
			mbuf_add(out, "\\\"", 2);
		else if (*s == '\n')
			mbuf_add(out, "\\n", 2);
		else
			mbuf_addc(out, *s);
	}
	mbuf_addc(out, '"');
}

static void series_labels(struct mbuf *out, const struct metrics_series *s)
{
	mbuf_adds(out, "model=");
	metrics_add_label(out, s->model);
	mbuf_adds(out, ",version=");
	metrics_add_label(out, s->version);
}

/* Sum the code counters of n slots into codes[]/counts[]; returns count. */
static size_t sum_codes(struct metrics_codes *const *c, size_t n, unsigned *codes,
			unsigned long long *counts, size_t cap)
{
	size_t k = 0;
	for (size_t w = 0; w < n; w++) {
		for (size_t i = 0; i < METRICS_CODES; i++) {
			unsigned code = atomic_load_explicit(&c[w]->code[i], memory_order_acquire);
			if (!code)
				break;
			unsigned long long v = atomic_load_explicit(&c[w]->count[i], memory_order_relaxed);
			size_t j;
			for (j = 0; j < k; j++)
				if (codes[j] == code)
					break;
			if (j == k) {
				if (k == cap)
					continue;
				codes[k] = code;
				counts[k++] = 0;
			}
			counts[j] += v;
		}
	}
	/* sort by code for stable output */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && codes[j - 1] > codes[j]; j--) {
			unsigned t = codes[j];
			codes[j] = codes[j - 1];
			codes[j - 1] = t;
			unsigned long long u = counts[j];
			counts[j] = counts[j - 1];
			counts[j - 1] = u;
		}
	return k;
}

static void head(struct mbuf *out, const char *name, const char *type, const char *help)
{
	mbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_render(struct metrics *m, struct mbuf *out, const char *const *loaded,
		    size_t n_loaded)
{
	pthread_mutex_lock(&m->mu);
	size_t nw = m->n_workers;
	struct metrics_codes **cp = xcalloc(nw, sizeof *cp);
	unsigned codes[64];
	unsigned long long counts[64];

	head(out, "mlserve_requests_total", "counter",
	     "Inference requests answered, by model, version and HTTP status code.");
	for (struct metrics_series *s = m->series; s; s = s->next) {
		for (size_t w = 0; w < nw; w++)
			cp[w] = &s->slots[w].codes;
		size_t k = sum_codes(cp, nw, codes, counts, 64);
		for (size_t i = 0; i < k; i++) {
			mbuf_adds(out, "mlserve_requests_total{");
			series_labels(out, s);
			mbuf_addf(out, ",code=\"%u\"} %llu\n", codes[i], counts[i]);
		}
	}

	head(out, "mlserve_request_duration_seconds", "histogram",
	     "Inference request latency (first request byte to response written), "
	     "by model and version.");
	for (struct metrics_series *s = m->series; s; s = s->next) {
		unsigned long long b[METRICS_BUCKETS + 1] = { 0 }, sum = 0, cnt = 0;
		for (size_t w = 0; w < nw; w++) {
			for (size_t i = 0; i <= METRICS_BUCKETS; i++)
				b[i] += atomic_load_explicit(&s->slots[w].bucket[i], memory_order_relaxed);
			sum += atomic_load_explicit(&s->slots[w].sum_ns, memory_order_relaxed);
		}
		unsigned long long cum = 0;
		for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
			cum += b[i];
			mbuf_adds(out, "mlserve_request_duration_seconds_bucket{");
			series_labels(out, s);
			mbuf_addf(out, ",le=\"%s\"} %llu\n", metrics_bucket_label(i), cum);
		}
		/* _count equals the +Inf bucket by construction */
		cnt = cum;
		mbuf_adds(out, "mlserve_request_duration_seconds_sum{");
		series_labels(out, s);
		mbuf_addf(out, "} %.9f\n", (double)sum / 1e9);
		mbuf_adds(out, "mlserve_request_duration_seconds_count{");
		series_labels(out, s);
		mbuf_addf(out, "} %llu\n", cnt);
	}

	head(out, "mlserve_models_loaded", "gauge", "Model versions loaded and serving.");
	mbuf_addf(out, "mlserve_models_loaded %zu\n", n_loaded);
	head(out, "mlserve_model_loaded", "gauge",
	     "1 for each model version loaded and serving.");
	for (size_t i = 0; i < n_loaded; i++) {
		mbuf_adds(out, "mlserve_model_loaded{model=");
		metrics_add_label(out, loaded[2 * i]);
		mbuf_adds(out, ",version=");
		metrics_add_label(out, loaded[2 * i + 1]);
		mbuf_adds(out, "} 1\n");
	}

	long long inflight = 0, conns = 0;
	unsigned long long accepted = 0, rejected = 0;
	for (size_t w = 0; w < nw; w++) {
		inflight += atomic_load_explicit(&m->workers[w].inflight, memory_order_relaxed);
		conns += atomic_load_explicit(&m->workers[w].connections, memory_order_relaxed);
		accepted += atomic_load_explicit(&m->workers[w].accepted, memory_order_relaxed);
		rejected += atomic_load_explicit(&m->workers[w].rejected, memory_order_relaxed);
	}
	head(out, "mlserve_inflight_requests", "gauge",
	     "Requests received and not yet answered (including this scrape).");
	mbuf_addf(out, "mlserve_inflight_requests %lld\n", inflight < 0 ? 0 : inflight);
	head(out, "mlserve_open_connections", "gauge", "Open client connections.");
	mbuf_addf(out, "mlserve_open_connections %lld\n", conns < 0 ? 0 : conns);
	head(out, "mlserve_connections_accepted_total", "counter", "Client connections accepted.");
	mbuf_addf(out, "mlserve_connections_accepted_total %llu\n", accepted);
	head(out, "mlserve_connections_rejected_total", "counter",
	     "Client connections refused because the connection limit was reached.");
	mbuf_addf(out, "mlserve_connections_rejected_total %llu\n", rejected);

	head(out, "mlserve_http_requests_total", "counter",
	     "HTTP requests answered, by handler and status code.");
	for (size_t h = 0; h < MH_COUNT; h++) {
		for (size_t w = 0; w < nw; w++)
			cp[w] = &m->workers[w].http[h];
		size_t k = sum_codes(cp, nw, codes, counts, 64);
		for (size_t i = 0; i < k; i++)
			mbuf_addf(out, "mlserve_http_requests_total{handler=\"%s\",code=\"%u\"} %llu\n",
				  handler_names[h], codes[i], counts[i]);
	}

	head(out, "mlserve_repository_operations_total", "counter",
	     "Model repository operations, by operation and result.");
	mbuf_addf(out,
		  "mlserve_repository_operations_total{op=\"load\",result=\"ok\"} %llu\n"
		  "mlserve_repository_operations_total{op=\"load\",result=\"failed\"} %llu\n"
		  "mlserve_repository_operations_total{op=\"unload\",result=\"ok\"} %llu\n",
		  (unsigned long long)atomic_load(&m->loads_ok),
		  (unsigned long long)atomic_load(&m->loads_failed),
		  (unsigned long long)atomic_load(&m->unloads));
	head(out, "mlserve_workers", "gauge", "Worker threads serving requests.");
	mbuf_addf(out, "mlserve_workers %zu\n", nw);
	head(out, "mlserve_start_time_seconds", "gauge", "Start time of the process (unix seconds).");
	mbuf_addf(out, "mlserve_start_time_seconds %.3f\n", m->start_time);
	pthread_mutex_unlock(&m->mu);
	free(cp);
}
