/* http.h — the HTTP/1.1 request side of one mlserve connection, without any
 * I/O: bytes go in (mhttp_feed), complete requests or protocol errors come
 * out, one at a time, so pipelined requests are answered in order. Wraps
 * http-parser (the only file that includes it) and enforces the limits:
 * request head size (431), body size decided from the headers (413, also
 * with Expect: 100-continue), unsupported features (501). Also formats
 * response heads. Buffers are kept across requests of a connection. */
#ifndef MLSERVE_HTTP_H
#define MLSERVE_HTTP_H

#include "json.h"

#include <stdbool.h>
#include <stddef.h>

enum mhttp_method { MHTTP_OTHER, MHTTP_GET, MHTTP_HEAD, MHTTP_POST, MHTTP_PUT, MHTTP_DELETE };

struct mhttp_limits {
	size_t max_header; /* request line + headers, bytes */
	size_t max_body;   /* bytes */
};

/* One complete request; valid until the next mhttp_feed/mhttp_next. */
struct mhttp_req {
	enum mhttp_method method;
	const char *method_name;
	char *path;  /* raw path, NUL-terminated (no query) */
	size_t path_len;
	char *query; /* NUL-terminated, "" when none */
	char *body;  /* NUL-terminated */
	size_t body_len;
	bool keep_alive;
	int http_minor;
	bool has_auth;
	char auth[512]; /* Authorization header value, truncated */
	bool auth_truncated;
};

enum mhttp_event {
	MHTTP_NEED_MORE, /* all bytes consumed, no complete request yet */
	MHTTP_REQUEST,   /* a request is complete: handle it, then mhttp_next */
	MHTTP_ERROR,     /* protocol error: send err_status/err_msg, then close */
};

struct mhttp_conn {
	void *parser; /* http_parser, owned */
	struct mhttp_limits lim;
	struct mhttp_req req;
	struct mbuf url, body;
	size_t head_bytes;
	char field[32];
	size_t field_len;
	int cur_header; /* which header the value bytes belong to */
	bool in_value;
	bool started;   /* first byte of a request seen */
	bool complete;  /* a request is waiting for mhttp_next */
	bool want_continue; /* send "100 Continue" before reading the body */
	bool expect_bad;    /* an Expect value other than 100-continue */
	char expect[32];
	size_t expect_len;
	int err_status;
	char err_msg[160];
};

void mhttp_conn_init(struct mhttp_conn *c, const struct mhttp_limits *lim);
void mhttp_conn_release(struct mhttp_conn *c);
/* Parse up to len bytes; *used tells how many were consumed. Returns an
 * event. After MHTTP_REQUEST, c->req is valid; call mhttp_next() and feed
 * the remaining bytes. After MHTTP_ERROR the connection is unusable. */
enum mhttp_event mhttp_feed(struct mhttp_conn *c, const char *data, size_t len, size_t *used);
/* Forget the finished request and get ready for the next one. */
void mhttp_next(struct mhttp_conn *c);
/* Whether a request has begun and is neither complete nor failed (for
 * read timeouts and draining). */
bool mhttp_in_request(const struct mhttp_conn *c);
/* Take the pending "send 100 Continue" flag (true once per request). */
bool mhttp_take_continue(struct mhttp_conn *c);

/* Reason phrase of a status code ("OK", "Not Found"...). */
const char *mhttp_reason(int status);
/* Append a response head: status line, Server, Date (when date is not
 * NULL), Content-Type, Content-Length, Connection: close (when close),
 * `extra` header lines (each ending in CRLF, may be NULL) and the blank
 * line. */
void mhttp_head(struct mbuf *out, int status, const char *ctype, size_t body_len,
		bool close, const char *date, const char *extra);

#endif
