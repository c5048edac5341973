/* lock_stop.c — a stop request to the holder of an environment's lock:
 * <state>/locks/<env>.stop, one line of JSON saying for which holder, who
 * asks, why and when. It appears whole (written aside, then linked or
 * renamed into place). Signalling the holder is the asker's job, and so
 * is withdrawing the request once the holder has let go. */
#define _XOPEN_SOURCE 700 /* mkstemp, link */
#include "lock.h"
#include "lock_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcode.h"
#include "util.h"

#define STOP_MAX_BYTES 8192

/* "<state>/locks" and "<state>/locks/<env>.stop" (caller frees), or -1
 * for a name that is no environment's. */
static int stop_path(const char *state_dir, const char *env, char **dir,
		     char **path)
{
	return lock_side_path(state_dir, env, "stop", dir, path);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* 0 when the file at `path` is a stop request (into *out). */
static int read_stop(const char *path, struct lock_stop *out)
{
	char *text = NULL;
	size_t len = 0;
	memset(out, 0, sizeof(*out));
	if (read_file(path, STOP_MAX_BYTES, &text, &len) < 0)
		return -1;
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	int ret = -1;
	json_int_t pid = json_integer_value(json_object_get(o, "pid"));
	if (json_is_object(o) && pid > 0) {
		out->pid = (pid_t)pid;
		out->pid_start = (unsigned long long)json_integer_value(
			json_object_get(o, "pid_start"));
		copy_str(out->by, sizeof(out->by),
			 json_string_value(json_object_get(o, "by")));
		copy_str(out->reason, sizeof(out->reason),
			 json_string_value(json_object_get(o, "reason")));
		out->asked_ms = json_number_value(json_object_get(o, "asked_ms"));
		ret = 0;
	}
	json_decref(o);
	return ret;
}

static bool stop_is_for(const struct lock_stop *s, pid_t pid,
			unsigned long long pid_start)
{
	return s->pid == pid &&
	       (!s->pid_start || !pid_start || s->pid_start == pid_start);
}

int lock_stop_post(const char *state_dir, const char *env,
		   const struct lock_holder *to, const char *reason,
		   struct lock_stop *prior, struct ml_err *err)
{
	char *dir = NULL, *path = NULL, *tmp = NULL, *line = NULL;
	int ret = -1;
	if (stop_path(state_dir, env, &dir, &path) < 0) {
		ml_err_set(err, ML_EXIT_USAGE, "lock: bad environment name '%s'",
			   env ? env : "");
		goto out;
	}
	struct lock_holder me;
	lock_holder_self(&me, NULL);
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(to->pid));
	json_object_set_new(o, "pid_start", json_integer((json_int_t)to->pid_start));
	char *by = xasprintf("%s@%s", me.user, me.host);
	json_object_set_new(o, "by", json_string(by));
	free(by);
	json_object_set_new(o, "reason", json_string(reason ? reason : ""));
	json_object_set_new(o, "asked", json_string(me.started_iso));
	json_object_set_new(o, "asked_ms", json_real(now_ms()));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	line = xasprintf("%s\n", s ? s : "{}");
	free(s);
	if (!(tmp = lock_write_aside(dir, ".stop-new-XXXXXX", line))) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot write %s: %s", path,
			   strerror(errno));
		goto out;
	}
	/* link(2) keeps a request already there; rename(2) replaces one
	 * for another holder (and serves where there are no hard links) */
	int rc = link(tmp, path);
	if (rc < 0 && errno == EEXIST) {
		struct lock_stop was;
		if (read_stop(path, &was) == 0 &&
		    stop_is_for(&was, to->pid, to->pid_start)) {
			if (prior)
				*prior = was;
			ret = 1;
			goto out;
		}
	}
	if (rc < 0 && rename(tmp, path) < 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot write %s: %s", path,
			   strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (tmp)
		unlink(tmp); /* linked, renamed or not, the aside name goes */
	free(tmp);
	free(line);
	free(path);
	free(dir);
	return ret;
}

int lock_stop_take(const char *state_dir, const char *env,
		   struct lock_stop *out)
{
	char *dir = NULL, *path = NULL;
	int ret = 0;
	if (stop_path(state_dir, env, &dir, &path) < 0)
		goto out;
	struct lock_holder me;
	lock_holder_self(&me, NULL);
	if (read_stop(path, out) == 0 && stop_is_for(out, me.pid, me.pid_start)) {
		unlink(path);
		ret = 1;
	}
out:
	free(path);
	free(dir);
	return ret;
}

void lock_stop_withdraw(const char *state_dir, const char *env,
			const struct lock_holder *to)
{
	char *dir = NULL, *path = NULL;
	struct lock_stop s;
	if (stop_path(state_dir, env, &dir, &path) == 0 &&
	    read_stop(path, &s) == 0 && stop_is_for(&s, to->pid, to->pid_start))
		unlink(path);
	free(path);
	free(dir);
}
