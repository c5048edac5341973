/* test_proc.c — core/proc: starting a program in its own session with its
 * output in a log and a pid file, "running" guarded against reused pids,
 * stopping by pid file (TERM, then KILL for a process that ignores TERM),
 * stale pid files, exec failures, captured runs with a timeout, and
 * waiting for a port. Small real processes (sh, sleep) only. */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE   /* mkdtemp */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcode.h"
#include "proc.h"
#include "util.h"

static char root[64];

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/mlctl-proc-XXXXXX");
	cr_assert(mkdtemp(root));
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
}

TestSuite(proc, .init = setup, .fini = teardown, .timeout = 30);

static pid_t spawn(const char *name, const char *script)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct ml_err err = ML_ERR_INIT;
	spec.dir = root;
	spec.name = name;
	spec.argv = argv;
	pid_t pid = 0;
	cr_assert_eq(proc_spawn(&spec, &pid, &err), 0, "%s", err.msg);
	cr_assert(pid > 0);
	return pid;
}

static char *slurp(const char *rel)
{
	char *path = path_join(root, rel), *t = NULL;
	size_t n;
	if (read_file(path, 1 << 20, &t, &n) != 0)
		t = NULL;
	free(path);
	return t;
}

Test(proc, spawn_writes_a_pid_file_and_logs_in_a_new_session)
{
	/* 3"0": the shell's own command line never holds "sleep 30", only
	 * the program it execs does */
	pid_t pid = spawn("n1", "echo out; echo err >&2; exec sleep 3\"0\"");
	char *pidtxt = slurp("n1.pid");
	char want[32];
	snprintf(want, sizeof(want), "%ld\n", (long)pid);
	cr_assert_str_eq(pidtxt, want);
	free(pidtxt);
	cr_assert_eq(getsid(pid), pid, "session leader");
	/* until the child has exec'd, its cmdline is still the test's */
	for (int i = 0; i < 200 && proc_running(root, "n1", "sleep 30") != pid; i++)
		usleep(10000);
	cr_assert_eq(proc_running(root, "n1", "sleep 30"), pid);
	cr_assert_eq(proc_running(root, "n1", NULL), pid);
	char *log = NULL;
	for (int i = 0; i < 200; i++) {
		free(log);
		log = slurp("n1.log");
		if (log && strstr(log, "err"))
			break;
		usleep(10000);
	}
	cr_assert(log && strstr(log, "out\n") && strstr(log, "err\n"), "%s",
		  log ? log : "(no log)");
	free(log);
	bool killed = true;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(proc_terminate(root, "n1", "sleep 30", 5000, &killed, &err),
		     0, "%s", err.msg);
	cr_assert_not(killed);
	cr_assert_eq(proc_running(root, "n1", NULL), 0);
	char *gone = slurp("n1.pid");
	cr_assert_null(gone, "pid file removed");
	cr_assert_eq(proc_terminate(root, "n1", NULL, 1000, NULL, &err), 1,
		     "nothing left to stop");
}

Test(proc, a_reused_pid_is_not_ours)
{
	/* our own pid in the pid file: alive, but not the program expected */
	char *path = path_join(root, "n2.pid");
	FILE *f = fopen(path, "w");
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	cr_assert_eq(proc_running(root, "n2", "mlserve --listen 127.0.0.1:1"),
		     0);
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(proc_terminate(root, "n2", "mlserve --listen 127.0.0.1:1",
				    1000, NULL, &err),
		     1);
	cr_assert_not(path_is_file(path), "stale pid file removed");
	free(path);
}

Test(proc, garbage_and_missing_pid_files_mean_not_running)
{
	char *path = path_join(root, "n3.pid");
	FILE *f = fopen(path, "w");
	fputs("not a pid\n", f);
	fclose(f);
	cr_assert_eq(proc_pid_file(root, "n3"), 0);
	cr_assert_eq(proc_running(root, "n3", NULL), 0);
	cr_assert_eq(proc_running(root, "nope", NULL), 0);
	free(path);
}

Test(proc, a_process_ignoring_term_is_killed_after_the_timeout)
{
	pid_t pid = spawn("stubborn", "trap '' TERM; while :; do sleep 1; done");
	usleep(100000); /* let sh install the trap */
	bool killed = false;
	struct ml_err err = ML_ERR_INIT;
	double t0 = now_ms();
	cr_assert_eq(proc_terminate(root, "stubborn", NULL, 300, &killed, &err),
		     0, "%s", err.msg);
	cr_assert(killed);
	cr_assert(now_ms() - t0 < 3000);
	cr_assert_not(proc_pid_alive(pid, NULL));
}

Test(proc, exec_failure_is_an_error_and_leaves_no_pid_file)
{
	char *argv[] = { "/nonexistent/mlserve", NULL };
	struct proc_spec spec = PROC_SPEC_INIT;
	struct ml_err err = ML_ERR_INIT;
	spec.dir = root;
	spec.name = "ghost";
	spec.argv = argv;
	cr_assert_eq(proc_spawn(&spec, NULL, &err), -1);
	cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
	cr_assert(strstr(err.msg, "cannot run /nonexistent/mlserve: No such "
				  "file or directory"),
		  "%s", err.msg);
	cr_assert_eq(proc_pid_file(root, "ghost"), 0);
}

Test(proc, run_captures_output_and_status_and_kills_on_timeout)
{
	char *out = NULL;
	int status = -1;
	struct ml_err err = ML_ERR_INIT;
	char *ok[] = { "sh", "-c", "echo hi; echo there >&2; exit 3", NULL };
	cr_assert_eq(proc_run(ok, 5000, &out, &status, &err), 0);
	cr_assert_eq(status, 3);
	cr_assert(strstr(out, "hi\n") && strstr(out, "there\n"), "%s", out);
	free(out);
	char *slow[] = { "sh", "-c", "sleep 20", NULL };
	double t0 = now_ms();
	cr_assert_eq(proc_run(slow, 200, &out, &status, &err), 0);
	cr_assert_eq(status, -1);
	cr_assert(now_ms() - t0 < 3000);
	free(out);
	char *missing[] = { "/nonexistent/nginx", "-t", NULL };
	cr_assert_eq(proc_run(missing, 1000, &out, &status, &err), -1);
}

Test(proc, wait_port_sees_a_listener_and_fails_when_the_process_dies)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	int port = ntohs(sa.sin_port);
	struct ml_err err = ML_ERR_INIT;
	/* bound, not listening: refused */
	cr_assert_eq(proc_wait_port("127.0.0.1", port, 0, 100, &err), -1);
	cr_assert(strstr(err.msg, "nothing listening"), "%s", err.msg);
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(proc_wait_port("127.0.0.1", port, 0, 1000, &err), 0);
	close(fd);
	pid_t pid = spawn("quick", "exit 1");
	cr_assert_eq(proc_wait_port("127.0.0.1", port, pid, 5000, &err), -1);
	cr_assert(strstr(err.msg, "exited before listening"), "%s", err.msg);
}

Test(proc, mkdir_p_and_self_dir)
{
	char *deep = path_join(root, "a/b/c");
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(proc_mkdir_p(deep, &err), 0, "%s", err.msg);
	cr_assert(path_is_dir(deep));
	cr_assert_eq(proc_mkdir_p(deep, &err), 0, "again");
	free(deep);
	char *self = proc_self_dir();
	cr_assert_not_null(self);
	cr_assert_eq(self[0], '/');
	free(self);
}
