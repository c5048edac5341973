/* server.c — sockets, worker threads and connection lifecycle for mlserve
 * (see server.h). Each connection parses requests one at a time: while an
 * answer waits (a fault delay or a model load) the connection stops
 * reading, so pipelined answers leave in order. Answers produced while
 * handling one read are written with a single write (uv_try_write first,
 * uv_write for the rest). */
/* SO_REUSEPORT is a Linux (BSD) extension outside POSIX */
#define _DEFAULT_SOURCE

#include "server.h"

#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define LINGER_MS 2000
#define OUT_HIGH_WATER (1u << 20)

struct server;

struct worker {
	size_t idx;
	struct server *srv;
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_timer_t tick;
	uv_async_t wake;
	uv_thread_t thread;
	int fd;
	bool listening, draining;
	unsigned long long drain_deadline;
	struct api_ctx api;
	struct conn *conns; /* doubly linked list */
	size_t nconns;
	char date[40];
	time_t date_sec;
	char readbuf[65536];
	bool readbuf_busy;
};

struct server {
	const struct server_opts *o;
	struct repo *repo;
	struct metrics *mx;
	struct api_opts *ao;
	struct worker *workers;
	size_t n;
	atomic_size_t conns;
	uv_loop_t main;
	uv_signal_t sigterm, sigint;
	uv_async_t done;
	atomic_size_t finished;
};

struct conn;
struct load_work {
	uv_work_t req;
	struct repo_load *job;
	struct conn *c;
	struct worker *w;
	struct repo *repo;
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shut;
	uv_write_t wreq;
	struct worker *w;
	struct conn *prev, *next;
	struct mhttp_conn http;
	struct mbuf out, wbuf, pending, spare;
	int open_handles;
	bool writing, reading, closing, close_after, shutting, lingering, paused;
	bool read_blocked; /* stopped reading for backpressure */
	bool eof;
	unsigned long long req_start_ns; /* first byte of the current request */
	unsigned long long req_first_ms; /* same, loop clock */
	unsigned long long last_ms, write_ms, linger_until;
	/* a held answer (fault delay) or a pending load */
	struct load_work *work;
	int held_status;
	const char *held_ctype, *held_extra;
	bool held_head_only, held_keep_alive;
	enum metrics_handler held_handler;
	struct metrics_series *held_series;
	struct mbuf held;
	bool cur_keep_alive;
};

static void conn_close(struct conn *c);
static void conn_flush(struct conn *c);

/* close_after means "no new request on this connection": the one being
 * received (a drain came in the middle of it) is still read and answered. */
static bool can_finish(const struct conn *c)
{
	return c->close_after && !c->paused && !mhttp_in_request(&c->http);
}

/* Whether to keep reading: not waiting for an answer, not pushing back,
 * and a request may still come (or is being received). */
static bool wants_input(const struct conn *c)
{
	return !c->closing && !c->paused && !c->read_blocked &&
	       (!c->close_after || mhttp_in_request(&c->http));
}
static void conn_process(struct conn *c, const char *data, size_t len);

/* ======================================================================
 * options
 * ==================================================================== */

void server_opts_default(struct server_opts *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->host, sizeof o->host, "127.0.0.1");
	o->port = 8080;
	o->workers = 1;
	o->lim.max_header = 16 * 1024;
	o->lim.max_body = 1024 * 1024;
	o->max_connections = 4096;
	o->read_timeout_ms = 10000;
	o->idle_timeout_ms = 60000;
	o->drain_timeout_ms = 30000;
}

int server_parse_listen(struct server_opts *o, const char *s)
{
	const char *colon;
	char host[64];
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
	}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	if (!host[0] || strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	if (uv_ip4_addr(host, 0, &a4) != 0 && uv_ip6_addr(host, 0, &a6) != 0)
		return -1;
	snprintf(o->host, sizeof o->host, "%s", host);
	o->port = (int)port;
	return 0;
}

/* ======================================================================
 * helpers
 * ==================================================================== */

static void update_date(struct worker *w)
{
	time_t t = time(NULL);
	if (t == w->date_sec)
		return;
	w->date_sec = t;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static struct metrics_worker *mw(struct worker *w)
{
	return &w->srv->mx->workers[w->idx];
}

static void record(struct worker *w, enum metrics_handler h, struct metrics_series *s,
		   int status, unsigned long long start_ns)
{
	metrics_count(&mw(w)->http[h], status);
	if (s)
		metrics_observe(s, w->idx, status, uv_hrtime() - start_ns);
	metrics_gauge_add(&mw(w)->inflight, -1);
}

/* Append a complete answer to c->out. */
static void put_answer(struct conn *c, int status, const char *ctype, const char *extra,
		       const char *body, size_t len, bool head_only, bool keep_alive)
{
	struct worker *w = c->w;
	bool close = !keep_alive || w->draining || c->close_after;
	if (close)
		c->close_after = true;
	mhttp_head(&c->out, status, ctype, len, close, w->date, extra);
	if (!head_only && len)
		mbuf_add(&c->out, body, len);
}

static void put_error(struct conn *c, int status, const char *msg)
{
	struct mbuf b = MBUF_INIT;
	mbuf_adds(&b, "{\"error\":");
	mbuf_add_jstr(&b, msg, strlen(msg));
	mbuf_addc(&b, '}');
	c->close_after = true;
	put_answer(c, status, "application/json", NULL, b.data, b.len, false, false);
	mbuf_release(&b);
}

/* ======================================================================
 * connection lifecycle
 * ==================================================================== */

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->open_handles > 0)
		return;
	mhttp_conn_release(&c->http);
	mbuf_release(&c->out);
	mbuf_release(&c->wbuf);
	mbuf_release(&c->pending);
	mbuf_release(&c->spare);
	mbuf_release(&c->held);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	struct worker *w = c->w;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub(&w->srv->conns, 1);
	metrics_gauge_add(&mw(w)->connections, -1);
	if (c->paused) {
		/* an answer that will never be sent */
		metrics_gauge_add(&mw(w)->inflight, -1);
		if (c->work)
			c->work->c = NULL;
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	struct worker *w = c->w;
	if (w->readbuf_busy) {
		/* cannot happen on one loop, but never hand out the same memory twice */
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	w->readbuf_busy = true;
	buf->base = w->readbuf;
	buf->len = sizeof w->readbuf - 1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void start_reading(struct conn *c)
{
	if (c->reading || c->closing || c->shutting)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = true;
}

static void stop_reading(struct conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	/* read and drop what the client still sends, so closing does not
	 * reset the connection before it has read our answer */
	c->lingering = true;
	c->linger_until = uv_now(&c->w->loop) + LINGER_MS;
	c->shutting = false;
	start_reading(c);
}

static void conn_finish(struct conn *c)
{
	if (c->closing || c->shutting || c->lingering)
		return;
	c->shutting = true;
	stop_reading(c);
	c->shut.data = c;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
		conn_close(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	c->writing = false;
	c->wbuf.len = 0;
	if (c->wbuf.cap > OUT_HIGH_WATER)
		mbuf_reset(&c->wbuf, 0); /* after a huge answer */
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	c->last_ms = uv_now(&c->w->loop);
	if (c->out.len) {
		conn_flush(c);
		return;
	}
	if (c->read_blocked) {
		c->read_blocked = false;
		if (!c->paused && c->pending.len) {
			struct mbuf tmp = c->pending;
			c->pending = c->spare;
			c->pending.len = 0;
			conn_process(c, tmp.data, tmp.len);
			c->spare = tmp;
			c->spare.len = 0;
			return;
		}
		if (!c->paused)
			start_reading(c);
	}
	if (can_finish(c))
		conn_finish(c);
}

static void conn_flush(struct conn *c)
{
	if (c->closing || c->writing)
		return;
	if (c->out.len == 0) {
		if (can_finish(c))
			conn_finish(c);
		return;
	}
	uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == (int)c->out.len) {
		c->out.len = 0;
		if (c->out.cap > OUT_HIGH_WATER)
			mbuf_reset(&c->out, 0);
		c->last_ms = uv_now(&c->w->loop);
		if (can_finish(c))
			conn_finish(c);
		return;
	}
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	if (n < 0)
		n = 0;
	struct mbuf t = c->wbuf;
	c->wbuf = c->out;
	c->out = t;
	c->out.len = 0;
	b = uv_buf_init(c->wbuf.data + n, (unsigned)(c->wbuf.len - (size_t)n));
	c->wreq.data = c;
	c->writing = true;
	c->write_ms = uv_now(&c->w->loop);
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		c->writing = false;
		conn_close(c);
	}
}

/* ======================================================================
 * requests
 * ==================================================================== */

static void after_load(uv_work_t *req, int status);
static void do_load(uv_work_t *req);

static void on_held(uv_timer_t *t);

static void resume(struct conn *c)
{
	c->paused = false;
	if (c->closing)
		return;
	if (c->close_after && !c->pending.len) {
		conn_flush(c);
		return;
	}
	if (c->pending.len) {
		struct mbuf tmp = c->pending;
		c->pending = c->spare;
		c->pending.len = 0;
		conn_process(c, tmp.data, tmp.len);
		c->spare = tmp;
		c->spare.len = 0;
		return;
	}
	conn_flush(c);
	if (wants_input(c))
		start_reading(c);
}

static void handle(struct conn *c)
{
	struct worker *w = c->w;
	const struct mhttp_req *q = &c->http.req;
	struct api_resp r;
	metrics_gauge_add(&mw(w)->inflight, 1);
	c->cur_keep_alive = q->keep_alive;
	if (!q->keep_alive)
		c->close_after = true;
	api_handle(&w->api, q, &r);
	if (r.job) {
		struct load_work *lw = xcalloc(1, sizeof *lw);
		lw->job = r.job;
		lw->c = c;
		lw->w = w;
		lw->repo = w->srv->repo;
		lw->req.data = lw;
		c->work = lw;
		c->paused = true;
		c->held_head_only = false;
		if (uv_queue_work(&w->loop, &lw->req, do_load, after_load) < 0) {
			c->work = NULL;
			c->paused = false;
			repo_load_free(lw->job);
			free(lw);
			put_answer(c, 503, "application/json", NULL,
				   "{\"error\":\"cannot start the load\"}", 33, false,
				   q->keep_alive);
			record(w, MH_REPOSITORY, NULL, 503, c->req_start_ns);
		}
		return;
	}
	if (r.delay_ms) {
		c->paused = true;
		c->held_status = r.status;
		c->held_ctype = r.ctype;
		c->held_extra = r.extra;
		c->held_head_only = r.head_only;
		c->held_keep_alive = q->keep_alive;
		c->held_handler = r.handler;
		c->held_series = r.series;
		c->held.len = 0;
		mbuf_add(&c->held, r.body->data ? r.body->data : "", r.body->len);
		uv_timer_start(&c->timer, on_held, r.delay_ms, 0);
		return;
	}
	put_answer(c, r.status, r.ctype, r.extra, r.body->data, r.body->len, r.head_only,
		   q->keep_alive);
	record(w, r.handler, r.series, r.status, c->req_start_ns);
}

static void on_held(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->closing || !c->paused)
		return;
	put_answer(c, c->held_status, c->held_ctype, c->held_extra, c->held.data, c->held.len,
		   c->held_head_only, c->held_keep_alive);
	record(c->w, c->held_handler, c->held_series, c->held_status, c->req_start_ns);
	if (c->held.cap > 65536)
		mbuf_reset(&c->held, 0);
	resume(c);
}

static void do_load(uv_work_t *req)
{
	struct load_work *lw = req->data;
	repo_load_prepare(lw->repo, lw->job);
}

static void after_load(uv_work_t *req, int status)
{
	(void)status;
	struct load_work *lw = req->data;
	struct worker *w = lw->w;
	struct api_resp r;
	api_load_done(&w->api, lw->job, &r);
	struct conn *c = lw->c;
	if (c) {
		c->work = NULL;
		put_answer(c, r.status, r.ctype, r.extra, r.body->data, r.body->len, false,
			   c->cur_keep_alive);
		record(w, MH_REPOSITORY, NULL, r.status, c->req_start_ns);
		resume(c);
	}
	free(lw);
}

/* Feed bytes to the parser and answer complete requests in order. */
static void conn_process(struct conn *c, const char *data, size_t len)
{
	struct worker *w = c->w;
	while (len > 0 && !c->closing) {
		bool no_more = c->close_after && !mhttp_in_request(&c->http);
		if (c->paused || no_more || (c->writing && c->out.len > OUT_HIGH_WATER)) {
			if (!no_more) {
				/* keep the rest for later */
				mbuf_add(&c->pending, data, len);
				if (!c->paused)
					c->read_blocked = true;
				stop_reading(c);
			}
			len = 0;
			break;
		}
		if (!c->http.started) {
			c->req_start_ns = uv_hrtime();
			c->req_first_ms = uv_now(&w->loop);
		}
		size_t used = 0;
		enum mhttp_event ev = mhttp_feed(&c->http, data, len, &used);
		data += used;
		len -= used;
		if (mhttp_take_continue(&c->http))
			mbuf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (ev == MHTTP_REQUEST) {
			handle(c);
			mhttp_next(&c->http);
			continue;
		}
		if (ev == MHTTP_ERROR) {
			metrics_gauge_add(&mw(w)->inflight, 1);
			put_error(c, c->http.err_status, c->http.err_msg);
			record(w, MH_OTHER, NULL, c->http.err_status, c->req_start_ns);
			len = 0;
			break;
		}
		if (used == 0)
			break;
	}
	if (!c->closing)
		conn_flush(c);
	if (!c->pending.len && wants_input(c))
		start_reading(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	struct worker *w = c->w;
	if (buf->base == w->readbuf)
		w->readbuf_busy = false;
	if (c->closing)
		return;
	if (nread < 0) {
		if (c->paused && nread == UV_EOF) {
			/* half-closed client: still answer what it asked */
			c->eof = true;
			c->close_after = true;
			stop_reading(c);
			return;
		}
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	c->last_ms = uv_now(&w->loop);
	if (c->lingering)
		return; /* discard */
	conn_process(c, buf->base, (size_t)nread);
}

/* ======================================================================
 * accepting
 * ==================================================================== */

static void on_connection(uv_stream_t *ls, int status)
{
	struct worker *w = ls->data;
	struct server *srv = w->srv;
	if (status < 0)
		return;
	struct conn *c = xcalloc(1, sizeof *c);
	c->w = w;
	uv_tcp_init(&w->loop, &c->tcp);
	uv_timer_init(&w->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->open_handles = 2;
	mhttp_conn_init(&c->http, &srv->o->lim);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	size_t now = atomic_fetch_add(&srv->conns, 1) + 1;
	metrics_gauge_add(&mw(w)->connections, 1);
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	c->last_ms = uv_now(&w->loop);
	if (now > srv->o->max_connections) {
		metrics_gauge_add(&mw(w)->inflight, 1);
		char m[128];
		snprintf(m, sizeof m, "too many connections (limit %zu)", srv->o->max_connections);
		put_error(c, 503, m);
		record(w, MH_OTHER, NULL, 503, uv_hrtime());
		atomic_store_explicit(&mw(w)->rejected,
				      atomic_load_explicit(&mw(w)->rejected, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		conn_flush(c);
		return;
	}
	atomic_store_explicit(&mw(w)->accepted,
			      atomic_load_explicit(&mw(w)->accepted, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	uv_tcp_nodelay(&c->tcp, 1);
	start_reading(c);
}

/* ======================================================================
 * timers, drain, threads
 * ==================================================================== */

static void close_worker_handles(struct worker *w)
{
	if (w->listening) {
		w->listening = false;
		uv_close((uv_handle_t *)&w->listener, NULL);
	}
	if (!uv_is_closing((uv_handle_t *)&w->tick))
		uv_close((uv_handle_t *)&w->tick, NULL);
	if (!uv_is_closing((uv_handle_t *)&w->wake))
		uv_close((uv_handle_t *)&w->wake, NULL);
}

static void on_tick(uv_timer_t *t)
{
	struct worker *w = t->data;
	const struct server_opts *o = w->srv->o;
	unsigned long long now = uv_now(&w->loop);
	update_date(w);
	bool force = w->draining && now >= w->drain_deadline;
	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (force) {
			conn_close(c);
			continue;
		}
		if (c->lingering) {
			if (now >= c->linger_until)
				conn_close(c);
			continue;
		}
		if (c->shutting || c->paused)
			continue;
		if (c->writing) {
			if (now - c->write_ms > (unsigned long long)o->read_timeout_ms)
				conn_close(c);
			continue;
		}
		if (mhttp_in_request(&c->http)) {
			if (now - c->req_first_ms > (unsigned long long)o->read_timeout_ms) {
				metrics_gauge_add(&mw(w)->inflight, 1);
				char m[128];
				snprintf(m, sizeof m,
					 "request not received within %lld ms", o->read_timeout_ms);
				c->http.err_status = 408; /* the request is abandoned */
				put_error(c, 408, m);
				record(w, MH_OTHER, NULL, 408, c->req_start_ns);
				stop_reading(c);
				conn_flush(c);
			}
			continue;
		}
		if (c->close_after)
			continue;
		if (w->draining || now - c->last_ms > (unsigned long long)o->idle_timeout_ms)
			conn_close(c);
	}
	if (w->draining && w->nconns == 0)
		close_worker_handles(w);
}

static void on_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	if (w->draining)
		return;
	w->draining = true;
	w->drain_deadline = uv_now(&w->loop) + (unsigned long long)w->srv->o->drain_timeout_ms;
	if (w->listening) {
		w->listening = false;
		uv_close((uv_handle_t *)&w->listener, NULL);
	}
	/* idle connections go now; busy ones after their answer */
	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (!c->paused && !c->writing && !c->out.len && !mhttp_in_request(&c->http) &&
		    !c->shutting && !c->lingering)
			conn_close(c);
		else
			c->close_after = true;
	}
	uv_timer_stop(&w->tick);
	uv_timer_start(&w->tick, on_tick, 0, 20);
}

static void worker_main(void *arg)
{
	struct worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* the loop ends when every handle and thread-pool job is done */
	atomic_fetch_add(&w->srv->finished, 1);
	uv_async_send(&w->srv->done);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct server *srv = s->data;
	if (atomic_load(&srv->ao->draining))
		return;
	fprintf(stderr, "mlserve: %s: draining\n", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	atomic_store(&srv->ao->ready, false);
	atomic_store(&srv->ao->draining, true);
	for (size_t i = 0; i < srv->n; i++)
		uv_async_send(&srv->workers[i].wake);
}

static void on_done(uv_async_t *a)
{
	struct server *srv = a->data;
	if (atomic_load(&srv->finished) < srv->n)
		return;
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->done, NULL);
}

/* A listening socket on o->host:port; with `share`, SO_REUSEPORT so the
 * other workers' sockets can bind the same port. With listen_too false the
 * socket is only bound (a probe). */
static int make_socket(const struct server_opts *o, int port, bool share, bool listen_too,
		       int *actual, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (uv_ip4_addr(o->host, port, a4) == 0) {
		sl = sizeof *a4;
	} else if (uv_ip6_addr(o->host, port, a6) == 0) {
		sl = sizeof *a6;
	} else {
		snprintf(err, errsz, "bad listen address '%s'", o->host);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (share && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
		snprintf(err, errsz, "SO_REUSEPORT: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errsz, "cannot listen on %s:%d: %s", o->host, port, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen_too && listen(fd, 1024) < 0) {
		snprintf(err, errsz, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof got;
	getsockname(fd, (struct sockaddr *)&got, &gl);
	*actual = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
					    : ntohs(((struct sockaddr_in *)&got)->sin_port);
	return fd;
}

int server_run(const struct server_opts *o, struct repo *repo, struct metrics *mx,
	       struct api_opts *ao)
{
	struct server srv;
	memset(&srv, 0, sizeof srv);
	srv.o = o;
	srv.repo = repo;
	srv.mx = mx;
	srv.ao = ao;
	srv.n = o->workers ? o->workers : 1;
	srv.workers = xcalloc(srv.n, sizeof *srv.workers);
	signal(SIGPIPE, SIG_IGN);

	char err[256];
	int port = o->port, rc = -1;
	size_t made = 0;
	if (srv.n > 1) {
		/* SO_REUSEPORT would also let us join a port another process
		 * holds with it (or be handed one for port 0): claim the port
		 * alone first, then let the workers share it. */
		int probe = make_socket(o, port, false, false, &port, err, sizeof err);
		if (probe < 0) {
			fprintf(stderr, "mlserve: error: %s\n", err);
			goto out;
		}
		close(probe);
	}
	for (; made < srv.n; made++) {
		int actual = 0;
		int fd = make_socket(o, port, srv.n > 1, true, &actual, err, sizeof err);
		if (fd < 0) {
			fprintf(stderr, "mlserve: error: %s\n", err);
			goto out;
		}
		port = actual;
		srv.workers[made].fd = fd;
	}
	uv_loop_init(&srv.main);
	uv_signal_init(&srv.main, &srv.sigterm);
	uv_signal_init(&srv.main, &srv.sigint);
	srv.sigterm.data = srv.sigint.data = &srv;
	uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv.sigint, on_signal, SIGINT);
	uv_async_init(&srv.main, &srv.done, on_done);
	srv.done.data = &srv;

	for (size_t i = 0; i < srv.n; i++) {
		struct worker *w = &srv.workers[i];
		w->idx = i;
		w->srv = &srv;
		uv_loop_init(&w->loop);
		uv_tcp_init(&w->loop, &w->listener);
		w->listener.data = w;
		int e = uv_tcp_open(&w->listener, w->fd);
		if (e == 0)
			e = uv_listen((uv_stream_t *)&w->listener, 1024, on_connection);
		if (e < 0) {
			fprintf(stderr, "mlserve: error: listen: %s\n", uv_strerror(e));
			exit(1);
		}
		w->listening = true;
		uv_timer_init(&w->loop, &w->tick);
		w->tick.data = w;
		long long period = o->read_timeout_ms < o->idle_timeout_ms ? o->read_timeout_ms
									   : o->idle_timeout_ms;
		period /= 4;
		if (period < 10)
			period = 10;
		if (period > 1000)
			period = 1000;
		uv_timer_start(&w->tick, on_tick, (uint64_t)period, (uint64_t)period);
		uv_async_init(&w->loop, &w->wake, on_wake);
		w->wake.data = w;
		update_date(w);
		api_ctx_init(&w->api, repo, mx, ao, i);
	}
	atomic_store(&ao->ready, true);
	for (size_t i = 0; i < srv.n; i++)
		uv_thread_create(&srv.workers[i].thread, worker_main, &srv.workers[i]);
	if (strchr(o->host, ':'))
		printf("listening on [%s]:%d\n", o->host, port);
	else
		printf("listening on %s:%d\n", o->host, port);
	fflush(stdout);

	uv_run(&srv.main, UV_RUN_DEFAULT);
	for (size_t i = 0; i < srv.n; i++) {
		struct worker *w = &srv.workers[i];
		uv_thread_join(&w->thread);
		api_ctx_release(&w->api);
		uv_loop_close(&w->loop);
	}
	uv_loop_close(&srv.main);
	fprintf(stderr, "mlserve: stopped\n");
	rc = 0;
	made = 0; /* sockets belong to the loops now */
out:
	for (size_t i = 0; i < made; i++)
		close(srv.workers[i].fd);
	free(srv.workers);
	return rc;
}
