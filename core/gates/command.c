/* command.c — a gate's shell command turned into checks: its exit status,
 * then its own test counts from the JUnit report it writes or the TAP it
 * prints. Also the small helpers the gate modules share. */
#include "gates/gate_internal.h"

#include "util.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *gate_token(const struct cfg_env *env)
{
	const char *t = env->token_env ? getenv(env->token_env) : NULL;
	return t && *t ? t : NULL;
}

const char *gate_fmt_ms(double ms, char *buf, size_t sz)
{
	if (ms < 1000)
		snprintf(buf, sz, "%.0fms", ms);
	else if (ms < 60000)
		snprintf(buf, sz, "%.2fs", ms / 1000);
	else
		snprintf(buf, sz, "%dm%02ds", (int)(ms / 60000),
			 (int)(ms / 1000) % 60);
	return buf;
}

char **gate_send_urls(const struct gate_target *t, size_t *n)
{
	if (t->router_url) {
		char **u = xcalloc(1, sizeof(char *));
		u[0] = xstrdup(t->router_url);
		*n = 1;
		return u;
	}
	char **u = xcalloc(t->n_nodes + 1, sizeof(char *));
	for (size_t i = 0; i < t->n_nodes; i++)
		u[i] = xstrdup(t->nodes[i]->url);
	*n = t->n_nodes;
	return u;
}

void gate_strings_free(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

/* MLCTL_* variables that tell a command what it tests. */
static char **command_env(const struct gate_ctx *c)
{
	size_t n = 0;
	char **v = xcalloc(8, sizeof(char *));
	char *abs = path_real(c->rel->file);
	v[n++] = xasprintf("MLCTL_ENV=%s", c->env->name);
	v[n++] = xasprintf("MLCTL_MODEL=%s", c->rel->model);
	v[n++] = xasprintf("MLCTL_VERSION=%s", c->rel->version);
	v[n++] = xasprintf("MLCTL_RELEASE=%s", abs);
	free(abs);
	if (c->target) {
		size_t nu = 0;
		char **urls = gate_send_urls(c->target, &nu);
		v[n++] = xasprintf("MLCTL_URL=%s", nu ? urls[0] : "");
		gate_strings_free(urls, nu);
		char *list = xstrdup("");
		for (size_t i = 0; i < c->target->n_nodes; i++) {
			char *l = xasprintf("%s%s%s", list, i ? " " : "",
					    c->target->nodes[i]->url);
			free(list);
			list = l;
		}
		v[n++] = xasprintf("MLCTL_NODE_URLS=%s", list);
		free(list);
	}
	v[n] = NULL;
	return v;
}

static void append_output(struct gate_result *r, const char *cmd,
			  const struct gate_cmd_result *cr)
{
	char *o = xasprintf("%s%s$ %s\n%s%s%s", r->output ? r->output : "",
			    r->output ? "\n" : "", cmd,
			    cr->truncated ? "[... earlier output dropped ...]\n" : "",
			    cr->output,
			    cr->output_len && cr->output[cr->output_len - 1] != '\n'
				    ? "\n" : "");
	free(r->output);
	r->output = o;
}

/* Whether the file changed since `before` (it did not exist: st_ino 0). */
static bool file_written(const char *path, const struct stat *before,
			 bool existed)
{
	struct stat now;
	if (stat(path, &now) != 0)
		return false;
	if (!existed)
		return true;
	return now.st_ino != before->st_ino || now.st_size != before->st_size ||
	       now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	       now.st_mtim.tv_nsec != before->st_mtim.tv_nsec;
}

static void add_cases(struct gate_result *r, const char *label,
		      const struct gate_test_counts *tc)
{
	for (size_t i = 0; i < tc->n_cases; i++) {
		const struct gate_test_case *k = &tc->cases[i];
		char *name;
		if (*k->suite && *k->name)
			name = xasprintf("%s%s.%s", label, k->suite, k->name);
		else if (*k->classname)
			name = xasprintf("%s%s.%s", label, k->classname, k->name);
		else
			name = xasprintf("%s%s", label, *k->name ? k->name : "(unnamed)");
		switch (k->status) {
		case GATE_CASE_PASS:
			gate_add_check(r, name, k->time_s * 1000, NULL);
			break;
		case GATE_CASE_SKIP:
			gate_add_skip(r, name, k->message ? k->message : "skipped");
			break;
		case GATE_CASE_FAIL:
		case GATE_CASE_ERROR:
			gate_add_checkf(r, name, k->time_s * 1000, "%s%s",
					k->status == GATE_CASE_ERROR ? "error: " : "",
					k->message ? k->message : "failed");
			break;
		}
		free(name);
	}
}

void gate_run_command(const struct gate_ctx *c, struct gate_result *r,
		      const char *label, const char *cmd, const char *junit,
		      long long timeout_ms, size_t *tests, size_t *failed,
		      size_t *skipped)
{
	char *junit_path = junit ? path_join(c->root ? c->root : ".", junit) : NULL;
	struct stat before;
	memset(&before, 0, sizeof(before));
	bool existed = junit_path && stat(junit_path, &before) == 0;
	char **envv = command_env(c);
	struct gate_cmd_result cr;
	struct ml_err err = ML_ERR_INIT;
	char name[300];
	snprintf(name, sizeof(name), "%srun: %.240s", label, cmd);
	if (gate_cmd_run(cmd, c->root, envv, timeout_ms, &cr, &err) < 0) {
		gate_add_checkf(r, name, 0, "could not run: %s", err.msg);
		goto out;
	}
	append_output(r, cmd, &cr);
	char t[32];
	if (cr.timed_out) {
		gate_fmt_ms((double)timeout_ms, t, sizeof(t));
		gate_add_checkf(r, name, cr.ms, "timed out after %s (its process "
						"group was killed)", t)
			->detail = xstrdup(cr.output);
	} else if (cr.status != 0) {
		struct gate_check *k =
			cr.status < 0
				? gate_add_checkf(r, name, cr.ms, "killed by signal %d",
						  cr.signal)
				: gate_add_checkf(r, name, cr.ms, "exit status %d",
						  cr.status);
		k->detail = xstrdup(cr.output);
	} else {
		gate_add_check(r, name, cr.ms, NULL);
	}

	struct gate_test_counts tc;
	memset(&tc, 0, sizeof(tc));
	bool counted = false;
	if (junit_path) {
		char check[400];
		snprintf(check, sizeof(check), "%sJUnit report %s", label, junit);
		char *xml = NULL;
		size_t len = 0;
		if (!file_written(junit_path, &before, existed)) {
			gate_add_checkf(r, check, 0, "%s was not written by the "
						     "command",
					junit);
		} else if (read_file(junit_path, 64u << 20, &xml, &len) != 0) {
			gate_add_checkf(r, check, 0, "cannot read %s", junit);
		} else if (gate_junit_parse(xml, len, &tc, &err) != 0) {
			gate_add_checkf(r, check, 0, "%s: %s", junit, err.msg);
		} else {
			counted = true;
		}
		free(xml);
	} else if (gate_tap_parse(cr.output, cr.output_len, &tc) == 0) {
		counted = true;
	}
	if (counted) {
		add_cases(r, label, &tc);
		*tests += tc.tests;
		*failed += tc.failures + tc.errors;
		*skipped += tc.skipped;
		/* counts with no case listed (a report of totals only) */
		if (tc.n_cases == 0 && tc.failures + tc.errors > 0)
			gate_add_checkf(r, *label ? label : "tests", 0,
					"%zu of %zu tests failed",
					tc.failures + tc.errors, tc.tests);
	}
	gate_test_counts_release(&tc);
	gate_cmd_result_release(&cr);
out:
	for (size_t i = 0; envv[i]; i++)
		free(envv[i]);
	free(envv);
	free(junit_path);
	ml_err_release(&err);
}
