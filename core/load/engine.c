/* engine.c — the load generator's engine: worker threads, each with its
 * own libuv loop, keep-alive HTTP/1.1 connections and a slice of the
 * schedule; a shared per-second aggregator that the calling thread reads
 * for progress. Request bytes, options and thresholds are in request.c.
 *
 * Open-model dispatch uses a timerfd (CLOCK_MONOTONIC, the clock of
 * uv_hrtime) watched by the loop, so requests go out within microseconds
 * of their scheduled start instead of libuv's millisecond timer grain. */
#include "load/load.h"

#include "exitcode.h"
#include "util.h"

#include <http_parser.h>
#include <uv.h>

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define TICK_MS 10               /* timeouts, stop flag, second flushes */
#define DISPATCH_SLACK_NS 20000  /* send when due within 20 µs */
#define COOLDOWN_NS (10 * NS_PER_MS) /* closed model, after a refused connect */
#define READ_BUF (64 * 1024)
#define RING 8                   /* pending seconds in the aggregator */
#define FLUSHED_ALL UINT64_MAX

struct target {
	struct load_url url;
	struct sockaddr_storage addr;
	char *req; /* the request bytes, sent as is for every request */
	size_t req_len;
};

enum conn_state { C_CLOSED, C_CONNECTING, C_IDLE, C_BUSY, C_CLOSING };

struct worker;

struct conn {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	http_parser parser;
	struct worker *w;
	const struct target *tg;
	enum conn_state state;
	uint64_t conn_start; /* when the connect began */
	/* the request it carries, if any */
	bool has_req;
	uint64_t origin_ns; /* latency origin: scheduled start or send */
	uint64_t sent_ns;   /* for the timeout */
	bool got_bytes;     /* a response byte arrived for this request */
	bool retried;
	bool msg_done;
	bool reused;        /* this connection already answered a request */
	bool queued;        /* in the worker's free queue */
	bool writing;       /* a uv_write is in flight */
	uint64_t cooldown_until;
	bool initial;       /* first connect, counted toward readiness */
};

/* ---- the aggregator: per-second series, cumulative histogram ----------- */
struct agg {
	uv_mutex_t mu;
	int n_workers;
	uint64_t *flushed; /* per worker: seconds [0, flushed) are reported */
	struct hist slot_h[RING];
	uint64_t slot_req[RING], slot_err[RING];
	int64_t slot_sec[RING];
	uint64_t next_sec; /* first second not yet in the series */
	struct hist cum;
	uint64_t cum_req, cum_err;
	struct load_point *pts;
	size_t n_pts, cap_pts;
	double last_rate;
};

struct engine;

struct worker {
	struct engine *eng;
	int idx;
	uv_thread_t thread;
	uv_loop_t loop;
	uv_timer_t tick;
	uv_async_t go;
	uv_poll_t sched_poll;
	int tfd;
	bool tfd_on;
	http_parser_settings ps;
	bool head; /* HEAD requests: no body in the response */

	struct conn *conns;
	int n_conns;
	struct conn **queue; /* ring of free connections */
	int q_head, q_len;
	int initial_pending;

	bool started, ending, stopping;
	uint64_t t0, end_ns, deadline_ns;
	/* open model schedule: local request k is global k * T + idx */
	uint64_t n_sched, due, sent, finished;
	int busy;

	/* this second's figures, flushed to the aggregator */
	struct hist ih;
	uint64_t i_req, i_err;
	uint64_t cur_sec, next_boundary, n_secs;

	/* totals */
	uint64_t requests, ok, errors[LOAD_ERR_COUNT], late, reconnects,
		connects;
	uint64_t last_end;
	char rbuf[READ_BUF];
};

struct engine {
	const struct load_opts *o;
	struct target *targets;
	size_t n_targets;
	struct worker *workers;
	int n_workers;
	bool closed_model;
	uint64_t timeout_ns, late_ns;
	_Atomic uint64_t t0;
	atomic_int ready, done;
	atomic_bool abort; /* set before `go`: end at once */
	struct agg agg;
};

static void conn_assign(struct conn *c, uint64_t origin, uint64_t now);
static void conn_released(struct conn *c);
static void worker_check_done(struct worker *w);
static void worker_pump(struct worker *w);

/* ---- aggregator ---------------------------------------------------------- */

static void agg_init(struct agg *a, int n_workers)
{
	memset(a, 0, sizeof(*a));
	uv_mutex_init(&a->mu);
	a->n_workers = n_workers;
	a->flushed = xcalloc((size_t)n_workers, sizeof(uint64_t));
	for (int i = 0; i < RING; i++) {
		hist_init(&a->slot_h[i]);
		a->slot_sec[i] = -1;
	}
	hist_init(&a->cum);
}

static void agg_release(struct agg *a)
{
	for (int i = 0; i < RING; i++)
		hist_release(&a->slot_h[i]);
	hist_release(&a->cum);
	free(a->flushed);
	free(a->pts);
	uv_mutex_destroy(&a->mu);
}

/* Append second `sec` to the series (from its slot, or empty). Lock held. */
static void agg_emit(struct agg *a, uint64_t sec)
{
	if (a->n_pts == a->cap_pts) {
		a->cap_pts = a->cap_pts ? a->cap_pts * 2 : 64;
		a->pts = xrealloc(a->pts, a->cap_pts * sizeof(*a->pts));
	}
	struct load_point *p = &a->pts[a->n_pts++];
	memset(p, 0, sizeof(*p));
	p->t_s = (double)sec;
	p->dur_s = 1.0;
	int s = (int)(sec % RING);
	if (a->slot_sec[s] == (int64_t)sec) {
		struct hist *h = &a->slot_h[s];
		static const double ps[] = { 50, 99 };
		int64_t v[2];
		hist_percentiles(h, ps, 2, v);
		p->requests = a->slot_req[s];
		p->errors = a->slot_err[s];
		p->p50_ms = (double)v[0] / 1000.0;
		p->p99_ms = (double)v[1] / 1000.0;
		p->max_ms = (double)h->max / 1000.0;
		hist_merge(&a->cum, h);
		a->cum_req += a->slot_req[s];
		a->cum_err += a->slot_err[s];
		hist_reset(h);
		a->slot_req[s] = a->slot_err[s] = 0;
		a->slot_sec[s] = -1;
	}
	a->last_rate = (double)p->requests;
	a->next_sec = sec + 1;
}

/* Emit every second all workers have reported. Lock held. */
static void agg_advance(struct agg *a)
{
	uint64_t upto = FLUSHED_ALL;
	for (int i = 0; i < a->n_workers; i++)
		if (a->flushed[i] < upto)
			upto = a->flushed[i];
	while (a->next_sec < upto) {
		/* when every worker is done, stop at the last used slot */
		if (upto == FLUSHED_ALL) {
			bool more = false;
			for (int s = 0; s < RING; s++)
				if (a->slot_sec[s] >= (int64_t)a->next_sec)
					more = true;
			if (!more)
				break;
		}
		agg_emit(a, a->next_sec);
	}
}

/* A worker reports second `sec` (its interval figures) and that it has
 * nothing more before sec + 1 (or ever, when `last`). */
static void agg_report(struct agg *a, int worker, uint64_t sec,
		       struct hist *h, uint64_t req, uint64_t err, bool last)
{
	uv_mutex_lock(&a->mu);
	if (req > 0 && sec >= a->next_sec) {
		int s = (int)(sec % RING);
		/* a slot still holding an older second: emit up to it first */
		while (a->slot_sec[s] != -1 && a->slot_sec[s] != (int64_t)sec)
			agg_emit(a, a->next_sec);
		a->slot_sec[s] = (int64_t)sec;
		hist_merge(&a->slot_h[s], h);
		a->slot_req[s] += req;
		a->slot_err[s] += err;
	} else if (req > 0) {
		/* a second already emitted (a worker far behind): keep the
		 * totals right, the series point is gone */
		hist_merge(&a->cum, h);
		a->cum_req += req;
		a->cum_err += err;
	}
	a->flushed[worker] = last ? FLUSHED_ALL : sec + 1;
	agg_advance(a);
	uv_mutex_unlock(&a->mu);
}

/* ---- worker: per-second flush, outcome accounting ------------------------ */

static void worker_flush(struct worker *w, bool last)
{
	agg_report(&w->eng->agg, w->idx, w->cur_sec, &w->ih, w->i_req,
		   w->i_err, last);
	hist_reset(&w->ih);
	w->i_req = w->i_err = 0;
}

/* Move the interval forward until `now` lies in it. The last second of
 * the planned duration also takes what ends after it (the drain). */
static void worker_roll(struct worker *w, uint64_t now)
{
	while (now >= w->next_boundary) {
		worker_flush(w, false);
		w->cur_sec++;
		w->next_boundary = w->cur_sec + 1 < w->n_secs
			? w->t0 + (w->cur_sec + 1) * NS_PER_S
			: UINT64_MAX;
	}
}

static void count_request(struct worker *w, int cls, uint64_t now)
{
	worker_roll(w, now);
	w->requests++;
	w->i_req++;
	if (cls < 0) {
		w->ok++;
	} else {
		w->errors[cls]++;
		w->i_err++;
	}
	if (now > w->last_end)
		w->last_end = now;
}

/* The request on c is over: a response with `status`, or an error class
 * when status is 0. Leaves the connection state to the caller. */
static void conn_finish(struct conn *c, int status, int cls)
{
	struct worker *w = c->w;
	uint64_t now = uv_hrtime();
	if (status > 0) {
		if (status >= 200 && status < 300)
			cls = -1;
		else if (status >= 400 && status < 500)
			cls = LOAD_ERR_HTTP4XX;
		else if (status >= 500 && status < 600)
			cls = LOAD_ERR_HTTP5XX;
		else
			cls = LOAD_ERR_OTHER;
		/* a request may leave up to DISPATCH_SLACK_NS early */
		int64_t us = now > c->origin_ns
			? (int64_t)((now - c->origin_ns) / 1000) : 0;
		count_request(w, cls, now);
		hist_record(&w->ih, us);
	} else {
		count_request(w, cls, now);
	}
	c->has_req = false;
	w->busy--;
	w->finished++;
}

/* ---- connections --------------------------------------------------------- */

static void on_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct worker *w = c->w;
	c->state = C_CLOSED;
	if (w->stopping)
		return;
	if (c->has_req) { /* a retry, or a request assigned while closing */
		conn_assign(c, c->origin_ns, uv_hrtime());
		return;
	}
	conn_released(c);
}

static void conn_close(struct conn *c)
{
	if (c->state == C_CLOSED || c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void conn_send(struct conn *c);
static void conn_died(struct conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct worker *w = c->w;
	if (status == UV_ECANCELED || c->state != C_CONNECTING)
		return;
	if (c->initial) {
		c->initial = false;
		if (--w->initial_pending == 0)
			atomic_fetch_add(&w->eng->ready, 1);
	}
	if (status < 0) {
		if (c->has_req) {
			conn_finish(c, 0, LOAD_ERR_CONNECT);
			if (w->eng->closed_model)
				c->cooldown_until = uv_hrtime() + COOLDOWN_NS;
		}
		conn_close(c);
		worker_check_done(w);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	c->state = C_IDLE;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_died(c);
		return;
	}
	if (c->has_req)
		conn_send(c);
}

static void conn_open(struct conn *c)
{
	struct worker *w = c->w;
	c->reused = false;
	c->conn_start = uv_hrtime();
	c->state = C_CONNECTING;
	int rc = uv_tcp_init(&w->loop, &c->tcp);
	if (rc == 0) {
		c->tcp.data = c;
		c->creq.data = c;
		w->connects++;
		rc = uv_tcp_connect(&c->creq, &c->tcp,
				    (const struct sockaddr *)&c->tg->addr,
				    on_connect);
		if (rc == 0)
			return;
		/* the handle is initialised: close it, fail on close */
		if (c->has_req) {
			conn_finish(c, 0, LOAD_ERR_CONNECT);
			if (w->eng->closed_model)
				c->cooldown_until = uv_hrtime() + COOLDOWN_NS;
		}
		if (c->initial) {
			c->initial = false;
			if (--w->initial_pending == 0)
				atomic_fetch_add(&w->eng->ready, 1);
		}
		c->state = C_CLOSING;
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	/* no handle (out of descriptors): the request fails now */
	c->state = C_CLOSED;
	if (c->has_req) {
		conn_finish(c, 0, LOAD_ERR_CONNECT);
		c->cooldown_until = uv_hrtime() + COOLDOWN_NS;
	}
}

/* The connection died before a complete response: resend once on a fresh
 * connection when nothing came back on a reused one, else fail. */
static void conn_died(struct conn *c)
{
	if (c->has_req && !c->got_bytes && c->reused && !c->retried) {
		c->retried = true;
		c->w->reconnects++;
		conn_close(c); /* on_close reconnects with the request */
		return;
	}
	if (c->has_req)
		conn_finish(c, 0, LOAD_ERR_CLOSED);
	conn_close(c);
	worker_check_done(c->w);
}

static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	c->writing = false;
	if (status == 0 || status == UV_ECANCELED || c->state != C_BUSY)
		return;
	conn_died(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	struct conn *c = h->data;
	/* one buffer per loop: libuv hands it to on_read at once */
	*buf = uv_buf_init(c->w->rbuf, READ_BUF);
}

static void on_response_done(struct conn *c, bool extra)
{
	struct worker *w = c->w;
	/* bytes after the response, or a request still being written (an
	 * early answer): not a connection to reuse */
	bool keep = http_should_keep_alive(&c->parser) && !extra &&
		    !c->writing && !w->stopping;
	conn_finish(c, (int)c->parser.status_code, 0);
	if (keep) {
		c->state = C_IDLE;
		c->reused = true;
		conn_released(c);
	} else {
		conn_close(c);
	}
	worker_check_done(w);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	if (nread == 0)
		return;
	if (c->state != C_BUSY) {
		/* data or EOF on an idle connection: the server closed it or
		 * sent something unasked; do not reuse it */
		conn_close(c);
		return;
	}
	if (nread < 0) {
		if (nread == UV_EOF) {
			/* a body delimited by the close ends here */
			http_parser_execute(&c->parser, &c->w->ps, NULL, 0);
			if (c->msg_done) {
				on_response_done(c, true);
				return;
			}
		}
		conn_died(c);
		return;
	}
	c->got_bytes = true;
	size_t n = http_parser_execute(&c->parser, &c->w->ps, buf->base,
				       (size_t)nread);
	if (c->msg_done) {
		on_response_done(c, n < (size_t)nread);
		return;
	}
	if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK) {
		struct worker *w = c->w;
		conn_finish(c, 0, LOAD_ERR_OTHER);
		conn_close(c);
		worker_check_done(w);
	}
}

static int on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;
	return c->w->head ? 1 : 0; /* 1: no body follows */
}

static int on_message_complete(http_parser *p)
{
	struct conn *c = p->data;
	c->msg_done = true;
	http_parser_pause(p, 1);
	return 0;
}

static void conn_send(struct conn *c)
{
	http_parser_init(&c->parser, HTTP_RESPONSE);
	c->parser.data = c;
	c->msg_done = false;
	c->got_bytes = false;
	c->state = C_BUSY;
	c->sent_ns = uv_hrtime();
	uv_buf_t b = uv_buf_init(c->tg->req, (unsigned)c->tg->req_len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == (int)c->tg->req_len)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		conn_died(c);
		return;
	}
	if (n > 0) {
		b.base += n;
		b.len -= (size_t)n;
	}
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		conn_died(c);
		return;
	}
	c->writing = true;
}

/* Give connection c a request whose latency counts from `origin`. */
static void conn_assign(struct conn *c, uint64_t origin, uint64_t now)
{
	struct worker *w = c->w;
	if (!c->has_req) {
		c->has_req = true;
		c->retried = false;
		c->origin_ns = origin;
		c->sent_ns = now;
		w->busy++;
	}
	switch (c->state) {
	case C_IDLE:
		conn_send(c);
		break;
	case C_CLOSED:
		conn_open(c);
		break;
	case C_CONNECTING: /* on_connect sends it */
	case C_CLOSING:    /* on_close reopens */
	case C_BUSY:
		break;
	}
}

/* ---- worker: dispatch ------------------------------------------------------ */

static uint64_t sched_at(const struct worker *w, uint64_t k)
{
	const struct engine *e = w->eng;
	double i = (double)k * (double)e->n_workers + (double)w->idx;
	return w->t0 + (uint64_t)(i * 1e9 / e->o->rate);
}

static void queue_push(struct worker *w, struct conn *c)
{
	if (c->queued)
		return;
	c->queued = true;
	w->queue[(w->q_head + w->q_len) % w->n_conns] = c;
	w->q_len++;
}

static struct conn *queue_pop(struct worker *w)
{
	if (w->q_len == 0)
		return NULL;
	struct conn *c = w->queue[w->q_head];
	w->q_head = (w->q_head + 1) % w->n_conns;
	w->q_len--;
	c->queued = false;
	return c;
}

static void send_scheduled(struct worker *w, struct conn *c, uint64_t now)
{
	uint64_t at = sched_at(w, w->sent++);
	if (now > at && now - at > w->eng->late_ns)
		w->late++;
	conn_assign(c, at, now);
}

/* A connection has no request: hand it the next one, or park it. */
static void conn_released(struct conn *c)
{
	struct worker *w = c->w;
	/* a queued connection waits for worker_pump (which leaves nothing
	 * due while the queue is not empty) */
	if (w->stopping || c->has_req || c->queued)
		return;
	uint64_t now = uv_hrtime();
	if (c->cooldown_until > now)
		return; /* the tick brings it back */
	c->cooldown_until = 0;
	if (!w->started) {
		queue_push(w, c);
		return;
	}
	if (w->eng->closed_model) {
		if (!w->ending)
			conn_assign(c, now, now);
		return;
	}
	if (w->sent < w->due) {
		send_scheduled(w, c, now);
		return;
	}
	queue_push(w, c);
}

static void sched_arm(struct worker *w, uint64_t at)
{
	if (w->tfd < 0)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at / NS_PER_S);
	its.it_value.tv_nsec = (long)(at % NS_PER_S);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Open model: make due every request whose time has come, send what the
 * free connections can take, arm the timer for the next one. */
static void worker_pump(struct worker *w)
{
	if (w->stopping || w->eng->closed_model)
		return;
	uint64_t now = uv_hrtime();
	while (w->due < w->n_sched &&
	       sched_at(w, w->due) <= now + DISPATCH_SLACK_NS)
		w->due++;
	while (w->sent < w->due) {
		struct conn *c = queue_pop(w);
		if (!c)
			break;
		send_scheduled(w, c, now);
	}
	if (w->due < w->n_sched)
		sched_arm(w, sched_at(w, w->due));
}

static void on_sched(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	struct worker *w = h->data;
	uint64_t expirations;
	if (read(w->tfd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		return;
	worker_pump(w);
}

/* ---- worker: lifecycle ------------------------------------------------------ */

static void close_cb_nop(uv_handle_t *h) { (void)h; }

static void worker_stop(struct worker *w)
{
	if (w->stopping)
		return;
	w->stopping = true;
	for (int i = 0; i < w->n_conns; i++) {
		struct conn *c = &w->conns[i];
		if (c->state != C_CLOSED && c->state != C_CLOSING) {
			c->state = C_CLOSING;
			uv_close((uv_handle_t *)&c->tcp, on_close);
		}
	}
	uv_close((uv_handle_t *)&w->tick, close_cb_nop);
	uv_close((uv_handle_t *)&w->go, close_cb_nop);
	if (w->tfd_on)
		uv_close((uv_handle_t *)&w->sched_poll, close_cb_nop);
	worker_flush(w, true);
}

static void worker_check_done(struct worker *w)
{
	if (w->stopping || !w->started)
		return;
	bool done;
	if (w->eng->closed_model)
		done = w->ending && w->busy == 0;
	else
		done = w->finished >= w->n_sched;
	if (done)
		worker_stop(w);
}

/* Fail every request still open: the run is past its deadline. */
static void worker_abort(struct worker *w, uint64_t now)
{
	for (int i = 0; i < w->n_conns; i++) {
		struct conn *c = &w->conns[i];
		if (c->has_req) {
			conn_finish(c, 0, c->state == C_BUSY ? LOAD_ERR_TIMEOUT
							       : LOAD_ERR_CONNECT);
		}
	}
	while (!w->eng->closed_model && w->sent < w->n_sched) {
		w->sent++;
		w->late++;
		w->finished++;
		count_request(w, LOAD_ERR_TIMEOUT, now);
	}
	w->ending = true;
	worker_stop(w);
}

static void on_tick(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct engine *e = w->eng;
	if (w->stopping)
		return;
	uint64_t now = uv_hrtime();
	worker_roll(w, now);
	if (e->o->stop && *e->o->stop && !w->ending) {
		/* stop: nothing more is scheduled; what is due still goes */
		w->ending = true;
		if (!e->closed_model && w->n_sched > w->due)
			w->n_sched = w->due;
		w->deadline_ns = now + e->timeout_ns;
	}
	if (e->closed_model && !w->ending && now >= w->end_ns)
		w->ending = true;
	if (now >= w->deadline_ns) {
		worker_abort(w, now);
		return;
	}
	for (int i = 0; i < w->n_conns; i++) {
		struct conn *c = &w->conns[i];
		if (c->has_req && c->state == C_BUSY &&
		    now - c->sent_ns > e->timeout_ns) {
			conn_finish(c, 0, LOAD_ERR_TIMEOUT);
			conn_close(c);
		} else if (c->has_req && c->state == C_CONNECTING &&
			   now - c->conn_start > e->timeout_ns) {
			conn_finish(c, 0, LOAD_ERR_CONNECT);
			conn_close(c);
		} else if (c->cooldown_until && c->cooldown_until <= now &&
			   !c->has_req && c->state == C_CLOSED) {
			c->cooldown_until = 0;
			conn_released(c);
		}
	}
	worker_check_done(w);
	if (!w->stopping && !e->closed_model)
		worker_pump(w);
}

static void on_go(uv_async_t *a)
{
	struct worker *w = a->data;
	struct engine *e = w->eng;
	if (w->started)
		return;
	w->started = true;
	if (atomic_load(&e->abort)) {
		worker_stop(w);
		return;
	}
	w->t0 = atomic_load(&e->t0);
	w->end_ns = w->t0 + (uint64_t)e->o->duration_ms * NS_PER_MS;
	w->deadline_ns = w->end_ns + e->timeout_ns;
	w->cur_sec = 0;
	w->n_secs = ((uint64_t)e->o->duration_ms + 999) / 1000;
	w->next_boundary = w->n_secs > 1 ? w->t0 + NS_PER_S : UINT64_MAX;
	uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
	uv_update_time(&w->loop);
	if (e->closed_model) {
		/* wait for t0, then every connection starts its loop */
		while (uv_hrtime() < w->t0)
			;
		uint64_t now = uv_hrtime();
		struct conn *c;
		while ((c = queue_pop(w)))
			conn_assign(c, now, now);
	} else {
		worker_pump(w);
		if (w->tfd < 0) /* no timerfd: dispatch on the tick only */
			uv_timer_set_repeat(&w->tick, 1);
	}
	worker_check_done(w);
}

static void worker_thread(void *arg)
{
	struct worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	atomic_fetch_add(&w->eng->done, 1);
}

static int worker_init(struct worker *w, struct engine *e, int idx,
		       int first_conn, int n_conns, struct ml_err *err)
{
	w->eng = e;
	w->idx = idx;
	w->tfd = -1;
	w->next_boundary = UINT64_MAX;
	int rc = uv_loop_init(&w->loop);
	if (rc < 0)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "event loop: %s", uv_strerror(rc));
	hist_init(&w->ih);
	http_parser_settings_init(&w->ps);
	w->ps.on_headers_complete = on_headers_complete;
	w->ps.on_message_complete = on_message_complete;
	w->head = e->o->method && strcmp(e->o->method, "HEAD") == 0;
	uv_timer_init(&w->loop, &w->tick);
	w->tick.data = w;
	uv_async_init(&w->loop, &w->go, on_go);
	w->go.data = w;
	if (!e->closed_model) {
		w->tfd = timerfd_create(CLOCK_MONOTONIC,
					TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->tfd >= 0 &&
		    uv_poll_init(&w->loop, &w->sched_poll, w->tfd) == 0) {
			w->sched_poll.data = w;
			uv_poll_start(&w->sched_poll, UV_READABLE, on_sched);
			w->tfd_on = true;
		} else if (w->tfd >= 0) {
			close(w->tfd);
			w->tfd = -1;
		}
		uint64_t total = (uint64_t)ceil(e->o->rate *
						(double)e->o->duration_ms /
						1000.0 - 1e-9);
		uint64_t T = (uint64_t)e->n_workers, i = (uint64_t)idx;
		w->n_sched = total > i ? (total - i + T - 1) / T : 0;
	}
	w->n_conns = n_conns;
	w->conns = xcalloc((size_t)n_conns, sizeof(struct conn));
	w->queue = xcalloc((size_t)n_conns, sizeof(struct conn *));
	w->initial_pending = n_conns;
	for (int i = 0; i < n_conns; i++) {
		struct conn *c = &w->conns[i];
		c->w = w;
		c->tg = &e->targets[(size_t)(first_conn + i) % e->n_targets];
		c->state = C_CLOSED;
		c->initial = true;
		queue_push(w, c);
		conn_open(c);
	}
	if (w->initial_pending == 0)
		atomic_fetch_add(&e->ready, 1);
	return 0;
}

static void worker_release(struct worker *w)
{
	if (!w->eng)
		return;
	uv_loop_close(&w->loop);
	if (w->tfd >= 0)
		close(w->tfd);
	hist_release(&w->ih);
	free(w->conns);
	free(w->queue);
}

/* ---- the run -------------------------------------------------------------- */

static int resolve(struct target *t, struct ml_err *err)
{
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	char port[16];
	snprintf(port, sizeof(port), "%d", t->url.port);
	int rc = getaddrinfo(t->url.host, port, &hints, &ai);
	if (rc != 0 || !ai)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "cannot resolve '%s': %s", t->url.host,
				  gai_strerror(rc));
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static void progress_report(struct engine *e, load_progress_fn fn,
			    void *payload, uint64_t now)
{
	struct load_progress p;
	memset(&p, 0, sizeof(p));
	uint64_t t0 = atomic_load(&e->t0);
	p.elapsed_s = now > t0 ? (double)(now - t0) / 1e9 : 0;
	p.duration_s = (double)e->o->duration_ms / 1000.0;
	uv_mutex_lock(&e->agg.mu);
	p.requests = e->agg.cum_req;
	p.errors = e->agg.cum_err;
	p.rate = e->agg.last_rate;
	p.p99_ms = (double)hist_percentile(&e->agg.cum, 99) / 1000.0;
	uv_mutex_unlock(&e->agg.mu);
	fn(&p, payload);
}

void load_result_release(struct load_result *res)
{
	if (!res)
		return;
	hist_release(&res->latency);
	free(res->series);
	memset(res, 0, sizeof(*res));
}

int load_run(const struct load_opts *o, struct load_result *res,
	     load_progress_fn progress, void *payload, struct ml_err *err)
{
	memset(res, 0, sizeof(*res));
	if (load_opts_check(o, err) < 0)
		return -1;
	int rc = -1;
	struct engine e;
	memset(&e, 0, sizeof(e));
	e.o = o;
	e.closed_model = o->rate <= 0;
	e.timeout_ns = (uint64_t)o->timeout_ms * NS_PER_MS;
	e.late_ns = (uint64_t)o->late_ms * NS_PER_MS;
	e.n_targets = o->n_urls;
	e.targets = xcalloc(e.n_targets, sizeof(struct target));
	for (size_t i = 0; i < e.n_targets; i++) {
		struct target *t = &e.targets[i];
		if (load_url_parse(o->urls[i], &t->url, err) < 0 ||
		    resolve(t, err) < 0)
			goto out;
		t->req = load_request_build(&t->url, o->method, o->headers,
					    o->n_headers, o->body,
					    o->body_len, &t->req_len);
	}
	/* a peer closing mid-write must not kill the process */
	signal(SIGPIPE, SIG_IGN);

	e.n_workers = o->threads;
	e.workers = xcalloc((size_t)e.n_workers, sizeof(struct worker));
	agg_init(&e.agg, e.n_workers);
	int first = 0;
	for (int i = 0; i < e.n_workers; i++) {
		int n = o->connections / e.n_workers +
			(i < o->connections % e.n_workers ? 1 : 0);
		if (worker_init(&e.workers[i], &e, i, first, n, err) < 0)
			goto out_workers;
		first += n;
	}
	int started = 0;
	for (; started < e.n_workers; started++) {
		struct worker *w = &e.workers[started];
		if (uv_thread_create(&w->thread, worker_thread, w) != 0) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "cannot start a load thread");
			break;
		}
	}
	/* wait (bounded) until the first connections are up or refused */
	uint64_t wait_until = uv_hrtime() + 2 * NS_PER_S;
	while (atomic_load(&e.ready) < started && uv_hrtime() < wait_until)
		uv_sleep(1);
	uint64_t t0 = uv_hrtime() + NS_PER_MS;
	atomic_store(&e.t0, t0);
	if (started < e.n_workers) {
		/* the started threads end at once; the others' loops are
		 * closed here */
		atomic_store(&e.abort, true);
		for (int i = started; i < e.n_workers; i++) {
			struct worker *w = &e.workers[i];
			w->started = true;
			worker_stop(w);
			uv_run(&w->loop, UV_RUN_DEFAULT);
		}
	}
	for (int i = 0; i < started; i++)
		uv_async_send(&e.workers[i].go);

	uint64_t next_progress = t0 + (uint64_t)o->progress_ms * NS_PER_MS;
	while (atomic_load(&e.done) < started) {
		uv_sleep(5);
		uint64_t now = uv_hrtime();
		if (progress && o->progress_ms > 0 && now >= next_progress) {
			progress_report(&e, progress, payload, now);
			next_progress += (uint64_t)o->progress_ms * NS_PER_MS;
		}
	}
	for (int i = 0; i < started; i++)
		uv_thread_join(&e.workers[i].thread);
	if (started < e.n_workers)
		goto out_workers;

	/* the result */
	uint64_t last_end = 0;
	for (int i = 0; i < e.n_workers; i++) {
		struct worker *w = &e.workers[i];
		res->requests += w->requests;
		res->ok += w->ok;
		for (int k = 0; k < LOAD_ERR_COUNT; k++) {
			res->errors[k] += w->errors[k];
			res->errors_total += w->errors[k];
		}
		res->late += w->late;
		res->reconnects += w->reconnects;
		res->connects += w->connects;
		if (w->last_end > last_end)
			last_end = w->last_end;
	}
	uv_mutex_lock(&e.agg.mu);
	agg_advance(&e.agg);
	/* seconds at the end where nothing finished are points too */
	double secs = last_end > t0 ? (double)(last_end - t0) / 1e9 : 0;
	if (!e.closed_model && !(o->stop && *o->stop))
		secs = fmax(secs, (double)o->duration_ms / 1000.0);
	uint64_t n_secs = (uint64_t)ceil(secs - 1e-9);
	uint64_t planned_secs = ((uint64_t)o->duration_ms + 999) / 1000;
	if (n_secs > planned_secs)
		n_secs = planned_secs; /* the drain belongs to the last one */
	while (e.agg.next_sec < n_secs)
		agg_emit(&e.agg, e.agg.next_sec);
	hist_init(&res->latency);
	hist_merge(&res->latency, &e.agg.cum);
	res->series = e.agg.pts;
	res->n_series = e.agg.n_pts;
	e.agg.pts = NULL;
	uv_mutex_unlock(&e.agg.mu);
	double planned = (double)o->duration_ms / 1000.0;
	res->interrupted = o->stop && *o->stop;
	res->elapsed_s = last_end > t0 ? (double)(last_end - t0) / 1e9 : 0;
	if (!e.closed_model && res->elapsed_s < planned && !res->interrupted)
		res->elapsed_s = planned; /* the schedule spans the duration */
	if (res->elapsed_s <= 0)
		res->elapsed_s = planned;
	res->achieved_rate = (double)res->requests / res->elapsed_s;
	res->error_rate = res->requests
		? (double)res->errors_total / (double)res->requests
		: 0.0;
	/* the last point ends with the run (shorter or longer than 1 s) */
	if (res->n_series > 0) {
		struct load_point *p = &res->series[res->n_series - 1];
		double d = res->elapsed_s - p->t_s;
		if (d > 0)
			p->dur_s = d;
	}
	rc = 0;

out_workers:
	for (int i = 0; i < e.n_workers; i++)
		worker_release(&e.workers[i]);
	free(e.workers);
	agg_release(&e.agg);
out:
	for (size_t i = 0; i < e.n_targets; i++) {
		load_url_release(&e.targets[i].url);
		free(e.targets[i].req);
	}
	free(e.targets);
	if (rc < 0)
		load_result_release(res);
	return rc;
}
