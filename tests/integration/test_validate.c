/* test_validate.c — `mlctl validate` end to end: the real binary (MLCTL_BIN)
 * on a copy of the repository's embedded default (envs/, pipelines/,
 * examples/eta/, copied from the current directory, the repository root
 * under `make integration`) in a temporary directory, run with -C. Checks
 * exit codes, the text lines on stdout and stderr, the --output json
 * document, and that each mutation of a valid file exits 2 naming the
 * right file:line:column. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- a project copy and a runner ---------------------------------------- */

static char *proj; /* the copied project */
static char *outdir; /* captured stdout / stderr */

static const char *const project_files[] = {
	"envs/dev.yaml",
	"envs/test.yaml",
	"envs/staging.yaml",
	"envs/prod.yaml",
	"pipelines/default.yaml",
	"examples/eta/release-1.0.0.yaml",
	"examples/eta/release-2.0.0.yaml",
	"examples/eta/release-2.1.0.yaml",
	"examples/eta/models/eta-1.0.0.yaml",
	"examples/eta/models/eta-2.0.0.yaml",
	"examples/eta/models/eta-2.1.0.yaml",
	"examples/eta/cases.csv",
};

static char *vfmt(const char *f, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, f, cp);
	va_end(cp);
	char *s = malloc((size_t)n + 1);
	cr_assert_not_null(s);
	vsnprintf(s, (size_t)n + 1, f, ap);
	return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = vfmt(f, ap);
	va_end(ap);
	return s;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (size_t r; (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
		n += r;
		if (cap - n < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void mkdirs_for(char *path)
{
	for (char *s = path + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *ftw)
{
	(void)st;
	(void)fl;
	(void)ftw;
	return remove(p);
}

static void setup(void)
{
	char t1[] = "/tmp/mlctl-validate-XXXXXX", t2[] = "/tmp/mlctl-vout-XXXXXX";
	cr_assert_not_null(mkdtemp(t1));
	cr_assert_not_null(mkdtemp(t2));
	proj = strdup(t1);
	outdir = strdup(t2);
	for (size_t i = 0; i < sizeof(project_files) / sizeof(*project_files); i++) {
		FILE *f = fopen(project_files[i], "rb");
		cr_assert_not_null(f, "%s: %s (run from the repository root)",
				   project_files[i], strerror(errno));
		fclose(f);
		char *text = slurp(project_files[i]);
		char *dst = fmt("%s/%s", proj, project_files[i]);
		mkdirs_for(dst);
		spit(dst, text, strlen(text));
		free(dst);
		free(text);
	}
}

static void teardown(void)
{
	if (proj)
		nftw(proj, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (outdir)
		nftw(outdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(proj);
	free(outdir);
	proj = outdir = NULL;
}

TestSuite(validate, .init = setup, .fini = teardown, .timeout = 120);

struct run {
	int code;
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static const char *mlctl_bin(void)
{
	const char *b = getenv("MLCTL_BIN");
	cr_assert(b && *b, "MLCTL_BIN is not set (make integration sets it)");
	return b;
}

/* Run mlctl with a NULL-terminated argument list; 30 s at most. */
static struct run mlctl_v(const char *first, va_list ap)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = mlctl_bin();
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	argv[n] = NULL;
	char *out = fmt("%s/stdout", outdir), *err = fmt("%s/stderr", outdir);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fi = open("/dev/null", O_RDONLY);
		if (fo < 0 || fe < 0 || fi < 0)
			_exit(127);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		setenv("NO_COLOR", "1", 1);
		setenv("TZ", "UTC", 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	struct timespec ts = { 0, 10 * 1000000L };
	for (int i = 0; i < 3000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			goto done;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	cr_assert_fail("mlctl %s did not finish in 30 s", first);
done:;
	struct run r = { -1, slurp(out), slurp(err) };
	if (WIFEXITED(st))
		r.code = WEXITSTATUS(st);
	cr_assert(WIFEXITED(st), "mlctl %s died: signal %d\nstderr:\n%s", first,
		  WTERMSIG(st), r.err);
	free(out);
	free(err);
	return r;
}

static struct run mlctl(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	struct run r = mlctl_v(first, ap);
	va_end(ap);
	return r;
}

/* `mlctl -C PROJECT validate ...` */
static struct run validate(const char *first, ...)
{
	const char *args[24];
	size_t n = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && n < 23; a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	/* the fixed prefix, then the caller's arguments */
	const char *all[28] = { "-C", proj, "validate" };
	for (size_t i = 0; i <= n; i++)
		all[3 + i] = args[i];
	return mlctl(all[0], all[1], all[2], all[3], all[4], all[5], all[6],
		     all[7], all[8], all[9], all[10], all[11], NULL);
}

/* Replace the first `from` in a project file by `to` (it must be there). */
static void mutate(const char *rel, const char *from, const char *to)
{
	char *path = fmt("%s/%s", proj, rel);
	char *text = slurp(path);
	char *at = strstr(text, from);
	cr_assert_not_null(at, "'%s' not in %s", from, rel);
	char *out = fmt("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	spit(path, out, strlen(out));
	free(out);
	free(text);
	free(path);
}

static void append(const char *rel, const char *data, size_t len)
{
	char *path = fmt("%s/%s", proj, rel);
	char *text = slurp(path);
	size_t n = strlen(text);
	text = realloc(text, n + len);
	memcpy(text + n, data, len);
	spit(path, text, n + len);
	free(text);
	free(path);
}

static size_t lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

#define ASSERT_LINE(text, line)                                               \
	cr_assert(has_line(text, line), "no line\n  %s\nin:\n%s", line, text)

static const char ALL_OK[] =
	"ok envs/dev.yaml (Environment dev, 1 node)\n"
	"ok envs/prod.yaml (Environment prod, 4 nodes)\n"
	"ok envs/staging.yaml (Environment staging, 2 nodes)\n"
	"ok envs/test.yaml (Environment test, 1 node)\n"
	"ok pipelines/default.yaml (Pipeline default, 4 stages)\n"
	"ok examples/eta/release-1.0.0.yaml (Release eta 1.0.0)\n"
	"ok examples/eta/release-2.0.0.yaml (Release eta 2.0.0)\n"
	"ok examples/eta/release-2.1.0.yaml (Release eta 2.1.0)\n";

/* A mutation: exit 2, exactly `error` (one diagnostic) on stderr followed
 * by the count, and the other documents still "ok" on stdout. */
static void expect_one_error(const char *error)
{
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 2, "exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out,
		     r.err);
	char *want = fmt("%s\nvalidate: 1 error in 1 of 8 documents\n", error);
	cr_assert_str_eq(r.err, want);
	cr_assert_eq(lines(r.out), 7, "stdout:\n%s", r.out);
	free(want);
	run_free(&r);
}

/* ---- the valid project --------------------------------------------------- */

Test(validate, valid_project_prints_one_ok_line_per_document_and_exits_0)
{
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 0, "stderr:\n%s", r.err);
	cr_assert_str_eq(r.out, ALL_OK);
	cr_assert_str_eq(r.err, "");
	run_free(&r);
}

Test(validate, repository_itself_is_valid)
{
	/* no -C: the current directory, the repository root */
	struct run r = mlctl("validate", NULL);
	cr_assert_eq(r.code, 0, "stderr:\n%s", r.err);
	ASSERT_LINE(r.out, "ok envs/prod.yaml (Environment prod, 4 nodes)");
	ASSERT_LINE(r.out, "ok pipelines/default.yaml (Pipeline default, 4 stages)");
	ASSERT_LINE(r.out, "ok examples/eta/release-2.1.0.yaml (Release eta 2.1.0)");
	run_free(&r);
}

Test(validate, json_output_of_a_valid_project_is_one_document)
{
	struct run r = validate("--output", "json", NULL);
	cr_assert_eq(r.code, 0, "stderr:\n%s", r.err);
	cr_assert_str_eq(r.err, "");
	json_error_t je;
	json_t *root = json_loads(r.out, 0, &je);
	cr_assert_not_null(root, "not JSON (%s):\n%s", je.text, r.out);
	cr_assert(json_is_true(json_object_get(root, "valid")));
	json_t *docs = json_object_get(root, "documents");
	cr_assert_eq(json_array_size(docs), 8);
	static const char *const files[] = {
		"envs/dev.yaml", "envs/prod.yaml", "envs/staging.yaml",
		"envs/test.yaml", "pipelines/default.yaml",
		"examples/eta/release-1.0.0.yaml", "examples/eta/release-2.0.0.yaml",
		"examples/eta/release-2.1.0.yaml",
	};
	static const char *const kinds[] = { "Environment", "Environment",
					     "Environment", "Environment",
					     "Pipeline", "Release", "Release",
					     "Release" };
	for (size_t i = 0; i < 8; i++) {
		json_t *d = json_array_get(docs, i);
		cr_assert_str_eq(json_string_value(json_object_get(d, "file")), files[i]);
		cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), kinds[i]);
		cr_assert(json_is_true(json_object_get(d, "valid")));
		cr_assert(json_is_array(json_object_get(d, "errors")));
		cr_assert_eq(json_array_size(json_object_get(d, "errors")), 0);
	}
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(docs, 1),
							   "summary")),
			 "Environment prod, 4 nodes");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(docs, 7),
							   "summary")),
			 "Release eta 2.1.0");
	json_decref(root);
	run_free(&r);
}

Test(validate, explicit_files_and_directories)
{
	struct run r = validate("envs/prod.yaml", "examples/eta/models/eta-2.0.0.yaml",
				"pipelines", NULL);
	cr_assert_eq(r.code, 0, "stderr:\n%s", r.err);
	cr_assert_str_eq(r.out,
			 "ok envs/prod.yaml (Environment prod, 4 nodes)\n"
			 "ok examples/eta/models/eta-2.0.0.yaml (Model eta 2.0.0, "
			 "2 terms)\n"
			 "ok pipelines/default.yaml (Pipeline default, 4 stages)\n");
	run_free(&r);
}

Test(validate, global_options_go_before_or_after_the_command)
{
	struct run r = mlctl("validate", "--output=json", "-C", proj,
			     "envs/dev.yaml", NULL);
	cr_assert_eq(r.code, 0, "stderr:\n%s", r.err);
	json_t *root = json_loads(r.out, 0, NULL);
	cr_assert_not_null(root, "%s", r.out);
	cr_assert_eq(json_array_size(json_object_get(root, "documents")), 1);
	json_decref(root);
	run_free(&r);
}

/* ---- mutations of valid files: exit 2, file:line:column ------------------ */

Test(validate, wrong_type_names_file_line_column)
{
	mutate("envs/prod.yaml", "weight: 10,", "weight: ten,");
	expect_one_error("envs/prod.yaml:21:22: error: strategy.steps[0].weight: "
			 "expected an integer 1..100, found 'ten'");
}

Test(validate, unknown_key_names_file_line_column_with_did_you_mean)
{
	mutate("envs/staging.yaml", "max_surge:", "max_surg:");
	expect_one_error("envs/staging.yaml:18:3: error: strategy.max_surg: unknown "
			 "key 'max_surg' (did you mean 'max_surge'?)");
}

Test(validate, bad_duration_names_file_line_column)
{
	mutate("envs/prod.yaml", "pause: 5s }, { weight: 50",
	       "pause: 5 }, { weight: 50");
	expect_one_error("envs/prod.yaml:21:33: error: strategy.steps[0].pause: "
			 "expected a duration like 250ms, 10s, 2m or 1h, found '5'");
}

Test(validate, dangling_pipeline_stage_names_file_line_column)
{
	mutate("pipelines/default.yaml", "{ env: staging }", "{ env: stagin }");
	expect_one_error("pipelines/default.yaml:5:47: error: stages[2].env: no "
			 "environment named 'stagin' (did you mean 'staging'?)");
}

Test(validate, dangling_promotes_from_names_file_line_column)
{
	mutate("envs/prod.yaml", "promotes_from: staging", "promotes_from: stageing");
	expect_one_error("envs/prod.yaml:8:16: error: promotes_from: no environment "
			 "named 'stageing' (did you mean 'staging'?)");
}

Test(validate, wrong_digest_names_both_digests)
{
	mutate("examples/eta/release-2.0.0.yaml", "ebf518a0\"", "ebf518a1\"");
	expect_one_error(
		"examples/eta/release-2.0.0.yaml:7:49: error: artifact.sha256: sha256 "
		"mismatch: the manifest says "
		"e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a1 but "
		"examples/eta/models/eta-2.0.0.yaml has "
		"e60e6567810f49f157bfe7923298268713058d86d7ad2a2c67008193ebf518a0");
}

Test(validate, duplicate_key_names_the_second)
{
	append("envs/prod.yaml", "tier: prod\n", 11);
	expect_one_error("envs/prod.yaml:26:1: error: tier: duplicate key 'tier' "
			 "(first defined at line 7, column 1)");
}

Test(validate, syntax_error_names_file_line_column_and_nothing_else)
{
	/* the pipeline's reference to prod is not reported on top */
	mutate("envs/prod.yaml", "\"127.0.0.1:8419\" }", "\"127.0.0.1:8419\"");
	expect_one_error("envs/prod.yaml:19:1: error: YAML syntax error: did not find "
			 "expected ',' or '}' while parsing a flow mapping");
}

Test(validate, missing_artifact_names_the_uri)
{
	mutate("examples/eta/release-2.1.0.yaml", "uri: models/eta-2.1.0.yaml",
	       "uri: models/eta-2.2.0.yaml");
	expect_one_error("examples/eta/release-2.1.0.yaml:7:18: error: artifact.uri: "
			 "artifact 'examples/eta/models/eta-2.2.0.yaml' not found");
}

Test(validate, smoke_input_breaking_the_contract_names_the_value)
{
	mutate("examples/eta/release-1.0.0.yaml", "{ v: 50, d: 10 }", "{ v: 0, d: 10 }");
	expect_one_error("examples/eta/release-1.0.0.yaml:16:32: error: "
			 "checks.smoke[0].input.v: smoke input breaks the contract: "
			 "must be > 0, got 0");
}

Test(validate, release_analysis_block_is_checked_like_the_environments)
{
	static const char good[] = "analysis: { max_p99: 20ms, traffic: { rate: 100 } }\n";
	append("examples/eta/release-2.1.0.yaml", good, sizeof(good) - 1);
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 0, "stderr:\n%s", r.err);
	cr_assert_str_eq(r.out, ALL_OK);
	run_free(&r);
	mutate("examples/eta/release-2.1.0.yaml", "max_p99: 20ms", "max_p99: fast");
	expect_one_error("examples/eta/release-2.1.0.yaml:19:22: error: "
			 "analysis.max_p99: expected a duration like 250ms, 10s, "
			 "2m or 1h, found 'fast'");
	mutate("examples/eta/release-2.1.0.yaml", "max_p99: fast", "max_p9: 20ms");
	expect_one_error("examples/eta/release-2.1.0.yaml:19:13: error: "
			 "analysis.max_p9: unknown key 'max_p9' (did you mean "
			 "'max_p99'?)");
}

Test(validate, node_url_clash_is_reported_at_the_later_environment)
{
	mutate("envs/staging.yaml", "127.0.0.1:8302", "127.0.0.1:8411");
	expect_one_error("envs/staging.yaml:14:29: error: nodes[1].url: address "
			 "127.0.0.1:8411 is already used by node 'prod-1' of "
			 "environment 'prod' (envs/prod.yaml:14:26)");
}

Test(validate, router_listen_clash_with_a_node_is_reported)
{
	mutate("envs/staging.yaml", "listen: \"127.0.0.1:8300\"",
	       "listen: \"127.0.0.1:8411\"");
	expect_one_error("envs/staging.yaml:15:34: error: router.listen: address "
			 "127.0.0.1:8411 is already used by node 'prod-1' of "
			 "environment 'prod' (envs/prod.yaml:14:26)");
}

Test(validate, strategy_key_of_another_type_is_reported)
{
	mutate("envs/staging.yaml", "  max_unavailable: 25%\n",
	       "  max_unavailable: 25%\n  steps: [ { weight: 50 } ]\n");
	expect_one_error("envs/staging.yaml:20:3: error: strategy.steps: 'steps' "
			 "applies to canary strategies, not rolling");
}

Test(validate, non_utf8_file_names_the_byte)
{
	append("envs/test.yaml", "# caf\xE9\n", 7);
	expect_one_error("envs/test.yaml:19:6: error: file is not valid UTF-8 (byte "
			 "0xE9)");
}

Test(validate, empty_environment_file_is_reported_once)
{
	spit(fmt("%s/envs/dev.yaml", proj), "", 0);
	expect_one_error("envs/dev.yaml:1:1: error: empty file: expected a YAML "
			 "document");
}

Test(validate, second_document_in_a_file_is_reported)
{
	append("pipelines/default.yaml", "---\nname: other\n", 16);
	expect_one_error("pipelines/default.yaml:6:1: error: several documents in "
			 "one file (a second document starts here); put each in its "
			 "own file");
}

Test(validate, every_error_of_a_file_is_reported)
{
	mutate("envs/staging.yaml", "tier: staging", "tier: stage");
	mutate("envs/staging.yaml", "managed: true", "managed: yes");
	mutate("envs/staging.yaml", "max_unavailable: 25%", "max_unavailable: lots");
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 2);
	cr_assert_str_eq(r.err,
			 "envs/staging.yaml:7:7: error: tier: expected one of dev, "
			 "test, staging or prod, found 'stage'\n"
			 "envs/staging.yaml:10:10: error: managed: expected true or "
			 "false, found 'yes'\n"
			 "envs/staging.yaml:19:20: error: strategy.max_unavailable: "
			 "expected a node count like 1 or a percentage like 25%, "
			 "found 'lots'\n"
			 "validate: 3 errors in 1 of 8 documents\n");
	run_free(&r);
}

Test(validate, a_file_with_errors_still_gets_its_cross_document_checks)
{
	/* a broken file's dangling promotes_from is still one of its errors */
	mutate("envs/prod.yaml", "promotes_from: staging", "promotes_from: stagin");
	mutate("envs/prod.yaml", "max_p99: 250ms", "max_p99: 250xs");
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 2);
	cr_assert_str_eq(r.err,
			 "envs/prod.yaml:8:16: error: promotes_from: no environment "
			 "named 'stagin' (did you mean 'staging'?)\n"
			 "envs/prod.yaml:22:58: error: strategy.analysis.max_p99: "
			 "expected a duration like 250ms, 10s, 2m or 1h, found "
			 "'250xs'\n"
			 "validate: 2 errors in 1 of 8 documents\n");
	run_free(&r);
}

Test(validate, an_unknown_strategy_type_does_not_hide_the_blocks_other_errors)
{
	mutate("envs/prod.yaml", "type: canary", "type: canery");
	mutate("envs/prod.yaml", "weight: 10,", "weight: 1000,");
	mutate("envs/prod.yaml", "interval: 1s", "intervall: 1s");
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 2);
	cr_assert_str_eq(r.err,
			 "envs/prod.yaml:20:9: error: strategy.type: expected one "
			 "of recreate, rolling, bluegreen or canary, found "
			 "'canery'\n"
			 "envs/prod.yaml:21:22: error: strategy.steps[0].weight: "
			 "expected an integer 1..100, found '1000'\n"
			 "envs/prod.yaml:22:15: error: strategy.analysis.intervall: "
			 "unknown key 'intervall' (did you mean 'interval'?)\n"
			 "validate: 3 errors in 1 of 8 documents\n");
	run_free(&r);
}

Test(validate, errors_in_several_files_are_all_reported)
{
	mutate("envs/prod.yaml", "weight: 10,", "weight: ten,");
	mutate("examples/eta/release-2.0.0.yaml", "ebf518a0\"", "ebf518a1\"");
	struct run r = validate(NULL);
	cr_assert_eq(r.code, 2);
	cr_assert_eq(lines(r.out), 6, "%s", r.out);
	cr_assert_eq(lines(r.err), 3, "%s", r.err);
	ASSERT_LINE(r.err, "validate: 2 errors in 2 of 8 documents");
	run_free(&r);
}

/* ---- JSON errors ------------------------------------------------------- */

static json_t *json_run(int want_code, struct run *r)
{
	*r = validate("--output", "json", NULL);
	cr_assert_eq(r->code, want_code, "exit %d\n%s\n%s", r->code, r->out, r->err);
	cr_assert_str_eq(r->err, "", "json mode wrote to stderr");
	json_error_t je;
	json_t *root = json_loads(r->out, 0, &je);
	cr_assert_not_null(root, "not one JSON document (%s):\n%s", je.text, r->out);
	return root;
}

static json_t *doc_of(json_t *root, const char *file)
{
	json_t *docs = json_object_get(root, "documents"), *d;
	size_t i;
	json_array_foreach(docs, i, d)
		if (strcmp(json_string_value(json_object_get(d, "file")), file) == 0)
			return d;
	cr_assert_fail("no document %s", file);
	return NULL;
}

static void assert_json_error(json_t *e, const char *file, int line, int col,
			      const char *path, const char *msg)
{
	cr_assert_str_eq(json_string_value(json_object_get(e, "file")), file);
	cr_assert_eq(json_integer_value(json_object_get(e, "line")), line);
	cr_assert_eq(json_integer_value(json_object_get(e, "column")), col);
	if (path)
		cr_assert_str_eq(json_string_value(json_object_get(e, "path")), path);
	else
		cr_assert(json_is_null(json_object_get(e, "path")));
	cr_assert_not_null(json_object_get(e, "message"), "no message");
	cr_assert_str_eq(json_string_value(json_object_get(e, "message")), msg);
}

Test(validate, json_error_carries_file_line_column_path_and_message)
{
	mutate("envs/prod.yaml", "weight: 10,", "weight: ten,");
	struct run r;
	json_t *root = json_run(2, &r);
	cr_assert(json_is_false(json_object_get(root, "valid")));
	json_t *d = doc_of(root, "envs/prod.yaml");
	cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), "Environment");
	cr_assert(json_is_false(json_object_get(d, "valid")));
	json_t *errs = json_object_get(d, "errors");
	cr_assert_eq(json_array_size(errs), 1);
	assert_json_error(json_array_get(errs, 0), "envs/prod.yaml", 21, 22,
			  "strategy.steps[0].weight",
			  "expected an integer 1..100, found 'ten'");
	cr_assert(json_is_true(json_object_get(doc_of(root, "envs/dev.yaml"), "valid")));
	json_decref(root);
	run_free(&r);
}

Test(validate, json_syntax_error_has_no_path)
{
	append("envs/test.yaml", "exec: [x\n", 9);
	struct run r;
	json_t *root = json_run(2, &r);
	json_t *d = doc_of(root, "envs/test.yaml");
	json_t *errs = json_object_get(d, "errors");
	cr_assert_eq(json_array_size(errs), 1);
	assert_json_error(json_array_get(errs, 0), "envs/test.yaml", 20, 1, NULL,
			  "YAML syntax error: did not find expected ',' or ']' while "
			  "parsing a flow sequence");
	json_decref(root);
	run_free(&r);
}

Test(validate, json_keeps_a_shortened_utf8_value_in_the_message)
{
	/* 30 two-byte characters: the message shortens the value */
	mutate("envs/staging.yaml", "tier: staging",
	       "tier: \"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
	       "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
	       "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
	       "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"");
	struct run r;
	json_t *root = json_run(2, &r);
	json_t *errs = json_object_get(doc_of(root, "envs/staging.yaml"), "errors");
	cr_assert_eq(json_array_size(errs), 1);
	assert_json_error(json_array_get(errs, 0), "envs/staging.yaml", 7, 7, "tier",
			  "expected one of dev, test, staging or prod, found "
			  "'\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
			  "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
			  "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9...'");
	json_decref(root);
	run_free(&r);
}

/* ---- usage ---------------------------------------------------------------- */

Test(validate, unknown_option_exits_2)
{
	struct run r = validate("--strict", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert_str_eq(r.out, "");
	cr_assert(strstr(r.err, "unknown option '--strict'"), "%s", r.err);
	run_free(&r);
}

Test(validate, missing_file_exits_2_naming_it)
{
	struct run r = validate("envs/qa.yaml", NULL);
	cr_assert_eq(r.code, 2);
	ASSERT_LINE(r.err, "envs/qa.yaml: error: cannot read: No such file or directory");
	run_free(&r);
}

Test(validate, directory_without_documents_exits_2)
{
	char *empty = fmt("%s/empty", outdir);
	mkdir(empty, 0755);
	struct run r = mlctl("-C", empty, "validate", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "no documents found"), "%s", r.err);
	run_free(&r);
	free(empty);
}

Test(validate, missing_project_directory_exits_2)
{
	struct run r = mlctl("-C", "/nonexistent/project", "validate", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "/nonexistent/project"), "%s", r.err);
	run_free(&r);
}

Test(validate, help_pages_exit_0)
{
	static const char *const cmds[][3] = {
		{ "--help", NULL, NULL },
		{ "help", "validate", NULL },
		{ "validate", "--help", NULL },
		{ "help", "exit-codes", NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
		struct run r = mlctl(cmds[i][0], cmds[i][1], NULL);
		cr_assert_eq(r.code, 0, "mlctl %s %s: exit %d\n%s", cmds[i][0],
			     cmds[i][1] ? cmds[i][1] : "", r.code, r.err);
		cr_assert_neq(strlen(r.out), 0);
		run_free(&r);
	}
	struct run r = mlctl("validate", "--help", NULL);
	cr_assert(strstr(r.out, "mlctl validate [PATH...]"), "%s", r.out);
	run_free(&r);
	r = mlctl("help", "exit-codes", NULL);
	cr_assert(strstr(r.out, "\n  2  bad usage or bad input"), "%s", r.out);
	run_free(&r);
}

Test(validate, unknown_command_exits_2)
{
	struct run r = mlctl("validat", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "unknown command 'validat' (did you mean "
				"'validate'?)"),
		  "%s", r.err);
	run_free(&r);
	r = mlctl("frobnicate", NULL);
	cr_assert_eq(r.code, 2);
	run_free(&r);
	/* no command at all is bad usage too, with the usage shown */
	r = mlctl(NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.out, "Usage: mlctl [global options] <command>"), "%s",
		  r.out);
	run_free(&r);
	r = mlctl("help", "delpoy", NULL);
	cr_assert_eq(r.code, 2);
	cr_assert(strstr(r.err, "help: no command named 'delpoy' (did you mean "
				"'deploy'?)\nTry 'mlctl --help'."),
		  "%s", r.err);
	run_free(&r);
}
