/* options.h — mlserve's command line (see mlserve(1)): parsed into one
 * struct so main() stays small and the unit tests can check every flag. */
#ifndef MLSERVE_OPTIONS_H
#define MLSERVE_OPTIONS_H

#include "server.h"

#include <stdbool.h>
#include <stddef.h>

struct mlserve_opts {
	struct server_opts srv;
	char **loads; /* --load RELEASE.yaml, in order (borrowed from argv) */
	size_t n_loads;
	const char *token_env; /* --admin-token-env VAR */
	bool no_contract;
	bool help, version;
};

/* Parse argv (argv[0] is the program). Returns 0, or -1 with a message
 * (without the "mlserve: " prefix) in err. Free with mlserve_opts_release. */
int mlserve_opts_parse(struct mlserve_opts *o, int argc, char **argv, char *err,
		       size_t errsz);
void mlserve_opts_release(struct mlserve_opts *o);
/* "1048576", "512k", "1m", "1MiB" -> bytes. */
int mlserve_parse_size(const char *s, size_t *out);
extern const char mlserve_usage[];

#endif
