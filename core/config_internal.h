/* config_internal.h — shared pieces of the config loaders (not for other
 * modules): enum spellings and the decoders of blocks that several
 * document kinds have (checks, expectations, analysis). */
#ifndef MLCTL_CONFIG_INTERNAL_H
#define MLCTL_CONFIG_INTERNAL_H

#include "cfgdec.h"
#include "config.h"

extern const char *const cfg_tier_names[];
extern const char *const cfg_approval_names[];
extern const char *const cfg_node_driver_names[];
extern const char *const cfg_router_driver_names[];
extern const char *const cfg_strategy_names[];
extern const char *const cfg_no_data_names[];
extern const char *const cfg_gate_names[];
extern const char *const cfg_mode_names[];
extern const char *const cfg_metric_names[];
extern const char *const cfg_type_names[];

/* `checks:` of a release (base_dir = manifest dir, for acceptance cases)
 * or of an environment (floors; base_dir = the env file's dir). */
void cfg_checks_decode(struct dec *dc, const struct ydoc_node *n,
		       const char *base_dir, struct cfg_checks *out);
void cfg_checks_release(struct cfg_checks *c);
void cfg_checks_init(struct cfg_checks *c);

void cfg_expectations_decode(struct dec *dc, const struct ydoc_node *n,
			     struct cfg_expectations *out);
void cfg_expectations_release(struct cfg_expectations *e);
const struct cfg_field *cfg_expectations_find(const struct cfg_field *f,
					      size_t n, const char *name);

/* The canary `analysis:` block: an environment's `strategy.analysis` or a
 * release's top-level `analysis` (config_analysis.c). Init marks every
 * field unset; decode sets `set` and the keys given, reporting bad ones
 * under the current key path. */
void cfg_analysis_init(struct cfg_analysis *a);
void cfg_analysis_decode(struct dec *dc, const struct ydoc_node *n,
			 struct cfg_analysis *out);

/* Read and compose a document, check apiVersion/kind; returns the doc or
 * NULL (diagnostics added). */
struct ydoc *cfg_open(const char *path, const char *kind, struct dec *dc,
		      struct ml_diags *d);

#endif
