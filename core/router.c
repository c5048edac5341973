/* router.c — the router interface's dispatcher: validates weights, makes
 * run_dir absolute, writes configs atomically, starts and stops the router
 * process through core/proc, and prefixes every driver error with the
 * router and environment. The haproxy and nginx specifics live in
 * router_haproxy.c and router_nginx.c; `none` is handled here. */
#define _DEFAULT_SOURCE
#include "router_driver.h"

#include "exitcode.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct router_driver *driver_of(const struct cfg_env *env)
{
	switch (env->router_driver) {
	case CFG_ROUTER_HAPROXY:
		return &router_haproxy_driver;
	case CFG_ROUTER_NGINX:
		return &router_nginx_driver;
	case CFG_ROUTER_NONE:
		break;
	}
	return NULL;
}

const char *router_name(const struct cfg_env *env)
{
	return cfg_router_driver_name(env->router_driver);
}

/* "router haproxy of prod: <reason>" (err->code = operational). */
static int fail(const struct cfg_env *env, struct ml_err *err)
{
	if (!err)
		return -1;
	char why[sizeof(err->msg)];
	snprintf(why, sizeof(why), "%s", err->msg);
	return ml_err_set(err, ML_EXIT_OPERATIONAL, "router %s of %s: %s",
			  router_name(env), env->name, why);
}

static int failf(const struct cfg_env *env, struct ml_err *err,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(const struct cfg_env *env, struct ml_err *err,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ml_err_setv(err, ML_EXIT_OPERATIONAL, fmt, ap);
	va_end(ap);
	return fail(env, err);
}

/* ------------------------------------------------------------- helpers */

char *router_hostport(const char *host, int port)
{
	if (strchr(host, ':'))
		return xasprintf("[%s]:%d", host, port);
	return xasprintf("%s:%d", host, port);
}

bool router_path_ok(const char *path)
{
	return strpbrk(path, "\"\\$\n\r;{}'") == NULL;
}

char *router_find_program(const char *name, const char *envvar)
{
	const char *v = envvar ? getenv(envvar) : NULL;
	if (v && *v)
		return xstrdup(v);
	const char *path = getenv("PATH");
	char *dirs = xasprintf("%s:/usr/sbin:/usr/local/sbin:/sbin",
			       path && *path ? path : "/usr/bin:/bin");
	char *found = NULL, *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = path_join(*d ? d : ".", name);
		if (access(p, X_OK) == 0 && path_is_file(p))
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
}

int router_write_file(const char *path, const char *text, struct ml_err *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	bool ok = f != NULL;
	if (f) {
		ok = fputs(text, f) >= 0;
		ok = fflush(f) == 0 && ok;
		ok = fsync(fileno(f)) == 0 && ok;
		ok = fclose(f) == 0 && ok;
	}
	int rc = 0;
	if (!ok || rename(tmp, path) != 0) {
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot write %s: %s",
				path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* run_dir made absolute (caller frees), NULL with err when unusable. */
static char *abs_dir(const char *run_dir, struct ml_err *err)
{
	char *abs;
	if (run_dir[0] == '/') {
		abs = xstrdup(run_dir);
	} else {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd))) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "cannot resolve %s: %s", run_dir,
				   strerror(errno));
			return NULL;
		}
		abs = path_join(cwd, run_dir);
	}
	size_t n = strlen(abs);
	while (n > 1 && abs[n - 1] == '/')
		abs[--n] = '\0';
	if (!router_path_ok(abs)) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "run directory %s has a character a router config "
			   "cannot hold (one of \" \\ $ ; { } ' or a newline)",
			   abs);
		free(abs);
		return NULL;
	}
	return abs;
}

int router_weights_check(const struct cfg_env *env, const char *what,
			 const int *w, struct ml_err *err)
{
	if (!w)
		return 0;
	bool any = false;
	for (size_t i = 0; i < env->n_nodes; i++) {
		if (w[i] < 0 || w[i] > ROUTER_MAX_WEIGHT)
			return ml_err_set(err, ML_EXIT_OPERATIONAL,
					  "%s weight of %s is %d: expected "
					  "0..%d",
					  what, env->nodes[i].name, w[i],
					  ROUTER_MAX_WEIGHT);
		any |= w[i] > 0;
	}
	if (!any && env->n_nodes)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "every %s weight is 0: at least one node "
				  "must keep traffic",
				  what);
	return 0;
}

/* A validated copy of w, or all 1s for NULL. Caller frees. */
static int *weights_or_ones(const struct cfg_env *env, const int *w)
{
	int *out = xcalloc(env->n_nodes ? env->n_nodes : 1, sizeof(int));
	for (size_t i = 0; i < env->n_nodes; i++)
		out[i] = w ? w[i] : 1;
	return out;
}

char *router_config_path(const struct cfg_env *env, const char *run_dir)
{
	const struct router_driver *d = driver_of(env);
	return d ? path_join(run_dir, d->config_name) : NULL;
}

/* ---------------------------------------------------------------- render */

int router_render(const struct cfg_env *env, const char *run_dir,
		  const int *live, const int *preview, char **out,
		  struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	*out = NULL;
	if (!d) {
		*out = xstrdup("");
		return 0;
	}
	if (router_weights_check(env, "live", live, err) < 0 ||
	    router_weights_check(env, "preview", preview, err) < 0)
		return fail(env, err);
	if (!env->listen.set)
		return failf(env, err, "no router.listen address");
	char *dir = abs_dir(run_dir, err);
	if (!dir)
		return fail(env, err);
	int *l = weights_or_ones(env, live), *p = weights_or_ones(env, preview);
	int rc = d->render(env, dir, l, p, out, err);
	free(l);
	free(p);
	free(dir);
	return rc < 0 ? fail(env, err) : 0;
}

/* Render, check with the router itself, rename into place. */
static int write_config(const struct router_driver *d,
			const struct cfg_env *env, const char *dir,
			const int *live, const int *preview, bool check,
			struct ml_err *err)
{
	char *text = NULL, *path = path_join(dir, d->config_name);
	char *tmp = xasprintf("%s.new", path);
	int rc = -1;
	if (proc_mkdir_p(dir, err) < 0)
		goto out;
	if (d->render(env, dir, live, preview, &text, err) < 0)
		goto out;
	if (router_write_file(tmp, text, err) < 0)
		goto out;
	if (check && d->check(env, dir, tmp, err) < 0) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL, "cannot rename %s: %s",
			   tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(tmp);
	free(path);
	return rc;
}

int router_config_write(const struct cfg_env *env, const char *run_dir,
			const int *live, const int *preview,
			struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	if (!d)
		return 0;
	if (router_weights_check(env, "live", live, err) < 0 ||
	    router_weights_check(env, "preview", preview, err) < 0)
		return fail(env, err);
	if (!env->listen.set)
		return failf(env, err, "no router.listen address");
	char *dir = abs_dir(run_dir, err);
	if (!dir)
		return fail(env, err);
	int *l = weights_or_ones(env, live), *p = weights_or_ones(env, preview);
	int rc = write_config(d, env, dir, l, p, true, err);
	free(l);
	free(p);
	free(dir);
	return rc < 0 ? fail(env, err) : 0;
}

int router_persist(const struct cfg_env *env, const char *run_dir,
		   const int *live, const int *preview, struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	return d ? write_config(d, env, run_dir, live, preview, false, err) : 0;
}

/* ------------------------------------------------------------ lifecycle */

pid_t router_running(const struct cfg_env *env, const char *run_dir)
{
	const struct router_driver *d = driver_of(env);
	if (!d)
		return 0;
	struct ml_err e = ML_ERR_INIT;
	char *dir = abs_dir(run_dir, &e);
	if (!dir)
		return 0;
	char *expect = d->expect(dir);
	pid_t pid = proc_running(dir, "router", expect);
	free(expect);
	free(dir);
	return pid;
}

static void free_argv(char **argv)
{
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
}

/* The tail of a log file (last ~400 bytes, one line), for errors. */
static void log_tail(const char *path, char *buf, size_t sz)
{
	char *text = NULL;
	size_t len = 0;
	buf[0] = '\0';
	if (read_file(path, 1 << 24, &text, &len) != 0)
		return;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	const char *start = len > 400 ? text + len - 400 : text;
	const char *nl = strrchr(start, '\n');
	/* the last two lines read best: haproxy's "[ALERT]" spans a few */
	if (nl && nl > start) {
		const char *prev = nl - 1;
		while (prev > start && *prev != '\n')
			prev--;
		start = *prev == '\n' ? prev + 1 : prev;
	}
	snprintf(buf, sz, "%s", start);
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	free(text);
}

int router_start(const struct cfg_env *env, const char *run_dir,
		 const int *live, const int *preview, pid_t *pid_out,
		 struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	char *dir = NULL, *expect = NULL, *program = NULL, *logp = NULL;
	char **argv = NULL;
	int *l = NULL, *p = NULL;
	int rc = -1;
	pid_t pid = 0;
	if (pid_out)
		*pid_out = 0;
	if (!d)
		return 1;
	if (router_weights_check(env, "live", live, err) < 0 ||
	    router_weights_check(env, "preview", preview, err) < 0)
		return fail(env, err);
	if (!env->listen.set)
		return failf(env, err, "no router.listen address");
	if (!(dir = abs_dir(run_dir, err)))
		return fail(env, err);
	expect = d->expect(dir);
	if ((pid = proc_running(dir, "router", expect)) > 0) {
		rc = 1;
		goto out;
	}
	pid = 0;
	program = router_find_program(d->name, !strcmp(d->name, "haproxy")
							? "MLCTL_HAPROXY"
							: "MLCTL_NGINX");
	if (!program) {
		failf(env, err, "%s not found (install the Debian package %s, "
				"or set %s)",
		      d->name, d->name,
		      !strcmp(d->name, "haproxy") ? "MLCTL_HAPROXY"
						  : "MLCTL_NGINX");
		goto out;
	}
	/* another process on our ports would answer for us */
	const struct cfg_addr *addrs[2] = { &env->listen, &env->preview };
	for (int i = 0; i < 2; i++)
		if (addrs[i]->set &&
		    proc_port_open(addrs[i]->host, addrs[i]->port)) {
			failf(env, err,
			      "%s:%d is already in use by another process",
			      addrs[i]->host, addrs[i]->port);
			goto out;
		}
	l = weights_or_ones(env, live);
	p = weights_or_ones(env, preview);
	if (write_config(d, env, dir, l, p, true, err) < 0) {
		fail(env, err);
		goto out;
	}
	argv = d->argv(dir, program);
	logp = path_join(dir, "router.log");
	struct proc_spec spec = PROC_SPEC_INIT;
	spec.dir = dir;
	spec.name = "router";
	spec.argv = argv;
	spec.log = logp;
	spec.cwd = dir;
	if (proc_spawn(&spec, &pid, err) < 0) {
		fail(env, err);
		goto out;
	}
	double deadline = now_ms() + ROUTER_START_TIMEOUT_MS;
	for (int i = 0; i < 2; i++) {
		if (!addrs[i]->set)
			continue;
		long left = (long)(deadline - now_ms());
		if (proc_wait_port(addrs[i]->host, addrs[i]->port, pid,
				   left > 0 ? left : 1, err) < 0)
			goto started_badly;
	}
	if (d->started && d->started(env, dir, pid, err) < 0)
		goto started_badly;
	if (pid_out)
		*pid_out = pid;
	rc = 0;
	goto out;
started_badly: {
	char tail[420], why[sizeof(err->msg)];
	log_tail(logp, tail, sizeof(tail));
	snprintf(why, sizeof(why), "%s", err ? err->msg : "");
	struct ml_err ignore = ML_ERR_INIT;
	proc_terminate(dir, "router", expect, 2000, NULL, &ignore);
	failf(env, err, "did not start: %s%s%s (see %s)", why,
	      *tail ? ": " : "", tail, logp);
	pid = 0;
}
out:
	if (rc == 1 && pid_out)
		*pid_out = pid;
	free_argv(argv);
	free(program);
	free(logp);
	free(expect);
	free(dir);
	free(l);
	free(p);
	return rc;
}

int router_stop(const struct cfg_env *env, const char *run_dir,
		struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	if (!d)
		return 1;
	char *dir = abs_dir(run_dir, err);
	if (!dir)
		return fail(env, err);
	char *expect = d->expect(dir);
	int rc = proc_terminate(dir, "router", expect, ROUTER_STOP_TIMEOUT_MS,
				NULL, err);
	if (rc >= 0 && d->stopped)
		d->stopped(dir);
	free(expect);
	free(dir);
	return rc < 0 ? fail(env, err) : rc;
}

/* -------------------------------------------------------------- weights */

static int set_one(const struct cfg_env *env, const char *run_dir,
		   bool preview, const int *w, struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	if (!d)
		return 0;
	const char *what = preview ? "preview" : "live";
	if (router_weights_check(env, what, w, err) < 0)
		return fail(env, err);
	char *dir = abs_dir(run_dir, err);
	if (!dir)
		return fail(env, err);
	char *expect = d->expect(dir);
	pid_t pid = proc_running(dir, "router", expect);
	free(expect);
	int rc;
	if (!pid) {
		rc = failf(env, err, "not running (no live process for %s/router.pid); "
				     "start it with 'mlctl up %s'",
			   dir, env->name);
	} else {
		int *ww = weights_or_ones(env, w);
		rc = d->apply(env, dir, pid, preview, ww, err);
		free(ww);
		if (rc < 0)
			fail(env, err);
	}
	free(dir);
	return rc;
}

int router_set_weights(const struct cfg_env *env, const char *run_dir,
		       const int *live, struct ml_err *err)
{
	return set_one(env, run_dir, false, live, err);
}

int router_set_preview(const struct cfg_env *env, const char *run_dir,
		       const int *preview, struct ml_err *err)
{
	return set_one(env, run_dir, true, preview, err);
}

int router_get_weights(const struct cfg_env *env, const char *run_dir,
		       int *live, int *preview, struct ml_err *err)
{
	const struct router_driver *d = driver_of(env);
	if (!d) {
		for (size_t i = 0; i < env->n_nodes; i++) {
			if (live)
				live[i] = 1;
			if (preview)
				preview[i] = 1;
		}
		return 0;
	}
	char *dir = abs_dir(run_dir, err);
	if (!dir)
		return fail(env, err);
	char *expect = d->expect(dir);
	pid_t pid = proc_running(dir, "router", expect);
	free(expect);
	int *l = xcalloc(env->n_nodes + 1, sizeof(int));
	int *p = xcalloc(env->n_nodes + 1, sizeof(int));
	int rc = d->get(env, dir, pid, l, p, err);
	if (rc == 0) {
		for (size_t i = 0; i < env->n_nodes; i++) {
			if (live)
				live[i] = l[i];
			if (preview)
				preview[i] = p[i];
		}
	}
	free(l);
	free(p);
	free(dir);
	return rc < 0 ? fail(env, err) : rc;
}

/* ---------------------------------------------------------------- parse */

static size_t tokenize(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " \t;", &save); t && n < max;
	     t = strtok_r(NULL, " \t;", &save)) {
		if (*t == '#')
			break;
		tok[n++] = t;
	}
	return n;
}

int router_parse_section(const struct cfg_env *env, const char *path,
			 const char *section_kw, const char *section,
			 bool name_first, int *w)
{
	char *text = NULL;
	size_t len;
	if (read_file(path, 16u << 20, &text, &len) != 0)
		return 1;
	bool *seen = xcalloc(env->n_nodes + 1, sizeof(bool));
	char **addrs = xcalloc(env->n_nodes + 1, sizeof(char *));
	for (size_t i = 0; i < env->n_nodes; i++)
		addrs[i] = router_hostport(env->nodes[i].host,
					   env->nodes[i].port);
	bool in = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		bool indented = *line == ' ' || *line == '\t';
		char *tok[16];
		size_t n = tokenize(line, tok, 16);
		if (n == 0)
			continue;
		if (!in) {
			in = n >= 2 && !strcmp(tok[0], section_kw) &&
			     !strcmp(tok[1], section);
			continue;
		}
		if (!strcmp(tok[0], "}") || !indented)
			break;
		if (strcmp(tok[0], "server") != 0)
			continue;
		size_t a = name_first ? 2 : 1;
		if (n <= a)
			continue;
		int weight = 1;
		for (size_t k = a + 1; k < n; k++) {
			if (!strcmp(tok[k], "down") || !strcmp(tok[k], "disabled"))
				weight = 0;
			else if (!strncmp(tok[k], "weight=", 7))
				weight = atoi(tok[k] + 7);
			else if (!strcmp(tok[k], "weight") && k + 1 < n)
				weight = atoi(tok[++k]);
		}
		for (size_t i = 0; i < env->n_nodes; i++)
			if (!seen[i] && !strcmp(addrs[i], tok[a])) {
				seen[i] = true;
				w[i] = weight;
				break;
			}
	}
	int rc = 0;
	for (size_t i = 0; i < env->n_nodes; i++)
		if (!seen[i])
			rc = 1;
	for (size_t i = 0; i < env->n_nodes; i++)
		free(addrs[i]);
	free(addrs);
	free(seen);
	free(text);
	return rc;
}
