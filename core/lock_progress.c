/* lock_progress.c — the progress a running rollout publishes beside its
 * lock: <state>/locks/<env>.progress, one JSON object stamped with the
 * writer's pid and the pid's start, replaced whole by rename(2). What the
 * object says (step, canary share, verdicts) is the rollout's business
 * (cli/rollout_progress.c); which holder is alive is the lock's. */
#define _XOPEN_SOURCE 700 /* rename, getpid */
#include "lock.h"
#include "lock_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define PROGRESS_MAX_BYTES 65536

/* This process's pid and its start, read from /proc once per process
 * (a forked child reads its own). */
static void self_stamp(pid_t *pid, unsigned long long *start)
{
	static pid_t seen;
	static unsigned long long seen_start;
	if (seen != getpid()) {
		struct lock_holder me;
		lock_holder_self(&me, NULL);
		seen = me.pid;
		seen_start = me.pid_start;
	}
	*pid = seen;
	*start = seen_start;
}

int lock_progress_publish(const char *state_dir, const char *env,
			  struct json_t *doc)
{
	char *dir = NULL, *path = NULL, *tmp = NULL, *text = NULL;
	int ret = -1;
	if (!json_is_object(doc) ||
	    lock_side_path(state_dir, env, "progress", &dir, &path) < 0) {
		errno = EINVAL;
		goto out;
	}
	pid_t pid;
	unsigned long long start;
	self_stamp(&pid, &start);
	json_object_set_new(doc, "pid", json_integer(pid));
	json_object_set_new(doc, "pid_start", json_integer((json_int_t)start));
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s) {
		errno = ENOMEM;
		goto out;
	}
	text = xasprintf("%s\n", s);
	free(s);
	if (!(tmp = lock_write_aside(dir, ".progress-new-XXXXXX", text)))
		goto out;
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	free(text);
	free(path);
	free(dir);
	return ret;
}

/* The progress at `path` when its stamp is (pid, start); else NULL. */
static json_t *read_for(const char *path, pid_t pid, unsigned long long start)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file(path, PROGRESS_MAX_BYTES, &text, &len) < 0)
		return NULL;
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	json_int_t p = json_integer_value(json_object_get(o, "pid"));
	unsigned long long s = (unsigned long long)json_integer_value(
		json_object_get(o, "pid_start"));
	if (!json_is_object(o) || p <= 0 || (pid_t)p != pid ||
	    (s && start && s != start)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void lock_progress_read(const char *state_dir, const char *env,
			const struct lock_holder *holder, struct json_t **out)
{
	char *dir = NULL, *path = NULL;
	*out = NULL;
	if (holder && holder->pid > 0 &&
	    lock_side_path(state_dir, env, "progress", &dir, &path) == 0)
		*out = read_for(path, holder->pid, holder->pid_start);
	free(path);
	free(dir);
}

void lock_progress_withdraw(const char *state_dir, const char *env)
{
	char *dir = NULL, *path = NULL;
	if (lock_side_path(state_dir, env, "progress", &dir, &path) == 0) {
		pid_t pid;
		unsigned long long start;
		self_stamp(&pid, &start);
		json_t *mine = read_for(path, pid, start);
		if (mine)
			unlink(path);
		json_decref(mine);
	}
	free(path);
	free(dir);
}
