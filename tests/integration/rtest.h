/* rtest.h — helpers of the router and up/down integration tests
 * (test_router.c, test_up_down.c): temporary directories, free loopback
 * ports, real mlserve nodes on port 0, a tiny blocking HTTP/1.1 client
 * for probes and counted requests, mlserve's /metrics counters, and waits
 * bounded by a timeout. Processes are started with core/proc.h and
 * stopped by pid. */
#ifndef MLCTL_TEST_RTEST_H
#define MLCTL_TEST_RTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh /tmp/<prefix>-XXXXXX (mode 0755 so an nginx worker running as
 * nobody can reach its temp paths); caller frees; rtt_rm_rf removes it. */
char *rtt_tmpdir(const char *prefix);
void rtt_rm_rf(const char *dir);

/* A TCP port on 127.0.0.1 nobody listens on right now. */
int rtt_free_port(void);

/* bin/mlserve (MLSERVE_BIN, else bin/mlserve from the repo root); skips
 * the test when it is not there. */
const char *rtt_mlserve_bin(void);

/* Start mlserve on 127.0.0.1:0 with pid file <dir>/<name>.pid and log
 * <dir>/<name>.log; returns its port (asserts it came up). */
int rtt_start_mlserve(const char *dir, const char *name, pid_t *pid);

/* GET path from 127.0.0.1:port with Connection: close; returns the HTTP
 * status, or -1 on a transport failure. *body (may be NULL) gets the body
 * (caller frees). Bounded by a 5 s timeout. */
int rtt_get(int port, const char *path, char **body);

/* mlserve's mlserve_http_requests_total{handler="<handler>",code="200"}
 * read from its /metrics on 127.0.0.1:port; -1 when unreadable. */
long rtt_count(int port, const char *handler);

/* Wait up to timeout_ms for pid (our child) to exit; its exit status, or
 * -1 when it did not (it is then killed). */
int rtt_wait_exit(pid_t pid, long timeout_ms);

/* Write text to a file (asserts). */
void rtt_write(const char *path, const char *text);

#endif
