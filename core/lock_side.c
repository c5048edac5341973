/* lock_side.c — files beside an environment's lock (the stop request, the
 * progress a rollout publishes): where they live, and writing one aside so
 * that it can be linked or renamed into place whole. What goes in them is
 * lock_stop.c's and lock_progress.c's. */
#define _XOPEN_SOURCE 700 /* mkstemp, fchmod */
#include "lock_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int lock_side_path(const char *state_dir, const char *env, const char *ext,
		   char **dir, char **path)
{
	*dir = *path = NULL;
	if (!env || !*env || env[0] == '.' || strchr(env, '/'))
		return -1;
	*dir = path_join(state_dir, "locks");
	char *name = xasprintf("%s.%s", env, ext);
	*path = path_join(*dir, name);
	free(name);
	return 0;
}

char *lock_write_aside(const char *dir, const char *pattern, const char *text)
{
	char *tmp = path_join(dir, pattern);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return NULL;
	}
	fchmod(fd, 0644);
	size_t n = strlen(text);
	const char *p = text;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int saved = errno;
			close(fd);
			unlink(tmp);
			free(tmp);
			errno = saved ? saved : EIO;
			return NULL;
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return tmp;
}
