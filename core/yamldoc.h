/* yamldoc.h — a YAML file as a small tree with positions: the only module
 * that includes <yaml.h>. It resolves anchors, aliases and merge keys
 * (`<<`), and rejects what mlctl never accepts: duplicate keys (reported at
 * the second), several documents, non-UTF-8 text, empty files and files
 * over 1 MiB. Positions are 1-based (libyaml marks are 0-based). */
#ifndef MLCTL_YAMLDOC_H
#define MLCTL_YAMLDOC_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#define YDOC_MAX_BYTES (1024 * 1024)

enum ydoc_kind { YDOC_SCALAR, YDOC_MAP, YDOC_SEQ };

struct ydoc_node;

struct ydoc_pair {
	struct ydoc_node *key; /* always a scalar */
	struct ydoc_node *value;
};

struct ydoc_node {
	enum ydoc_kind kind;
	unsigned line, col;
	/* scalar */
	char *str;
	size_t len;
	bool plain; /* unquoted: may be null/bool/number */
	/* map */
	struct ydoc_pair *pairs;
	size_t n_pairs;
	/* seq */
	struct ydoc_node **items;
	size_t n_items;
};

struct ydoc; /* owns every node */

/* Parse `path`. On failure returns -1 with diagnostics added; *out NULL. */
int ydoc_load_file(const char *path, struct ydoc **out, struct ml_diags *d);
/* Parse a buffer; `name` labels diagnostics. */
int ydoc_load_buffer(const char *name, const char *buf, size_t len,
		     struct ydoc **out, struct ml_diags *d);
void ydoc_free(struct ydoc *doc);
/* The root node (borrowed; never NULL for a loaded doc). */
struct ydoc_node *ydoc_root(struct ydoc *doc);
const char *ydoc_file(const struct ydoc *doc);

/* A plain scalar meaning null: "", "~", "null", "Null", "NULL". */
bool ydoc_is_null(const struct ydoc_node *n);
/* A map's value for `key`, or NULL (borrowed). */
struct ydoc_node *ydoc_get(const struct ydoc_node *map, const char *key);
/* The pair holding `key` in a map, or NULL. */
const struct ydoc_pair *ydoc_pair(const struct ydoc_node *map, const char *key);
/* "a scalar", "a mapping", "a sequence", or "null" — for "found ..." text. */
const char *ydoc_describe(const struct ydoc_node *n);

#endif
