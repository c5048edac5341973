/* test_mlserve_json.c — mlserve's JSON tokenizer and writer: grammar, the
 * NaN/Infinity extension, overflow flags, escapes, UTF-8, depth limits,
 * and the shortest round-trip number format. */
#include "examples/mlserve/json.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mjson_doc doc = MJSON_DOC_INIT;
static char msg[200];

static int parse(const char *s)
{
	return mjson_parse(&doc, s, strlen(s), msg, sizeof msg);
}

static void fini(void)
{
	mjson_doc_release(&doc);
}

TestSuite(mlserve_json, .fini = fini, .timeout = 10);

Test(mlserve_json, parses_nested_document_into_flat_tokens)
{
	cr_assert_eq(parse("{\"a\": [1, 2.5, -3e2], \"b\": {\"c\": null}, \"d\": true}"), 0, "%s", msg);
	cr_assert_eq(doc.toks[0].type, MJSON_OBJECT);
	cr_assert_eq(doc.toks[0].count, 3);
	long a = mjson_obj_get(&doc, 0, "a");
	cr_assert_eq(doc.toks[a].type, MJSON_ARRAY);
	cr_assert_eq(doc.toks[a].count, 3);
	cr_assert_float_eq(doc.toks[a + 1].num, 1.0, 1e-12);
	cr_assert(doc.toks[a + 1].flags & MJSON_F_INTEGER);
	cr_assert_float_eq(doc.toks[a + 2].num, 2.5, 1e-12);
	cr_assert_not(doc.toks[a + 2].flags & MJSON_F_INTEGER);
	cr_assert_float_eq(doc.toks[a + 3].num, -300.0, 1e-12);
	long b = mjson_obj_get(&doc, 0, "b");
	cr_assert_eq(doc.toks[mjson_obj_get(&doc, (size_t)b, "c")].type, MJSON_NULL);
	cr_assert_eq(doc.toks[mjson_obj_get(&doc, 0, "d")].type, MJSON_TRUE);
	cr_assert_eq(mjson_obj_get(&doc, 0, "zz"), -1);
	cr_assert_eq(doc.toks[0].next, doc.n);
}

Test(mlserve_json, accepts_nan_and_infinity_as_flagged_numbers)
{
	cr_assert_eq(parse("[NaN, Infinity, -Infinity]"), 0, "%s", msg);
	cr_assert(isnan(doc.toks[1].num));
	cr_assert(doc.toks[1].flags & MJSON_F_NONFINITE);
	cr_assert(isinf(doc.toks[2].num) && doc.toks[2].num > 0);
	cr_assert(isinf(doc.toks[3].num) && doc.toks[3].num < 0);
	cr_assert(doc.toks[3].flags & MJSON_F_NONFINITE);
}

Test(mlserve_json, flags_numbers_too_large_for_a_double)
{
	cr_assert_eq(parse("[1e999, -1e400, 1e-999]"), 0, "%s", msg);
	cr_assert(doc.toks[1].flags & MJSON_F_OVERFLOW);
	cr_assert(doc.toks[2].flags & MJSON_F_OVERFLOW);
	cr_assert_not(doc.toks[3].flags & MJSON_F_OVERFLOW);
	cr_assert_eq(doc.toks[3].num, 0.0);
}

Test(mlserve_json, rejects_malformed_documents_with_byte_offsets)
{
	const char *bad[] = { "", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "1e", "-",
			      "nul", "tru", "\"abc", "[1] x", "{'a':1}", "[\"a\x01\"]",
			      "\"\\x\"", "\"\\u12G4\"", "[.5]", "+1", "Nan", "[Inf]", "{1:2}" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(parse(bad[i]), -1, "accepted '%s'", bad[i]);
	cr_assert_eq(parse("[1, 2,, 3]"), -1);
	cr_assert(strstr(msg, "byte 6"), "%s", msg);
}

Test(mlserve_json, numbers_parse_exactly_like_strtod)
{
	unsigned long long seed = 1442695040888963407ull;
	char text[64];
	for (int i = 0; i < 100000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned long long ip = (seed >> 20) % 1000000000ull, fp = (seed >> 5) % 100000000ull;
		int fd = (int)(seed % 12);
		int n = snprintf(text, sizeof text, "%s%llu", (seed & 1) ? "-" : "", ip % (i % 7 ? 1000 : 1000000000ull));
		if (fd)
			snprintf(text + n, sizeof text - (size_t)n, ".%0*llu", fd, fp % 1000000000000ull);
		cr_assert_eq(parse(text), 0, "%s: %s", text, msg);
		cr_assert(doc.toks[0].num == strtod(text, NULL), "%s parsed as %.17g", text, doc.toks[0].num);
	}
	const char *fixed[] = { "0.1", "0.3", "123456789012345", "1234567890123456789", "0.000000000000000000000001",
				"9007199254740993", "2.2250738585072014e-308", "-0", "1.7976931348623157e308" };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		cr_assert_eq(parse(fixed[i]), 0, "%s", msg);
		cr_assert(doc.toks[0].num == strtod(fixed[i], NULL), "%s", fixed[i]);
	}
}

Test(mlserve_json, rejects_invalid_utf8_in_strings)
{
	cr_assert_eq(parse("\"\xc3\x28\""), -1);
	cr_assert_eq(parse("\"\xed\xa0\x80\""), -1); /* surrogate in UTF-8 */
	cr_assert_eq(parse("\"\xf8\x88\x80\x80\x80\""), -1);
	cr_assert_eq(parse("\"caf\xc3\xa9\""), 0, "%s", msg);
}

Test(mlserve_json, limits_nesting_depth)
{
	char deep[300];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = 0;
	cr_assert_eq(parse(deep), -1);
	cr_assert(strstr(msg, "nesting"), "%s", msg);
	deep[30] = 0;
	memset(deep, '[', 15);
	memset(deep + 15, ']', 15);
	cr_assert_eq(parse(deep), 0, "%s", msg);
}

Test(mlserve_json, unescapes_strings_for_comparison_and_copy)
{
	cr_assert_eq(parse("{\"n\\u0061me\": \"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\"}"), 0, "%s", msg);
	cr_assert(mjson_obj_get(&doc, 0, "name") > 0);
	char out[64];
	size_t n = mjson_str_copy(&doc, &doc.toks[2], out, sizeof out);
	cr_assert_str_eq(out, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
	cr_assert_eq(n, strlen(out));
	char small[4];
	mjson_str_copy(&doc, &doc.toks[2], small, sizeof small);
	cr_assert_str_eq(small, "a\"b");
}

Test(mlserve_json, writes_shortest_round_trip_numbers)
{
	struct mbuf b = MBUF_INIT;
	double xs[] = { 0.1, 0.264, 1.0 / 3.0, 1e21, 5e-324, -2.5, 3, 123456789012.0, 1.07 * 10 / 50 + 0.05 };
	for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
		b.len = 0;
		mbuf_add_double(&b, xs[i]);
		cr_assert_eq(strtod(b.data, NULL), xs[i], "%s", b.data);
	}
	b.len = 0;
	mbuf_add_double(&b, 0.1);
	cr_assert_str_eq(b.data, "0.1");
	b.len = 0;
	mbuf_add_double(&b, 3);
	cr_assert_str_eq(b.data, "3");
	b.len = 0;
	mbuf_add_double(&b, NAN);
	cr_assert_str_eq(b.data, "null");
	mbuf_release(&b);
}

Test(mlserve_json, number_writer_round_trips_random_doubles)
{
	struct mbuf b = MBUF_INIT;
	unsigned long long seed = 88172645463325252ull;
	for (int i = 0; i < 200000; i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		double x;
		if (i % 2) {
			/* any bit pattern */
			memcpy(&x, &seed, sizeof x);
			if (!isfinite(x))
				continue;
		} else {
			/* values like a model's outputs */
			x = (double)(seed % 100000000) / (double)(1 + seed % 9973) * ((seed & 1) ? 1 : -1);
		}
		b.len = 0;
		mbuf_add_double(&b, x);
		char *end;
		double back = strtod(b.data, &end);
		cr_assert_eq(*end, 0, "%s", b.data);
		cr_assert(back == x, "%.17g printed as %s", x, b.data);
	}
	const char *want[][2] = { { "0.05", "0.05" }, { "1.5", "1.5" }, { "-0.125", "-0.125" },
				  { "123.456", "123.456" }, { "0.00001", "0.00001" }, { "1e-7", "1e-07" } };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		b.len = 0;
		mbuf_add_double(&b, strtod(want[i][0], NULL));
		cr_assert_str_eq(b.data, want[i][1]);
	}
	mbuf_release(&b);
}

Test(mlserve_json, escapes_strings_it_writes)
{
	struct mbuf b = MBUF_INIT;
	mbuf_add_jstr(&b, "a\"\\\n\x01\xff" "b", 7);
	cr_assert_str_eq(b.data, "\"a\\\"\\\\\\n\\u0001\xef\xbf\xbd" "b\"");
	cr_assert_eq(parse(b.data), 0, "%s", msg);
	mbuf_release(&b);
}

Test(mlserve_json, buffer_grows_and_formats)
{
	struct mbuf b = MBUF_INIT;
	for (int i = 0; i < 1000; i++)
		mbuf_addf(&b, "%d,", i);
	cr_assert(b.len > 3000);
	b.len = 0;
	mbuf_addu(&b, 18446744073709551615ull);
	cr_assert_str_eq(b.data, "18446744073709551615");
	mbuf_reset(&b, 16);
	cr_assert_eq(b.len, 0);
	cr_assert_null(b.data);
	mbuf_release(&b);
}
