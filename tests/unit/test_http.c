/* test_http.c — core/http against a tiny HTTP/1.1 server on 127.0.0.1 that
 * runs in threads of the test process (one per connection, keep-alive) and
 * records what it received: concurrency, timeouts, retries, error texts,
 * the bearer header, keep-alive reuse within a client, and the async API
 * (on a private loop and on a loop the test owns). */
#define _GNU_SOURCE
#include "http.h"
#include "util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ---- the test server ---------------------------------------------------- */

static struct {
	int lfd, port;
	atomic_int requests, connections, flaky;
	pthread_mutex_t mu;
	char last_auth[256]; /* "-" when the last request had none */
	char last_method[16];
	char last_body[256];
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *extra, const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n%s\r\n",
			 status, strlen(body), extra ? extra : "");
	send_all(fd, head, (size_t)n);
	send_all(fd, body, strlen(body));
}

static const char *header(const char *head, const char *name, char *out,
			  size_t outsz)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p && p[2];
	     p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			h += nl + 1;
			while (*h == ' ')
				h++;
			size_t len = strcspn(h, "\r\n");
			snprintf(out, outsz, "%.*s", (int)len, h);
			return out;
		}
	}
	return NULL;
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	size_t len = 0;
	for (;;) {
		char *end;
		while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
			ssize_t r = recv(fd, buf + len, sizeof buf - len - 1, 0);
			if (r <= 0)
				goto out;
			len += (size_t)r;
		}
		*end = '\0';
		size_t head_len = (size_t)(end - buf) + 4;
		char val[256], method[16] = "", path[256] = "";
		sscanf(buf, "%15s %255s", method, path);
		size_t clen = 0;
		if (header(buf, "Content-Length", val, sizeof val))
			clen = (size_t)strtoul(val, NULL, 10);
		while (len < head_len + clen) {
			ssize_t r = recv(fd, buf + len, sizeof buf - len - 1, 0);
			if (r <= 0)
				goto out;
			len += (size_t)r;
		}
		atomic_fetch_add(&srv.requests, 1);
		pthread_mutex_lock(&srv.mu);
		if (!header(buf, "Authorization", srv.last_auth,
			    sizeof srv.last_auth))
			strcpy(srv.last_auth, "-");
		snprintf(srv.last_method, sizeof srv.last_method, "%s", method);
		snprintf(srv.last_body, sizeof srv.last_body, "%.*s", (int)clen,
			 buf + head_len);
		pthread_mutex_unlock(&srv.mu);
		memmove(buf, buf + head_len + clen, len - head_len - clen);
		len -= head_len + clen;

		if (strncmp(path, "/sleep/", 7) == 0) {
			sleep_ms(atol(path + 7));
			respond(fd, 200, NULL, "{\"slept\":true}");
		} else if (strncmp(path, "/flaky/", 7) == 0) {
			if (atomic_fetch_add(&srv.flaky, 1) < atoi(path + 7))
				respond(fd, 503, NULL, "{\"error\":\"busy\"}");
			else
				respond(fd, 200, NULL, "{\"ok\":true}");
		} else if (strcmp(path, "/error") == 0) {
			respond(fd, 404, NULL, "{\"error\":\"no such thing\"}");
		} else if (strcmp(path, "/hang") == 0) {
			sleep_ms(3000);
			goto out;
		} else if (strcmp(path, "/close") == 0) {
			goto out;
		} else {
			respond(fd, 200, NULL, "{\"ok\":true}");
		}
	}
out:
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&srv.connections, 1);
		pthread_t t;
		pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
	return NULL;
}

static void server_start(void)
{
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(srv.lfd >= 0);
	int one = 1;
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(srv.lfd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(srv.lfd, 128), 0);
	socklen_t al = sizeof a;
	getsockname(srv.lfd, (struct sockaddr *)&a, &al);
	srv.port = ntohs(a.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, accept_main, NULL);
	pthread_detach(t);
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

/* A port nothing listens on: bind one, close it. */
static int dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	return ntohs(a.sin_port);
}

TestSuite(http, .init = server_start, .timeout = 20);

/* ---- tests -------------------------------------------------------------- */

Test(http, get_returns_status_and_body)
{
	char *u = url("/ok");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	struct http_resp resp;
	cr_assert_eq(http_do(&req, &resp), 0);
	cr_assert_eq(resp.transport_error, 0, "%s", resp.error);
	cr_assert_eq(resp.status, 200);
	cr_assert_str_eq(resp.body, "{\"ok\":true}");
	cr_assert_eq(resp.body_len, strlen("{\"ok\":true}"));
	cr_assert_str_eq(resp.content_type, "application/json");
	cr_assert_eq(resp.attempts, 1);
	cr_assert(http_resp_ok(&resp));
	pthread_mutex_lock(&srv.mu);
	cr_assert_str_eq(srv.last_method, "GET");
	pthread_mutex_unlock(&srv.mu);
	http_resp_release(&resp);
	free(u);
}

Test(http, post_sends_body_and_method)
{
	char *u = url("/ok");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.body = "{\"a\":1}";
	req.body_len = 7;
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_eq(resp.status, 200, "%s", resp.error);
	pthread_mutex_lock(&srv.mu);
	cr_assert_str_eq(srv.last_method, "POST");
	cr_assert_str_eq(srv.last_body, "{\"a\":1}");
	pthread_mutex_unlock(&srv.mu);
	http_resp_release(&resp);

	/* POST with no body is still a POST */
	req.method = "POST";
	req.body = NULL;
	req.body_len = 0;
	http_do(&req, &resp);
	cr_assert_eq(resp.status, 200);
	pthread_mutex_lock(&srv.mu);
	cr_assert_str_eq(srv.last_method, "POST");
	cr_assert_str_eq(srv.last_body, "");
	pthread_mutex_unlock(&srv.mu);
	http_resp_release(&resp);
	free(u);
}

Test(http, twenty_slow_requests_run_concurrently)
{
	enum { N = 20 };
	char *u = url("/sleep/200");
	struct http_req reqs[N];
	struct http_resp resps[N];
	for (int i = 0; i < N; i++) {
		reqs[i] = (struct http_req)HTTP_REQ_INIT;
		reqs[i].url = u;
		reqs[i].timeout_ms = 5000;
	}
	double t0 = now_ms();
	cr_assert_eq(http_batch(reqs, resps, N), 0);
	double took = now_ms() - t0;
	for (int i = 0; i < N; i++) {
		cr_assert_eq(resps[i].status, 200, "request %d: %s", i,
			     resps[i].error);
		cr_assert(resps[i].elapsed_ms >= 190);
		http_resp_release(&resps[i]);
	}
	/* serially this is 20 x 200 ms = 4 s */
	cr_assert_lt(took, 1500, "20 requests took %.0f ms", took);
	cr_assert_geq(atomic_load(&srv.connections), N);
	free(u);
}

Test(http, timeout_is_a_transport_error_naming_the_limit)
{
	char *u = url("/hang");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.timeout_ms = 300;
	struct http_resp resp;
	double t0 = now_ms();
	http_do(&req, &resp);
	double took = now_ms() - t0;
	cr_assert_eq(resp.status, 0);
	cr_assert_eq(resp.transport_error, 28 /* CURLE_OPERATION_TIMEDOUT */);
	cr_assert_lt(took, 1500);
	cr_assert_geq(took, 280);
	char want[128];
	snprintf(want, sizeof want,
		 "no complete response from 127.0.0.1:%d within 300 ms",
		 srv.port);
	cr_assert_str_eq(resp.error, want);
	cr_assert_str_eq(resp.body, "");
	cr_assert(!http_resp_ok(&resp));
	http_resp_release(&resp);
	free(u);
}

Test(http, retries_503_with_backoff_then_succeeds)
{
	char *u = url("/flaky/2");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.retries = 3;
	req.idempotent = true;
	req.backoff_ms = 50;
	struct http_resp resp;
	double t0 = now_ms();
	http_do(&req, &resp);
	double took = now_ms() - t0;
	cr_assert_eq(resp.status, 200, "%ld %s", resp.status, resp.error);
	cr_assert_eq(resp.attempts, 3);
	cr_assert_eq(atomic_load(&srv.requests), 3);
	cr_assert_geq(took, 50 + 100, "backoff 50 ms then 100 ms, took %.0f", took);
	http_resp_release(&resp);
	free(u);
}

Test(http, retries_are_bounded_and_the_last_answer_kept)
{
	char *u = url("/flaky/100");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.retries = 2;
	req.idempotent = true;
	req.backoff_ms = 10;
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_eq(resp.status, 503);
	cr_assert_eq(resp.transport_error, 0);
	cr_assert_eq(resp.attempts, 3);
	cr_assert_str_eq(resp.body, "{\"error\":\"busy\"}");
	char why[256];
	cr_assert_str_eq(http_resp_reason(&resp, why, sizeof why),
			 "HTTP 503: busy");
	http_resp_release(&resp);
	free(u);
}

Test(http, non_idempotent_requests_are_not_retried_on_5xx)
{
	char *u = url("/flaky/1");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.method = "POST";
	req.retries = 3;
	req.backoff_ms = 10;
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_eq(resp.status, 503);
	cr_assert_eq(resp.attempts, 1);
	cr_assert_eq(atomic_load(&srv.requests), 1);
	http_resp_release(&resp);
	free(u);
}

Test(http, connection_refused_reads_well_and_is_retried)
{
	int port = dead_port();
	char *u = xasprintf("http://127.0.0.1:%d/v2/health/live", port);
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.timeout_ms = 2000;
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_eq(resp.status, 0);
	cr_assert_eq(resp.transport_error, 7 /* CURLE_COULDNT_CONNECT */);
	char want[128];
	snprintf(want, sizeof want,
		 "connect to 127.0.0.1:%d failed: Connection refused", port);
	cr_assert_str_eq(resp.error, want);
	http_resp_release(&resp);

	/* a request that never reached the server is retried even when it
	 * is not idempotent */
	req.method = "POST";
	req.retries = 2;
	req.backoff_ms = 10;
	http_do(&req, &resp);
	cr_assert_eq(resp.attempts, 3);
	snprintf(want, sizeof want,
		 "connect to 127.0.0.1:%d failed: Connection refused (3 "
		 "attempts)",
		 port);
	cr_assert_str_eq(resp.error, want);
	http_resp_release(&resp);
	free(u);
}

Test(http, closed_without_response)
{
	char *u = url("/close");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_eq(resp.transport_error, 52 /* CURLE_GOT_NOTHING */);
	cr_assert(strstr(resp.error, "closed the connection without a response"),
		  "%s", resp.error);
	http_resp_release(&resp);
	free(u);
}

Test(http, bearer_token_sent_only_when_given)
{
	char *u = url("/ok");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.bearer_token = "s3cr3t-token";
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_eq(resp.status, 200);
	pthread_mutex_lock(&srv.mu);
	cr_assert_str_eq(srv.last_auth, "Bearer s3cr3t-token");
	pthread_mutex_unlock(&srv.mu);
	http_resp_release(&resp);

	req.bearer_token = NULL;
	http_do(&req, &resp);
	pthread_mutex_lock(&srv.mu);
	cr_assert_str_eq(srv.last_auth, "-");
	pthread_mutex_unlock(&srv.mu);
	http_resp_release(&resp);

	req.bearer_token = ""; /* an empty variable: no header either */
	http_do(&req, &resp);
	pthread_mutex_lock(&srv.mu);
	cr_assert_str_eq(srv.last_auth, "-");
	pthread_mutex_unlock(&srv.mu);
	http_resp_release(&resp);
	free(u);
}

Test(http, error_status_reason_uses_the_error_field)
{
	char *u = url("/error");
	struct http_resp resp;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(http_get_simple(u, 2000, &resp, 3, &err), -1);
	cr_assert_eq(resp.status, 404);
	cr_assert_eq(err.code, 3);
	char want[256];
	snprintf(want, sizeof want, "GET %s: HTTP 404: no such thing", u);
	cr_assert_str_eq(err.msg, want);
	http_resp_release(&resp);
	free(u);
}

Test(http, a_client_reuses_its_connection_between_batches)
{
	struct http_client *c = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(http_client_new(&c, NULL, &err), 0, "%s", err.msg);
	char *u = url("/ok");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	for (int i = 0; i < 3; i++) {
		struct http_resp resp;
		cr_assert_eq(http_client_batch(c, &req, &resp, 1), 0);
		cr_assert_eq(resp.status, 200, "%s", resp.error);
		http_resp_release(&resp);
	}
	cr_assert_eq(atomic_load(&srv.requests), 3);
	cr_assert_eq(atomic_load(&srv.connections), 1);
	http_client_close(c);
	free(u);
}

struct chain {
	struct http_client *c;
	const char *url;
	int left, done;
	long last_status;
};

static void chain_done(struct http_resp *resp, void *payload)
{
	struct chain *ch = payload;
	ch->done++;
	ch->last_status = resp->status;
	if (--ch->left > 0) {
		struct http_req req = HTTP_REQ_INIT;
		req.url = ch->url;
		cr_assert_eq(http_client_submit(ch->c, &req, chain_done, ch), 0);
	}
}

Test(http, callbacks_can_submit_follow_up_requests)
{
	struct chain ch = { 0 };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(http_client_new(&ch.c, NULL, &err), 0);
	char *u = url("/ok");
	ch.url = u;
	ch.left = 5;
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	cr_assert_eq(http_client_submit(ch.c, &req, chain_done, &ch), 0);
	cr_assert_eq(http_client_pending(ch.c), 1);
	cr_assert_eq(http_client_run(ch.c), 0);
	cr_assert_eq(ch.done, 5);
	cr_assert_eq(ch.last_status, 200);
	cr_assert_eq(http_client_pending(ch.c), 0);
	http_client_close(ch.c);
	free(u);
}

static void count_cancel(struct http_resp *resp, void *payload)
{
	int *n = payload;
	if (resp->transport_error == 42 && strcmp(resp->error, "cancelled") == 0)
		(*n)++;
}

Test(http, close_cancels_pending_requests)
{
	struct http_client *c = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(http_client_new(&c, NULL, &err), 0);
	char *u = url("/hang");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	int cancelled = 0;
	cr_assert_eq(http_client_submit(c, &req, count_cancel, &cancelled), 0);
	cr_assert_eq(http_client_submit(c, &req, count_cancel, &cancelled), 0);
	http_client_close(c);
	cr_assert_eq(cancelled, 2);
	free(u);
}

Test(http, oversized_response_is_refused)
{
	char *u = url("/ok");
	struct http_req req = HTTP_REQ_INIT;
	req.url = u;
	req.max_body = 4;
	struct http_resp resp;
	http_do(&req, &resp);
	cr_assert_neq(resp.transport_error, 0);
	cr_assert(strstr(resp.error, "larger than 4 bytes"), "%s", resp.error);
	http_resp_release(&resp);
	free(u);
}

Test(http, missing_url_fails_that_request_only)
{
	char *u = url("/ok");
	struct http_req reqs[2] = { HTTP_REQ_INIT, HTTP_REQ_INIT };
	reqs[1].url = u;
	struct http_resp resps[2];
	cr_assert_eq(http_batch(reqs, resps, 2), 0);
	cr_assert_neq(resps[0].transport_error, 0);
	cr_assert_str_eq(resps[0].body, "");
	cr_assert_eq(resps[1].status, 200);
	http_resp_release(&resps[0]);
	http_resp_release(&resps[1]);
	free(u);
}

struct on_loop {
	int done;
	long status[3];
};

static void loop_done(struct http_resp *resp, void *payload)
{
	struct on_loop *o = payload;
	o->status[o->done++] = resp->status;
}

Test(http, a_client_on_the_callers_loop)
{
	uv_loop_t loop;
	cr_assert_eq(uv_loop_init(&loop), 0);
	struct http_client *c = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(http_client_new(&c, &loop, &err), 0, "%s", err.msg);
	char *ok = url("/sleep/50"), *bad = url("/error");
	struct http_req req = HTTP_REQ_INIT;
	struct on_loop o = { 0 };
	req.url = ok;
	cr_assert_eq(http_client_submit(c, &req, loop_done, &o), 0);
	req.url = bad;
	cr_assert_eq(http_client_submit(c, &req, loop_done, &o), 0);
	/* batch and run belong to private-loop clients */
	cr_assert_eq(http_client_run(c), -1);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(o.done, 2);
	cr_assert_eq(o.status[0], 404); /* the fast one first */
	cr_assert_eq(o.status[1], 200);
	/* a pending request at close is cancelled; the loop frees the client */
	req.url = ok;
	cr_assert_eq(http_client_submit(c, &req, loop_done, &o), 0);
	http_client_close(c);
	cr_assert_eq(o.done, 3);
	cr_assert_eq(o.status[2], 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	free(ok);
	free(bad);
}
