/* json.h — a small, allocation-light JSON reader and writer for mlserve's
 * request path. The reader tokenises a whole document into a flat array of
 * tokens (reused across documents, so a request costs no malloc once warm);
 * strings point into the caller's buffer. As an extension it accepts the
 * tokens NaN, Infinity and -Infinity (what Python's json emits) as numbers
 * flagged non-finite, so the data contract can name them instead of calling
 * the whole body malformed. The writer appends to a growable byte buffer. */
#ifndef MLSERVE_JSON_H
#define MLSERVE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growable byte buffer ---------------------------------------------- */
struct mbuf {
	char *data;
	size_t len, cap;
};
#define MBUF_INIT { NULL, 0, 0 }

void mbuf_reserve(struct mbuf *b, size_t extra);
void mbuf_add(struct mbuf *b, const void *p, size_t n);
void mbuf_adds(struct mbuf *b, const char *s);
/* A string literal, without strlen. */
#define mbuf_addlit(b, lit) mbuf_add((b), (lit), sizeof(lit) - 1)
void mbuf_addc(struct mbuf *b, char c);
void mbuf_addf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Unsigned decimal. */
void mbuf_addu(struct mbuf *b, unsigned long long v);
/* A JSON string literal with quotes; bytes are escaped as JSON requires
 * (control characters, quote, backslash); invalid UTF-8 becomes U+FFFD. */
void mbuf_add_jstr(struct mbuf *b, const char *s, size_t n);
/* The shortest decimal that reads back as the same double; non-finite
 * values are written as null. */
void mbuf_add_double(struct mbuf *b, double x);
/* Drop the contents; frees the storage when it grew beyond `keep`. */
void mbuf_reset(struct mbuf *b, size_t keep);
void mbuf_release(struct mbuf *b);

/* ---- reader ------------------------------------------------------------ */
enum mjson_type {
	MJSON_NULL,
	MJSON_FALSE,
	MJSON_TRUE,
	MJSON_NUMBER,
	MJSON_STRING,
	MJSON_ARRAY,
	MJSON_OBJECT,
};

/* Number flags */
#define MJSON_F_NONFINITE 1u /* NaN, Infinity, -Infinity literal */
#define MJSON_F_OVERFLOW 2u  /* a literal too large for a double */
#define MJSON_F_INTEGER 4u   /* no fraction and no exponent */
/* String flag */
#define MJSON_F_ESCAPED 8u /* contains backslash escapes */

struct mjson_tok {
	uint8_t type;
	uint8_t flags;
	uint32_t start, len; /* raw text; for strings, without the quotes */
	uint32_t next;       /* index of the token after this whole value */
	uint32_t count;      /* array: elements; object: members (keys) */
	double num;          /* numbers only */
};

/* An object's members are stored key, value, key, value... after the object
 * token; an array's elements follow it. `next` skips a whole subtree. */
struct mjson_doc {
	struct mjson_tok *toks;
	size_t n, cap;
	const char *src;
	size_t max_depth; /* 0 = 64 */
};
#define MJSON_DOC_INIT { NULL, 0, 0, NULL, 0 }

/* Parse `len` bytes at `src`, which must be followed by a NUL byte (src[len]
 * == 0; numbers are converted in place). On error returns -1 and writes a
 * message naming the byte offset into msg. */
int mjson_parse(struct mjson_doc *d, const char *src, size_t len, char *msg, size_t msgsz);
void mjson_doc_release(struct mjson_doc *d);

/* Whether string token t equals the NUL-terminated s (after unescaping). */
bool mjson_str_eq(const struct mjson_doc *d, const struct mjson_tok *t, const char *s);
/* Unescape string token t into out (always NUL-terminated, truncated to
 * outsz-1 bytes); returns the full unescaped length. */
size_t mjson_str_copy(const struct mjson_doc *d, const struct mjson_tok *t, char *out, size_t outsz);
/* The value of member `key` of object token index `obj`, as a token index,
 * or -1 when absent (or obj is not an object). */
long mjson_obj_get(const struct mjson_doc *d, size_t obj, const char *key);
/* Short human name of a token type ("a string", "an array", ...). */
const char *mjson_type_desc(enum mjson_type t);

#endif
