/* test_mlserve_http.c — request parsing edge cases of mlserve's HTTP layer:
 * pipelining, split reads, chunked bodies, limits (431, 413 decided from
 * the headers and with Expect: 100-continue), keep-alive rules, malformed
 * input. */
#include "examples/mlserve/http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct mhttp_conn c;
static const struct mhttp_limits lim = { 1024, 4096 };

static void init(void)
{
	mhttp_conn_init(&c, &lim);
}

static void fini(void)
{
	mhttp_conn_release(&c);
}

TestSuite(mlserve_http, .init = init, .fini = fini, .timeout = 10);

/* Feed s completely; returns the number of requests seen, stops at an error. */
static int feed_all(const char *s, size_t len, char paths[][64], int *err)
{
	int n = 0;
	*err = 0;
	while (len > 0) {
		size_t used;
		enum mhttp_event ev = mhttp_feed(&c, s, len, &used);
		s += used;
		len -= used;
		if (ev == MHTTP_ERROR) {
			*err = c.err_status;
			break;
		}
		if (ev == MHTTP_REQUEST) {
			if (paths)
				snprintf(paths[n], 64, "%s %s %.*s", c.req.method_name, c.req.path,
					 (int)c.req.body_len, c.req.body);
			n++;
			mhttp_next(&c);
		} else if (used == 0) {
			break;
		}
	}
	return n;
}

Test(mlserve_http, parses_one_request_with_query_and_body)
{
	const char *r = "POST /v2/models/eta/infer?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
	size_t used;
	cr_assert_eq(mhttp_feed(&c, r, strlen(r), &used), MHTTP_REQUEST);
	cr_assert_eq(used, strlen(r));
	cr_assert_eq(c.req.method, MHTTP_POST);
	cr_assert_str_eq(c.req.path, "/v2/models/eta/infer");
	cr_assert_str_eq(c.req.query, "x=1");
	cr_assert_str_eq(c.req.body, "hello");
	cr_assert(c.req.keep_alive);
}

Test(mlserve_http, pipelined_requests_come_out_one_at_a_time_in_order)
{
	const char *r = "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /c HTTP/1.1\r\n\r\n";
	char p[8][64];
	int err;
	cr_assert_eq(feed_all(r, strlen(r), p, &err), 3);
	cr_assert_eq(err, 0);
	cr_assert_str_eq(p[0], "GET /a ");
	cr_assert_str_eq(p[1], "POST /b xy");
	cr_assert_str_eq(p[2], "GET /c ");
}

Test(mlserve_http, requests_split_across_reads_byte_by_byte)
{
	const char *r = "POST /split HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nContent-Length: 11\r\n\r\nhello world";
	int got = 0;
	for (size_t i = 0; r[i]; i++) {
		size_t used;
		enum mhttp_event ev = mhttp_feed(&c, r + i, 1, &used);
		cr_assert_eq(used, 1);
		if (ev == MHTTP_REQUEST) {
			got++;
			cr_assert_str_eq(c.req.path, "/split");
			cr_assert_str_eq(c.req.body, "hello world");
			cr_assert(c.req.has_auth);
			cr_assert_str_eq(c.req.auth, "Bearer s3cret");
		}
	}
	cr_assert_eq(got, 1);
}

Test(mlserve_http, chunked_body_is_reassembled)
{
	const char *r = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	char p[2][64];
	int err;
	cr_assert_eq(feed_all(r, strlen(r), p, &err), 1);
	cr_assert_str_eq(p[0], "POST /c abcde");
}

Test(mlserve_http, an_oversized_request_target_is_414)
{
	char r[4096];
	snprintf(r, sizeof r, "GET /%0*d HTTP/1.1\r\n\r\n", 3000, 7);
	int err;
	cr_assert_eq(feed_all(r, strlen(r), NULL, &err), 0);
	cr_assert_eq(err, 414);
	cr_assert_str_eq(mhttp_reason(414), "URI Too Long");
}

Test(mlserve_http, oversized_head_is_431)
{
	char r[4096];
	snprintf(r, sizeof r, "GET / HTTP/1.1\r\nX-Big: %0*d\r\n\r\n", 2000, 7);
	int err;
	cr_assert_eq(feed_all(r, strlen(r), NULL, &err), 0);
	cr_assert_eq(err, 431);
	cr_assert(strstr(c.err_msg, "1024"), "%s", c.err_msg);
}

Test(mlserve_http, body_over_limit_is_413_from_the_headers_alone)
{
	const char *r = "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
	int err;
	cr_assert_eq(feed_all(r, strlen(r), NULL, &err), 0);
	cr_assert_eq(err, 413);
	cr_assert(strstr(c.err_msg, "5000"), "%s", c.err_msg);
}

Test(mlserve_http, expect_100_continue_over_limit_is_413_without_continue)
{
	const char *r = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 9000\r\n\r\n";
	int err;
	feed_all(r, strlen(r), NULL, &err);
	cr_assert_eq(err, 413);
	cr_assert_not(mhttp_take_continue(&c));
}

Test(mlserve_http, expect_100_continue_within_limit_asks_for_continue_once)
{
	const char *r = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
	int err;
	cr_assert_eq(feed_all(r, strlen(r), NULL, &err), 0);
	cr_assert_eq(err, 0);
	cr_assert(mhttp_take_continue(&c));
	cr_assert_not(mhttp_take_continue(&c));
	cr_assert(mhttp_in_request(&c));
	cr_assert_eq(feed_all("abc", 3, NULL, &err), 1);
}

Test(mlserve_http, unknown_expectation_is_417)
{
	const char *r = "POST / HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabc";
	int err;
	feed_all(r, strlen(r), NULL, &err);
	cr_assert_eq(err, 417);
}

Test(mlserve_http, chunked_body_over_limit_is_413)
{
	char r[8192];
	int o = snprintf(r, sizeof r, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 5; i++) {
		o += snprintf(r + o, sizeof r - (size_t)o, "400\r\n");
		memset(r + o, 'x', 1024);
		o += 1024;
		o += snprintf(r + o, sizeof r - (size_t)o, "\r\n");
	}
	int err;
	feed_all(r, (size_t)o, NULL, &err);
	cr_assert_eq(err, 413);
}

Test(mlserve_http, keep_alive_follows_version_and_connection_header)
{
	int err;
	feed_all("GET / HTTP/1.0\r\n\r\n", 18, NULL, &err);
	/* the last request is still in c.req after mhttp_next */
	cr_assert_not(c.req.keep_alive);
	const char *r = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	feed_all(r, strlen(r), NULL, &err);
	cr_assert(c.req.keep_alive);
	r = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
	feed_all(r, strlen(r), NULL, &err);
	cr_assert_not(c.req.keep_alive);
}

Test(mlserve_http, malformed_request_line_is_400)
{
	int err;
	feed_all("GARBAGE\r\n\r\n", 11, NULL, &err);
	cr_assert_eq(err, 400);
	feed_all("FROB /v2 HTTP/1.1\r\n\r\n", 21, NULL, &err);
	cr_assert_eq(err, 400);
}

Test(mlserve_http, conflicting_content_length_and_chunked_is_rejected)
{
	const char *r = "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	int err;
	cr_assert_eq(feed_all(r, strlen(r), NULL, &err), 0);
	cr_assert_eq(err, 400);
}

Test(mlserve_http, absolute_form_target_keeps_only_the_path)
{
	const char *r = "GET http://example.com:80/v2/health/live HTTP/1.1\r\n\r\n";
	char p[2][64];
	int err;
	cr_assert_eq(feed_all(r, strlen(r), p, &err), 1);
	cr_assert_str_eq(p[0], "GET /v2/health/live ");
}

Test(mlserve_http, connect_is_refused)
{
	const char *r = "CONNECT a:443 HTTP/1.1\r\n\r\n";
	int err;
	feed_all(r, strlen(r), NULL, &err);
	cr_assert_eq(err, 405);
}

Test(mlserve_http, upgrade_offer_is_ignored_and_answered_in_http11)
{
	const char *r = "GET /a HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
	char p[4][64];
	int err;
	cr_assert_eq(feed_all(r, strlen(r), p, &err), 2);
	cr_assert_str_eq(p[1], "GET /b ");
}

Test(mlserve_http, response_head_has_length_and_close)
{
	struct mbuf b = MBUF_INIT;
	mhttp_head(&b, 404, "application/json", 12, true, "Thu, 01 Jan 1970 00:00:00 GMT", "Allow: GET\r\n");
	cr_assert(strncmp(b.data, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "%s", b.data);
	cr_assert(strstr(b.data, "Content-Length: 12\r\n"));
	cr_assert(strstr(b.data, "Connection: close\r\n"));
	cr_assert(strstr(b.data, "Allow: GET\r\n"));
	cr_assert(strstr(b.data, "Date: Thu, 01 Jan 1970"));
	cr_assert(strcmp(b.data + b.len - 4, "\r\n\r\n") == 0);
	mbuf_release(&b);
	cr_assert_str_eq(mhttp_reason(431), "Request Header Fields Too Large");
}
