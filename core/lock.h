/* lock.h — one rollout per environment.
 *
 * The lock is the file <state>/locks/<env>.lock, a one-line JSON object
 * naming the holder: pid, host, user, start time (and what it is doing).
 * It appears atomically with its content (written to a temporary file,
 * then link(2)ed into place, which fails when the lock exists; O_EXCL on
 * file systems without hard links). A lock is stale when its host is this
 * host and its pid is gone (kill(pid, 0) says ESRCH, or the pid now belongs
 * to a process started later than the holder); a stale lock is replaced
 * and the replaced holder reported to the caller. A lock held from another
 * host is never broken. A lock file nobody can parse is stale once it is
 * older than LOCK_GARBAGE_AGE_S seconds.
 *
 * The lock lives as long as the process holding it: a rollout that stops
 * and waits for `mlctl continue` must keep its own state elsewhere. */
#ifndef MLCTL_LOCK_H
#define MLCTL_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

#define LOCK_GARBAGE_AGE_S 30

/* Who holds (or held) a lock. Strings are NUL-terminated, maybe empty. */
struct lock_holder {
	pid_t pid;
	char host[256];
	char user[64];
	char what[256];     /* e.g. "deploy eta 2.0.0"; may be empty */
	long long started;  /* seconds since the epoch */
	char started_iso[32]; /* "2025-01-31T12:00:00Z" */
	unsigned long long pid_start; /* the pid's start in clock ticks after
					 boot (/proc), to see a reused pid;
					 0 when unknown */
};

/* A lock this process holds. Fields are read-only for callers. */
struct lock {
	char *path;
	struct lock_holder holder;   /* this process */
	bool replaced_stale;         /* acquiring replaced a stale lock ... */
	struct lock_holder stale;    /* ... held by this dead process */
	char *text;                  /* private: the lock file's content */
};

/* Take the lock of `env` under `state_dir` (creating <state>/locks).
 * `what` (may be NULL) says what the holder does, for others to read.
 * On success *out is the held lock; release it with lock_release.
 * When a live process holds it: -1 with err->code ML_EXIT_LOCKED and a
 * message naming the holder ("environment prod is locked by pid 4242
 * (alice@build-1, deploy eta 2.0.0, since 2025-01-31T12:00:00Z)").
 * Other failures: -1 with ML_EXIT_OPERATIONAL. */
int lock_acquire(const char *state_dir, const char *env, const char *what,
		 struct lock **out, struct ml_err *err);

/* Remove the lock file if it is still this process's lock, and free `lk`.
 * NULL is a no-op. In a forked child (another pid) it only frees. */
void lock_release(struct lock *lk);

enum lock_state { LOCK_FREE, LOCK_HELD, LOCK_STALE };

/* Look at env's lock without taking it (for `status`). `holder` (may be
 * NULL) is filled when the state is HELD or STALE. */
int lock_inspect(const char *state_dir, const char *env,
		 enum lock_state *state, struct lock_holder *holder,
		 struct ml_err *err);

/* "pid 4242 (alice@build-1, deploy eta 2.0.0, since 2025-...Z)" into buf. */
void lock_holder_describe(const struct lock_holder *h, char *buf,
			  size_t size);

/* This process as a holder would be described: pid (and its start),
 * host, user, now; `what` may be NULL. */
void lock_holder_self(struct lock_holder *h, const char *what);

/* ---- Asking the holder to stop (lock_stop.c) --------------------------
 * `mlctl abort` of a rollout that runs leaves <state>/locks/<env>.stop
 * saying who asks and why, then signals the holder, which takes the
 * request (reads and removes it) as it records how it ended. The request
 * names the holder it is for (pid and the pid's start), so one left
 * behind never speaks for another process; the asker withdraws it once
 * the holder has let go, whatever happened. */
struct lock_stop {
	pid_t pid;                    /* the holder it is for */
	unsigned long long pid_start; /* 0 when unknown */
	char by[330];                 /* who asks: "alice@build-1" */
	char reason[1024];            /* why; may be empty */
	double asked_ms;              /* now_ms() when asked (monotonic: the
					 holder is on this host) */
};

/* Leave a stop request from this process for `to`, the holder of env's
 * lock, with `reason` (may be NULL). 0 when it is there; 1 when a request
 * for that same holder was there already (kept; *prior gets it, so a
 * second abort neither signals again nor speaks over the first); -1 with
 * err (ML_EXIT_OPERATIONAL). A request for another holder is replaced. */
int lock_stop_post(const char *state_dir, const char *env,
		   const struct lock_holder *to, const char *reason,
		   struct lock_stop *prior, struct ml_err *err);
/* For the holder: 1 with *out when a stop request for this process is
 * there (it is removed), else 0. */
int lock_stop_take(const char *state_dir, const char *env,
		   struct lock_stop *out);
/* Remove the stop request for `to`, if one is there. */
void lock_stop_withdraw(const char *state_dir, const char *env,
			const struct lock_holder *to);

/* ---- What the holder publishes (lock_progress.c) ----------------------
 * A rollout that runs keeps <state>/locks/<env>.progress current for
 * `mlctl status`: one JSON object (what it runs and where it stands; its
 * content is the rollout's business), replaced whole (written aside,
 * then renamed into place) as it goes, stamped with the writer's pid and
 * the pid's start, and withdrawn when the rollout ends. A reader believes
 * it only when the stamp names the lock's holder, so a file that a run
 * which died left behind says nothing. */
struct json_t;
/* Publish `doc` (a JSON object; "pid" and "pid_start" of this process
 * are set in it) as env's progress. 0, or -1 with errno: a status file
 * that cannot be written is no reason to stop a rollout. Cost: one small
 * file written and renamed. */
int lock_progress_publish(const char *state_dir, const char *env,
			  struct json_t *doc);
/* The progress that `holder` published for env: *out (a new reference)
 * when the file is there, parses, and its stamp names that holder (pid,
 * and the pid's start when both are known); else *out NULL. */
void lock_progress_read(const char *state_dir, const char *env,
			const struct lock_holder *holder, struct json_t **out);
/* Remove env's progress file when this process published it. */
void lock_progress_withdraw(const char *state_dir, const char *env);

#endif
