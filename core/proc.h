/* proc.h — the processes mlctl owns: serving nodes and routers started by
 * `mlctl up`, and the helpers tests start. Each runs in its own session
 * (setsid), with stdin from /dev/null and stdout + stderr appended to a log
 * file, and is known by a pid file `<dir>/<name>.pid` holding its pid in
 * decimal and a newline (so `kill $(cat x.pid)` works).
 *
 * "Running" means: the pid file names a pid, that process exists
 * (kill(pid, 0)), is not a zombie, and its /proc/<pid>/cmdline (arguments
 * joined by spaces) contains the caller's `expect` string — a guard against
 * a pid reused by an unrelated process after ours died. Pass something that
 * names this instance, e.g. "mlserve --listen 127.0.0.1:8411" or
 * "-c /abs/run/nginx.conf"; NULL skips the check.
 *
 * Functions return 0 or -1 with `err` (code ML_EXIT_OPERATIONAL) filled,
 * unless said otherwise. Nothing here keeps state between calls: pid files
 * are the state, so another mlctl process can stop what this one started.
 * Blocking: these calls sleep and poll (10-20 ms steps), always bounded by
 * the caller's timeout. (Verbs are spawn/terminate, not start/stop: the
 * integration tests' own helper, tests/integration/proc.h, owns those
 * names in the same link.) */
#ifndef MLCTL_PROC_H
#define MLCTL_PROC_H

#include "err.h"

#include <stdbool.h>
#include <sys/types.h>

#define PROC_STOP_TIMEOUT_MS 10000L

/* What to start. Every pointer is borrowed for the call. */
struct proc_spec {
	const char *dir;       /* holds <name>.pid; created (with parents)
				  when missing */
	const char *name;      /* the pid file's stem: "prod-1", "router" */
	char *const *argv;     /* NULL-terminated; argv[0] is a path, or a
				  bare name looked up in PATH */
	const char *log;       /* stdout + stderr, appended; NULL =
				  <dir>/<name>.log */
	const char *err_log;   /* stderr alone, appended; NULL = with `log` */
	const char *cwd;       /* the child's working directory; NULL =
				  ours */
};

#define PROC_SPEC_INIT { NULL, NULL, NULL, NULL, NULL, NULL }

/* Start spec->argv in a new session and write the pid file. Returns once
 * the program has been exec'd (an exec failure — no such program, not
 * executable — is reported here as an error, and no pid file is left).
 * The child gets default signal dispositions, an empty signal mask and no
 * descriptors of ours beyond 0, 1 and 2. *pid (may be NULL) gets the pid.
 * The caller decides whether to wait for it later (proc_terminate reaps
 * its own children); a start does not check whether one is already
 * running — use proc_running first. */
int proc_spawn(const struct proc_spec *spec, pid_t *pid, struct ml_err *err);

/* The pid in <dir>/<name>.pid when that process is running (see above),
 * else 0 (no pid file, an unreadable one, or a dead / reused pid). Never
 * an error: "not running" is an answer. */
pid_t proc_running(const char *dir, const char *name, const char *expect);

/* The pid written in <dir>/<name>.pid, or 0 when there is none (whether or
 * not it runs). */
pid_t proc_pid_file(const char *dir, const char *name);

/* Whether `pid` is alive and its cmdline contains `expect` (NULL: any). */
bool proc_pid_alive(pid_t pid, const char *expect);

/* Stop what <dir>/<name>.pid names: SIGTERM to the pid, wait up to
 * timeout_ms (0 = PROC_STOP_TIMEOUT_MS) for it to exit (reaping it when it
 * is our child), then SIGKILL to its whole process group and wait again
 * (up to 2 s). The pid file is removed once the process is gone, and also
 * when it was stale. Returns 0 when a running process was stopped, 1 when
 * nothing was running (a stale pid file is removed), -1 when the process
 * would not die or could not be signalled. *killed (may be NULL) says
 * whether SIGKILL was needed. */
int proc_terminate(const char *dir, const char *name, const char *expect,
		   long timeout_ms, bool *killed, struct ml_err *err);

/* Same, for a pid with no pid file (a test's own child, say). */
int proc_terminate_pid(pid_t pid, long timeout_ms, bool *killed,
		       struct ml_err *err);

/* Wait until a TCP connect to host:port succeeds (host: an IPv4/IPv6
 * literal or a name; the first address is used), polling every 20 ms for
 * at most timeout_ms. When pid > 0, fail at once if that process exits
 * meanwhile (its log will say why). */
int proc_wait_port(const char *host, int port, pid_t pid, long timeout_ms,
		   struct ml_err *err);

/* Whether a TCP connect to host:port succeeds right now. */
bool proc_port_open(const char *host, int port);

/* Run argv to completion in its own process group, stdin from /dev/null,
 * stdout and stderr captured together into *output (caller frees; the
 * first 64 KiB; may be NULL when not wanted). *status gets the exit status,
 * or -1 when it was killed by a signal or by running past timeout_ms (then
 * the whole group is killed). Returns -1 with err only when it could not
 * run at all (no such program...). For short checks like `nginx -t`. */
int proc_run(char *const *argv, long timeout_ms, char **output, int *status,
	     struct ml_err *err);

/* mkdir -p with mode 0777 & ~umask. */
int proc_mkdir_p(const char *path, struct ml_err *err);

/* The directory holding this program's executable (from /proc/self/exe),
 * caller frees; NULL when unknown. */
char *proc_self_dir(void);

#endif
