/* project.h — an mlctl project: the environments under envs/, pipelines
 * under pipelines/, releases under examples/, and the checks that span
 * documents (pipeline stages and promotes_from name environments and form
 * no cycle; node names and URLs unique across environments; router
 * addresses collide with no node). */
#ifndef MLCTL_PROJECT_H
#define MLCTL_PROJECT_H

#include "config.h"
#include "err.h"

#include <stddef.h>

/* Paths of files in `dir` ending in .yaml or .yml, sorted; with
 * `recursive`, also below it. *out is a NULL-terminated array the caller
 * frees with project_paths_free. */
int project_yaml_files(const char *dir, bool recursive, char ***out);
void project_paths_free(char **paths);
/* The environment an envs/ file stands for even when it is not valid: its
 * top-level `name:` if that can be read, else the file name without
 * .yaml/.yml (caller frees). */
char *project_env_name_of(const char *file);

/* Cross-document checks over a set of environments and pipelines (any of
 * which may be NULL and are skipped). `broken` names environments whose
 * files exist but did not load: references to them are not reported again.
 * Diagnostics go to `d`. */
void project_check(struct cfg_env *const *envs, size_t n_envs,
		   struct cfg_pipeline *const *pipes, size_t n_pipes,
		   char *const *broken, size_t n_broken, struct ml_diags *d);

/* Every environment of a project (the YAML files in root/envs), loaded and
 * cross-checked. 0 when all are valid; -1 with diagnostics otherwise (the
 * valid ones are still returned). */
struct project {
	char *root;
	struct cfg_env **envs;
	size_t n_envs;
};
int project_load(const char *root, struct project *p, struct ml_diags *d);
void project_release(struct project *p);
/* The environment of that name (borrowed), or NULL. */
struct cfg_env *project_env(const struct project *p, const char *name);

#endif
