/* gate_internal.h — what the gate modules share and nothing else needs:
 * the bearer token, durations for messages, and running a gate's shell
 * command (unit, integration.run) into checks. */
#ifndef MLCTL_GATES_GATE_INTERNAL_H
#define MLCTL_GATES_GATE_INTERNAL_H

#include "gates/gate.h"

#include <stddef.h>

/* The environment's bearer token (getenv(auth.token_env)), or NULL. */
const char *gate_token(const struct cfg_env *env);

/* "850ms", "1.25s", "2m03s" into buf. */
const char *gate_fmt_ms(double ms, char *buf, size_t sz);

/* The base URLs the gates send requests to: the router when the target
 * has one, else every target node; n in *n. Caller frees with
 * gate_strings_free. */
char **gate_send_urls(const struct gate_target *t, size_t *n);
void gate_strings_free(char **s, size_t n);

/* Run a checks.<gate>.run command: one check "<label>run: <cmd>" for its
 * exit status (failure
 * detail: its output), then, with `junit` (may be NULL), one check per test
 * case of the JUnit report it writes, else per TAP line of its output,
 * named "<label><suite>.<test>". `label` is "" or e.g. "environment: ".
 * Counts go to *tests / *failed / *skipped (added to). The command's
 * output is appended to r->output under a "$ command" line. */
void gate_run_command(const struct gate_ctx *c, struct gate_result *r,
		      const char *label, const char *cmd, const char *junit,
		      long long timeout_ms, size_t *tests, size_t *failed,
		      size_t *skipped);

#endif
