/* http.c — request parsing for one connection on top of http-parser, with
 * mlserve's limits, and response heads. No sockets here: the server feeds
 * bytes and writes what it is told. The parser is paused at the end of each
 * request so pipelined requests come out one at a time. */
#include "http.h"

#include "util.h"

#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { H_NONE, H_AUTH, H_EXPECT };

static struct mhttp_conn *conn_of(http_parser *p)
{
	return p->data;
}

static int fail(struct mhttp_conn *c, int status, const char *msg)
{
	c->err_status = status;
	snprintf(c->err_msg, sizeof c->err_msg, "%s", msg);
	return -1;
}

static int count_head(struct mhttp_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->lim.max_header) {
		char m[160];
		snprintf(m, sizeof m, "request header fields too large (limit %zu bytes)",
			 c->lim.max_header);
		return fail(c, 431, m);
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct mhttp_conn *c = conn_of(p);
	c->started = true;
	c->head_bytes = 0;
	c->url.len = 0;
	c->body.len = 0;
	c->field_len = 0;
	c->in_value = false;
	c->cur_header = H_NONE;
	c->req.has_auth = false;
	c->req.auth_truncated = false;
	c->req.auth[0] = 0;
	c->expect_len = 0;
	c->expect_bad = false;
	c->want_continue = false;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct mhttp_conn *c = conn_of(p);
	c->head_bytes += len;
	if (c->head_bytes > c->lim.max_header) {
		/* the request line alone is over the limit: its target */
		char m[160];
		snprintf(m, sizeof m, "request target too long (limit %zu bytes)",
			 c->lim.max_header);
		return fail(c, 414, m);
	}
	mbuf_add(&c->url, at, len);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct mhttp_conn *c = conn_of(p);
	if (count_head(c, len + 4) < 0)
		return -1;
	if (c->in_value) {
		c->in_value = false;
		c->field_len = 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (c->field_len < sizeof c->field - 1)
			c->field[c->field_len] = at[i];
		c->field_len++;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct mhttp_conn *c = conn_of(p);
	if (count_head(c, len) < 0)
		return -1;
	if (!c->in_value) {
		c->in_value = true;
		c->cur_header = H_NONE;
		if (c->field_len < sizeof c->field) {
			c->field[c->field_len] = 0;
			if (c->field_len == 13 && strcasecmp(c->field, "authorization") == 0) {
				c->cur_header = H_AUTH;
				/* a second Authorization header replaces the first */
				c->req.has_auth = true;
				c->req.auth[0] = 0;
				c->req.auth_truncated = false;
			} else if (c->field_len == 6 && strcasecmp(c->field, "expect") == 0) {
				c->cur_header = H_EXPECT;
				c->expect_len = 0;
			}
		}
	}
	if (c->cur_header == H_AUTH) {
		size_t have = strlen(c->req.auth);
		size_t room = sizeof c->req.auth - 1 - have;
		if (len > room) {
			c->req.auth_truncated = true;
			len = room;
		}
		memcpy(c->req.auth + have, at, len);
		c->req.auth[have + len] = 0;
	} else if (c->cur_header == H_EXPECT) {
		for (size_t i = 0; i < len; i++) {
			if (c->expect_len < sizeof c->expect - 1)
				c->expect[c->expect_len] = at[i];
			c->expect_len++;
		}
	}
	return 0;
}

static enum mhttp_method method_of(unsigned m)
{
	switch (m) {
	case HTTP_GET: return MHTTP_GET;
	case HTTP_HEAD: return MHTTP_HEAD;
	case HTTP_POST: return MHTTP_POST;
	case HTTP_PUT: return MHTTP_PUT;
	case HTTP_DELETE: return MHTTP_DELETE;
	default: return MHTTP_OTHER;
	}
}

static int on_headers_complete(http_parser *p)
{
	struct mhttp_conn *c = conn_of(p);
	if (p->method == HTTP_CONNECT)
		return fail(c, 405, "CONNECT is not supported");
	/* An Upgrade offer (h2c, websocket) is declined by answering in
	 * HTTP/1.1; clear the flag so the parser keeps going. */
	p->upgrade = 0;
	if (p->http_major != 1)
		return fail(c, 400, "unsupported HTTP version (only HTTP/1.x is)");
	bool chunked = (p->flags & F_CHUNKED) != 0;
	unsigned long long cl = p->content_length;
	bool has_cl = cl != ULLONG_MAX;
	if (has_cl && cl > c->lim.max_body) {
		char m[160];
		snprintf(m, sizeof m,
			 "request body too large: %llu bytes (limit %zu bytes)", cl,
			 c->lim.max_body);
		return fail(c, 413, m);
	}
	if (c->expect_len) {
		size_t n = c->expect_len < sizeof c->expect ? c->expect_len : sizeof c->expect - 1;
		c->expect[n] = 0;
		if (c->expect_len == 12 && strcasecmp(c->expect, "100-continue") == 0) {
			if (chunked || (has_cl && cl > 0))
				c->want_continue = true;
		} else {
			return fail(c, 417, "unsupported Expect value (only 100-continue is)");
		}
	}
	if (has_cl && cl > 0)
		mbuf_reserve(&c->body, (size_t)cl);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct mhttp_conn *c = conn_of(p);
	if (c->body.len + len > c->lim.max_body) {
		char m[160];
		snprintf(m, sizeof m, "request body too large (limit %zu bytes)",
			 c->lim.max_body);
		return fail(c, 413, m);
	}
	mbuf_add(&c->body, at, len);
	return 0;
}

static void split_url(struct mhttp_conn *c)
{
	if (!c->url.data)
		mbuf_reserve(&c->url, 1);
	c->url.data[c->url.len] = 0;
	char *u = c->url.data;
	/* absolute-form: skip scheme and authority */
	if (u[0] != '/' && (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0)) {
		char *slash = strchr(u + (u[4] == ':' ? 7 : 8), '/');
		u = slash ? slash : (char *)"/";
	}
	char *q = strchr(u, '?');
	if (q) {
		*q = 0;
		c->req.query = q + 1;
	} else {
		c->req.query = (char *)"";
	}
	char *h = strchr(u, '#');
	if (h)
		*h = 0;
	c->req.path = u;
	c->req.path_len = strlen(u);
}

static int on_message_complete(http_parser *p)
{
	struct mhttp_conn *c = conn_of(p);
	c->complete = true;
	split_url(c);
	c->req.method = method_of(p->method);
	c->req.method_name = http_method_str((enum http_method)p->method);
	if (!c->body.data)
		mbuf_reserve(&c->body, 1);
	c->body.data[c->body.len] = 0;
	c->req.body = c->body.data;
	c->req.body_len = c->body.len;
	c->req.keep_alive = http_should_keep_alive(p) != 0;
	c->req.http_minor = p->http_minor;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void mhttp_conn_init(struct mhttp_conn *c, const struct mhttp_limits *lim)
{
	memset(c, 0, sizeof *c);
	c->lim = *lim;
	http_parser *p = xmalloc(sizeof *p);
	http_parser_init(p, HTTP_REQUEST);
	p->data = c;
	c->parser = p;
}

void mhttp_conn_release(struct mhttp_conn *c)
{
	free(c->parser);
	c->parser = NULL;
	mbuf_release(&c->url);
	mbuf_release(&c->body);
}

enum mhttp_event mhttp_feed(struct mhttp_conn *c, const char *data, size_t len, size_t *used)
{
	http_parser *p = c->parser;
	*used = 0;
	if (c->complete || c->err_status)
		return c->complete ? MHTTP_REQUEST : MHTTP_ERROR;
	if (len == 0)
		return MHTTP_NEED_MORE;
	size_t n = http_parser_execute(p, &settings, data, len);
	*used = n;
	enum http_errno e = HTTP_PARSER_ERRNO(p);
	if (e == HPE_PAUSED && c->complete)
		return MHTTP_REQUEST;
	if (e == HPE_OK) {
		if (n < len && !c->err_status)
			return fail(c, 400, "malformed request"), MHTTP_ERROR;
		return MHTTP_NEED_MORE;
	}
	if (!c->err_status) {
		if (e == HPE_HEADER_OVERFLOW) {
			char m[160];
			snprintf(m, sizeof m,
				 "request header fields too large (limit %zu bytes)",
				 c->lim.max_header);
			fail(c, 431, m);
		} else if (e == HPE_INVALID_METHOD) {
			/* not a request line this server can read ("GARBAGE",
			 * an unknown method): a client error, not a 405 */
			fail(c, 400, "malformed request line: unknown method");
		} else {
			char m[160];
			snprintf(m, sizeof m, "malformed request: %s",
				 http_errno_description(e));
			fail(c, 400, m);
		}
	}
	return MHTTP_ERROR;
}

void mhttp_next(struct mhttp_conn *c)
{
	http_parser *p = c->parser;
	c->complete = false;
	c->started = false;
	c->want_continue = false;
	http_parser_pause(p, 0);
	/* Keep buffers, but not huge ones. */
	if (c->body.cap > 65536)
		mbuf_reset(&c->body, 0);
	c->body.len = 0;
	c->url.len = 0;
}

bool mhttp_in_request(const struct mhttp_conn *c)
{
	return c->started && !c->complete && !c->err_status;
}

bool mhttp_take_continue(struct mhttp_conn *c)
{
	bool v = c->want_continue;
	c->want_continue = false;
	return v;
}

const char *mhttp_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Error";
	}
}

void mhttp_head(struct mbuf *out, int status, const char *ctype, size_t body_len,
		bool close, const char *date, const char *extra)
{
	mbuf_reserve(out, 256);
	if (status == 200) {
		mbuf_addlit(out, "HTTP/1.1 200 OK\r\nServer: mlserve\r\n");
	} else {
		mbuf_addlit(out, "HTTP/1.1 ");
		mbuf_addu(out, (unsigned)status);
		mbuf_addc(out, ' ');
		mbuf_adds(out, mhttp_reason(status));
		mbuf_addlit(out, "\r\nServer: mlserve\r\n");
	}
	if (date) {
		mbuf_addlit(out, "Date: ");
		mbuf_adds(out, date);
		mbuf_addlit(out, "\r\n");
	}
	if (ctype) {
		mbuf_addlit(out, "Content-Type: ");
		mbuf_adds(out, ctype);
		mbuf_addlit(out, "\r\n");
	}
	mbuf_addlit(out, "Content-Length: ");
	mbuf_addu(out, body_len);
	mbuf_addlit(out, "\r\n");
	if (close)
		mbuf_addlit(out, "Connection: close\r\n");
	if (extra)
		mbuf_adds(out, extra);
	mbuf_addlit(out, "\r\n");
}
