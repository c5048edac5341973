/* server.h — mlserve's network side: N worker threads, each with its own
 * libuv loop and SO_REUSEPORT listening socket, sharing one repository and
 * one metrics registry. Keep-alive, pipelining (answers in order), limits
 * (connections, head and body size, read/idle/write timeouts), fault
 * delays on timers, loads on the thread pool, and a graceful drain on
 * SIGTERM/SIGINT. The only mlserve file that includes <uv.h>. */
#ifndef MLSERVE_SERVER_H
#define MLSERVE_SERVER_H

#include "api.h"
#include "http.h"
#include "metrics.h"
#include "repo.h"

#include <stddef.h>

struct server_opts {
	char host[64];
	int port;
	size_t workers;
	struct mhttp_limits lim;
	size_t max_connections;     /* whole node */
	long long read_timeout_ms;  /* a request must arrive within this */
	long long idle_timeout_ms;  /* idle keep-alive connections close */
	long long drain_timeout_ms; /* SIGTERM: longest wait for in-flight work */
};

void server_opts_default(struct server_opts *o);
/* Parse "HOST:PORT" ("127.0.0.1:0", "[::1]:8080", "localhost:8080",
 * ":8080" = loopback) into o->host / o->port. Returns 0 or -1. */
int server_parse_listen(struct server_opts *o, const char *s);
/* Bind, print "listening on HOST:PORT" on stdout, serve until SIGTERM or
 * SIGINT, drain, return 0; -1 with a message on stderr when it cannot
 * listen. */
int server_run(const struct server_opts *o, struct repo *repo, struct metrics *mx,
	       struct api_opts *ao);

#endif
