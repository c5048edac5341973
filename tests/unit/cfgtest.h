/* cfgtest.h — helpers shared by the config tests (test_config*.c,
 * test_yamldoc.c): a temporary directory per test, writing documents into
 * it from string literals, and assertions on diagnostics that print every
 * diagnostic collected when they fail. */
#ifndef MLCTL_TEST_CFGTEST_H
#define MLCTL_TEST_CFGTEST_H

#include "config.h"
#include "err.h"

#include <stddef.h>

/* The current test's temporary directory (cfgt_setup creates it,
 * cfgt_teardown removes it): use as a suite's .init / .fini. */
extern char *cfgt_dir;
void cfgt_setup(void);
void cfgt_teardown(void);

/* Write `text` to cfgt_dir/rel (parent directories created) and return
 * the path (owned by the helper, freed at teardown). */
const char *cfgt_write(const char *rel, const char *text);
const char *cfgt_write_bytes(const char *rel, const void *data, size_t len);
/* Like cfgt_write, with every "@SHA@" replaced by the sha256 of
 * cfgt_dir/sha_of (a file written before). */
const char *cfgt_write_sha(const char *rel, const char *text,
			   const char *sha_of);
/* sha256 hex of cfgt_dir/rel (static buffer). */
const char *cfgt_sha(const char *rel);

/* Text of every diagnostic, one per line (static buffer), for messages. */
const char *cfgt_dump(const struct ml_diags *d);

/* Assert `d` holds a diagnostic with exactly this message, and that it
 * names `file`, line, col and key path (NULL: no path). */
void cfgt_expect(const struct ml_diags *d, const char *file, unsigned line,
		 unsigned col, const char *path, const char *msg);
/* Same, and it is the only diagnostic. */
void cfgt_expect_only(const struct ml_diags *d, const char *file,
		      unsigned line, unsigned col, const char *path,
		      const char *msg);

/* Load one document of each kind from text written to cfgt_dir/rel; assert
 * it fails with exactly one diagnostic as given. */
void cfgt_env_error(const char *rel, const char *text, unsigned line,
		    unsigned col, const char *path, const char *msg);
void cfgt_pipeline_error(const char *rel, const char *text, unsigned line,
			 unsigned col, const char *path, const char *msg);
void cfgt_model_error(const char *rel, const char *text, unsigned line,
		      unsigned col, const char *path, const char *msg);

/* Write the valid ETA 2.0.0 model to cfgt_dir/models/eta-2.0.0.yaml and an
 * acceptance file cfgt_dir/cases.csv (what release documents reference). */
void cfgt_release_fixture(void);
/* Write a release (with @SHA@ = the fixture model's digest) and assert it
 * fails with exactly one diagnostic as given. */
void cfgt_release_error(const char *rel, const char *text, unsigned line,
			unsigned col, const char *path, const char *msg);

/* Load an environment that must be valid (asserts no diagnostics). */
struct cfg_env *cfgt_env_ok(const char *rel, const char *text);

#endif
