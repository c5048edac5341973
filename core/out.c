/* out.c — stdout/stderr discipline, colour decision and JSON emission. */
#include "out.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	enum out_format fmt;
	bool quiet;
	bool color_out, color_err, live;
} g_out;

static bool color_ok(int fd, bool no_color)
{
	const char *nc = getenv("NO_COLOR");
	if (no_color || (nc && *nc)) /* no-color.org: set and not empty */
		return false;
	const char *term = getenv("TERM");
	if (!term || strcmp(term, "dumb") == 0)
		return false;
	return isatty(fd);
}

void out_init(enum out_format fmt, bool quiet, bool no_color)
{
	g_out.fmt = fmt;
	g_out.quiet = quiet;
	g_out.color_out = fmt == OUT_TEXT && color_ok(1, no_color);
	g_out.color_err = color_ok(2, no_color);
	const char *term = getenv("TERM");
	g_out.live = !quiet && isatty(2) && term && strcmp(term, "dumb") != 0;
}

enum out_format out_format(void) { return g_out.fmt; }
bool out_is_json(void) { return g_out.fmt == OUT_JSON; }
bool out_quiet(void) { return g_out.quiet; }
bool out_live(void) { return g_out.live; }

static const char *const codes[] = {
	[OUT_RESET] = "\033[0m", [OUT_BOLD] = "\033[1m",
	[OUT_RED] = "\033[31m",  [OUT_GREEN] = "\033[32m",
	[OUT_YELLOW] = "\033[33m", [OUT_DIM] = "\033[2m",
};

const char *out_c(enum out_color c) { return g_out.color_out ? codes[c] : ""; }
const char *out_ce(enum out_color c) { return g_out.color_err ? codes[c] : ""; }

void out_line(const char *fmt, ...)
{
	if (g_out.fmt == OUT_JSON)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void out_text(const char *s)
{
	if (g_out.fmt == OUT_JSON)
		return;
	fputs(s, stdout);
}

void out_json_text(const char *json)
{
	fputs(json, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

void out_progress(const char *fmt, ...)
{
	if (g_out.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void prefixed(const char *what, enum out_color c, const char *fmt,
		     va_list ap)
{
	fprintf(stderr, "mlctl: %s%s:%s ", out_ce(c), what, out_ce(OUT_RESET));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void out_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	prefixed("warning", OUT_YELLOW, fmt, ap);
	va_end(ap);
}

void out_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	prefixed("error", OUT_RED, fmt, ap);
	va_end(ap);
}

void out_err_line(const char *s)
{
	fputs(s, stderr);
	fputc('\n', stderr);
}
