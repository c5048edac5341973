/* json.c — a load result as the one JSON document of `mlctl load --output
 * json` (and of the load gate's figures). Latencies in milliseconds. */
#include "load/load.h"

#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

/* Round to microseconds in ms units so the document stays readable. */
static json_t *ms(double v) { return json_real(round(v * 1000.0) / 1000.0); }
static json_t *u64(uint64_t v) { return json_integer((json_int_t)v); }

static json_t *latency_json(const struct load_result *r)
{
	struct load_latency l;
	load_result_latency(r, &l);
	json_t *o = json_object();
	json_object_set_new(o, "unit", json_string("ms"));
	json_object_set_new(o, "count", u64(r->latency.total));
	json_object_set_new(o, "min", ms(l.min));
	json_object_set_new(o, "mean", ms(l.mean));
	json_object_set_new(o, "p50", ms(l.p50));
	json_object_set_new(o, "p90", ms(l.p90));
	json_object_set_new(o, "p99", ms(l.p99));
	json_object_set_new(o, "p99.9", ms(l.p999));
	json_object_set_new(o, "max", ms(l.max));
	return o;
}

static json_t *opts_json(const struct load_opts *o)
{
	json_t *j = json_object();
	json_t *urls = json_array();
	for (size_t i = 0; i < o->n_urls; i++)
		json_array_append_new(urls, json_string(o->urls[i]));
	json_object_set_new(j, "targets", urls);
	json_object_set_new(j, "method",
			    json_string(o->method ? o->method
					: o->body ? "POST" : "GET"));
	json_object_set_new(j, "model",
			    json_string(o->rate > 0 ? "open" : "closed"));
	if (o->rate > 0)
		json_object_set_new(j, "rate", json_real(o->rate));
	else
		json_object_set_new(j, "rate", json_string("max"));
	json_object_set_new(j, "duration_s",
			    json_real((double)o->duration_ms / 1000.0));
	json_object_set_new(j, "connections", json_integer(o->connections));
	json_object_set_new(j, "threads", json_integer(o->threads));
	json_object_set_new(j, "timeout_s",
			    json_real((double)o->timeout_ms / 1000.0));
	return j;
}

char *load_result_json(const struct load_opts *o, const struct load_result *r,
		       const struct load_verdict *v)
{
	json_t *root = json_object();
	json_object_set_new(root, "options", opts_json(o));
	json_object_set_new(root, "requests", u64(r->requests));
	json_object_set_new(root, "ok", u64(r->ok));
	json_object_set_new(root, "elapsed_s",
			    json_real(round(r->elapsed_s * 1e6) / 1e6));
	json_object_set_new(root, "achieved_rate",
			    json_real(round(r->achieved_rate * 100) / 100));
	json_t *errs = json_object();
	json_object_set_new(errs, "total", u64(r->errors_total));
	for (int i = 0; i < LOAD_ERR_COUNT; i++)
		json_object_set_new(errs, load_error_name(i),
				    u64(r->errors[i]));
	json_object_set_new(root, "errors", errs);
	json_object_set_new(root, "error_rate", json_real(r->error_rate));
	json_object_set_new(root, "late", u64(r->late));
	json_object_set_new(root, "reconnects", u64(r->reconnects));
	json_object_set_new(root, "connects", u64(r->connects));
	json_object_set_new(root, "interrupted", json_boolean(r->interrupted));
	json_object_set_new(root, "latency", latency_json(r));

	json_t *series = json_array();
	for (size_t i = 0; i < r->n_series; i++) {
		const struct load_point *p = &r->series[i];
		json_t *pt = json_object();
		json_object_set_new(pt, "t", json_real(p->t_s));
		json_object_set_new(pt, "duration_s",
				    json_real(round(p->dur_s * 1e6) / 1e6));
		json_object_set_new(pt, "requests", u64(p->requests));
		json_object_set_new(pt, "errors", u64(p->errors));
		json_object_set_new(pt, "p50", ms(p->p50_ms));
		json_object_set_new(pt, "p99", ms(p->p99_ms));
		json_object_set_new(pt, "max", ms(p->max_ms));
		json_array_append_new(series, pt);
	}
	json_object_set_new(root, "series", series);

	json_t *th = json_array();
	bool passed = true;
	if (v) {
		for (size_t i = 0; i < v->n; i++) {
			const struct load_verdict_item *it = &v->items[i];
			json_t *t = json_object();
			json_object_set_new(t, "name", json_string(it->name));
			json_object_set_new(t, "limit", json_real(it->limit));
			json_object_set_new(t, "value", json_real(it->value));
			json_object_set_new(t, "unit", json_string(it->unit));
			json_object_set_new(t, "ok", json_boolean(it->ok));
			json_array_append_new(th, t);
		}
		passed = v->passed;
	}
	json_object_set_new(root, "thresholds", th);
	json_object_set_new(root, "passed", json_boolean(passed));

	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					   JSON_REAL_PRECISION(10));
	json_decref(root);
	if (!s)
		abort(); /* jansson fails only when out of memory */
	char *out = xstrdup(s);
	free(s);
	return out;
}
