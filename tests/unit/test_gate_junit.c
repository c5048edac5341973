/* test_gate_junit.c — JUnit both ways and TAP: the report `mlctl gate`
 * writes (counts, escaping, invalid bytes made valid, read back by our own
 * reader with the same counts), and the tolerant reader on the dialects
 * unit-test commands write (Criterion, pytest, Surefire, totals only,
 * comments, CDATA, entities). */
#include "gates/gate.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void two_results(struct gate_result r[2])
{
	gate_result_init(&r[0], CFG_GATE_SMOKE);
	gate_add_check(&r[0], "live s-1", 1.5, NULL);
	gate_add_check(&r[0], "case 1 on s-1 <&> \"quoted\" 'single'", 2, NULL);
	gate_set_summary(&r[0], "2/2 & fine");
	r[0].ms = 4;
	gate_result_init(&r[1], CFG_GATE_UNIT);
	gate_add_check(&r[1], "run: make test", 1200, "exit status 2")->detail =
		strdup("line one\nbad byte \xff here\x01 and </failure> ]]>\n");
	gate_add_check(&r[1], "suite.ok", 1, NULL);
	gate_add_skip(&r[1], "suite.later", "not yet");
	r[1].output = strdup("$ make test\nFAIL: <x> & y\n");
	r[1].ms = 1250;
}

Test(gate_junit, renders_one_suite_per_gate_with_counts)
{
	struct gate_result r[2];
	two_results(r);
	struct gate_junit_info info = { "staging", "eta", "2.1.0", 1700000000, "host<1>" };
	char *xml = gate_junit_render(r, 2, &info);
	cr_assert(strstr(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
			      "name=\"mlctl gate eta 2.1.0 in staging\" tests=\"5\" "
			      "failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.254\">"),
		  "%s", xml);
	cr_assert(strstr(xml, "<testsuite name=\"smoke\" tests=\"2\" failures=\"0\" "
			      "errors=\"0\" skipped=\"0\" time=\"0.004\" "
			      "timestamp=\"2023-11-14T22:13:20\" hostname=\"host&lt;1&gt;\">"),
		  "%s", xml);
	cr_assert(strstr(xml, "<testsuite name=\"unit\" tests=\"3\" failures=\"1\""), "%s", xml);
	cr_assert(strstr(xml, "name=\"case 1 on s-1 &lt;&amp;&gt; &quot;quoted&quot; "
			      "&apos;single&apos;\""),
		  "%s", xml);
	cr_assert(strstr(xml, "<failure type=\"unit\" message=\"exit status 2\">line one\n"
			      "bad byte \xEF\xBF\xBD here\xEF\xBF\xBD and &lt;/failure&gt; "
			      "]]&gt;\n</failure>"),
		  "%s", xml);
	cr_assert(strstr(xml, "<skipped message=\"not yet\"/>"), "%s", xml);
	cr_assert(strstr(xml, "<system-out>$ make test\nFAIL: &lt;x&gt; &amp; y\n</system-out>"),
		  "%s", xml);
	cr_assert(strstr(xml, "<property name=\"summary\" value=\"2/2 &amp; fine\"/>"), "%s", xml);
	cr_assert(strstr(xml, "classname=\"mlctl.smoke\""), "%s", xml);
	free(xml);
	gate_result_release(&r[0]);
	gate_result_release(&r[1]);
}

Test(gate_junit, what_we_write_reads_back_with_the_same_counts)
{
	struct gate_result r[2];
	two_results(r);
	char *xml = gate_junit_render(r, 2, NULL);
	struct gate_test_counts c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_junit_parse(xml, strlen(xml), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.tests, 5);
	cr_assert_eq(c.failures, 1);
	cr_assert_eq(c.errors, 0);
	cr_assert_eq(c.skipped, 1);
	cr_assert_str_eq(c.cases[1].name, "case 1 on s-1 <&> \"quoted\" 'single'");
	cr_assert_str_eq(c.cases[1].suite, "smoke");
	cr_assert_str_eq(c.cases[2].message, "exit status 2");
	cr_assert_eq(c.cases[2].status, GATE_CASE_FAIL);
	cr_assert_float_eq(c.cases[2].time_s, 1.2, 1e-9);
	cr_assert_eq(c.cases[4].status, GATE_CASE_SKIP);
	gate_test_counts_release(&c);
	free(xml);
	gate_result_release(&r[0]);
	gate_result_release(&r[1]);
}

Test(gate_junit, reads_criterion_with_a_failure)
{
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!-- Tests compiled with Criterion v2.4.1 -->\n"
		"<testsuites name=\"Criterion Tests\" tests=\"3\" failures=\"1\" errors=\"0\" disabled=\"0\">\n"
		"  <testsuite name=\"eta\" tests=\"3\" failures=\"1\" errors=\"0\" disabled=\"0\" skipped=\"0\" time=\"0.003\">\n"
		"    <testcase name=\"ok_one\" assertions=\"5\" status=\"PASSED\" time=\"0.000\">\n"
		"    </testcase>\n"
		"    <testcase name=\"bad_one\" assertions=\"1\" status=\"FAILED\" time=\"0.001\">\n"
		"      <failure type=\"assert\" message=\"1 assertion(s) failed.\">test_eta.c:12: expected 1.07</failure>\n"
		"    </testcase>\n"
		"    <testcase name=\"skipped_one\" assertions=\"0\" status=\"SKIPPED\" time=\"0.000\">\n"
		"    </testcase>\n"
		"  </testsuite>\n"
		"</testsuites>\n";
	struct gate_test_counts c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_junit_parse(xml, strlen(xml), &c, &err), 0);
	cr_assert_eq(c.tests, 3);
	cr_assert_eq(c.failures, 1);
	cr_assert_eq(c.skipped, 1);
	cr_assert_str_eq(c.cases[1].suite, "eta");
	cr_assert_str_eq(c.cases[1].name, "bad_one");
	cr_assert_str_eq(c.cases[1].message, "1 assertion(s) failed.");
	gate_test_counts_release(&c);
}

Test(gate_junit, reads_pytest_and_surefire_dialects)
{
	const char *pytest =
		"<?xml version='1.0' encoding='utf-8'?><testsuites><testsuite name='pytest' "
		"errors='1' failures='1' skipped='1' tests='4' time='0.1'>"
		"<testcase classname='tests.test_m' name='test_a' time='0.01'/>"
		"<testcase classname='tests.test_m' name='test_b' time='0.02'>"
		"<failure message='assert 1 == 2'><![CDATA[def test_b():\n>  assert 1 == 2 </failure>]]></failure>"
		"</testcase>"
		"<testcase classname='tests.test_m' name='test_c'><error message='fixture &apos;db&apos; not found'/></testcase>"
		"<testcase classname='tests.test_m' name='test_d'><skipped type='pytest.skip' message='later'/></testcase>"
		"</testsuite></testsuites>";
	struct gate_test_counts c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_junit_parse(pytest, strlen(pytest), &c, &err), 0);
	cr_assert_eq(c.tests, 4);
	cr_assert_eq(c.failures, 1);
	cr_assert_eq(c.errors, 1);
	cr_assert_eq(c.skipped, 1);
	cr_assert_str_eq(c.cases[0].classname, "tests.test_m");
	cr_assert_str_eq(c.cases[2].message, "fixture 'db' not found");
	cr_assert_str_eq(c.cases[3].message, "later");
	gate_test_counts_release(&c);

	/* Surefire: a lone testsuite, a failure message only in the text */
	const char *surefire =
		"<testsuite xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		"name=\"com.x.ModelTest\" tests=\"2\" failures=\"1\">\n"
		"<properties><property name=\"java.version\" value=\"17\"/></properties>\n"
		"<testcase name=\"eta&#x2192;ok\" classname=\"com.x.ModelTest\" time=\"0.5\"/>\n"
		"<testcase name=\"bias\" classname=\"com.x.ModelTest\" time=\"0.25\">"
		"<failure type=\"java.lang.AssertionError\">expected &lt;1.07&gt;</failure></testcase>\n"
		"</testsuite>";
	cr_assert_eq(gate_junit_parse(surefire, strlen(surefire), &c, &err), 0);
	cr_assert_eq(c.tests, 2);
	cr_assert_eq(c.failures, 1);
	cr_assert_str_eq(c.cases[0].name, "eta\xE2\x86\x92ok");
	cr_assert_str_eq(c.cases[1].message, "expected <1.07>");
	gate_test_counts_release(&c);
}

Test(gate_junit, totals_only_reports_fall_back_to_suite_attributes)
{
	const char *xml = "<testsuites><testsuite name=\"a\" tests=\"7\" failures=\"2\" "
			  "errors=\"1\" skipped=\"1\"/><testsuite name=\"b\" tests=\"3\" "
			  "failures=\"0\"/></testsuites>";
	struct gate_test_counts c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_junit_parse(xml, strlen(xml), &c, &err), 0);
	cr_assert_eq(c.tests, 10);
	cr_assert_eq(c.failures, 2);
	cr_assert_eq(c.errors, 1);
	cr_assert_eq(c.skipped, 1);
	cr_assert_eq(c.n_cases, 0);
	gate_test_counts_release(&c);
}

Test(gate_junit, a_testcase_inside_a_comment_does_not_count)
{
	const char *xml = "<testsuite name=\"s\"><!-- <testcase name=\"ghost\"/> -->"
			  "<testcase name=\"real\"/></testsuite>";
	struct gate_test_counts c;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_junit_parse(xml, strlen(xml), &c, &err), 0);
	cr_assert_eq(c.tests, 1);
	cr_assert_str_eq(c.cases[0].name, "real");
	gate_test_counts_release(&c);
}

Test(gate_junit, text_that_is_not_junit_is_an_error)
{
	struct gate_test_counts c;
	struct ml_err err = ML_ERR_INIT;
	const char *t = "<html><body>nope</body></html>";
	cr_assert_eq(gate_junit_parse(t, strlen(t), &c, &err), -1);
	cr_assert(strstr(err.msg, "not a JUnit report"), "%s", err.msg);
	cr_assert_eq(gate_junit_parse("", 0, &c, &err), -1);
	/* truncated in the middle of a tag: what came before still counts */
	const char *cut = "<testsuite name=\"s\"><testcase name=\"a\"/><testcase na";
	cr_assert_eq(gate_junit_parse(cut, strlen(cut), &c, &err), 0);
	cr_assert_eq(c.tests, 1);
	gate_test_counts_release(&c);
}

Test(gate_tap, counts_ok_not_ok_skip_todo_and_a_short_plan)
{
	const char *tap = "TAP version 13\n1..6\nok 1 - loads\nnot ok 2 - bias # got 0.6\n"
			  "ok 3 # SKIP no GPU\nnot ok 4 - flaky # TODO fix\n"
			  "    ok 1 - a subtest (ignored)\nok 5\n";
	struct gate_test_counts c;
	cr_assert_eq(gate_tap_parse(tap, strlen(tap), &c), 0);
	cr_assert_eq(c.n_cases, 5);
	cr_assert_eq(c.tests, 6);
	cr_assert_eq(c.failures, 2, "one failed and one planned but not run");
	cr_assert_eq(c.skipped, 2);
	cr_assert_str_eq(c.cases[0].name, "loads");
	cr_assert_str_eq(c.cases[1].name, "bias");
	cr_assert_str_eq(c.cases[2].message, "no GPU");
	gate_test_counts_release(&c);
	cr_assert_eq(gate_tap_parse("make: nothing\nokay\n", 19, &c), -1);
}

Test(gate_result, json_has_the_gate_checks_and_figures)
{
	struct gate_result r;
	gate_result_init(&r, CFG_GATE_LOAD);
	gate_add_checkf(&r, "p99 <= 50ms", 5000, "p99 latency %dms is above 50ms", 92);
	json_object_set_new(r.figures, "requests", json_integer(1000));
	gate_set_summary(&r, "1000 requests");
	json_t *j = gate_result_json(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "gate")), "load");
	cr_assert(json_is_false(json_object_get(j, "passed")));
	cr_assert_eq(json_array_size(json_object_get(j, "checks")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "figures"),
							"requests")),
		     1000);
	char buf[128];
	cr_assert_str_eq(gate_first_failure(&r, buf, sizeof(buf)),
			 "p99 <= 50ms: p99 latency 92ms is above 50ms");
	json_decref(j);
	gate_result_release(&r);
}
