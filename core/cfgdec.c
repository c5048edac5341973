/* cfgdec.c — the typed getters behind every config loader: key paths,
 * "expected X, found Y" messages, unknown keys with did-you-mean. */
#include "cfgdec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dec_init(struct dec *dc, const char *file, struct ml_diags *d)
{
	memset(dc, 0, sizeof(*dc));
	dc->file = file;
	dc->d = d;
}

size_t dec_push_key(struct dec *dc, const char *key)
{
	size_t saved = dc->plen;
	int n = snprintf(dc->path + dc->plen, sizeof(dc->path) - dc->plen,
			 "%s%s", dc->plen ? "." : "", key);
	if (n > 0)
		dc->plen += (size_t)n;
	if (dc->plen >= sizeof(dc->path))
		dc->plen = sizeof(dc->path) - 1;
	return saved;
}

size_t dec_push_index(struct dec *dc, size_t i)
{
	size_t saved = dc->plen;
	int n = snprintf(dc->path + dc->plen, sizeof(dc->path) - dc->plen,
			 "[%zu]", i);
	if (n > 0)
		dc->plen += (size_t)n;
	if (dc->plen >= sizeof(dc->path))
		dc->plen = sizeof(dc->path) - 1;
	return saved;
}

void dec_pop(struct dec *dc, size_t saved)
{
	dc->plen = saved;
	dc->path[saved] = '\0';
}

struct cfg_pos dec_pos(const struct ydoc_node *n)
{
	struct cfg_pos p = { 0, 0 };
	if (n) {
		p.line = n->line;
		p.col = n->col;
	}
	return p;
}

void dec_error_pos(struct dec *dc, struct cfg_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_diags_addv(dc->d, dc->file, pos.line, pos.col, dc->path, fmt, ap);
	va_end(ap);
	dc->errors++;
}

void dec_error(struct dec *dc, const struct ydoc_node *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_diags_addv(dc->d, dc->file, at ? at->line : 0, at ? at->col : 0,
		      dc->path, fmt, ap);
	va_end(ap);
	dc->errors++;
}

/* "found ..." text for a node: the scalar itself (shortened), or its kind. */
static const char *found(const struct ydoc_node *n, char *buf, size_t sz)
{
	if (n && n->kind == YDOC_SCALAR && !ydoc_is_null(n)) {
		if (n->len > 40) {
			/* cut at a character boundary: messages stay UTF-8 */
			int cut = 37;
			while (cut > 0 && ((unsigned char)n->str[cut] & 0xC0) == 0x80)
				cut--;
			snprintf(buf, sz, "'%.*s...'", cut, n->str);
		} else {
			snprintf(buf, sz, "'%s'", n->str);
		}
		return buf;
	}
	return ydoc_describe(n);
}

bool dec_map(struct dec *dc, const struct ydoc_node *n,
	     const char *const *allowed)
{
	char fb[64];
	if (!n || n->kind != YDOC_MAP) {
		dec_error(dc, n, "expected a mapping, found %s",
			  found(n, fb, sizeof(fb)));
		return false;
	}
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct ydoc_node *k = n->pairs[i].key;
		bool ok = false;
		const char *best = NULL;
		size_t best_d = (size_t)-1;
		for (const char *const *a = allowed; *a; a++) {
			if (strcmp(*a, k->str) == 0) {
				ok = true;
				break;
			}
			size_t dist = str_edit_distance(*a, k->str);
			if (dist < best_d) {
				best_d = dist;
				best = *a;
			}
		}
		if (ok)
			continue;
		size_t saved = dec_push_key(dc, k->str);
		size_t klen = strlen(k->str);
		if (best && (best_d <= 2 || (klen > 5 && best_d <= klen / 3)))
			dec_error(dc, k, "unknown key '%s' (did you mean '%s'?)",
				  k->str, best);
		else
			dec_error(dc, k, "unknown key '%s'", k->str);
		dec_pop(dc, saved);
	}
	return true;
}

bool dec_seq(struct dec *dc, const struct ydoc_node *n)
{
	char fb[64];
	if (!n || n->kind != YDOC_SEQ) {
		dec_error(dc, n, "expected a list, found %s",
			  found(n, fb, sizeof(fb)));
		return false;
	}
	return true;
}

const struct ydoc_node *dec_field(struct dec *dc, const struct ydoc_node *map,
				  const char *key, bool required)
{
	const struct ydoc_node *v = ydoc_get(map, key);
	if (v && ydoc_is_null(v))
		v = NULL;
	if (!v && required) {
		size_t saved = dec_push_key(dc, key);
		const struct ydoc_pair *p = ydoc_pair(map, key);
		dec_error(dc, p ? p->value : map, "missing required key '%s'",
			  key);
		dec_pop(dc, saved);
	}
	return v;
}

bool dec_node_str(struct dec *dc, const struct ydoc_node *n, char **out)
{
	char fb[64];
	if (n->kind != YDOC_SCALAR || ydoc_is_null(n)) {
		dec_error(dc, n, "expected a string, found %s",
			  found(n, fb, sizeof(fb)));
		return false;
	}
	free(*out);
	*out = xstrdup(n->str);
	return true;
}

bool dec_str(struct dec *dc, const struct ydoc_node *map, const char *key,
	     bool required, char **out)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = dec_node_str(dc, n, out);
	if (ok && !**out) {
		dec_error(dc, n, "expected a non-empty string");
		ok = false;
	}
	dec_pop(dc, saved);
	return ok;
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool dec_node_name(struct dec *dc, const struct ydoc_node *n, char **out)
{
	char fb[64];
	if (n->kind != YDOC_SCALAR || ydoc_is_null(n) || !name_ok(n->str)) {
		dec_error(dc, n,
			  "expected a name (letters, digits, '.', '_', '-'; "
			  "at most 63), found %s",
			  found(n, fb, sizeof(fb)));
		return false;
	}
	free(*out);
	*out = xstrdup(n->str);
	return true;
}

bool dec_name(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, char **out, struct cfg_pos *pos)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = dec_node_name(dc, n, out);
	dec_pop(dc, saved);
	if (ok && pos)
		*pos = dec_pos(n);
	return ok;
}

bool dec_enum(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, const char *const *names, int *out)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = false;
	if (n->kind == YDOC_SCALAR) {
		for (int i = 0; names[i]; i++) {
			if (strcmp(names[i], n->str) == 0) {
				*out = i;
				ok = true;
				break;
			}
		}
	}
	if (!ok) {
		char want[256] = "";
		size_t len = 0;
		for (int i = 0; names[i]; i++) {
			int w = snprintf(want + len, sizeof(want) - len, "%s%s",
					 i ? (names[i + 1] ? ", " : " or ") : "",
					 names[i]);
			if (w > 0 && (size_t)w < sizeof(want) - len)
				len += (size_t)w;
		}
		char fb[64];
		dec_error(dc, n, "expected one of %s, found %s", want,
			  found(n, fb, sizeof(fb)));
	}
	dec_pop(dc, saved);
	return ok;
}

bool dec_bool(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, bool *out)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = n->kind == YDOC_SCALAR && n->plain && scalar_is_bool(n->str, out);
	if (!ok) {
		char fb[64];
		dec_error(dc, n, "expected true or false, found %s",
			  found(n, fb, sizeof(fb)));
	}
	dec_pop(dc, saved);
	return ok;
}

bool dec_node_int(struct dec *dc, const struct ydoc_node *n, long long min,
		  long long max, long long *out)
{
	char fb[64];
	long long v;
	if (n->kind != YDOC_SCALAR || !n->plain || !scalar_is_int(n->str, &v) ||
	    v < min || v > max) {
		dec_error(dc, n, "expected an integer %lld..%lld, found %s", min,
			  max, found(n, fb, sizeof(fb)));
		return false;
	}
	*out = v;
	return true;
}

bool dec_int(struct dec *dc, const struct ydoc_node *map, const char *key,
	     bool required, long long min, long long max, long long *out)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = dec_node_int(dc, n, min, max, out);
	dec_pop(dc, saved);
	return ok;
}

bool dec_node_number(struct dec *dc, const struct ydoc_node *n, double *out)
{
	char fb[64];
	if (n->kind != YDOC_SCALAR || !n->plain || !scalar_is_number(n->str, out)) {
		dec_error(dc, n, "expected a number, found %s",
			  found(n, fb, sizeof(fb)));
		return false;
	}
	return true;
}

bool dec_number(struct dec *dc, const struct ydoc_node *map, const char *key,
		bool required, double *out)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = dec_node_number(dc, n, out);
	dec_pop(dc, saved);
	return ok;
}

bool dec_duration(struct dec *dc, const struct ydoc_node *map,
		  const char *key, bool required, long long *ms)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = n->kind == YDOC_SCALAR && cfg_parse_duration(n->str, ms) == 0;
	if (!ok) {
		char fb[64];
		dec_error(dc, n,
			  "expected a duration like 250ms, 10s, 2m or 1h, found %s",
			  found(n, fb, sizeof(fb)));
	}
	dec_pop(dc, saved);
	return ok;
}

bool dec_percent(struct dec *dc, const struct ydoc_node *map, const char *key,
		 bool required, double *frac)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = n->kind == YDOC_SCALAR && cfg_parse_percent(n->str, frac) == 0;
	if (!ok) {
		char fb[64];
		dec_error(dc, n,
			  "expected a percentage like 1%% or a fraction 0..1, "
			  "found %s",
			  found(n, fb, sizeof(fb)));
	}
	dec_pop(dc, saved);
	return ok;
}

bool dec_rate(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, double *rate)
{
	const struct ydoc_node *n = dec_field(dc, map, key, required);
	if (!n)
		return false;
	size_t saved = dec_push_key(dc, key);
	bool ok = n->kind == YDOC_SCALAR && cfg_parse_rate(n->str, rate) == 0;
	if (!ok) {
		char fb[64];
		dec_error(dc, n,
			  "expected a rate in requests per second like 200 or "
			  "200/s, found %s",
			  found(n, fb, sizeof(fb)));
	}
	dec_pop(dc, saved);
	return ok;
}

bool dec_header(struct dec *dc, const struct ydoc_node *root, const char *kind)
{
	char *api = NULL, *k = NULL;
	bool ok = true;
	if (dec_str(dc, root, "apiVersion", true, &api) &&
	    strcmp(api, "mlctl/v1") != 0) {
		size_t saved = dec_push_key(dc, "apiVersion");
		dec_error(dc, ydoc_get(root, "apiVersion"),
			  "expected 'mlctl/v1', found '%s'", api);
		dec_pop(dc, saved);
		ok = false;
	}
	if (dec_str(dc, root, "kind", true, &k) && strcmp(k, kind) != 0) {
		size_t saved = dec_push_key(dc, "kind");
		dec_error(dc, ydoc_get(root, "kind"),
			  "expected kind '%s', found '%s'", kind, k);
		dec_pop(dc, saved);
		ok = false;
	}
	free(api);
	free(k);
	return ok;
}
