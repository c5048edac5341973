/* test_yamldoc.c — the YAML layer: the YAML people write (block and flow
 * style, comments, anchors, aliases, merge keys) composes into the
 * expected tree with 1-based positions, and what mlctl never accepts
 * (duplicate keys, several documents, non-UTF-8, empty files, files over
 * 1 MiB, syntax errors) is rejected at the right line and column. */
#include "cfgtest.h"
#include "yamldoc.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(cfg_yaml, .init = cfgt_setup, .fini = cfgt_teardown, .timeout = 30);

static struct ydoc *load_ok(const char *text)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	int rc = ydoc_load_buffer("t.yaml", text, strlen(text), &doc, &d);
	cr_assert_eq(rc, 0, "did not load:%s", cfgt_dump(&d));
	cr_assert_eq(d.len, 0);
	cr_assert_not_null(doc);
	ml_diags_release(&d);
	return doc;
}

/* A buffer that must fail with exactly one diagnostic as given. */
static void load_bad(const char *text, size_t len, unsigned line, unsigned col,
		     const char *path, const char *msg)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = (struct ydoc *)1;
	cr_assert_eq(ydoc_load_buffer("t.yaml", text, len, &doc, &d), -1,
		     "loaded a bad document");
	cr_assert_null(doc);
	cfgt_expect_only(&d, "t.yaml", line, col, path, msg);
	ml_diags_release(&d);
}

#define BAD(text, line, col, path, msg)                                       \
	load_bad(text, sizeof(text) - 1, line, col, path, msg)

static const struct ydoc_node *at(const struct ydoc_node *map, const char *key)
{
	const struct ydoc_node *n = ydoc_get(map, key);
	cr_assert_not_null(n, "no key '%s'", key);
	return n;
}

static void assert_scalar(const struct ydoc_node *n, const char *s)
{
	cr_assert_eq(n->kind, YDOC_SCALAR);
	cr_assert_str_eq(n->str, s);
	cr_assert_eq(n->len, strlen(s));
}

/* ---- YAML people use --------------------------------------------------- */

Test(cfg_yaml, block_and_flow_style_compose_the_same_tree)
{
	struct ydoc *a = load_ok("nodes:\n"
				 "  - name: a\n"
				 "    url: \"http://h:1\"\n"
				 "  - name: b\n"
				 "    url: 'http://h:2'\n");
	struct ydoc *b = load_ok("nodes: [ { name: a, url: \"http://h:1\" },\n"
				 "         { name: b, url: 'http://h:2' } ]\n");
	struct ydoc *docs[] = { a, b };
	for (size_t i = 0; i < 2; i++) {
		const struct ydoc_node *seq = at(ydoc_root(docs[i]), "nodes");
		cr_assert_eq(seq->kind, YDOC_SEQ);
		cr_assert_eq(seq->n_items, 2);
		assert_scalar(at(seq->items[0], "name"), "a");
		assert_scalar(at(seq->items[0], "url"), "http://h:1");
		assert_scalar(at(seq->items[1], "name"), "b");
		assert_scalar(at(seq->items[1], "url"), "http://h:2");
		cr_assert(at(seq->items[0], "name")->plain);
		cr_assert_not(at(seq->items[0], "url")->plain);
		cr_assert_not(at(seq->items[1], "url")->plain);
	}
	/* positions are 1-based and point at the value */
	const struct ydoc_node *url = at(at(ydoc_root(b), "nodes")->items[1], "url");
	cr_assert_eq(url->line, 2);
	cr_assert_eq(url->col, 26);
	url = at(at(ydoc_root(a), "nodes")->items[0], "url");
	cr_assert_eq(url->line, 3);
	cr_assert_eq(url->col, 10);
	ydoc_free(a);
	ydoc_free(b);
}

Test(cfg_yaml, comments_are_ignored_everywhere)
{
	struct ydoc *doc = load_ok("# heading\n"
				   "a: 1 # trailing\n"
				   "# between\n"
				   "b: [ 1, # inside flow\n"
				   "     2 ]\n"
				   "c: \"# not a comment\"\n"
				   "d: x#y\n");
	const struct ydoc_node *r = ydoc_root(doc);
	cr_assert_eq(r->n_pairs, 4);
	cr_assert_eq(r->line, 2);
	cr_assert_eq(r->col, 1);
	assert_scalar(at(r, "a"), "1");
	cr_assert_eq(at(r, "b")->n_items, 2);
	assert_scalar(at(r, "c"), "# not a comment");
	assert_scalar(at(r, "d"), "x#y");
	ydoc_free(doc);
}

Test(cfg_yaml, alias_is_the_anchored_node_itself)
{
	struct ydoc *doc = load_ok("base: &b { rate: 500 }\n"
				   "port: &p 8411\n"
				   "x: *b\n"
				   "y: [*p, *p]\n");
	const struct ydoc_node *r = ydoc_root(doc);
	cr_assert_eq(at(r, "x"), at(r, "base"));
	assert_scalar(at(at(r, "x"), "rate"), "500");
	const struct ydoc_node *y = at(r, "y");
	cr_assert_eq(y->items[0], at(r, "port"));
	cr_assert_eq(y->items[1], at(r, "port"));
	/* an alias keeps the anchored value's position */
	cr_assert_eq(y->items[0]->line, 2);
	cr_assert_eq(y->items[0]->col, 7);
	ydoc_free(doc);
}

Test(cfg_yaml, later_anchor_of_the_same_name_shadows_the_earlier)
{
	struct ydoc *doc = load_ok("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
	assert_scalar(at(ydoc_root(doc), "b"), "1");
	assert_scalar(at(ydoc_root(doc), "d"), "2");
	ydoc_free(doc);
}

Test(cfg_yaml, merge_key_copies_keys_and_explicit_keys_win)
{
	struct ydoc *doc = load_ok("defaults: &d { interval: 1s, max_p99: 250ms, "
				   "traffic: { rate: 500 } }\n"
				   "analysis:\n"
				   "  max_p99: 100ms\n"
				   "  <<: *d\n"
				   "  interval: 2s\n");
	const struct ydoc_node *a = at(ydoc_root(doc), "analysis");
	cr_assert_eq(a->kind, YDOC_MAP);
	cr_assert_eq(a->n_pairs, 3);
	/* explicit keys, before or after the merge key, win */
	assert_scalar(at(a, "max_p99"), "100ms");
	assert_scalar(at(a, "interval"), "2s");
	/* merged keys come after the explicit ones, shared with the source */
	cr_assert_str_eq(a->pairs[2].key->str, "traffic");
	cr_assert_eq(at(a, "traffic"), at(at(ydoc_root(doc), "defaults"), "traffic"));
	cr_assert_null(ydoc_get(a, "<<"));
	ydoc_free(doc);
}

Test(cfg_yaml, merge_key_list_earlier_source_wins)
{
	struct ydoc *doc = load_ok("one: &1 { a: 1, b: 1 }\n"
				   "two: &2 { b: 2, c: 2 }\n"
				   "m: { <<: [*1, *2], c: 3 }\n");
	const struct ydoc_node *m = at(ydoc_root(doc), "m");
	cr_assert_eq(m->n_pairs, 3);
	assert_scalar(at(m, "a"), "1");
	assert_scalar(at(m, "b"), "1");
	assert_scalar(at(m, "c"), "3");
	ydoc_free(doc);
}

Test(cfg_yaml, quoted_merge_key_is_an_ordinary_key)
{
	struct ydoc *doc = load_ok("m: { \"<<\": 1 }\n");
	assert_scalar(at(at(ydoc_root(doc), "m"), "<<"), "1");
	ydoc_free(doc);
}

Test(cfg_yaml, scalars_keep_style_and_null_forms)
{
	struct ydoc *doc = load_ok("a: ~\nb: null\nc:\nd: \"\"\ne: 'null'\n"
				   "f: !!str 10\ng: |\n  two\n  lines\n");
	const struct ydoc_node *r = ydoc_root(doc);
	cr_assert(ydoc_is_null(at(r, "a")));
	cr_assert(ydoc_is_null(at(r, "b")));
	cr_assert(ydoc_is_null(at(r, "c")));
	cr_assert_not(ydoc_is_null(at(r, "d")));
	cr_assert_not(ydoc_is_null(at(r, "e")));
	cr_assert_not(at(r, "f")->plain);
	assert_scalar(at(r, "g"), "two\nlines\n");
	cr_assert_str_eq(ydoc_describe(at(r, "a")), "null");
	cr_assert_str_eq(ydoc_describe(at(r, "d")), "a scalar");
	cr_assert_str_eq(ydoc_describe(r), "a mapping");
	cr_assert_str_eq(ydoc_describe(NULL), "nothing");
	cr_assert_null(ydoc_get(r, "zz"));
	cr_assert_null(ydoc_get(at(r, "d"), "zz"));
	ydoc_free(doc);
}

Test(cfg_yaml, utf8_text_and_one_document_marker_are_fine)
{
	struct ydoc *doc = load_ok("\xEF\xBB\xBF---\nname: caf\xC3\xA9 \xF0\x9F\x9A\x80\n...\n");
	assert_scalar(at(ydoc_root(doc), "name"), "caf\xC3\xA9 \xF0\x9F\x9A\x80");
	ydoc_free(doc);
}

Test(cfg_yaml, file_of_exactly_1_mib_loads)
{
	size_t n = YDOC_MAX_BYTES;
	char *buf = malloc(n);
	cr_assert_not_null(buf);
	memset(buf, '#', n);
	memcpy(buf, "a: 1\n", 5);
	buf[n - 1] = '\n';
	const char *p = cfgt_write_bytes("big.yaml", buf, n);
	free(buf);
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	cr_assert_eq(ydoc_load_file(p, &doc, &d), 0, "%s", cfgt_dump(&d));
	cr_assert_str_eq(ydoc_file(doc), p);
	assert_scalar(at(ydoc_root(doc), "a"), "1");
	ydoc_free(doc);
}

/* ---- what mlctl rejects ------------------------------------------------ */

Test(cfg_yaml, rejects_duplicate_key_at_the_second)
{
	BAD("a: 1\n"
	    "b:\n"
	    "  c: 1\n"
	    "  c: 2\n",
	    4, 3, "b.c", "duplicate key 'c' (first defined at line 3, column 3)");
}

Test(cfg_yaml, rejects_duplicate_key_in_a_flow_mapping_inside_a_list)
{
	BAD("nodes:\n"
	    "  - { name: a, url: x, name: b }\n",
	    2, 24, "nodes[0].name",
	    "duplicate key 'name' (first defined at line 2, column 7)");
}

Test(cfg_yaml, rejects_duplicate_top_level_key)
{
	BAD("kind: Environment\nname: a\nkind: Release\n", 3, 1, "kind",
	    "duplicate key 'kind' (first defined at line 1, column 1)");
}

Test(cfg_yaml, reports_every_duplicate_key)
{
	static const char text[] = "a: 1\na: 2\nb: { x: 1, x: 2 }\n";
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	cr_assert_eq(ydoc_load_buffer("t.yaml", text, strlen(text), &doc, &d), -1);
	cr_assert_eq(d.len, 2, "%s", cfgt_dump(&d));
	cfgt_expect(&d, "t.yaml", 2, 1, "a",
		    "duplicate key 'a' (first defined at line 1, column 1)");
	cfgt_expect(&d, "t.yaml", 3, 12, "b.x",
		    "duplicate key 'x' (first defined at line 3, column 6)");
	ml_diags_release(&d);
}

Test(cfg_yaml, rejects_several_documents)
{
	BAD("a: 1\n---\nb: 2\n", 2, 1, NULL,
	    "several documents in one file (a second document starts here); "
	    "put each in its own file");
}

Test(cfg_yaml, rejects_second_document_after_an_end_marker)
{
	BAD("---\na: 1\n...\n---\nb: 2\n", 4, 1, NULL,
	    "several documents in one file (a second document starts here); "
	    "put each in its own file");
}

Test(cfg_yaml, rejects_latin1_byte_at_its_position)
{
	BAD("a: 1\nname: caf\xE9\n", 2, 10, NULL,
	    "file is not valid UTF-8 (byte 0xE9)");
}

Test(cfg_yaml, rejects_overlong_utf8)
{
	BAD("a: \xC3\xA9\xC0\xAF\n", 1, 5, NULL,
	    "file is not valid UTF-8 (byte 0xC0)");
}

Test(cfg_yaml, rejects_utf8_surrogate)
{
	BAD("a: \xED\xA0\x80\n", 1, 4, NULL, "file is not valid UTF-8 (byte 0xED)");
}

Test(cfg_yaml, rejects_truncated_utf8_at_end_of_file)
{
	BAD("a: \xE2\x82", 1, 4, NULL, "file is not valid UTF-8 (byte 0xE2)");
}

Test(cfg_yaml, rejects_utf16_file)
{
	BAD("\xFF\xFE" "a\0:\0 \0" "1\0", 1, 1, NULL,
	    "file is not valid UTF-8 (byte 0xFF)");
}

Test(cfg_yaml, rejects_nul_byte)
{
	BAD("a: 1\nb: x\0y\n", 2, 5, NULL, "file is not valid UTF-8 (byte 0x00)");
}

Test(cfg_yaml, rejects_empty_file)
{
	BAD("", 1, 1, NULL, "empty file: expected a YAML document");
}

Test(cfg_yaml, rejects_file_of_only_comments)
{
	BAD("# nothing here\n\n# at all\n", 1, 1, NULL,
	    "empty file: expected a YAML document");
}

Test(cfg_yaml, rejects_document_of_only_null)
{
	BAD("---\n~\n", 1, 1, NULL, "empty file: expected a YAML document");
}

Test(cfg_yaml, rejects_empty_file_on_disk)
{
	const char *p = cfgt_write("empty.yaml", "");
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	cr_assert_eq(ydoc_load_file(p, &doc, &d), -1);
	cfgt_expect_only(&d, p, 1, 1, NULL, "empty file: expected a YAML document");
	ml_diags_release(&d);
}

Test(cfg_yaml, rejects_file_over_1_mib)
{
	size_t n = YDOC_MAX_BYTES + 1;
	char *buf = malloc(n);
	cr_assert_not_null(buf);
	memset(buf, '#', n);
	memcpy(buf, "a: 1\n", 5);
	const char *p = cfgt_write_bytes("big.yaml", buf, n);
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	cr_assert_eq(ydoc_load_file(p, &doc, &d), -1);
	cr_assert_null(doc);
	cfgt_expect_only(&d, p, 0, 0, NULL, "file is larger than 1 MiB");
	ml_diags_release(&d);
	/* the same from a buffer says how large */
	cr_assert_eq(ydoc_load_buffer("b.yaml", buf, n, &doc, &d), -1);
	cfgt_expect_only(&d, "b.yaml", 0, 0, NULL,
			 "file is larger than 1 MiB (1048577 bytes)");
	ml_diags_release(&d);
	free(buf);
}

Test(cfg_yaml, rejects_missing_file_with_the_reason)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	cr_assert_eq(ydoc_load_file("/nonexistent/x.yaml", &doc, &d), -1);
	cfgt_expect_only(&d, "/nonexistent/x.yaml", 0, 0, NULL,
			 "cannot read: No such file or directory");
	ml_diags_release(&d);
}

Test(cfg_yaml, rejects_mapping_value_in_a_plain_scalar)
{
	BAD("a: b: c\n", 1, 5, NULL,
	    "YAML syntax error: mapping values are not allowed in this context");
}

Test(cfg_yaml, rejects_unclosed_flow_sequence)
{
	BAD("a: [1, 2\nb: 3\n", 2, 2, NULL,
	    "YAML syntax error: did not find expected ',' or ']' while parsing a "
	    "flow sequence");
}

Test(cfg_yaml, rejects_unterminated_quoted_scalar)
{
	BAD("a: \"abc\n", 2, 1, NULL,
	    "YAML syntax error: found unexpected end of stream while scanning a "
	    "quoted scalar");
}

Test(cfg_yaml, rejects_tab_indentation)
{
	BAD("a:\n\tb: 1\n", 2, 1, NULL,
	    "YAML syntax error: found character that cannot start any token "
	    "while scanning for the next token");
}

Test(cfg_yaml, rejects_bad_indentation)
{
	BAD("a: 1\n b: 2\n", 2, 3, NULL,
	    "YAML syntax error: mapping values are not allowed in this context");
}

Test(cfg_yaml, rejects_unknown_alias)
{
	BAD("a: 1\nb: *nope\n", 2, 4, "b", "unknown anchor '*nope'");
}

Test(cfg_yaml, rejects_merge_of_a_scalar)
{
	BAD("a: &x 1\nb:\n  <<: *x\n", 3, 3, "b",
	    "merge key '<<' needs a mapping or a list of mappings, found a scalar");
}

Test(cfg_yaml, rejects_non_scalar_key)
{
	BAD("? [a, b]\n: 1\n", 1, 3, NULL,
	    "mapping keys must be scalars, found a list");
}

Test(cfg_yaml, rejects_nesting_deeper_than_64)
{
	char buf[200];
	memset(buf, '[', 70);
	memset(buf + 70, ']', 70);
	buf[140] = '\n';
	load_bad(buf, 141, 1, 66, NULL, "nesting deeper than 64 levels");
}

Test(cfg_yaml, rejects_alias_to_its_own_enclosing_node)
{
	/* the tree stays a tree: no cycles for decoders to walk */
	BAD("a: &x { b: [ *x ] }\n", 1, 14, "a.b[0]",
	    "alias '*x' refers to a node that contains it");
}

Test(cfg_yaml, merge_of_its_own_enclosing_map_is_refused)
{
	BAD("a: &x { b: 1, <<: *x }\n", 1, 19, "a.<<",
	    "alias '*x' refers to a node that contains it");
}

Test(cfg_yaml, byte_order_mark_is_not_part_of_the_first_key)
{
	struct ydoc *doc = load_ok("\xEF\xBB\xBF" "apiVersion: mlctl/v1\nkind: Model\n");
	const struct ydoc_node *r = ydoc_root(doc);
	cr_assert_str_eq(r->pairs[0].key->str, "apiVersion");
	cr_assert_eq(r->pairs[0].key->col, 1);
	assert_scalar(at(r, "kind"), "Model");
	ydoc_free(doc);
}

Test(cfg_yaml, wide_mapping_keeps_every_key_and_finds_a_late_duplicate)
{
	/* 60000 keys, then k7 again: hashed, not a scan per key */
	size_t cap = 60001 * 16, len = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	for (int i = 0; i < 60000; i++)
		len += (size_t)snprintf(buf + len, cap - len, "k%d: %d\n", i, i);
	struct ydoc *doc = load_ok(buf);
	const struct ydoc_node *r = ydoc_root(doc);
	cr_assert_eq(r->n_pairs, 60000);
	assert_scalar(at(r, "k59999"), "59999");
	ydoc_free(doc);
	len += (size_t)snprintf(buf + len, cap - len, "k7: again\n");
	load_bad(buf, len, 60001, 1, "k7",
		 "duplicate key 'k7' (first defined at line 8, column 1)");
	free(buf);
}

Test(cfg_yaml, merge_of_a_wide_mapping_keeps_explicit_keys)
{
	size_t cap = 2 * 40000 * 16 + 64, len = 0;
	char *buf = malloc(cap);
	cr_assert_not_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "a: &a\n");
	for (int i = 0; i < 40000; i++)
		len += (size_t)snprintf(buf + len, cap - len, "  k%d: a\n", i);
	len += (size_t)snprintf(buf + len, cap - len, "b:\n  <<: *a\n");
	for (int i = 0; i < 40000; i += 2)
		len += (size_t)snprintf(buf + len, cap - len, "  k%d: b\n", i);
	struct ydoc *doc = load_ok(buf);
	const struct ydoc_node *b = at(ydoc_root(doc), "b");
	cr_assert_eq(b->n_pairs, 40000);
	assert_scalar(at(b, "k39998"), "b");
	assert_scalar(at(b, "k39999"), "a");
	ydoc_free(doc);
	free(buf);
}
