/* api.c — routing and handlers of mlserve's HTTP API (see api.h): health,
 * metadata, infer (data contract, batch, faults), the model repository
 * extension, /metrics and /openapi.json. Responses are built in the
 * worker's reusable buffer; the infer path allocates nothing once warm. */
#include "api.h"

#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef MLCTL_VERSION
#define MLCTL_VERSION "0.0.0"
#endif

#define CT_JSON "application/json"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

void api_ctx_init(struct api_ctx *c, struct repo *r, struct metrics *mx, struct api_opts *o,
		  size_t worker)
{
	memset(c, 0, sizeof *c);
	c->repo = r;
	c->mx = mx;
	c->opts = o;
	c->worker = worker;
	c->snap = repo_acquire(r);
}

void api_ctx_release(struct api_ctx *c)
{
	repo_snapshot_put(c->snap);
	mjson_doc_release(&c->doc);
	infer_in_release(&c->in);
	free(c->outv);
	mbuf_release(&c->body);
	memset(c, 0, sizeof *c);
}

static void resp_init(struct api_ctx *c, struct api_resp *r)
{
	memset(r, 0, sizeof *r);
	r->body = &c->body;
	r->ctype = CT_JSON;
	r->handler = MH_OTHER;
	if (c->body.cap > 1 << 20)
		mbuf_reset(&c->body, 0);
	c->body.len = 0;
	/* a big batch once must not keep its scratch memory for ever */
	if (c->doc.cap > 8192)
		mjson_doc_release(&c->doc);
	if (c->in.cap > 8192)
		infer_in_release(&c->in);
	if (c->outcap > 8192) {
		free(c->outv);
		c->outv = NULL;
		c->outcap = 0;
	}
}

void api_error(struct api_ctx *c, struct api_resp *r, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->body.len = 0;
	mbuf_adds(&c->body, "{\"error\":");
	mbuf_add_jstr(&c->body, msg, strlen(msg));
	mbuf_addc(&c->body, '}');
	r->status = status;
	r->ctype = CT_JSON;
}

static void ok_json(struct api_resp *r)
{
	r->status = 200;
	r->ctype = CT_JSON;
}

/* ======================================================================
 * path handling
 * ==================================================================== */

static int hexv(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Split the path into up to max percent-decoded segments stored in buf.
 * Returns the count, or -1 when the path is malformed or too long. */
static int split_path(const char *path, char *buf, size_t bufsz, char **seg, int max)
{
	int n = 0;
	size_t o = 0;
	const char *p = path;
	if (*p != '/')
		return -1;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -1;
		seg[n++] = buf + o;
		while (*p && *p != '/') {
			char ch = *p++;
			if (ch == '%') {
				int h = hexv(p[0]), l = h >= 0 ? hexv(p[1]) : -1;
				if (h < 0 || l < 0)
					return -1;
				ch = (char)(h << 4 | l);
				p += 2;
				if (ch == 0)
					return -1;
			}
			if (o + 2 >= bufsz)
				return -1;
			buf[o++] = ch;
		}
		buf[o++] = 0;
	}
	return n;
}

static bool method_is(const struct mhttp_req *q, struct api_ctx *c, struct api_resp *r,
		      bool get)
{
	if (get && (q->method == MHTTP_GET || q->method == MHTTP_HEAD)) {
		r->head_only = q->method == MHTTP_HEAD;
		return true;
	}
	if (!get && q->method == MHTTP_POST)
		return true;
	api_error(c, r, 405, "method %s not allowed here (use %s)", q->method_name,
		  get ? "GET" : "POST");
	r->extra = get ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n";
	return false;
}

static void refresh_snapshot(struct api_ctx *c)
{
	if (!repo_is_current(c->repo, c->snap)) {
		repo_snapshot_put(c->snap);
		c->snap = repo_acquire(c->repo);
	}
}

/* ======================================================================
 * health and metadata
 * ==================================================================== */

static void server_metadata(struct api_ctx *c, struct api_resp *r)
{
	mbuf_adds(&c->body, "{\"name\":\"mlserve\",\"version\":\"" MLCTL_VERSION
			    "\",\"extensions\":[\"model_repository\"]}");
	ok_json(r);
}

static void tensor_meta(struct mbuf *b, const char *name, const char *dt)
{
	mbuf_adds(b, "{\"name\":");
	mbuf_add_jstr(b, name, strlen(name));
	mbuf_adds(b, ",\"datatype\":\"");
	mbuf_adds(b, dt);
	mbuf_adds(b, "\",\"shape\":[-1]}");
}

static void model_metadata(struct api_ctx *c, struct api_resp *r, const struct repo_model *m,
			   struct ms_version *v, bool versioned)
{
	struct mbuf *b = &c->body;
	mbuf_adds(b, "{\"name\":");
	mbuf_add_jstr(b, m->name, strlen(m->name));
	mbuf_adds(b, ",\"versions\":[");
	if (versioned) {
		mbuf_add_jstr(b, v->version, strlen(v->version));
	} else {
		for (size_t j = 0; j < m->n; j++) {
			if (j)
				mbuf_addc(b, ',');
			mbuf_add_jstr(b, m->versions[j]->version, strlen(m->versions[j]->version));
		}
	}
	mbuf_adds(b, "],\"platform\":\"mlserve_linear\",\"inputs\":[");
	const struct contract *k = &v->contract;
	for (size_t i = 0; i < k->n_inputs; i++) {
		if (i)
			mbuf_addc(b, ',');
		tensor_meta(b, k->inputs[i].name, cfg_type_v2(k->inputs[i].type));
	}
	mbuf_adds(b, "],\"outputs\":[");
	tensor_meta(b, v->m->output, "FP64");
	mbuf_adds(b, "],\"parameters\":{\"version\":");
	mbuf_add_jstr(b, v->version, strlen(v->version));
	mbuf_adds(b, ",\"sha256\":\"");
	mbuf_adds(b, v->sha256);
	mbuf_adds(b, "\"}}");
	ok_json(r);
}

/* Resolve model + version for metadata/ready/infer; on failure fills an
 * error response and returns NULL. */
static struct ms_version *resolve(struct api_ctx *c, struct api_resp *r, const char *model,
				  const char *version, const struct repo_model **mout)
{
	refresh_snapshot(c);
	const struct repo_model *m = repo_find_model(c->snap, model);
	*mout = m;
	if (!m) {
		if (repo_is_loading(c->repo, model))
			api_error(c, r, 503, "model '%s' is loading", model);
		else
			api_error(c, r, 404, "unknown model '%s'", model);
		return NULL;
	}
	struct ms_version *v = repo_find_version(m, version);
	if (!v)
		api_error(c, r, 404, "model '%s' has no version '%s' loaded", model,
			  version ? version : "");
	return v;
}

/* ======================================================================
 * infer
 * ==================================================================== */

static void infer(struct api_ctx *c, const struct mhttp_req *q, struct api_resp *r,
		  const char *model, const char *version)
{
	r->handler = MH_INFER;
	const struct repo_model *m;
	struct ms_version *v = resolve(c, r, model, version, &m);
	if (!v)
		return;
	r->series = v->stats;
	const struct cfg_faults *f = &v->m->faults;
	char msg[512], perr[160];
	if (mjson_parse(&c->doc, q->body, q->body_len, perr, sizeof perr) < 0) {
		if (q->body_len == 0)
			snprintf(msg, sizeof msg, "request body is empty (expected a JSON object with 'inputs')");
		else
			snprintf(msg, sizeof msg, "request body is not valid JSON: %s", perr);
		goto bad;
	}
	if (contract_decode(&v->contract, c->opts->enforce_contract, v->m->output, &c->doc,
			    &c->in, msg, sizeof msg) < 0)
		goto bad;

	size_t rows = c->in.rows, ni = v->contract.n_inputs;
	if (rows > c->outcap) {
		c->outv = xrealloc(c->outv, rows * sizeof *c->outv);
		c->outcap = rows;
	}
	double row_stack[16];
	double *row = ni <= 16 ? row_stack : xmalloc(ni * sizeof *row);
	for (size_t i = 0; i < rows; i++) {
		for (size_t k = 0; k < ni; k++)
			row[k] = c->in.vals[k * rows + i];
		c->outv[i] = cfg_model_eval(v->m, row);
		if (!isfinite(c->outv[i]) && c->opts->enforce_contract) {
			if (row != row_stack)
				free(row);
			if (rows > 1)
				snprintf(msg, sizeof msg,
					 "output '%s': the model gives no finite value for row %zu "
					 "(inputs outside its domain)",
					 v->m->output, i);
			else
				snprintf(msg, sizeof msg,
					 "output '%s': the model gives no finite value for these "
					 "inputs (outside its domain)",
					 v->m->output);
			goto bad;
		}
	}
	if (row != row_stack)
		free(row);

	/* faults: only for requests that passed the contract */
	if (v->error_ppm > 0) {
		unsigned long long n = atomic_fetch_add(&v->passed, 1) + 1;
		unsigned long long ppm = (unsigned long long)v->error_ppm;
		if ((n * ppm) / 1000000ull != ((n - 1) * ppm) / 1000000ull) {
			api_error(c, r, 500, "injected fault: error_rate (request %llu)", n);
			goto delay;
		}
	}

	struct mbuf *b = &c->body;
	mbuf_reserve(b, 160 + rows * 24);
	mbuf_addlit(b, "{\"model_name\":");
	mbuf_add_jstr(b, v->model, strlen(v->model));
	mbuf_addlit(b, ",\"model_version\":");
	mbuf_add_jstr(b, v->version, strlen(v->version));
	if (c->in.id_tok >= 0) {
		/* echo the id as sent (already valid JSON string contents) */
		const struct mjson_tok *t = &c->doc.toks[c->in.id_tok];
		mbuf_addlit(b, ",\"id\":\"");
		mbuf_add(b, c->doc.src + t->start, t->len);
		mbuf_addc(b, '"');
	}
	mbuf_addlit(b, ",\"outputs\":[{\"name\":");
	mbuf_add_jstr(b, v->m->output, strlen(v->m->output));
	mbuf_addlit(b, ",\"datatype\":\"FP64\",\"shape\":[");
	mbuf_addu(b, rows);
	mbuf_addlit(b, "],\"data\":[");
	for (size_t i = 0; i < rows; i++) {
		if (i)
			mbuf_addc(b, ',');
		mbuf_add_double(b, c->outv[i]);
	}
	mbuf_addlit(b, "]}]}");
	ok_json(r);
delay:
	r->delay_ms = (unsigned long long)(f->latency_ms > 0 ? f->latency_ms : 0);
	if (f->stall_every_ms > 0 && f->stall_for_ms > 0) {
		unsigned long long t = (now_ns() - v->loaded_ns) / 1000000ull;
		unsigned long long ph = t % (unsigned long long)f->stall_every_ms;
		if (ph < (unsigned long long)f->stall_for_ms)
			r->delay_ms += (unsigned long long)f->stall_for_ms - ph;
	}
	return;
bad:
	api_error(c, r, f->bad_input_status ? f->bad_input_status : 400, "%s", msg);
}

/* ======================================================================
 * repository
 * ==================================================================== */

static bool authorized(struct api_ctx *c, const struct mhttp_req *q, struct api_resp *r)
{
	const char *tok = c->opts->admin_token;
	if (!tok || !*tok)
		return true;
	bool ok = false;
	if (q->has_auth && !q->auth_truncated && strncasecmp(q->auth, "Bearer ", 7) == 0) {
		const char *given = q->auth + 7;
		while (*given == ' ')
			given++;
		size_t a = strlen(given), b = strlen(tok);
		/* constant time over the expected token's length */
		unsigned diff = (unsigned)(a ^ b);
		for (size_t i = 0; i < b; i++)
			diff |= (unsigned char)tok[i] ^ (unsigned char)(i < a ? given[i] : 0);
		ok = diff == 0;
	}
	if (!ok) {
		api_error(c, r, 401,
			  q->has_auth ? "invalid bearer token for the model repository"
				      : "the model repository needs 'Authorization: Bearer <token>'");
		r->extra = "WWW-Authenticate: Bearer realm=\"mlserve\"\r\n";
	}
	return ok;
}

static void repo_index_h(struct api_ctx *c, const struct mhttp_req *q, struct api_resp *r)
{
	bool ready_only = false;
	if (q->body_len) {
		char perr[160];
		if (mjson_parse(&c->doc, q->body, q->body_len, perr, sizeof perr) < 0) {
			api_error(c, r, 400, "request body is not valid JSON: %s", perr);
			return;
		}
		if (c->doc.toks[0].type != MJSON_OBJECT) {
			api_error(c, r, 400, "request body must be a JSON object");
			return;
		}
		long t = mjson_obj_get(&c->doc, 0, "ready");
		if (t >= 0) {
			if (c->doc.toks[t].type != MJSON_TRUE && c->doc.toks[t].type != MJSON_FALSE) {
				api_error(c, r, 400, "'ready' must be a boolean");
				return;
			}
			ready_only = c->doc.toks[t].type == MJSON_TRUE;
		}
	}
	repo_index(c->repo, ready_only, &c->body);
	ok_json(r);
}

static void repo_load_h(struct api_ctx *c, const struct mhttp_req *q, struct api_resp *r,
			const char *model)
{
	char msg[600];
	int status = 400;
	struct repo_load *job = repo_load_new(c->repo, model, q->body, q->body_len, &status, msg,
					      sizeof msg);
	if (!job) {
		atomic_fetch_add(&c->mx->loads_failed, 1);
		api_error(c, r, status, "load %s: %s", model, msg);
		return;
	}
	r->job = job;
}

void api_load_done(struct api_ctx *c, struct repo_load *job, struct api_resp *r)
{
	resp_init(c, r);
	r->handler = MH_REPOSITORY;
	int st = repo_load_commit(c->repo, job);
	if (st) {
		if (!c->opts->quiet)
			fprintf(stderr, "mlserve: load %s failed: %s\n", job->model, job->msg);
		api_error(c, r, st, "load %s: %s", job->model, job->msg);
	} else {
		refresh_snapshot(c);
		if (!c->opts->quiet)
			fprintf(stderr, "mlserve: loaded %s %s from %s\n", job->model, job->version,
				job->artifact);
		struct mbuf *b = &c->body;
		mbuf_adds(b, "{\"name\":");
		mbuf_add_jstr(b, job->model, strlen(job->model));
		mbuf_adds(b, ",\"version\":");
		mbuf_add_jstr(b, job->version, strlen(job->version));
		mbuf_adds(b, ",\"state\":\"READY\"}");
		ok_json(r);
	}
	repo_load_free(job);
}

static void repo_unload_h(struct api_ctx *c, const struct mhttp_req *q, struct api_resp *r,
			  const char *model)
{
	char version[160] = "";
	bool has_version = false;
	if (q->body_len) {
		char perr[160];
		if (mjson_parse(&c->doc, q->body, q->body_len, perr, sizeof perr) < 0) {
			api_error(c, r, 400, "request body is not valid JSON: %s", perr);
			return;
		}
		if (c->doc.toks[0].type != MJSON_OBJECT) {
			api_error(c, r, 400, "request body must be a JSON object");
			return;
		}
		long p = mjson_obj_get(&c->doc, 0, "parameters");
		if (p >= 0 && c->doc.toks[p].type != MJSON_OBJECT) {
			api_error(c, r, 400, "'parameters' must be an object");
			return;
		}
		long t = p >= 0 ? mjson_obj_get(&c->doc, (size_t)p, "version") : -1;
		if (t >= 0) {
			if (c->doc.toks[t].type != MJSON_STRING ||
			    mjson_str_copy(&c->doc, &c->doc.toks[t], version, sizeof version) >=
				    sizeof version) {
				api_error(c, r, 400, "parameters.version must be a string");
				return;
			}
			has_version = true;
		}
	}
	char msg[400];
	int st = repo_unload(c->repo, model, has_version ? version : NULL, msg, sizeof msg);
	if (st) {
		api_error(c, r, st, "unload %s: %s", model, msg);
		return;
	}
	refresh_snapshot(c);
	if (!c->opts->quiet)
		fprintf(stderr, "mlserve: unloaded %s%s%s\n", model, has_version ? " " : "",
			has_version ? version : "");
	struct mbuf *b = &c->body;
	mbuf_adds(b, "{\"name\":");
	mbuf_add_jstr(b, model, strlen(model));
	if (has_version) {
		mbuf_adds(b, ",\"version\":");
		mbuf_add_jstr(b, version, strlen(version));
	}
	mbuf_adds(b, ",\"state\":\"UNAVAILABLE\"}");
	ok_json(r);
}

/* ======================================================================
 * /metrics and /openapi.json
 * ==================================================================== */

static void metrics_h(struct api_ctx *c, struct api_resp *r)
{
	refresh_snapshot(c);
	size_t n = 0;
	const char **l = repo_loaded_list(c->snap, &n);
	metrics_render(c->mx, &c->body, l, n);
	free(l);
	r->status = 200;
	r->ctype = CT_PROM;
}

static json_t *field_schema(const struct cfg_field *f)
{
	static const char *const js_type[] = { "number", "integer", "string", "boolean" };
	json_t *s = json_object();
	json_object_set_new(s, "type", json_string(js_type[f->type]));
	if (f->has_min)
		json_object_set_new(s, "minimum", json_real(f->min));
	if (f->has_max)
		json_object_set_new(s, "maximum", json_real(f->max));
	if (f->has_xmin)
		json_object_set_new(s, "exclusiveMinimum", json_real(f->xmin));
	if (f->has_xmax)
		json_object_set_new(s, "exclusiveMaximum", json_real(f->xmax));
	return s;
}

static json_t *datatypes_for(enum cfg_type t)
{
	static const char *const all[] = { "FP64", "FP32", "FP16", "INT8", "INT16", "INT32",
					   "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
					   "BYTES", "BOOL", NULL };
	json_t *a = json_array();
	for (size_t i = 0; all[i]; i++)
		if (contract_datatype_ok(t, all[i]))
			json_array_append_new(a, json_string(all[i]));
	return a;
}

static void schema_name(char *buf, size_t sz, const char *model, const char *version,
			const char *suffix)
{
	snprintf(buf, sz, "%s_%s_%s", model, version, suffix);
	for (char *p = buf; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			*p = '_';
}

static json_t *ref(const char *name)
{
	char buf[512];
	snprintf(buf, sizeof buf, "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", buf);
}

static json_t *error_responses(json_t *resp)
{
	static const struct { const char *code, *what; } errs[] = {
		{ "400", "The request breaks the data contract or is malformed." },
		{ "404", "Unknown model or version." },
		{ "405", "Wrong method." },
		{ "413", "Request body too large." },
		{ "503", "Model loading or node not ready." },
	};
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
		json_object_set_new(resp, errs[i].code,
				    json_pack("{s:s,s:{s:{s:o}}}", "description", errs[i].what,
					      "content", "application/json", "schema",
					      ref("Error")));
	return resp;
}

static void version_schemas(json_t *schemas, const struct ms_version *v, char *req_name,
			    size_t req_sz, char *resp_name, size_t resp_sz)
{
	const struct contract *k = &v->contract;
	char name[400];
	/* the contract itself, as a plain JSON Schema over named values */
	json_t *props = json_object(), *req = json_array();
	for (size_t i = 0; i < k->n_inputs; i++) {
		json_object_set_new(props, k->inputs[i].name, field_schema(&k->inputs[i]));
		if (!k->inputs[i].optional)
			json_array_append_new(req, json_string(k->inputs[i].name));
	}
	schema_name(name, sizeof name, v->model, v->version, "contract");
	json_object_set_new(schemas, name,
			    json_pack("{s:s,s:s,s:o,s:o,s:b}", "title", "Data contract (inputs)",
				      "type", "object", "properties", props, "required", req,
				      "additionalProperties", 0));
	/* one V2 tensor schema per input */
	json_t *items = json_array();
	for (size_t i = 0; i < k->n_inputs; i++) {
		const struct cfg_field *f = &k->inputs[i];
		char tname[300];
		snprintf(tname, sizeof tname, "input_%s", f->name);
		schema_name(name, sizeof name, v->model, v->version, tname);
		json_t *t = json_pack(
			"{s:s,s:[s,s,s,s],s:{s:{s:s},s:{s:s,s:{s:s,s:i},s:i,s:i},s:{s:o},s:{s:s,s:o}}}",
			"type", "object", "required", "name", "shape", "datatype", "data",
			"properties", "name", "const", f->name, "shape", "type", "array", "items",
			"type", "integer", "minimum", 0, "minItems", 1, "maxItems", 1, "datatype",
			"enum", datatypes_for(f->type), "data", "type", "array", "items",
			field_schema(f));
		json_object_set_new(schemas, name, t);
		json_array_append_new(items, ref(name));
	}
	schema_name(req_name, req_sz, v->model, v->version, "request");
	json_object_set_new(
		schemas, req_name,
		json_pack("{s:s,s:[s],s:{s:{s:s},s:{s:s},s:{s:s,s:{s:o}},s:{s:s}}}", "type", "object",
			  "required", "inputs", "properties", "id", "type", "string", "parameters",
			  "type", "object", "inputs", "type", "array", "items", "oneOf", items,
			  "outputs", "type", "array"));
	json_t *out_item = json_object();
	for (size_t i = 0; i < k->n_outputs; i++)
		if (strcmp(k->outputs[i].name, v->m->output) == 0) {
			json_decref(out_item);
			out_item = field_schema(&k->outputs[i]);
		}
	if (json_object_size(out_item) == 0)
		json_object_set_new(out_item, "type", json_string("number"));
	schema_name(resp_name, resp_sz, v->model, v->version, "response");
	json_object_set_new(
		schemas, resp_name,
		json_pack("{s:s,s:[s,s,s],s:{s:{s:s},s:{s:s,s:s},s:{s:s},s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:o}}}}}}",
			  "type", "object", "required", "model_name", "model_version", "outputs",
			  "properties", "model_name", "type", "string", "model_version", "type",
			  "string", "const", v->version, "id", "type", "string", "outputs", "type",
			  "array", "items", "type", "object", "properties", "name", "const",
			  v->m->output, "datatype", "const", "FP64", "shape", "type", "array",
			  "data", "type", "array", "items", out_item));
}

static json_t *infer_op(const char *summary, const char *op_id, const char *req_name,
			const char *resp_name)
{
	json_t *resp = json_pack("{s:{s:s,s:{s:{s:o}}}}", "200", "description", "Inference result",
				 "content", "application/json", "schema", ref(resp_name));
	error_responses(resp);
	return json_pack("{s:{s:s,s:s,s:{s:b,s:{s:{s:o}}},s:o}}", "post", "summary", summary,
			 "operationId", op_id, "requestBody", "required", 1, "content",
			 "application/json", "schema", ref(req_name), "responses", resp);
}

void api_openapi(struct api_ctx *c, struct mbuf *out)
{
	refresh_snapshot(c);
	json_t *paths = json_object(), *schemas = json_object();
	json_object_set_new(schemas, "Error",
			    json_pack("{s:s,s:[s],s:{s:{s:s}}}", "type", "object", "required",
				      "error", "properties", "error", "type", "string"));
	for (size_t i = 0; i < c->snap->n_models; i++) {
		const struct repo_model *m = &c->snap->models[i];
		struct ms_version *latest = repo_find_version(m, NULL);
		for (size_t j = 0; j < m->n; j++) {
			struct ms_version *v = m->versions[j];
			char req_name[400], resp_name[400], path[1024], summary[1024], op[1024];
			version_schemas(schemas, v, req_name, sizeof req_name, resp_name,
					sizeof resp_name);
			snprintf(path, sizeof path, "/v2/models/%s/versions/%s/infer", m->name,
				 v->version);
			snprintf(summary, sizeof summary, "Infer with %s version %s", m->name,
				 v->version);
			schema_name(op, sizeof op, m->name, v->version, "infer");
			json_object_set_new(paths, path, infer_op(summary, op, req_name, resp_name));
			if (v == latest) {
				snprintf(path, sizeof path, "/v2/models/%s/infer", m->name);
				snprintf(summary, sizeof summary,
					 "Infer with %s (the most recently loaded version, %s)",
					 m->name, v->version);
				schema_name(op, sizeof op, m->name, "latest", "infer");
				json_object_set_new(paths, path,
						    infer_op(summary, op, req_name, resp_name));
			}
		}
	}
	json_t *doc = json_pack(
		"{s:s,s:{s:s,s:s,s:s},s:o,s:{s:o}}", "openapi", "3.1.0", "info", "title",
		"mlserve", "version", MLCTL_VERSION, "description",
		"Open Inference Protocol (V2) inference endpoints of this mlserve node, with "
		"each loaded version's data contract as JSON Schema.",
		"paths", paths, "components", "schemas", schemas);
	char *s = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(doc);
	if (s) {
		mbuf_adds(out, s);
		free(s);
	}
}

/* ======================================================================
 * routing
 * ==================================================================== */

void api_handle(struct api_ctx *c, const struct mhttp_req *q, struct api_resp *r)
{
	resp_init(c, r);
	char *seg[8];
	int n = split_path(q->path, c->segbuf, sizeof c->segbuf, seg, 8);
	if (n < 0) {
		api_error(c, r, 404, "no such path");
		return;
	}
	if (n == 1 && strcmp(seg[0], "metrics") == 0) {
		r->handler = MH_METRICS;
		if (method_is(q, c, r, true))
			metrics_h(c, r);
		return;
	}
	if (n == 1 && strcmp(seg[0], "openapi.json") == 0) {
		r->handler = MH_OPENAPI;
		if (method_is(q, c, r, true)) {
			api_openapi(c, &c->body);
			ok_json(r);
		}
		return;
	}
	if (n == 0 || strcmp(seg[0], "v2") != 0) {
		api_error(c, r, 404, "no such path (the API lives under /v2)");
		return;
	}
	if (n == 1) {
		r->handler = MH_METADATA;
		if (method_is(q, c, r, true))
			server_metadata(c, r);
		return;
	}
	if (strcmp(seg[1], "health") == 0 && n == 3) {
		r->handler = MH_HEALTH;
		if (!method_is(q, c, r, true))
			return;
		if (strcmp(seg[2], "live") == 0) {
			mbuf_adds(&c->body, "{\"live\":true}");
			ok_json(r);
		} else if (strcmp(seg[2], "ready") == 0) {
			if (atomic_load(&c->opts->ready)) {
				mbuf_adds(&c->body, "{\"ready\":true}");
				ok_json(r);
			} else {
				api_error(c, r, 503, atomic_load(&c->opts->draining)
							     ? "not ready: shutting down"
							     : "not ready");
			}
		} else {
			api_error(c, r, 404, "no such path");
		}
		return;
	}
	if (strcmp(seg[1], "models") == 0 && n >= 3) {
		const char *model = seg[2], *version = NULL;
		int k = 3;
		if (n >= 5 && strcmp(seg[3], "versions") == 0) {
			version = seg[4];
			k = 5;
		}
		const char *action = k < n ? seg[k] : NULL;
		if (k + (action ? 1 : 0) != n || (k == 3 && n == 4 && strcmp(seg[3], "versions") == 0)) {
			api_error(c, r, 404, "no such path");
			return;
		}
		if (action && strcmp(action, "infer") == 0) {
			r->handler = MH_INFER;
			if (method_is(q, c, r, false))
				infer(c, q, r, model, version);
			return;
		}
		r->handler = MH_METADATA;
		if (action && strcmp(action, "ready") != 0) {
			api_error(c, r, 404, "no such path");
			return;
		}
		if (!method_is(q, c, r, true))
			return;
		const struct repo_model *m;
		struct ms_version *v = resolve(c, r, model, version, &m);
		if (!v)
			return;
		if (action) {
			r->handler = MH_HEALTH;
			mbuf_adds(&c->body, "{\"name\":");
			mbuf_add_jstr(&c->body, m->name, strlen(m->name));
			mbuf_adds(&c->body, ",\"version\":");
			mbuf_add_jstr(&c->body, v->version, strlen(v->version));
			mbuf_adds(&c->body, ",\"ready\":true}");
			ok_json(r);
		} else {
			model_metadata(c, r, m, v, version != NULL);
		}
		return;
	}
	if (strcmp(seg[1], "repository") == 0) {
		r->handler = MH_REPOSITORY;
		bool index = n == 3 && strcmp(seg[2], "index") == 0;
		bool load = n == 5 && strcmp(seg[2], "models") == 0 && strcmp(seg[4], "load") == 0;
		bool unload = n == 5 && strcmp(seg[2], "models") == 0 && strcmp(seg[4], "unload") == 0;
		if (!index && !load && !unload) {
			api_error(c, r, 404, "no such path");
			return;
		}
		if (!method_is(q, c, r, false) || !authorized(c, q, r))
			return;
		if (index)
			repo_index_h(c, q, r);
		else if (load)
			repo_load_h(c, q, r, seg[3]);
		else
			repo_unload_h(c, q, r, seg[3]);
		return;
	}
	api_error(c, r, 404, "no such path");
}
