/* gate_load.c — the load gate: core/load's generator (open model, latency
 * from each request's scheduled start) through the router, or round-robin
 * over the nodes serving the release, at the merged checks.load rate and
 * duration, held to max_p99 and max_error_rate; the HTML report when
 * asked for. */
#include "gates/gate_internal.h"

#include "load/load.h"
#include "load/target.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gate_load_run(const struct gate_ctx *c, struct gate_result *out)
{
	gate_result_init(out, CFG_GATE_LOAD);
	double t0 = now_ms();
	const struct gate_limits *l = c->lim;
	size_t n_urls = 0;
	char **bases = gate_send_urls(c->target, &n_urls);
	char **urls = xcalloc(n_urls + 1, sizeof(char *));
	char *body = NULL, *auth = NULL;
	struct load_result res;
	memset(&res, 0, sizeof(res));
	struct ml_err err = ML_ERR_INIT;
	bool ran = false;
	for (size_t i = 0; i < n_urls; i++)
		/* the versioned path: only this release answers, even on a
		 * node that loaded another version after it */
		urls[i] = load_versioned_infer_url(bases[i], c->rel->model,
						   c->rel->version);
	for (size_t i = 0; i < n_urls; i++)
		if (strncmp(urls[i], "https://", 8) == 0) {
			gate_add_checkf(out, "load", 0, "%s is https, which the "
							"load generator does "
							"not speak",
					bases[i]);
			goto out;
		}

	const struct cfg_smoke_case *sc = l->n_smoke_rel ? &l->smoke_rel[0]
							 : &l->smoke_env[0];
	body = load_v2_body(c->rel, sc);
	const char *headers[2] = { "Content-Type: application/json", NULL };
	size_t n_headers = 1;
	const char *tok = gate_token(c->env);
	if (tok) {
		auth = xasprintf("Authorization: Bearer %s", tok);
		headers[n_headers++] = auth;
	}
	struct load_opts o = LOAD_OPTS_INIT;
	o.urls = (const char *const *)urls;
	o.n_urls = n_urls;
	o.method = "POST";
	o.headers = headers;
	o.n_headers = n_headers;
	o.body = body;
	o.body_len = strlen(body);
	o.rate = l->load_rate;
	o.duration_ms = l->load_duration_ms;
	o.connections = l->load_connections;
	o.threads = 1;
	o.progress_ms = 0;
	if (load_run(&o, &res, NULL, NULL, &err) < 0) {
		gate_add_checkf(out, "load", 0, "the load generator could not "
						"run: %s",
				err.msg);
		goto out;
	}
	ran = true;
	struct load_thresholds th = LOAD_THRESHOLDS_INIT;
	th.max_p99_ms = (double)l->load_max_p99_ms;
	th.max_error_rate = l->load_max_error_rate;
	struct load_verdict v;
	load_check(&th, &res, &v);
	struct load_latency lat;
	load_result_latency(&res, &lat);
	double run_ms = res.elapsed_s * 1000;

	if (res.requests > 0 && res.latency.total == 0)
		gate_add_checkf(out, "answers", run_ms,
				"not one response from %s%s (%llu requests)",
				urls[0], n_urls > 1 ? " and the others" : "",
				(unsigned long long)res.requests);
	else
		gate_add_check(out, "answers", run_ms, NULL);
	char a[32], b[32];
	for (size_t i = 0; i < v.n; i++) {
		const struct load_verdict_item *it = &v.items[i];
		char name[64];
		if (strcmp(it->name, "max_p99") == 0) {
			gate_fmt_ms(it->value, a, sizeof(a));
			gate_fmt_ms(it->limit, b, sizeof(b));
			snprintf(name, sizeof(name), "p99 <= %s", b);
			if (it->ok)
				gate_add_check(out, name, run_ms, NULL);
			else
				gate_add_checkf(out, name, run_ms,
						"p99 latency %s is above %s", a, b);
		} else if (strcmp(it->name, "max_error_rate") == 0) {
			snprintf(name, sizeof(name), "error rate <= %g%%",
				 100 * it->limit);
			if (it->ok)
				gate_add_check(out, name, run_ms, NULL);
			else
				gate_add_checkf(out, name, run_ms,
						"error rate %.2f%% (%llu of %llu) "
						"is above %g%%",
						100 * it->value,
						(unsigned long long)res.errors_total,
						(unsigned long long)res.requests,
						100 * it->limit);
		}
	}
	if (l->load_max_p99_ms < 0)
		gate_add_skip(out, "p99", "no latency bound (batch serving mode)");
	if (res.interrupted)
		gate_add_check(out, "complete run", run_ms, "interrupted");

	if (c->report_path) {
		char *title = xasprintf("Load gate: %s %s in %s", c->rel->model,
					c->rel->version, c->env->name);
		if (load_report_write(c->report_path, title, &o, &res, &v, &err) < 0)
			gate_add_checkf(out, "report", 0, "%s", err.msg);
		else
			out->report = xstrdup(c->report_path);
		free(title);
	}

	char p99[32], lim[32], tm[32];
	gate_fmt_ms(lat.p99, p99, sizeof(p99));
	if (l->load_max_p99_ms >= 0)
		gate_fmt_ms((double)l->load_max_p99_ms, lim, sizeof(lim));
	else
		snprintf(lim, sizeof(lim), "none");
	gate_fmt_ms((double)l->load_duration_ms, tm, sizeof(tm));
	gate_set_summary(out, "%llu requests at %.1f req/s for %s %s: p99 %s "
			      "(max %s), errors %.2f%% (max %g%%)",
			 (unsigned long long)res.requests, res.achieved_rate, tm,
			 c->target->router_url ? "through the router"
					       : "on the nodes",
			 p99, lim, 100 * res.error_rate,
			 l->load_max_error_rate >= 0 ? 100 * l->load_max_error_rate
						     : 100.0);
	json_t *f = out->figures;
	json_object_set_new(f, "target", json_string(urls[0]));
	json_object_set_new(f, "rate", json_real(l->load_rate));
	json_object_set_new(f, "duration_s", json_real((double)l->load_duration_ms / 1000));
	json_object_set_new(f, "connections", json_integer(l->load_connections));
	json_object_set_new(f, "requests", json_integer((json_int_t)res.requests));
	json_object_set_new(f, "ok", json_integer((json_int_t)res.ok));
	json_object_set_new(f, "errors", json_integer((json_int_t)res.errors_total));
	json_object_set_new(f, "error_rate", json_real(res.error_rate));
	json_object_set_new(f, "achieved_rate", json_real(res.achieved_rate));
	json_object_set_new(f, "late", json_integer((json_int_t)res.late));
	json_t *lj = json_object();
	json_object_set_new(lj, "unit", json_string("ms"));
	json_object_set_new(lj, "p50", json_real(lat.p50));
	json_object_set_new(lj, "p90", json_real(lat.p90));
	json_object_set_new(lj, "p99", json_real(lat.p99));
	json_object_set_new(lj, "max", json_real(lat.max));
	json_object_set_new(f, "latency", lj);
	json_object_set_new(f, "max_p99_ms", l->load_max_p99_ms >= 0
						     ? json_integer(l->load_max_p99_ms)
						     : json_null());
	json_object_set_new(f, "max_error_rate", l->load_max_error_rate >= 0
							 ? json_real(l->load_max_error_rate)
							 : json_null());
out:
	if (!ran)
		gate_set_summary(out, "did not run: %s",
				 out->n_checks ? out->checks[0].reason : "?");
	out->ms = now_ms() - t0;
	load_result_release(&res);
	gate_strings_free(urls, n_urls);
	gate_strings_free(bases, n_urls);
	free(body);
	free(auth);
	ml_err_release(&err);
}
