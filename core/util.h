/* util.h — small helpers used everywhere: allocation that aborts on OOM,
 * formatted strings, whole-file reads, paths. */
#ifndef MLCTL_UTIL_H
#define MLCTL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Read a whole file into a NUL-terminated buffer the caller frees.
 * Fails (returns -1, errno set; EFBIG when over max) for files larger
 * than `max` bytes. */
int read_file(const char *path, size_t max, char **out, size_t *len);

/* Join a directory and a relative path ("a/b" + "c" = "a/b/c"); an
 * absolute `rel` is returned as is. Caller frees. */
char *path_join(const char *dir, const char *rel);
/* Directory part of a path ("a/b/c.yaml" -> "a/b", "c.yaml" -> "."). */
char *path_dirname(const char *path);
/* Canonical absolute path, or a copy of `path` when it cannot be
 * resolved. Caller frees. */
char *path_real(const char *path);
bool path_is_file(const char *path);
bool path_is_dir(const char *path);

bool str_has_suffix(const char *s, const char *suffix);
/* ASCII case-insensitive compare (strcasecmp without locale). */
int strcasecmp_ascii(const char *a, const char *b);
/* Levenshtein distance, for did-you-mean suggestions. */
size_t str_edit_distance(const char *a, const char *b);

/* The user running mlctl as "user@host": the account of the effective
 * uid, else USER, else LOGNAME, else "mlctl"; the host name, else
 * "localhost" (caller frees). Who approved or aborted, in records. */
char *user_at_host(void);
/* The user part of user_at_host (caller frees). */
char *user_name(void);

/* Monotonic clock in nanoseconds and milliseconds. */
unsigned long long now_ns(void);
double now_ms(void);

#endif
