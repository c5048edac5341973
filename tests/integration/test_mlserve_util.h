/* test_mlserve_util.h — helpers shared by the mlserve integration suites:
 * temp dirs, model/release files with their sha256 (OpenSSL EVP), starting
 * bin/mlserve (MLSERVE_BIN) on 127.0.0.1 port 0, and HTTP with libcurl.
 * Everything is static inline so each suite takes what it uses. */
#ifndef TESTS_MLSERVE_UTIL_H
#define TESTS_MLSERVE_UTIL_H

#include "proc.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ETA1_TERMS "  - { coef: 1.0, ratio: [d, v] }\n"
#define ETA2_TERMS "  - { coef: 1.07, ratio: [d, v] }\n  - { coef: 0.05 }\n"
#define ETA_CONTRACT_JSON                                                                      \
	"{\"inputs\":{\"v\":{\"type\":\"number\",\"exclusive_min\":0},\"d\":{\"type\":\"number\"," \
	"\"exclusive_min\":0}},\"outputs\":{\"eta\":{\"type\":\"number\",\"min\":0}}}"
#define INFER_BODY(v, d)                                                                      \
	"{\"id\":\"t1\",\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[" v \
	"]},{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\",\"data\":[" d "]}]}"

static inline double ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static inline const char *ms_bin(void)
{
	const char *b = getenv("MLSERVE_BIN");
	if (!b || access(b, X_OK) != 0)
		cr_skip_test("MLSERVE_BIN is not an executable");
	return b;
}

static inline void ms_tmpdir(char *dir, size_t sz)
{
	snprintf(dir, sz, "/tmp/mlserve-it-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static inline void ms_rmdir(const char *dir)
{
	if (!dir[0])
		return;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test: could not remove %s\n", dir);
}

static inline void ms_sha256(const char *data, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned len = 0;
	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static inline void ms_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* Write <dir>/<name>-<version>.yaml; path and sha256 out. */
static inline void ms_model(const char *dir, const char *name, const char *version,
			    const char *terms, const char *faults, char path[512], char sha[65])
{
	char body[2048];
	snprintf(body, sizeof body,
		 "apiVersion: mlctl/v1\nkind: Model\nname: %s\nversion: %s\ntype: linear\n"
		 "output: eta\nterms:\n%s%s",
		 name, version, terms, faults ? faults : "");
	snprintf(path, 512, "%s/%s-%s.yaml", dir, name, version);
	ms_write(path, body);
	ms_sha256(body, strlen(body), sha);
}

/* Write <dir>/release-<version>.yaml for an artifact next to it. */
static inline void ms_release(const char *dir, const char *name, const char *version,
			      const char *artifact_base, const char *sha, char path[512])
{
	char body[2048];
	snprintf(body, sizeof body,
		 "apiVersion: mlctl/v1\nkind: Release\nmodel: %s\nversion: %s\n"
		 "serving_mode: realtime\nartifact: { uri: %s, sha256: \"%s\" }\n"
		 "expectations:\n  inputs:\n    v: { type: number, exclusive_min: 0 }\n"
		 "    d: { type: number, exclusive_min: 0 }\n  outputs:\n"
		 "    eta: { type: number, min: 0 }\n",
		 name, version, artifact_base, sha);
	snprintf(path, 512, "%s/release-%s.yaml", dir, version);
	ms_write(path, body);
}

/* Start mlserve with --listen 127.0.0.1:0 and the extra args (NULL-ended). */
static inline void ms_start_env(struct proc *p, const char *dir, char *const env[], ...)
{
	char *argv[40];
	int n = 0;
	argv[n++] = (char *)ms_bin();
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	va_list ap;
	va_start(ap, env);
	char *a;
	while ((a = va_arg(ap, char *)) && n < 38)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	static int seq;
	char out[512], err[512];
	snprintf(out, sizeof out, "%s/mlserve-%d.out", dir, seq);
	snprintf(err, sizeof err, "%s/mlserve-%d.err", dir, seq++);
	cr_assert_eq(proc_start(p, argv, env, out, err), 0);
	if (proc_wait_listening(p, 5000) < 0) {
		char *e = proc_slurp(p->err);
		proc_stop(p, SIGKILL, 1000);
		cr_assert_fail("mlserve did not start: %s", e);
	}
}

#define ms_start(p, dir, ...) ms_start_env(p, dir, NULL, __VA_ARGS__)

struct ms_resp {
	long status;
	char *body;
	size_t len;
	double ms;
	char headers[2048];
};

static inline size_t ms_on_body(char *p, size_t s, size_t n, void *ud)
{
	struct ms_resp *r = ud;
	r->body = realloc(r->body, r->len + s * n + 1);
	memcpy(r->body + r->len, p, s * n);
	r->len += s * n;
	r->body[r->len] = 0;
	return s * n;
}

static inline size_t ms_on_header(char *p, size_t s, size_t n, void *ud)
{
	struct ms_resp *r = ud;
	size_t have = strlen(r->headers);
	if (have + s * n < sizeof r->headers)
		memcpy(r->headers + have, p, s * n), r->headers[have + s * n] = 0;
	return s * n;
}

/* One request. `curl` may be a reused handle (keep-alive) or NULL. `hdr`
 * is one extra header line or NULL. Returns the status (0: no response). */
static inline long ms_http(CURL *curl, const char *method, int port, const char *path,
			   const char *body, const char *hdr, struct ms_resp *r)
{
	bool own = !curl;
	if (own)
		curl = curl_easy_init();
	free(r->body);
	memset(r, 0, sizeof *r);
	char url[1024];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ms_on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ms_on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Content-Type: application/json");
	if (hdr)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	double t0 = ms_now();
	CURLcode rc = curl_easy_perform(curl);
	r->ms = ms_now() - t0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	if (own)
		curl_easy_cleanup(curl);
	if (!r->body) {
		r->body = malloc(1);
		r->body[0] = 0;
	}
	return r->status;
}

static inline void ms_resp_free(struct ms_resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* POST a load with the eta contract; returns the status. */
static inline long ms_load(int port, const char *model, const char *path, const char *sha,
			   const char *hdr, struct ms_resp *r)
{
	char body[2048], url[256];
	snprintf(body, sizeof body,
		 "{\"parameters\":{\"artifact\":\"%s\",\"sha256\":\"%s\",\"expectations\":"
		 ETA_CONTRACT_JSON "}}",
		 path, sha);
	snprintf(url, sizeof url, "/v2/repository/models/%s/load", model);
	return ms_http(NULL, "POST", port, url, body, hdr, r);
}

#endif

/* ---- raw sockets, for what libcurl will not send ------------------------ */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static inline int ms_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(0x7f000001);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect");
	return fd;
}

static inline void ms_send(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* Read until the peer closes, `until` appears (when not NULL), or
 * timeout_ms passes. Returns the bytes (caller frees); *closed tells
 * whether the peer closed. */
static inline char *ms_recv(int fd, const char *until, int timeout_ms, bool *closed)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	buf[0] = 0;
	bool cl = false;
	double end = ms_now() + timeout_ms;
	while (ms_now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)(end - ms_now());
		if (poll(&p, 1, left > 0 ? left : 0) <= 0)
			break;
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
		if (k <= 0) {
			cl = true;
			break;
		}
		len += (size_t)k;
		buf[len] = 0;
		if (until && strstr(buf, until))
			break;
	}
	if (closed)
		*closed = cl;
	return buf;
}

static inline size_t ms_count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}
