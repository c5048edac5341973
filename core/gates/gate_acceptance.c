/* gate_acceptance.c — the acceptance gate: the release's labelled cases
 * (CSV or JSONL) sent in batched V2 requests (shape [N]) with bounded
 * concurrency, through the router or round-robin over the nodes serving
 * the release, and the answers scored with the metric(s) the environment
 * and the release name. Reports the worst cases. */
#include "gates/gate_internal.h"

#include "http.h"
#include "node.h"
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACC_TIMEOUT_MS 10000L
#define ACC_WORST 5

struct sender;

struct batch {
	struct sender *s;
	size_t first, n; /* rows [first, first + n) of the kept rows */
	char *url;       /* borrowed */
	char *body;
	struct http_resp resp;
	bool done;
};

struct sender {
	struct http_client *http;
	struct batch *b;
	size_t n, next;
	const char *token;
};

static void on_done(struct http_resp *resp, void *payload);

static void submit_next(struct sender *s)
{
	while (s->next < s->n) {
		struct batch *b = &s->b[s->next++];
		struct http_req q = HTTP_REQ_INIT;
		q.method = "POST";
		q.url = b->url;
		q.body = b->body;
		q.body_len = strlen(b->body);
		q.timeout_ms = ACC_TIMEOUT_MS;
		q.bearer_token = s->token;
		q.retries = 2;
		q.idempotent = true; /* inference has no side effect */
		if (http_client_submit(s->http, &q, on_done, b) == 0)
			return;
		b->resp.status = 0;
		snprintf(b->resp.error, sizeof(b->resp.error),
			 "the request could not be queued");
		b->done = true;
	}
}

static void on_done(struct http_resp *resp, void *payload)
{
	struct batch *b = payload;
	/* keep the response: take its body and content type */
	b->resp = *resp;
	resp->body = NULL;
	resp->content_type = NULL;
	b->done = true;
	submit_next(b->s);
}

/* A row's inputs as "v=50, d=10". */
static char *row_text(const struct gate_cases *cs, size_t row, const int *cols,
		      const struct cfg_expectations *e)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < e->n_inputs; i++) {
		if (cols[i] < 0)
			continue;
		char *n = xasprintf("%s%s%s=%g", s, *s ? ", " : "", e->inputs[i].name,
				    cs->values[row * cs->n_cols + (size_t)cols[i]]);
		free(s);
		s = n;
	}
	return s;
}

struct ranked {
	size_t row; /* index into kept rows */
	double err;
};

static int by_err_desc(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->err, y = ((const struct ranked *)b)->err;
	return x < y ? 1 : x > y ? -1 : 0;
}

void gate_acceptance_run(const struct gate_ctx *c, struct gate_result *out)
{
	gate_result_init(out, CFG_GATE_ACCEPTANCE);
	double t0 = now_ms();
	const struct gate_limits *l = c->lim;
	const struct cfg_expectations *e = &c->rel->expectations;
	struct gate_cases cs;
	memset(&cs, 0, sizeof(cs));
	struct ml_err err = ML_ERR_INIT;
	char *text = NULL;
	size_t len = 0, n_urls = 0, n_batches = 0, kept_n = 0, answered = 0;
	int *cols = xcalloc(e->n_inputs + 1, sizeof(int));
	size_t *kept = NULL;
	double *pred = NULL, *expect = NULL;
	bool *got = NULL;
	struct batch *batches = NULL;
	char **bases = NULL, **urls = NULL;
	struct http_client *http = NULL;
	const struct cfg_field *of = NULL;
	int ocol = -1;

	if (read_file(l->acc_cases, 256u << 20, &text, &len) ||
	    gate_cases_parse(l->acc_cases, text, len, &cs, &err)) {
		gate_add_checkf(out, "cases", 0, "%s", err.msg[0] ? err.msg
								   : "cannot read the cases");
		goto out;
	}
	for (size_t i = 0; i < e->n_inputs; i++)
		cols[i] = gate_cases_column(&cs, e->inputs[i].name);
	for (size_t i = 0; i < e->n_outputs && ocol < 0; i++)
		if ((ocol = gate_cases_column(&cs, e->outputs[i].name)) >= 0)
			of = &e->outputs[i];
	if (ocol < 0) {
		gate_add_checkf(out, "cases", 0, "%s: no column for the output '%s'",
				l->acc_cases, e->n_outputs ? e->outputs[0].name : "?");
		goto out;
	}
	/* rows with every value we need (JSONL rows may lack one) */
	kept = xcalloc(cs.n_rows + 1, sizeof(size_t));
	for (size_t r = 0; r < cs.n_rows; r++) {
		bool ok = !isnan(cs.values[r * cs.n_cols + (size_t)ocol]);
		for (size_t i = 0; i < e->n_inputs && ok; i++)
			if (cols[i] >= 0)
				ok = !isnan(cs.values[r * cs.n_cols + (size_t)cols[i]]);
		if (ok)
			kept[kept_n++] = r;
	}
	pred = xcalloc(kept_n + 1, sizeof(double));
	expect = xcalloc(kept_n + 1, sizeof(double));
	got = xcalloc(kept_n + 1, sizeof(bool));
	for (size_t k = 0; k < kept_n; k++)
		expect[k] = cs.values[kept[k] * cs.n_cols + (size_t)ocol];

	/* the batches: round-robin over the send URLs */
	bases = gate_send_urls(c->target, &n_urls);
	urls = xcalloc(n_urls + 1, sizeof(char *));
	for (size_t i = 0; i < n_urls; i++)
		urls[i] = node_infer_url(bases[i], c->rel->model, c->rel->version);
	size_t bsz = (size_t)l->acc_batch;
	n_batches = (kept_n + bsz - 1) / bsz;
	batches = xcalloc(n_batches + 1, sizeof(*batches));
	struct node_input *in = xcalloc(e->n_inputs + 1, sizeof(*in));
	double *colbuf = xcalloc((e->n_inputs + 1) * bsz, sizeof(double));
	for (size_t b = 0; b < n_batches; b++) {
		struct batch *x = &batches[b];
		x->first = b * bsz;
		x->n = kept_n - x->first < bsz ? kept_n - x->first : bsz;
		x->url = urls[b % n_urls];
		x->resp = (struct http_resp)HTTP_RESP_INIT;
		size_t ni = 0;
		for (size_t i = 0; i < e->n_inputs; i++) {
			if (cols[i] < 0)
				continue;
			double *d = colbuf + ni * bsz;
			for (size_t k = 0; k < x->n; k++)
				d[k] = cs.values[kept[x->first + k] * cs.n_cols +
						 (size_t)cols[i]];
			in[ni].name = e->inputs[i].name;
			in[ni].datatype = cfg_type_v2(e->inputs[i].type);
			in[ni].data = d;
			in[ni].n = x->n;
			ni++;
		}
		x->body = node_infer_body(in, ni, NULL);
	}
	free(in);
	free(colbuf);

	double send_t0 = now_ms();
	if (http_client_new(&http, NULL, &err) < 0) {
		gate_add_checkf(out, "answers", 0, "%s", err.msg);
		goto out;
	}
	struct sender s = { http, batches, n_batches, 0, gate_token(c->env) };
	for (size_t b = 0; b < n_batches; b++)
		batches[b].s = &s;
	for (int k = 0; k < l->acc_concurrency; k++)
		submit_next(&s);
	http_client_run(http);
	double send_ms = now_ms() - send_t0;

	/* the answers */
	size_t failed_batches = 0;
	char *first_fail = NULL;
	for (size_t b = 0; b < n_batches; b++) {
		struct batch *x = &batches[b];
		char why[400] = "";
		char rb[300];
		if (!x->done) {
			snprintf(why, sizeof(why), "never sent");
		} else if (!http_resp_ok(&x->resp)) {
			snprintf(why, sizeof(why), "%s",
				 http_resp_reason(&x->resp, rb, sizeof(rb)));
		} else {
			struct node_infer_result res;
			if (node_infer_parse(x->resp.body, x->resp.body_len, &res,
					     &err)) {
				snprintf(why, sizeof(why), "%.380s", err.msg);
			} else if (!res.model_version ||
				   strcmp(res.model_version, c->rel->version)) {
				snprintf(why, sizeof(why),
					 "answered by version %s, expected %s",
					 res.model_version ? res.model_version
							   : "(none)",
					 c->rel->version);
			} else {
				const struct node_output *o =
					node_infer_output(&res, of->name);
				if (!o || !o->data || o->n != x->n) {
					snprintf(why, sizeof(why),
						 "output '%s': expected %zu numbers",
						 of->name, x->n);
				} else {
					for (size_t k = 0; k < x->n; k++) {
						pred[x->first + k] = o->data[k];
						got[x->first + k] = true;
					}
					answered += x->n;
				}
			}
			node_infer_result_release(&res);
		}
		if (why[0]) {
			failed_batches++;
			if (!first_fail)
				first_fail = xasprintf("rows %u..%u: %s",
						       cs.lines[kept[x->first]],
						       cs.lines[kept[x->first + x->n - 1]],
						       why);
		}
	}
	if (failed_batches)
		gate_add_checkf(out, "answers", send_ms,
				"%zu of %zu requests failed (%zu of %zu cases "
				"unanswered): %s",
				failed_batches, n_batches, kept_n - answered, kept_n,
				first_fail);
	else
		gate_add_check(out, "answers", send_ms, NULL);
	free(first_fail);

	/* the metrics over the answered rows */
	double *pp = xcalloc(answered + 1, sizeof(double));
	double *yy = xcalloc(answered + 1, sizeof(double));
	size_t *idx = xcalloc(answered + 1, sizeof(size_t));
	size_t m = 0;
	for (size_t k = 0; k < kept_n; k++)
		if (got[k]) {
			pp[m] = pred[k];
			yy[m] = expect[k];
			idx[m++] = k;
		}
	json_t *metrics = json_object();
	static const enum cfg_metric shown[] = { CFG_M_MAE, CFG_M_RMSE, CFG_M_MAPE };
	for (size_t i = 0; i < 3; i++) {
		double v = gate_metric(shown[i], pp, yy, m);
		json_object_set_new(metrics, cfg_metric_name(shown[i]),
				    isnan(v) ? json_null() : json_real(v));
	}
	char figs[256] = "";
	size_t fl = 0;
	json_t *bounds = json_array();
	for (size_t i = 0; i < l->n_acc; i++) {
		const struct gate_bound *b = &l->acc[i];
		double v = gate_metric(b->metric, pp, yy, m);
		if (!isnan(v))
			json_object_set_new(metrics, cfg_metric_name(b->metric),
					    json_real(v));
		bool lower = cfg_metric_lower_is_better(b->metric);
		char name[96];
		snprintf(name, sizeof(name), "%s %s %g", cfg_metric_name(b->metric),
			 lower ? "<=" : ">=", b->limit);
		if (isnan(v))
			gate_add_checkf(out, name, 0, "%s is undefined over %zu "
						      "answered cases",
					cfg_metric_name(b->metric), m);
		else if (!gate_bound_ok(b, v))
			gate_add_checkf(out, name, 0, "%s %.4g is %s %g over %zu "
						      "cases (%s's bound)",
					cfg_metric_name(b->metric), v,
					lower ? "above" : "below", b->limit, m,
					b->from);
		else
			gate_add_check(out, name, 0, NULL);
		char val[32];
		if (isnan(v))
			snprintf(val, sizeof(val), "undefined");
		else
			snprintf(val, sizeof(val), "%.4g", v);
		if (fl < sizeof(figs))
			fl += (size_t)snprintf(figs + fl, sizeof(figs) - fl,
					       "%s%s %s (%s %g)", fl ? ", " : "",
					       cfg_metric_name(b->metric), val,
					       lower ? "max" : "min", b->limit);
		json_t *bj = json_object();
		json_object_set_new(bj, "metric", json_string(cfg_metric_name(b->metric)));
		json_object_set_new(bj, lower ? "max" : "min", json_real(b->limit));
		json_object_set_new(bj, "value", isnan(v) ? json_null() : json_real(v));
		json_object_set_new(bj, "passed", json_boolean(gate_bound_ok(b, v)));
		json_object_set_new(bj, "from", json_string(b->from));
		json_array_append_new(bounds, bj);
	}

	/* the worst cases by the first bound's metric */
	enum cfg_metric wm = l->n_acc ? l->acc[0].metric : CFG_M_MAE;
	struct ranked *rk = xcalloc(m + 1, sizeof(*rk));
	for (size_t i = 0; i < m; i++) {
		rk[i].row = idx[i];
		rk[i].err = gate_row_error(wm, pp[i], yy[i]);
	}
	qsort(rk, m, sizeof(*rk), by_err_desc);
	json_t *worst = json_array();
	char *detail = xstrdup("worst cases:\n");
	for (size_t i = 0; i < m && i < ACC_WORST; i++) {
		size_t k = rk[i].row, row = kept[k];
		char *inputs = row_text(&cs, row, cols, e);
		json_t *w = json_object();
		json_object_set_new(w, "line", json_integer(cs.lines[row]));
		json_object_set_new(w, "inputs", json_string(inputs));
		json_object_set_new(w, "expected", json_real(expect[k]));
		json_object_set_new(w, "predicted", json_real(pred[k]));
		json_object_set_new(w, "error", json_real(rk[i].err));
		json_array_append_new(worst, w);
		char *d = xasprintf("%s  line %u: %s: %s expected %g, got %g "
				    "(error %.4g)\n",
				    detail, cs.lines[row], inputs, of->name, expect[k],
				    pred[k], rk[i].err);
		free(detail);
		detail = d;
		free(inputs);
	}
	for (size_t i = 0; i < out->n_checks; i++)
		if (!out->checks[i].ok && strcmp(out->checks[i].name, "answers") != 0)
			out->checks[i].detail = xasprintf("%s\n%s", out->checks[i].reason,
							  detail);
	free(detail);
	free(rk);
	free(pp);
	free(yy);
	free(idx);

	json_t *f = out->figures;
	json_object_set_new(f, "cases_file", json_string(l->acc_cases));
	json_object_set_new(f, "cases", json_integer((json_int_t)kept_n));
	json_object_set_new(f, "incomplete_rows",
			    json_integer((json_int_t)(cs.n_rows - kept_n)));
	json_object_set_new(f, "answered", json_integer((json_int_t)answered));
	json_object_set_new(f, "requests", json_integer((json_int_t)n_batches));
	json_object_set_new(f, "batch", json_integer(l->acc_batch));
	json_object_set_new(f, "concurrency", json_integer(l->acc_concurrency));
	json_object_set_new(f, "output", json_string(of->name));
	json_object_set_new(f, "metrics", metrics);
	json_object_set_new(f, "bounds", bounds);
	json_object_set_new(f, "worst", worst);
	char tm[32];
	gate_fmt_ms(now_ms() - t0, tm, sizeof(tm));
	gate_set_summary(out, "%s over %zu/%zu cases in %zu requests of %d %s "
			      "in %s",
			 figs, answered, kept_n, n_batches, l->acc_batch,
			 c->target->router_url ? "through the router" : "on the nodes",
			 tm);
out:
	if (!out->summary) {
		char buf[512];
		gate_set_summary(out, "did not run: %s",
				 gate_first_failure(out, buf, sizeof(buf)));
	}
	http_client_close(http);
	for (size_t b = 0; batches && b < n_batches; b++) {
		free(batches[b].body);
		http_resp_release(&batches[b].resp);
	}
	free(batches);
	gate_strings_free(urls, n_urls);
	gate_strings_free(bases, n_urls);
	free(kept);
	free(pred);
	free(expect);
	free(got);
	free(cols);
	free(text);
	gate_cases_release(&cs);
	ml_err_release(&err);
	out->ms = now_ms() - t0;
}
