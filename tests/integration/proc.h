/* proc.h — child processes for integration tests: start a program in its
 * own session with stdout and stderr going to log files, wait for the
 * "listening on HOST:PORT" line it prints, and stop it by its pid (never
 * by name). Generic: nothing here knows which program it runs. */
#ifndef TESTS_PROC_H
#define TESTS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct proc {
	pid_t pid;      /* 0 when not running */
	char out[512];  /* stdout log path */
	char err[512];  /* stderr log path */
	char host[64];  /* from the "listening on" line */
	int port;
	int status;     /* wait status once reaped */
	bool reaped;
};

/* Start argv[0] (a path) with argv, in a new session (killed with SIGKILL
 * if the test process dies first, e.g. on a Criterion timeout), stdin from
 * /dev/null, stdout to `out` and stderr to `err` (truncated). `env` is a
 * NULL-terminated list of "NAME=value" (or "NAME" to unset) applied on top
 * of the test's environment; may be NULL. Returns 0 or -1. */
int proc_start(struct proc *p, char *const argv[], char *const env[], const char *out,
	       const char *err);
/* Wait up to timeout_ms for "listening on HOST:PORT" in the stdout log;
 * fills host/port. Returns 0, or -1 when the line did not come (or the
 * process exited). */
int proc_wait_listening(struct proc *p, int timeout_ms);
/* Send `sig` to the pid and wait up to timeout_ms for it to exit; SIGKILL
 * after that. Returns the exit code (0..255), 128+signal when killed by a
 * signal, or -1 when it had to be killed. */
int proc_stop(struct proc *p, int sig, int timeout_ms);
/* Wait for exit without signalling; -2 on timeout. */
int proc_wait(struct proc *p, int timeout_ms);
/* Whether the process is still running. */
bool proc_alive(struct proc *p);
/* Whole file as a NUL-terminated string (caller frees; "" when missing). */
char *proc_slurp(const char *path);

#endif
