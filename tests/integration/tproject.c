/* tproject.c — a temporary mlctl project for integration tests: the ETA
 * releases copied in, environments written with free loopback ports, the
 * real mlctl run as a subprocess (stdout/stderr captured, bounded by a
 * timeout; also in the background, for what runs beside it), JSON views of status and history, and bounded background
 * traffic (wrk, which never retries; `mlctl load`, which retries once on
 * a dead reused connection). Everything started is stopped by
 * tp_teardown (mlctl down) and the directory removed. */
#define _DEFAULT_SOURCE
#include "tproject.h"
#include "rtest.h"
#include "util.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

char tp_dir[256];
char tp_state[300];

int tp_free_port(void)
{
	return rtt_free_port();
}

int tp_mlctl(char **out, char **err, int timeout_s, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	const char *bin = getenv("MLCTL_BIN");
	cr_assert_not_null(bin, "MLCTL_BIN is not set");
	char o[400], e[400], cmd[4096];
	snprintf(o, sizeof(o), "%s/out.txt", tp_dir);
	snprintf(e, sizeof(e), "%s/err.txt", tp_dir);
	snprintf(cmd, sizeof(cmd),
		 "timeout -s KILL %d %s -C %s --state %s --no-color %s >%s 2>%s",
		 timeout_s, bin, tp_dir, tp_state, args, o, e);
	int st = system(cmd);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (rc == 137)
		rc = -1;
	char *ob = NULL, *eb = NULL;
	if (read_file(o, 1 << 24, &ob, NULL))
		ob = xstrdup("");
	if (read_file(e, 1 << 24, &eb, NULL))
		eb = xstrdup("");
	if (out)
		*out = ob;
	else
		free(ob);
	if (err)
		*err = eb;
	else
		free(eb);
	return rc;
}

pid_t tp_bg_start(const char *tag, int timeout_s, const char *args)
{
	const char *bin = getenv("MLCTL_BIN");
	cr_assert_not_null(bin, "MLCTL_BIN is not set");
	char *cmd = xasprintf("timeout -s KILL %d %s -C %s --state %s --no-color "
			      "%s >%s/%s.out 2>%s/%s.err",
			      timeout_s, bin, tp_dir, tp_state, args, tp_dir, tag,
			      tp_dir, tag);
	pid_t child = fork();
	cr_assert_geq(child, 0, "fork");
	if (child == 0) {
		int st = system(cmd);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
	}
	free(cmd);
	return child;
}

static char *bg_file(const char *tag, const char *ext)
{
	char *name = xasprintf("%s.%s", tag, ext);
	char *path = path_join(tp_dir, name);
	free(name);
	char *text = NULL;
	if (read_file(path, 1 << 24, &text, NULL))
		text = xstrdup("");
	free(path);
	return text;
}

void tp_bg_wait_for(const char *tag, const char *text, int timeout_s)
{
	char *err = NULL;
	for (int i = 0; i < timeout_s * 10; i++) {
		free(err);
		err = bg_file(tag, "err");
		if (strstr(err, text))
			break;
		usleep(100000);
	}
	cr_assert(strstr(err, text), "'%s' not in %s.err: %s", text, tag, err);
	free(err);
}

int tp_bg_end(pid_t pid, const char *tag, char **out, char **err)
{
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (rc == 137 || rc == 99)
		rc = -1;
	if (out)
		*out = bg_file(tag, "out");
	if (err)
		*err = bg_file(tag, "err");
	return rc;
}

void tp_write_file(const char *rel, const char *text)
{
	char *p = path_join(tp_dir, rel);
	char *dir = path_dirname(p);
	char *cmd = xasprintf("mkdir -p %s", dir);
	cr_assert_eq(system(cmd), 0);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
	free(cmd);
	free(dir);
	free(p);
}

void tp_write_env(const char *name, size_t nodes, const char *router,
		      const char *strategy)
{
	char buf[4096];
	int len = snprintf(buf, sizeof(buf),
			   "apiVersion: mlctl/v1\nkind: Environment\nname: %s\n"
			   "tier: staging\nmanaged: true\nnode_driver: v2\nnodes:\n",
			   name);
	for (size_t i = 0; i < nodes; i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"  - { name: %s-%zu, url: \"http://127.0.0.1:%d\" }\n",
				name, i + 1, tp_free_port());
	if (strcmp(router, "none") == 0)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"router: { driver: none }\n");
	else
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				"router: { driver: %s, listen: \"127.0.0.1:%d\", "
				"preview: \"127.0.0.1:%d\" }\n",
				router, tp_free_port(), tp_free_port());
	snprintf(buf + len, sizeof(buf) - (size_t)len, "strategy: %s\n", strategy);
	char rel[64];
	snprintf(rel, sizeof(rel), "envs/%s.yaml", name);
	tp_write_file(rel, buf);
}

void tp_setup(void)
{
	snprintf(tp_dir, sizeof(tp_dir), "/tmp/mlctl-itest-XXXXXX");
	cr_assert_not_null(mkdtemp(tp_dir));
	snprintf(tp_state, sizeof(tp_state), "%s/.mlctl", tp_dir);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/envs %s/examples/eta && cp -r examples/eta/models "
		 "examples/eta/release-1.0.0.yaml examples/eta/release-2.0.0.yaml "
		 "examples/eta/release-2.1.0.yaml examples/eta/cases.csv %s/examples/eta/",
		 tp_dir, tp_dir, tp_dir);
	cr_assert_eq(system(cmd), 0);
	setenv("NO_COLOR", "1", 1);
	unsetenv("MLCTL_PROD_TOKEN");
	if (getenv("MLSERVE_BIN"))
		setenv("MLCTL_MLSERVE", getenv("MLSERVE_BIN"), 1);
}

void tp_teardown(void)
{
	tp_mlctl(NULL, NULL, 60, "down");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tp_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tp_dir);
}

json_t *tp_status_json(const char *env)
{
	char *out = NULL;
	tp_mlctl(&out, NULL, 30, "status --env %s --output json", env);
	json_t *root = json_loads(out, 0, NULL);
	cr_assert_not_null(root, "status JSON: %s", out);
	free(out);
	return root;
}

void tp_assert_serving(const char *env, const char *version)
{
	json_t *root = tp_status_json(env);
	json_t *nodes = json_object_get(json_array_get(json_object_get(root, "environments"), 0),
					"nodes");
	cr_assert_gt(json_array_size(nodes), 0);
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		const char *s = json_string_value(json_object_get(n, "serving"));
		cr_assert(s && strcmp(s, version) == 0, "node %s serves %s, expected %s",
			  json_string_value(json_object_get(n, "name")), s ? s : "nothing",
			  version);
	}
	json_decref(root);
}

void tp_live_weights(const char *env, int *w, size_t n)
{
	json_t *root = tp_status_json(env);
	json_t *nodes = json_object_get(json_array_get(json_object_get(root, "environments"), 0),
					"nodes");
	cr_assert_eq(json_array_size(nodes), n);
	for (size_t i = 0; i < n; i++)
		w[i] = (int)json_integer_value(json_object_get(json_array_get(nodes, i), "weight"));
	json_decref(root);
}

json_t *tp_history(const char *env)
{
	char *out = NULL;
	cr_assert_eq(tp_mlctl(&out, NULL, 30, "history --env %s --output json", env), 0);
	json_t *root = json_loads(out, 0, NULL);
	cr_assert_not_null(root, "history JSON: %s", out);
	free(out);
	json_t *e = json_incref(json_object_get(root, "entries"));
	json_decref(root);
	return e;
}

const char *tp_entry(json_t *entries, size_t i, const char *key)
{
	const char *v = json_string_value(json_object_get(json_array_get(entries, i), key));
	return v ? v : "";
}

pid_t tp_wrk_start(const char *listen, int seconds, const char *outfile)
{
	char lua[400];
	snprintf(lua, sizeof(lua), "%s/post.lua", tp_dir);
	FILE *f = fopen(lua, "w");
	fputs("wrk.method = \"POST\"\n"
	      "wrk.body = '{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":"
	      "\"FP64\",\"data\":[50]},{\"name\":\"d\",\"shape\":[1],\"datatype\":"
	      "\"FP64\",\"data\":[10]}]}'\n"
	      "wrk.headers[\"Content-Type\"] = \"application/json\"\n",
	      f);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		char d[16], url[128];
		snprintf(d, sizeof(d), "%ds", seconds);
		snprintf(url, sizeof(url), "http://%s/v2/models/eta/infer", listen);
		execlp("wrk", "wrk", "-t1", "-c8", "-d", d, "-s", lua, url, (char *)NULL);
		_exit(127);
	}
	return pid;
}

void tp_wrk_result(pid_t pid, const char *outfile, long *requests,
		       long *errors)
{
	int st;
	waitpid(pid, &st, 0);
	char *txt = NULL;
	cr_assert_eq(read_file(outfile, 1 << 20, &txt, NULL), 0);
	*requests = 0;
	*errors = 0;
	char *p = strstr(txt, " requests in ");
	if (p) {
		while (p > txt && p[-1] != '\n' && p[-1] != ' ')
			p--;
		*requests = strtol(p, NULL, 10);
	}
	if ((p = strstr(txt, "Non-2xx or 3xx responses:")))
		*errors += strtol(p + 25, NULL, 10);
	if ((p = strstr(txt, "Socket errors:"))) {
		long c = 0, r = 0, w = 0, t = 0;
		sscanf(p, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
		       &c, &r, &w, &t);
		*errors += c + r + w + t;
	}
	cr_log_info("wrk: %ld requests, %ld failed\n%s", *requests, *errors, txt);
	free(txt);
}

char *tp_listen_of(const char *env)
{
	char *p = NULL, *path = xasprintf("%s/envs/%s.yaml", tp_dir, env);
	cr_assert_eq(read_file(path, 1 << 16, &p, NULL), 0);
	char *l = strstr(p, "listen: \"");
	cr_assert_not_null(l);
	l += 9;
	char *end = strchr(l, '"');
	char *r = xstrndup(l, (size_t)(end - l));
	free(p);
	free(path);
	return r;
}

pid_t tp_load_start(const char *listen, int seconds, int rate,
			const char *outfile)
{
	char body[400];
	snprintf(body, sizeof(body), "%s/body.json", tp_dir);
	FILE *f = fopen(body, "w");
	fputs("{\"inputs\":[{\"name\":\"v\",\"shape\":[1],\"datatype\":\"FP64\","
	      "\"data\":[50]},{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP64\","
	      "\"data\":[10]}]}",
	      f);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		char url[128], d[16], r[16];
		snprintf(url, sizeof(url), "http://%s/v2/models/eta/infer", listen);
		snprintf(d, sizeof(d), "%ds", seconds);
		snprintf(r, sizeof(r), "%d", rate);
		execl(getenv("MLCTL_BIN"), "mlctl", "load", url, "--rate", r,
		      "--duration", d, "--method", "POST", "--body", body, "--header",
		      "Content-Type: application/json", "--output", "json",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

void tp_load_result(pid_t pid, const char *outfile, long *requests,
			long *errors)
{
	int st;
	waitpid(pid, &st, 0);
	char *txt = NULL;
	cr_assert_eq(read_file(outfile, 1 << 22, &txt, NULL), 0);
	json_t *root = json_loads(txt, 0, NULL);
	cr_assert_not_null(root, "mlctl load JSON: %s", txt);
	*requests = (long)json_integer_value(json_object_get(root, "requests"));
	*errors = (long)json_integer_value(
		json_object_get(json_object_get(root, "errors"), "total"));
	cr_log_info("mlctl load: %ld requests, %ld failed, %lld reconnects",
		    *requests, *errors,
		    (long long)json_integer_value(json_object_get(root, "reconnects")));
	json_decref(root);
	free(txt);
}

void tp_ok(const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = tp_mlctl(&out, &err, 120, "%s", args);
	cr_assert_eq(rc, 0, "mlctl %s -> %d\n%s%s", args, rc, out, err);
	free(out);
	free(err);
}
