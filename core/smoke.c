/* smoke.c — smoke cases as concurrent V2 infer requests (core/http), each
 * answer checked for status, model_version and the expected bounds. */
#include "smoke.h"
#include "exitcode.h"
#include "http.h"
#include "node.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *case_body(const struct cfg_release *rel,
		       const struct cfg_smoke_case *sc, struct ml_err *err)
{
	struct node_input *in = xcalloc(sc->n_inputs + 1, sizeof(*in));
	double *vals = xcalloc(sc->n_inputs + 1, sizeof(*vals));
	char *body = NULL;
	for (size_t i = 0; i < sc->n_inputs; i++) {
		const struct cfg_value *v = &sc->inputs[i];
		if (v->kind != CFG_V_NUMBER) {
			ml_err_set(err, ML_EXIT_USAGE,
				   "smoke input '%s': only numeric inputs can be "
				   "sent",
				   v->name);
			goto out;
		}
		const struct cfg_field *f = NULL;
		for (size_t k = 0; k < rel->expectations.n_inputs; k++)
			if (strcmp(rel->expectations.inputs[k].name, v->name) == 0)
				f = &rel->expectations.inputs[k];
		vals[i] = v->num;
		in[i].name = v->name;
		in[i].datatype = f ? cfg_type_v2(f->type) : "FP64";
		in[i].data = &vals[i];
		in[i].n = 1;
	}
	body = node_infer_body(in, sc->n_inputs, NULL);
out:
	free(in);
	free(vals);
	return body;
}

/* Check one answer; NULL when it passes, else a reason (caller frees). */
static char *judge(const struct cfg_smoke_case *sc, const struct http_resp *resp,
		   const char *version)
{
	char buf[256];
	if (!http_resp_ok(resp))
		return xstrdup(http_resp_reason(resp, buf, sizeof(buf)));
	struct node_infer_result res;
	memset(&res, 0, sizeof(res));
	struct ml_err err = ML_ERR_INIT;
	char *why = NULL;
	if (node_infer_parse(resp->body, resp->body_len, &res, &err)) {
		why = xasprintf("not a V2 infer response: %s", err.msg);
		goto out;
	}
	if (version && (!res.model_version || strcmp(res.model_version, version))) {
		why = xasprintf("answered by version %s, expected %s",
				res.model_version ? res.model_version : "(none)",
				version);
		goto out;
	}
	for (size_t i = 0; i < sc->n_expects; i++) {
		const struct cfg_expect *x = &sc->expects[i];
		const struct node_output *o = node_infer_output(&res, x->name);
		if (!o || !o->data || o->n < 1) {
			why = xasprintf("output '%s' missing or not numeric", x->name);
			goto out;
		}
		double v = o->data[0];
		if (!isfinite(v))
			why = xasprintf("%s: %g is not a finite number", x->name, v);
		else if (x->has_min && v < x->min)
			why = xasprintf("%s: %g is below min %g", x->name, v, x->min);
		else if (x->has_max && v > x->max)
			why = xasprintf("%s: %g is above max %g", x->name, v, x->max);
		else if (x->has_equals && fabs(v - x->equals) > 1e-9 * fmax(1, fabs(x->equals)))
			why = xasprintf("%s: %g is not %g", x->name, v, x->equals);
		if (why)
			goto out;
	}
out:
	node_infer_result_release(&res);
	return why;
}

int smoke_run(const struct cfg_release *rel, const struct smoke_target *targets,
	      size_t n_targets, const char *version, long long timeout_ms,
	      const char *bearer_token, struct smoke_report *out,
	      struct ml_err *err)
{
	return smoke_run_retry(rel, targets, n_targets, version, timeout_ms,
			       bearer_token, 0, out, err);
}

int smoke_run_retry(const struct cfg_release *rel,
		    const struct smoke_target *targets, size_t n_targets,
		    const char *version, long long timeout_ms,
		    const char *bearer_token, int retries,
		    struct smoke_report *out, struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	size_t n_cases = rel->checks.smoke.n_cases;
	if (n_cases == 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "%s %s has no smoke cases (checks.smoke)",
				  rel->model, rel->version);
	char **bodies = xcalloc(n_cases, sizeof(*bodies));
	size_t n = n_cases * n_targets;
	struct http_req *reqs = xcalloc(n + 1, sizeof(*reqs));
	struct http_resp *resps = xcalloc(n + 1, sizeof(*resps));
	char **urls = xcalloc(n_targets + 1, sizeof(*urls));
	int rc = -1;
	for (size_t c = 0; c < n_cases; c++)
		if (!(bodies[c] = case_body(rel, &rel->checks.smoke.cases[c], err)))
			goto done;
	for (size_t t = 0; t < n_targets; t++)
		urls[t] = node_infer_url(targets[t].url, rel->model, NULL);
	for (size_t t = 0; t < n_targets; t++)
		for (size_t c = 0; c < n_cases; c++) {
			struct http_req *r = &reqs[t * n_cases + c];
			r->method = "POST";
			r->url = urls[t];
			r->body = bodies[c];
			r->body_len = strlen(bodies[c]);
			r->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
			r->bearer_token = bearer_token;
			r->retries = retries;
			r->idempotent = true; /* inference has no side effect */
			r->backoff_ms = 20;
		}
	double t0 = now_ms();
	http_batch(reqs, resps, n);
	out->ms = now_ms() - t0;
	out->checks = xcalloc(n + 1, sizeof(*out->checks));
	out->n = n;
	for (size_t t = 0; t < n_targets; t++)
		for (size_t c = 0; c < n_cases; c++) {
			size_t i = t * n_cases + c;
			struct smoke_check *ck = &out->checks[i];
			ck->target = xstrdup(targets[t].name);
			ck->case_index = c;
			ck->ms = resps[i].elapsed_ms;
			ck->attempts = resps[i].attempts;
			ck->reason = judge(&rel->checks.smoke.cases[c], &resps[i], version);
			ck->ok = ck->reason == NULL;
			out->failed += !ck->ok;
		}
	rc = 0;
done:
	for (size_t i = 0; i < n; i++)
		http_resp_release(&resps[i]);
	for (size_t c = 0; c < n_cases; c++)
		free(bodies[c]);
	for (size_t t = 0; t < n_targets; t++)
		free(urls[t]);
	free(urls);
	free(bodies);
	free(reqs);
	free(resps);
	return rc;
}

void smoke_report_release(struct smoke_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->checks[i].target);
		free(r->checks[i].reason);
	}
	free(r->checks);
	memset(r, 0, sizeof(*r));
}

const char *smoke_first_failure(const struct smoke_report *r)
{
	static char buf[512];
	for (size_t i = 0; i < r->n; i++)
		if (!r->checks[i].ok) {
			snprintf(buf, sizeof(buf), "%.300s on %.100s (case %zu)",
				 r->checks[i].reason, r->checks[i].target,
				 r->checks[i].case_index + 1);
			return buf;
		}
	return NULL;
}
