/* sbuf.h — a growable NUL-terminated string buffer, for text built in
 * pieces (router configs, ledger messages, shell commands). The buffer
 * owns `s` (NULL until the first append); free it with sbuf_release or
 * take it. Appends abort on OOM like xmalloc. */
#ifndef MLCTL_SBUF_H
#define MLCTL_SBUF_H

#include <stddef.h>

struct sbuf {
	char *s;
	size_t len, cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void sbuf_addn(struct sbuf *b, const char *s, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_release(struct sbuf *b);

#endif
