/* lock.c — the per-environment rollout lock: a lock file that appears
 * atomically with its holder's description, stale-lock detection for
 * holders on this host, and replacement of stale locks without two
 * processes ever both believing they hold the lock. Printing the "replaced
 * a stale lock" note is the caller's job (struct lock says whom). */
#define _XOPEN_SOURCE 700 /* gethostname */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "util.h"

#define LOCK_MAX_BYTES 8192
#define LOCK_ATTEMPTS 50
/* A ".break" file older than this was left by a process that died while
 * replacing a stale lock (which takes microseconds). */
#define BREAKER_AGE_S 10

/* ---- Helpers ---------------------------------------------------------- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (rc == 0 && !path_is_dir(path)) {
		errno = ENOTDIR;
		rc = -1;
	}
	free(p);
	return rc;
}

static void this_host(char *buf, size_t size)
{
	if (gethostname(buf, size) < 0 || !*buf)
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
}

/* Start time of `pid` in clock ticks after boot (field 22 of
 * /proc/<pid>/stat), or 0 when it cannot be read. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], *text = NULL;
	size_t len = 0;
	unsigned long long start = 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_file(path, 4096, &text, &len) < 0)
		return 0;
	/* "pid (comm) S ppid ...": comm may hold spaces and ')' */
	char *p = strrchr(text, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	free(text);
	return start;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void lock_holder_self(struct lock_holder *h, const char *what)
{
	memset(h, 0, sizeof(*h));
	h->pid = getpid();
	this_host(h->host, sizeof(h->host));
	struct passwd *pw = getpwuid(geteuid());
	const char *u = pw && pw->pw_name ? pw->pw_name : getenv("USER");
	if (u && *u)
		copy_str(h->user, sizeof(h->user), u);
	else
		snprintf(h->user, sizeof(h->user), "uid%ld", (long)geteuid());
	copy_str(h->what, sizeof(h->what), what);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	h->started = (long long)now;
	strftime(h->started_iso, sizeof(h->started_iso), "%Y-%m-%dT%H:%M:%SZ",
		 &tm);
	h->pid_start = proc_start(h->pid);
}

static char *holder_text(const struct lock_holder *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(h->pid));
	json_object_set_new(o, "host", json_string(h->host));
	json_object_set_new(o, "user", json_string(h->user));
	json_object_set_new(o, "what", json_string(h->what));
	json_object_set_new(o, "started", json_string(h->started_iso));
	json_object_set_new(o, "started_unix", json_integer(h->started));
	json_object_set_new(o, "pid_start", json_integer((json_int_t)h->pid_start));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	char *line = xasprintf("%s\n", s ? s : "{}");
	free(s);
	return line;
}

/* 0 when `text` is a lock with a positive pid and a host. */
static int parse_holder(const char *text, struct lock_holder *h)
{
	json_error_t je;
	memset(h, 0, sizeof(*h));
	json_t *o = json_loads(text, 0, &je);
	int ret = -1;
	if (!json_is_object(o))
		goto out;
	json_int_t pid = json_integer_value(json_object_get(o, "pid"));
	const char *host = json_string_value(json_object_get(o, "host"));
	if (pid <= 0 || !host || !*host)
		goto out;
	h->pid = (pid_t)pid;
	copy_str(h->host, sizeof(h->host), host);
	copy_str(h->user, sizeof(h->user),
		 json_string_value(json_object_get(o, "user")));
	copy_str(h->what, sizeof(h->what),
		 json_string_value(json_object_get(o, "what")));
	copy_str(h->started_iso, sizeof(h->started_iso),
		 json_string_value(json_object_get(o, "started")));
	h->started = json_integer_value(json_object_get(o, "started_unix"));
	h->pid_start = (unsigned long long)json_integer_value(
		json_object_get(o, "pid_start"));
	ret = 0;
out:
	json_decref(o);
	return ret;
}

enum liveness { HOLDER_ALIVE, HOLDER_DEAD, HOLDER_ELSEWHERE };

static enum liveness holder_liveness(const struct lock_holder *h)
{
	char host[256];
	this_host(host, sizeof(host));
	if (strcmp(host, h->host) != 0)
		return HOLDER_ELSEWHERE;
	if (kill(h->pid, 0) == -1 && errno == ESRCH)
		return HOLDER_DEAD;
	/* The pid exists (or is another user's: EPERM). Is it still ours? */
	unsigned long long now = h->pid_start ? proc_start(h->pid) : 0;
	if (now && now != h->pid_start)
		return HOLDER_DEAD;
	return HOLDER_ALIVE;
}

void lock_holder_describe(const struct lock_holder *h, char *buf, size_t size)
{
	snprintf(buf, size, "pid %ld (%s@%s%s%s%s%s)", (long)h->pid,
		 *h->user ? h->user : "?", h->host, *h->what ? ", " : "",
		 h->what, *h->started_iso ? ", since " : "", h->started_iso);
}

/* What is at `path`: 1 and the text (caller frees) and its age in
 * seconds, 0 when there is no lock, -1 on error (errno). */
static int read_lock(const char *path, char **text, double *age)
{
	struct stat st;
	*text = NULL;
	if (stat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	size_t len;
	if (read_file(path, LOCK_MAX_BYTES, text, &len) == -1)
		return errno == ENOENT ? 0 : -1;
	*age = difftime(time(NULL), st.st_mtime);
	return 1;
}

static int lock_path(const char *state_dir, const char *env, char **dir,
		     char **path, struct ml_err *err)
{
	*dir = *path = NULL;
	if (!env || !*env || env[0] == '.' || strchr(env, '/'))
		return ml_err_set(err, ML_EXIT_USAGE,
				  "lock: bad environment name '%s'",
				  env ? env : "");
	*dir = path_join(state_dir, "locks");
	char *name = xasprintf("%s.lock", env);
	*path = path_join(*dir, name);
	free(name);
	return 0;
}

/* ---- Taking and replacing --------------------------------------------- */

static int write_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Create the lock with `text` in it: 0 done, 1 it exists, -1 error. */
static int try_create(const char *dir, const char *path, const char *text)
{
	char *tmp = path_join(dir, ".lock-new-XXXXXX");
	int ret = -1;
	int fd = mkstemp(tmp); /* O_CREAT|O_EXCL */
	if (fd < 0)
		goto out;
	fchmod(fd, 0644);
	if (write_all(fd, text) < 0 || fsync(fd) < 0) {
		close(fd);
		goto out;
	}
	close(fd);
	/* link(2) fails when the lock exists, and others never see a
	 * half-written lock. */
	if (link(tmp, path) == 0) {
		ret = 0;
	} else if (errno == EEXIST) {
		ret = 1;
	} else if (errno == EPERM || errno == ENOTSUP || errno == ENOSYS ||
		   errno == EOPNOTSUPP || errno == EMLINK) {
		/* No hard links here: exclusive create, then write. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			ret = errno == EEXIST ? 1 : -1;
		} else {
			ret = write_all(fd, text) == 0 ? 0 : -1;
			close(fd);
			if (ret < 0)
				unlink(path);
		}
	}
out:;
	int saved = errno;
	unlink(tmp); /* linked or not, the temporary name goes */
	errno = saved;
	free(tmp);
	return ret;
}

/* Remove the lock at `path` if its content is still `seen`, under a
 * ".break" guard so two processes replacing the same stale lock cannot
 * remove a fresh lock taken in between. Returns after one try; the caller
 * loops. */
static void break_stale(const char *path, const char *seen)
{
	char *breaker = xasprintf("%s.break", path);
	int fd = open(breaker, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		struct stat st;
		if (errno == EEXIST && stat(breaker, &st) == 0 &&
		    difftime(time(NULL), st.st_mtime) > BREAKER_AGE_S)
			unlink(breaker);
		else
			sleep_ms(10);
		free(breaker);
		return;
	}
	close(fd);
	char *now = NULL;
	double age;
	if (read_lock(path, &now, &age) == 1 && strcmp(now, seen) == 0)
		unlink(path);
	free(now);
	unlink(breaker);
	free(breaker);
}

static int locked_err(struct ml_err *err, const char *env, const char *path,
		      const struct lock_holder *h, enum liveness live)
{
	char who[700];
	if (!h)
		return ml_err_set(err, ML_EXIT_LOCKED,
				  "environment %s is locked: unreadable lock "
				  "file %s (remove it if no rollout is running)",
				  env, path);
	lock_holder_describe(h, who, sizeof(who));
	if (live == HOLDER_ELSEWHERE)
		return ml_err_set(err, ML_EXIT_LOCKED,
				  "environment %s is locked by %s on another "
				  "host (remove %s if that rollout is gone)",
				  env, who, path);
	return ml_err_set(err, ML_EXIT_LOCKED,
			  "environment %s is locked by %s", env, who);
}

int lock_acquire(const char *state_dir, const char *env, const char *what,
		 struct lock **out, struct ml_err *err)
{
	char *dir = NULL, *path = NULL, *seen = NULL;
	struct lock *lk = NULL;
	int ret = -1;
	*out = NULL;
	if (lock_path(state_dir, env, &dir, &path, err) < 0)
		goto out;
	if (mkdir_p(dir) < 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "lock: cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	lk = xcalloc(1, sizeof(*lk));
	lock_holder_self(&lk->holder, what);
	lk->text = holder_text(&lk->holder);

	int failed_errno = 0;
	for (int i = 0; i < LOCK_ATTEMPTS && !failed_errno; i++) {
		int rc = try_create(dir, path, lk->text);
		if (rc == 0) {
			lk->path = path;
			path = NULL;
			*out = lk;
			lk = NULL;
			ret = 0;
			goto out;
		}
		if (rc < 0) {
			failed_errno = errno ? errno : EIO;
			break;
		}
		double age = 0;
		free(seen);
		seen = NULL;
		rc = read_lock(path, &seen, &age);
		if (rc < 0) {
			failed_errno = errno ? errno : EIO;
			break;
		}
		if (rc == 0)
			continue; /* released meanwhile: try again */
		struct lock_holder h;
		if (parse_holder(seen, &h) < 0) {
			if (age < LOCK_GARBAGE_AGE_S) {
				locked_err(err, env, path, NULL, HOLDER_ALIVE);
				goto out;
			}
			memset(&lk->stale, 0, sizeof(lk->stale));
		} else {
			enum liveness live = holder_liveness(&h);
			if (live != HOLDER_DEAD) {
				locked_err(err, env, path, &h, live);
				goto out;
			}
			lk->stale = h;
		}
		lk->replaced_stale = true;
		break_stale(path, seen);
	}
	ml_err_set(err, ML_EXIT_OPERATIONAL, "lock: cannot take %s: %s", path,
		   failed_errno ? strerror(failed_errno) : "too many attempts");
out:
	if (lk) {
		free(lk->text);
		free(lk);
	}
	free(seen);
	free(path);
	free(dir);
	return ret;
}

void lock_release(struct lock *lk)
{
	if (!lk)
		return;
	if (lk->holder.pid == getpid()) {
		char *now = NULL;
		double age;
		/* Never remove a lock that is no longer ours. */
		if (read_lock(lk->path, &now, &age) == 1 &&
		    strcmp(now, lk->text) == 0)
			unlink(lk->path);
		free(now);
	}
	free(lk->text);
	free(lk->path);
	free(lk);
}

int lock_inspect(const char *state_dir, const char *env,
		 enum lock_state *state, struct lock_holder *holder,
		 struct ml_err *err)
{
	char *dir = NULL, *path = NULL, *text = NULL;
	struct lock_holder h;
	double age = 0;
	int ret = -1;
	*state = LOCK_FREE;
	if (holder)
		memset(holder, 0, sizeof(*holder));
	if (lock_path(state_dir, env, &dir, &path, err) < 0)
		goto out;
	int rc = read_lock(path, &text, &age);
	if (rc < 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "lock: cannot read %s: %s",
			   path, strerror(errno));
		goto out;
	}
	if (rc == 1) {
		if (parse_holder(text, &h) < 0) {
			*state = age < LOCK_GARBAGE_AGE_S ? LOCK_HELD : LOCK_STALE;
		} else {
			*state = holder_liveness(&h) == HOLDER_DEAD ? LOCK_STALE
								    : LOCK_HELD;
			if (holder)
				*holder = h;
		}
	}
	ret = 0;
out:
	free(text);
	free(path);
	free(dir);
	return ret;
}
