/* options.c — parsing mlserve's flags ("--flag value" or "--flag=value"),
 * with the same duration syntax as the manifests (cfg_parse_duration). */
#include "options.h"

#include "config.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char mlserve_usage[] =
	"usage: mlserve [--listen HOST:PORT] [--workers N] [--load RELEASE.yaml]...\n"
	"               [--admin-token-env VAR] [--no-contract]\n"
	"               [--max-body-size SIZE] [--max-header-size SIZE]\n"
	"               [--max-connections N] [--read-timeout DUR]\n"
	"               [--idle-timeout DUR] [--drain-timeout DUR]\n"
	"       mlserve --help | --version\n"
	"\n"
	"  --listen HOST:PORT      address to serve on (default 127.0.0.1:8080;\n"
	"                          port 0 picks a free port)\n"
	"  --workers N             worker threads sharing the port (default 1)\n"
	"  --load RELEASE.yaml     load a release's artifact with its data contract\n"
	"                          at start (repeatable)\n"
	"  --admin-token-env VAR   repository calls need 'Authorization: Bearer $VAR'\n"
	"                          when VAR is set and not empty\n"
	"  --no-contract           do not enforce data contracts (accept anything)\n"
	"  --max-body-size SIZE    largest request body (default 1m)\n"
	"  --max-header-size SIZE  largest request head (default 16k)\n"
	"  --max-connections N     open connections at once (default 4096)\n"
	"  --read-timeout DUR      a request must arrive within DUR of its first\n"
	"                          byte (default 10s)\n"
	"  --idle-timeout DUR      close idle keep-alive connections (default 60s)\n"
	"  --drain-timeout DUR     longest SIGTERM drain (default 30s)\n";

int mlserve_parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned long long mul = 1;
	if (*end) {
		char u = (char)tolower((unsigned char)*end);
		if (u == 'k')
			mul = 1024;
		else if (u == 'm')
			mul = 1024 * 1024;
		else if (u == 'g')
			mul = 1024ull * 1024 * 1024;
		else
			return -1;
		end++;
		if (*end && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
			return -1;
	}
	if (v == 0 || v > (1ull << 40) / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

static int parse_count(const char *s, size_t max, size_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -1;
	*out = (size_t)v;
	return 0;
}

int mlserve_opts_parse(struct mlserve_opts *o, int argc, char **argv, char *err,
		       size_t errsz)
{
	memset(o, 0, sizeof *o);
	server_opts_default(&o->srv);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->help = true;
			continue;
		}
		if (strcmp(a, "--version") == 0) {
			o->version = true;
			continue;
		}
		if (strcmp(a, "--no-contract") == 0) {
			o->no_contract = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errsz, "unexpected argument '%s'", a);
			return -1;
		}
		static const char *const with_value[] = {
			"--listen",	   "--workers",	     "--load",
			"--admin-token-env", "--max-body-size", "--max-header-size",
			"--max-connections", "--read-timeout",  "--idle-timeout",
			"--drain-timeout",   NULL,
		};
		const char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		const char *name = NULL;
		for (size_t k = 0; with_value[k]; k++)
			if (strlen(with_value[k]) == nl && strncmp(with_value[k], a, nl) == 0)
				name = with_value[k];
		if (!name) {
			snprintf(err, errsz, "unknown option '%.*s'", (int)nl, a);
			return -1;
		}
		const char *v;
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(err, errsz, "option '%s' needs a value", name);
			return -1;
		}
		long long ms;
		if (strcmp(name, "--listen") == 0) {
			if (server_parse_listen(&o->srv, v) < 0) {
				snprintf(err, errsz, "--listen: expected HOST:PORT, got '%s'", v);
				return -1;
			}
		} else if (strcmp(name, "--workers") == 0) {
			if (parse_count(v, 64, &o->srv.workers) < 0) {
				snprintf(err, errsz, "--workers: expected 1..64, got '%s'", v);
				return -1;
			}
		} else if (strcmp(name, "--load") == 0) {
			o->loads = xrealloc(o->loads, (o->n_loads + 1) * sizeof *o->loads);
			o->loads[o->n_loads++] = (char *)v;
		} else if (strcmp(name, "--admin-token-env") == 0) {
			if (!*v) {
				snprintf(err, errsz, "--admin-token-env: expected a variable name");
				return -1;
			}
			o->token_env = v;
		} else if (strcmp(name, "--max-body-size") == 0 ||
			   strcmp(name, "--max-header-size") == 0) {
			size_t sz;
			if (mlserve_parse_size(v, &sz) < 0) {
				snprintf(err, errsz, "%s: expected a size like 1m or 16k, got '%s'",
					 name, v);
				return -1;
			}
			if (name[6] == 'b')
				o->srv.lim.max_body = sz;
			else
				o->srv.lim.max_header = sz < 256 ? 256 : sz;
		} else if (strcmp(name, "--max-connections") == 0) {
			if (parse_count(v, 1000000, &o->srv.max_connections) < 0) {
				snprintf(err, errsz, "--max-connections: expected a positive count, got '%s'", v);
				return -1;
			}
		} else {
			if (cfg_parse_duration(v, &ms) < 0 || ms <= 0) {
				snprintf(err, errsz, "%s: expected a duration like 500ms or 10s, got '%s'",
					 name, v);
				return -1;
			}
			if (strcmp(name, "--read-timeout") == 0)
				o->srv.read_timeout_ms = ms;
			else if (strcmp(name, "--idle-timeout") == 0)
				o->srv.idle_timeout_ms = ms;
			else
				o->srv.drain_timeout_ms = ms;
		}
	}
	return 0;
}

void mlserve_opts_release(struct mlserve_opts *o)
{
	free(o->loads);
	o->loads = NULL;
	o->n_loads = 0;
}
