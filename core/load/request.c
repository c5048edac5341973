/* request.c — the load generator's plain parts: URL parsing, the request
 * bytes, option checks, latency summaries and thresholds. The engine that
 * sends the bytes is engine.c; JSON and HTML output live in json.c and
 * report.c. */
#include "load/load.h"

#include "exitcode.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const error_names[] = {
#define LOAD_ERR_NAME(n, s) s,
	LOAD_ERROR_CLASSES(LOAD_ERR_NAME)
#undef LOAD_ERR_NAME
};

const char *load_error_name(enum load_error e)
{
	return (unsigned)e < LOAD_ERR_COUNT ? error_names[e] : "?";
}

/* ---- URLs --------------------------------------------------------------- */

void load_url_release(struct load_url *u)
{
	if (!u)
		return;
	free(u->host);
	free(u->path);
	free(u->hostport);
	memset(u, 0, sizeof(*u));
}

int load_url_parse(const char *url, struct load_url *out, struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	const char *p;
	if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		return ml_err_set(err, ML_EXIT_USAGE,
				  "%s: https is not supported by the load "
				  "generator (use http://)", url);
	} else {
		return ml_err_set(err, ML_EXIT_USAGE,
				  "%s: expected an http://host:port/path URL",
				  url);
	}
	const char *hs = p, *he;
	const char *after;
	if (*p == '[') { /* IPv6 literal */
		he = strchr(p, ']');
		if (!he)
			return ml_err_set(err, ML_EXIT_USAGE,
					  "%s: unterminated '[' in host", url);
		hs = p + 1;
		after = he + 1;
	} else {
		he = p + strcspn(p, ":/?#");
		after = he;
	}
	if (he == hs)
		return ml_err_set(err, ML_EXIT_USAGE, "%s: no host", url);
	int port = 80;
	if (*after == ':') {
		char *end;
		long v = strtol(after + 1, &end, 10);
		if (end == after + 1 || v < 1 || v > 65535 ||
		    (*end && !strchr("/?#", *end)))
			return ml_err_set(err, ML_EXIT_USAGE,
					  "%s: bad port (expected 1..65535)",
					  url);
		port = (int)v;
		after = end;
	} else if (*after && !strchr("/?#", *after)) {
		return ml_err_set(err, ML_EXIT_USAGE, "%s: bad host", url);
	}
	size_t plen = strcspn(after, "#");
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)after[i] <= ' ')
			return ml_err_set(err, ML_EXIT_USAGE,
					  "%s: spaces or control characters "
					  "in the path", url);
	out->host = xstrndup(hs, (size_t)(he - hs));
	out->port = port;
	if (plen == 0)
		out->path = xstrdup("/");
	else if (after[0] == '?')
		out->path = xasprintf("/%.*s", (int)plen, after);
	else
		out->path = xstrndup(after, plen);
	bool v6 = strchr(out->host, ':') != NULL;
	out->hostport = xasprintf(v6 ? "[%s]:%d" : "%s:%d", out->host, port);
	return 0;
}

/* ---- the request bytes --------------------------------------------------- */

static bool has_header(const char *const *headers, size_t n, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(headers[i], name, len) == 0 &&
		    headers[i][len] == ':')
			return true;
	return false;
}

char *load_request_build(const struct load_url *u, const char *method,
			 const char *const *headers, size_t n_headers,
			 const char *body, size_t body_len, size_t *len)
{
	if (!method)
		method = body ? "POST" : "GET";
	/* 128 covers the fixed text, a 20-digit length and the NUL */
	size_t cap = 128 + strlen(method) + strlen(u->path) +
		     strlen(u->hostport) + strlen(MLCTL_VERSION) + body_len;
	for (size_t i = 0; i < n_headers; i++)
		cap += strlen(headers[i]) + 2;
	char *buf = xmalloc(cap);
	size_t n = 0;
#define PUT(...) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__)
	PUT("%s %s HTTP/1.1\r\n", method, u->path);
	if (!has_header(headers, n_headers, "Host"))
		PUT("Host: %s\r\n", u->hostport);
	if (!has_header(headers, n_headers, "User-Agent"))
		PUT("User-Agent: mlctl-load/%s\r\n", MLCTL_VERSION);
	for (size_t i = 0; i < n_headers; i++)
		PUT("%s\r\n", headers[i]);
	if (body && !has_header(headers, n_headers, "Content-Length"))
		PUT("Content-Length: %zu\r\n", body_len);
	PUT("\r\n");
#undef PUT
	if (body && body_len) {
		memcpy(buf + n, body, body_len);
		n += body_len;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- options ------------------------------------------------------------- */

static bool valid_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c))
			return false;
	}
	return true;
}

int load_opts_check(const struct load_opts *o, struct ml_err *err)
{
	if (!o->urls || o->n_urls == 0)
		return ml_err_set(err, ML_EXIT_USAGE, "no target URL");
	for (size_t i = 0; i < o->n_urls; i++) {
		struct load_url u;
		if (load_url_parse(o->urls[i], &u, err) < 0)
			return -1;
		load_url_release(&u);
	}
	if (o->method && !valid_token(o->method, strlen(o->method)))
		return ml_err_set(err, ML_EXIT_USAGE, "bad method '%s'",
				  o->method);
	for (size_t i = 0; i < o->n_headers; i++) {
		const char *h = o->headers[i];
		const char *colon = strchr(h, ':');
		if (!colon || !valid_token(h, (size_t)(colon - h)) ||
		    strpbrk(h, "\r\n"))
			return ml_err_set(err, ML_EXIT_USAGE,
					  "bad header '%s' (expected "
					  "'Name: value')", h);
	}
	if (!(o->rate >= 0) || o->rate > 10e6)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "bad rate %g (expected 0 < rate <= 10M, "
				  "or 0 for the closed model)", o->rate);
	if (o->duration_ms <= 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "the duration must be positive");
	if (o->connections < 1 || o->connections > 100000)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "bad connection count %d (expected "
				  "1..100000)", o->connections);
	if (o->threads < 1 || o->threads > 256)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "bad thread count %d (expected 1..256)",
				  o->threads);
	if (o->threads > o->connections)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "more threads (%d) than connections (%d)",
				  o->threads, o->connections);
	if (o->timeout_ms <= 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "the timeout must be positive");
	if (o->late_ms < 0 || o->progress_ms < 0)
		return ml_err_set(err, ML_EXIT_USAGE,
				  "late_ms and progress_ms must be >= 0");
	return 0;
}

/* ---- summaries ----------------------------------------------------------- */

void load_result_latency(const struct load_result *res,
			 struct load_latency *out)
{
	static const double ps[] = { 50, 90, 99, 99.9 };
	int64_t v[4];
	hist_percentiles(&res->latency, ps, 4, v);
	out->min = (double)res->latency.min / 1000.0;
	out->mean = hist_mean(&res->latency) / 1000.0;
	out->p50 = (double)v[0] / 1000.0;
	out->p90 = (double)v[1] / 1000.0;
	out->p99 = (double)v[2] / 1000.0;
	out->p999 = (double)v[3] / 1000.0;
	out->max = (double)res->latency.max / 1000.0;
}

void load_check(const struct load_thresholds *t, const struct load_result *r,
		struct load_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->passed = true;
	if (t->max_p99_ms >= 0) {
		struct load_verdict_item *it = &out->items[out->n++];
		it->name = "max_p99";
		it->unit = "ms";
		it->limit = t->max_p99_ms;
		it->value = (double)hist_percentile(&r->latency, 99) / 1000.0;
		it->ok = r->latency.total > 0 && it->value <= it->limit;
	}
	if (t->max_error_rate >= 0) {
		struct load_verdict_item *it = &out->items[out->n++];
		it->name = "max_error_rate";
		it->unit = "";
		it->limit = t->max_error_rate;
		it->value = r->error_rate;
		it->ok = it->value <= it->limit;
	}
	if (t->min_rate > 0) {
		struct load_verdict_item *it = &out->items[out->n++];
		it->name = "min_rate";
		it->unit = "req/s";
		it->limit = t->min_rate;
		it->value = r->achieved_rate;
		it->ok = r->requests > 0 && it->value >= it->limit;
	}
	for (size_t i = 0; i < out->n; i++)
		if (!out->items[i].ok)
			out->passed = false;
}
