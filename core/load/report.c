/* report.c — the self-contained HTML report of one load run: summary,
 * thresholds, and four inline SVG charts (latency histogram, percentile
 * spectrum, latency over time, throughput over time). No script, no
 * external resource. The page is polyglot XHTML5: it parses as HTML and is
 * well-formed XML, so `xmllint` checks it either way. */
#include "load/load.h"

#include "exitcode.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable string --------------------------------------------------- */
struct sb {
	char *s;
	size_t len, cap;
};

static void sb_addv(struct sb *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	b->len += (size_t)n;
}

static void sb_add(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_addv(b, fmt, ap);
	va_end(ap);
}

/* Text or attribute value, escaped for HTML and XML alike. */
static void sb_esc(struct sb *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sb_add(b, "&amp;"); break;
		case '<': sb_add(b, "&lt;"); break;
		case '>': sb_add(b, "&gt;"); break;
		case '"': sb_add(b, "&quot;"); break;
		case '\'': sb_add(b, "&#39;"); break;
		default:
			/* control characters are not allowed in XML */
			if ((unsigned char)*s < 0x20 && *s != '\n' &&
			    *s != '\t')
				sb_add(b, "?");
			else
				sb_add(b, "%c", *s);
		}
	}
}

/* ---- chart frame ---------------------------------------------------------- */
#define W 720
#define H 260
#define ML 64 /* margins */
#define MR 20
#define MT 16
#define MB 44
#define PW (W - ML - MR)
#define PH (H - MT - MB)

/* A "nice" axis step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double span, int n)
{
	if (!(span > 0))
		return 1;
	double raw = span / n;
	double p = pow(10, floor(log10(raw)));
	double f = raw / p;
	double step = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
	return step * p;
}

static void fmt_num(char *buf, size_t n, double v)
{
	if (v == 0)
		snprintf(buf, n, "0");
	else if (fabs(v) >= 100)
		snprintf(buf, n, "%.0f", v);
	else if (fabs(v) >= 1)
		snprintf(buf, n, "%.3g", v);
	else
		snprintf(buf, n, "%.2g", v);
}

static void svg_open(struct sb *b, const char *title, const char *desc)
{
	sb_add(b, "<div class=\"fig\">\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
		  "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		  "role=\"img\">\n<title>", W, H, W, H);
	sb_esc(b, title);
	sb_add(b, "</title>\n<desc>");
	sb_esc(b, desc);
	sb_add(b, "</desc>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		  "class=\"plot\"/>\n", ML, MT, PW, PH);
}

static void svg_close(struct sb *b, const char *caption)
{
	sb_add(b, "</svg>\n<p class=\"cap\">");
	sb_esc(b, caption);
	sb_add(b, "</p>\n</div>\n");
}

/* Linear y axis from 0 to ymax with gridlines; returns the axis top. */
static double y_axis(struct sb *b, double ymax, const char *label)
{
	if (!(ymax > 0))
		ymax = 1;
	double step = nice_step(ymax, 5);
	double top = ceil(ymax / step) * step;
	for (double v = 0; v <= top + step / 2; v += step) {
		double y = MT + PH - v / top * PH;
		char t[32];
		fmt_num(t, sizeof(t), v);
		sb_add(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			  "class=\"grid\"/>\n", ML, y, ML + PW, y);
		sb_add(b, "<text x=\"%d\" y=\"%.1f\" class=\"yl\">%s</text>\n",
		       ML - 6, y + 3, t);
	}
	sb_add(b, "<text x=\"14\" y=\"%d\" class=\"axis\" "
		  "transform=\"rotate(-90 14 %d)\">", MT + PH / 2, MT + PH / 2);
	sb_esc(b, label);
	sb_add(b, "</text>\n");
	return top;
}

static void x_label(struct sb *b, const char *label)
{
	sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"axis\">", ML + PW / 2,
	       H - 6);
	sb_esc(b, label);
	sb_add(b, "</text>\n");
}

static void x_tick(struct sb *b, double x, const char *t)
{
	sb_add(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		  "class=\"tick\"/>\n", x, MT + PH, x, MT + PH + 4);
	sb_add(b, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">", x, MT + PH + 16);
	sb_esc(b, t);
	sb_add(b, "</text>\n");
}

static void no_data(struct sb *b)
{
	sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"axis\">no data</text>\n",
	       ML + PW / 2, MT + PH / 2);
}

/* ---- chart 1: latency histogram on log-spaced bins ------------------------ */
#define BINS_PER_DECADE 10

static void chart_histogram(struct sb *b, const struct load_result *r)
{
	svg_open(b, "Latency distribution",
		 "Share of answered requests per latency bin (log scale).");
	const struct hist *h = &r->latency;
	if (h->total == 0) {
		no_data(b);
		svg_close(b, "Latency distribution: no answered request.");
		return;
	}
	/* bins from the decade below min to the decade above max (µs) */
	int d0 = (int)floor(log10((double)h->min));
	int d1 = (int)ceil(log10((double)h->max + 1));
	if (d1 <= d0)
		d1 = d0 + 1;
	int nb = (d1 - d0) * BINS_PER_DECADE;
	uint64_t *bins = xcalloc((size_t)nb, sizeof(uint64_t));
	size_t it = 0;
	int64_t lo, hi;
	uint64_t cnt;
	while (hist_next(h, &it, &lo, &hi, &cnt)) {
		double mid = ((double)lo + (double)hi) / 2;
		int k = (int)floor((log10(mid) - d0) * BINS_PER_DECADE);
		if (k < 0)
			k = 0;
		if (k >= nb)
			k = nb - 1;
		bins[k] += cnt;
	}
	double maxshare = 0;
	for (int k = 0; k < nb; k++) {
		double s = 100.0 * (double)bins[k] / (double)h->total;
		if (s > maxshare)
			maxshare = s;
	}
	double top = y_axis(b, maxshare, "% of requests");
	double bw = (double)PW / nb;
	for (int k = 0; k < nb; k++) {
		if (!bins[k])
			continue;
		double s = 100.0 * (double)bins[k] / (double)h->total;
		double bh = s / top * PH;
		double lo_ms = pow(10, d0 + (double)k / BINS_PER_DECADE) / 1000;
		double hi_ms = pow(10, d0 + (double)(k + 1) / BINS_PER_DECADE) /
			       1000;
		sb_add(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			  "height=\"%.1f\" class=\"bar\"><title>%.3g-%.3g ms: "
			  "%llu (%.2f%%)</title></rect>\n",
		       ML + k * bw + 0.5, MT + PH - bh, bw > 2 ? bw - 1 : bw,
		       bh, lo_ms, hi_ms, (unsigned long long)bins[k], s);
	}
	for (int d = d0; d <= d1; d++) {
		char t[32];
		fmt_num(t, sizeof(t), pow(10, d) / 1000);
		x_tick(b, ML + (double)(d - d0) * BINS_PER_DECADE * bw, t);
	}
	/* p50 and p99 markers */
	static const double ps[] = { 50, 99 };
	static const char *const names[] = { "p50", "p99" };
	int64_t v[2];
	hist_percentiles(h, ps, 2, v);
	for (int i = 0; i < 2; i++) {
		double x = ML + (log10((double)v[i]) - d0) *
				BINS_PER_DECADE * bw;
		sb_add(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			  "class=\"mark%d\"/>\n", x, MT, x, MT + PH, i);
		sb_add(b, "<text x=\"%.1f\" y=\"%d\" class=\"ml\">%s %.3g ms"
			  "</text>\n", x + 3, MT + 12 + 12 * i, names[i],
		       (double)v[i] / 1000);
	}
	x_label(b, "latency (ms, log scale)");
	free(bins);
	svg_close(b, "Latency distribution of every answered request, with "
		     "the p50 and p99 marked.");
}

/* ---- chart 2: percentile spectrum ------------------------------------------ */
static void chart_spectrum(struct sb *b, const struct load_result *r)
{
	svg_open(b, "Latency by percentile",
		 "Latency at each percentile; the x axis stretches the tail.");
	const struct hist *h = &r->latency;
	if (h->total == 0) {
		no_data(b);
		svg_close(b, "Latency by percentile: no answered request.");
		return;
	}
	/* x = log10(1 / (1 - q)), up to 99.999% or what the count resolves */
	double xmax = log10((double)h->total);
	if (xmax > 5)
		xmax = 5;
	if (xmax < 2)
		xmax = 2;
	double top = y_axis(b, (double)h->max / 1000, "latency (ms)");
	sb_add(b, "<path class=\"l1\" d=\"");
	int n = 240;
	for (int i = 0; i <= n; i++) {
		double xv = xmax * i / n;
		double q = 100.0 * (1 - pow(10, -xv));
		double y = (double)hist_percentile(h, q) / 1000;
		sb_add(b, "%s%.1f %.1f", i ? "L" : "M", ML + xv / xmax * PW,
		       MT + PH - y / top * PH);
	}
	sb_add(b, "\"/>\n");
	static const char *const ticks[] = { "0%", "90%", "99%", "99.9%",
					     "99.99%", "99.999%" };
	for (int d = 0; d <= (int)xmax; d++)
		x_tick(b, ML + d / xmax * PW, ticks[d]);
	x_label(b, "percentile");
	svg_close(b, "Latency at each percentile of the run (the shape of "
		     "the tail).");
}

/* ---- charts 3, 4: over time ------------------------------------------------- */
static double t_end(const struct load_result *r)
{
	if (r->n_series == 0)
		return 1;
	const struct load_point *p = &r->series[r->n_series - 1];
	return p->t_s + p->dur_s;
}

static void time_axis(struct sb *b, double tmax)
{
	double step = nice_step(tmax, 8);
	for (double t = 0; t <= tmax + 1e-9; t += step) {
		char s[32];
		fmt_num(s, sizeof(s), t);
		x_tick(b, ML + t / tmax * PW, s);
	}
	x_label(b, "time (s)");
}

static void chart_latency_time(struct sb *b, const struct load_result *r)
{
	svg_open(b, "Latency over time",
		 "p50, p99 and max latency of the requests answered in each "
		 "second.");
	if (r->n_series == 0) {
		no_data(b);
		svg_close(b, "Latency over time: no data.");
		return;
	}
	double ymax = 0;
	for (size_t i = 0; i < r->n_series; i++)
		if (r->series[i].max_ms > ymax)
			ymax = r->series[i].max_ms;
	double top = y_axis(b, ymax, "latency (ms)");
	double tmax = t_end(r);
	static const char *const cls[] = { "l3", "l2", "l1" };
	static const char *const names[] = { "max", "p99", "p50" };
	for (int k = 0; k < 3; k++) {
		sb_add(b, "<path class=\"%s\" d=\"", cls[k]);
		bool first = true;
		for (size_t i = 0; i < r->n_series; i++) {
			const struct load_point *p = &r->series[i];
			if (p->requests - p->errors == 0 && p->max_ms == 0)
				continue; /* nothing answered this second */
			double v = k == 0 ? p->max_ms
				 : k == 1 ? p->p99_ms : p->p50_ms;
			double x = ML + (p->t_s + p->dur_s / 2) / tmax * PW;
			sb_add(b, "%s%.1f %.1f", first ? "M" : "L", x,
			       MT + PH - v / top * PH);
			first = false;
		}
		if (first)
			sb_add(b, "M%d %d", ML, MT + PH);
		sb_add(b, "\"/>\n");
		sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"lg %s\">%s</text>\n",
		       ML + PW - 110 + 38 * k, MT + 12, cls[k], names[k]);
	}
	time_axis(b, tmax);
	svg_close(b, "Latency over time: p50, p99 and max per second.");
}

static void chart_throughput(struct sb *b, const struct load_opts *o,
			     const struct load_result *r)
{
	svg_open(b, "Throughput over time",
		 "Requests finished per second, errors in red.");
	if (r->n_series == 0) {
		no_data(b);
		svg_close(b, "Throughput over time: no data.");
		return;
	}
	double ymax = o->rate > 0 ? o->rate : 0;
	for (size_t i = 0; i < r->n_series; i++) {
		const struct load_point *p = &r->series[i];
		double rate = p->dur_s > 0 ? (double)p->requests / p->dur_s : 0;
		if (rate > ymax)
			ymax = rate;
	}
	double top = y_axis(b, ymax, "requests/s");
	double tmax = t_end(r);
	for (size_t i = 0; i < r->n_series; i++) {
		const struct load_point *p = &r->series[i];
		if (p->dur_s <= 0)
			continue;
		double x = ML + p->t_s / tmax * PW;
		double w = p->dur_s / tmax * PW;
		double okr = (double)(p->requests - p->errors) / p->dur_s;
		double er = (double)p->errors / p->dur_s;
		double hok = okr / top * PH, her = er / top * PH;
		sb_add(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			  "height=\"%.1f\" class=\"ok\"><title>%.0fs: %.0f "
			  "req/s, %llu errors</title></rect>\n",
		       x + 0.5, MT + PH - hok, w > 2 ? w - 1 : w, hok, p->t_s,
		       (double)p->requests / p->dur_s,
		       (unsigned long long)p->errors);
		if (p->errors)
			sb_add(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				  "height=\"%.1f\" class=\"err\"/>\n",
			       x + 0.5, MT + PH - hok - her,
			       w > 2 ? w - 1 : w, her);
	}
	if (o->rate > 0) {
		double y = MT + PH - o->rate / top * PH;
		sb_add(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			  "class=\"target\"/>\n<text x=\"%d\" y=\"%.1f\" "
			  "class=\"ml\">target %.0f req/s</text>\n",
		       ML, y, ML + PW, y, ML + 4, y - 4, o->rate);
	}
	time_axis(b, tmax);
	svg_close(b, "Throughput over time: requests finished per second "
		     "(errors stacked in red).");
}

/* ---- the page ---------------------------------------------------------------- */
static const char CSS[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;"
	"max-width:760px;color:#222}\n"
	"h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}\n"
	"table{border-collapse:collapse}td,th{padding:2px 10px;"
	"text-align:right;border-bottom:1px solid #ddd}\n"
	"th{text-align:left;font-weight:600}\n"
	".pass{color:#1a7f37;font-weight:700}.fail{color:#cf222e;"
	"font-weight:700}\n"
	".fig{margin:1em 0}.cap{font-size:12px;color:#555;margin:0}\n"
	"svg text{font:11px system-ui,sans-serif;fill:#333}\n"
	"svg .yl{text-anchor:end}svg .xl{text-anchor:middle}\n"
	"svg .axis{text-anchor:middle;font-weight:600}\n"
	"svg .plot{fill:#fafafa;stroke:#999}svg .grid{stroke:#e4e4e4}\n"
	"svg .tick{stroke:#999}svg .bar{fill:#4c78a8}\n"
	"svg .ok{fill:#54a24b}svg .err{fill:#e45756}\n"
	"svg .l1{fill:none;stroke:#4c78a8;stroke-width:2}\n"
	"svg .l2{fill:none;stroke:#f58518;stroke-width:2}\n"
	"svg .l3{fill:none;stroke:#999;stroke-dasharray:4 3}\n"
	"svg text.l1{fill:#4c78a8;stroke:none}"
	"svg text.l2{fill:#f58518;stroke:none}"
	"svg text.l3{fill:#777;stroke:none}\n"
	"svg .mark0{stroke:#4c78a8;stroke-dasharray:3 3}"
	"svg .mark1{stroke:#f58518;stroke-dasharray:3 3}\n"
	"svg .target{stroke:#333;stroke-dasharray:6 4}\n";

static void row(struct sb *b, const char *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void row(struct sb *b, const char *k, const char *fmt, ...)
{
	sb_add(b, "<tr><th>");
	sb_esc(b, k);
	sb_add(b, "</th><td>");
	va_list ap;
	va_start(ap, fmt);
	sb_addv(b, fmt, ap);
	va_end(ap);
	sb_add(b, "</td></tr>\n");
}

static char *render(const char *title, const struct load_opts *o,
		    const struct load_result *r, const struct load_verdict *v)
{
	struct sb b = { NULL, 0, 0 };
	if (!title)
		title = "mlctl load report";
	sb_add(&b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/"
		   "xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
		   "<title>");
	sb_esc(&b, title);
	sb_add(&b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>",
	       CSS);
	sb_esc(&b, title);
	sb_add(&b, "</h1>\n<p>");
	for (size_t i = 0; i < o->n_urls; i++) {
		sb_add(&b, "%s<code>", i ? ", " : "");
		sb_esc(&b, o->urls[i]);
		sb_add(&b, "</code>");
	}
	sb_add(&b, " — %s, ", o->method ? o->method
				       : o->body ? "POST" : "GET");
	if (o->rate > 0)
		sb_add(&b, "open model at %g req/s", o->rate);
	else
		sb_add(&b, "closed model (as fast as answered)");
	sb_add(&b, " for %g s, %d connections, %d thread%s.%s</p>\n",
	       (double)o->duration_ms / 1000, o->connections, o->threads,
	       o->threads == 1 ? "" : "s",
	       r->interrupted ? " Interrupted before the end." : "");
	if (v && v->n) {
		sb_add(&b, "<p>Verdict: <span class=\"%s\">%s</span></p>\n",
		       v->passed ? "pass" : "fail",
		       v->passed ? "PASSED" : "FAILED");
	}

	struct load_latency l;
	load_result_latency(r, &l);
	sb_add(&b, "<h2>Summary</h2>\n<table>\n");
	row(&b, "requests", "%llu", (unsigned long long)r->requests);
	row(&b, "achieved rate", "%.1f req/s", r->achieved_rate);
	row(&b, "elapsed", "%.3f s", r->elapsed_s);
	row(&b, "errors", "%llu (%.3f%%)", (unsigned long long)r->errors_total,
	    100 * r->error_rate);
	for (int i = 0; i < LOAD_ERR_COUNT; i++)
		if (r->errors[i])
			row(&b, load_error_name(i), "%llu",
			    (unsigned long long)r->errors[i]);
	row(&b, "late", "%llu", (unsigned long long)r->late);
	row(&b, "reconnects", "%llu", (unsigned long long)r->reconnects);
	row(&b, "latency p50", "%.3f ms", l.p50);
	row(&b, "latency p90", "%.3f ms", l.p90);
	row(&b, "latency p99", "%.3f ms", l.p99);
	row(&b, "latency p99.9", "%.3f ms", l.p999);
	row(&b, "latency max", "%.3f ms", l.max);
	sb_add(&b, "</table>\n");

	if (v && v->n) {
		sb_add(&b, "<h2>Thresholds</h2>\n<table>\n<tr><th>check</th>"
			   "<th>limit</th><th>value</th><th>result</th></tr>\n");
		for (size_t i = 0; i < v->n; i++) {
			const struct load_verdict_item *it = &v->items[i];
			bool pct = strcmp(it->name, "max_error_rate") == 0;
			sb_add(&b, "<tr><th>%s</th>", it->name);
			if (pct)
				sb_add(&b, "<td>%.3f%%</td><td>%.3f%%</td>",
				       100 * it->limit, 100 * it->value);
			else
				sb_add(&b, "<td>%.3f %s</td><td>%.3f %s</td>",
				       it->limit, it->unit, it->value,
				       it->unit);
			sb_add(&b, "<td class=\"%s\">%s</td></tr>\n",
			       it->ok ? "pass" : "fail",
			       it->ok ? "ok" : "BROKEN");
		}
		sb_add(&b, "</table>\n");
	}

	sb_add(&b, "<h2>Latency</h2>\n");
	chart_histogram(&b, r);
	chart_spectrum(&b, r);
	sb_add(&b, "<h2>Over time</h2>\n");
	chart_latency_time(&b, r);
	chart_throughput(&b, o, r);
	sb_add(&b, "<p><small>Latency is measured from each request's %s; "
		   "generated by mlctl %s.</small></p>\n</body>\n</html>\n",
	       o->rate > 0 ? "scheduled start (open model, no coordinated "
			     "omission)"
			   : "send",
	       MLCTL_VERSION);
	return b.s;
}

int load_report_write(const char *path, const char *title,
		      const struct load_opts *o, const struct load_result *r,
		      const struct load_verdict *v, struct ml_err *err)
{
	char *html = render(title, o, r, v);
	char *tmp = xasprintf("%s.tmp", path);
	int rc = -1;
	FILE *f = fopen(tmp, "w");
	if (!f) {
		ml_err_set(err, ML_EXIT_USAGE, "%s: %s", path, strerror(errno));
		goto out;
	}
	size_t len = strlen(html);
	bool ok = fwrite(html, 1, len, f) == len;
	if (fclose(f) != 0 || !ok) {
		ml_err_set(err, ML_EXIT_USAGE, "%s: %s", path, strerror(errno));
		remove(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		ml_err_set(err, ML_EXIT_USAGE, "%s: %s", path, strerror(errno));
		remove(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(html);
	return rc;
}
