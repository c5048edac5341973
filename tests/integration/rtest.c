/* rtest.c — see rtest.h. Blocking sockets only: these helpers run in the
 * test's own thread and every call is bounded by a timeout. */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE   /* mkdtemp */
#include "rtest.h"

#include "core/exitcode.h"
#include "core/proc.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

char *rtt_tmpdir(const char *prefix)
{
	char *d = xasprintf("/tmp/%s-XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(d), "mkdtemp: %s", strerror(errno));
	chmod(d, 0755);
	return d;
}

static int rm_entry(const char *p, const struct stat *st, int fl,
		    struct FTW *ftw)
{
	(void)st;
	(void)fl;
	(void)ftw;
	remove(p);
	return 0;
}

void rtt_rm_rf(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/", 5) == 0)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Ports for the test's own listeners: picked at random in 20000..29999,
 * below the kernel's ephemeral range (32768 and up), where an outgoing
 * connection of wrk, libcurl or a node could take a port between our pick
 * and the bind of the process it is for; above the fixed ports of the
 * embedded environments (8xxx). Each is bindable when picked and never
 * handed out twice by this process. */
#define RTT_PORT_LO 20000
#define RTT_PORT_SPAN 10000

int rtt_free_port(void)
{
	static bool issued[RTT_PORT_SPAN];
	static unsigned seed;
	if (!seed)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	for (int tries = 0; tries < 500; tries++) {
		int port = RTT_PORT_LO + (int)(rand_r(&seed) % RTT_PORT_SPAN);
		if (issued[port - RTT_PORT_LO])
			continue;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert(fd >= 0);
		struct sockaddr_in sa;
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((unsigned short)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok) {
			issued[port - RTT_PORT_LO] = true;
			return port;
		}
	}
	cr_assert_fail("no free port in %d..%d", RTT_PORT_LO,
		       RTT_PORT_LO + RTT_PORT_SPAN - 1);
	return -1;
}

const char *rtt_mlserve_bin(void)
{
	const char *b = getenv("MLSERVE_BIN");
	if (!b || !*b)
		b = "bin/mlserve";
	if (access(b, X_OK) != 0)
		cr_skip_test("no mlserve at %s (set MLSERVE_BIN)", b);
	return b;
}

int rtt_start_mlserve(const char *dir, const char *name, pid_t *pid)
{
	char *argv[] = { (char *)rtt_mlserve_bin(), "--listen", "127.0.0.1:0",
			 NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct ml_err err = ML_ERR_INIT;
	spec.dir = dir;
	spec.name = name;
	spec.argv = argv;
	cr_assert_eq(proc_spawn(&spec, pid, &err), 0, "%s", err.msg);
	char *logname = xasprintf("%s.log", name);
	char *log = path_join(dir, logname);
	free(logname);
	int port = -1;
	for (int i = 0; i < 500 && port < 0; i++) {
		char *text = NULL;
		size_t len;
		if (read_file(log, 1 << 20, &text, &len) == 0) {
			const char *p = strstr(text, "listening on 127.0.0.1:");
			if (p)
				port = atoi(p + strlen("listening on 127.0.0.1:"));
		}
		free(text);
		if (port < 0)
			nap(10);
	}
	cr_assert(port > 0, "mlserve %s did not say where it listens (%s)",
		  name, log);
	free(log);
	return port;
}

int rtt_get(int port, const char *path, char **body)
{
	if (body)
		*body = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	char *req = xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			      "Connection: close\r\n\r\n",
			      path, port);
	ssize_t w = send(fd, req, strlen(req), MSG_NOSIGNAL);
	free(req);
	if (w <= 0) {
		close(fd);
		return -1;
	}
	size_t cap = 65536, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (cap - len < 4096)
			buf = xrealloc(buf, cap *= 2);
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	int status = -1;
	if (len > 12 && strncmp(buf, "HTTP/1.", 7) == 0)
		status = atoi(buf + 9);
	char *sep = strstr(buf, "\r\n\r\n");
	if (body && sep)
		*body = xstrdup(sep + 4);
	free(buf);
	return status;
}

long rtt_count(int port, const char *handler)
{
	char *body = NULL;
	if (rtt_get(port, "/metrics", &body) != 200) {
		free(body);
		return -1;
	}
	char *key = xasprintf("mlserve_http_requests_total{handler=\"%s\","
			      "code=\"200\"} ",
			      handler);
	const char *p = strstr(body, key);
	long n = p ? atol(p + strlen(key)) : 0;
	free(key);
	free(body);
	return n;
}

int rtt_wait_exit(pid_t pid, long timeout_ms)
{
	for (long waited = 0;; waited += 10) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -1;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		nap(10);
	}
}

void rtt_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}
