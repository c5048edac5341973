/* config_names.c — the spellings of every config enum, one table each,
 * shared by the loaders, the printers and the command-line parsers. */
#include "config.h"
#include "config_internal.h"

#include <string.h>

const char *const cfg_tier_names[] = { "dev", "test", "staging", "prod", NULL };
const char *const cfg_approval_names[] = { "none", "manual", NULL };
const char *const cfg_node_driver_names[] = { "v2", "exec", NULL };
const char *const cfg_router_driver_names[] = { "none", "nginx", "haproxy", NULL };
const char *const cfg_strategy_names[] = { "recreate", "rolling", "bluegreen", "canary", NULL };
const char *const cfg_no_data_names[] = { "fail", "pause", "pass", NULL };
const char *const cfg_gate_names[] = { "unit", "integration", "smoke", "load", "acceptance", NULL };
const char *const cfg_mode_names[] = { "realtime", "near-real-time", "batch", "edge", NULL };
const char *const cfg_metric_names[] = { "mae", "rmse", "mape", "accuracy", "exact", NULL };
const char *const cfg_type_names[] = { "number", "integer", "string", "boolean", NULL };

const char *cfg_tier_name(enum cfg_tier t) { return cfg_tier_names[t]; }
const char *cfg_router_driver_name(enum cfg_router_driver d) { return cfg_router_driver_names[d]; }
const char *cfg_node_driver_name(enum cfg_node_driver d) { return cfg_node_driver_names[d]; }
const char *cfg_strategy_name(enum cfg_strategy_type t) { return cfg_strategy_names[t]; }
const char *cfg_gate_name(enum cfg_gate g) { return cfg_gate_names[g]; }
const char *cfg_no_data_name(enum cfg_no_data n) { return cfg_no_data_names[n]; }
const char *cfg_serving_mode_name(enum cfg_serving_mode m) { return cfg_mode_names[m]; }
const char *cfg_metric_name(enum cfg_metric m) { return cfg_metric_names[m]; }
const char *cfg_type_name(enum cfg_type t) { return cfg_type_names[t]; }

bool cfg_metric_lower_is_better(enum cfg_metric m)
{
	return m == CFG_M_MAE || m == CFG_M_RMSE || m == CFG_M_MAPE;
}

const char *cfg_type_v2(enum cfg_type t)
{
	switch (t) {
	case CFG_T_NUMBER:
		return "FP64";
	case CFG_T_INTEGER:
		return "INT64";
	case CFG_T_STRING:
		return "BYTES";
	case CFG_T_BOOLEAN:
		return "BOOL";
	}
	return "FP64";
}

static int lookup(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int cfg_strategy_parse(const char *s) { return lookup(cfg_strategy_names, s); }
int cfg_gate_parse(const char *s) { return lookup(cfg_gate_names, s); }

const char *cfg_kind_name(enum cfg_kind k)
{
	static const char *const names[] = { "unknown", "Environment", "Release",
					     "Model", "Pipeline" };
	return names[k];
}
