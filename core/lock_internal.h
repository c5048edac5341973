/* lock_internal.h — what the files beside a lock share (lock_side.c): their
 * paths and how each appears whole. Not for callers of lock.h. */
#ifndef MLCTL_LOCK_INTERNAL_H
#define MLCTL_LOCK_INTERNAL_H

/* "<state>/locks" and "<state>/locks/<env>.<ext>" (caller frees both), or
 * -1 (both NULL) for a name that is no environment's. */
int lock_side_path(const char *state_dir, const char *env, const char *ext,
		   char **dir, char **path);

/* `text` into a new file in `dir` named after `pattern` (mkstemp's
 * "XXXXXX" at its end), mode 0644: its name (caller frees and renames,
 * links or unlinks it), or NULL with errno. */
char *lock_write_aside(const char *dir, const char *pattern, const char *text);

#endif
