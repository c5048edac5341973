/* thresholds.c — the environment's checks are floors, a release may only
 * tighten them: gate_limits_merge() picks the stricter value of each
 * threshold and notes where the release asked for less. Pure: no I/O. */
#include "gates/gate.h"

#include <stdio.h>
#include <string.h>

long long gate_mode_max_p99_ms(enum cfg_serving_mode mode)
{
	switch (mode) {
	case CFG_MODE_REALTIME:
		return 1000;
	case CFG_MODE_NEAR_REAL_TIME:
		return 60000;
	case CFG_MODE_EDGE:
		return 100;
	case CFG_MODE_BATCH:
		break;
	}
	return -1;
}

static void fmt_ms(char *buf, size_t sz, long long ms)
{
	if (ms >= 60000 && ms % 60000 == 0)
		snprintf(buf, sz, "%lldm", ms / 60000);
	else if (ms >= 1000 && ms % 1000 == 0)
		snprintf(buf, sz, "%llds", ms / 1000);
	else
		snprintf(buf, sz, "%lldms", ms);
}

static void held(struct gate_limits *l, const char *key, const char *rel,
		 const char *floor)
{
	if (l->n_held == GATE_MAX_HELD)
		return;
	snprintf(l->held[l->n_held++], sizeof(l->held[0]),
		 "%.64s: the release's %.31s is looser than the environment's "
		 "floor %.31s; %.31s applies",
		 key, rel, floor, floor);
}

/* The stricter (smaller) of two durations where 0 or less means unset;
 * def when neither is set. */
static long long min_ms(struct gate_limits *l, const char *key,
			long long env, long long rel, long long def)
{
	if (env > 0 && rel > 0) {
		if (rel > env) {
			char a[32], b[32];
			fmt_ms(a, sizeof(a), rel);
			fmt_ms(b, sizeof(b), env);
			held(l, key, a, b);
			return env;
		}
		return rel;
	}
	if (env > 0)
		return env;
	if (rel > 0)
		return rel;
	return def;
}

static void merge_timeouts(struct gate_limits *l, const struct cfg_checks *f,
			   const struct cfg_checks *r)
{
	l->unit_timeout_ms = min_ms(l, "unit.timeout", f ? f->unit.timeout_ms : 0,
				    r ? r->unit.timeout_ms : 0,
				    GATE_UNIT_TIMEOUT_MS);
	l->integration_timeout_ms =
		min_ms(l, "integration.timeout",
		       f ? f->integration.timeout_ms : 0,
		       r ? r->integration.timeout_ms : 0,
		       GATE_INTEGRATION_TIMEOUT_MS);
	l->smoke_timeout_ms = min_ms(l, "smoke.timeout",
				     f ? f->smoke.timeout_ms : 0,
				     r ? r->smoke.timeout_ms : 0,
				     GATE_SMOKE_TIMEOUT_MS);
}

static void merge_commands(struct gate_limits *l, const struct cfg_checks *f,
			   const struct cfg_checks *r)
{
	const struct cfg_checks *both[2] = { f, r };
	for (int i = 0; i < 2; i++) {
		if (!both[i])
			continue;
		if (both[i]->unit.set && both[i]->unit.run)
			l->unit[l->n_unit++] = &both[i]->unit;
		if (both[i]->integration.set && both[i]->integration.run)
			l->integration[l->n_integration++] = &both[i]->integration;
	}
	if (f) {
		l->smoke_env = f->smoke.cases;
		l->n_smoke_env = f->smoke.n_cases;
	}
	if (r) {
		l->smoke_rel = r->smoke.cases;
		l->n_smoke_rel = r->smoke.n_cases;
	}
}

static void merge_load(struct gate_limits *l, const struct cfg_checks *f,
		       const struct cfg_checks *r, enum cfg_serving_mode mode)
{
	bool fs = f && f->load.set, rs = r && r->load.set;
	/* the test's intensity: the larger of the two */
	double rate = 0;
	long long dur = 0;
	int conns = 0;
	if (fs) {
		rate = f->load.rate;
		dur = f->load.duration_ms;
		conns = f->load.connections;
	}
	if (rs) {
		if (r->load.rate > rate)
			rate = r->load.rate;
		if (r->load.duration_ms > dur)
			dur = r->load.duration_ms;
		if (r->load.connections > conns)
			conns = r->load.connections;
	}
	l->load_rate = rate > 0 ? rate : GATE_LOAD_RATE;
	l->load_duration_ms = dur > 0 ? dur : GATE_LOAD_DURATION_MS;
	l->load_connections = conns > 0 ? conns : GATE_LOAD_CONNECTIONS;

	/* max_p99: the release's own, else its serving mode's default */
	long long env_p99 = fs ? f->load.max_p99_ms : -1;
	long long rel_p99 = rs ? r->load.max_p99_ms : -1;
	if (rel_p99 < 0)
		rel_p99 = gate_mode_max_p99_ms(mode);
	if (env_p99 >= 0 && rel_p99 >= 0) {
		if (rel_p99 > env_p99 && rs && r->load.max_p99_ms >= 0) {
			char a[32], b[32];
			fmt_ms(a, sizeof(a), rel_p99);
			fmt_ms(b, sizeof(b), env_p99);
			held(l, "load.max_p99", a, b);
		}
		l->load_max_p99_ms = rel_p99 < env_p99 ? rel_p99 : env_p99;
	} else {
		l->load_max_p99_ms = env_p99 >= 0 ? env_p99 : rel_p99;
	}

	double env_er = fs ? f->load.max_error_rate : -1;
	double rel_er = rs ? r->load.max_error_rate : -1;
	if (env_er >= 0 && rel_er >= 0) {
		if (rel_er > env_er) {
			char a[32], b[32];
			snprintf(a, sizeof(a), "%g%%", 100 * rel_er);
			snprintf(b, sizeof(b), "%g%%", 100 * env_er);
			held(l, "load.max_error_rate", a, b);
		}
		l->load_max_error_rate = rel_er < env_er ? rel_er : env_er;
	} else if (env_er >= 0 || rel_er >= 0) {
		l->load_max_error_rate = env_er >= 0 ? env_er : rel_er;
	} else {
		l->load_max_error_rate = GATE_LOAD_MAX_ERROR_RATE;
	}
}

/* The bound a checks block sets for its metric, if any. */
static bool bound_of(const struct cfg_checks *c, struct gate_bound *b)
{
	if (!c || !c->acceptance.set)
		return false;
	enum cfg_metric m = c->acceptance.has_metric ? c->acceptance.metric
						     : CFG_M_MAPE;
	bool lower = cfg_metric_lower_is_better(m);
	if (lower && c->acceptance.has_max)
		b->limit = c->acceptance.max;
	else if (!lower && c->acceptance.has_min)
		b->limit = c->acceptance.min;
	else
		return false;
	b->metric = m;
	return true;
}

static void merge_acceptance(struct gate_limits *l, const struct cfg_checks *f,
			     const struct cfg_checks *r)
{
	struct gate_bound fb, rb;
	bool hf = bound_of(f, &fb), hr = bound_of(r, &rb);
	fb.from = "environment";
	rb.from = "release";
	if (hf && hr && fb.metric == rb.metric) {
		bool lower = cfg_metric_lower_is_better(fb.metric);
		bool looser = lower ? rb.limit > fb.limit : rb.limit < fb.limit;
		struct gate_bound b = looser ? fb : rb;
		if (looser) {
			char a[32], c[32], key[64];
			snprintf(a, sizeof(a), "%g", rb.limit);
			snprintf(c, sizeof(c), "%g", fb.limit);
			snprintf(key, sizeof(key), "acceptance.%s (%s)",
				 lower ? "max" : "min", cfg_metric_name(fb.metric));
			held(l, key, a, c);
		}
		b.from = rb.limit == fb.limit ? "both" : b.from;
		l->acc[l->n_acc++] = b;
	} else {
		/* different metrics: each side's bound holds */
		if (hf)
			l->acc[l->n_acc++] = fb;
		if (hr)
			l->acc[l->n_acc++] = rb;
	}
	if (r && r->acceptance.set && r->acceptance.cases)
		l->acc_cases = r->acceptance.cases;
	else if (f && f->acceptance.set && f->acceptance.cases)
		l->acc_cases = f->acceptance.cases;
	int batch = 0, conc = 0;
	if (r && r->acceptance.set) {
		batch = r->acceptance.batch;
		conc = r->acceptance.concurrency;
	}
	if (f && f->acceptance.set) {
		if (!batch)
			batch = f->acceptance.batch;
		if (!conc)
			conc = f->acceptance.concurrency;
	}
	l->acc_batch = batch > 0 ? batch : GATE_ACCEPTANCE_BATCH;
	l->acc_concurrency = conc > 0 ? conc : GATE_ACCEPTANCE_CONCURRENCY;
}

void gate_limits_merge(const struct cfg_checks *floor,
		       const struct cfg_checks *rel,
		       enum cfg_serving_mode mode, struct gate_limits *out)
{
	memset(out, 0, sizeof(*out));
	merge_timeouts(out, floor, rel);
	merge_commands(out, floor, rel);
	merge_load(out, floor, rel, mode);
	merge_acceptance(out, floor, rel);
}
