/* router_haproxy.c — the haproxy router driver: renders haproxy.cfg (live
 * and preview frontends and backends, health checks, retries), speaks the
 * runtime API over the admin unix socket (our own small client), and moves
 * weights without a reload: weights that rise go first, then the ones that
 * fall to 0 (drained), so a backend never has every server at 0; the
 * result is read back with `show servers state` and persisted in the file.
 * Process handling and error prefixes are router.c's. */
#define _DEFAULT_SOURCE
#include "router_driver.h"
#include "sbuf.h"

#include "exitcode.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HAP_SOCK "haproxy.sock"
#define HAP_CMD_TIMEOUT_MS 5000
#define HAP_CHECK_TIMEOUT_MS 15000L

/* haproxy's SRV_ADMF_* bits (include/haproxy/server-t.h) */
#define ADMF_FMAINT 0x01
#define ADMF_IMAINT 0x02
#define ADMF_CMAINT 0x04
#define ADMF_FDRAIN 0x08
#define ADMF_IDRAIN 0x10
#define ADMF_RMAINT 0x20
#define ADMF_HMAINT 0x40
#define ADMF_MAINT                                                             \
	(ADMF_FMAINT | ADMF_IMAINT | ADMF_CMAINT | ADMF_RMAINT | ADMF_HMAINT)
#define ADMF_DRAIN (ADMF_FDRAIN | ADMF_IDRAIN)

static char *sock_path(const char *dir)
{
	return path_join(dir, HAP_SOCK);
}

/* ------------------------------------------------------------- render */


static void render_backend(struct sbuf *b, const struct cfg_env *env,
			   const char *name, const int *w)
{
	sbuf_printf(b,
		  "\nbackend %s\n"
		  "\tbalance roundrobin\n"
		  "\toption httpchk GET /v2/health/ready\n"
		  "\thttp-check expect status 200\n",
		  name);
	for (size_t i = 0; i < env->n_nodes; i++) {
		const struct cfg_node *n = &env->nodes[i];
		char *hp = router_hostport(n->host, n->port);
		sbuf_printf(b, "\tserver %s %s weight %d check%s\n", n->name, hp,
			  w[i],
			  n->tls ? " ssl verify required ca-file @system-ca"
				 : "");
		free(hp);
	}
}

static int hap_render(const struct cfg_env *env, const char *dir,
		      const int *live, const int *preview, char **out,
		      struct ml_err *err)
{
	char *sock = sock_path(dir);
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "admin socket path %s is longer than a unix socket "
			   "allows (%zu bytes); use a shorter --state "
			   "directory",
			   sock, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		free(sock);
		return -1;
	}
	struct sbuf b = SBUF_INIT;
	sbuf_printf(&b,
		  "# haproxy.cfg of environment %s, written by mlctl: do not "
		  "edit by hand.\n"
		  "# Rollouts move weights through the admin socket (no "
		  "reload) and save\n"
		  "# them here so the next `mlctl up` restores them.\n"
		  "global\n"
		  "\tstats socket \"%s\" mode 600 level admin\n"
		  "\tstats timeout 30s\n"
		  "\tmaxconn 4096\n"
		  "\thard-stop-after 15s\n"
		  "\n"
		  "defaults\n"
		  "\tmode http\n"
		  "\toption http-keep-alive\n"
		  "\thttp-reuse safe\n"
		  "\ttimeout connect 2s\n"
		  "\ttimeout client 60s\n"
		  "\ttimeout server 60s\n"
		  "\ttimeout http-request 10s\n"
		  "\ttimeout http-keep-alive 60s\n"
		  "\ttimeout queue 10s\n"
		  "\ttimeout check 2s\n"
		  "\tretries 3\n"
		  "\toption redispatch 1\n"
		  "\tretry-on conn-failure empty-response response-timeout 503\n"
		  "\tdefault-server inter 1s fastinter 250ms downinter 1s "
		  "rise 2 fall 2\n",
		  env->name, sock);
	free(sock);
	const struct cfg_addr *fe[2] = { &env->listen, &env->preview };
	const char *names[2] = { "live", "preview" };
	for (int i = 0; i < 2; i++) {
		if (!fe[i]->set)
			continue;
		char *hp = router_hostport(fe[i]->host, fe[i]->port);
		sbuf_printf(&b,
			  "\nfrontend %s\n"
			  "\tbind %s\n"
			  "\tdefault_backend %s\n",
			  names[i], hp, names[i]);
		free(hp);
	}
	render_backend(&b, env, "live", live);
	render_backend(&b, env, "preview", preview);
	*out = b.s;
	return 0;
}

static int hap_check(const struct cfg_env *env, const char *dir,
		     const char *path, struct ml_err *err)
{
	(void)env;
	(void)dir;
	char *program = router_find_program("haproxy", "MLCTL_HAPROXY");
	if (!program)
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "haproxy not found (install the Debian "
				  "package haproxy, or set MLCTL_HAPROXY)");
	char *argv[] = { program, "-c", "-q", "-f", (char *)path, NULL };
	char *output = NULL;
	int status = -1;
	int rc = proc_run(argv, HAP_CHECK_TIMEOUT_MS, &output, &status, err);
	if (rc == 0 && status != 0) {
		for (char *c = output; c && *c; c++)
			if (*c == '\n')
				*c = ' ';
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL,
				"haproxy -c rejected %s: %s", path,
				output && *output ? output : "(no output)");
	}
	free(output);
	free(program);
	return rc;
}

static char **hap_argv(const char *dir, const char *program)
{
	char **argv = xcalloc(5, sizeof(char *));
	argv[0] = xstrdup(program);
	argv[1] = xstrdup("-f");
	argv[2] = path_join(dir, "haproxy.cfg");
	argv[3] = xstrdup("-db");
	return argv;
}

static char *hap_expect(const char *dir)
{
	char *cfg = path_join(dir, "haproxy.cfg");
	char *e = xasprintf("-f %s", cfg);
	free(cfg);
	return e;
}

/* ---------------------------------------------------------- runtime API */

int hap_command(const char *sock, const char *cmd, char **out,
		struct ml_err *err)
{
	struct sockaddr_un sa;
	int rc = -1;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (out)
		*out = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return ml_err_set(err, ML_EXIT_OPERATIONAL,
				  "socket path too long: %s", sock);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ml_err_set(err, ML_EXIT_OPERATIONAL, "socket: %s",
				  strerror(errno));
	struct timeval tv = { HAP_CMD_TIMEOUT_MS / 1000,
			      (HAP_CMD_TIMEOUT_MS % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "cannot connect to the admin socket %s: %s", sock,
			   strerror(errno));
		goto out;
	}
	char *line = xasprintf("%s\n", cmd);
	size_t n = strlen(line), off = 0;
	while (off < n) {
		ssize_t w = send(fd, line + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ml_err_set(err, ML_EXIT_OPERATIONAL, "%s: send: %s", cmd,
				   strerror(errno));
			free(line);
			goto out;
		}
		off += (size_t)w;
	}
	free(line);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ml_err_set(err, ML_EXIT_OPERATIONAL, "%s: %s", cmd,
				   errno == EAGAIN ? "no answer within 5 s"
						   : strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > (16u << 20)) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "%s: answer too large", cmd);
			goto out;
		}
	}
	if (!buf)
		buf = xmalloc(1);
	buf[len] = '\0';
	if (out) {
		*out = buf;
		buf = NULL;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int hap_effective_weight(const struct hap_server *s)
{
	if (s->admin_state & (ADMF_MAINT | ADMF_DRAIN))
		return 0;
	return s->uweight;
}

int hap_parse_servers_state(const char *text, struct hap_server **out,
			    size_t *n_out, struct ml_err *err)
{
	char *copy = xstrdup(text), *save = NULL;
	struct hap_server *rows = NULL;
	size_t n = 0, cap = 0;
	int col_be = -1, col_name = -1, col_op = -1, col_admin = -1,
	    col_w = -1, ncols = 0;
	int lineno = 0, rc = -1;
	*out = NULL;
	*n_out = 0;
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "1") != 0) {
				ml_err_set(err, ML_EXIT_OPERATIONAL,
					   "show servers state: unexpected "
					   "answer: %.200s",
					   line);
				goto out;
			}
			continue;
		}
		char *tsave = NULL;
		int c = 0;
		if (lineno == 2) {
			if (line[0] != '#') {
				ml_err_set(err, ML_EXIT_OPERATIONAL,
					   "show servers state: no header line");
				goto out;
			}
			for (char *t = strtok_r(line + 1, " ", &tsave); t;
			     t = strtok_r(NULL, " ", &tsave), c++) {
				if (!strcmp(t, "be_name"))
					col_be = c;
				else if (!strcmp(t, "srv_name"))
					col_name = c;
				else if (!strcmp(t, "srv_op_state"))
					col_op = c;
				else if (!strcmp(t, "srv_admin_state"))
					col_admin = c;
				else if (!strcmp(t, "srv_uweight"))
					col_w = c;
			}
			ncols = c;
			if (col_be < 0 || col_name < 0 || col_op < 0 ||
			    col_admin < 0 || col_w < 0) {
				ml_err_set(err, ML_EXIT_OPERATIONAL,
					   "show servers state: header lacks "
					   "be_name, srv_name, srv_op_state, "
					   "srv_admin_state or srv_uweight");
				goto out;
			}
			continue;
		}
		if (line[0] == '#')
			continue;
		struct hap_server s;
		memset(&s, 0, sizeof(s));
		int got = 0;
		for (char *t = strtok_r(line, " ", &tsave); t && c < ncols;
		     t = strtok_r(NULL, " ", &tsave), c++) {
			if (c == col_be) {
				snprintf(s.be, sizeof(s.be), "%s", t);
				got++;
			} else if (c == col_name) {
				snprintf(s.name, sizeof(s.name), "%s", t);
				got++;
			} else if (c == col_op) {
				s.op_state = atoi(t);
				got++;
			} else if (c == col_admin) {
				s.admin_state = atoi(t);
				got++;
			} else if (c == col_w) {
				s.uweight = atoi(t);
				got++;
			}
		}
		if (got != 5)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		rows[n++] = s;
	}
	if (lineno < 2) {
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "show servers state: empty answer");
		goto out;
	}
	*out = rows;
	*n_out = n;
	rows = NULL;
	rc = 0;
out:
	free(rows);
	free(copy);
	return rc;
}

/* `show servers state [be]` parsed. */
static int servers_state(const char *dir, const char *be,
			 struct hap_server **rows, size_t *n,
			 struct ml_err *err)
{
	char *sock = sock_path(dir), *text = NULL;
	char *cmd = xasprintf("show servers state%s%s", be ? " " : "",
			      be ? be : "");
	int rc = hap_command(sock, cmd, &text, err);
	if (rc == 0)
		rc = hap_parse_servers_state(text, rows, n, err);
	free(text);
	free(cmd);
	free(sock);
	return rc;
}

static const struct hap_server *find_row(const struct hap_server *rows,
					 size_t n, const char *be,
					 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].be, be) && !strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

/* `set ...` commands, sent in batches: several commands joined with `;`
 * on one connection (haproxy runs them in order). haproxy answers a blank
 * line for each command it did, else a message saying why not. A batch is
 * flushed before it would pass HAP_BATCH_MAX bytes, so a command line
 * stays well inside haproxy's buffer. */
#define HAP_BATCH_MAX 8000

struct hap_batch {
	const char *sock;
	struct sbuf cmds;
	size_t *at; /* where each command starts in cmds */
	size_t n, cap;
};

/* Send the batch; an error names the first command haproxy refused (each
 * command's answer ends with a blank line; one it did answers only that). */
static int batch_flush(struct hap_batch *b, struct ml_err *err)
{
	if (!b->n)
		return 0;
	char *ans = NULL;
	int rc = hap_command(b->sock, b->cmds.s, &ans, err);
	const char *c = ans;
	for (size_t i = 0; rc == 0 && i < b->n && c && *c; i++) {
		const char *end = strstr(c, "\n\n");
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (*c == '\n') { /* a blank line: done */
			c++;
			continue;
		}
		size_t cl = (i + 1 < b->n ? b->at[i + 1] - 1 : b->cmds.len) - b->at[i];
		char *msg = xasprintf("%.*s", (int)len, c);
		for (char *m = msg; *m; m++)
			if (*m == '\n')
				*m = ' ';
		rc = ml_err_set(err, ML_EXIT_OPERATIONAL, "%.*s: %s", (int)cl,
				b->cmds.s + b->at[i], msg);
		free(msg);
	}
	free(ans);
	b->cmds.len = 0;
	b->n = 0;
	return rc;
}

static int set_cmd(struct hap_batch *b, struct ml_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_cmd(struct hap_batch *b, struct ml_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = xvasprintf(fmt, ap);
	va_end(ap);
	int rc = 0;
	if (b->n && b->cmds.len + 1 + strlen(cmd) > HAP_BATCH_MAX)
		rc = batch_flush(b, err);
	if (rc == 0) {
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 64;
			b->at = xrealloc(b->at, b->cap * sizeof(*b->at));
		}
		if (b->n)
			sbuf_printf(&b->cmds, ";");
		b->at[b->n++] = b->cmds.len;
		sbuf_printf(&b->cmds, "%s", cmd);
	}
	free(cmd);
	return rc;
}

static const char *op_state_name(int s)
{
	switch (s) {
	case 0:
		return "down";
	case 1:
		return "starting";
	case 2:
		return "up";
	case 3:
		return "stopping";
	}
	return "unknown";
}

static int hap_apply(const struct cfg_env *env, const char *dir, pid_t pid,
		     bool preview, const int *w, struct ml_err *err)
{
	(void)pid;
	const char *be = preview ? "preview" : "live";
	struct hap_server *rows = NULL;
	size_t n = 0;
	char *sock = sock_path(dir);
	int *live = NULL, *prev = NULL;
	int rc = -1;
	struct hap_batch batch = { sock, { 0 }, NULL, 0, 0 };
	if (servers_state(dir, be, &rows, &n, err) < 0)
		goto out;
	/* every node is a server; some server keeping traffic is up */
	bool any_up = false;
	for (size_t i = 0; i < env->n_nodes; i++) {
		const struct hap_server *r = find_row(rows, n, be,
						      env->nodes[i].name);
		if (!r) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "backend %s has no server %s (the running "
				   "config predates this node list: restart "
				   "with 'mlctl down %s' and 'mlctl up %s')",
				   be, env->nodes[i].name, env->name,
				   env->name);
			goto out;
		}
		if (w[i] > 0 && r->op_state != 0 &&
		    !(r->admin_state & ADMF_MAINT))
			any_up = true;
	}
	if (!any_up) {
		char states[256] = "";
		size_t off = 0;
		for (size_t i = 0; i < env->n_nodes && off < sizeof(states); i++) {
			if (w[i] == 0)
				continue;
			const struct hap_server *r = find_row(rows, n, be,
							      env->nodes[i].name);
			off += (size_t)snprintf(states + off, sizeof(states) - off,
						"%s%s %s", off ? ", " : "",
						r->name, op_state_name(r->op_state));
		}
		ml_err_set(err, ML_EXIT_OPERATIONAL,
			   "refusing to move %s weights: no server that would "
			   "keep traffic is up (health checks: %s)",
			   be, states);
		goto out;
	}
	/* raise first: servers keeping or gaining traffic */
	for (size_t i = 0; i < env->n_nodes; i++) {
		const char *name = env->nodes[i].name;
		const struct hap_server *r = find_row(rows, n, be, name);
		if (w[i] == 0)
			continue;
		if (r->uweight != w[i] &&
		    set_cmd(&batch, err, "set server %s/%s weight %d", be, name,
			    w[i]) < 0)
			goto out;
		if ((r->admin_state & (ADMF_FMAINT | ADMF_FDRAIN)) &&
		    set_cmd(&batch, err, "set server %s/%s state ready", be,
			    name) < 0)
			goto out;
	}
	/* every raise is done before the first server leaves */
	if (batch_flush(&batch, err) < 0)
		goto out;
	/* then lower: servers leaving rotation */
	for (size_t i = 0; i < env->n_nodes; i++) {
		const char *name = env->nodes[i].name;
		const struct hap_server *r = find_row(rows, n, be, name);
		if (w[i] != 0)
			continue;
		if (r->uweight != 0 &&
		    set_cmd(&batch, err, "set server %s/%s weight 0", be, name) < 0)
			goto out;
		if (!(r->admin_state & ADMF_FDRAIN) &&
		    set_cmd(&batch, err, "set server %s/%s state drain", be,
			    name) < 0)
			goto out;
	}
	if (batch_flush(&batch, err) < 0)
		goto out;
	/* verify, and read both backends to persist them */
	free(rows);
	rows = NULL;
	if (servers_state(dir, NULL, &rows, &n, err) < 0)
		goto out;
	live = xcalloc(env->n_nodes + 1, sizeof(int));
	prev = xcalloc(env->n_nodes + 1, sizeof(int));
	for (size_t i = 0; i < env->n_nodes; i++) {
		const char *name = env->nodes[i].name;
		const struct hap_server *rl = find_row(rows, n, "live", name);
		const struct hap_server *rp = find_row(rows, n, "preview", name);
		live[i] = rl ? hap_effective_weight(rl) : 1;
		prev[i] = rp ? hap_effective_weight(rp) : 1;
		int got = preview ? prev[i] : live[i];
		if (got != w[i]) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "server %s/%s has weight %d after the "
				   "change, expected %d",
				   be, name, got, w[i]);
			goto out;
		}
	}
	if (router_persist(env, dir, live, prev, err) < 0)
		goto out;
	rc = 0;
out:
	free(batch.cmds.s);
	free(batch.at);
	free(live);
	free(prev);
	free(rows);
	free(sock);
	return rc;
}

static int hap_get(const struct cfg_env *env, const char *dir, pid_t pid,
		   int *live, int *preview, struct ml_err *err)
{
	if (pid > 0) {
		struct hap_server *rows = NULL;
		size_t n = 0;
		if (servers_state(dir, NULL, &rows, &n, err) < 0)
			return -1;
		bool all = true;
		for (size_t i = 0; i < env->n_nodes; i++) {
			const struct hap_server *rl = find_row(
				rows, n, "live", env->nodes[i].name);
			const struct hap_server *rp = find_row(
				rows, n, "preview", env->nodes[i].name);
			if (!rl || !rp) {
				all = false;
				break;
			}
			live[i] = hap_effective_weight(rl);
			preview[i] = hap_effective_weight(rp);
		}
		free(rows);
		return all ? 0 : 1;
	}
	char *cfg = path_join(dir, "haproxy.cfg");
	int rc = router_parse_section(env, cfg, "backend", "live", true, live);
	if (rc == 0)
		rc = router_parse_section(env, cfg, "backend", "preview", true,
					  preview);
	free(cfg);
	return rc;
}

/* The admin socket answers: haproxy is ready for runtime changes. */
static int hap_started(const struct cfg_env *env, const char *dir, pid_t pid,
		       struct ml_err *err)
{
	(void)env;
	char *sock = sock_path(dir);
	double deadline = now_ms() + 5000;
	int rc = -1;
	for (;;) {
		char *ans = NULL;
		struct ml_err e = ML_ERR_INIT;
		if (hap_command(sock, "show info", &ans, &e) == 0 && ans &&
		    strstr(ans, "Name:")) {
			free(ans);
			rc = 0;
			break;
		}
		free(ans);
		if (!proc_pid_alive(pid, NULL) || now_ms() >= deadline) {
			ml_err_set(err, ML_EXIT_OPERATIONAL,
				   "admin socket %s does not answer: %s", sock,
				   e.msg);
			break;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	free(sock);
	return rc;
}

/* haproxy leaves its admin socket behind when stopped by a signal. */
static void hap_stopped(const char *dir)
{
	char *sock = sock_path(dir);
	unlink(sock);
	free(sock);
}

const struct router_driver router_haproxy_driver = {
	.name = "haproxy",
	.config_name = "haproxy.cfg",
	.render = hap_render,
	.check = hap_check,
	.argv = hap_argv,
	.expect = hap_expect,
	.started = hap_started,
	.stopped = hap_stopped,
	.apply = hap_apply,
	.get = hap_get,
};
