/* json.c — mlserve's JSON tokenizer and writer (see json.h). The reader is a
 * recursive-descent parser with a depth limit that fills a reusable token
 * array; it validates UTF-8 and JSON grammar but never allocates per value.
 * Building documents that are not on the hot path is left to jansson. */
#include "json.h"

#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * buffer
 * ==================================================================== */

void mbuf_reserve(struct mbuf *b, size_t extra)
{
	if (b->cap - b->len >= extra + 1)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void mbuf_add(struct mbuf *b, const void *p, size_t n)
{
	mbuf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void mbuf_adds(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

void mbuf_addc(struct mbuf *b, char c)
{
	mbuf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = 0;
}

void mbuf_addf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		mbuf_add(b, tmp, (size_t)n);
		return;
	}
	mbuf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void mbuf_addu(struct mbuf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mbuf_add(b, tmp + i, sizeof tmp - i);
}

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void mbuf_add_jstr(struct mbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	mbuf_reserve(b, n + 2);
	b->data[b->len++] = '"';
	size_t i = 0;
	while (i < n) {
		size_t run = i;
		/* copy plain bytes in one go */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i) {
			mbuf_add(b, p + i, run - i);
			i = run;
			continue;
		}
		unsigned c = p[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			mbuf_add(b, e, 2);
			i++;
		} else if (c < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			if (c == '\n')
				mbuf_add(b, "\\n", 2);
			else if (c == '\t')
				mbuf_add(b, "\\t", 2);
			else if (c == '\r')
				mbuf_add(b, "\\r", 2);
			else
				mbuf_add(b, e, 6);
			i++;
		} else {
			size_t l = utf8_seq(p + i, n - i);
			if (l == 0) {
				mbuf_add(b, "\xef\xbf\xbd", 3);
				i++;
			} else {
				mbuf_add(b, p + i, l);
				i += l;
			}
		}
	}
	mbuf_addc(b, '"');
}

void mbuf_add_double(struct mbuf *b, double x)
{
	if (!isfinite(x)) {
		mbuf_add(b, "null", 4);
		return;
	}
	if (x == 0) {
		mbuf_add(b, signbit(x) ? "-0.0" : "0", signbit(x) ? 4 : 1);
		return;
	}
	/* integers below 2^53 print exactly without the %g dance */
	if (x == floor(x) && fabs(x) < 9007199254740992.0) {
		long long v = (long long)x;
		if (v < 0) {
			mbuf_addc(b, '-');
			mbuf_addu(b, (unsigned long long)(-v));
		} else {
			mbuf_addu(b, (unsigned long long)v);
		}
		return;
	}
	/* Fast path, no printf: the fewest decimals s such that m = round(x *
	 * 10^s) gives back x as m / 10^s. Both m (< 2^53) and 10^s (s <= 22)
	 * are exact doubles, so the division is correctly rounded, exactly as
	 * strtod would read the printed text: the output always round-trips. */
	double ax = fabs(x);
	if (ax >= 1e-5 && ax < 1e15) {
		static const double p10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
					      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
					      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
		for (int s = 1; s <= 22; s++) {
			double scaled = ax * p10[s];
			if (scaled >= 9007199254740992.0)
				break;
			double m = floor(scaled + 0.5);
			if (m / p10[s] != ax)
				continue;
			unsigned long long mi = (unsigned long long)m;
			char digits[32];
			int nd = 0;
			while (mi) {
				digits[nd++] = (char)('0' + mi % 10);
				mi /= 10;
			}
			/* drop trailing zeros of the fraction */
			int lo = 0, frac = s;
			while (frac > 0 && lo < nd && digits[lo] == '0')
				lo++, frac--;
			char out[48];
			int o = 0;
			if (x < 0)
				out[o++] = '-';
			int intd = nd - s; /* digits before the point */
			if (intd <= 0) {
				out[o++] = '0';
				out[o++] = '.';
				for (int z = 0; z < -intd; z++)
					out[o++] = '0';
				for (int k = nd - 1; k >= lo; k--)
					out[o++] = digits[k];
			} else {
				for (int k = nd - 1; k >= nd - intd; k--)
					out[o++] = digits[k];
				if (frac > 0) {
					out[o++] = '.';
					for (int k = nd - intd - 1; k >= lo; k--)
						out[o++] = digits[k];
				}
			}
			mbuf_add(b, out, (size_t)o);
			return;
		}
	}
	char tmp[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, x);
		if (prec == 17 || strtod(tmp, NULL) == x)
			break;
	}
	mbuf_add(b, tmp, (size_t)n);
}

void mbuf_reset(struct mbuf *b, size_t keep)
{
	if (b->cap > keep) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void mbuf_release(struct mbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ======================================================================
 * reader
 * ==================================================================== */

struct parser {
	struct mjson_doc *d;
	const char *s;
	size_t pos, len;
	size_t depth, max_depth;
	char *msg;
	size_t msgsz;
};

static int perr(struct parser *p, const char *what)
{
	if (p->pos >= p->len)
		snprintf(p->msg, p->msgsz, "%s at end of input (byte %zu)", what, p->pos);
	else
		snprintf(p->msg, p->msgsz, "%s at byte %zu", what, p->pos);
	return -1;
}

static long push(struct parser *p, enum mjson_type t)
{
	struct mjson_doc *d = p->d;
	if (d->n == d->cap) {
		if (d->cap >= UINT32_MAX / 2)
			return -1;
		d->cap = d->cap ? d->cap * 2 : 64;
		d->toks = xrealloc(d->toks, d->cap * sizeof *d->toks);
	}
	struct mjson_tok *k = &d->toks[d->n];
	k->type = (uint8_t)t;
	k->flags = 0;
	k->start = (uint32_t)p->pos;
	k->len = k->next = k->count = 0;
	k->num = 0;
	return (long)d->n++;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int parse_value(struct parser *p);

static int parse_string(struct parser *p)
{
	/* at the opening quote */
	long i = push(p, MJSON_STRING);
	if (i < 0)
		return perr(p, "document too large");
	const unsigned char *s = (const unsigned char *)p->s;
	size_t start = ++p->pos;
	uint8_t flags = 0;
	for (;;) {
		/* plain printable ASCII runs first */
		while (p->pos < p->len && s[p->pos] >= 0x20 && s[p->pos] < 0x80 &&
		       s[p->pos] != '"' && s[p->pos] != '\\')
			p->pos++;
		if (p->pos >= p->len)
			return perr(p, "unterminated string");
		unsigned c = s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return perr(p, "control character in string");
		if (c == '\\') {
			flags |= MJSON_F_ESCAPED;
			p->pos++;
			if (p->pos >= p->len)
				return perr(p, "unterminated string");
			c = s[p->pos];
			if (c == 'u') {
				for (int k = 1; k <= 4; k++) {
					if (p->pos + (size_t)k >= p->len ||
					    !strchr("0123456789abcdefABCDEF", s[p->pos + (size_t)k]) ||
					    s[p->pos + (size_t)k] == 0) {
						p->pos += (size_t)k;
						return perr(p, "bad \\u escape");
					}
				}
				p->pos += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", (int)c) || c == 0)
				return perr(p, "bad escape in string");
			p->pos++;
			continue;
		}
		if (c < 0x80) {
			p->pos++;
			continue;
		}
		size_t l = utf8_seq(s + p->pos, p->len - p->pos);
		if (l == 0)
			return perr(p, "invalid UTF-8 in string");
		p->pos += l;
	}
	struct mjson_tok *t = &p->d->toks[i];
	t->start = (uint32_t)start;
	t->len = (uint32_t)(p->pos - start);
	t->flags = flags;
	p->pos++; /* closing quote */
	t->next = (uint32_t)p->d->n;
	return 0;
}

static int parse_number(struct parser *p)
{
	long i = push(p, MJSON_NUMBER);
	if (i < 0)
		return perr(p, "document too large");
	const char *s = p->s;
	size_t start = p->pos, q = p->pos;
	uint8_t flags = MJSON_F_INTEGER;
	if (q < p->len && s[q] == '-')
		q++;
	if (q < p->len && s[q] == 'I') {
		if (p->len - q >= 8 && memcmp(s + q, "Infinity", 8) == 0) {
			q += 8;
			p->d->toks[i].num = s[start] == '-' ? -INFINITY : INFINITY;
			p->d->toks[i].flags = MJSON_F_NONFINITE;
			goto done;
		}
		p->pos = q;
		return perr(p, "invalid literal");
	}
	if (q >= p->len || !(s[q] >= '0' && s[q] <= '9')) {
		p->pos = q;
		return perr(p, "invalid number");
	}
	if (s[q] == '0') {
		q++;
	} else {
		while (q < p->len && s[q] >= '0' && s[q] <= '9')
			q++;
	}
	if (q < p->len && s[q] == '.') {
		flags = 0;
		q++;
		if (q >= p->len || !(s[q] >= '0' && s[q] <= '9')) {
			p->pos = q;
			return perr(p, "invalid number (digit expected after '.')");
		}
		while (q < p->len && s[q] >= '0' && s[q] <= '9')
			q++;
	}
	if (q < p->len && (s[q] == 'e' || s[q] == 'E')) {
		flags = 0;
		q++;
		if (q < p->len && (s[q] == '+' || s[q] == '-'))
			q++;
		if (q >= p->len || !(s[q] >= '0' && s[q] <= '9')) {
			p->pos = q;
			return perr(p, "invalid number (digit expected in exponent)");
		}
		while (q < p->len && s[q] >= '0' && s[q] <= '9')
			q++;
	}
	{
		/* Clinger's fast path: up to 15 significant digits and no
		 * exponent make an exact integer mantissa and an exact power of
		 * ten, so one correctly rounded division is the exact parse. */
		size_t k = start, nd = 0, nf = 0;
		bool neg = s[k] == '-', frac = false, fast = true;
		unsigned long long mant = 0;
		if (neg)
			k++;
		for (; k < q; k++) {
			char ch = s[k];
			if (ch == '.') {
				frac = true;
				continue;
			}
			if (ch < '0' || ch > '9') {
				fast = false;
				break;
			}
			mant = mant * 10 + (unsigned long long)(ch - '0');
			if (mant)
				nd++;
			if (frac)
				nf++;
			if (nd > 15 || nf > 22) {
				fast = false;
				break;
			}
		}
		if (fast) {
			static const double p10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
						      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
						      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
			double v = (double)mant / p10[nf];
			p->d->toks[i].num = neg ? -v : v;
			p->d->toks[i].flags = flags;
			goto done;
		}
	}
	{
		/* The grammar is checked: strtod reads exactly [start, q). The
		 * byte after the document is NUL, so it cannot run off. */
		char *end = NULL;
		errno = 0;
		double v = strtod(s + start, &end);
		if (end != s + q) {
			/* a number directly followed by more number-like text */
			p->pos = q;
			return perr(p, "invalid number");
		}
		if (errno == ERANGE && isinf(v))
			flags |= MJSON_F_OVERFLOW;
		p->d->toks[i].num = v;
		p->d->toks[i].flags = flags;
	}
done:
	p->d->toks[i].start = (uint32_t)start;
	p->d->toks[i].len = (uint32_t)(q - start);
	p->d->toks[i].next = (uint32_t)p->d->n;
	p->pos = q;
	return 0;
}

static int parse_literal(struct parser *p, const char *word, enum mjson_type t,
			 uint8_t flags, double num)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return perr(p, "invalid literal");
	long i = push(p, t);
	if (i < 0)
		return perr(p, "document too large");
	p->d->toks[i].len = (uint32_t)n;
	p->d->toks[i].flags = flags;
	p->d->toks[i].num = num;
	p->pos += n;
	p->d->toks[i].next = (uint32_t)p->d->n;
	return 0;
}

static int parse_container(struct parser *p, bool object)
{
	if (++p->depth > p->max_depth)
		return perr(p, "nesting too deep");
	long i = push(p, object ? MJSON_OBJECT : MJSON_ARRAY);
	if (i < 0)
		return perr(p, "document too large");
	char close = object ? '}' : ']';
	uint32_t count = 0;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		goto done;
	}
	for (;;) {
		skip_ws(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return perr(p, "object key (a string) expected");
			if (parse_string(p) < 0)
				return -1;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return perr(p, "':' expected");
			p->pos++;
			skip_ws(p);
		}
		if (parse_value(p) < 0)
			return -1;
		count++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		return perr(p, object ? "',' or '}' expected" : "',' or ']' expected");
	}
done:
	p->d->toks[i].count = count;
	p->d->toks[i].len = (uint32_t)(p->pos - p->d->toks[i].start);
	p->d->toks[i].next = (uint32_t)p->d->n;
	p->depth--;
	return 0;
}

static int parse_value(struct parser *p)
{
	if (p->pos >= p->len)
		return perr(p, "value expected");
	char c = p->s[p->pos];
	switch (c) {
	case '{':
		return parse_container(p, true);
	case '[':
		return parse_container(p, false);
	case '"':
		return parse_string(p);
	case 't':
		return parse_literal(p, "true", MJSON_TRUE, 0, 0);
	case 'f':
		return parse_literal(p, "false", MJSON_FALSE, 0, 0);
	case 'n':
		return parse_literal(p, "null", MJSON_NULL, 0, 0);
	case 'N':
		return parse_literal(p, "NaN", MJSON_NUMBER, MJSON_F_NONFINITE, NAN);
	default:
		if (c == '-' || c == 'I' || (c >= '0' && c <= '9'))
			return parse_number(p);
		return perr(p, "unexpected character");
	}
}

int mjson_parse(struct mjson_doc *d, const char *src, size_t len, char *msg, size_t msgsz)
{
	struct parser p = { d, src, 0, len, 0, d->max_depth ? d->max_depth : 64, msg, msgsz };
	d->n = 0;
	d->src = src;
	if (len >= UINT32_MAX)
		return perr(&p, "document too large");
	skip_ws(&p);
	if (parse_value(&p) < 0)
		return -1;
	skip_ws(&p);
	if (p.pos != len)
		return perr(&p, "trailing characters after the document");
	return 0;
}

void mjson_doc_release(struct mjson_doc *d)
{
	free(d->toks);
	d->toks = NULL;
	d->n = d->cap = 0;
}

static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return (unsigned)(c - 'A' + 10);
}

/* Decode the next character of string token t at *i into buf (1..4 bytes);
 * returns its length. */
static size_t next_char(const char *s, size_t end, size_t *i, char buf[4])
{
	if (s[*i] != '\\') {
		buf[0] = s[(*i)++];
		return 1;
	}
	char e = s[*i + 1];
	*i += 2;
	switch (e) {
	case 'b': buf[0] = '\b'; return 1;
	case 'f': buf[0] = '\f'; return 1;
	case 'n': buf[0] = '\n'; return 1;
	case 'r': buf[0] = '\r'; return 1;
	case 't': buf[0] = '\t'; return 1;
	case 'u': break;
	default: buf[0] = e; return 1;
	}
	unsigned cp = 0;
	for (int k = 0; k < 4; k++)
		cp = cp << 4 | hexval(s[*i + (size_t)k]);
	*i += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && *i + 6 <= end && s[*i] == '\\' &&
	    s[*i + 1] == 'u') {
		unsigned lo = 0;
		for (int k = 0; k < 4; k++)
			lo = lo << 4 | hexval(s[*i + 2 + (size_t)k]);
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			*i += 6;
		}
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd; /* lone surrogate */
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	buf[0] = (char)(0xf0 | cp >> 18);
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	buf[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

bool mjson_str_eq(const struct mjson_doc *d, const struct mjson_tok *t, const char *s)
{
	if (t->type != MJSON_STRING)
		return false;
	const char *raw = d->src + t->start;
	if (!(t->flags & MJSON_F_ESCAPED))
		return strlen(s) == t->len && memcmp(raw, s, t->len) == 0;
	size_t i = 0, j = 0, n = strlen(s);
	char buf[4];
	while (i < t->len) {
		size_t l = next_char(raw, t->len, &i, buf);
		if (j + l > n || memcmp(s + j, buf, l) != 0)
			return false;
		j += l;
	}
	return j == n;
}

size_t mjson_str_copy(const struct mjson_doc *d, const struct mjson_tok *t, char *out, size_t outsz)
{
	const char *raw = d->src + t->start;
	size_t i = 0, j = 0;
	char buf[4];
	while (i < t->len) {
		size_t l = next_char(raw, t->len, &i, buf);
		for (size_t k = 0; k < l; k++, j++)
			if (outsz && j < outsz - 1)
				out[j] = buf[k];
	}
	if (outsz)
		out[j < outsz - 1 ? j : outsz - 1] = 0;
	return j;
}

long mjson_obj_get(const struct mjson_doc *d, size_t obj, const char *key)
{
	if (obj >= d->n || d->toks[obj].type != MJSON_OBJECT)
		return -1;
	size_t k = obj + 1;
	for (uint32_t m = 0; m < d->toks[obj].count; m++) {
		size_t v = k + 1;
		if (mjson_str_eq(d, &d->toks[k], key))
			return (long)v;
		k = d->toks[v].next;
	}
	return -1;
}

const char *mjson_type_desc(enum mjson_type t)
{
	switch (t) {
	case MJSON_NULL: return "null";
	case MJSON_FALSE:
	case MJSON_TRUE: return "a boolean";
	case MJSON_NUMBER: return "a number";
	case MJSON_STRING: return "a string";
	case MJSON_ARRAY: return "an array";
	case MJSON_OBJECT: return "an object";
	}
	return "?";
}
