/* fuzz_mlserve_request.c — libFuzzer target for mlserve's request path:
 * raw bytes go through the HTTP parser (fed in chunks whose size the input
 * picks), every complete request through the API (routing, JSON, the data
 * contract, metadata, metrics, OpenAPI), with the eta model loaded under
 * its contract. Checks: no crash or leak (ASan/UBSan), no 5xx for anything
 * a client sent (503 aside), every JSON answer parses. Loads are not run
 * (they would read files the input names); a model the input unloads is
 * loaded again for the next input. */
#include "examples/mlserve/api.h"
#include "examples/mlserve/http.h"
#include "core/sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct metrics mx;
static struct repo repo;
static struct api_opts ao;
static struct api_ctx ctx;
static char model_path[64];
static struct mjson_doc check_doc = MJSON_DOC_INIT;

static const char model_text[] =
	"apiVersion: mlctl/v1\nkind: Model\nname: eta\nversion: 2.0.0\ntype: linear\n"
	"output: eta\nterms:\n  - { coef: 1.07, ratio: [d, v] }\n  - { coef: 0.05 }\n";
static const char load_body_fmt[] =
	"{\"parameters\":{\"artifact\":\"%s\",\"sha256\":\"%s\",\"expectations\":{\"inputs\":{\"v\":{\"type\":"
	"\"number\",\"exclusive_min\":0},\"d\":{\"type\":\"number\",\"exclusive_min\":0,"
	"\"max\":1e6}},\"outputs\":{\"eta\":{\"type\":\"number\",\"min\":0}}}}}";

static void ensure_loaded(void)
{
	struct repo_snapshot *s = repo_acquire(&repo);
	bool have = repo_find_model(s, "eta") != NULL;
	repo_snapshot_put(s);
	if (have)
		return;
	char body[1024], sha[65];
	sha256_hex(model_text, sizeof model_text - 1, sha);
	int n = snprintf(body, sizeof body, load_body_fmt, model_path, sha);
	int status;
	char msg[256];
	struct repo_load *job = repo_load_new(&repo, "eta", body, (size_t)n, &status, msg, sizeof msg);
	if (!job)
		abort();
	repo_load_prepare(&repo, job);
	if (repo_load_commit(&repo, job) != 0)
		abort();
	repo_load_free(job);
}

static void remove_model(void)
{
	unlink(model_path);
}

static void init_once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	snprintf(model_path, sizeof model_path, "/tmp/fuzz-mlserve-XXXXXX");
	int fd = mkstemp(model_path);
	if (fd < 0 || write(fd, model_text, sizeof model_text - 1) != (ssize_t)(sizeof model_text - 1))
		abort();
	close(fd);
	atexit(remove_model);
	metrics_init(&mx, 1);
	repo_init(&repo, &mx);
	ao.enforce_contract = true;
	ao.quiet = true;
	atomic_store(&ao.ready, true);
	api_ctx_init(&ctx, &repo, &mx, &ao, 0);
	ensure_loaded();
}

static void check(const struct api_resp *r)
{
	if (r->status < 100 || r->status > 599)
		abort();
	if (r->status >= 500 && r->status != 503)
		abort(); /* a 5xx for client input */
	if (strcmp(r->ctype, "application/json") == 0) {
		char m[160];
		/* mjson needs a NUL after the text: mbuf keeps one */
		if (mjson_parse(&check_doc, r->body->data ? r->body->data : "", r->body->len, m, sizeof m) < 0)
			abort(); /* we wrote invalid JSON */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size == 0)
		return 0;
	ao.enforce_contract = !(data[0] & 1);
	size_t chunk = 1 + (data[0] >> 1);
	data++;
	size--;
	static const struct mhttp_limits lim = { 4096, 65536 };
	struct mhttp_conn c;
	mhttp_conn_init(&c, &lim);
	const char *p = (const char *)data;
	size_t left = size;
	while (left > 0) {
		size_t n = left < chunk ? left : chunk;
		size_t used = 0;
		enum mhttp_event ev = mhttp_feed(&c, p, n, &used);
		if (ev == MHTTP_ERROR) {
			if (c.err_status >= 500)
				abort();
			break;
		}
		p += used;
		left -= used;
		if (ev == MHTTP_REQUEST) {
			struct api_resp r;
			api_handle(&ctx, &c.req, &r);
			if (r.job)
				repo_load_free(r.job); /* never read files the input names */
			else
				check(&r);
			mhttp_next(&c);
		} else if (used == 0) {
			break;
		}
	}
	mhttp_conn_release(&c);
	ensure_loaded();
	return 0;
}
