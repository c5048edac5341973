/* analysis.c — canary analysis (see analysis.h): snapshots of a node's
 * /metrics, reset-aware deltas, canary and stable groups, quantiles,
 * verdicts, and the runner that scrapes every node each interval and,
 * when asked, sends the release's smoke input through the router from a
 * thread of its own (core/load). The limits are analysis_limits.c's. */
#define _DEFAULT_SOURCE
#include "analysis.h"
#include "exitcode.h"
#include "http.h"
#include "load/load.h"
#include "load/target.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==================================================================== *
 * snapshots
 * ==================================================================== */

static struct analysis_series *series_of(struct analysis_snapshot *s,
					 const char *version)
{
	for (size_t i = 0; i < s->n_series; i++)
		if (strcmp(s->series[i].version, version) == 0)
			return &s->series[i];
	if (s->n_series == ANALYSIS_MAX_VERSIONS ||
	    strlen(version) >= sizeof(s->series[0].version))
		return NULL;
	struct analysis_series *n = &s->series[s->n_series++];
	memset(n, 0, sizeof(*n));
	snprintf(n->version, sizeof(n->version), "%s", version);
	return n;
}

static int parse_code(const char *c)
{
	if (!c || strlen(c) != 3)
		return 0;
	for (int i = 0; i < 3; i++)
		if (c[i] < '0' || c[i] > '9')
			return 0;
	int v = atoi(c);
	return v >= 100 && v <= 599 ? v : 0;
}

static void add_code(struct analysis_series *s, int code, double v)
{
	for (size_t i = 0; i < s->n_codes; i++)
		if (s->codes[i] == code) {
			s->counts[i] += v;
			return;
		}
	if (s->n_codes == ANALYSIS_MAX_CODES)
		return;
	s->codes[s->n_codes] = code;
	s->counts[s->n_codes++] = v;
}

static void add_bucket(struct analysis_series *s, double le, double v)
{
	for (size_t i = 0; i < s->n_buckets; i++)
		if (s->le[i] == le) {
			s->cum[i] = v;
			return;
		}
	if (s->n_buckets == ANALYSIS_MAX_BUCKETS)
		return;
	s->le[s->n_buckets] = le;
	s->cum[s->n_buckets++] = v;
}

static void sort_buckets(struct analysis_series *s)
{
	for (size_t i = 1; i < s->n_buckets; i++)
		for (size_t j = i; j > 0 && s->le[j - 1] > s->le[j]; j--) {
			double t = s->le[j];
			s->le[j] = s->le[j - 1];
			s->le[j - 1] = t;
			t = s->cum[j];
			s->cum[j] = s->cum[j - 1];
			s->cum[j - 1] = t;
		}
}

void analysis_snapshot_from(const struct prom_doc *doc, const char *model,
			    struct analysis_snapshot *out)
{
	out->ok = true;
	out->start_time = NAN;
	out->n_series = 0;
	out->bad_lines = doc->bad_lines;
	static const char lat[] = ANALYSIS_LATENCY_METRIC;
	size_t lat_len = sizeof(lat) - 1;
	for (size_t i = 0; i < doc->n; i++) {
		const struct prom_sample *smp = &doc->samples[i];
		if (strcmp(smp->name, ANALYSIS_START_METRIC) == 0) {
			if (isfinite(smp->value))
				out->start_time = smp->value;
			continue;
		}
		/* counters and buckets are never negative or NaN; garbage is */
		if (!isfinite(smp->value) || smp->value < 0)
			continue;
		const char *m = prom_label(smp, "model");
		const char *v = prom_label(smp, "version");
		if (!m || !v || strcmp(m, model) != 0)
			continue;
		if (strcmp(smp->name, ANALYSIS_REQUESTS_METRIC) == 0) {
			struct analysis_series *s = series_of(out, v);
			if (s)
				add_code(s, parse_code(prom_label(smp, "code")),
					 smp->value);
			continue;
		}
		if (strncmp(smp->name, lat, lat_len) != 0)
			continue;
		const char *suffix = smp->name + lat_len;
		struct analysis_series *s = NULL;
		if (strcmp(suffix, "_bucket") == 0) {
			const char *le = prom_label(smp, "le");
			double bound;
			if (!le || prom_parse_value(le, strlen(le), &bound) ||
			    isnan(bound))
				continue;
			if ((s = series_of(out, v)))
				add_bucket(s, bound, smp->value);
		} else if (strcmp(suffix, "_count") == 0) {
			if ((s = series_of(out, v)))
				s->h_count = smp->value;
		} else if (strcmp(suffix, "_sum") == 0) {
			if ((s = series_of(out, v)))
				s->h_sum = smp->value;
		}
	}
	for (size_t i = 0; i < out->n_series; i++)
		sort_buckets(&out->series[i]);
}

/* ==================================================================== *
 * deltas and groups
 * ==================================================================== */

static double code_count(const struct analysis_series *s, int code, bool *found)
{
	for (size_t i = 0; i < s->n_codes; i++)
		if (s->codes[i] == code) {
			*found = true;
			return s->counts[i];
		}
	*found = false;
	return 0;
}

/* The cumulative count at bound le: the count of the highest bucket
 * whose bound is <= le (0 below the first). */
static double cum_at(const double *les, const double *cum, size_t n, double le)
{
	double v = 0;
	for (size_t i = 0; i < n && les[i] <= le; i++)
		v = cum[i];
	return v;
}

static bool series_went_down(const struct analysis_series *p,
			     const struct analysis_series *c)
{
	for (size_t i = 0; i < p->n_codes; i++) {
		bool found;
		double now = code_count(c, p->codes[i], &found);
		if (!found || now < p->counts[i])
			return true;
	}
	if (c->h_count < p->h_count || c->h_sum < p->h_sum)
		return true;
	for (size_t i = 0; i < p->n_buckets; i++) {
		size_t k = 0;
		while (k < c->n_buckets && c->le[k] != p->le[i])
			k++;
		if (k == c->n_buckets || c->cum[k] < p->cum[i])
			return true; /* a bucket vanished or went down */
	}
	return false;
}

void analysis_series_delta(const struct analysis_series *prev,
			   const struct analysis_series *cur, bool node_reset,
			   struct analysis_delta *out)
{
	memset(out, 0, sizeof(*out));
	out->reset = node_reset || (prev && series_went_down(prev, cur));
	const struct analysis_series *p = out->reset ? NULL : prev;
	for (size_t i = 0; i < cur->n_codes; i++) {
		bool found = false;
		double before = p ? code_count(p, cur->codes[i], &found) : 0;
		double d = cur->counts[i] - before;
		if (d < 0)
			d = 0;
		out->requests += d;
		if (cur->codes[i] >= 500)
			out->errors += d;
		else if (cur->codes[i] >= 400)
			out->client_errors += d;
	}
	out->n_buckets = cur->n_buckets;
	double floor = 0;
	for (size_t i = 0; i < cur->n_buckets; i++) {
		double before = p ? cum_at(p->le, p->cum, p->n_buckets, cur->le[i]) : 0;
		double d = cur->cum[i] - before;
		/* cumulative counts never decrease along le; garbage might */
		if (d < floor)
			d = floor;
		floor = d;
		out->le[i] = cur->le[i];
		out->cum[i] = d;
	}
	out->count = cur->h_count - (p ? p->h_count : 0);
	out->sum = cur->h_sum - (p ? p->h_sum : 0);
	if (out->count < 0)
		out->count = 0;
	if (out->sum < 0)
		out->sum = 0;
}

void analysis_group_init(struct analysis_group *g)
{
	memset(g, 0, sizeof(*g));
	g->p50_ms = g->p99_ms = NAN;
}

void analysis_group_add(struct analysis_group *g, const struct analysis_delta *d)
{
	g->requests += d->requests;
	g->errors += d->errors;
	g->client_errors += d->client_errors;
	if (!d->n_buckets)
		return;
	/* the union of both bound sets, sorted, capped */
	double le[ANALYSIS_MAX_BUCKETS] = { 0 }, cum[ANALYSIS_MAX_BUCKETS] = { 0 };
	size_t n = 0, i = 0, j = 0;
	while ((i < g->n_buckets || j < d->n_buckets) && n < ANALYSIS_MAX_BUCKETS) {
		double next;
		if (j == d->n_buckets || (i < g->n_buckets && g->le[i] < d->le[j]))
			next = g->le[i++];
		else if (i == g->n_buckets || d->le[j] < g->le[i])
			next = d->le[j++];
		else {
			next = g->le[i];
			i++;
			j++;
		}
		le[n++] = next;
	}
	for (size_t k = 0; k < n; k++)
		cum[k] = cum_at(g->le, g->cum, g->n_buckets, le[k]) +
			 cum_at(d->le, d->cum, d->n_buckets, le[k]);
	memcpy(g->le, le, n * sizeof(*le));
	memcpy(g->cum, cum, n * sizeof(*cum));
	g->n_buckets = n;
}

double analysis_quantile(const double *le, const double *cum, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double total = cum[n - 1];
	if (!(total > 0))
		return NAN;
	double rank = q * total;
	size_t i = 0;
	while (i < n - 1 && cum[i] < rank)
		i++;
	if (isinf(le[i])) {
		/* in the +Inf bucket: the highest finite bound is all we know */
		return i > 0 ? le[i - 1] : NAN;
	}
	if (i == 0 && le[0] <= 0)
		return le[0];
	double lower = i > 0 ? le[i - 1] : 0;
	double below = i > 0 ? cum[i - 1] : 0;
	double in = cum[i] - below;
	if (in <= 0)
		return le[i];
	return lower + (le[i] - lower) * (rank - below) / in;
}

void analysis_group_finish(struct analysis_group *g)
{
	g->error_rate = g->requests > 0 ? g->errors / g->requests : 0;
	/* seconds in, milliseconds out */
	g->p50_ms = analysis_quantile(g->le, g->cum, g->n_buckets, 0.50) * 1000;
	g->p99_ms = analysis_quantile(g->le, g->cum, g->n_buckets, 0.99) * 1000;
}

/* ==================================================================== *
 * verdicts
 * ==================================================================== */

const char *analysis_verdict_name(enum analysis_verdict v)
{
	return v == ANALYSIS_PASS ? "pass" : v == ANALYSIS_FAIL ? "fail" : "no-data";
}

static void fmt_ms(double ms, char *buf, size_t sz)
{
	if (isnan(ms))
		snprintf(buf, sz, "-");
	else if (ms < 10)
		snprintf(buf, sz, "%.1f ms", ms);
	else
		snprintf(buf, sz, "%.0f ms", ms);
}

static void fmt_rate(double frac, char *buf, size_t sz)
{
	snprintf(buf, sz, "%.1f%%", frac * 100);
}

/* a limit as written: 0.01 -> "1%", 0.005 -> "0.5%" */
static void fmt_limit(double frac, char *buf, size_t sz)
{
	snprintf(buf, sz, "%.3g%%", frac * 100);
}

static void join(char *dst, size_t sz, const char *what)
{
	size_t len = strlen(dst);
	snprintf(dst + len, sz - len, "%s%s", len ? "; " : "", what);
}

#define EPS 1e-12

void analysis_judge(const struct analysis_limits *l,
		    struct analysis_interval *iv)
{
	iv->reason[0] = iv->detail[0] = '\0';
	if (iv->scrape_error[0]) {
		iv->verdict = ANALYSIS_FAIL;
		snprintf(iv->reason, sizeof(iv->reason), "%s", iv->scrape_error);
		snprintf(iv->detail, sizeof(iv->detail), "%s", iv->scrape_error);
		return;
	}
	const struct analysis_group *c = &iv->canary, *s = &iv->stable;
	if (c->requests < l->min_requests) {
		iv->verdict = ANALYSIS_NO_DATA;
		snprintf(iv->reason, sizeof(iv->reason), "%.0f < %d requests",
			 c->requests, l->min_requests);
		snprintf(iv->detail, sizeof(iv->detail),
			 "no data: %.0f canary requests, fewer than %d",
			 c->requests, l->min_requests);
		return;
	}
	bool stable_ok = s->requests >= l->min_requests && s->requests > 0;
	char a[32], b[32], lim[32], shrt[160], lng[200];
	fmt_rate(c->error_rate, a, sizeof(a));
	fmt_rate(s->error_rate, b, sizeof(b));
	if (l->max_error_rate >= 0 && c->error_rate > l->max_error_rate + EPS) {
		fmt_limit(l->max_error_rate, lim, sizeof(lim));
		snprintf(shrt, sizeof(shrt), "error rate %s > %s", a, lim);
		snprintf(lng, sizeof(lng), "error rate %s (limit %s)", a, lim);
		join(iv->reason, sizeof(iv->reason), shrt);
		join(iv->detail, sizeof(iv->detail), lng);
	}
	if (l->max_error_rate_delta >= 0 && stable_ok &&
	    c->error_rate - s->error_rate > l->max_error_rate_delta + EPS) {
		char d[32];
		fmt_rate(c->error_rate - s->error_rate, d, sizeof(d));
		fmt_limit(l->max_error_rate_delta, lim, sizeof(lim));
		snprintf(shrt, sizeof(shrt), "error rate +%s > +%s", d, lim);
		snprintf(lng, sizeof(lng), "error rate %s vs stable %s (limit +%s)",
			 a, b, lim);
		join(iv->reason, sizeof(iv->reason), shrt);
		join(iv->detail, sizeof(iv->detail), lng);
	}
	fmt_ms(c->p99_ms, a, sizeof(a));
	fmt_ms(s->p99_ms, b, sizeof(b));
	if (l->max_p99_ms >= 0 && !isnan(c->p99_ms) &&
	    c->p99_ms > l->max_p99_ms + EPS) {
		fmt_ms(l->max_p99_ms, lim, sizeof(lim));
		snprintf(shrt, sizeof(shrt), "p99 %s > %s", a, lim);
		snprintf(lng, sizeof(lng), "p99 %s (limit %s)", a, lim);
		join(iv->reason, sizeof(iv->reason), shrt);
		join(iv->detail, sizeof(iv->detail), lng);
	}
	if (l->max_p99_ratio >= 0 && stable_ok && !isnan(c->p99_ms) &&
	    !isnan(s->p99_ms)) {
		double ratio = c->p99_ms / fmax(s->p99_ms, ANALYSIS_P99_FLOOR_MS);
		if (ratio > l->max_p99_ratio + EPS) {
			snprintf(shrt, sizeof(shrt), "p99 %s > %gx stable %s", a,
				 l->max_p99_ratio, b);
			snprintf(lng, sizeof(lng), "p99 %s vs stable %s (limit %gx)",
				 a, b, l->max_p99_ratio);
			join(iv->reason, sizeof(iv->reason), shrt);
			join(iv->detail, sizeof(iv->detail), lng);
		}
	}
	iv->verdict = iv->reason[0] ? ANALYSIS_FAIL : ANALYSIS_PASS;
}

static const char *no_data_name(enum cfg_no_data n)
{
	return n == CFG_NODATA_PASS ? "pass" : n == CFG_NODATA_PAUSE ? "pause" : "fail";
}

enum analysis_action analysis_track(const struct analysis_limits *l,
				    struct analysis_tracker *t,
				    const struct analysis_interval *iv,
				    char *why, size_t why_sz)
{
	switch (iv->verdict) {
	case ANALYSIS_PASS:
		t->step_had_data = true;
		t->no_data_run = 0;
		return ANALYSIS_GO_ON;
	case ANALYSIS_FAIL:
		if (!iv->scrape_error[0])
			t->step_had_data = true;
		t->no_data_run = 0;
		if (++t->failures >= l->failure_limit) {
			snprintf(why, why_sz, "%s", iv->detail);
			return ANALYSIS_ABORT;
		}
		return ANALYSIS_GO_ON;
	case ANALYSIS_NO_DATA:
		if (++t->no_data_run < l->max_no_data)
			return ANALYSIS_GO_ON;
		t->no_data_run = 0;
		snprintf(why, why_sz,
			 "no data: %d interval%s in a row with fewer than %d "
			 "canary requests (no_data: %s)",
			 l->max_no_data, l->max_no_data == 1 ? "" : "s",
			 l->min_requests, no_data_name(l->no_data));
		if (l->no_data == CFG_NODATA_PAUSE)
			return ANALYSIS_PAUSE;
		if (l->no_data == CFG_NODATA_FAIL &&
		    ++t->failures >= l->failure_limit)
			return ANALYSIS_ABORT;
		return ANALYSIS_GO_ON;
	}
	return ANALYSIS_GO_ON;
}

enum analysis_action analysis_step_end(const struct analysis_limits *l,
				       struct analysis_tracker *t, char *why,
				       size_t why_sz)
{
	bool had = t->step_had_data;
	t->step_had_data = false;
	t->no_data_run = 0;
	if (had || l->no_data == CFG_NODATA_PASS)
		return ANALYSIS_GO_ON;
	snprintf(why, why_sz,
		 "no data: no interval of the step had %d canary requests "
		 "(no_data: %s)",
		 l->min_requests, no_data_name(l->no_data));
	return l->no_data == CFG_NODATA_PAUSE ? ANALYSIS_PAUSE : ANALYSIS_ABORT;
}

void analysis_interval_line(const struct analysis_interval *iv, char *buf,
			    size_t sz)
{
	const struct analysis_group *c = &iv->canary, *s = &iv->stable;
	char cr[32], sr[32], c50[32], c99[32], s50[32], s99[32];
	fmt_rate(c->error_rate, cr, sizeof(cr));
	fmt_rate(s->error_rate, sr, sizeof(sr));
	fmt_ms(c->p50_ms, c50, sizeof(c50));
	fmt_ms(c->p99_ms, c99, sizeof(c99));
	fmt_ms(s->p50_ms, s50, sizeof(s50));
	fmt_ms(s->p99_ms, s99, sizeof(s99));
	const char *v = iv->verdict == ANALYSIS_PASS	? "pass"
			: iv->verdict == ANALYSIS_FAIL ? "FAIL "
						       : "no data (";
	snprintf(buf, sz,
		 "canary %d%%: canary %.0f req, %.0f err (%s), p50 %s p99 %s | "
		 "stable %.0f req, %.0f err (%s), p50 %s p99 %s | %s%s%s",
		 iv->percent, c->requests, c->errors, cr, c50, c99, s->requests,
		 s->errors, sr, s50, s99, v, iv->verdict == ANALYSIS_PASS ? "" : iv->reason,
		 iv->verdict == ANALYSIS_NO_DATA ? ")" : "");
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(round(v * 1000) / 1000) : json_null();
}

static json_t *group_json(const struct analysis_group *g)
{
	json_t *o = json_object();
	json_object_set_new(o, "requests", json_integer((json_int_t)g->requests));
	json_object_set_new(o, "errors", json_integer((json_int_t)g->errors));
	json_object_set_new(o, "error_rate", num_or_null(g->error_rate));
	json_object_set_new(o, "p50_ms", num_or_null(g->p50_ms));
	json_object_set_new(o, "p99_ms", num_or_null(g->p99_ms));
	json_object_set_new(o, "nodes", json_integer((json_int_t)g->nodes));
	return o;
}

static json_t *interval_json(const struct analysis_interval *iv)
{
	json_t *o = json_object();
	json_object_set_new(o, "step", json_integer(iv->step));
	json_object_set_new(o, "percent", json_integer(iv->percent));
	json_object_set_new(o, "t_s", num_or_null(iv->t_s));
	json_object_set_new(o, "length_s", num_or_null(iv->length_s));
	json_object_set_new(o, "canary", group_json(&iv->canary));
	json_object_set_new(o, "stable", group_json(&iv->stable));
	json_object_set_new(o, "verdict", json_string(analysis_verdict_name(iv->verdict)));
	if (iv->reason[0])
		json_object_set_new(o, "reason", json_string(iv->reason));
	return o;
}

char *analysis_interval_json(const struct analysis_interval *iv)
{
	json_t *o = interval_json(iv);
	char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *r = xstrdup(t);
	free(t);
	json_decref(o);
	return r;
}

/* ==================================================================== *
 * the runner
 * ==================================================================== */

struct traffic {
	pthread_t thread;
	bool running;
	volatile sig_atomic_t stop;
	struct load_env_target target;
	struct load_opts opts;
	struct load_result res;
	struct ml_err err;
	int rc;
};

struct analysis {
	const struct cfg_env *env;
	const struct cfg_release *rel;
	char *model, *version;
	struct analysis_limits limits;
	struct analysis_held held; /* the release's looser values */
	struct analysis_tracker tracker;
	struct http_client *http;
	struct analysis_snapshot **prev; /* per env node; NULL: no baseline */
	json_t *log;
	double failed_at;
	bool verdict; /* the abort came from broken limits */
	bool stopped; /* the abort came from the stop flag */
	volatile sig_atomic_t *stop;
	analysis_interval_fn on_interval;
	void *on_interval_payload;
	size_t scrapes;
	double scrape_ms;
	struct traffic *traffic;
};

struct analysis *analysis_new(const struct cfg_env *env,
			      const struct cfg_release *rel,
			      const struct cfg_analysis *rel_analysis,
			      const char *model, const char *version)
{
	struct analysis *a = xcalloc(1, sizeof(*a));
	a->env = env;
	a->rel = rel;
	a->model = xstrdup(model);
	a->version = xstrdup(version);
	if (!rel_analysis && rel)
		rel_analysis = &rel->analysis;
	analysis_limits_merge(&env->strategy.analysis, rel_analysis, &a->limits,
			      &a->held);
	a->prev = xcalloc(env->n_nodes + 1, sizeof(*a->prev));
	a->log = json_array();
	return a;
}

void analysis_set_prior(struct analysis *a, const char *json_array)
{
	json_t *arr = json_array ? json_loads(json_array, 0, NULL) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_object(v))
			continue;
		json_array_append(a->log, v);
		const char *verdict = json_string_value(json_object_get(v, "verdict"));
		if (verdict && strcmp(verdict, "fail") == 0)
			a->tracker.failures++;
	}
	json_decref(arr);
}

void analysis_set_stop(struct analysis *a, volatile sig_atomic_t *stop)
{
	a->stop = stop;
}

void analysis_set_on_interval(struct analysis *a, analysis_interval_fn fn,
			      void *payload)
{
	a->on_interval = fn;
	a->on_interval_payload = payload;
}

const struct analysis_limits *analysis_limits_of(const struct analysis *a)
{
	return &a->limits;
}

const struct analysis_held *analysis_held_of(const struct analysis *a)
{
	return &a->held;
}

char *analysis_log_json(const struct analysis *a)
{
	char *t = json_dumps(a->log, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *r = xstrdup(t ? t : "[]");
	free(t);
	return r;
}

double analysis_failed_at(const struct analysis *a)
{
	return a->failed_at;
}

bool analysis_abort_is_verdict(const struct analysis *a)
{
	return a->failed_at > 0 && a->verdict;
}

bool analysis_abort_is_stop(const struct analysis *a)
{
	return a->failed_at > 0 && a->stopped;
}

void analysis_scrape_stats(const struct analysis *a, size_t *scrapes, double *ms)
{
	*scrapes = a->scrapes;
	*ms = a->scrape_ms;
}

static void *traffic_main(void *arg)
{
	struct traffic *t = arg;
	t->rc = load_run(&t->opts, &t->res, NULL, NULL, &t->err);
	return NULL;
}

/* Start `rate` requests a second through the router until until_ms (plus
 * a little); a note through `line` when it cannot. */
static void traffic_start(struct analysis *a, long long until_ms,
			  analysis_line_fn line, void *payload)
{
	if (a->limits.traffic_rate <= 0)
		return;
	char msg[600];
	if (!a->rel) {
		if (line)
			line("analysis traffic off: the release's manifest is not "
			     "at hand for its smoke input",
			     payload);
		return;
	}
	struct traffic *t = xcalloc(1, sizeof(*t));
	struct ml_err err = ML_ERR_INIT;
	if (load_env_target_init(&t->target, a->env, a->rel, &err)) {
		snprintf(msg, sizeof(msg), "analysis traffic off: %s", err.msg);
		if (line)
			line(msg, payload);
		free(t);
		return;
	}
	struct load_opts o = LOAD_OPTS_INIT;
	load_env_target_apply(&t->target, &o);
	o.rate = a->limits.traffic_rate;
	long long left = until_ms - (long long)now_ms();
	o.duration_ms = (left > 0 ? left : 0) + 1000; /* stopped before that */
	o.connections = 16;
	o.threads = 1;
	o.timeout_ms = 2000;
	o.stop = &t->stop;
	t->opts = o;
	if (pthread_create(&t->thread, NULL, traffic_main, t) != 0) {
		if (line)
			line("analysis traffic off: cannot start a thread", payload);
		load_env_target_release(&t->target);
		free(t);
		return;
	}
	t->running = true;
	a->traffic = t;
}

/* Stop the traffic; with `wait`, wait for its end and report it. */
static void traffic_stop(struct analysis *a, bool wait, int percent,
			 analysis_line_fn line, void *payload)
{
	struct traffic *t = a->traffic;
	if (!t)
		return;
	t->stop = 1;
	if (!wait)
		return;
	if (t->running)
		pthread_join(t->thread, NULL);
	t->running = false;
	if (line) {
		char msg[600];
		if (t->rc == 0)
			snprintf(msg, sizeof(msg),
				 "canary %d%%: analysis traffic: %llu requests, "
				 "%llu failed",
				 percent, (unsigned long long)t->res.requests,
				 (unsigned long long)t->res.errors_total);
		else
			snprintf(msg, sizeof(msg), "analysis traffic failed: %s",
				 t->err.msg);
		line(msg, payload);
	}
	if (t->rc == 0)
		load_result_release(&t->res);
	load_env_target_release(&t->target);
	free(t);
	a->traffic = NULL;
}

static char *metrics_url(const char *base)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s/metrics", (int)n, base);
}

/* Scrape every node at once into snaps[] (each ok or not); errors[i]
 * gets a failed scrape's reason. */
static void scrape_all(struct analysis *a, long timeout_ms,
		       struct analysis_snapshot **snaps, char (*errors)[200])
{
	size_t n = a->env->n_nodes;
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	char **urls = xcalloc(n + 1, sizeof(*urls));
	const char *token = a->env->token_env ? getenv(a->env->token_env) : NULL;
	for (size_t i = 0; i < n; i++) {
		urls[i] = metrics_url(a->env->nodes[i].url);
		reqs[i].url = urls[i];
		reqs[i].method = "GET";
		reqs[i].bearer_token = token;
		reqs[i].timeout_ms = timeout_ms;
		reqs[i].retries = 1;
		reqs[i].backoff_ms = 50;
		reqs[i].idempotent = true;
		reqs[i].max_body = 4u << 20;
	}
	struct ml_err err = ML_ERR_INIT;
	double t0 = now_ms();
	if (!a->http && http_client_new(&a->http, NULL, &err))
		a->http = NULL;
	if (a->http)
		http_client_batch(a->http, reqs, resps, n);
	else
		http_batch(reqs, resps, n);
	a->scrape_ms += now_ms() - t0;
	a->scrapes++;
	static const char *const keep[] = { ANALYSIS_REQUESTS_METRIC,
					    ANALYSIS_LATENCY_METRIC,
					    ANALYSIS_START_METRIC, NULL };
	for (size_t i = 0; i < n; i++) {
		errors[i][0] = '\0';
		snaps[i] = xcalloc(1, sizeof(**snaps));
		if (!http_resp_ok(&resps[i])) {
			char buf[256];
			snprintf(errors[i], sizeof(errors[i]), "%.190s",
				 http_resp_reason(&resps[i], buf, sizeof(buf)));
			snaps[i]->ok = false;
		} else {
			struct prom_doc doc = PROM_DOC_INIT;
			prom_parse(&doc, resps[i].body, resps[i].body_len, keep);
			analysis_snapshot_from(&doc, a->model, snaps[i]);
			prom_doc_release(&doc);
		}
		http_resp_release(&resps[i]);
		free(urls[i]);
	}
	free(urls);
	free(reqs);
	free(resps);
}

static bool in_set(const size_t *set, size_t n, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (set[k] == i)
			return true;
	return false;
}

/* Fold one round of scrapes into an interval (groups finished) and make
 * them the new baseline. */
static void fold(struct analysis *a, struct analysis_snapshot **cur,
		 char (*errors)[200], const size_t *canary, size_t n_canary,
		 struct analysis_interval *iv)
{
	analysis_group_init(&iv->canary);
	analysis_group_init(&iv->stable);
	iv->scrape_error[0] = '\0';
	for (size_t i = 0; i < a->env->n_nodes; i++) {
		bool is_canary = in_set(canary, n_canary, i);
		struct analysis_snapshot *c = cur[i], *p = a->prev[i];
		if (!c->ok) {
			if (is_canary && !iv->scrape_error[0])
				snprintf(iv->scrape_error, sizeof(iv->scrape_error),
					 "metrics of canary %s: %s",
					 a->env->nodes[i].name, errors[i]);
			free(p);
			a->prev[i] = NULL; /* the next good scrape is a baseline */
			free(c);
			continue;
		}
		if (p) {
			bool node_reset = !isnan(p->start_time) &&
					  !isnan(c->start_time) &&
					  p->start_time != c->start_time;
			struct analysis_group *g = is_canary ? &iv->canary : &iv->stable;
			g->nodes++;
			for (size_t k = 0; k < c->n_series; k++) {
				const struct analysis_series *s = &c->series[k];
				bool target = strcmp(s->version, a->version) == 0;
				if (target != is_canary)
					continue;
				const struct analysis_series *ps = NULL;
				for (size_t j = 0; j < p->n_series; j++)
					if (strcmp(p->series[j].version, s->version) == 0)
						ps = &p->series[j];
				struct analysis_delta *d = xmalloc(sizeof(*d));
				analysis_series_delta(ps, s, node_reset, d);
				analysis_group_add(g, d);
				free(d);
			}
		}
		free(p);
		a->prev[i] = c;
	}
	analysis_group_finish(&iv->canary);
	analysis_group_finish(&iv->stable);
}

/* Sleep until t (now_ms clock) in slices; false when stopped. */
static bool nap_until(double t, volatile sig_atomic_t *stop)
{
	for (;;) {
		if (stop && *stop)
			return false;
		double left = t - now_ms();
		if (left <= 0)
			return true;
		if (left > 100)
			left = 100;
		struct timespec ts = { 0, (long)(left * 1e6) };
		nanosleep(&ts, NULL);
	}
}

int analysis_run_step(struct analysis *a, const size_t *nodes, size_t n,
		      int percent, int step, long long until_ms, bool whole,
		      analysis_line_fn line, void *payload, struct ml_err *err)
{
	const struct analysis_limits *l = &a->limits;
	size_t nn = a->env->n_nodes;
	struct analysis_snapshot **cur = xcalloc(nn + 1, sizeof(*cur));
	char (*errors)[200] = xcalloc(nn + 1, sizeof(*errors));
	struct analysis_interval *iv = xcalloc(1, sizeof(*iv));
	/* a slow scrape is late, not lost: up to an interval (within
	 * 0.5-2 s), and one retry, before a canary node counts as gone */
	long scrape_timeout = (long)l->interval_ms;
	if (scrape_timeout < 500)
		scrape_timeout = 500;
	if (scrape_timeout > 2000)
		scrape_timeout = 2000;
	char why[400], msg[600];
	int rc = 0;
	double t0 = now_ms(), last = t0;
	traffic_start(a, until_ms, line, payload);
	/* the baseline of this step */
	for (size_t i = 0; i < nn; i++) {
		free(a->prev[i]);
		a->prev[i] = NULL;
	}
	scrape_all(a, scrape_timeout, cur, errors);
	for (size_t i = 0; i < nn; i++) {
		if (cur[i]->ok)
			a->prev[i] = cur[i];
		else
			free(cur[i]);
		cur[i] = NULL;
	}
	enum analysis_action act = ANALYSIS_GO_ON;
	for (int k = 1; act == ANALYSIS_GO_ON; k++) {
		double end = t0 + (double)k * (double)l->interval_ms;
		/* a remainder shorter than half an interval joins the last one */
		if ((double)until_ms - end < (double)l->interval_ms / 2)
			end = (double)until_ms;
		if (end <= last)
			break;
		if (!nap_until(end, a->stop)) {
			act = ANALYSIS_ABORT;
			snprintf(why, sizeof(why), "stopped by a signal");
			a->failed_at = now_ms();
			a->verdict = false;
			a->stopped = true;
			break;
		}
		scrape_all(a, scrape_timeout, cur, errors);
		double now = now_ms();
		memset(iv, 0, sizeof(*iv));
		iv->percent = percent;
		iv->step = step;
		iv->t_s = (now - t0) / 1000;
		iv->length_s = (now - last) / 1000;
		last = now;
		fold(a, cur, errors, nodes, n, iv);
		analysis_judge(l, iv);
		json_t *ivj = interval_json(iv);
		json_array_append_new(a->log, ivj);
		char text[600];
		analysis_interval_line(iv, text, sizeof(text));
		if (line)
			line(text, payload);
		if (a->on_interval) {
			char *t = json_dumps(ivj, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (t)
				a->on_interval(t, a->on_interval_payload);
			free(t);
		}
		act = analysis_track(l, &a->tracker, iv, why, sizeof(why));
		if (act == ANALYSIS_ABORT) {
			a->failed_at = now;
			a->verdict = iv->verdict == ANALYSIS_FAIL;
		}
		if (end >= (double)until_ms)
			break;
	}
	if (act == ANALYSIS_GO_ON && whole) {
		act = analysis_step_end(l, &a->tracker, why, sizeof(why));
		if (act == ANALYSIS_ABORT)
			a->failed_at = now_ms();
	} else {
		a->tracker.step_had_data = false;
		a->tracker.no_data_run = 0;
	}
	if (act == ANALYSIS_ABORT) {
		traffic_stop(a, false, percent, NULL, NULL);
		snprintf(msg, sizeof(msg), "canary aborted at %d%%: %s", percent, why);
		ml_err_set(err, ML_EXIT_CHECK_FAILED, "%s", msg);
		rc = 1;
	} else if (act == ANALYSIS_PAUSE) {
		traffic_stop(a, true, percent, line, payload);
		ml_err_set(err, ML_EXIT_PAUSED, "canary paused at %d%%: %s", percent,
			   why);
		rc = 2;
	} else {
		traffic_stop(a, true, percent, line, payload);
	}
	free(iv);
	free(errors);
	free(cur);
	return rc;
}

void analysis_free(struct analysis *a)
{
	if (!a)
		return;
	traffic_stop(a, true, 0, NULL, NULL);
	for (size_t i = 0; i < a->env->n_nodes; i++)
		free(a->prev[i]);
	free(a->prev);
	http_client_close(a->http);
	json_decref(a->log);
	free(a->model);
	free(a->version);
	free(a);
}
