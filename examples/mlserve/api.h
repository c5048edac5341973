/* api.h — mlserve's endpoints: the Open Inference Protocol (V2) REST API,
 * its model repository extension, /metrics and /openapi.json. Given one
 * parsed request, api_handle fills a response (status, body, and what the
 * server must still do: wait `delay_ms` for a fault, or run a load job off
 * the loop). No I/O here, so the fuzz target drives it directly. One
 * api_ctx per worker thread; its scratch storage is reused per request. */
#ifndef MLSERVE_API_H
#define MLSERVE_API_H

#include "contract.h"
#include "http.h"
#include "json.h"
#include "metrics.h"
#include "repo.h"

#include <stdatomic.h>
#include <stdbool.h>

struct api_opts {
	bool enforce_contract; /* false with --no-contract */
	const char *admin_token; /* NULL or "": repository calls need no token */
	atomic_bool ready;       /* started and not draining */
	atomic_bool draining;
	bool quiet; /* no load/unload notes on stderr (tests) */
};

struct api_ctx {
	struct repo *repo;
	struct metrics *mx;
	struct api_opts *opts;
	size_t worker;
	struct repo_snapshot *snap; /* this worker's reference */
	struct mjson_doc doc;
	struct infer_in in;
	double *outv;
	size_t outcap;
	struct mbuf body;
	char segbuf[1024];
};

struct api_resp {
	int status;
	const char *ctype;
	const char *extra;  /* extra header lines, each ending in CRLF, or NULL */
	struct mbuf *body;  /* the api_ctx's body buffer */
	enum metrics_handler handler;
	struct metrics_series *series; /* infer on a version: its metrics */
	unsigned long long delay_ms;   /* fault: answer after this long */
	struct repo_load *job;         /* load to run off the loop, then api_load_done */
	bool head_only;
};

void api_ctx_init(struct api_ctx *c, struct repo *r, struct metrics *mx, struct api_opts *o,
		  size_t worker);
void api_ctx_release(struct api_ctx *c);
void api_handle(struct api_ctx *c, const struct mhttp_req *req, struct api_resp *resp);
/* Publish a prepared load job and fill the response; frees the job. */
void api_load_done(struct api_ctx *c, struct repo_load *job, struct api_resp *resp);
/* An {"error": msg} response. */
void api_error(struct api_ctx *c, struct api_resp *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The OpenAPI 3 document for the current snapshot (text appended). */
void api_openapi(struct api_ctx *c, struct mbuf *out);

#endif
