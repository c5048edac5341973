/* proc.c — start, find and stop the processes mlctl owns, by pid file.
 * fork + setsid + exec with a close-on-exec pipe that carries an exec
 * failure back to the parent; liveness from kill(2) and /proc; a bounded
 * TERM-then-KILL stop. No process table is kept in memory: the pid files
 * under the state dir are the truth, so any later mlctl can stop them. */
#define _DEFAULT_SOURCE
#define _GNU_SOURCE /* close_range */
#include "proc.h"

#include "exitcode.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 10

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ dirs */

int proc_mkdir_p(const char *path, struct ml_err *err)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) == -1 && errno != EEXIST) {
			rc = ml_err_set(err, ML_EXIT_OPERATIONAL,
					"cannot create directory %s: %s", p,
					strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (rc == 0 && !path_is_dir(path))
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL, "%s is not a directory",
				path);
	free(p);
	return rc;
}

char *proc_self_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return path_dirname(buf);
}

/* ------------------------------------------------------------- pid files */

static char *pid_path(const char *dir, const char *name)
{
	char *base = xasprintf("%s.pid", name);
	char *p = path_join(dir, base);
	free(base);
	return p;
}

pid_t proc_pid_file(const char *dir, const char *name)
{
	char *path = pid_path(dir, name), *buf = NULL;
	size_t len;
	pid_t pid = 0;
	if (read_file(path, 64, &buf, &len) == 0) {
		char *end;
		long v = strtol(buf, &end, 10);
		if (end != buf && v > 1 && v < (1L << 30) &&
		    (*end == '\n' || *end == '\0'))
			pid = (pid_t)v;
	}
	free(buf);
	free(path);
	return pid;
}

static int write_pid_file(const char *dir, const char *name, pid_t pid,
			  struct ml_err *err)
{
	char *path = pid_path(dir, name);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int rc = 0;
	FILE *f = fopen(tmp, "w");
	bool ok = f != NULL;
	if (f) {
		ok = fprintf(f, "%ld\n", (long)pid) > 0;
		ok = fclose(f) == 0 && ok;
	}
	if (!ok || rename(tmp, path) != 0) {
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot write %s: %s",
				path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(path);
	return rc;
}

static void remove_pid_file(const char *dir, const char *name)
{
	char *path = pid_path(dir, name);
	unlink(path);
	free(path);
}

/* ------------------------------------------------------------- liveness */

/* The state letter of /proc/<pid>/stat ('R', 'S', 'Z'...), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], *buf = NULL;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_file(path, 4096, &buf, &len) != 0)
		return 0;
	/* "pid (comm) S ...": comm may hold spaces and parentheses */
	char *rp = strrchr(buf, ')');
	char st = rp && rp[1] == ' ' ? rp[2] : 0;
	free(buf);
	return st;
}

/* Whether /proc/<pid>/cmdline holds `expect`. A process inside execve
 * reads as an empty command line for a moment: an empty read is retried
 * for up to ~50 ms before it counts as "not that program". */
static bool cmdline_has(pid_t pid, const char *expect)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	for (int attempt = 0;; attempt++) {
		if (read_file(path, 1 << 20, &buf, &len) != 0)
			return false;
		if (len > 0 || attempt == 10)
			break;
		free(buf);
		buf = NULL;
		sleep_ms(5);
	}
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	bool ok = strstr(buf, expect) != NULL;
	free(buf);
	return ok;
}

bool proc_pid_alive(pid_t pid, const char *expect)
{
	if (pid <= 1)
		return false;
	if (kill(pid, 0) == -1 && errno != EPERM)
		return false;
	char st = proc_state(pid);
	if (st == 0 || st == 'Z' || st == 'X')
		return false;
	return !expect || cmdline_has(pid, expect);
}

pid_t proc_running(const char *dir, const char *name, const char *expect)
{
	pid_t pid = proc_pid_file(dir, name);
	return pid && proc_pid_alive(pid, expect) ? pid : 0;
}

/* ---------------------------------------------------------------- start */

static int open_log(const char *path, struct ml_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot open log %s: %s",
			   path, strerror(errno));
	return fd;
}

/* In the child after fork: only async-signal-safe calls. Reports errno on
 * `wfd` and exits 127 on failure. */
static void child_exec(const struct proc_spec *spec, int log_fd, int err_fd,
		       int null_fd, int wfd)
{
	int e;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (setsid() == -1)
		goto fail;
	if (dup2(null_fd, 0) == -1 || dup2(log_fd, 1) == -1 ||
	    dup2(err_fd >= 0 ? err_fd : log_fd, 2) == -1)
		goto fail;
	if (spec->cwd && chdir(spec->cwd) == -1)
		goto fail;
	/* nothing of ours leaks into the child beyond 0-2 (wfd is CLOEXEC
	 * already and must stay open until exec) */
#ifdef CLOSE_RANGE_CLOEXEC
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
#endif
	{
		long max = sysconf(_SC_OPEN_MAX);
		if (max < 0 || max > 65536)
			max = 65536;
		for (int fd = 3; fd < max; fd++)
			if (fd != wfd)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	execvp(spec->argv[0], spec->argv);
fail:
	e = errno;
	while (write(wfd, &e, sizeof(e)) == -1 && errno == EINTR)
		;
	_exit(127);
}

int proc_spawn(const struct proc_spec *spec, pid_t *pid_out,
	       struct ml_err *err)
{
	int rc = -1, log_fd = -1, err_fd = -1, null_fd = -1;
	int pfd[2] = { -1, -1 };
	char *log = NULL;
	pid_t pid = -1;
	if (pid_out)
		*pid_out = 0;
	if (!spec->argv || !spec->argv[0] || !spec->dir || !spec->name) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "proc_spawn: incomplete spec");
		goto out;
	}
	if (proc_mkdir_p(spec->dir, err) < 0)
		goto out;
	if (spec->log) {
		log = xstrdup(spec->log);
	} else {
		char *base = xasprintf("%s.log", spec->name);
		log = path_join(spec->dir, base);
		free(base);
	}
	if ((log_fd = open_log(log, err)) < 0)
		goto out;
	if (spec->err_log && (err_fd = open_log(spec->err_log, err)) < 0)
		goto out;
	if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    pipe2(pfd, O_CLOEXEC) == -1) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot start %s: %s",
			   spec->argv[0], strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot start %s: fork: %s",
			   spec->argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(spec, log_fd, err_fd, null_fd, pfd[1]);
	close(pfd[1]);
	pfd[1] = -1;
	int child_errno = 0;
	ssize_t n;
	while ((n = read(pfd[0], &child_errno, sizeof(child_errno))) == -1 &&
	       errno == EINTR)
		;
	if (n > 0) {
		/* exec failed: reap the child, report why */
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot run %s: %s",
			   spec->argv[0], strerror(child_errno));
		goto out;
	}
	if (write_pid_file(spec->dir, spec->name, pid, err) < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		goto out;
	}
	if (pid_out)
		*pid_out = pid;
	rc = 0;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (log_fd >= 0)
		close(log_fd);
	if (err_fd >= 0)
		close(err_fd);
	if (null_fd >= 0)
		close(null_fd);
	free(log);
	return rc;
}

/* ----------------------------------------------------------------- stop */

/* Whether pid has exited; reaps it when it is our child. */
static bool gone(pid_t pid)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG);
	if (r == pid)
		return true;
	if (r == 0)
		return false; /* our child, still running */
	return !proc_pid_alive(pid, NULL);
}

static bool wait_gone(pid_t pid, long timeout_ms)
{
	double deadline = now_ms() + (double)timeout_ms;
	for (;;) {
		if (gone(pid))
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(POLL_MS);
	}
}

int proc_terminate_pid(pid_t pid, long timeout_ms, bool *killed,
		       struct ml_err *err)
{
	if (killed)
		*killed = false;
	if (timeout_ms <= 0)
		timeout_ms = PROC_STOP_TIMEOUT_MS;
	if (pid <= 1)
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "bad pid %ld",
				  (long)pid);
	if (gone(pid))
		return 1;
	if (kill(pid, SIGTERM) == -1) {
		if (errno == ESRCH) {
			gone(pid);
			return 1;
		}
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "cannot signal pid %ld: %s", (long)pid,
				  strerror(errno));
	}
	if (wait_gone(pid, timeout_ms))
		return 0;
	if (killed)
		*killed = true;
	/* its own session leader: the group holds its workers too */
	if (kill(-pid, SIGKILL) == -1)
		kill(pid, SIGKILL);
	if (wait_gone(pid, 2000))
		return 0;
	return ml_err_set(err, ML_EXIT_OPERATIONAL,
			  "pid %ld did not exit after SIGKILL", (long)pid);
}

int proc_terminate(const char *dir, const char *name, const char *expect,
		   long timeout_ms, bool *killed, struct ml_err *err)
{
	if (killed)
		*killed = false;
	pid_t pid = proc_pid_file(dir, name);
	if (!pid) {
		remove_pid_file(dir, name); /* unreadable: stale */
		return 1;
	}
	if (!proc_pid_alive(pid, expect)) {
		gone(pid); /* reap a zombie child of ours */
		remove_pid_file(dir, name);
		return 1;
	}
	int rc = proc_terminate_pid(pid, timeout_ms, killed, err);
	if (rc < 0) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err ? err->msg : "");
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "stop %s: %s", name,
				  why);
	}
	remove_pid_file(dir, name);
	return rc == 1 ? 1 : 0;
}

/* ----------------------------------------------------------------- ports */

bool proc_port_open(const char *host, int port)
{
	struct addrinfo hints, *ai = NULL;
	char serv[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%d", port);
	if (getaddrinfo(host, serv, &hints, &ai) != 0 || !ai)
		return false;
	bool ok = false;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd >= 0) {
		ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

int proc_wait_port(const char *host, int port, pid_t pid, long timeout_ms,
		   struct ml_err *err)
{
	double deadline = now_ms() + (double)timeout_ms;
	for (;;) {
		if (proc_port_open(host, port))
			return 0;
		if (pid > 0 && gone(pid))
			return ml_err_set(err, ML_EXIT_OPERATIONAL,
					  "pid %ld exited before listening on "
					  "%s:%d",
					  (long)pid, host, port);
		if (now_ms() >= deadline)
			return ml_err_set(err, ML_EXIT_OPERATIONAL,
					  "nothing listening on %s:%d after "
					  "%ld ms",
					  host, port, timeout_ms);
		sleep_ms(20);
	}
}

/* ------------------------------------------------------------------- run */

#define RUN_MAX_OUTPUT (64u << 10)

int proc_run(char *const *argv, long timeout_ms, char **output, int *status,
	     struct ml_err *err)
{
	int out[2] = { -1, -1 }, ep[2] = { -1, -1 }, null_fd = -1, rc = -1;
	size_t len = 0;
	char *buf = xmalloc(RUN_MAX_OUTPUT + 1);
	pid_t pid = -1;
	*status = -1;
	if (output)
		*output = NULL;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1 ||
	    (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot run %s: %s",
			   argv[0], strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot run %s: fork: %s",
			   argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int e;
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(null_fd, 0) != -1 && dup2(out[1], 1) != -1 &&
		    dup2(out[1], 2) != -1)
			execvp(argv[0], argv);
		e = errno;
		while (write(ep[1], &e, sizeof(e)) == -1 && errno == EINTR)
			;
		_exit(127);
	}
	close(out[1]);
	out[1] = -1;
	close(ep[1]);
	ep[1] = -1;
	int child_errno = 0;
	ssize_t n;
	while ((n = read(ep[0], &child_errno, sizeof(child_errno))) == -1 &&
	       errno == EINTR)
		;
	if (n > 0) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot run %s: %s",
			   argv[0], strerror(child_errno));
		goto out;
	}
	/* read until EOF or the deadline */
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	double deadline = now_ms() + (double)timeout_ms;
	bool timed_out = false;
	for (;;) {
		char chunk[4096];
		n = read(out[0], chunk, sizeof(chunk));
		if (n > 0) {
			size_t take = (size_t)n;
			if (take > RUN_MAX_OUTPUT - len)
				take = RUN_MAX_OUTPUT - len;
			memcpy(buf + len, chunk, take);
			len += take;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (now_ms() >= deadline) {
			timed_out = true;
			break;
		}
		sleep_ms(5);
	}
	if (timed_out)
		kill(-pid, SIGKILL);
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, timed_out ? 0 : WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			st = -1;
			break;
		}
		if (r == 0) {
			if (now_ms() >= deadline) {
				kill(-pid, SIGKILL);
				timed_out = true;
			}
			sleep_ms(5);
		}
	}
	*status = !timed_out && st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	buf[len] = '\0';
	if (output) {
		*output = buf;
		buf = NULL;
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (null_fd >= 0)
		close(null_fd);
	free(buf);
	return rc;
}
