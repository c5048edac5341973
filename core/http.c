/* http.c — libcurl's multi interface on a libuv loop (see http.h and
 * PROTOCOLS.md D): curl tells us which sockets to watch (one uv_poll_t
 * each) and when to wake it (one uv_timer_t); we hand readiness back with
 * curl_multi_socket_action and collect finished transfers. Retries wait on
 * a per-transfer timer. Callers see our own request/response structs; the
 * curl and uv types stay in this file. */
#define _DEFAULT_SOURCE
#include "http.h"

#include "exitcode.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#ifndef MLCTL_VERSION
#define MLCTL_VERSION "0.0.0"
#endif

/* Hosts that never go through a proxy, whatever the environment says. */
#define HTTP_NOPROXY_LOOPBACK "localhost,127.0.0.1,::1"

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_client *c;
	struct sock *prev, *next;
};

struct xfer {
	struct http_client *c;
	struct xfer *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	uv_timer_t wait; /* backoff between attempts; closing it frees us */
	char *url, *body, *token;
	size_t body_len, max_body, cap;
	long timeout_ms, backoff_ms;
	int retries;
	bool idempotent, too_big, in_multi;
	http_done_fn cb;
	void *payload;
	struct http_resp resp;
	double t0;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	uv_loop_t *loop;
	uv_loop_t own;
	bool own_loop;
	CURLM *multi;
	uv_timer_t timer;
	struct xfer *xfers; /* pending, for cancellation */
	struct sock *socks; /* watched sockets */
	size_t pending;
	size_t handles;     /* uv handles not yet closed */
	bool closing, in_batch;
	unsigned in_cb;
	unsigned long long rng;
	char *noproxy;
};

/* ======================================================================
 * process-wide setup
 * ==================================================================== */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
	}
}

/* ======================================================================
 * responses
 * ==================================================================== */

void http_resp_release(struct http_resp *resp)
{
	if (!resp)
		return;
	free(resp->body);
	free(resp->content_type);
	*resp = (struct http_resp)HTTP_RESP_INIT;
}

bool http_resp_ok(const struct http_resp *resp)
{
	return resp && resp->transport_error == 0 && resp->status >= 200 &&
	       resp->status < 300;
}

const char *http_resp_reason(const struct http_resp *resp, char *buf,
			     size_t bufsz)
{
	if (!bufsz)
		return buf;
	buf[0] = '\0';
	if (resp->transport_error) {
		snprintf(buf, bufsz, "%s", resp->error);
		return buf;
	}
	if (http_resp_ok(resp)) {
		snprintf(buf, bufsz, "HTTP %ld", resp->status);
		return buf;
	}
	const char *body = resp->body ? resp->body : "";
	json_t *j = NULL;
	const char *msg = NULL;
	if (resp->body_len) {
		j = json_loadb(body, resp->body_len, 0, NULL);
		json_t *e = json_is_object(j) ? json_object_get(j, "error") : NULL;
		if (json_is_string(e))
			msg = json_string_value(e);
		else if (e && json_is_object(e) &&
			 json_is_string(json_object_get(e, "message")))
			msg = json_string_value(json_object_get(e, "message"));
	}
	if (msg) {
		snprintf(buf, bufsz, "HTTP %ld: %.200s", resp->status, msg);
	} else if (resp->body_len) {
		size_t len = strcspn(body, "\r\n");
		if (len > 200)
			len = 200;
		snprintf(buf, bufsz, "HTTP %ld: %.*s", resp->status, (int)len,
			 body);
	} else {
		snprintf(buf, bufsz, "HTTP %ld (empty body)", resp->status);
	}
	json_decref(j);
	return buf;
}

/* ======================================================================
 * curl <-> uv plumbing
 * ==================================================================== */

static void client_handle_gone(struct http_client *c);
static void check_info(struct http_client *c);

static void on_sock_closed(uv_handle_t *h)
{
	struct sock *k = h->data;
	struct http_client *c = k->c;
	free(k);
	client_handle_gone(c);
}

static void sock_close(struct sock *k)
{
	struct http_client *c = k->c;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->socks = k->next;
	if (k->next)
		k->next->prev = k->prev;
	uv_poll_stop(&k->poll);
	uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *k = p->data;
	struct http_client *c = k->c;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	int running = 0;
	curl_multi_socket_action(c->multi, k->fd, flags, &running);
	check_info(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
			  void *socketp)
{
	(void)easy;
	struct http_client *c = userp;
	struct sock *k = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (k) {
			if (c->multi)
				curl_multi_assign(c->multi, s, NULL);
			sock_close(k);
		}
		return 0;
	}
	if (!c->multi)
		return 0;
	if (!k) {
		k = xcalloc(1, sizeof *k);
		k->c = c;
		k->fd = s;
		if (uv_poll_init_socket(c->loop, &k->poll, s) < 0) {
			free(k);
			return -1;
		}
		k->poll.data = k;
		c->handles++;
		k->next = c->socks;
		if (c->socks)
			c->socks->prev = k;
		c->socks = k;
		curl_multi_assign(c->multi, s, k);
	}
	int events = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	uv_poll_start(&k->poll, events, on_poll);
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	struct http_client *c = t->data;
	int running = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_info(c);
}

/* curl's CURLMOPT_TIMERFUNCTION: only (re)arm our timer; calling back into
 * libcurl from here is not allowed. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct http_client *c = userp;
	if (!c->multi)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ======================================================================
 * transfers
 * ==================================================================== */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	if (x->resp.body_len + n > x->max_body) {
		x->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (x->resp.body_len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 1024;
		while (cap < x->resp.body_len + n + 1)
			cap *= 2;
		x->resp.body = xrealloc(x->resp.body, cap);
		x->cap = cap;
	}
	memcpy(x->resp.body + x->resp.body_len, ptr, n);
	x->resp.body_len += n;
	x->resp.body[x->resp.body_len] = '\0';
	return n;
}

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

static void on_xfer_closed(uv_handle_t *h)
{
	struct xfer *x = h->data;
	struct http_client *c = x->c;
	free(x);
	client_handle_gone(c);
}

static void xfer_free(struct xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	for (struct curl_slist *h = x->headers; h; h = h->next)
		wipe(h->data); /* the Authorization line */
	curl_slist_free_all(x->headers);
	wipe(x->token);
	free(x->token);
	free(x->url);
	free(x->body);
	http_resp_release(&x->resp);
	uv_close((uv_handle_t *)&x->wait, on_xfer_closed);
}

/* "host:port" of the transfer's URL, for messages. */
static void url_hostport(const char *url, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s", url);
	CURLU *u = curl_url();
	if (!u)
		return;
	char *host = NULL, *port = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
		    CURLUE_OK)
		snprintf(buf, bufsz, "%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

static bool never_connected(struct xfer *x, CURLcode rc)
{
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		return true;
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t t = 0;
		curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &t);
		return t == 0;
	}
	return false;
}

/* snprintf that may truncate (host names and curl texts are unbounded). */
static void fmt_error(char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_error(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
}

static void describe_error(struct xfer *x, CURLcode rc)
{
	char hp[300];
	url_hostport(x->url, hp, sizeof hp);
	char *e = x->resp.error;
	size_t esz = sizeof x->resp.error;
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
	long oserr = 0;
	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr)
			fmt_error(e, esz, "connect to %s failed: %s", hp,
				 strerror((int)oserr));
		else
			fmt_error(e, esz, "connect to %s failed: %s", hp, detail);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		fmt_error(e, esz, "cannot resolve the host of %s", hp);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (never_connected(x, rc))
			fmt_error(e, esz, "connect to %s timed out after %ld ms",
				 hp, x->timeout_ms);
		else
			fmt_error(e, esz,
				 "no complete response from %s within %ld ms", hp,
				 x->timeout_ms);
		break;
	case CURLE_GOT_NOTHING:
		fmt_error(e, esz, "%s closed the connection without a response",
			 hp);
		break;
	case CURLE_WRITE_ERROR:
		if (x->too_big) {
			fmt_error(e, esz,
				 "response from %s is larger than %zu bytes", hp,
				 x->max_body);
			break;
		}
		fmt_error(e, esz, "%s: %s", hp, detail);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		fmt_error(e, esz, "TLS with %s failed: %s", hp, detail);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		fmt_error(e, esz, "cancelled");
		break;
	default:
		fmt_error(e, esz, "%s: %s", hp, detail);
		break;
	}
	size_t len = strlen(e);
	if (x->resp.attempts > 1 && len < esz)
		snprintf(e + len, esz - len, " (%d attempts)", x->resp.attempts);
}

static bool retryable(struct xfer *x, CURLcode rc, long status)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return false;
	if (never_connected(x, rc))
		return true;
	if (!x->idempotent)
		return false;
	if (rc != CURLE_OK)
		return rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
		       rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
		       rc == CURLE_PARTIAL_FILE;
	return status == 500 || status == 502 || status == 503 || status == 504;
}

static unsigned long long rnd(struct http_client *c)
{
	/* xorshift64*: jitter only, not security */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ull;
}

static void xfer_start(struct xfer *x);

static void on_wait(uv_timer_t *t)
{
	struct xfer *x = t->data;
	xfer_start(x);
}

static void xfer_finish(struct xfer *x, CURLcode rc)
{
	struct http_client *c = x->c;
	x->resp.transport_error = (int)rc;
	if (rc != CURLE_OK) {
		x->resp.status = 0;
		describe_error(x, rc);
	}
	if (!x->resp.body)
		x->resp.body = xstrdup("");
	x->resp.elapsed_ms = now_ms() - x->t0;
	if (x->prev)
		x->prev->next = x->next;
	else
		c->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	c->pending--;
	c->in_cb++;
	x->cb(&x->resp, x->payload);
	c->in_cb--;
	xfer_free(x);
}

/* One attempt ended (curl removed it from the multi handle already). */
static void xfer_attempt_done(struct xfer *x, CURLcode rc)
{
	struct http_client *c = x->c;
	long status = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->resp.status = rc == CURLE_OK ? status : 0;
	if (rc == CURLE_OK) {
		char *ct = NULL;
		curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
		free(x->resp.content_type);
		x->resp.content_type = ct ? xstrdup(ct) : NULL;
		curl_off_t ra = -1;
		if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) ==
			    CURLE_OK &&
		    ra > 0)
			x->resp.retry_after_s = (double)ra;
		else
			x->resp.retry_after_s = -1;
	}
	if (!c->closing && x->resp.attempts <= x->retries &&
	    retryable(x, rc, x->resp.status)) {
		long delay = x->backoff_ms;
		for (int i = 1; i < x->resp.attempts && delay < HTTP_MAX_BACKOFF_MS; i++)
			delay *= 2;
		if (x->resp.status == 503 && x->resp.retry_after_s > 0 &&
		    x->resp.retry_after_s * 1000 > delay)
			delay = (long)(x->resp.retry_after_s * 1000);
		if (delay > HTTP_MAX_BACKOFF_MS)
			delay = HTTP_MAX_BACKOFF_MS;
		delay += (long)(rnd(c) % (unsigned long long)(delay / 10 + 1));
		uv_timer_start(&x->wait, on_wait, (uint64_t)delay, 0);
		return;
	}
	xfer_finish(x, rc);
}

static void check_info(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while (c->multi && (m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result; /* m dies with remove_handle */
		struct xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(c->multi, easy);
		x->in_multi = false;
		xfer_attempt_done(x, rc);
	}
}

/* Start an attempt. Returns -1 (nothing started) when curl refuses the
 * handle; the caller decides what that means. */
static int xfer_try_start(struct xfer *x)
{
	/* a fresh attempt: forget the previous one's answer */
	x->resp.body_len = 0;
	if (x->resp.body)
		x->resp.body[0] = '\0';
	x->resp.status = 0;
	x->too_big = false;
	x->errbuf[0] = '\0';
	x->resp.attempts++;
	CURLMcode mc = curl_multi_add_handle(x->c->multi, x->easy);
	if (mc != CURLM_OK) {
		snprintf(x->errbuf, sizeof x->errbuf, "%s",
			 curl_multi_strerror(mc));
		return -1;
	}
	x->in_multi = true;
	return 0;
}

/* A retry's attempt: a refusal ends the transfer. */
static void xfer_start(struct xfer *x)
{
	if (xfer_try_start(x) < 0)
		xfer_finish(x, CURLE_FAILED_INIT);
}

static int xfer_setup(struct xfer *x, const struct http_req *req,
		      const char *noproxy)
{
	CURL *e = x->easy;
	const char *method = req->method ? req->method
					 : (req->body ? "POST" : "GET");
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, x->timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mlctl/" MLCTL_VERSION);
	curl_easy_setopt(e, CURLOPT_NOPROXY, noproxy);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, req->tls_insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, req->tls_insecure ? 0L : 2L);
	if (req->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);

	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		if (strcmp(method, "POST") == 0 || x->body) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)x->body_len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS,
					 x->body ? x->body : "");
		}
	}

	struct curl_slist *h = NULL;
	/* no "Expect: 100-continue" round trip for larger bodies */
	h = curl_slist_append(h, "Expect:");
	if (x->body || req->content_type) {
		char *ct = xasprintf("Content-Type: %s",
				     req->content_type ? req->content_type
						       : "application/json");
		h = curl_slist_append(h, ct);
		free(ct);
	}
	if (x->token) {
		char *auth = xasprintf("Authorization: Bearer %s", x->token);
		h = curl_slist_append(h, auth);
		wipe(auth);
		free(auth);
	}
	if (!h)
		return -1;
	x->headers = h;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	return 0;
}

/* ======================================================================
 * clients
 * ==================================================================== */

/* Every closed uv handle of a client ends here: the client is freed once
 * the last one has closed (a private-loop client is freed by close()). */
static void client_handle_gone(struct http_client *c)
{
	c->handles--;
	if (c->closing && c->handles == 0 && !c->own_loop) {
		free(c->noproxy);
		free(c);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	client_handle_gone(h->data);
}

int http_client_new(struct http_client **out, struct uv_loop_s *loop,
		    struct ml_err *err)
{
	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "cannot initialise libcurl: %s",
				  curl_easy_strerror(global_rc));
	struct http_client *c = xcalloc(1, sizeof *c);
	if (!loop) {
		int rc = uv_loop_init(&c->own);
		if (rc < 0) {
			free(c);
			return ml_err_set(err, ML_EXIT_OPERATIONAL,
					  "cannot create an event loop: %s",
					  uv_strerror(rc));
		}
		c->own_loop = true;
		loop = &c->own;
	}
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi) {
		if (c->own_loop)
			uv_loop_close(&c->own);
		free(c);
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "cannot create a libcurl multi handle");
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	uv_timer_init(c->loop, &c->timer);
	c->timer.data = c;
	c->handles = 1;
	c->rng = now_ns() | 1;
	const char *np = getenv("no_proxy");
	if (!np || !*np)
		np = getenv("NO_PROXY");
	c->noproxy = np && *np ? xasprintf("%s,%s", HTTP_NOPROXY_LOOPBACK, np)
			       : xstrdup(HTTP_NOPROXY_LOOPBACK);
	*out = c;
	return 0;
}

size_t http_client_pending(const struct http_client *c)
{
	return c ? c->pending : 0;
}

int http_client_submit(struct http_client *c, const struct http_req *req,
		       http_done_fn cb, void *payload)
{
	if (!c || c->closing || !req || !req->url || !cb)
		return -1;
	struct xfer *x = xcalloc(1, sizeof *x);
	x->c = c;
	x->resp = (struct http_resp)HTTP_RESP_INIT;
	x->url = xstrdup(req->url);
	if (req->body) {
		x->body = xmalloc(req->body_len + 1);
		memcpy(x->body, req->body, req->body_len);
		x->body[req->body_len] = '\0';
		x->body_len = req->body_len;
	}
	if (req->bearer_token && *req->bearer_token)
		x->token = xstrdup(req->bearer_token);
	x->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms
					    : HTTP_DEFAULT_TIMEOUT_MS;
	x->backoff_ms = req->backoff_ms > 0 ? req->backoff_ms
					    : HTTP_DEFAULT_BACKOFF_MS;
	x->retries = req->retries > 0 ? req->retries : 0;
	x->idempotent = req->idempotent;
	x->max_body = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
	x->cb = cb;
	x->payload = payload;
	x->t0 = now_ms();
	uv_timer_init(c->loop, &x->wait);
	x->wait.data = x;
	c->handles++;
	x->easy = curl_easy_init();
	if (!x->easy || xfer_setup(x, req, c->noproxy) < 0) {
		x->cb = NULL;
		xfer_free(x);
		return -1;
	}
	if (xfer_try_start(x) < 0) {
		x->cb = NULL;
		xfer_free(x);
		return -1;
	}
	x->next = c->xfers;
	if (c->xfers)
		c->xfers->prev = x;
	c->xfers = x;
	c->pending++;
	return 0;
}

/* Run the private loop until *left (or, when NULL, c->pending) is 0. */
static void run_until(struct http_client *c, const size_t *left)
{
	while (left ? *left > 0 : c->pending > 0) {
		if (uv_run(c->loop, UV_RUN_ONCE) == 0 &&
		    (left ? *left > 0 : c->pending > 0)) {
			/* nothing armed (should not happen): kick curl */
			int running = 0;
			curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT,
						 0, &running);
			check_info(c);
		}
	}
}

int http_client_run(struct http_client *c)
{
	if (!c || !c->own_loop || c->in_batch || c->in_cb || c->closing)
		return -1;
	c->in_batch = true;
	run_until(c, NULL);
	c->in_batch = false;
	return 0;
}

struct batch_slot {
	struct http_resp *resp;
	size_t *left;
};

static void batch_done(struct http_resp *r, void *payload)
{
	struct batch_slot *s = payload;
	*s->resp = *r;
	r->body = NULL; /* moved */
	r->content_type = NULL;
	(*s->left)--;
}

static void fail_all(struct http_resp *resps, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++) {
		http_resp_release(&resps[i]);
		resps[i].body = xstrdup("");
		resps[i].transport_error = CURLE_FAILED_INIT;
		snprintf(resps[i].error, sizeof resps[i].error, "%s", msg);
	}
}

int http_client_batch(struct http_client *c, const struct http_req *reqs,
		      struct http_resp *resps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		resps[i] = (struct http_resp)HTTP_RESP_INIT;
	if (!c || !c->own_loop || c->in_batch || c->in_cb || c->closing) {
		fail_all(resps, n,
			 "http_client_batch needs an idle private-loop client");
		return -1;
	}
	if (n == 0)
		return 0;
	struct batch_slot *slots = xcalloc(n, sizeof *slots);
	size_t left = 0;
	c->in_batch = true;
	for (size_t i = 0; i < n; i++) {
		slots[i].resp = &resps[i];
		slots[i].left = &left;
		left++;
		if (http_client_submit(c, &reqs[i], batch_done, &slots[i]) < 0) {
			left--;
			resps[i].body = xstrdup("");
			resps[i].transport_error = CURLE_URL_MALFORMAT;
			snprintf(resps[i].error, sizeof resps[i].error,
				 "bad request: %s",
				 reqs[i].url ? "cannot set up the transfer"
					     : "no URL");
		}
	}
	run_until(c, &left);
	c->in_batch = false;
	free(slots);
	return 0;
}

void http_client_close(struct http_client *c)
{
	if (!c)
		return;
	c->closing = true;
	while (c->xfers) {
		struct xfer *x = c->xfers;
		if (x->in_multi) {
			curl_multi_remove_handle(c->multi, x->easy);
			x->in_multi = false;
		} else {
			uv_timer_stop(&x->wait);
		}
		xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
	}
	CURLM *m = c->multi;
	c->multi = NULL; /* socket callbacks during cleanup only unwatch */
	curl_multi_cleanup(m);
	while (c->socks)
		sock_close(c->socks);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
	if (c->own_loop) {
		uv_run(&c->own, UV_RUN_DEFAULT);
		uv_loop_close(&c->own);
		free(c->noproxy);
		free(c);
	}
}

/* ======================================================================
 * one-shot helpers
 * ==================================================================== */

int http_batch(const struct http_req *reqs, struct http_resp *resps, size_t n)
{
	struct http_client *c = NULL;
	struct ml_err err = ML_ERR_INIT;
	for (size_t i = 0; i < n; i++)
		resps[i] = (struct http_resp)HTTP_RESP_INIT;
	if (http_client_new(&c, NULL, &err) < 0) {
		fail_all(resps, n, err.msg);
		return -1;
	}
	int rc = http_client_batch(c, reqs, resps, n);
	http_client_close(c);
	return rc;
}

int http_do(const struct http_req *req, struct http_resp *resp)
{
	return http_batch(req, resp, 1);
}

int http_get_simple(const char *url, long timeout_ms, struct http_resp *resp,
		    int errcode, struct ml_err *err)
{
	struct http_req req = HTTP_REQ_INIT;
	req.url = url;
	req.timeout_ms = timeout_ms;
	req.idempotent = true;
	http_do(&req, resp);
	if (http_resp_ok(resp))
		return 0;
	char why[300];
	return ml_err_set(err, errcode, "GET %s: %s", url,
			  http_resp_reason(resp, why, sizeof why));
}
