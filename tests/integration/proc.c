/* proc.c — see proc.h. fork + setsid + exec, logs to files, polling waits
 * (bounded), stop by pid with SIGKILL as the last resort. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int proc_start(struct proc *p, char *const argv[], char *const env[], const char *out,
	       const char *err)
{
	memset(p, 0, sizeof *p);
	snprintf(p->out, sizeof p->out, "%s", out);
	snprintf(p->err, sizeof p->err, "%s", err);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		/* die with the test: a test killed by its timeout runs no
		 * teardown, and must not leave a server behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(125);
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		for (size_t i = 0; env && env[i]; i++) {
			char *eq = strchr(env[i], '=');
			if (!eq) {
				unsetenv(env[i]);
				continue;
			}
			char name[256];
			snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
			setenv(name, eq + 1, 1);
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	return 0;
}

bool proc_alive(struct proc *p)
{
	if (!p->pid || p->reaped)
		return false;
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r == p->pid) {
		p->status = st;
		p->reaped = true;
		return false;
	}
	return r == 0;
}

char *proc_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		char *s = malloc(1);
		s[0] = 0;
		return s;
	}
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t n;
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			s = realloc(s, cap);
		}
	}
	s[len] = 0;
	fclose(f);
	return s;
}

int proc_wait_listening(struct proc *p, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		char *s = proc_slurp(p->out);
		char *l = strstr(s, "listening on ");
		if (l && strchr(l, '\n')) {
			l += 13;
			char *colon = NULL;
			if (*l == '[') {
				char *end = strchr(l, ']');
				if (end) {
					snprintf(p->host, sizeof p->host, "%.*s", (int)(end - l - 1), l + 1);
					colon = end + 1;
				}
			} else {
				colon = strchr(l, ':');
				if (colon)
					snprintf(p->host, sizeof p->host, "%.*s", (int)(colon - l), l);
			}
			if (colon && *colon == ':')
				p->port = atoi(colon + 1);
			free(s);
			return p->port > 0 ? 0 : -1;
		}
		free(s);
		if (!proc_alive(p))
			return -1;
		sleep_ms(10);
	}
	return -1;
}

static int code_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int proc_wait(struct proc *p, int timeout_ms)
{
	if (!p->pid)
		return -1;
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (!proc_alive(p))
			return p->reaped ? code_of(p->status) : -1;
		sleep_ms(5);
	}
	return -2;
}

int proc_stop(struct proc *p, int sig, int timeout_ms)
{
	if (!p->pid)
		return -1;
	if (p->reaped)
		return code_of(p->status);
	kill(p->pid, sig);
	int rc = proc_wait(p, timeout_ms);
	if (rc == -2) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
		return -1;
	}
	return rc;
}
