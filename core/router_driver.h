/* router_driver.h — what router.c (the dispatcher) and the drivers,
 * router_haproxy.c and router_nginx.c, share. Not for callers: they use
 * router.h. Drivers see absolute run_dirs and validated weight arrays
 * (never NULL), and fill err with the bare reason; router.c prefixes
 * "router <driver> of <env>: ". */
#ifndef MLCTL_ROUTER_DRIVER_H
#define MLCTL_ROUTER_DRIVER_H

#include "router.h"

struct router_driver {
	const char *name;
	const char *config_name; /* file under run_dir */
	/* config text for these weights (*out owned by the caller) */
	int (*render)(const struct cfg_env *env, const char *run_dir,
		      const int *live, const int *preview, char **out,
		      struct ml_err *err);
	/* validate a candidate config file with the router itself */
	int (*check)(const struct cfg_env *env, const char *run_dir,
		     const char *path, struct ml_err *err);
	/* argv to start it (argv[0] the program; NULL-terminated; caller
	 * frees every string and the array) */
	char **(*argv)(const char *run_dir, const char *program);
	/* what its /proc cmdline contains (caller frees) */
	char *(*expect)(const char *run_dir);
	/* after the listeners answer: anything else to wait for */
	int (*started)(const struct cfg_env *env, const char *run_dir,
		       pid_t pid, struct ml_err *err);
	/* after the process is gone: remove what it left (may be NULL) */
	void (*stopped)(const char *run_dir);
	/* move one listener's weights on the running router (pid) and
	 * persist them; the other listener's weights are kept */
	int (*apply)(const struct cfg_env *env, const char *run_dir, pid_t pid,
		     bool preview, const int *weights, struct ml_err *err);
	/* current weights; 1 when nothing is saved for env's nodes */
	int (*get)(const struct cfg_env *env, const char *run_dir, pid_t pid,
		   int *live, int *preview, struct ml_err *err);
};

extern const struct router_driver router_haproxy_driver;
extern const struct router_driver router_nginx_driver;

/* ---- shared helpers (router.c) ------------------------------------------ */

/* Write text to path atomically (temp file in the same dir + rename). */
int router_write_file(const char *path, const char *text, struct ml_err *err);
/* A program's path: $envvar when set, else found in PATH, else in
 * /usr/sbin, /usr/local/sbin, /sbin. NULL when nowhere (caller frees). */
char *router_find_program(const char *name, const char *envvar);
/* "host:port" of a node or listener as a router config writes it
 * ("[::1]:80" for an IPv6 literal). Caller frees. */
char *router_hostport(const char *host, int port);
/* Whether a path can go into a router config between double quotes. */
bool router_path_ok(const char *path);
/* Rewrite the config with these weights (no check, no reload): how
 * haproxy persists runtime changes. `dir` is absolute. */
int router_persist(const struct cfg_env *env, const char *dir,
		   const int *live, const int *preview, struct ml_err *err);
/* The weights of section `section` ("live", "preview") of a config file
 * the drivers rendered, into w[env->n_nodes]: each `server` line's
 * address (the token after `server`, or after the server name for
 * haproxy: `name_first`) matched to env's nodes; `weight N` / `weight=N`
 * (default 1); `down` = 0. Returns 0, or 1 when the file is missing or
 * does not list every node of env. */
int router_parse_section(const struct cfg_env *env, const char *path,
			 const char *section_kw, const char *section,
			 bool name_first, int *w);

/* ---- haproxy runtime API (router_haproxy.c), exposed for tests ---------- */

/* One row of `show servers state`. */
struct hap_server {
	char be[64], name[128];
	int op_state;    /* 0 stopped, 1 starting, 2 running, 3 stopping */
	int admin_state; /* bit flags: 0x01|0x02|0x04|0x20|0x40 maintenance,
			    0x08|0x10 drain */
	int uweight;
};

/* Parse `show servers state` output (line 1 the format version, line 2
 * "# " + column names, then one row per server). *out (caller frees) and
 * *n; -1 with err when the text is not that. */
int hap_parse_servers_state(const char *text, struct hap_server **out,
			    size_t *n, struct ml_err *err);
/* The weight a row means for routing: 0 when drained or in maintenance,
 * else its uweight. */
int hap_effective_weight(const struct hap_server *s);
/* Send one command to the admin socket and read the answer until EOF
 * (*out, caller frees; may be NULL). Bounded by a 5 s timeout. */
int hap_command(const char *sock, const char *cmd, char **out,
		struct ml_err *err);

#endif
