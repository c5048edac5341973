/* tproject.h — a temporary mlctl project for integration tests (see
 * tproject.c): tp_setup() makes it (the ETA releases copied from the
 * repository; run from the repo root) and sets MLCTL_MLSERVE from
 * MLSERVE_BIN; tp_teardown() runs `mlctl down` and removes it. */
#ifndef TESTS_TPROJECT_H
#define TESTS_TPROJECT_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

extern char tp_dir[256];   /* the project root */
extern char tp_state[300]; /* its state dir */

#define REL(v) "examples/eta/release-" v ".yaml"

void tp_setup(void);
void tp_teardown(void);
/* A free TCP port on 127.0.0.1 (bound, then released). */
int tp_free_port(void);
/* Run `mlctl -C DIR --state S --no-color ARGS`; *out and *err (may be
 * NULL) get its stdout and stderr (caller frees). Returns the exit
 * status, -1 when it ran over timeout_s. */
int tp_mlctl(char **out, char **err, int timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* tp_mlctl that must exit 0 (asserted, with the output). */
void tp_ok(const char *args);
/* `mlctl ARGS` (as tp_mlctl runs it) in the background, bounded by
 * timeout_s; its stdout and stderr go to <project>/<tag>.out and .err.
 * Returns the child's pid, for tp_bg_end. */
pid_t tp_bg_start(const char *tag, int timeout_s, const char *args);
/* Wait up to timeout_s until <tag>.err holds `text` (asserted). */
void tp_bg_wait_for(const char *tag, const char *text, int timeout_s);
/* Wait for the background mlctl: its exit status (-1 when killed), and
 * its stdout and stderr into *out and *err (may be NULL; caller frees). */
int tp_bg_end(pid_t pid, const char *tag, char **out, char **err);
/* Write a file under the project (path relative to it; directories made). */
void tp_write_file(const char *rel, const char *text);
/* envs/NAME.yaml with n nodes on free ports, a router (none, nginx,
 * haproxy: listen + preview on free ports) and a strategy block. */
void tp_write_env(const char *name, size_t nodes, const char *router,
		  const char *strategy);
/* The router's listen address of env ("127.0.0.1:PORT", caller frees). */
char *tp_listen_of(const char *env);
/* `mlctl status --env E --output json` (caller decrefs). */
json_t *tp_status_json(const char *env);
/* Every node of env serves `version` (asked of the nodes). */
void tp_assert_serving(const char *env, const char *version);
/* The live router weight of each of env's n nodes. */
void tp_live_weights(const char *env, int *w, size_t n);
/* `mlctl history --env E --output json`'s entries (caller decrefs). */
json_t *tp_history(const char *env);
/* A string field of entry i ("" when absent). */
const char *tp_entry(json_t *entries, size_t i, const char *key);
/* wrk -t1 -c8 POSTing an ETA infer through listen for `seconds`. */
pid_t tp_wrk_start(const char *listen, int seconds, const char *outfile);
void tp_wrk_result(pid_t pid, const char *outfile, long *requests,
		   long *errors);
/* `mlctl load` at `rate` through listen for `seconds` (JSON to outfile). */
pid_t tp_load_start(const char *listen, int seconds, int rate,
		    const char *outfile);
void tp_load_result(pid_t pid, const char *outfile, long *requests,
		    long *errors);

#endif
