/* node_exec.c — the exec node driver: the environment's exec.load, unload,
 * ready and live commands, placeholders substituted and shell-quoted, run
 * as `sh -c CMD` (posix_spawn) in a process group of their own, one per
 * node, all at once. Output (stdout and stderr together) is captured for
 * error messages; a command that outlives its timeout gets SIGTERM, then
 * SIGKILL a second later, sent to its whole group. */
#define _DEFAULT_SOURCE
#include "exitcode.h"
#include "node.h"
#include "node_driver.h"
#include "sbuf.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define EXEC_OUTPUT_MAX (64u << 10)
#define EXEC_KILL_GRACE_MS 1000.0
/* After the shell exits, how long a pipe still held open by something it
 * left running (a daemon it started) is read before we stop caring. */
#define EXEC_PIPE_LINGER_MS 200.0

/* ======================================================================
 * placeholders
 * ==================================================================== */


enum qstate { Q_NONE, Q_SINGLE, Q_DOUBLE };

/* Append v so the shell reads it as one literal string where it stands. */
static void add_quoted(struct sbuf *b, const char *v, enum qstate q)
{
	switch (q) {
	case Q_NONE:
		sbuf_addc(b, '\'');
		for (const char *p = v; *p; p++)
			if (*p == '\'')
				sbuf_adds(b, "'\\''");
			else
				sbuf_addc(b, *p);
		sbuf_addc(b, '\'');
		return;
	case Q_SINGLE: /* close, escaped quote, reopen */
		for (const char *p = v; *p; p++)
			if (*p == '\'')
				sbuf_adds(b, "'\\''");
			else
				sbuf_addc(b, *p);
		return;
	case Q_DOUBLE:
		for (const char *p = v; *p; p++) {
			if (*p == '"' || *p == '\\' || *p == '$' || *p == '`')
				sbuf_addc(b, '\\');
			sbuf_addc(b, *p);
		}
		return;
	}
}

char *node_exec_expand(const char *tmpl, const struct node_exec_vars *v)
{
	const struct {
		const char *name;
		const char *val;
	} vars[] = {
		{ "node", v->node },       { "url", v->url },
		{ "model", v->model },     { "version", v->version },
		{ "artifact", v->artifact }, { "sha256", v->sha256 },
	};
	struct sbuf b = SBUF_INIT;
	sbuf_adds(&b, "");
	enum qstate q = Q_NONE;
	for (size_t i = 0; tmpl[i]; i++) {
		char c = tmpl[i];
		if (c == '{' && (i == 0 || tmpl[i - 1] != '$')) {
			bool done = false;
			for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) {
				size_t nl = strlen(vars[k].name);
				if (strncmp(tmpl + i + 1, vars[k].name, nl) == 0 &&
				    tmpl[i + 1 + nl] == '}') {
					add_quoted(&b, vars[k].val ? vars[k].val : "",
						   q);
					i += nl + 1;
					done = true;
					break;
				}
			}
			if (done)
				continue;
		}
		if (c == '\\' && q != Q_SINGLE && tmpl[i + 1]) {
			sbuf_addn(&b, tmpl + i, 2);
			i++;
			continue;
		}
		if (c == '\'' && q != Q_DOUBLE)
			q = q == Q_SINGLE ? Q_NONE : Q_SINGLE;
		else if (c == '"' && q != Q_SINGLE)
			q = q == Q_DOUBLE ? Q_NONE : Q_DOUBLE;
		sbuf_addc(&b, c);
	}
	return b.s;
}

/* ======================================================================
 * processes
 * ==================================================================== */

struct proc {
	pid_t pid;
	int fd; /* read end of the output pipe, -1 once done */
	int spawn_errno;
	bool exited, term_sent, kill_sent;
	bool lost; /* reaped by someone else: no exit status */
	int wstatus;
	double deadline, t_exit, kill_at;
	char *out;
	size_t len;
};

static void proc_append(struct proc *p, const char *s, size_t n)
{
	if (n >= EXEC_OUTPUT_MAX) {
		s += n - EXEC_OUTPUT_MAX;
		n = EXEC_OUTPUT_MAX;
	}
	if (p->len + n > EXEC_OUTPUT_MAX) { /* keep the tail */
		size_t drop = p->len + n - EXEC_OUTPUT_MAX;
		memmove(p->out, p->out + drop, p->len - drop);
		p->len -= drop;
	}
	p->out = xrealloc(p->out, p->len + n + 1);
	memcpy(p->out + p->len, s, n);
	p->len += n;
	p->out[p->len] = '\0';
}

/* environ without our MLCTL_* names, plus their values for this node. */
static char **build_env(const struct node_exec_vars *v)
{
	static const char *const names[] = { "MLCTL_NODE=",    "MLCTL_URL=",
					     "MLCTL_MODEL=",   "MLCTL_VERSION=",
					     "MLCTL_ARTIFACT=", "MLCTL_SHA256=" };
	const char *vals[] = { v->node,    v->url,      v->model,
			       v->version, v->artifact, v->sha256 };
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **e = xcalloc(n + 7, sizeof *e);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool ours = false;
		for (size_t j = 0; j < 6 && !ours; j++)
			ours = strncmp(environ[i], names[j],
				       strlen(names[j])) == 0;
		if (!ours)
			e[k++] = xstrdup(environ[i]);
	}
	for (size_t j = 0; j < 6; j++)
		e[k++] = xasprintf("%s%s", names[j], vals[j] ? vals[j] : "");
	return e;
}

static void free_env(char **e)
{
	for (size_t i = 0; e && e[i]; i++)
		free(e[i]);
	free(e);
}

static void proc_spawn(struct proc *p, const char *cmd, char **envp,
		       long timeout_ms)
{
	p->pid = -1;
	p->fd = -1;
	p->deadline = now_ms() + (double)timeout_ms;
	int fds[2];
	if (pipe(fds) < 0) {
		p->spawn_errno = errno;
		return;
	}
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0); /* a group of its own */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	int rc = posix_spawn(&p->pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(fds[1]);
	if (rc != 0) {
		p->spawn_errno = rc;
		p->pid = -1;
		close(fds[0]);
		return;
	}
	p->fd = fds[0];
}

static void proc_read(struct proc *p)
{
	char buf[4096];
	for (;;) {
		ssize_t r = read(p->fd, buf, sizeof buf);
		if (r > 0) {
			proc_append(p, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(p->fd); /* EOF or error */
		p->fd = -1;
		return;
	}
}

static bool proc_done(const struct proc *p)
{
	return p->pid < 0 || (p->exited && p->fd < 0);
}

/* Run every process to its end (or its timeout and the kill). */
static void procs_wait(struct proc *ps, size_t n)
{
	struct pollfd *pfd = xcalloc(n ? n : 1, sizeof *pfd);
	size_t *who = xcalloc(n ? n : 1, sizeof *who);
	for (;;) {
		double now = now_ms();
		bool all = true;
		double wake = now + 1000;
		size_t np = 0;
		for (size_t i = 0; i < n; i++) {
			struct proc *p = &ps[i];
			if (proc_done(p))
				continue;
			all = false;
			if (!p->exited) {
				int st;
				pid_t w = waitpid(p->pid, &st, WNOHANG);
				if (w == p->pid ||
				    (w < 0 && errno == ECHILD)) {
					p->exited = true;
					p->lost = w != p->pid;
					p->wstatus = p->lost ? 0 : st;
					p->t_exit = now;
				}
			}
			if (p->exited && p->fd >= 0 &&
			    now - p->t_exit >= EXEC_PIPE_LINGER_MS) {
				proc_read(p);
				if (p->fd >= 0) {
					close(p->fd);
					p->fd = -1;
				}
			}
			if (!p->exited && !p->term_sent && now >= p->deadline) {
				kill(-p->pid, SIGTERM);
				p->term_sent = true;
				p->kill_at = now + EXEC_KILL_GRACE_MS;
			}
			if (p->term_sent && !p->kill_sent && now >= p->kill_at) {
				kill(-p->pid, SIGKILL);
				p->kill_sent = true;
			}
			/* when to look again: output and EOF wake poll; an
			 * exit does not, so check on it every few ms */
			double t;
			if (p->exited) {
				t = p->t_exit + EXEC_PIPE_LINGER_MS;
			} else {
				t = now + (p->fd >= 0 ? 50 : 5);
				double lim = !p->term_sent  ? p->deadline
					     : !p->kill_sent ? p->kill_at
							     : t;
				if (lim < t)
					t = lim;
			}
			if (t < wake)
				wake = t;
			if (p->fd >= 0) {
				pfd[np].fd = p->fd;
				pfd[np].events = POLLIN;
				pfd[np].revents = 0;
				who[np++] = i;
			}
		}
		if (all)
			break;
		int ms = (int)(wake - now);
		if (ms < 0)
			ms = 0;
		if (poll(pfd, np, ms) > 0)
			for (size_t k = 0; k < np; k++)
				if (pfd[k].revents)
					proc_read(&ps[who[k]]);
	}
	free(pfd);
	free(who);
}

/* ======================================================================
 * the driver
 * ==================================================================== */

static const char *op_command(const struct cfg_env *env, enum node_op op,
			      const char **key)
{
	switch (op) {
	case NODE_OP_LIVE:
		*key = "live";
		return env->exec.live;
	case NODE_OP_READY:
	case NODE_OP_VERSION_READY:
		*key = "ready";
		return env->exec.ready;
	case NODE_OP_LOAD:
		*key = "load";
		return env->exec.load;
	case NODE_OP_UNLOAD:
		*key = "unload";
		return env->exec.unload;
	default:
		*key = "?";
		return NULL;
	}
}

/* The output's last lines, on one line, for a message. */
static void output_tail(const struct proc *p, char *buf, size_t sz)
{
	buf[0] = '\0';
	if (!p->len)
		return;
	size_t end = p->len;
	while (end && (p->out[end - 1] == '\n' || p->out[end - 1] == '\r' ||
		       p->out[end - 1] == ' '))
		end--;
	size_t start = end > 300 ? end - 300 : 0;
	size_t o = 0;
	snprintf(buf, sz, ": ");
	o = 2;
	if (start)
		o += (size_t)snprintf(buf + o, sz - o, "...");
	for (size_t i = start; i < end && o + 4 < sz; i++) {
		char c = p->out[i];
		if (c == '\n') {
			buf[o++] = ' ';
			buf[o++] = '|';
			buf[o++] = ' ';
		} else if (c != '\r') {
			buf[o++] = (unsigned char)c < 32 ? ' ' : c;
		}
	}
	buf[o] = '\0';
}

static void interpret(const struct node_call *call, const char *what,
		      const char *key, long timeout_ms, struct proc *p,
		      struct node_result *r)
{
	bool probe = call->op == NODE_OP_LIVE || call->op == NODE_OP_READY ||
		     call->op == NODE_OP_VERSION_READY;
	char tail[400];
	output_tail(p, tail, sizeof tail);
	r->output = p->out;
	p->out = NULL;
	if (p->pid < 0) {
		node_fail(r, ML_EXIT_OPERATIONAL, what, "cannot run exec.%s: %s",
			  key, strerror(p->spawn_errno));
		return;
	}
	if (p->term_sent) {
		r->status = -1;
		node_fail(r, ML_EXIT_OPERATIONAL, what,
			  "exec.%s timed out after %ld ms; its process group "
			  "was killed%s",
			  key, timeout_ms, tail);
		return;
	}
	if (p->lost) {
		node_fail(r, ML_EXIT_OPERATIONAL, what,
			  "exec.%s: its exit status was lost (SIGCHLD is "
			  "ignored?)%s",
			  key, tail);
		return;
	}
	if (WIFSIGNALED(p->wstatus)) {
		r->status = -1;
		node_fail(r, ML_EXIT_OPERATIONAL, what,
			  "exec.%s was killed by signal %d%s", key,
			  WTERMSIG(p->wstatus), tail);
		return;
	}
	int code = WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : -1;
	r->status = code;
	if (code == 0) {
		r->yes = true;
		return;
	}
	if (code == 126 || code == 127 || !probe)
		node_fail(r, ML_EXIT_OPERATIONAL, what,
			  "exec.%s exited with status %d%s%s", key, code,
			  code == 127 ? " (command not found)" : "", tail);
	else
		node_say_no(r, what, "exec.%s exited with status %d%s", key,
			    code, tail);
}

size_t node_exec_run_many(const struct cfg_env *env,
			  const struct cfg_node *const *nodes, size_t n,
			  const struct node_call *call, struct node_result *out)
{
	char what[300];
	node_call_describe(call, what, sizeof what);
	const char *key = NULL;
	const char *tmpl = op_command(env, call->op, &key);
	if (!tmpl) {
		for (size_t i = 0; i < n; i++) {
			if (call->op == NODE_OP_LIVE)
				out[i].yes = true; /* nothing to ask */
			else
				node_fail(&out[i], ML_EXIT_USAGE, what,
					  "the environment has no exec.%s "
					  "command",
					  key);
		}
		return call->op == NODE_OP_LIVE ? 0 : n;
	}
	long def = env->exec.timeout_ms > 0 ? (long)env->exec.timeout_ms
					    : NODE_EXEC_TIMEOUT_MS;
	long timeout_ms = node_call_timeout(call, def);
	char *artifact = call->rel ? node_artifact_ref(call->rel) : NULL;
	struct proc *ps = xcalloc(n, sizeof *ps);
	double t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		struct node_exec_vars v = {
			.node = nodes[i]->name,
			.url = nodes[i]->url,
			.model = node_call_model(call),
			.version = node_call_version(call),
			.artifact = artifact,
			.sha256 = call->rel ? call->rel->sha256 : NULL,
		};
		char *cmd = node_exec_expand(tmpl, &v);
		char **envp = build_env(&v);
		proc_spawn(&ps[i], cmd, envp, timeout_ms);
		free_env(envp);
		free(cmd);
	}
	procs_wait(ps, n);
	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		interpret(call, what, key, timeout_ms, &ps[i], &out[i]);
		out[i].elapsed_ms = now_ms() - t0;
		if (out[i].rc < 0)
			failed++;
		free(ps[i].out);
	}
	free(ps);
	free(artifact);
	return failed;
}
