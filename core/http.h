/* http.h — every control-plane HTTP call mlctl makes (node drivers, metrics
 * scrapes, gates): libcurl's multi interface driven by a libuv loop, so
 * requests to many nodes run concurrently on one thread.
 *
 * Two ways in:
 *  - http_batch(): run n requests at once on a private loop and return when
 *    every one has finished. The simple, synchronous form.
 *  - struct http_client: a client with its own private loop (loop == NULL;
 *    http_client_batch() or http_client_submit() + http_client_run() run
 *    it, and connections stay alive between calls), or bound to a loop the
 *    caller owns and runs (http_client_submit() + a completion callback).
 *
 * Every request has its own timeout and retry budget; TLS peers are verified
 * unless a request says otherwise; keep-alive connections are reused within
 * a client; a bearer token goes into an Authorization header and is never
 * logged or echoed in an error. Creating a client sets SIGPIPE to SIG_IGN if
 * it was SIG_DFL (libcurl runs with CURLOPT_NOSIGNAL; a TLS write to a dead
 * peer must not kill mlctl). Loopback hosts never go through a proxy.
 * Not thread-safe: one client belongs to one thread.
 * Only http.c includes <curl/curl.h> and <uv.h>. */
#ifndef MLCTL_HTTP_H
#define MLCTL_HTTP_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct uv_loop_s; /* uv_loop_t, opaque here */

#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_BACKOFF_MS 100L
#define HTTP_MAX_BACKOFF_MS 2000L
#define HTTP_DEFAULT_MAX_BODY (16u << 20)

/* One request. Every pointer is borrowed and only read while the call that
 * receives the request runs: http_batch()/http_client_batch() until they
 * return, http_client_submit() copies what it needs before returning.
 * A zeroed struct plus a url is a valid GET (HTTP_REQ_INIT). */
struct http_req {
	const char *method;       /* "GET", "POST", ...; NULL = GET, or POST
				     when body is set */
	const char *url;          /* http:// or https:// only */
	const char *body;         /* request body, or NULL */
	size_t body_len;
	const char *content_type; /* NULL = application/json when a body */
	const char *bearer_token; /* NULL or "" = no Authorization header */
	long timeout_ms;          /* per attempt, connect included; 0 = default */
	int retries;              /* extra attempts after a retryable failure */
	bool idempotent;          /* false: retry only when the request never
				     reached the server (connect failed) */
	long backoff_ms;          /* first retry delay, doubled per retry up to
				     HTTP_MAX_BACKOFF_MS; 0 = default */
	bool tls_insecure;        /* true = do not verify the TLS peer/host */
	const char *ca_file;      /* NULL = the system's trust store */
	size_t max_body;          /* response limit; 0 = HTTP_DEFAULT_MAX_BODY */
};

#define HTTP_REQ_INIT { 0 }

/* Retryable failures (while retries remain): connect errors, timeouts, a
 * connection closed before a response, and 5xx answers (500, 502, 503,
 * 504). For a non-idempotent request only the connect errors. The wait
 * before retry k (1-based) is backoff_ms * 2^(k-1), capped, plus up to 10%
 * jitter; a 503 with `Retry-After: N` (seconds) waits at least that long
 * (still capped at HTTP_MAX_BACKOFF_MS). */

/* What came back. The receiver owns it: http_resp_release() frees the body.
 * A transport failure leaves status 0. An HTTP error status is not a
 * transport error: check status yourself (http_resp_ok). */
struct http_resp {
	long status;         /* HTTP status of the last attempt; 0 = none */
	char *body;          /* owned, NUL-terminated (body_len excludes it);
			        never NULL after a call, "" when empty */
	size_t body_len;
	char *content_type;  /* owned, or NULL when the server sent none */
	double retry_after_s; /* the Retry-After header in seconds; -1 = none */
	int transport_error; /* 0 or a CURLcode */
	char error[256];     /* readable transport error, e.g. "connect to
				127.0.0.1:8411 failed: Connection refused";
				"" when transport_error == 0 */
	double elapsed_ms;   /* submit to completion, retries and waits included */
	int attempts;        /* 1 + retries made */
};

#define HTTP_RESP_INIT { 0, NULL, 0, NULL, -1, 0, { 0 }, 0, 0 }

/* Free what a response owns and reset it to HTTP_RESP_INIT (NULL is a no-op). */
void http_resp_release(struct http_resp *resp);
/* Whether the request went through and the status is 2xx. */
bool http_resp_ok(const struct http_resp *resp);
/* A one-line reason for a failed response, for error messages: the
 * transport error, else "HTTP 503: <the body's {"error"} message or its
 * first line, truncated>". Writes into buf and returns it. */
const char *http_resp_reason(const struct http_resp *resp, char *buf, size_t bufsz);

/* ---- synchronous -------------------------------------------------------- */

/* Run reqs[0..n) concurrently on a private loop and return when all are
 * done; resps[i] answers reqs[i] (initialised here; the caller releases
 * each with http_resp_release). Returns 0, or -1 when the HTTP machinery
 * itself could not start (then every resps[i] carries that error). Failed
 * requests are not a -1: look at each response. */
int http_batch(const struct http_req *reqs, struct http_resp *resps, size_t n);

/* One request; same contract as http_batch with n = 1. */
int http_do(const struct http_req *req, struct http_resp *resp);

/* GET url with a timeout; returns 0 on a 2xx answer (resp filled either
 * way; release it), else -1 with err (code `errcode`) saying
 * "GET <url>: <reason>". */
int http_get_simple(const char *url, long timeout_ms, struct http_resp *resp,
		    int errcode, struct ml_err *err);

/* ---- clients ------------------------------------------------------------ */

struct http_client;

/* Completion callback: called once per submitted request, on the loop's
 * thread, after the last attempt (also when the client is closed with the
 * request still pending: transport_error CURLE_ABORTED_BY_CALLBACK (42),
 * error "cancelled"). `resp` is valid during the callback only; the
 * callback may keep resp->body and resp->content_type by taking them (set
 * the fields to NULL). It may submit new requests to the same client. */
typedef void (*http_done_fn)(struct http_resp *resp, void *payload);

/* Make a client on `loop` (borrowed; the caller runs it), or with its own
 * private loop when loop is NULL. Returns 0 and *out (free with
 * http_client_close), or -1 with err (ML_EXIT_OPERATIONAL). */
int http_client_new(struct http_client **out, struct uv_loop_s *loop,
		    struct ml_err *err);

/* Queue one request; it starts on the next loop iteration. The request
 * and its strings are copied. Returns 0 (cb will run exactly once, from
 * the loop), or -1 when the client is closing, the request has no url or
 * libcurl cannot take the transfer: then cb is NOT called. */
int http_client_submit(struct http_client *c, const struct http_req *req,
		       http_done_fn cb, void *payload);

/* Requests submitted and not yet completed. */
size_t http_client_pending(const struct http_client *c);

/* For a private-loop client: run its loop until nothing is pending
 * (requests submitted from completion callbacks included). Returns 0, or
 * -1 on a client bound to a caller's loop or from inside a callback. */
int http_client_run(struct http_client *c);

/* For a private-loop client: run reqs concurrently and return when all are
 * done (same contract as http_batch). Connections stay open for the next
 * batch. Returns -1 (resps carry the error) on a client bound to a
 * caller's loop, or when called from inside a completion callback. */
int http_client_batch(struct http_client *c, const struct http_req *reqs,
		      struct http_resp *resps, size_t n);

/* Cancel what is pending (their callbacks run with "cancelled"), close the
 * connections and free the client. A private-loop client is freed before
 * this returns; a client on the caller's loop is freed by the loop once its
 * handles have closed (run the loop). NULL is a no-op. Do not call from
 * inside a completion callback of the same client. */
void http_client_close(struct http_client *c);

#endif
