/* test_lock.c — the per-environment rollout lock: taking and releasing it,
 * a live holder in another process, stale locks (dead pid, reused pid,
 * unreadable file), locks from other hosts, a race of contenders, and
 * stop requests that reach only the holder they name. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, gethostname */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <jansson.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "lock.h"
#include "util.h"

static char root[64];
static char *state_dir, *lock_file;

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/mlctl-lock-XXXXXX");
	cr_assert(mkdtemp(root));
	state_dir = path_join(root, "state"); /* missing: created on acquire */
	lock_file = path_join(state_dir, "locks/prod.lock");
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
	free(lock_file);
}

TestSuite(lock, .init = setup, .fini = teardown, .timeout = 30);

static char *slurp(const char *path)
{
	char *t = NULL;
	size_t n;
	cr_assert_eq(read_file(path, 1 << 16, &t, &n), 0, "read %s", path);
	return t;
}

static void write_lock(const char *text)
{
	char *dir = path_join(state_dir, "locks");
	char *cmd = xasprintf("mkdir -p '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(dir);
	FILE *f = fopen(lock_file, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

static void host(char *buf, size_t n)
{
	gethostname(buf, n);
	buf[n - 1] = '\0';
}

/* A pid that is certainly gone: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
	pid_t p = fork();
	cr_assert_neq(p, -1);
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

Test(lock, acquire_writes_the_holder_and_release_removes_it, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", "deploy eta 2.0.0", &lk,
				  &err), 0, "%s", err.msg);
	cr_assert_not_null(lk);
	cr_assert(!lk->replaced_stale);
	cr_assert_str_eq(lk->path, lock_file);
	cr_assert_eq(lk->holder.pid, getpid());

	char h[256];
	host(h, sizeof(h));
	char *text = slurp(lock_file);
	char *pid = xasprintf("\"pid\":%ld,", (long)getpid());
	char *hostkey = xasprintf("\"host\":\"%s\"", h);
	cr_assert(strstr(text, pid), "%s", text);
	cr_assert(strstr(text, hostkey), "%s", text);
	cr_assert(strstr(text, "\"user\":\""), "%s", text);
	cr_assert(strstr(text, "\"what\":\"deploy eta 2.0.0\""), "%s", text);
	cr_assert(strstr(text, "\"started\":\"20"), "%s", text);
	free(hostkey);
	free(pid);
	free(text);

	enum lock_state st;
	struct lock_holder who;
	cr_assert_eq(lock_inspect(state_dir, "prod", &st, &who, &err), 0);
	cr_assert_eq(st, LOCK_HELD);
	cr_assert_eq(who.pid, getpid());
	cr_assert_str_eq(who.what, "deploy eta 2.0.0");

	lock_release(lk);
	cr_assert(access(lock_file, F_OK) == -1, "lock file still there");
	cr_assert_eq(lock_inspect(state_dir, "prod", &st, NULL, &err), 0);
	cr_assert_eq(st, LOCK_FREE);
	/* other environments are independent; temp files are cleaned up */
	struct lock *a = NULL, *b = NULL;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &a, &err), 0);
	cr_assert_eq(lock_acquire(state_dir, "staging", NULL, &b, &err), 0);
	lock_release(a);
	lock_release(b);
	char *cmd = xasprintf("test -z \"$(ls -A '%s/locks')\"", state_dir);
	cr_assert_eq(system(cmd), 0, "locks dir not empty");
	free(cmd);
	lock_release(NULL);
}

Test(lock, a_live_holder_in_another_process_is_named, .timeout = 20)
{
	int ready[2], go[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	pid_t child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		alarm(15); /* never outlive a hung test */
		close(ready[0]);
		close(go[1]);
		struct lock *lk = NULL;
		struct ml_err err = ML_ERR_INIT;
		char ok = lock_acquire(state_dir, "prod", "deploy eta 2.0.0",
				       &lk, &err) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(2);
		char c;
		while (read(go[0], &c, 1) == -1) /* EOF: parent is done */
			;
		lock_release(lk);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	char ok = 0;
	cr_assert_eq(read(ready[0], &ok, 1), 1);
	cr_assert_eq(ok, 'y');

	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", "deploy eta 2.1.0", &lk,
				  &err), -1);
	cr_assert_null(lk);
	cr_assert_eq(err.code, ML_EXIT_LOCKED);
	char *expect = xasprintf("environment prod is locked by pid %ld (",
				 (long)child);
	cr_assert(strstr(err.msg, expect), "%s", err.msg);
	cr_assert(strstr(err.msg, "deploy eta 2.0.0, since 20"), "%s", err.msg);
	free(expect);
	/* still the child's */
	char *text = slurp(lock_file);
	cr_assert(strstr(text, "deploy eta 2.0.0"), "%s", text);
	free(text);

	close(go[1]); /* child releases and exits */
	int st = 0;
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0,
		     "%s", err.msg);
	cr_assert(!lk->replaced_stale, "a released lock is not stale");
	lock_release(lk);
	close(ready[0]);
}

Test(lock, stale_lock_of_a_dead_pid_is_reported_and_replaced, .timeout = 10)
{
	pid_t gone = dead_pid();
	char h[256];
	host(h, sizeof(h));
	char *text = xasprintf("{\"pid\":%ld,\"host\":\"%s\",\"user\":\"ghost\","
			       "\"what\":\"deploy eta 1.0.0\",\"started\":"
			       "\"2024-01-01T00:00:00Z\",\"started_unix\":"
			       "1704067200}\n", (long)gone, h);
	write_lock(text);
	free(text);

	enum lock_state st;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_inspect(state_dir, "prod", &st, NULL, &err), 0);
	cr_assert_eq(st, LOCK_STALE);

	struct lock *lk = NULL;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0,
		     "%s", err.msg);
	cr_assert(lk->replaced_stale);
	cr_assert_eq(lk->stale.pid, gone);
	cr_assert_str_eq(lk->stale.user, "ghost");
	cr_assert_str_eq(lk->stale.started_iso, "2024-01-01T00:00:00Z");
	char desc[512];
	lock_holder_describe(&lk->stale, desc, sizeof(desc));
	char *expect = xasprintf("pid %ld (ghost@%s, deploy eta 1.0.0, since "
				 "2024-01-01T00:00:00Z)", (long)gone, h);
	cr_assert_str_eq(desc, expect);
	free(expect);
	char *now = slurp(lock_file);
	char *pid = xasprintf("\"pid\":%ld,", (long)getpid());
	cr_assert(strstr(now, pid), "%s", now);
	free(pid);
	free(now);
	lock_release(lk);
}

Test(lock, a_reused_pid_does_not_keep_a_stale_lock, .timeout = 10)
{
	/* our own (live) pid, but started at another time: not the holder */
	char h[256];
	host(h, sizeof(h));
	char *text = xasprintf("{\"pid\":%ld,\"host\":\"%s\",\"user\":\"old\","
			       "\"pid_start\":1}\n", (long)getppid(), h);
	write_lock(text);
	free(text);
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0,
		     "%s", err.msg);
	cr_assert(lk->replaced_stale);
	cr_assert_eq(lk->stale.pid, getppid());
	lock_release(lk);
}

Test(lock, a_lock_from_another_host_is_never_broken, .timeout = 10)
{
	write_lock("{\"pid\":1,\"host\":\"elsewhere.example\",\"user\":\"bob\","
		   "\"started\":\"2024-01-01T00:00:00Z\"}\n");
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_LOCKED);
	cr_assert(strstr(err.msg, "pid 1 (bob@elsewhere.example, since "
				  "2024-01-01T00:00:00Z) on another host"),
		  "%s", err.msg);
	enum lock_state st;
	cr_assert_eq(lock_inspect(state_dir, "prod", &st, NULL, &err), 0);
	cr_assert_eq(st, LOCK_HELD);
}

Test(lock, an_unreadable_lock_blocks_until_it_is_old, .timeout = 10)
{
	write_lock("");
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_LOCKED);
	cr_assert(strstr(err.msg, "unreadable lock file"), "%s", err.msg);

	struct timespec old[2] = { { time(NULL) - 3600, 0 },
				   { time(NULL) - 3600, 0 } };
	cr_assert_eq(utimensat(AT_FDCWD, lock_file, old, 0), 0);
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0,
		     "%s", err.msg);
	cr_assert(lk->replaced_stale);
	cr_assert_eq(lk->stale.pid, 0);
	lock_release(lk);
}

Test(lock, release_leaves_a_lock_it_no_longer_holds, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0);
	/* someone replaced it (wrongly) meanwhile */
	write_lock("{\"pid\":1,\"host\":\"elsewhere.example\"}\n");
	lock_release(lk);
	cr_assert(access(lock_file, F_OK) == 0, "another's lock was removed");
}

Test(lock, a_forked_child_does_not_release_its_parents_lock, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0);
	pid_t p = fork();
	if (p == 0) {
		lock_release(lk);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	cr_assert(access(lock_file, F_OK) == 0);
	lock_release(lk);
	cr_assert(access(lock_file, F_OK) == -1);
}

Test(lock, bad_environment_names_are_refused, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	const char *bad[] = { "", "../x", ".hidden", "a/b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_assert_eq(lock_acquire(state_dir, bad[i], NULL, &lk, &err), -1);
		cr_assert_eq(err.code, ML_EXIT_USAGE);
	}
}

/* Several processes race for a stale lock: exactly one wins, the others
 * are told who holds it. */
Test(lock, racing_contenders_get_exactly_one_holder, .timeout = 30)
{
	enum { N = 6 };
	pid_t gone = dead_pid();
	char h[256];
	host(h, sizeof(h));
	char *text = xasprintf("{\"pid\":%ld,\"host\":\"%s\"}\n", (long)gone, h);
	write_lock(text);
	free(text);

	int res[2], go[2];
	cr_assert_eq(pipe(res), 0);
	cr_assert_eq(pipe(go), 0);
	pid_t kids[N];
	for (int k = 0; k < N; k++) {
		kids[k] = fork();
		cr_assert_neq(kids[k], -1);
		if (kids[k] == 0) {
			alarm(15); /* never outlive a hung test */
			close(res[0]);
			close(go[1]);
			struct lock *lk = NULL;
			struct ml_err err = ML_ERR_INIT;
			int rc = lock_acquire(state_dir, "prod", NULL, &lk, &err);
			char c = rc == 0 ? 'W' : err.code == ML_EXIT_LOCKED ? 'L' : 'E';
			if (write(res[1], &c, 1) != 1)
				_exit(2);
			char x;
			while (read(go[0], &x, 1) == -1) /* hold until told */
				;
			lock_release(lk);
			_exit(0);
		}
	}
	close(res[1]);
	close(go[0]);
	int won = 0, lost = 0;
	for (int k = 0; k < N; k++) {
		char c = 0;
		cr_assert_eq(read(res[0], &c, 1), 1);
		won += c == 'W';
		lost += c == 'L';
	}
	close(go[1]);
	for (int k = 0; k < N; k++)
		waitpid(kids[k], NULL, 0);
	close(res[0]);
	cr_assert_eq(won, 1, "%d holders", won);
	cr_assert_eq(lost, N - 1);
	cr_assert(access(lock_file, F_OK) == -1, "winner's lock not released");
}

Test(lock, a_stop_request_reaches_only_the_holder_it_names, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", "deploy eta 2.0.0", &lk, &err),
		     0, "%s", err.msg);
	struct lock_stop got, prior;
	cr_assert_eq(lock_stop_take(state_dir, "prod", &got), 0, "none yet");
	cr_assert_eq(lock_stop_post(state_dir, "prod", &lk->holder, "p99 creeping",
				    &prior, &err),
		     0, "%s", err.msg);
	/* a second asker for the same holder keeps the first request */
	cr_assert_eq(lock_stop_post(state_dir, "prod", &lk->holder, "other", &prior,
				    &err),
		     1);
	cr_assert_str_eq(prior.reason, "p99 creeping");
	char me[400];
	snprintf(me, sizeof(me), "%s@%s", lk->holder.user, lk->holder.host);
	cr_assert_str_eq(prior.by, me);
	/* the holder takes it once; then it is gone */
	cr_assert_eq(lock_stop_take(state_dir, "prod", &got), 1);
	cr_assert_str_eq(got.reason, "p99 creeping");
	cr_assert_str_eq(got.by, me);
	cr_assert_gt(got.asked_ms, 0);
	cr_assert_leq(got.asked_ms, now_ms());
	cr_assert_eq(lock_stop_take(state_dir, "prod", &got), 0);
	/* one for another (dead) holder never reaches this process, is
	 * replaced by the next asker, and is withdrawn by its own asker */
	struct lock_holder other = lk->holder;
	other.pid = dead_pid();
	cr_assert_eq(lock_stop_post(state_dir, "prod", &other, NULL, NULL, &err), 0);
	cr_assert_eq(lock_stop_take(state_dir, "prod", &got), 0);
	char *stop_file = path_join(state_dir, "locks/prod.stop");
	cr_assert(access(stop_file, F_OK) == 0, "left for its holder");
	cr_assert_eq(lock_stop_post(state_dir, "prod", &lk->holder, NULL, NULL, &err),
		     0, "a request for a gone holder is replaced");
	lock_stop_withdraw(state_dir, "prod", &other);
	cr_assert(access(stop_file, F_OK) == 0, "not other's to withdraw");
	lock_stop_withdraw(state_dir, "prod", &lk->holder);
	cr_assert(access(stop_file, F_OK) == -1, "withdrawn");
	free(stop_file);
	lock_release(lk);
	/* nothing else is left in the locks directory */
	char *cmd = xasprintf("test -z \"$(ls -A '%s/locks')\"", state_dir);
	cr_assert_eq(system(cmd), 0, "locks dir not empty");
	free(cmd);
}

Test(lock, published_progress_is_read_only_for_the_holder_it_names, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", "deploy eta 2.0.0", &lk, &err),
		     0, "%s", err.msg);
	json_t *got = NULL;
	lock_progress_read(state_dir, "prod", &lk->holder, &got);
	cr_assert_null(got, "nothing published yet");
	json_t *doc = json_pack("{s:s, s:i}", "command", "deploy", "plan_step", 5);
	cr_assert_eq(lock_progress_publish(state_dir, "prod", doc), 0);
	/* a second publication replaces the first whole */
	json_object_set_new(doc, "plan_step", json_integer(6));
	cr_assert_eq(lock_progress_publish(state_dir, "prod", doc), 0);
	json_decref(doc);
	lock_progress_read(state_dir, "prod", &lk->holder, &got);
	cr_assert_not_null(got);
	cr_assert_eq(json_integer_value(json_object_get(got, "plan_step")), 6);
	cr_assert_str_eq(json_string_value(json_object_get(got, "command")), "deploy");
	cr_assert_eq(json_integer_value(json_object_get(got, "pid")), getpid());
	json_decref(got);
	/* a holder it does not name (another pid, or this pid started at
	 * another time: a reused pid) reads nothing */
	struct lock_holder other = lk->holder;
	other.pid = dead_pid();
	lock_progress_read(state_dir, "prod", &other, &got);
	cr_assert_null(got, "another pid's holder");
	other = lk->holder;
	other.pid_start = lk->holder.pid_start + 1;
	if (lk->holder.pid_start) {
		lock_progress_read(state_dir, "prod", &other, &got);
		cr_assert_null(got, "a reused pid");
	}
	lock_progress_read(state_dir, "prod", NULL, &got);
	cr_assert_null(got, "no holder");
	/* no temporary file is left beside it; withdrawn, it is gone */
	char *cmd = xasprintf("test \"$(ls -A '%s/locks')\" = \"$(printf "
			      "'prod.lock\\nprod.progress')\"",
			      state_dir);
	cr_assert_eq(system(cmd), 0, "only the lock and the progress");
	free(cmd);
	lock_progress_withdraw(state_dir, "prod");
	char *file = path_join(state_dir, "locks/prod.progress");
	cr_assert(access(file, F_OK) == -1, "withdrawn");
	free(file);
	lock_release(lk);
}

Test(lock, progress_another_process_published_is_not_withdrawn, .timeout = 10)
{
	struct lock *lk = NULL;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(lock_acquire(state_dir, "prod", NULL, &lk, &err), 0, "%s",
		     err.msg);
	pid_t kid = fork();
	cr_assert_neq(kid, -1);
	if (kid == 0) {
		json_t *doc = json_object();
		int rc = lock_progress_publish(state_dir, "prod", doc);
		json_decref(doc);
		_exit(rc == 0 ? 0 : 1);
	}
	int st = 0;
	waitpid(kid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *file = path_join(state_dir, "locks/prod.progress");
	cr_assert(access(file, F_OK) == 0);
	/* the child's, left by a process that is gone: not this holder's */
	json_t *got = NULL;
	lock_progress_read(state_dir, "prod", &lk->holder, &got);
	cr_assert_null(got);
	lock_progress_withdraw(state_dir, "prod");
	cr_assert(access(file, F_OK) == 0, "not this process's to withdraw");
	free(file);
	lock_release(lk);
	cr_assert_eq(lock_progress_publish(state_dir, "../x", NULL), -1);
}
