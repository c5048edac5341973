/* fetch.h — reading a model artifact for a load: an absolute local path, a
 * file:// URL or an http(s) URL (libcurl, blocking: call it off the event
 * loop). The only mlserve file that includes <curl/curl.h>. */
#ifndef MLSERVE_FETCH_H
#define MLSERVE_FETCH_H

#include <stddef.h>

#define FETCH_MAX_BYTES (16u << 20)

/* Whether `uri` is something fetch_artifact accepts (absolute path,
 * file://, http://, https://). */
int fetch_uri_ok(const char *uri);
/* Read the artifact into *out (NUL-terminated, caller frees) and *len.
 * Returns 0, or -1 with a message. timeout_ms bounds an http(s) transfer. */
int fetch_artifact(const char *uri, long timeout_ms, char **out, size_t *len, char *msg,
		   size_t msgsz);

#endif
