/* cfgdec.h — typed decoding of ydoc trees with diagnostics. A decoder
 * carries the file, the key path of the value being read (e.g.
 * "strategy.steps[1].weight") and the diagnostics list; every getter
 * reports "expected X, found Y" at the offending value and keeps going, so
 * a file's errors are all reported. Internal to the config loaders. */
#ifndef MLCTL_CFGDEC_H
#define MLCTL_CFGDEC_H

#include "config.h"
#include "err.h"
#include "yamldoc.h"

#include <stdbool.h>

struct dec {
	const char *file;
	struct ml_diags *d;
	char path[512];
	size_t plen;
	int errors;
};

void dec_init(struct dec *dc, const char *file, struct ml_diags *d);
/* Path stack: push returns the length to restore with dec_pop. */
size_t dec_push_key(struct dec *dc, const char *key);
size_t dec_push_index(struct dec *dc, size_t i);
void dec_pop(struct dec *dc, size_t saved);

/* Report an error at node `at` (or line 0 when NULL) under the current path. */
void dec_error(struct dec *dc, const struct ydoc_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report an error at an explicit position under the current path. */
void dec_error_pos(struct dec *dc, struct cfg_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct cfg_pos dec_pos(const struct ydoc_node *n);

/* `n` must be a mapping whose keys are all in `allowed` (NULL-terminated);
 * unknown keys are reported with a did-you-mean. False when not a mapping. */
bool dec_map(struct dec *dc, const struct ydoc_node *n,
	     const char *const *allowed);
/* `n` must be a list. */
bool dec_seq(struct dec *dc, const struct ydoc_node *n);

/* Field getters. Each pushes `key` on the path. With `required`, a missing
 * key is reported at the map. Return true when a value was stored. A null
 * value counts as missing. */
const struct ydoc_node *dec_field(struct dec *dc, const struct ydoc_node *map,
				  const char *key, bool required);
bool dec_str(struct dec *dc, const struct ydoc_node *map, const char *key,
	     bool required, char **out);
/* A name: letters, digits, '.', '_', '-'; starts with a letter or digit. */
bool dec_name(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, char **out, struct cfg_pos *pos);
bool dec_enum(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, const char *const *names, int *out);
bool dec_bool(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, bool *out);
bool dec_int(struct dec *dc, const struct ydoc_node *map, const char *key,
	     bool required, long long min, long long max, long long *out);
bool dec_number(struct dec *dc, const struct ydoc_node *map, const char *key,
		bool required, double *out);
bool dec_duration(struct dec *dc, const struct ydoc_node *map,
		  const char *key, bool required, long long *ms);
bool dec_percent(struct dec *dc, const struct ydoc_node *map, const char *key,
		 bool required, double *frac);
bool dec_rate(struct dec *dc, const struct ydoc_node *map, const char *key,
	      bool required, double *rate);

/* Value-level checks (no key push). */
bool dec_node_number(struct dec *dc, const struct ydoc_node *n, double *out);
bool dec_node_int(struct dec *dc, const struct ydoc_node *n, long long min,
		  long long max, long long *out);
bool dec_node_str(struct dec *dc, const struct ydoc_node *n, char **out);
bool dec_node_name(struct dec *dc, const struct ydoc_node *n, char **out);

/* The header every document has: apiVersion mlctl/v1 and the kind. */
bool dec_header(struct dec *dc, const struct ydoc_node *root,
		const char *kind);

/* Scalar syntax (no diagnostics). */
bool scalar_is_number(const char *s, double *out);
bool scalar_is_int(const char *s, long long *out);
bool scalar_is_bool(const char *s, bool *out);

#endif
