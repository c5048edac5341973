/* cmd_wait.c — `mlctl wait --env E [--for COND] [--timeout D] [--interval
 * D]`: look at an environment every interval until it meets a condition
 * (live, ready, serving[=VERSION], idle, settled[=VERSION]) or the timeout
 * runs out (exit 7), saying on stderr what is still missing. Each look asks
 * the nodes at once (core/node.h), reads the router's live weights
 * (core/router.h) and the ledger and lock afresh; a node that does not
 * answer is "not yet", never an error. It changes nothing. */
#include "cli.h"
#include "common.h"
#include "http.h"
#include "ledger.h"
#include "lock.h"
#include "node.h"
#include "opts.h"
#include "rollout.h"
#include "router.h"
#include "rstate.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct cmd_help cmd_wait_help = {
	"wait", "wait until an environment reaches a state, or time out",
	"  mlctl wait --env E [--for CONDITION] [--timeout D] [--interval D]",
	"  --env E          the environment\n"
	"  --for CONDITION  live, ready, serving[=VERSION], idle or\n"
	"                   settled[=VERSION] (default: settled)\n"
	"  --timeout D      give up and exit 7 after D (default 5m; 0s: look once)\n"
	"  --interval D     time between looks (default 500ms, at least 50ms)",
};

#define WAIT_DEFAULT_TIMEOUT_MS 300000LL
#define WAIT_DEFAULT_INTERVAL_MS 500LL
#define WAIT_MIN_INTERVAL_MS 50LL
#define WAIT_MIN_CALL_MS 100L /* a node call near the deadline still gets this */
#define WAIT_TEXT_ITEMS 5     /* missing items shown in a text line */

enum wait_kind { WAIT_LIVE, WAIT_READY, WAIT_SERVING, WAIT_IDLE, WAIT_SETTLED };

struct wait_cond {
	enum wait_kind kind;
	const char *version; /* serving= / settled=, else NULL */
	char label[96];      /* as reported: "serving=2.0.0", "settled" */
};

/* What one look found. */
struct look {
	char **missing; /* what the condition still lacks, in a stable order */
	size_t n, cap;
	char *model, *version; /* the release looked for (serving, settled) */
	size_t in_rotation;    /* nodes taking live traffic */
	struct ml_err err;     /* with fatal: the ledger or lock unreadable */
	bool fatal;
	int fatal_rc;          /* with fatal: an exit status already reported,
				  or 0 (then err says why) */
};

struct waiter {
	const struct ml_ctx *ctx;
	const struct cfg_env *env;
	const struct wait_cond *cond;
	struct ledger *ledger; /* NULL until the ledger exists */
	struct http_client *http; /* shared by every look, may be NULL */
	char *run_dir;
	const struct cfg_node **nodes; /* env's nodes, for node_run_many */
};

static void miss(struct look *lk, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void miss(struct look *lk, const char *fmt, ...)
{
	if (lk->n == lk->cap) {
		lk->cap = lk->cap ? lk->cap * 2 : 8;
		lk->missing = xrealloc(lk->missing, lk->cap * sizeof(*lk->missing));
	}
	va_list ap;
	va_start(ap, fmt);
	lk->missing[lk->n++] = xvasprintf(fmt, ap);
	va_end(ap);
}

static void look_release(struct look *lk)
{
	for (size_t i = 0; i < lk->n; i++)
		free(lk->missing[i]);
	free(lk->missing);
	free(lk->model);
	free(lk->version);
	memset(lk, 0, sizeof(*lk));
}

static int parse_cond(const char *s, struct wait_cond *c)
{
	static const struct {
		const char *name;
		enum wait_kind kind;
		bool takes_version;
	} kinds[] = {
		{ "live", WAIT_LIVE, false },	    { "ready", WAIT_READY, false },
		{ "serving", WAIT_SERVING, true }, { "idle", WAIT_IDLE, false },
		{ "settled", WAIT_SETTLED, true },
	};
	const char *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : strlen(s);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) != len || strncmp(kinds[i].name, s, len) != 0)
			continue;
		if (eq && (!kinds[i].takes_version || !eq[1] ||
			   strlen(eq + 1) > 64))
			return -1;
		c->kind = kinds[i].kind;
		c->version = eq ? eq + 1 : NULL;
		snprintf(c->label, sizeof(c->label), "%s", s);
		return 0;
	}
	return -1;
}

/* "node N (U): WHAT: reason" -> "reason" (node.h's message shape), and a
 * refused connection as just "connection refused": the node's name says
 * where. Returns buf. */
static const char *node_reason(const struct node_result *r, char *buf,
			       size_t sz)
{
	const char *m = r->err.msg;
	char prefix[600];
	snprintf(prefix, sizeof(prefix), "node %s (%s): ", r->node->name,
		 r->node->url);
	size_t pl = strlen(prefix);
	if (strncmp(m, prefix, pl) == 0) {
		const char *rest = strstr(m + pl, ": ");
		m = rest && rest[2] ? rest + 2 : m + pl;
	}
	snprintf(buf, sz, "%s", *m ? m : "no reason given");
	/* "connect to H:P failed: Connection refused (2 attempts)" */
	const char *f = strstr(buf, " failed: ");
	if (strncmp(buf, "connect to ", 11) == 0 && f) {
		memmove(buf, f + 9, strlen(f + 9) + 1);
		char *att = strstr(buf, " (");
		if (att && strstr(att, "attempt"))
			*att = '\0';
		if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
			buf[0] = (char)(buf[0] - 'A' + 'a');
	}
	return buf;
}

/* ms for one node call: the op's default, but not past the deadline
 * (timeout 0, "look once", gets the defaults). */
static long call_ms(long long remaining_ms, bool once, long def)
{
	if (once)
		return def;
	if (remaining_ms < WAIT_MIN_CALL_MS)
		return WAIT_MIN_CALL_MS;
	return remaining_ms < def ? (long)remaining_ms : def;
}

/* Probe every node (live or ready); a "no" or no answer is missing. */
static void look_probe(struct waiter *w, struct look *lk, enum node_op op,
		       long timeout_ms)
{
	size_t n = w->env->n_nodes;
	struct node_result *res = xcalloc(n + 1, sizeof(*res));
	struct node_call call = NODE_CALL_INIT;
	call.op = op;
	call.timeout_ms = timeout_ms;
	node_run_many(w->env, w->nodes, n, &call, w->http, res);
	char why[512];
	for (size_t i = 0; i < n; i++)
		if (res[i].rc != 0 || !res[i].yes)
			miss(lk, "%s not %s (%s)", w->env->nodes[i].name,
			     op == NODE_OP_LIVE ? "live" : "ready",
			     node_reason(&res[i], why, sizeof(why)));
	node_results_release(res, n);
	free(res);
}

/* The router: is it running, and (with `weights`) its live weights into
 * live[] (1 for every node without a router). Returns false (after saying
 * what is missing) when it does not run or its weights cannot be read. */
static bool look_router(struct waiter *w, struct look *lk, bool weights,
			int *live)
{
	const struct cfg_env *env = w->env;
	for (size_t i = 0; i < env->n_nodes; i++)
		live[i] = 1;
	if (env->router_driver == CFG_ROUTER_NONE)
		return true;
	struct ml_err err = ML_ERR_INIT;
	int g = 1; /* 1: not running, or never started here */
	if (router_running(env, w->run_dir) > 0)
		g = weights ? router_get_weights(env, w->run_dir, live, NULL, &err) : 0;
	if (g > 0) {
		miss(lk, "router %s not running (mlctl up)", router_name(env));
		return false;
	}
	if (g < 0) {
		miss(lk, "%s", err.msg);
		return false;
	}
	return true;
}

/* Every node in rotation serves `version` of `model` (model NULL: of
 * whichever model it serves): with v2, the last READY version of the
 * model in the node's repository index (index order is load order, and
 * unversioned infer serves the last one loaded); with exec, the node's
 * ready command for that version says yes. */
static void look_serving(struct waiter *w, struct look *lk, const int *live,
			 const char *model, const char *version, long timeout_ms)
{
	const struct cfg_env *env = w->env;
	size_t n = env->n_nodes, k = 0;
	const struct cfg_node **p = xcalloc(n + 1, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		if (live[i] > 0)
			p[k++] = &env->nodes[i];
	lk->in_rotation = k;
	if (k == 0) {
		miss(lk, "no node takes traffic");
		free(p);
		return;
	}
	struct node_result *res = xcalloc(k + 1, sizeof(*res));
	struct node_call call = NODE_CALL_INIT;
	call.timeout_ms = timeout_ms;
	bool index = env->node_driver == CFG_NODE_V2;
	if (index) {
		call.op = NODE_OP_INDEX;
	} else {
		call.op = NODE_OP_VERSION_READY;
		call.model = model;
		call.version = version;
	}
	if (!index && !model) {
		/* exec nodes can only be asked about a model we know */
		miss(lk, "nothing deployed to %s yet (the ledger names no model)",
		     env->name);
		free(res);
		free(p);
		return;
	}
	node_run_many(env, p, k, &call, w->http, res);
	char why[512];
	for (size_t i = 0; i < k; i++) {
		const char *name = p[i]->name;
		if (res[i].rc != 0) {
			miss(lk, "%s not answering (%s)", name, node_reason(&res[i], why, sizeof(why)));
			continue;
		}
		if (!index) {
			if (!res[i].yes)
				miss(lk, "%s: %s %s not ready (%s)", name, model,
				     version, node_reason(&res[i], why, sizeof(why)));
			continue;
		}
		const struct node_model_state *serves = NULL;
		for (size_t m = 0; m < res[i].n_models; m++) {
			const struct node_model_state *s = &res[i].models[m];
			if (model && strcmp(s->name, model) != 0)
				continue;
			if (s->state && strcmp(s->state, "READY") == 0)
				serves = s;
		}
		if (!serves)
			miss(lk, "%s serves %s%s", name, model ? "no version of " : "nothing",
			     model ? model : "");
		else if (!serves->version || strcmp(serves->version, version) != 0)
			miss(lk, "%s serves %s %s, not %s", name, serves->name,
			     serves->version ? serves->version : "an unnamed version",
			     version);
	}
	node_results_release(res, k);
	free(res);
	free(p);
}

/* No rollout holds the lock and none is paused. */
static void look_idle(struct waiter *w, struct look *lk)
{
	enum lock_state ls = LOCK_FREE;
	struct lock_holder h;
	if (lock_inspect(w->ctx->state_dir, w->env->name, &ls, &h, &lk->err)) {
		lk->fatal = true;
		return;
	}
	if (ls == LOCK_HELD) {
		char who[400];
		lock_holder_describe(&h, who, sizeof(who));
		miss(lk, "a rollout is running: %s", who);
	}
	struct rollout_paused *pz = NULL;
	if (rollout_paused_load(w->ledger, w->env, &pz, &lk->err)) {
		lk->fatal = true;
		return;
	}
	if (pz)
		miss(lk, "a rollout of %s %s is paused at %d%% (step %d of %d) "
			 "since %s: 'mlctl continue' or 'mlctl abort'",
		     pz->target.model, pz->target.version, pz->canary_percent,
		     pz->canary_step, pz->canary_steps, pz->since);
	rollout_paused_free(pz);
}

/* One look at the environment. lk->fatal when the ledger or the lock
 * cannot be read; everything else the environment lacks is in lk->missing. */
static void look_once(struct waiter *w, struct look *lk, long long remaining_ms,
		      bool once)
{
	const struct wait_cond *c = w->cond;
	const struct cfg_env *env = w->env;
	memset(lk, 0, sizeof(*lk));
	bool want_ready = c->kind == WAIT_READY || c->kind == WAIT_SETTLED;
	bool want_serving = c->kind == WAIT_SERVING || c->kind == WAIT_SETTLED;
	bool want_idle = c->kind == WAIT_IDLE || c->kind == WAIT_SETTLED;
	struct rstate st = { 0 };
	if (want_serving || want_idle) {
		/* the ledger may appear while we wait (a first deploy) */
		if (!w->ledger) {
			int rc = cli_open_ledger(w->ctx, false, &w->ledger);
			if (rc) { /* cli_open_ledger said why */
				lk->fatal = true;
				lk->fatal_rc = rc;
				return;
			}
		}
		if (rstate_load(&st, env, w->ledger, &lk->err)) {
			lk->fatal = true;
			return;
		}
	}
	if (want_idle) {
		look_idle(w, lk);
		if (lk->fatal)
			goto out;
	}
	if (c->kind == WAIT_LIVE)
		look_probe(w, lk, NODE_OP_LIVE,
			   call_ms(remaining_ms, once, NODE_PROBE_TIMEOUT_MS));
	if (want_ready)
		look_probe(w, lk, NODE_OP_READY,
			   call_ms(remaining_ms, once, NODE_PROBE_TIMEOUT_MS));
	int *live = xcalloc(env->n_nodes + 1, sizeof(*live));
	bool router_ok = true;
	if (want_ready || want_serving)
		router_ok = look_router(w, lk, want_serving, live);
	if (want_ready && !want_serving && router_ok)
		lk->in_rotation = env->n_nodes;
	if (want_serving) {
		const char *model = st.release.model;
		const char *recorded = model ? st.release.version : NULL;
		const char *version = c->kind == WAIT_SERVING && c->version
					      ? c->version
					      : recorded;
		if (!version)
			miss(lk, "nothing deployed to %s yet", env->name);
		else if (c->kind == WAIT_SETTLED && c->version &&
			 strcmp(recorded, c->version) != 0)
			miss(lk, "the ledger records %s %s, not %s", model,
			     recorded, c->version);
		if (version && router_ok)
			look_serving(w, lk, live, model, version,
				     call_ms(remaining_ms, once, NODE_QUERY_TIMEOUT_MS));
		if (model)
			lk->model = xstrdup(model);
		if (version)
			lk->version = xstrdup(version);
	}
	free(live);
out:
	if (st.serving)
		rstate_release(&st);
}

/* ---- reporting --------------------------------------------------------- */

/* "1.2 s", "30 s" */
static void fmt_secs(double ms, char *buf, size_t sz)
{
	double s = ms / 1000.0;
	if (s < 10)
		snprintf(buf, sz, "%.1f s", s);
	else
		snprintf(buf, sz, "%.0f s", s);
}

/* The missing items joined by "; ", at most `max` of them (0: all). */
static char *join_missing(const struct look *lk, size_t max)
{
	size_t shown = max && lk->n > max ? max : lk->n, len = 0;
	for (size_t i = 0; i < shown; i++)
		len += strlen(lk->missing[i]) + 2;
	char *s = xmalloc(len + 64);
	s[0] = '\0';
	for (size_t i = 0; i < shown; i++) {
		if (i)
			strcat(s, "; ");
		strcat(s, lk->missing[i]);
	}
	if (shown < lk->n)
		sprintf(s + strlen(s), "; and %zu more", lk->n - shown);
	return s;
}

/* Progress: on a tty one line redrawn at each look; otherwise a line
 * each time what is missing changes. */
static void report_progress(const struct waiter *w, const struct look *lk,
			    double waited_ms, char **last)
{
	char *now = join_missing(lk, WAIT_TEXT_ITEMS);
	if (out_live()) {
		/* the first thing missing and how many more, on one line */
		char secs[32], more[32] = "", line[160];
		fmt_secs(waited_ms, secs, sizeof(secs));
		if (lk->n > 1)
			snprintf(more, sizeof(more), " (+%zu more)", lk->n - 1);
		snprintf(line, sizeof(line), "%s: waiting for %s (%s): %s%s",
			 w->env->name, w->cond->label, secs,
			 lk->n ? lk->missing[0] : "", more);
		if (strlen(line) > 79)
			memcpy(line + 76, "...", 4);
		fprintf(stderr, "\r\033[K%s%s%s", out_ce(OUT_DIM), line,
			out_ce(OUT_RESET));
		fflush(stderr);
	} else if (!*last || strcmp(*last, now) != 0) {
		out_progress("%s: waiting for %s: %s", w->env->name, w->cond->label,
			     now);
	}
	free(*last);
	*last = now;
}

/* "eta 2.0.0 on 4 nodes", "eta 2.0.0 on 2 of 4 nodes", "4 nodes" */
static void met_detail(const struct waiter *w, const struct look *lk,
		       char *buf, size_t sz)
{
	size_t all = w->env->n_nodes;
	char on[64];
	if (lk->in_rotation == all)
		snprintf(on, sizeof(on), "%zu node%s", all, all == 1 ? "" : "s");
	else
		snprintf(on, sizeof(on), "%zu of %zu nodes", lk->in_rotation, all);
	switch (w->cond->kind) {
	case WAIT_LIVE:
		snprintf(buf, sz, "%zu node%s", all, all == 1 ? "" : "s");
		break;
	case WAIT_READY:
		snprintf(buf, sz, "%zu node%s%s%s%s", all, all == 1 ? "" : "s",
			 w->env->router_driver != CFG_ROUTER_NONE ? ", router " : "",
			 w->env->router_driver != CFG_ROUTER_NONE ? router_name(w->env) : "",
			 w->env->router_driver != CFG_ROUTER_NONE ? " running" : "");
		break;
	case WAIT_IDLE:
		snprintf(buf, sz, "no rollout running or paused");
		break;
	case WAIT_SERVING:
	case WAIT_SETTLED:
		snprintf(buf, sz, "%s%s%s on %s", lk->model ? lk->model : "",
			 lk->model ? " " : "", lk->version ? lk->version : "?", on);
		break;
	}
}

static void report_result(const struct waiter *w, const struct look *lk,
			  bool met, double waited_ms)
{
	if (out_is_json()) {
		json_t *o = json_object(), *m = json_array();
		json_object_set_new(o, "env", json_string(w->env->name));
		json_object_set_new(o, "for", json_string(w->cond->label));
		json_object_set_new(o, "met", json_boolean(met));
		json_object_set_new(o, "waited_s",
				    json_real((double)(long long)waited_ms / 1000.0));
		for (size_t i = 0; i < lk->n; i++)
			json_array_append_new(m, json_string(lk->missing[i]));
		json_object_set_new(o, "missing", m);
		json_object_set_new(o, "model", lk->model ? json_string(lk->model) : json_null());
		json_object_set_new(o, "version",
				    lk->version ? json_string(lk->version) : json_null());
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					       JSON_REAL_PRECISION(12));
		out_json_text(t);
		free(t);
		json_decref(o);
		return;
	}
	char secs[32];
	fmt_secs(waited_ms, secs, sizeof(secs));
	if (met) {
		char detail[256];
		met_detail(w, lk, detail, sizeof(detail));
		out_line("%s: %s%s%s (%s) after %s", w->env->name, out_c(OUT_GREEN),
			 w->cond->label, out_c(OUT_RESET), detail, secs);
		return;
	}
	char *why = join_missing(lk, WAIT_TEXT_ITEMS);
	out_line("%s: %stimed out%s after %s waiting for %s: %s", w->env->name,
		 out_c(OUT_RED), out_c(OUT_RESET), secs, w->cond->label, why);
	free(why);
}

static void sleep_ms(long long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the command ------------------------------------------------------- */

int cmd_wait(int argc, char **argv, struct ml_ctx *ctx)
{
	const char *env_name = NULL, *for_s = NULL, *timeout = NULL,
		   *interval = NULL, *pos[1];
	const struct cli_opt opts[] = {
		{ "--env", "-e", &env_name, NULL },
		{ "--for", NULL, &for_s, NULL },
		{ "--timeout", NULL, &timeout, NULL },
		{ "--interval", NULL, &interval, NULL },
		{ 0 },
	};
	if (cli_parse("wait", argc, argv, opts, pos, 0) < 0)
		return ML_EXIT_USAGE;
	if (!env_name)
		return cli_usage_error("wait", "--env E is required");
	struct wait_cond cond;
	if (parse_cond(for_s ? for_s : "settled", &cond))
		return cli_usage_error("wait", "--for takes live, ready, "
					       "serving[=VERSION], idle or "
					       "settled[=VERSION], not '%s'",
				       for_s);
	long long timeout_ms = WAIT_DEFAULT_TIMEOUT_MS;
	if (timeout && (cfg_parse_duration(timeout, &timeout_ms) || timeout_ms < 0))
		return cli_usage_error("wait", "--timeout takes a duration like 30s "
					       "or 5m, not '%s'",
				       timeout);
	long long interval_ms = WAIT_DEFAULT_INTERVAL_MS;
	if (interval && (cfg_parse_duration(interval, &interval_ms) ||
			 interval_ms < WAIT_MIN_INTERVAL_MS))
		return cli_usage_error("wait", "--interval takes a duration of at "
					       "least 50ms, like 500ms or 2s, not "
					       "'%s'",
				       interval);

	struct project proj = { 0 };
	struct cfg_env *env = NULL;
	struct waiter w = { ctx, NULL, &cond, NULL, NULL, NULL, NULL };
	struct look lk = { 0 };
	char *last = NULL;
	int rc = cli_load_env_tolerant("wait", env_name, &proj, &env);
	if (rc)
		goto out;
	w.env = env;
	w.run_dir = rollout_run_dir(ctx, env);
	w.nodes = xcalloc(env->n_nodes + 1, sizeof(*w.nodes));
	for (size_t i = 0; i < env->n_nodes; i++)
		w.nodes[i] = &env->nodes[i];
	struct ml_err herr = ML_ERR_INIT;
	if (http_client_new(&w.http, NULL, &herr))
		w.http = NULL; /* each look then makes its own connections */
	double t0 = now_ms(), deadline = t0 + (double)timeout_ms;
	bool once = timeout_ms == 0;
	for (;;) {
		double start = now_ms();
		look_release(&lk);
		look_once(&w, &lk, (long long)(deadline - start), once);
		double t = now_ms();
		if (lk.fatal) {
			if (out_live())
				fputs("\r\033[K", stderr);
			rc = lk.fatal_rc ? lk.fatal_rc : cli_fail(&lk.err);
			goto out;
		}
		bool met = lk.n == 0;
		if (met || t >= deadline) {
			if (out_live() && last)
				fputs("\r\033[K", stderr);
			report_result(&w, &lk, met, t - t0);
			rc = met ? ML_EXIT_OK : ML_EXIT_WAIT_TIMEOUT;
			goto out;
		}
		report_progress(&w, &lk, t - t0, &last);
		double next = start + (double)interval_ms;
		if (next > deadline)
			next = deadline;
		sleep_ms((long long)(next - now_ms()));
	}
out:
	look_release(&lk);
	free(last);
	http_client_close(w.http);
	free(w.nodes);
	free(w.run_dir);
	ledger_free(w.ledger);
	project_release(&proj);
	return rc;
}
