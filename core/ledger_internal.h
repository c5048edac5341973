/* ledger_internal.h — what core/ledger*.c share: the ledger struct, error
 * translation and tree reading. Not for the rest of mlctl (it includes
 * <git2.h>). */
#ifndef MLCTL_LEDGER_INTERNAL_H
#define MLCTL_LEDGER_INTERNAL_H

#include <git2.h>
#include <jansson.h>

#include "ledger.h"

struct ledger {
	git_repository *repo;
	char *path; /* <state>/ledger */
};

#define LEDGER_FILE_MANIFEST "manifest.yaml"
#define LEDGER_FILE_STATE "state.json"
#define LEDGER_FILE_REJECTED "rejected.json"

/* Fill err with "ledger: <fmt>: <libgit2's last message>" and code
 * ML_EXIT_OPERATIONAL; returns -1. `rc` is the libgit2 return code. */
int ledger_git_err(struct ml_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "refs/heads/env/<env>", checked to be a valid ref name (ML_EXIT_USAGE
 * otherwise). Caller frees. */
int ledger_branch_ref(const char *env, char **out, struct ml_err *err);
/* "refs/tags/<env>/<model>/<version>", checked the same way. */
int ledger_tag_ref(const char *env, const char *model, const char *version,
		   char **out, struct ml_err *err);

/* The tip commit of `refname`, or *out = NULL when the ref does not exist.
 * Caller frees with git_commit_free. */
int ledger_tip(struct ledger *l, const char *refname, git_commit **out,
	       struct ml_err *err);

/* The bytes of file `name` at the root of commit c's tree, NUL-terminated
 * (caller frees); *out NULL when the commit has no such file. */
int ledger_blob_of(struct ledger *l, git_commit *c, const char *name,
		   char **out, size_t *len, struct ml_err *err);

/* The rejected list of commit c (may be NULL: no history) as a new JSON
 * array (caller json_decref's). */
int ledger_rejected_of(struct ledger *l, git_commit *c, json_t **out,
		       struct ml_err *err);

#endif
