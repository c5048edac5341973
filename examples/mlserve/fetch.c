/* fetch.c — artifact bytes for a model load: local files with util's
 * read_file, http(s) with a blocking libcurl easy transfer (run from the
 * libuv thread pool, never on a serving loop). Size-capped both ways. */
#include "fetch.h"

#include "util.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fetch_uri_ok(const char *uri)
{
	return uri[0] == '/' || strncasecmp(uri, "file:///", 8) == 0 ||
	       strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0;
}

struct sink {
	char *data;
	size_t len, cap;
	int too_big;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t k = size * n;
	if (s->len + k > FETCH_MAX_BYTES) {
		s->too_big = 1;
		return 0;
	}
	if (s->len + k + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + k + 1)
			cap *= 2;
		s->data = xrealloc(s->data, cap);
		s->cap = cap;
	}
	memcpy(s->data + s->len, ptr, k);
	s->len += k;
	s->data[s->len] = 0;
	return k;
}

/* libcurl (and the TLS stack under it) is opened on the first http(s)
 * fetch only: linked in, it alone costs a node ~6 MB of resident memory
 * that a node loading local artifacts never needs. */
static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	bool ok;
	char why[200];
} cu;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_open_once(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(cu.why, sizeof cu.why, "cannot load libcurl: %s", dlerror());
		return;
	}
	/* POSIX dlsym returns object pointers; the union converts cleanly */
	static const char *const names[] = { "curl_global_init", "curl_easy_init",
					      "curl_easy_setopt", "curl_easy_perform",
					      "curl_easy_getinfo", "curl_easy_cleanup",
					      "curl_easy_strerror" };
	// cppcheck-suppress uninitvar ; addresses of cu's members, not reads
	void (**slots[])(void) = {
		(void (**)(void))&cu.global_init,  (void (**)(void))&cu.easy_init,
		(void (**)(void))&cu.easy_setopt,  (void (**)(void))&cu.easy_perform,
		(void (**)(void))&cu.easy_getinfo, (void (**)(void))&cu.easy_cleanup,
		(void (**)(void))&cu.easy_strerror,
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		union {
			void *obj;
			void (*fn)(void);
		} u;
		u.obj = dlsym(h, names[i]);
		if (!u.obj) {
			snprintf(cu.why, sizeof cu.why, "libcurl lacks %s", names[i]);
			return;
		}
		*slots[i] = u.fn;
	}
	cu.global_init(CURL_GLOBAL_DEFAULT);
	cu.ok = true;
}

static int fetch_http(const char *uri, long timeout_ms, char **out, size_t *len, char *msg,
		      size_t msgsz)
{
	pthread_once(&curl_once, curl_open_once);
	if (!cu.ok) {
		snprintf(msg, msgsz, "artifact %s: %s", uri, cu.why);
		return -1;
	}
	CURL *c = cu.easy_init();
	if (!c) {
		snprintf(msg, msgsz, "artifact %s: cannot start an HTTP transfer", uri);
		return -1;
	}
	struct sink s = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	cu.easy_setopt(c, CURLOPT_URL, uri);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, &s);
	cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cu.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_MAX_BYTES);
	CURLcode rc = cu.easy_perform(c);
	long status = 0;
	cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	cu.easy_cleanup(c);
	if (rc != CURLE_OK || s.too_big) {
		if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
			snprintf(msg, msgsz, "artifact %s: larger than %u bytes", uri,
				 FETCH_MAX_BYTES);
		else
			snprintf(msg, msgsz, "artifact %s: %s", uri,
				 errbuf[0] ? errbuf : cu.easy_strerror(rc));
		free(s.data);
		return -1;
	}
	if (status < 200 || status > 299) {
		snprintf(msg, msgsz, "artifact %s: HTTP status %ld", uri, status);
		free(s.data);
		return -1;
	}
	if (!s.data)
		s.data = xstrdup("");
	*out = s.data;
	*len = s.len;
	return 0;
}

int fetch_artifact(const char *uri, long timeout_ms, char **out, size_t *len, char *msg,
		   size_t msgsz)
{
	*out = NULL;
	*len = 0;
	if (!fetch_uri_ok(uri)) {
		snprintf(msg, msgsz,
			 "artifact '%s': must be an absolute path or a file://, http:// or "
			 "https:// URL",
			 uri);
		return -1;
	}
	if (strncasecmp(uri, "http", 4) == 0)
		return fetch_http(uri, timeout_ms, out, len, msg, msgsz);
	const char *path = uri[0] == '/' ? uri : uri + 7;
	if (read_file(path, FETCH_MAX_BYTES, out, len) < 0) {
		if (errno == EFBIG)
			snprintf(msg, msgsz, "artifact %s: larger than %u bytes", path,
				 FETCH_MAX_BYTES);
		else
			snprintf(msg, msgsz, "artifact %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
