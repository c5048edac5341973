/* test_ledger.c — the git ledger: branches, trees, parent chains, tags,
 * rejections, history, current/previous good, author fallback, and what
 * `git log` shows. Each test has its own temporary state dir and HOME;
 * the repository is checked with the git CLI, not just with libgit2. */
#define _XOPEN_SOURCE 700 /* popen, nftw, mkdtemp, gethostname */
#include <criterion/criterion.h>

#include <ftw.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "ledger.h"
#include "util.h"

static char root[64];
static char *state_dir, *home_dir, *ledger_dir;

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void git_config_home(const char *name, const char *email)
{
	char *p = path_join(home_dir, ".gitconfig");
	char *t = xasprintf("[user]\n\tname = %s\n\temail = %s\n", name, email);
	write_text(p, t);
	free(t);
	free(p);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/mlctl-ledger-XXXXXX");
	cr_assert(mkdtemp(root));
	home_dir = path_join(root, "home");
	mkdir(home_dir, 0700);
	/* nested and missing: ledger_open creates it */
	state_dir = path_join(root, "project/.mlctl");
	ledger_dir = path_join(state_dir, "ledger");
	setenv("HOME", home_dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("MLCTL_AUTHOR");
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("TZ", "UTC", 1);
	git_config_home("Test Author", "author@example.org");
}

static int rm_entry(const char *p, const struct stat *st, int fl,
		    struct FTW *ftw)
{
	(void)st;
	(void)fl;
	(void)ftw;
	remove(p);
	return 0;
}

static void teardown(void)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(state_dir);
	free(home_dir);
	free(ledger_dir);
}

TestSuite(ledger, .init = setup, .fini = teardown, .timeout = 60);

/* Output of `git --git-dir=<ledger> ARGS` (stderr discarded), caller frees. */
static char *git(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *git(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *args = xvasprintf(fmt, ap);
	va_end(ap);
	char *cmd = xasprintf("git --git-dir='%s' %s 2>/dev/null", ledger_dir,
			      args);
	FILE *p = popen(cmd, "r");
	cr_assert(p, "popen %s", cmd);
	char *out = NULL;
	size_t len = 0, cap = 0;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	pclose(p);
	out = xrealloc(out, len + 1);
	out[len] = '\0';
	free(cmd);
	free(args);
	return out;
}

static void assert_git(const char *expect, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void assert_git(const char *expect, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *args = xvasprintf(fmt, ap);
	va_end(ap);
	char *got = git("%s", args);
	cr_assert_str_eq(got, expect, "git %s: got \"%s\", want \"%s\"", args, got,
			 expect);
	free(got);
	free(args);
}

static struct ledger *open_ledger(void)
{
	struct ledger *l = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(ledger_open(state_dir, &l, &err), 0, "%s", err.msg);
	return l;
}

static void record(struct ledger *l, const struct ledger_record *r,
		   char oid[41])
{
	struct ml_err err = ML_ERR_INIT;
	char tmp[41];
	cr_assert_eq(ledger_record(l, r, oid ? oid : tmp, &err), 0, "%s",
		     err.msg);
}

/* A deploy of eta@version to env; manifest and state name the version. */
static void deploy(struct ledger *l, const char *env, const char *version,
		   const char *outcome, char oid[41])
{
	char *manifest = xasprintf("kind: Release\nmodel: eta\nversion: %s\n",
				   version);
	char *state = xasprintf("{\"nodes\":{\"%s-1\":\"%s\"}}", env, version);
	struct ledger_record r = {
		.env = env, .action = "deploy", .outcome = outcome,
		.model = "eta", .version = version, .strategy = "canary",
		.manifest = manifest, .manifest_len = strlen(manifest),
		.state_json = state, .duration_s = 12.5,
		.tag = strcmp(outcome, "deployed") == 0,
		.reject = strcmp(outcome, "aborted") == 0,
		.reason = strcmp(outcome, "aborted") == 0
				  ? "error rate 2.0% vs stable 0.0% (limit +1%)"
				  : NULL,
	};
	record(l, &r, oid);
	free(manifest);
	free(state);
}

static void gate(struct ledger *l, const char *env, const char *version,
		 bool passed, char oid[41])
{
	struct ledger_record r = {
		.env = env, .action = "gate",
		.outcome = passed ? "gates passed" : "gates failed",
		.model = "eta", .version = version,
		.detail = passed ? NULL : "load, acceptance",
		.reason = passed ? NULL : "p99 92ms > 50ms\nmape 0.49 > 0.10",
		.state_json = "{\"gates\":[]}", .duration_s = 4.25,
		.reject = !passed,
	};
	record(l, &r, oid);
}

/* ---- Repository ------------------------------------------------------- */

Test(ledger, open_creates_state_dir_and_bare_repository, .timeout = 20)
{
	struct ledger *l = open_ledger();
	cr_assert_str_eq(ledger_path(l), ledger_dir);
	assert_git("true\n", "rev-parse --is-bare-repository");
	assert_git("always\n", "config core.logAllRefUpdates");
	ledger_free(l);
	/* a second open (and a concurrent-style reopen) finds it */
	struct ledger *a = open_ledger(), *b = open_ledger();
	ledger_free(a);
	ledger_free(b);
	char *leftover = xasprintf("ls -a '%s' | grep -c ledger-new", state_dir);
	FILE *p = popen(leftover, "r");
	char buf[16] = "";
	cr_assert(fgets(buf, sizeof(buf), p));
	pclose(p);
	cr_assert_str_eq(buf, "0\n", "temporary repository left behind");
	free(leftover);
}

Test(ledger, open_refuses_a_directory_that_is_not_a_repository, .timeout = 20)
{
	char *cmd = xasprintf("mkdir -p '%s' && echo x > '%s/junk'", ledger_dir,
			      ledger_dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	struct ledger *l = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(ledger_open(state_dir, &l, &err), -1);
	cr_assert_null(l);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "ledger: cannot open"), "%s", err.msg);
}

/* ---- Records ---------------------------------------------------------- */

Test(ledger, commits_on_env_branch_with_tree_files_and_parent_chain,
     .timeout = 20)
{
	struct ledger *l = open_ledger();
	char c1[41], c2[41], c3[41], s1[41];
	deploy(l, "prod", "1.0.0", "deployed", c1);
	deploy(l, "staging", "2.0.0", "deployed", s1);
	deploy(l, "prod", "2.0.0", "deployed", c2);
	gate(l, "prod", "2.0.0", true, c3);

	char *expect = xasprintf("%s %s\n%s %s\n%s \n", c3, c2, c2, c1, c1);
	assert_git(expect, "log --format='%%H %%P' env/prod");
	free(expect);
	expect = xasprintf("%s \n", s1);
	assert_git(expect, "log --format='%%H %%P' env/staging");
	free(expect);
	expect = xasprintf("%s\n", c3);
	assert_git(expect, "rev-parse env/prod");
	free(expect);

	assert_git("manifest.yaml\nrejected.json\nstate.json\n",
		   "ls-tree --name-only %s", c2);
	assert_git("kind: Release\nmodel: eta\nversion: 2.0.0\n",
		   "show %s:manifest.yaml", c2);
	assert_git("{\"nodes\":{\"prod-1\":\"2.0.0\"}}\n",
		   "show %s:state.json", c2);
	assert_git("[]\n", "show %s:rejected.json", c2);
	/* a record without a manifest has none in its tree */
	assert_git("rejected.json\nstate.json\n", "ls-tree --name-only %s", c3);
	ledger_free(l);
}

Test(ledger, git_log_reads_well, .timeout = 20)
{
	struct ledger *l = open_ledger();
	deploy(l, "prod", "1.0.0", "deployed", NULL);
	deploy(l, "prod", "2.0.0", "deployed", NULL);
	struct ledger_record rb = {
		.env = "prod", .action = "rollback", .outcome = "rolled back",
		.model = "eta", .version = "1.0.0", .strategy = "bluegreen",
		.duration_s = 0.2, .tag = true,
	};
	record(l, &rb, NULL);
	gate(l, "prod", "2.1.0", false, NULL);
	deploy(l, "prod", "2.1.0", "aborted", NULL);

	assert_git("deploy eta 2.1.0 to prod (canary): aborted\n"
		   "gate eta 2.1.0 in prod: gates failed (load, acceptance)\n"
		   "rollback prod to eta 1.0.0 (bluegreen): rolled back\n"
		   "deploy eta 2.0.0 to prod (canary): deployed\n"
		   "deploy eta 1.0.0 to prod (canary): deployed\n",
		   "log --format=%%s env/prod");
	assert_git("aborted\ngates failed\nrolled back\ndeployed\ndeployed\n",
		   "log --format='%%(trailers:key=Outcome,valueonly)' "
		   "env/prod | grep -v '^$'");
	char *body = git("log -1 --format=%%B env/prod~1");
	cr_assert(strstr(body, "\n\nAction: gate\nOutcome: gates failed\n"
			       "Environment: prod\nModel: eta\n"
			       "Version: 2.1.0\nDuration: 4.250s\n"
			       "Detail: load, acceptance\n"
			       "Reason: p99 92ms > 50ms mape 0.49 > 0.10\n"
			       "Rejected: eta 2.1.0\n"),
		  "%s", body);
	free(body);
	assert_git("Test Author <author@example.org>\n",
		   "log -1 --format='%%an <%%ae>' env/prod");
	assert_git("Test Author <author@example.org>\n",
		   "log -1 --format='%%cn <%%ce>' env/prod");
	/* the branch moves are in the reflog too */
	char *reflog = git("reflog show --format=%%gs env/prod");
	cr_assert(strstr(reflog, "mlctl: deploy eta 1.0.0 to prod (canary): "
				 "deployed"),
		  "%s", reflog);
	free(reflog);
	ledger_free(l);
}

Test(ledger, tag_moves_to_latest_deployment_of_the_version, .timeout = 20)
{
	struct ledger *l = open_ledger();
	char c1[41], c2[41], c3[41], c4[41];
	deploy(l, "prod", "2.0.0", "deployed", c1);
	char *expect = xasprintf("%s\n", c1);
	assert_git(expect, "rev-parse 'prod/eta/2.0.0^{commit}'");
	free(expect);
	assert_git("tag\n", "cat-file -t prod/eta/2.0.0");
	assert_git("deploy eta 2.0.0 to prod (canary): deployed\n",
		   "tag -l --format='%%(contents:subject)' prod/eta/2.0.0");

	gate(l, "prod", "2.0.0", true, c2); /* a gate run moves no tag */
	deploy(l, "prod", "1.0.0", "deployed", c3);
	expect = xasprintf("%s\n", c1);
	assert_git(expect, "rev-parse 'prod/eta/2.0.0^{commit}'");
	free(expect);

	deploy(l, "prod", "2.0.0", "deployed", c4); /* redeploy: moved */
	expect = xasprintf("%s\n", c4);
	assert_git(expect, "rev-parse 'prod/eta/2.0.0^{commit}'");
	free(expect);
	expect = xasprintf("%s\n", c3);
	assert_git(expect, "rev-parse 'prod/eta/1.0.0^{commit}'");
	free(expect);
	assert_git("prod/eta/1.0.0\nprod/eta/2.0.0\n", "tag -l");

	struct ledger_entry *e = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(ledger_deployment(l, "prod", "eta", "2.0.0",
				       LEDGER_LOAD_STATE, &e, &err), 0);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->oid, c4);
	cr_assert_str_eq(e->state_json, "{\"nodes\":{\"prod-1\":\"2.0.0\"}}\n");
	ledger_entry_free(e);
	ledger_free(l);
}

Test(ledger, manifest_of_reads_the_deployed_manifest_back, .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	const char *m1 = "model: eta\nversion: 1.0.0\n# first\n";
	const char *m2 = "model: eta\nversion: 1.0.0\n# second, with\0nul\n";
	size_t m2len = 41;
	struct ledger_record r = {
		.env = "prod", .action = "deploy", .outcome = "deployed",
		.model = "eta", .version = "1.0.0", .manifest = m1,
		.manifest_len = strlen(m1), .tag = true,
	};
	record(l, &r, NULL);
	r.manifest = m2;
	r.manifest_len = m2len;
	record(l, &r, NULL);

	char *m = NULL;
	size_t len = 0;
	cr_assert_eq(ledger_manifest_of(l, "prod", "eta", "1.0.0", &m, &len,
					&err), 0, "%s", err.msg);
	cr_assert_eq(len, m2len);
	cr_assert_eq(memcmp(m, m2, len), 0, "manifest bytes differ");
	free(m);

	cr_assert_eq(ledger_manifest_of(l, "prod", "eta", "9.9.9", &m, &len,
					&err), 0);
	cr_assert_null(m);
	cr_assert_eq(ledger_manifest_of(l, "staging", "eta", "1.0.0", &m, &len,
					&err), 0);
	cr_assert_null(m);
	ledger_free(l);
}

/* ---- Rejections ------------------------------------------------------- */

Test(ledger, rejection_is_carried_forward_and_queried, .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	bool rej = true;
	char *reason = NULL;
	cr_assert_eq(ledger_is_rejected(l, "staging", "eta", "2.1.0", &rej,
					&reason, &err), 0);
	cr_assert(!rej);
	cr_assert_null(reason);

	deploy(l, "staging", "2.1.0", "deployed", NULL);
	gate(l, "staging", "2.1.0", false, NULL);
	deploy(l, "staging", "2.0.0", "deployed", NULL);
	gate(l, "staging", "2.0.0", true, NULL);

	cr_assert_eq(ledger_is_rejected(l, "staging", "eta", "2.1.0", &rej,
					&reason, &err), 0);
	cr_assert(rej);
	cr_assert_str_eq(reason, "p99 92ms > 50ms\nmape 0.49 > 0.10");
	free(reason);
	cr_assert_eq(ledger_is_rejected(l, "staging", "eta", "2.0.0", &rej,
					NULL, &err), 0);
	cr_assert(!rej);
	/* per environment */
	deploy(l, "prod", "1.0.0", "deployed", NULL);
	cr_assert_eq(ledger_is_rejected(l, "prod", "eta", "2.1.0", &rej, NULL,
					&err), 0);
	cr_assert(!rej);

	/* the tip's tree carries the list; the commit before rejecting not */
	char *tip = git("show env/staging:rejected.json");
	cr_assert(strstr(tip, "\"model\": \"eta\""), "%s", tip);
	cr_assert(strstr(tip, "\"version\": \"2.1.0\""), "%s", tip);
	cr_assert(strstr(tip, "\"by\": \"Test Author\""), "%s", tip);
	free(tip);
	assert_git("[]\n", "show env/staging~3:rejected.json");

	struct ledger_rejection *list = NULL;
	size_t n = 0;
	cr_assert_eq(ledger_rejections(l, "staging", &list, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].version, "2.1.0");
	cr_assert_eq(strlen(list[0].when), 20, "%s", list[0].when);
	ledger_rejections_free(list, n);

	/* rejecting again keeps one entry with the newest reason */
	struct ledger_record again = {
		.env = "staging", .action = "deploy", .outcome = "aborted",
		.model = "eta", .version = "2.1.0", .reason = "again",
		.reject = true,
	};
	record(l, &again, NULL);
	cr_assert_eq(ledger_rejections(l, "staging", &list, &n, &err), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(list[0].reason, "again");
	ledger_rejections_free(list, n);

	/* unreject (say, a forced deploy that passed) clears it */
	struct ledger_record ok = {
		.env = "staging", .action = "deploy", .outcome = "deployed",
		.model = "eta", .version = "2.1.0", .unreject = true,
	};
	record(l, &ok, NULL);
	cr_assert_eq(ledger_is_rejected(l, "staging", "eta", "2.1.0", &rej,
					NULL, &err), 0);
	cr_assert(!rej);
	ledger_free(l);
}

/* ---- History ---------------------------------------------------------- */

struct collected {
	struct ledger_entry *e[16];
	size_t n, stop_after;
};

static int collect(const struct ledger_entry *e, void *payload)
{
	struct collected *c = payload;
	cr_assert_lt(c->n, 16);
	/* entries are borrowed: keep what the test needs */
	struct ledger_entry *k = xcalloc(1, sizeof(*k));
	memcpy(k->oid, e->oid, sizeof(k->oid));
#define K(f) k->f = e->f ? xstrdup(e->f) : NULL
	K(env);
	K(summary);
	K(action);
	K(outcome);
	K(model);
	K(version);
	K(strategy);
	K(detail);
	K(reason);
	K(author_name);
	K(author_email);
	K(state_json);
#undef K
	k->when = e->when;
	k->duration_s = e->duration_s;
	c->e[c->n++] = k;
	return c->stop_after && c->n == c->stop_after ? 1 : 0;
}

static void collected_free(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++)
		ledger_entry_free(c->e[i]);
}

Test(ledger, history_is_newest_first_with_its_fields, .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	long long t0 = (long long)time(NULL);
	char c[4][41];
	deploy(l, "prod", "1.0.0", "deployed", c[0]);
	deploy(l, "prod", "2.0.0", "deployed", c[1]);
	gate(l, "prod", "2.1.0", false, c[2]);
	deploy(l, "prod", "2.1.0", "aborted", c[3]);
	long long t1 = (long long)time(NULL);

	struct collected got = { .n = 0 };
	cr_assert_eq(ledger_history(l, "prod", LEDGER_LOAD_STATE, collect, &got,
				    &err), 0, "%s", err.msg);
	cr_assert_eq(got.n, 4);
	for (size_t i = 0; i < 4; i++) {
		struct ledger_entry *e = got.e[i];
		cr_assert_str_eq(e->oid, c[3 - i]);
		cr_assert_str_eq(e->env, "prod");
		cr_assert_str_eq(e->author_name, "Test Author");
		cr_assert_str_eq(e->author_email, "author@example.org");
		cr_assert(e->when >= t0 && e->when <= t1);
		cr_assert_not_null(e->state_json);
	}
	struct ledger_entry *ab = got.e[0], *gt = got.e[1], *dp = got.e[2];
	cr_assert_str_eq(ab->summary, "deploy eta 2.1.0 to prod (canary): aborted");
	cr_assert_str_eq(ab->action, "deploy");
	cr_assert_str_eq(ab->outcome, "aborted");
	cr_assert_str_eq(ab->strategy, "canary");
	cr_assert_str_eq(ab->reason, "error rate 2.0% vs stable 0.0% (limit +1%)");
	cr_assert_float_eq(ab->duration_s, 12.5, 1e-9);
	cr_assert_str_eq(gt->action, "gate");
	cr_assert_str_eq(gt->outcome, "gates failed");
	cr_assert_str_eq(gt->detail, "load, acceptance");
	cr_assert_null(gt->strategy);
	cr_assert_float_eq(gt->duration_s, 4.25, 1e-9);
	cr_assert_str_eq(dp->model, "eta");
	cr_assert_str_eq(dp->version, "2.0.0");
	cr_assert_null(dp->reason);
	cr_assert_str_eq(dp->state_json, "{\"nodes\":{\"prod-1\":\"2.0.0\"}}\n");
	collected_free(&got);

	/* a positive return stops the walk (history -n 2) */
	struct collected two = { .n = 0, .stop_after = 2 };
	cr_assert_eq(ledger_history(l, "prod", 0, collect, &two, &err), 0);
	cr_assert_eq(two.n, 2);
	cr_assert_null(two.e[0]->state_json);
	collected_free(&two);
	ledger_free(l);
}

static int fail_cb(const struct ledger_entry *e, void *payload)
{
	(void)e;
	(void)payload;
	return -7;
}

Test(ledger, empty_environment_has_no_history, .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	struct collected got = { .n = 0 };
	cr_assert_eq(ledger_history(l, "dev", 0, collect, &got, &err), 0);
	cr_assert_eq(got.n, 0);
	struct ledger_entry *good = (void *)1, *tip = (void *)1, *prev = (void *)1;
	cr_assert_eq(ledger_current(l, "dev", LEDGER_LOAD_STATE, &good, &tip,
				    &err), 0);
	cr_assert_null(good);
	cr_assert_null(tip);
	cr_assert_eq(ledger_previous_good(l, "dev", NULL, NULL, 0, &prev, &err), 0);
	cr_assert_null(prev);
	struct ledger_rejection *list = (void *)1;
	size_t n = 9;
	cr_assert_eq(ledger_rejections(l, "dev", &list, &n, &err), 0);
	cr_assert_null(list);
	cr_assert_eq(n, 0);
	/* a callback's failure is passed back */
	deploy(l, "dev", "1.0.0", "deployed", NULL);
	cr_assert_eq(ledger_history(l, "dev", 0, fail_cb, NULL, &err), -7);
	ledger_free(l);
}

/* ---- Current and previous good release -------------------------------- */

Test(ledger, current_is_the_last_serving_release_and_the_tip, .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	struct ledger_entry *good = NULL, *tip = NULL;
	char c1[41], c2[41], c3[41], c4[41];

	deploy(l, "prod", "1.0.0", "deployed", c1);
	cr_assert_eq(ledger_current(l, "prod", LEDGER_LOAD_STATE |
				    LEDGER_LOAD_MANIFEST, &good, &tip, &err), 0);
	cr_assert_str_eq(good->oid, c1);
	cr_assert_str_eq(tip->oid, c1); /* the tip is the good release */
	cr_assert_str_eq(tip->manifest, good->manifest);
	ledger_entry_free(good);
	ledger_entry_free(tip);

	deploy(l, "prod", "2.0.0", "deployed", c2);
	deploy(l, "prod", "2.1.0", "aborted", c3);
	struct ledger_record failed = {
		.env = "prod", .action = "rollout", .outcome = "failed",
		.model = "eta", .version = "2.1.0", .reason = "prod-3 refused",
	};
	record(l, &failed, c4);
	cr_assert_eq(ledger_current(l, "prod", LEDGER_LOAD_STATE |
				    LEDGER_LOAD_MANIFEST, &good, &tip, &err), 0);
	cr_assert_str_eq(good->oid, c2);
	cr_assert_str_eq(good->version, "2.0.0");
	cr_assert_str_eq(good->state_json, "{\"nodes\":{\"prod-1\":\"2.0.0\"}}\n");
	cr_assert_str_eq(good->manifest,
			 "kind: Release\nmodel: eta\nversion: 2.0.0\n");
	cr_assert_str_eq(tip->oid, c4);
	cr_assert_str_eq(tip->outcome, "failed");
	cr_assert(!ledger_entry_serving(tip));
	ledger_entry_free(good);
	ledger_entry_free(tip);

	/* a manual rollback leaves its target serving */
	struct ledger_record rb = {
		.env = "prod", .action = "rollback", .outcome = "rolled back",
		.model = "eta", .version = "1.0.0",
	};
	record(l, &rb, NULL);
	cr_assert_eq(ledger_current(l, "prod", 0, &good, NULL, &err), 0);
	cr_assert_str_eq(good->version, "1.0.0");
	cr_assert_str_eq(good->action, "rollback");
	cr_assert_null(good->state_json);
	ledger_entry_free(good);
	ledger_free(l);
}

Test(ledger, previous_good_skips_the_current_and_rejected_releases,
     .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	struct ledger_entry *e = NULL;
	char c1[41];

	deploy(l, "prod", "1.0.0", "deployed", c1);
	cr_assert_eq(ledger_previous_good(l, "prod", NULL, NULL, 0, &e, &err), 0);
	cr_assert_null(e, "only one release: nothing to roll back to");

	deploy(l, "prod", "1.5.0", "deployed", NULL);
	deploy(l, "prod", "2.0.0", "deployed", NULL);
	gate(l, "prod", "1.5.0", false, NULL); /* 1.5.0 rejected later on */
	deploy(l, "prod", "2.1.0", "aborted", NULL); /* never served */

	cr_assert_eq(ledger_previous_good(l, "prod", "eta", NULL,
					  LEDGER_LOAD_MANIFEST, &e, &err), 0);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->version, "1.0.0");
	cr_assert_str_eq(e->oid, c1);
	cr_assert_str_eq(e->manifest,
			 "kind: Release\nmodel: eta\nversion: 1.0.0\n");
	ledger_entry_free(e);

	/* an explicit exception: everything but 1.0.0 */
	cr_assert_eq(ledger_previous_good(l, "prod", NULL, "1.0.0", 0, &e, &err),
		     0);
	cr_assert_str_eq(e->version, "2.0.0");
	ledger_entry_free(e);

	/* another model is not a candidate */
	cr_assert_eq(ledger_previous_good(l, "prod", "other", NULL, 0, &e, &err),
		     0);
	cr_assert_null(e);
	ledger_free(l);
}

/* ---- Author ----------------------------------------------------------- */

static char *tip_author(void)
{
	return git("log -1 --format='%%an <%%ae>|%%cn <%%ce>' env/dev");
}

static void one_record(void)
{
	struct ledger *l = open_ledger();
	deploy(l, "dev", "1.0.0", "deployed", NULL);
	ledger_free(l);
}

Test(ledger, author_is_git_config_before_mlctl_author, .timeout = 20)
{
	setenv("MLCTL_AUTHOR", "Ci Bot <ci@example.org>", 1);
	one_record();
	char *a = tip_author();
	cr_assert_str_eq(a, "Test Author <author@example.org>|"
			    "Test Author <author@example.org>\n");
	free(a);
}

Test(ledger, author_is_mlctl_author_without_git_config, .timeout = 20)
{
	char *cfg = path_join(home_dir, ".gitconfig");
	unlink(cfg);
	free(cfg);
	setenv("MLCTL_AUTHOR", "  Ci Bot <ci@example.org> ", 1);
	one_record();
	char *a = tip_author();
	cr_assert_str_eq(a, "Ci Bot <ci@example.org>|Ci Bot <ci@example.org>\n");
	free(a);
}

static char *system_email(void)
{
	char host[256] = "";
	gethostname(host, sizeof(host));
	struct passwd *pw = getpwuid(geteuid());
	return xasprintf("%s@%s", pw->pw_name, host);
}

Test(ledger, author_name_only_mlctl_author_gets_system_email, .timeout = 20)
{
	git_config_home("", ""); /* present but without a user */
	setenv("MLCTL_AUTHOR", "Release Train", 1);
	one_record();
	char *email = system_email();
	char *expect = xasprintf("Release Train <%s>|Release Train <%s>\n",
				 email, email);
	char *a = tip_author();
	cr_assert_str_eq(a, expect);
	free(a);
	free(expect);
	free(email);
}

Test(ledger, author_falls_back_to_system_user_at_host, .timeout = 20)
{
	char *cfg = path_join(home_dir, ".gitconfig");
	unlink(cfg);
	free(cfg);
	one_record();
	struct passwd *pw = getpwuid(geteuid());
	char *email = system_email();
	char *expect = xasprintf("%s <%s>|%s <%s>\n", pw->pw_name, email,
				 pw->pw_name, email);
	char *a = tip_author();
	cr_assert_str_eq(a, expect);
	free(a);
	free(expect);
	free(email);
}

/* ---- Bad records and concurrency -------------------------------------- */

Test(ledger, invalid_records_write_nothing, .timeout = 20)
{
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	char oid[41] = "x";
	struct ledger_record bad[] = {
		{ .action = "deploy", .outcome = "deployed" },
		{ .env = "prod", .outcome = "deployed" },
		{ .env = "prod", .action = "deploy", .outcome = "success" },
		{ .env = "prod", .action = "Deploy!", .outcome = "deployed" },
		{ .env = "prod", .action = "deploy", .outcome = "deployed",
		  .model = "eta" },
		{ .env = "prod", .action = "deploy", .outcome = "deployed",
		  .model = "eta", .version = "1.0.0", .state_json = "{nope" },
		{ .env = "prod", .action = "deploy", .outcome = "deployed",
		  .model = "eta", .version = "1.0\n" },
		{ .env = "bad..name", .action = "deploy", .outcome = "deployed" },
		{ .env = "prod", .action = "deploy", .outcome = "deployed",
		  .model = "eta", .version = "1.0~rc1", .tag = true },
		{ .env = "prod", .action = "deploy", .outcome = "deployed",
		  .tag = true },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err.msg[0] = '\0';
		cr_assert_eq(ledger_record(l, &bad[i], oid, &err), -1,
			     "record %zu accepted", i);
		cr_assert_eq(err.code, ML_EXIT_USAGE, "record %zu: %s", i,
			     err.msg);
		cr_assert(strncmp(err.msg, "ledger: ", 8) == 0, "%s", err.msg);
		cr_assert_str_eq(oid, "");
	}
	assert_git("", "for-each-ref");
	ledger_free(l);
}

static void child_writer(int id)
{
	struct ledger *l = NULL;
	struct ml_err err = ML_ERR_INIT;
	alarm(50); /* never outlive a hung test */
	if (ledger_open(state_dir, &l, &err) < 0) {
		fprintf(stderr, "writer %d: %s\n", id, err.msg);
		_exit(10);
	}
	for (int i = 0; i < 8; i++) {
		char version[32];
		snprintf(version, sizeof(version), "%d.%d.0", id, i);
		struct ledger_record r = {
			.env = "prod", .action = "gate", .outcome = "gates failed",
			.model = "eta", .version = version, .reason = "load",
			.reject = true,
		};
		if (ledger_record(l, &r, NULL, &err) < 0) {
			fprintf(stderr, "writer %d: %s\n", id, err.msg);
			_exit(11);
		}
	}
	ledger_free(l);
	_exit(0);
}

Test(ledger, concurrent_writers_keep_one_straight_line, .timeout = 60)
{
	pid_t kids[3];
	for (int k = 0; k < 3; k++) {
		kids[k] = fork();
		cr_assert_neq(kids[k], -1);
		if (kids[k] == 0)
			child_writer(k + 1);
	}
	for (int k = 0; k < 3; k++) {
		int st = 0;
		cr_assert_eq(waitpid(kids[k], &st, 0), kids[k]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "writer %d failed: %d", k, st);
	}
	assert_git("24\n", "rev-list --count env/prod");
	assert_git("", "rev-list --min-parents=2 env/prod");
	/* every rejection survived: each commit was built on the real tip */
	struct ledger *l = open_ledger();
	struct ml_err err = ML_ERR_INIT;
	struct ledger_rejection *list = NULL;
	size_t n = 0;
	cr_assert_eq(ledger_rejections(l, "prod", &list, &n, &err), 0);
	cr_assert_eq(n, 24);
	ledger_rejections_free(list, n);
	ledger_free(l);
}
