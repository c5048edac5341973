/* out.h — every byte a command prints goes through here. Results go to
 * stdout (text, or exactly one JSON document with --output json); progress,
 * notes, warnings and errors go to stderr. Colour only on a tty with TERM
 * not "dumb" and NO_COLOR unset, decided once per fd at out_init(). */
#ifndef MLCTL_OUT_H
#define MLCTL_OUT_H

#include <stdbool.h>
#include <stdio.h>

enum out_format { OUT_TEXT, OUT_JSON };
enum out_color { OUT_RESET, OUT_BOLD, OUT_RED, OUT_GREEN, OUT_YELLOW, OUT_DIM };

void out_init(enum out_format fmt, bool quiet, bool no_color);
enum out_format out_format(void);
bool out_is_json(void);
bool out_quiet(void);
/* Whether stderr is a tty that gets live progress (bars, redraws). */
bool out_live(void);

/* The escape sequence for a colour on stdout / stderr, or "" when off. */
const char *out_c(enum out_color c);
const char *out_ce(enum out_color c);

/* A line of the result on stdout (text mode; ignored in JSON mode). */
void out_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Raw result text on stdout (text mode; ignored in JSON mode). */
void out_text(const char *s);
/* The one JSON document of a JSON-mode command (a string the caller owns);
 * written with a trailing newline. */
void out_json_text(const char *json);

/* Progress and notes on stderr; silenced by --quiet. */
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "mlctl: warning: ..." on stderr (not silenced). */
void out_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "mlctl: error: ..." on stderr (not silenced). */
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A preformatted line on stderr (diagnostics), not silenced. */
void out_err_line(const char *s);

#endif
