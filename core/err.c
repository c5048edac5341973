/* err.c — filling struct ml_err and collecting config diagnostics. */
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ml_err_setv(struct ml_err *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int ml_err_set(struct ml_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_err_setv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

void ml_err_release(struct ml_err *err)
{
	if (!err)
		return;
	free(err->file);
	err->file = NULL;
}

void ml_diags_addv(struct ml_diags *d, const char *file, unsigned line,
		   unsigned col, const char *path, const char *fmt, va_list ap)
{
	if (d->len == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->items = xrealloc(d->items, d->cap * sizeof(*d->items));
	}
	struct ml_diag *dg = &d->items[d->len++];
	dg->file = file ? xstrdup(file) : NULL;
	dg->line = line;
	dg->col = col;
	dg->path = path && *path ? xstrdup(path) : NULL;
	dg->msg = xvasprintf(fmt, ap);
}

void ml_diags_add(struct ml_diags *d, const char *file, unsigned line,
		  unsigned col, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_diags_addv(d, file, line, col, path, fmt, ap);
	va_end(ap);
}

void ml_diags_move(struct ml_diags *to, struct ml_diags *from)
{
	for (size_t i = 0; i < from->len; i++) {
		if (to->len == to->cap) {
			to->cap = to->cap ? to->cap * 2 : 8;
			to->items =
				xrealloc(to->items, to->cap * sizeof(*to->items));
		}
		to->items[to->len++] = from->items[i];
	}
	free(from->items);
	from->items = NULL;
	from->len = from->cap = 0;
}

static int diag_cmp(const struct ml_diag *a, const struct ml_diag *b)
{
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

void ml_diags_sort(struct ml_diags *d)
{
	/* insertion sort: stable, and lists are short */
	for (size_t i = 1; i < d->len; i++) {
		struct ml_diag key = d->items[i];
		size_t j = i;
		while (j > 0 && diag_cmp(&d->items[j - 1], &key) > 0) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = key;
	}
}

char *ml_diag_format(const struct ml_diag *dg)
{
	char pos[64] = "";
	if (dg->line)
		snprintf(pos, sizeof(pos), ":%u:%u", dg->line, dg->col);
	return xasprintf("%s%s: error: %s%s%s", dg->file ? dg->file : "mlctl",
			 pos, dg->path ? dg->path : "", dg->path ? ": " : "",
			 dg->msg);
}

void ml_diags_release(struct ml_diags *d)
{
	for (size_t i = 0; i < d->len; i++) {
		free(d->items[i].file);
		free(d->items[i].path);
		free(d->items[i].msg);
	}
	free(d->items);
	d->items = NULL;
	d->len = d->cap = 0;
}
