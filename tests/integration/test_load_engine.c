/* test_load_engine.c — the load engine's connection rules through its
 * library API (load_run), against small TCP peers in this process that
 * misbehave on purpose: a keep-alive connection closed before any response
 * byte is retried once on a fresh connection (DESIGN.md "Zero downtime"),
 * never twice; a response cut short is an error, not a retry; a body ended
 * by the close is a response; the stop flag and progress callback work;
 * several threads keep an exact schedule. Loopback only, bounded. */
#include "load/load.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum peer_mode {
	PEER_OK,           /* answer every request, keep-alive */
	PEER_CLOSE_SECOND, /* answer the 1st request of a connection, close on the 2nd */
	PEER_ONLY_FIRST,   /* answer the very first request; close every other one unanswered */
	PEER_TRUNCATED,    /* headers promise 100 bytes, 10 come, then close */
	PEER_EOF_BODY,     /* a body delimited by the close */
	PEER_SLOW,         /* answer every request after 5 ms */
};

#define MAX_CONNS 512

static struct peer {
	enum peer_mode mode;
	int lfd, port;
	pthread_t acceptor;
	pthread_t conns[MAX_CONNS];
	atomic_int n_conns;
	atomic_int answered, requests_seen;
	atomic_bool stop;
} g_peer;

/* Read one request head (these tests send no body); 0 at EOF. */
static int read_request(int fd)
{
	char buf[4096];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return 1;
	}
	return 0;
}

static void send_all(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static const char OK_RESP[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct timeval tv = { 3, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int k = 0; !atomic_load(&g_peer.stop); k++) {
		if (!read_request(fd))
			break;
		int seen = atomic_fetch_add(&g_peer.requests_seen, 1);
		bool answer;
		switch (g_peer.mode) {
		case PEER_CLOSE_SECOND:
			answer = k == 0;
			break;
		case PEER_ONLY_FIRST:
			answer = seen == 0;
			break;
		case PEER_TRUNCATED:
			send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
				     "\r\n0123456789");
			answer = false;
			break;
		case PEER_EOF_BODY:
			send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
				     "\r\nhello, until the close");
			atomic_fetch_add(&g_peer.answered, 1);
			answer = false;
			break;
		case PEER_SLOW:
			nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
			answer = true;
			break;
		case PEER_OK:
		default:
			answer = true;
		}
		if (!answer)
			break;
		send_all(fd, OK_RESP);
		atomic_fetch_add(&g_peer.answered, 1);
	}
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&g_peer.stop)) {
		struct pollfd p = { g_peer.lfd, POLLIN, 0 };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept(g_peer.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		int i = atomic_load(&g_peer.n_conns);
		if (i >= MAX_CONNS) {
			close(fd);
			continue;
		}
		if (pthread_create(&g_peer.conns[i], NULL, conn_main,
				   (void *)(intptr_t)fd) != 0) {
			close(fd);
			continue;
		}
		atomic_store(&g_peer.n_conns, i + 1);
	}
	return NULL;
}

static void peer_start(enum peer_mode mode)
{
	memset(&g_peer, 0, sizeof(g_peer));
	g_peer.mode = mode;
	g_peer.lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(g_peer.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(g_peer.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(g_peer.lfd, 128), 0);
	socklen_t len = sizeof(a);
	getsockname(g_peer.lfd, (struct sockaddr *)&a, &len);
	g_peer.port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&g_peer.acceptor, NULL, accept_main, NULL), 0);
}

static void peer_stop(void)
{
	if (g_peer.lfd <= 0)
		return;
	atomic_store(&g_peer.stop, true);
	pthread_join(g_peer.acceptor, NULL);
	int n = atomic_load(&g_peer.n_conns);
	for (int i = 0; i < n; i++)
		pthread_join(g_peer.conns[i], NULL);
	close(g_peer.lfd);
	g_peer.lfd = 0;
}

static char g_url[64];

static struct load_opts opts(double rate, long long ms, int conns)
{
	snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d/", g_peer.port);
	static const char *urls[1];
	urls[0] = g_url;
	struct load_opts o = LOAD_OPTS_INIT;
	o.urls = urls;
	o.n_urls = 1;
	o.rate = rate;
	o.duration_ms = ms;
	o.connections = conns;
	o.threads = 1;
	o.timeout_ms = 2000;
	return o;
}

static void run(const struct load_opts *o, struct load_result *r)
{
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(load_run(o, r, NULL, NULL, &err), 0, "%s", err.msg);
}

TestSuite(load_engine, .fini = peer_stop, .timeout = 30);

Test(load_engine, a_reused_connection_closed_before_any_byte_is_retried_once)
{
	peer_start(PEER_CLOSE_SECOND);
	struct load_opts o = opts(100, 1000, 1);
	struct load_result r;
	run(&o, &r);
	/* every request after the first meets a closing connection and
	 * goes again, as the first request of a fresh one */
	cr_assert_eq(r.requests, 100);
	cr_assert_eq(r.ok, 100);
	cr_assert_eq(r.errors_total, 0);
	cr_assert_eq(r.reconnects, 99);
	cr_assert_eq(r.connects, 100);
	cr_assert_eq(atomic_load(&g_peer.answered), 100);
	load_result_release(&r);
}

Test(load_engine, a_retry_that_fails_again_is_an_error_not_a_second_retry)
{
	peer_start(PEER_ONLY_FIRST);
	struct load_opts o = opts(50, 1000, 1);
	struct load_result r;
	run(&o, &r);
	cr_assert_eq(r.requests, 50);
	cr_assert_eq(r.ok, 1);
	/* request 2 was retried once (on a fresh connection that died
	 * too); later ones started on fresh connections: no retry */
	cr_assert_eq(r.reconnects, 1);
	cr_assert_eq(r.errors[LOAD_ERR_CLOSED], 49);
	cr_assert_eq(r.errors_total, 49);
	cr_assert_eq(atomic_load(&g_peer.requests_seen), 51);
	load_result_release(&r);
}

Test(load_engine, a_response_cut_short_is_closed_without_retry)
{
	peer_start(PEER_TRUNCATED);
	struct load_opts o = opts(50, 500, 2);
	struct load_result r;
	run(&o, &r);
	cr_assert_eq(r.requests, 25);
	cr_assert_eq(r.errors[LOAD_ERR_CLOSED], 25);
	cr_assert_eq(r.reconnects, 0);
	cr_assert_eq(r.latency.total, 0);
	load_result_release(&r);
}

Test(load_engine, a_body_ended_by_the_close_is_a_response)
{
	peer_start(PEER_EOF_BODY);
	/* one connection per request: stay under the peer's MAX_CONNS */
	struct load_opts o = opts(200, 1000, 2);
	struct load_result r;
	run(&o, &r);
	cr_assert_eq(r.requests, 200);
	cr_assert_eq(r.errors_total, 0);
	cr_assert_eq(r.ok, r.requests);
	cr_assert_eq(r.connects, r.requests);
	cr_assert_eq((int)r.ok, atomic_load(&g_peer.answered));
	load_result_release(&r);
}

Test(load_engine, several_threads_keep_an_exact_schedule)
{
	peer_start(PEER_OK);
	struct load_opts o = opts(600, 1000, 6);
	o.threads = 3;
	struct load_result r;
	run(&o, &r);
	cr_assert_eq(r.requests, 600);
	cr_assert_eq(r.ok, 600);
	cr_assert_eq(atomic_load(&g_peer.answered), 600);
	cr_assert_eq(r.connects, 6);
	cr_assert(r.achieved_rate > 540 && r.achieved_rate < 660, "%.1f",
		  r.achieved_rate);
	/* the series covers the run, second by second */
	cr_assert_eq(r.n_series, 1);
	cr_assert_eq(r.series[0].requests, 600);
	cr_assert_eq(r.latency.total, 600);
	load_result_release(&r);
}

struct prog {
	int calls;
	double last_elapsed;
	uint64_t last_requests;
	bool monotonic;
	volatile sig_atomic_t *stop;
};

static void on_progress(const struct load_progress *p, void *payload)
{
	struct prog *g = payload;
	if (p->elapsed_s < g->last_elapsed || p->requests < g->last_requests)
		g->monotonic = false;
	g->last_elapsed = p->elapsed_s;
	g->last_requests = p->requests;
	g->calls++;
	if (g->stop && p->elapsed_s >= 1.2)
		*g->stop = 1;
}

Test(load_engine, progress_reports_and_the_stop_flag_ends_a_run_early)
{
	peer_start(PEER_OK);
	static volatile sig_atomic_t stop;
	stop = 0;
	struct load_opts o = opts(100, 20000, 2);
	o.progress_ms = 100;
	o.stop = &stop;
	struct prog g = { 0, 0, 0, true, &stop };
	struct load_result r;
	struct ml_err err = ML_ERR_INIT;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(load_run(&o, &r, on_progress, &g, &err), 0, "%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert(took < 4, "took %.1fs", took);
	cr_assert(r.interrupted);
	cr_assert_geq(g.calls, 10);
	cr_assert(g.monotonic);
	/* the per-second figures reach the progress (1 s in) */
	cr_assert_geq(g.last_requests, 90);
	cr_assert(r.requests >= 110 && r.requests <= 200, "%llu",
		  (unsigned long long)r.requests);
	cr_assert_eq(r.errors_total, 0);
	load_result_release(&r);
}

Test(load_engine, requests_that_wait_for_a_connection_are_late_not_dropped)
{
	/* one connection, 5 ms a round trip: at most 200 req/s against a
	 * schedule of 400 req/s; the backlog goes out late, all of it */
	peer_start(PEER_SLOW);
	struct load_opts o = opts(400, 500, 1);
	struct load_result r;
	run(&o, &r);
	cr_assert_eq(r.requests, 200);
	cr_assert_eq(r.ok, 200);
	cr_assert_eq(atomic_load(&g_peer.answered), 200);
	cr_assert_gt(r.late, 150, "late %llu", (unsigned long long)r.late);
	/* latency counts from the schedule: the last one waited ~0.5 s */
	cr_assert_gt(r.latency.max, 300000);
	cr_assert_gt(r.elapsed_s, 0.9);
	load_result_release(&r);
}
