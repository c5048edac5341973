/* cmdrun.c — a gate's shell command (checks.unit.run,
 * checks.integration.run): sh -c in the project root, in its own process
 * group, output captured (the last 64 KiB), bounded by a timeout after
 * which the whole group is killed. */
#define _DEFAULT_SOURCE
#include "gates/gate.h"

#include "exitcode.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void gate_cmd_result_release(struct gate_cmd_result *r)
{
	if (!r)
		return;
	free(r->output);
	memset(r, 0, sizeof(*r));
}

/* Keep the last GATE_CMD_OUTPUT_MAX bytes. */
struct tail {
	char *buf;
	size_t len, cap;
	bool dropped;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	if (n >= GATE_CMD_OUTPUT_MAX) {
		t->dropped |= t->len > 0 || n > GATE_CMD_OUTPUT_MAX;
		p += n - GATE_CMD_OUTPUT_MAX;
		n = GATE_CMD_OUTPUT_MAX;
		t->len = 0;
	}
	if (t->len + n > GATE_CMD_OUTPUT_MAX) {
		size_t drop = t->len + n - GATE_CMD_OUTPUT_MAX;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->dropped = true;
	}
	if (t->len + n + 1 > t->cap) {
		t->cap = t->len + n + 1 < 8192 ? 8192 : GATE_CMD_OUTPUT_MAX + 1;
		t->buf = xrealloc(t->buf, t->cap);
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* A signal that would end mlctl while the command runs: the command's
 * group goes first (it is not in our process group, so a terminal's ^C
 * does not reach it), then the signal is raised again. */
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
	g_signal = sig;
}

static const int caught[] = { SIGINT, SIGTERM, SIGHUP };

/* The child: new process group, cwd, stdin /dev/null, both outputs to the
 * pipe, no other descriptors, default signals, then sh -c. */
static void child(const char *cmd, const char *cwd, char *const *envv, int wfd)
{
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0) {
		dup2(devnull, 0);
		if (devnull > 2)
			close(devnull);
	}
	dup2(wfd, 1);
	dup2(wfd, 2);
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		close(fd);
	if (cwd && chdir(cwd) != 0) {
		dprintf(2, "mlctl: cd %s: %s\n", cwd, strerror(errno));
		_exit(127);
	}
	for (size_t i = 0; envv && envv[i]; i++)
		putenv(envv[i]);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	dprintf(2, "mlctl: /bin/sh: %s\n", strerror(errno));
	_exit(127);
}

int gate_cmd_run(const char *cmd, const char *cwd, char *const *envv,
		 long long timeout_ms, struct gate_cmd_result *out,
		 struct ml_err *err)
{
	memset(out, 0, sizeof(*out));
	int fds[2];
	if (pipe(fds) != 0)
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "pipe: %s",
				  strerror(errno));
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "fork: %s",
				  strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		child(cmd, cwd, envv, fds[1]);
	}
	setpgid(pid, pid); /* also here: no race with the kill below */
	struct sigaction sa, old[3];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	g_signal = 0;
	for (int i = 0; i < 3; i++)
		sigaction(caught[i], &sa, &old[i]);
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);

	struct tail t = { 0 };
	bool exited = false, eof = false;
	int st = 0;
	double term_at = 0;   /* when SIGTERM went to the group */
	double exited_at = 0; /* when sh exited */
	while (!(exited && eof)) {
		double now = now_ms();
		if (g_signal && !exited && !term_at) {
			kill(-pid, SIGTERM);
			term_at = now;
		}
		if (g_signal && !exited && now - term_at > 2000)
			kill(-pid, SIGKILL);
		if (!exited && !out->timed_out && timeout_ms > 0 &&
		    now - t0 > (double)timeout_ms) {
			out->timed_out = true;
			kill(-pid, SIGTERM);
			term_at = now;
		}
		if (out->timed_out && !exited && now - term_at > 2000)
			kill(-pid, SIGKILL);
		/* the command exited but something it started still holds
		 * the pipe: give it a second, then end the group */
		if (exited && !eof && now - exited_at > 1000) {
			kill(-pid, SIGKILL);
			break;
		}
		if (!eof) {
			struct pollfd p = { fds[0], POLLIN, 0 };
			int pr = poll(&p, 1, 50);
			if (pr > 0) {
				char buf[8192];
				ssize_t r;
				while ((r = read(fds[0], buf, sizeof(buf))) > 0)
					tail_add(&t, buf, (size_t)r);
				if (r == 0)
					eof = true;
			}
		} else {
			struct timespec ts = { 0, 20 * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (!exited) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid || (w < 0 && errno == ECHILD)) {
				exited = true;
				exited_at = now_ms();
			}
		}
	}
	close(fds[0]);
	/* whatever the command left behind in its group goes with it */
	kill(-pid, SIGKILL);
	for (int i = 0; i < 3; i++)
		sigaction(caught[i], &old[i], NULL);
	if (g_signal)
		raise(g_signal);
	out->ms = now_ms() - t0;
	if (WIFEXITED(st)) {
		out->status = WEXITSTATUS(st);
	} else {
		out->status = -1;
		out->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	}
	if (!t.buf)
		tail_add(&t, "", 0);
	out->output = t.buf;
	out->output_len = t.len;
	out->truncated = t.dropped;
	return 0;
}
