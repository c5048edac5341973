/* test_prom.c — the Prometheus text parser on real mlserve output, on the
 * format's corners (escapes, timestamps, special values, CRLF) and on
 * garbage: every malformed line is skipped and counted, nothing crashes,
 * limits hold. */
#include "prom.h"
#include "util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t parse(struct prom_doc *d, const char *text)
{
	return prom_parse(d, text, strlen(text), NULL);
}

Test(prom, parses_mlserve_counters_and_histograms)
{
	const char *text =
		"# HELP mlserve_requests_total Inference requests answered.\n"
		"# TYPE mlserve_requests_total counter\n"
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"200\"} 412\n"
		"mlserve_requests_total{model=\"eta\",version=\"2.0.0\",code=\"500\"} 8\n"
		"# TYPE mlserve_request_duration_seconds histogram\n"
		"mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"0.001\"} 400\n"
		"mlserve_request_duration_seconds_bucket{model=\"eta\",version=\"2.0.0\",le=\"+Inf\"} 420\n"
		"mlserve_request_duration_seconds_sum{model=\"eta\",version=\"2.0.0\"} 0.5\n"
		"mlserve_request_duration_seconds_count{model=\"eta\",version=\"2.0.0\"} 420\n"
		"mlserve_start_time_seconds 1764180000.125\n";
	struct prom_doc d = PROM_DOC_INIT;
	cr_assert_eq(parse(&d, text), 7);
	cr_assert_eq(d.bad_lines, 0);
	cr_assert_str_eq(d.samples[0].name, "mlserve_requests_total");
	cr_assert_eq(d.samples[0].n_labels, 3);
	cr_assert_str_eq(prom_label(&d.samples[0], "version"), "2.0.0");
	cr_assert_str_eq(prom_label(&d.samples[1], "code"), "500");
	cr_assert_float_eq(d.samples[1].value, 8, 1e-12);
	cr_assert_str_eq(prom_label(&d.samples[3], "le"), "+Inf");
	cr_assert_float_eq(d.samples[4].value, 0.5, 1e-12);
	cr_assert_eq(d.samples[6].n_labels, 0);
	cr_assert_float_eq(d.samples[6].value, 1764180000.125, 1e-6);
	cr_assert_null(prom_label(&d.samples[6], "model"));
	prom_doc_release(&d);
}

Test(prom, keeps_only_the_wanted_prefixes)
{
	const char *keep[] = { "mlserve_requests", NULL };
	const char *text = "a 1\nmlserve_requests_total{code=\"200\"} 3\nb{x=\"y\"} 2\n";
	struct prom_doc d = PROM_DOC_INIT;
	cr_assert_eq(prom_parse(&d, text, strlen(text), keep), 1);
	cr_assert_str_eq(d.samples[0].name, "mlserve_requests_total");
	prom_doc_release(&d);
}

Test(prom, label_escapes_spaces_timestamps_and_special_values)
{
	const char *text =
		"m{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\",} 1 1700000000000\n"
		"  m2 { a = \"x\" }   +Inf\n"
		"m3 -Inf\n"
		"m4 NaN\n"
		"m5 1e3\r\n"
		"m6{} 0x10\n";
	struct prom_doc d = PROM_DOC_INIT;
	cr_assert_eq(parse(&d, text), 6, "bad lines: %zu", d.bad_lines);
	cr_assert_str_eq(prom_label(&d.samples[0], "a"), "q\"uote");
	cr_assert_str_eq(prom_label(&d.samples[0], "b"), "back\\slash");
	cr_assert_str_eq(prom_label(&d.samples[0], "c"), "new\nline");
	cr_assert_str_eq(prom_label(&d.samples[1], "a"), "x");
	cr_assert(isinf(d.samples[1].value) && d.samples[1].value > 0);
	cr_assert(isinf(d.samples[2].value) && d.samples[2].value < 0);
	cr_assert(isnan(d.samples[3].value));
	cr_assert_float_eq(d.samples[4].value, 1000, 1e-9);
	cr_assert_float_eq(d.samples[5].value, 16, 1e-9);
	prom_doc_release(&d);
}

Test(prom, garbage_lines_are_counted_and_skipped)
{
	const char *text =
		"good 1\n"
		"1bad 2\n"                 /* name starts with a digit */
		"m{a=\"unterminated} 3\n"
		"m{a=\"x\" b=\"y\"} 4\n"   /* no comma */
		"m{a=\"x\",a=\"y\"} 5\n"   /* duplicate label */
		"m{a=\"bad\\escape\"} 6\n"
		"m{9a=\"x\"} 7\n"
		"m{a=x} 8\n"
		"m twelve\n"
		"m 1 2 3\n"
		"m 1 notatime\n"
		"m\n"
		"{a=\"x\"} 1\n"
		"m 1e999999999999\n"       /* strtod overflows to inf: a value */
		"# just a comment\n"
		"\n"
		"also_good{x=\"1\"} 2 -5\n";
	struct prom_doc d = PROM_DOC_INIT;
	size_t kept = parse(&d, text);
	cr_assert_eq(kept, 3, "kept %zu", kept);
	cr_assert_eq(d.bad_lines, 12, "bad %zu", d.bad_lines);
	cr_assert_str_eq(d.samples[0].name, "good");
	cr_assert_str_eq(d.samples[2].name, "also_good");
	prom_doc_release(&d);
}

Test(prom, nul_bytes_and_binary_noise_do_not_crash)
{
	char buf[4096];
	unsigned seed = 12345;
	struct prom_doc d = PROM_DOC_INIT;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (char)(seed >> 16);
			if (i % 37 == 0)
				buf[i] = '\n';
		}
		prom_parse(&d, buf, sizeof(buf), NULL);
	}
	/* NUL inside an otherwise good line makes it bad */
	const char nul[] = "m{a=\"x\"} 1\nm 2\0junk\nm 3\n";
	size_t before = d.n;
	prom_parse(&d, nul, sizeof(nul) - 1, NULL);
	cr_assert_eq(d.n - before, 2);
	prom_doc_release(&d);
}

Test(prom, limits_bound_lines_labels_and_samples)
{
	/* a line longer than PROM_MAX_LINE */
	size_t big = PROM_MAX_LINE + 100;
	char *line = xmalloc(big + 8);
	memset(line, 'a', big);
	strcpy(line + big, " 1\n");
	struct prom_doc d = PROM_DOC_INIT;
	cr_assert_eq(prom_parse(&d, line, strlen(line), NULL), 0);
	cr_assert_eq(d.bad_lines, 1);
	free(line);
	/* too many labels */
	char many[2048] = "m{";
	for (int i = 0; i < PROM_MAX_LABELS + 1; i++) {
		char l[32];
		snprintf(l, sizeof(l), "l%d=\"v\",", i);
		strcat(many, l);
	}
	strcat(many, "} 1\n");
	cr_assert_eq(parse(&d, many), 0);
	cr_assert_eq(d.bad_lines, 2);
	prom_doc_release(&d);
	/* more samples than PROM_MAX_SAMPLES: the rest is ignored */
	size_t n = PROM_MAX_SAMPLES + 10;
	char *text = xmalloc(n * 4 + 1), *w = text;
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "m 1\n");
	cr_assert_eq(prom_parse(&d, text, (size_t)(w - text), NULL),
		     PROM_MAX_SAMPLES);
	cr_assert(d.truncated);
	free(text);
	prom_doc_release(&d);
}

Test(prom, values_parse_strictly)
{
	double v;
	cr_assert_eq(prom_parse_value("0.25", 4, &v), 0);
	cr_assert_float_eq(v, 0.25, 1e-12);
	cr_assert_eq(prom_parse_value("+Inf", 4, &v), 0);
	cr_assert(isinf(v));
	cr_assert_eq(prom_parse_value("", 0, &v), -1);
	cr_assert_eq(prom_parse_value(" 1", 2, &v), -1);
	cr_assert_eq(prom_parse_value("1x", 2, &v), -1);
	cr_assert_eq(prom_parse_value("abc", 3, &v), -1);
}
