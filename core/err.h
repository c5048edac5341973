/* err.h — the error type every fallible mlctl function fills, and the
 * diagnostics list config loading collects (all errors of a file, not just
 * the first). Positions are 1-based; 0 means "no position". */
#ifndef MLCTL_ERR_H
#define MLCTL_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* One error: the exit code it maps to (enum ml_exit), a message, and where
 * the offending input is. `file` is owned by the struct (ml_err_release). */
struct ml_err {
	int code;
	char msg[512];
	char *file;
	unsigned line, col;
};

#define ML_ERR_INIT { 0, { 0 }, NULL, 0, 0 }

/* Fill `err` (may be NULL) and return -1, so callers can
 * `return ml_err_set(err, ML_EXIT_USAGE, "...")`. */
int ml_err_set(struct ml_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ml_err_setv(struct ml_err *err, int code, const char *fmt, va_list ap);
void ml_err_release(struct ml_err *err);

/* One diagnostic of a document: "file:line:col: error: path: message". */
struct ml_diag {
	char *file; /* owned */
	unsigned line, col;
	char *path; /* key path, e.g. "strategy.steps[1].weight"; owned, may be NULL */
	char *msg;  /* owned */
};

/* A growable list of diagnostics; owns its entries. */
struct ml_diags {
	struct ml_diag *items;
	size_t len, cap;
};

#define ML_DIAGS_INIT { NULL, 0, 0 }

void ml_diags_add(struct ml_diags *d, const char *file, unsigned line,
		  unsigned col, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void ml_diags_addv(struct ml_diags *d, const char *file, unsigned line,
		   unsigned col, const char *path, const char *fmt, va_list ap);
/* Move every entry of `from` to the end of `to`; `from` is left empty. */
void ml_diags_move(struct ml_diags *to, struct ml_diags *from);
/* Sort by file, then line, then column (stable). */
void ml_diags_sort(struct ml_diags *d);
/* Format one diagnostic as "file:line:col: error: path: msg" into a new
 * string the caller frees. */
char *ml_diag_format(const struct ml_diag *dg);
void ml_diags_release(struct ml_diags *d);

#endif
