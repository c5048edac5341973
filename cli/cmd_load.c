/* cmd_load.c — `mlctl load`: run the load generator (core/load) against a
 * URL or an environment's release, show live progress on a tty, print the
 * summary (text or JSON), write the HTML report, and turn thresholds into
 * the exit status. The engine, output documents and report are the
 * library's; this file parses flags and prints. */
#include "cli.h"
#include "common.h"
#include "config.h"
#include "gates/gate.h"
#include "load/load.h"
#include "load/target.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct cmd_help cmd_load_help = {
	"load", "generate HTTP load and measure latency without coordinated omission",
	"  mlctl load URL [options]\n"
	"  mlctl load --env E --release R [options]",
	"  URL                 http://host:port/path to load\n"
	"  --env E             load environment E (envs/E.yaml, or a path): its\n"
	"                      router, or its nodes round-robin without one\n"
	"  --release R         with --env: the release manifest whose V2 infer\n"
	"                      path and first smoke case make the request; its\n"
	"                      checks.load gives the defaults\n"
	"  -r, --rate N|max    requests per second on a fixed schedule (open\n"
	"                      model, default 100); max: each connection sends\n"
	"                      when the previous answer arrives (closed model)\n"
	"  -d, --duration D    how long to send, up to 24h (default 10s)\n"
	"  -c, --connections C keep-alive connections (default 16)\n"
	"  -t, --threads T     event-loop threads (default: enough for the rate;\n"
	"                      with max, one per CPU)\n"
	"      --timeout D     per-request timeout (default 10s)\n"
	"  -m, --method M      request method (default GET, POST with a body)\n"
	"  -H, --header 'N: V' add a request header (repeatable)\n"
	"  -b, --body FILE     request body from FILE ('-' for stdin)\n"
	"      --max-p99 D     fail (exit 1) when p99 latency is above D\n"
	"      --max-error-rate P  fail when the error rate is above P (1% or 0.01)\n"
	"      --min-rate N    fail when the achieved rate is below N req/s\n"
	"      --report FILE   write a self-contained HTML report\n"
	"  Exit status: 0 ok, 1 a threshold broken, 2 bad usage, 3 not one\n"
	"  response from the target.",
};

#define MAX_HEADERS 64

struct load_args {
	const char *url;
	const char *env, *release;
	const char *rate_s;
	double rate;
	bool rate_set, closed;
	long long duration_ms;
	int connections, threads;
	long long timeout_ms;
	const char *method;
	const char *headers[MAX_HEADERS];
	size_t n_headers;
	const char *body_file;
	struct load_thresholds th;
	const char *report;
};

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
	(void)sig;
	g_stop = 1;
}

enum opt_id {
	O_ENV, O_RELEASE, O_RATE, O_DURATION, O_CONNECTIONS, O_THREADS,
	O_TIMEOUT, O_METHOD, O_HEADER, O_BODY, O_MAX_P99, O_MAX_ERROR_RATE,
	O_MIN_RATE, O_REPORT,
};

#define LOAD_MAX_DURATION_MS (24LL * 3600 * 1000)

/* Every option takes a value: "--opt VALUE", "--opt=VALUE", "-x VALUE". */
static const struct {
	enum opt_id id;
	const char *lng, *shrt;
} opts[] = {
	{ O_ENV, "--env", NULL },
	{ O_RELEASE, "--release", NULL },
	{ O_RATE, "--rate", "-r" },
	{ O_DURATION, "--duration", "-d" },
	{ O_CONNECTIONS, "--connections", "-c" },
	{ O_THREADS, "--threads", "-t" },
	{ O_TIMEOUT, "--timeout", NULL },
	{ O_METHOD, "--method", "-m" },
	{ O_HEADER, "--header", "-H" },
	{ O_BODY, "--body", "-b" },
	{ O_MAX_P99, "--max-p99", NULL },
	{ O_MAX_ERROR_RATE, "--max-error-rate", NULL },
	{ O_MIN_RATE, "--min-rate", NULL },
	{ O_REPORT, "--report", NULL },
};

/* Which option argv[*i] is (-1: none); its value in *val, or NULL when
 * it is missing. */
static int match_opt(int argc, char **argv, int *i, const char **val)
{
	const char *a = argv[*i];
	*val = NULL;
	for (size_t k = 0; k < sizeof(opts) / sizeof(*opts); k++) {
		size_t n = strlen(opts[k].lng);
		if (strncmp(a, opts[k].lng, n) == 0 && a[n] == '=') {
			*val = a + n + 1;
			return (int)k;
		}
		if (strcmp(a, opts[k].lng) == 0 ||
		    (opts[k].shrt && strcmp(a, opts[k].shrt) == 0)) {
			if (*i + 1 < argc)
				*val = argv[++*i];
			return (int)k;
		}
	}
	return -1;
}

static int parse_count(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* A duration in ms that may be below a millisecond ("0.5ms", "800us"). */
static int parse_ms(const char *s, double *ms)
{
	size_t n = strlen(s);
	char *end;
	if (n > 2 && (strcmp(s + n - 2, "us") == 0 ||
		      strcmp(s + n - 2, "ms") == 0)) {
		errno = 0;
		double v = strtod(s, &end);
		if (end != s + n - 2 || errno || !(v >= 0) || !isfinite(v))
			return -1;
		*ms = s[n - 2] == 'u' ? v / 1000 : v;
		return 0;
	}
	long long v;
	if (cfg_parse_duration(s, &v) < 0)
		return -1;
	*ms = (double)v;
	return 0;
}

static int set_opt(struct load_args *a, enum opt_id id, const char *v)
{
	switch (id) {
	case O_ENV:
		a->env = v;
		break;
	case O_RELEASE:
		a->release = v;
		break;
	case O_RATE:
		a->rate_set = true;
		a->closed = strcmp(v, "max") == 0;
		if (!a->closed &&
		    (cfg_parse_rate(v, &a->rate) < 0 || a->rate > 10e6))
			return cli_usage_error(
				"load", "--rate takes requests per second "
					"(e.g. 500 or 500/s, at most 10000000) "
					"or 'max', not '%s'", v);
		break;
	case O_DURATION:
		/* bounded: a load run stops by itself, within a day */
		if (cfg_parse_duration(v, &a->duration_ms) < 0 ||
		    a->duration_ms <= 0 || a->duration_ms > LOAD_MAX_DURATION_MS)
			return cli_usage_error(
				"load", "--duration takes a duration from 1ms "
					"to 24h (e.g. 10s, 2m), not '%s'", v);
		break;
	case O_CONNECTIONS:
		if (parse_count(v, 1, 100000, &a->connections) < 0)
			return cli_usage_error("load",
					       "--connections takes a count "
					       "1..100000, not '%s'", v);
		break;
	case O_THREADS:
		if (parse_count(v, 1, 256, &a->threads) < 0)
			return cli_usage_error("load",
					       "--threads takes a count 1..256, "
					       "not '%s'", v);
		break;
	case O_TIMEOUT:
		if (cfg_parse_duration(v, &a->timeout_ms) < 0 ||
		    a->timeout_ms <= 0)
			return cli_usage_error("load",
					       "--timeout takes a positive "
					       "duration, not '%s'", v);
		break;
	case O_METHOD:
		a->method = v;
		break;
	case O_HEADER:
		if (a->n_headers == MAX_HEADERS)
			return cli_usage_error("load", "at most %d headers",
					       MAX_HEADERS);
		a->headers[a->n_headers++] = v;
		break;
	case O_BODY:
		a->body_file = v;
		break;
	case O_MAX_P99:
		if (parse_ms(v, &a->th.max_p99_ms) < 0)
			return cli_usage_error("load",
					       "--max-p99 takes a duration (e.g. "
					       "50ms, 800us), not '%s'", v);
		break;
	case O_MAX_ERROR_RATE:
		if (cfg_parse_percent(v, &a->th.max_error_rate) < 0)
			return cli_usage_error("load",
					       "--max-error-rate takes a "
					       "percentage (1%%) or a fraction "
					       "(0.01), not '%s'", v);
		break;
	case O_MIN_RATE:
		if (cfg_parse_rate(v, &a->th.min_rate) < 0)
			return cli_usage_error("load",
					       "--min-rate takes requests per "
					       "second, not '%s'", v);
		break;
	case O_REPORT:
		a->report = v;
		break;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct load_args *a)
{
	bool dashdash = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		int k = -1;
		if (!dashdash && strcmp(arg, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (!dashdash)
			k = match_opt(argc, argv, &i, &v);
		if (k >= 0) {
			if (!v)
				return cli_usage_error("load",
						       "option '%s' needs a "
						       "value", arg);
			int rc = set_opt(a, opts[k].id, v);
			if (rc)
				return rc;
		} else if (!dashdash && arg[0] == '-' && arg[1]) {
			return cli_usage_error("load", "unknown option '%s'",
					       arg);
		} else if (!a->url) {
			a->url = arg;
		} else {
			return cli_usage_error("load",
					       "unexpected argument '%s'", arg);
		}
	}
	return 0;
}

/* ---- printing ------------------------------------------------------------ */

static void fmt_ms(char *buf, size_t n, double ms)
{
	if (ms < 1)
		snprintf(buf, n, "%.3fms", ms);
	else if (ms < 100)
		snprintf(buf, n, "%.2fms", ms);
	else if (ms < 10000)
		snprintf(buf, n, "%.0fms", ms);
	else
		snprintf(buf, n, "%.1fs", ms / 1000);
}

struct live {
	bool on;
	bool drawn;
};

static void on_progress(const struct load_progress *p, void *payload)
{
	struct live *l = payload;
	if (!l->on)
		return;
	char p99[32] = "-";
	if (p->requests)
		fmt_ms(p99, sizeof(p99), p->p99_ms);
	fprintf(stderr,
		"\r\033[K%s%5.1fs%s / %.0fs  %8.0f req/s  p99 %s  "
		"requests %llu  errors %s%llu%s",
		out_ce(OUT_BOLD), p->elapsed_s, out_ce(OUT_RESET),
		p->duration_s, p->rate, p99, (unsigned long long)p->requests,
		p->errors ? out_ce(OUT_RED) : "", (unsigned long long)p->errors,
		p->errors ? out_ce(OUT_RESET) : "");
	fflush(stderr);
	l->drawn = true;
}

static void describe(const struct load_opts *o, char *buf, size_t n)
{
	int k = snprintf(buf, n, "%s", o->urls[0]);
	if (o->n_urls > 1 && k > 0 && (size_t)k < n)
		k += snprintf(buf + k, n - (size_t)k, " (+%zu more)",
			      o->n_urls - 1);
	if (k < 0 || (size_t)k >= n)
		return;
	const char *m = o->method ? o->method : o->body ? "POST" : "GET";
	if (o->rate > 0)
		snprintf(buf + k, n - (size_t)k,
			 " — %s, open model at %g req/s for %gs, %d "
			 "connections, %d thread%s",
			 m, o->rate, (double)o->duration_ms / 1000,
			 o->connections, o->threads, o->threads == 1 ? "" : "s");
	else
		snprintf(buf + k, n - (size_t)k,
			 " — %s, closed model (rate max) for %gs, %d "
			 "connections, %d thread%s",
			 m, (double)o->duration_ms / 1000, o->connections,
			 o->threads, o->threads == 1 ? "" : "s");
}

static void print_text(const struct load_opts *o, const struct load_result *r,
		       const struct load_verdict *v)
{
	char desc[1024];
	describe(o, desc, sizeof(desc));
	struct load_latency l;
	load_result_latency(r, &l);
	out_line("%starget%s      %s", out_c(OUT_BOLD), out_c(OUT_RESET), desc);
	out_line("%srequests%s    %llu in %.3fs = %.1f req/s%s",
		 out_c(OUT_BOLD), out_c(OUT_RESET),
		 (unsigned long long)r->requests, r->elapsed_s,
		 r->achieved_rate, r->interrupted ? " (interrupted)" : "");
	char classes[256] = "";
	size_t k = 0;
	for (int i = 0; i < LOAD_ERR_COUNT; i++)
		if (r->errors[i] && k < sizeof(classes))
			k += (size_t)snprintf(classes + k, sizeof(classes) - k,
					      "%s%s %llu", k ? ", " : ": ",
					      load_error_name(i),
					      (unsigned long long)r->errors[i]);
	out_line("%serrors%s      %s%llu%s (%.2f%%)%s", out_c(OUT_BOLD),
		 out_c(OUT_RESET), r->errors_total ? out_c(OUT_RED) : "",
		 (unsigned long long)r->errors_total,
		 r->errors_total ? out_c(OUT_RESET) : "", 100 * r->error_rate,
		 classes);
	if (o->rate > 0)
		out_line("%slate%s        %llu", out_c(OUT_BOLD),
			 out_c(OUT_RESET), (unsigned long long)r->late);
	out_line("%sreconnects%s  %llu", out_c(OUT_BOLD), out_c(OUT_RESET),
		 (unsigned long long)r->reconnects);
	if (r->latency.total) {
		char b[7][32];
		double vals[7] = { l.min, l.p50, l.p90, l.p99, l.p999, l.max,
				   l.mean };
		for (int i = 0; i < 7; i++)
			fmt_ms(b[i], sizeof(b[i]), vals[i]);
		out_line("%slatency%s     p50 %s  p90 %s  p99 %s  p99.9 %s  "
			 "max %s  (min %s, mean %s, from %s)",
			 out_c(OUT_BOLD), out_c(OUT_RESET), b[1], b[2], b[3],
			 b[4], b[5], b[0], b[6],
			 o->rate > 0 ? "scheduled start" : "send");
	} else {
		out_line("%slatency%s     no response", out_c(OUT_BOLD),
			 out_c(OUT_RESET));
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct load_verdict_item *it = &v->items[i];
		char lim[32], val[32];
		const char *op;
		if (strcmp(it->name, "max_p99") == 0) {
			fmt_ms(lim, sizeof(lim), it->limit);
			fmt_ms(val, sizeof(val), it->value);
			op = "<=";
		} else if (strcmp(it->name, "max_error_rate") == 0) {
			snprintf(lim, sizeof(lim), "%g%%", 100 * it->limit);
			snprintf(val, sizeof(val), "%.3g%%", 100 * it->value);
			op = "<=";
		} else {
			snprintf(lim, sizeof(lim), "%g req/s", it->limit);
			snprintf(val, sizeof(val), "%.1f req/s", it->value);
			op = ">=";
		}
		out_line("%s%-11s%s %s %s (%s %s)  %s%s%s",
			 out_c(OUT_BOLD), i == 0 ? "thresholds" : "",
			 out_c(OUT_RESET), it->name, val, op, lim,
			 it->ok ? out_c(OUT_GREEN) : out_c(OUT_RED),
			 it->ok ? "ok" : "BROKEN", out_c(OUT_RESET));
	}
	if (v->n)
		out_line("%sresult%s      %s%s%s", out_c(OUT_BOLD),
			 out_c(OUT_RESET),
			 v->passed ? out_c(OUT_GREEN) : out_c(OUT_RED),
			 v->passed ? "passed" : "FAILED", out_c(OUT_RESET));
}

/* ---- the command ---------------------------------------------------------- */

static int read_body(const char *path, char **out, size_t *len)
{
	if (strcmp(path, "-") != 0)
		return read_file(path, 64 << 20, out, len);
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += got;
		if (n == cap) {
			if (cap >= (64u << 20)) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

static char *env_path(const char *e)
{
	if (strchr(e, '/') || str_has_suffix(e, ".yaml") ||
	    str_has_suffix(e, ".yml"))
		return xstrdup(e);
	return xasprintf("envs/%s.yaml", e);
}

static void print_diags(struct ml_diags *d)
{
	ml_diags_sort(d);
	for (size_t i = 0; i < d->len; i++) {
		char *s = ml_diag_format(&d->items[i]);
		out_err_line(s);
		free(s);
	}
}

static int default_threads(const struct load_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	int t;
	if (o->rate > 0) /* about 25k req/s per loop thread is comfortable */
		t = (int)ceil(o->rate / 25000.0);
	else
		t = (int)cpus;
	if (t > cpus)
		t = (int)cpus;
	if (t > o->connections)
		t = o->connections;
	return t < 1 ? 1 : t;
}

int cmd_load(int argc, char **argv, struct ml_ctx *ctx)
{
	(void)ctx;
	struct load_args a;
	memset(&a, 0, sizeof(a));
	a.th = (struct load_thresholds)LOAD_THRESHOLDS_INIT;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (!a.url && !a.env)
		return cli_usage_error("load", "give a URL or --env E "
					       "--release R");
	if (a.url && a.env)
		return cli_usage_error("load", "give a URL or --env, not both");
	if (a.release && !a.env)
		return cli_usage_error("load", "--release needs --env");
	if (a.env && !a.release)
		return cli_usage_error("load", "--env needs --release R (the "
					       "release whose infer request "
					       "to send)");
	if (cli_check_output_path("load", "--report", a.report))
		return ML_EXIT_USAGE;

	struct cfg_env *env = NULL;
	struct cfg_release *rel = NULL;
	struct load_env_target tg;
	memset(&tg, 0, sizeof(tg));
	struct ml_err err = ML_ERR_INIT;
	struct load_result res;
	memset(&res, 0, sizeof(res));
	char *body = NULL;
	size_t body_len = 0;
	rc = ML_EXIT_USAGE;

	struct load_opts o = LOAD_OPTS_INIT;
	const char *url1[1];
	double rate = 0;
	long long duration_ms = 0;
	int connections = 0;
	if (a.env) {
		struct ml_diags d = ML_DIAGS_INIT;
		char *ep = env_path(a.env);
		if (!path_is_file(ep)) {
			out_error("environment '%s': %s not found", a.env, ep);
			free(ep);
			goto out;
		}
		int e1 = cfg_env_load(ep, &env, &d);
		free(ep);
		int e2 = cfg_release_load(a.release, &rel, &d);
		if (e1 < 0 || e2 < 0) {
			print_diags(&d);
			ml_diags_release(&d);
			goto out;
		}
		ml_diags_release(&d);
		if (load_env_target_init(&tg, env, rel, &err) < 0) {
			out_error("%s", err.msg);
			goto out;
		}
		/* client traffic: the unversioned path answers with whatever
		 * serves, so say it when that cannot be the release (its
		 * figures are then another version's) */
		struct gate_target gt;
		memset(&gt, 0, sizeof(gt));
		struct ml_err gerr = ML_ERR_INIT;
		if (gate_target_find(env, rel, NULL, &gt, &gerr) &&
		    gerr.code == ML_EXIT_USAGE)
			out_warn("load: %s %s is loaded on no node of %s: the "
				 "answers come from the version each node serves",
				 rel->model, rel->version, env->name);
		gate_target_release(&gt);
		ml_err_release(&gerr);
		load_env_target_apply(&tg, &o);
		struct load_thresholds rt = LOAD_THRESHOLDS_INIT;
		load_checks_merge(env, rel, &rate, &duration_ms, &connections,
				  &rt);
		if (a.th.max_p99_ms < 0)
			a.th.max_p99_ms = rt.max_p99_ms;
		if (a.th.max_error_rate < 0)
			a.th.max_error_rate = rt.max_error_rate;
	} else {
		url1[0] = a.url;
		o.urls = url1;
		o.n_urls = 1;
	}
	if (a.method)
		o.method = a.method;
	if (a.n_headers) {
		/* the command line's headers, after the target's own */
		size_t n = o.n_headers + a.n_headers;
		const char **hs = xcalloc(n, sizeof(char *));
		for (size_t i = 0; i < o.n_headers; i++)
			hs[i] = o.headers[i];
		for (size_t i = 0; i < a.n_headers; i++)
			hs[o.n_headers + i] = a.headers[i];
		o.headers = hs;
		o.n_headers = n;
	}
	if (a.body_file) {
		if (read_body(a.body_file, &body, &body_len) < 0) {
			out_error("--body %s: %s", a.body_file, strerror(errno));
			goto out;
		}
		o.body = body;
		o.body_len = body_len;
	}
	o.rate = a.closed ? 0 : a.rate_set ? a.rate : rate > 0 ? rate : 100;
	o.duration_ms = a.duration_ms ? a.duration_ms
			: duration_ms ? duration_ms : 10000;
	o.connections = a.connections ? a.connections
			: connections ? connections : 16;
	if (a.timeout_ms)
		o.timeout_ms = a.timeout_ms;
	o.threads = a.threads ? a.threads : default_threads(&o);
	o.stop = &g_stop;
	if (load_opts_check(&o, &err) < 0) {
		cli_usage_error("load", "%s", err.msg);
		goto out;
	}

	char desc[1024];
	describe(&o, desc, sizeof(desc));
	out_progress("load: %s", desc);
	struct live live = { out_live() && !out_quiet(), false };
	/* the figures move once a second; the clock, four times */
	o.progress_ms = live.on ? 250 : 0;
	struct sigaction sa, old_sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	g_stop = 0;
	sigaction(SIGINT, &sa, &old_sa);
	int run = load_run(&o, &res, on_progress, &live, &err);
	sigaction(SIGINT, &old_sa, NULL);
	if (live.drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	if (run < 0) {
		out_error("%s", err.msg);
		rc = err.code ? err.code : ML_EXIT_OPERATIONAL;
		goto out;
	}

	struct load_verdict v;
	load_check(&a.th, &res, &v);
	if (out_is_json()) {
		char *js = load_result_json(&o, &res, &v);
		out_json_text(js);
		free(js);
	} else {
		print_text(&o, &res, &v);
	}
	if (a.report) {
		char *title = rel ? xasprintf("Load: %s %s in %s", rel->model,
					      rel->version, env->name)
				  : xasprintf("Load: %s", o.urls[0]);
		if (load_report_write(a.report, title, &o, &res, &v, &err) <
		    0) {
			out_error("--report %s", err.msg);
			free(title);
			rc = ML_EXIT_USAGE;
			goto out;
		}
		free(title);
		out_progress("load: report written to %s", a.report);
	}
	if (res.requests > 0 && res.latency.total == 0) {
		/* not one response: the target is down, not slow */
		char why[256] = "";
		size_t k = 0;
		for (int i = 0; i < LOAD_ERR_COUNT; i++)
			if (res.errors[i] && k < sizeof(why))
				k += (size_t)snprintf(
					why + k, sizeof(why) - k, "%s%s %llu",
					k ? ", " : "", load_error_name(i),
					(unsigned long long)res.errors[i]);
		out_error("no response from %s%s (%s)", o.urls[0],
			  o.n_urls > 1 ? " and the others" : "", why);
		rc = ML_EXIT_OPERATIONAL;
	} else if (!v.passed) {
		rc = ML_EXIT_CHECK_FAILED;
	} else if (res.interrupted && v.n > 0) {
		/* a cut-short run cannot pass its checks */
		out_warn("interrupted: the thresholds were not checked over "
			 "the whole run");
		rc = ML_EXIT_CHECK_FAILED;
	} else {
		rc = ML_EXIT_OK;
	}
out:
	if (a.n_headers)
		free((void *)o.headers);
	free(body);
	load_result_release(&res);
	load_env_target_release(&tg);
	cfg_env_free(env);
	cfg_release_free(rel);
	ml_err_release(&err);
	return rc;
}
