/* main.c — mlserve, the reference serving node: parse flags, load the
 * releases given with --load (exit 2 on any problem), then serve until
 * SIGTERM. Everything else lives in libmlserve (server, api, repo...). */
#include "options.h"

#include "config.h"
#include "err.h"
#include "repo.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MLCTL_VERSION
#define MLCTL_VERSION "0.0.0"
#endif

static int load_release(struct repo *repo, const char *path)
{
	struct cfg_release *rel = NULL;
	struct ml_diags d = ML_DIAGS_INIT;
	if (cfg_release_load(path, &rel, &d) < 0) {
		for (size_t i = 0; i < d.len; i++) {
			char *s = ml_diag_format(&d.items[i]);
			fprintf(stderr, "%s\n", s);
			free(s);
		}
		if (d.len == 0)
			fprintf(stderr, "mlserve: error: --load %s: cannot load the release\n", path);
		ml_diags_release(&d);
		return -1;
	}
	ml_diags_release(&d);
	struct repo_load *job = repo_load_from_release(rel);
	cfg_release_free(rel);
	repo_load_prepare(repo, job);
	int rc = repo_load_commit(repo, job);
	if (rc)
		fprintf(stderr, "mlserve: error: --load %s: %s\n", path, job->msg);
	else
		fprintf(stderr, "mlserve: loaded %s %s from %s\n", job->model, job->version,
			job->artifact);
	repo_load_free(job);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct mlserve_opts o;
	char err[256];
	if (mlserve_opts_parse(&o, argc, argv, err, sizeof err) < 0) {
		fprintf(stderr, "mlserve: error: %s\n%s", err, mlserve_usage);
		mlserve_opts_release(&o);
		return 2;
	}
	if (o.help) {
		fputs(mlserve_usage, stdout);
		mlserve_opts_release(&o);
		return 0;
	}
	if (o.version) {
		printf("mlserve %s\n", MLCTL_VERSION);
		mlserve_opts_release(&o);
		return 0;
	}
	struct metrics mx;
	struct repo repo;
	static struct api_opts ao;
	metrics_init(&mx, o.srv.workers);
	repo_init(&repo, &mx);
	ao.enforce_contract = !o.no_contract;
	ao.admin_token = o.token_env ? getenv(o.token_env) : NULL;
	int rc = 0;
	for (size_t i = 0; i < o.n_loads; i++) {
		if (load_release(&repo, o.loads[i]) < 0) {
			rc = 2;
			goto out;
		}
	}
	if (server_run(&o.srv, &repo, &mx, &ao) < 0)
		rc = 1;
out:
	repo_release(&repo);
	metrics_release(&mx);
	mlserve_opts_release(&o);
	return rc;
}
