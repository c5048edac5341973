/* yamldoc.c — libyaml's event stream composed into struct ydoc_node trees.
 * Anchors map to shared nodes (an alias is the anchored node itself, so
 * alias bombs cost nothing); merge keys copy pair pointers. Every node is
 * owned by the document's arena. Limits on depth and size keep hostile
 * input cheap. */
#include "yamldoc.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_NODES 200000
#define YDOC_MAX_PAIRS 1000000

struct anchor {
	char *name;
	struct ydoc_node *node;
};

struct ydoc {
	char *file;
	struct ydoc_node *root;
	struct ydoc_node **nodes; /* arena */
	size_t n_nodes, cap_nodes;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	size_t n_pairs_total;
};

struct composer {
	struct ydoc *doc;
	yaml_parser_t parser;
	struct ml_diags *d;
	int failed;
	/* key path of the node being composed, for duplicate-key errors */
	char path[512];
	size_t plen;
	/* collections being composed: an alias to one would make a cycle */
	struct ydoc_node *open[YDOC_MAX_DEPTH + 2];
	int n_open;
};

static size_t path_push(struct composer *c, const char *key, size_t index)
{
	size_t saved = c->plen;
	int n = key ? snprintf(c->path + c->plen, sizeof(c->path) - c->plen,
			       "%s%s", c->plen ? "." : "", key)
		    : snprintf(c->path + c->plen, sizeof(c->path) - c->plen,
			       "[%zu]", index);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return saved;
}

static void path_pop(struct composer *c, size_t saved)
{
	c->plen = saved;
	c->path[saved] = '\0';
}

static struct ydoc_node *node_new(struct ydoc *doc, enum ydoc_kind kind,
				  yaml_mark_t mark)
{
	if (doc->n_nodes == doc->cap_nodes) {
		doc->cap_nodes = doc->cap_nodes ? doc->cap_nodes * 2 : 64;
		doc->nodes = xrealloc(doc->nodes,
				      doc->cap_nodes * sizeof(*doc->nodes));
	}
	struct ydoc_node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)mark.line + 1;
	n->col = (unsigned)mark.column + 1;
	doc->nodes[doc->n_nodes++] = n;
	return n;
}

static void anchor_add(struct ydoc *doc, const char *name,
		       struct ydoc_node *node)
{
	/* a later anchor of the same name shadows the earlier (YAML 1.2) */
	if (doc->n_anchors == doc->cap_anchors) {
		doc->cap_anchors = doc->cap_anchors ? doc->cap_anchors * 2 : 8;
		doc->anchors = xrealloc(doc->anchors, doc->cap_anchors *
							      sizeof(*doc->anchors));
	}
	doc->anchors[doc->n_anchors].name = xstrdup(name);
	doc->anchors[doc->n_anchors].node = node;
	doc->n_anchors++;
}

static struct ydoc_node *anchor_find(struct ydoc *doc, const char *name)
{
	for (size_t i = doc->n_anchors; i > 0; i--)
		if (strcmp(doc->anchors[i - 1].name, name) == 0)
			return doc->anchors[i - 1].node;
	return NULL;
}

static void fail_at(struct composer *c, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_at(struct composer *c, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_diags_addv(c->d, c->doc->file, (unsigned)mark.line + 1,
		      (unsigned)mark.column + 1, NULL, fmt, ap);
	va_end(ap);
	c->failed = 1;
}

/* Same, naming the key path being composed. */
static void fail_path(struct composer *c, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_path(struct composer *c, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_diags_addv(c->d, c->doc->file, (unsigned)mark.line + 1,
		      (unsigned)mark.column + 1, c->path, fmt, ap);
	va_end(ap);
	c->failed = 1;
}

static int next_event(struct composer *c, yaml_event_t *ev)
{
	if (yaml_parser_parse(&c->parser, ev))
		return 0;
	const char *problem = c->parser.problem ? c->parser.problem : "error";
	yaml_mark_t mark = c->parser.problem_mark;
	if (c->parser.context)
		fail_at(c, mark, "YAML syntax error: %s %s", problem,
			c->parser.context);
	else
		fail_at(c, mark, "YAML syntax error: %s", problem);
	return -1;
}

static struct ydoc_node *compose(struct composer *c, yaml_event_t *ev,
				 int depth);

static bool is_merge_key(const struct ydoc_node *k)
{
	return k->kind == YDOC_SCALAR && k->plain && strcmp(k->str, "<<") == 0;
}

static bool pair_add(struct composer *c, struct ydoc_node *map,
		     struct ydoc_node *key, struct ydoc_node *value,
		     size_t *cap)
{
	if (++c->doc->n_pairs_total > YDOC_MAX_PAIRS) {
		yaml_mark_t m = { 0, key->line - 1, key->col - 1 };
		fail_at(c, m, "document too large (more than %d keys)",
			YDOC_MAX_PAIRS);
		return false;
	}
	if (map->n_pairs == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		map->pairs = xrealloc(map->pairs, *cap * sizeof(*map->pairs));
	}
	map->pairs[map->n_pairs].key = key;
	map->pairs[map->n_pairs].value = value;
	map->n_pairs++;
	return true;
}

/* The keys of the mapping being composed, hashed, so duplicate checks and
 * merges stay linear on wide mappings (1 MiB holds ~100k keys). Slots hold
 * pair index + 1 (0 is empty); at most half are used. */
struct keyset {
	size_t *slot;
	size_t cap; /* a power of two */
};

static size_t key_hash(const char *s)
{
	size_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const struct ydoc_pair *keyset_find(const struct keyset *ks,
					   const struct ydoc_node *map,
					   const char *key)
{
	if (!ks->cap)
		return NULL;
	for (size_t i = key_hash(key) & (ks->cap - 1); ks->slot[i];
	     i = (i + 1) & (ks->cap - 1))
		if (strcmp(map->pairs[ks->slot[i] - 1].key->str, key) == 0)
			return &map->pairs[ks->slot[i] - 1];
	return NULL;
}

static void keyset_put(struct keyset *ks, const struct ydoc_node *map,
		       size_t index)
{
	size_t i = key_hash(map->pairs[index].key->str) & (ks->cap - 1);
	while (ks->slot[i])
		i = (i + 1) & (ks->cap - 1);
	ks->slot[i] = index + 1;
}

/* Record map->pairs[index], the newest pair. */
static void keyset_add(struct keyset *ks, const struct ydoc_node *map,
		       size_t index)
{
	if ((index + 1) * 2 > ks->cap) {
		free(ks->slot);
		ks->cap = ks->cap ? ks->cap * 2 : 16;
		ks->slot = xcalloc(ks->cap, sizeof(*ks->slot));
		for (size_t k = 0; k < index; k++)
			keyset_put(ks, map, k);
	}
	keyset_put(ks, map, index);
}

/* Apply merge sources after the explicit keys: explicit keys win, and
 * earlier sources win over later ones. */
static void apply_merge(struct composer *c, struct ydoc_node *map,
			struct ydoc_node *src, size_t *cap, struct keyset *ks)
{
	for (size_t i = 0; i < src->n_pairs && !c->failed; i++) {
		if (keyset_find(ks, map, src->pairs[i].key->str))
			continue;
		if (pair_add(c, map, src->pairs[i].key, src->pairs[i].value, cap))
			keyset_add(ks, map, map->n_pairs - 1);
	}
}

static struct ydoc_node *compose_pairs(struct composer *c, yaml_event_t *start,
				       int depth, struct keyset *ks)
{
	struct ydoc_node *map = node_new(c->doc, YDOC_MAP, start->start_mark);
	c->open[c->n_open - 1] = map;
	if (start->data.mapping_start.anchor)
		anchor_add(c->doc, (char *)start->data.mapping_start.anchor, map);
	size_t cap = 0;
	struct ydoc_node *merges[32];
	size_t n_merges = 0;
	for (;;) {
		yaml_event_t ev;
		if (next_event(c, &ev))
			return NULL;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		yaml_mark_t key_mark = ev.start_mark;
		struct ydoc_node *key = compose(c, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!key)
			return NULL;
		if (key->kind != YDOC_SCALAR) {
			fail_at(c, key_mark, "mapping keys must be scalars, found %s",
				ydoc_describe(key));
			return NULL;
		}
		if (next_event(c, &ev))
			return NULL;
		size_t saved = path_push(c, key->str, 0);
		struct ydoc_node *value = compose(c, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (!value)
			return NULL;
		if (is_merge_key(key)) {
			path_pop(c, saved);
			struct ydoc_node **srcs = &value;
			size_t n = 1;
			if (value->kind == YDOC_SEQ) {
				srcs = value->items;
				n = value->n_items;
			}
			for (size_t i = 0; i < n; i++) {
				if (srcs[i]->kind != YDOC_MAP) {
					fail_path(c, key_mark,
						"merge key '<<' needs a mapping or a "
						"list of mappings, found %s",
						ydoc_describe(srcs[i]));
					return NULL;
				}
				if (n_merges == sizeof(merges) / sizeof(*merges)) {
					fail_at(c, key_mark, "too many merge sources");
					return NULL;
				}
				merges[n_merges++] = srcs[i];
			}
			continue;
		}
		const struct ydoc_pair *dup = keyset_find(ks, map, key->str);
		if (dup) {
			fail_path(c, key_mark,
				  "duplicate key '%s' (first defined at line %u, "
				  "column %u)",
				  key->str, dup->key->line, dup->key->col);
			path_pop(c, saved);
			continue; /* keep the first, report every duplicate */
		}
		path_pop(c, saved);
		if (!pair_add(c, map, key, value, &cap))
			return NULL;
		keyset_add(ks, map, map->n_pairs - 1);
	}
	for (size_t i = 0; i < n_merges; i++)
		apply_merge(c, map, merges[i], &cap, ks);
	return map;
}

static struct ydoc_node *compose_map(struct composer *c, yaml_event_t *start,
				     int depth)
{
	struct keyset ks = { NULL, 0 };
	struct ydoc_node *map = compose_pairs(c, start, depth, &ks);
	free(ks.slot);
	return map;
}

static struct ydoc_node *compose_seq(struct composer *c, yaml_event_t *start,
				     int depth)
{
	struct ydoc_node *seq = node_new(c->doc, YDOC_SEQ, start->start_mark);
	c->open[c->n_open - 1] = seq;
	if (start->data.sequence_start.anchor)
		anchor_add(c->doc, (char *)start->data.sequence_start.anchor, seq);
	size_t cap = 0;
	for (;;) {
		yaml_event_t ev;
		if (next_event(c, &ev))
			return NULL;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		size_t saved = path_push(c, NULL, seq->n_items);
		struct ydoc_node *item = compose(c, &ev, depth + 1);
		path_pop(c, saved);
		yaml_event_delete(&ev);
		if (!item)
			return NULL;
		if (++c->doc->n_pairs_total > YDOC_MAX_PAIRS) {
			fail_at(c, start->start_mark, "document too large");
			return NULL;
		}
		if (seq->n_items == cap) {
			cap = cap ? cap * 2 : 8;
			seq->items = xrealloc(seq->items, cap * sizeof(*seq->items));
		}
		seq->items[seq->n_items++] = item;
	}
	return seq;
}

static struct ydoc_node *compose(struct composer *c, yaml_event_t *ev, int depth)
{
	if (depth > YDOC_MAX_DEPTH) {
		fail_at(c, ev->start_mark, "nesting deeper than %d levels",
			YDOC_MAX_DEPTH);
		return NULL;
	}
	if (c->doc->n_nodes >= YDOC_MAX_NODES) {
		fail_at(c, ev->start_mark, "document too large (more than %d nodes)",
			YDOC_MAX_NODES);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		struct ydoc_node *n = node_new(c->doc, YDOC_SCALAR, ev->start_mark);
		n->len = ev->data.scalar.length;
		if (memchr(ev->data.scalar.value, '\0', n->len)) {
			fail_at(c, ev->start_mark, "NUL character in a scalar");
			return NULL;
		}
		n->str = xstrndup((char *)ev->data.scalar.value, n->len);
		const char *tag = (const char *)ev->data.scalar.tag;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			   !(tag && strcmp(tag, "tag:yaml.org,2002:str") == 0);
		if (ev->data.scalar.anchor)
			anchor_add(c->doc, (char *)ev->data.scalar.anchor, n);
		return n;
	}
	case YAML_ALIAS_EVENT: {
		struct ydoc_node *n =
			anchor_find(c->doc, (char *)ev->data.alias.anchor);
		if (!n)
			fail_path(c, ev->start_mark, "unknown anchor '*%s'",
				  (char *)ev->data.alias.anchor);
		for (int i = 0; n && i < c->n_open; i++)
			if (c->open[i] == n) {
				fail_path(c, ev->start_mark,
					  "alias '*%s' refers to a node that "
					  "contains it",
					  (char *)ev->data.alias.anchor);
				return NULL;
			}
		return n;
	}
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		/* depth <= YDOC_MAX_DEPTH, so open[] has room */
		c->n_open++;
		struct ydoc_node *n = ev->type == YAML_MAPPING_START_EVENT
					      ? compose_map(c, ev, depth)
					      : compose_seq(c, ev, depth);
		c->n_open--;
		return n;
	}
	default:
		fail_at(c, ev->start_mark, "unexpected YAML event");
		return NULL;
	}
}

/* Position of the first byte that is not valid UTF-8, or 0 when valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len, size_t *bad)
{
	size_t i = 0;
	while (i < len) {
		unsigned char b = s[i];
		size_t need;
		unsigned min;
		unsigned cp;
		if (b == 0) {
			*bad = i;
			return 1;
		}
		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xE0) == 0xC0) {
			need = 1, min = 0x80, cp = b & 0x1F;
		} else if ((b & 0xF0) == 0xE0) {
			need = 2, min = 0x800, cp = b & 0x0F;
		} else if ((b & 0xF8) == 0xF0) {
			need = 3, min = 0x10000, cp = b & 0x07;
		} else {
			*bad = i;
			return 1;
		}
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80) {
				*bad = i;
				return 1;
			}
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			*bad = i;
			return 1;
		}
		i += need + 1;
	}
	return 0;
}

static void line_col_of(const char *buf, size_t off, unsigned *line,
			unsigned *col)
{
	unsigned l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

int ydoc_load_buffer(const char *name, const char *buf, size_t len,
		     struct ydoc **out, struct ml_diags *d)
{
	*out = NULL;
	if (len > YDOC_MAX_BYTES) {
		ml_diags_add(d, name, 0, 0, NULL,
			     "file is larger than 1 MiB (%zu bytes)", len);
		return -1;
	}
	size_t bad;
	if (utf8_invalid_at((const unsigned char *)buf, len, &bad)) {
		unsigned l, c;
		line_col_of(buf, bad, &l, &c);
		ml_diags_add(d, name, l, c, NULL,
			     "file is not valid UTF-8 (byte 0x%02X)",
			     (unsigned char)buf[bad]);
		return -1;
	}
	/* a byte order mark is not content (libyaml, told the encoding,
	 * would read it as part of the first scalar) */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		buf += 3, len -= 3;
	struct composer c = { .d = d };
	c.doc = xcalloc(1, sizeof(*c.doc));
	c.doc->file = xstrdup(name);
	yaml_parser_initialize(&c.parser);
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);

	int docs = 0;
	for (bool done = false; !done && !c.failed;) {
		yaml_event_t ev;
		if (next_event(&c, &ev))
			break;
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				fail_at(&c, ev.start_mark,
					"several documents in one file (a second "
					"document starts here); put each in its "
					"own file");
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_START_EVENT:
			break;
		default:
			if (!c.doc->root) {
				c.doc->root = compose(&c, &ev, 0);
			}
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&c.parser);
	if (!c.failed && (!c.doc->root || ydoc_is_null(c.doc->root))) {
		ml_diags_add(d, name, 1, 1, NULL,
			     "empty file: expected a YAML document");
		c.failed = 1;
	}
	if (c.failed) {
		ydoc_free(c.doc);
		return -1;
	}
	*out = c.doc;
	return 0;
}

int ydoc_load_file(const char *path, struct ydoc **out, struct ml_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	if (read_file(path, YDOC_MAX_BYTES, &buf, &len)) {
		if (errno == EFBIG)
			ml_diags_add(d, path, 0, 0, NULL,
				     "file is larger than 1 MiB");
		else
			ml_diags_add(d, path, 0, 0, NULL, "cannot read: %s",
				     strerror(errno));
		return -1;
	}
	int rc = ydoc_load_buffer(path, buf, len, out, d);
	free(buf);
	return rc;
}

void ydoc_free(struct ydoc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n_nodes; i++) {
		struct ydoc_node *n = doc->nodes[i];
		free(n->str);
		free(n->pairs);
		free(n->items);
		free(n);
	}
	for (size_t i = 0; i < doc->n_anchors; i++)
		free(doc->anchors[i].name);
	free(doc->anchors);
	free(doc->nodes);
	free(doc->file);
	free(doc);
}

struct ydoc_node *ydoc_root(struct ydoc *doc) { return doc->root; }
const char *ydoc_file(const struct ydoc *doc) { return doc->file; }

bool ydoc_is_null(const struct ydoc_node *n)
{
	if (!n || n->kind != YDOC_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	       strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	       strcmp(n->str, "NULL") == 0;
}

const struct ydoc_pair *ydoc_pair(const struct ydoc_node *map, const char *key)
{
	if (!map || map->kind != YDOC_MAP)
		return NULL;
	for (size_t i = 0; i < map->n_pairs; i++)
		if (strcmp(map->pairs[i].key->str, key) == 0)
			return &map->pairs[i];
	return NULL;
}

struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key)
{
	const struct ydoc_pair *p = ydoc_pair(map, key);
	return p ? p->value : NULL;
}

const char *ydoc_describe(const struct ydoc_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YDOC_MAP:
		return "a mapping";
	case YDOC_SEQ:
		return "a list";
	case YDOC_SCALAR:
		return ydoc_is_null(n) ? "null" : "a scalar";
	}
	return "?";
}
