/* test_config_env.c — Environment documents: each error class names the
 * file, line and column of the offending value, the key path and what was
 * expected; and the YAML features people use load the expected values. */
#include "cfgtest.h"
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(cfg_env, .init = cfgt_setup, .fini = cfgt_teardown, .timeout = 30);

/* Lines 1-4 */
#define HEAD                                                                  \
	"apiVersion: mlctl/v1\n"                                              \
	"kind: Environment\n"                                                 \
	"name: e1\n"                                                          \
	"tier: prod\n"
/* Lines 5-7 */
#define NODES                                                                 \
	"nodes:\n"                                                            \
	"  - { name: n1, url: \"http://127.0.0.1:9001\" }\n"                  \
	"  - { name: n2, url: \"http://127.0.0.1:9002\" }\n"

#define ENV_ERR(text, line, col, path, msg)                                   \
	cfgt_env_error("envs/e1.yaml", text, line, col, path, msg)

/* ---- valid documents ---------------------------------------------------- */

Test(cfg_env, minimal_environment_gets_the_defaults)
{
	struct cfg_env *e = cfgt_env_ok("envs/e1.yaml", HEAD NODES);
	cr_assert_str_eq(e->name, "e1");
	cr_assert_eq(e->tier, CFG_TIER_PROD);
	cr_assert_null(e->promotes_from);
	cr_assert_eq(e->approval, CFG_APPROVAL_NONE);
	cr_assert_not(e->managed);
	cr_assert_eq(e->node_driver, CFG_NODE_V2);
	cr_assert_eq(e->router_driver, CFG_ROUTER_NONE);
	cr_assert_not(e->strategy.set);
	cr_assert_eq(e->strategy.type, CFG_STRAT_RECREATE);
	cr_assert_eq(e->n_gates, 0);
	cr_assert_eq(e->n_nodes, 2);
	cr_assert_eq(e->nodes[1].port, 9002);
	cfg_env_free(e);
}

Test(cfg_env, exec_driver_reads_its_commands)
{
	struct cfg_env *e = cfgt_env_ok(
		"envs/e1.yaml",
		HEAD NODES
		"node_driver: exec\n"
		"exec:\n"
		"  load: \"deploy {node} {model} {version} {artifact} {sha256}\"\n"
		"  unload: \"undeploy {node} {model} {version}\"\n"
		"  ready: \"curl -fs {url}/ready\"\n"
		"  live: \"curl -fs {url}/live\"\n"
		"  timeout: 1m30s\n");
	cr_assert_eq(e->node_driver, CFG_NODE_EXEC);
	cr_assert_str_eq(e->exec.load, "deploy {node} {model} {version} {artifact} {sha256}");
	cr_assert_str_eq(e->exec.unload, "undeploy {node} {model} {version}");
	cr_assert_str_eq(e->exec.ready, "curl -fs {url}/ready");
	cr_assert_str_eq(e->exec.live, "curl -fs {url}/live");
	cr_assert_eq(e->exec.timeout_ms, 90000);
	cfg_env_free(e);
}

Test(cfg_env, anchors_merge_keys_and_flow_style_load_like_plain_keys)
{
	struct cfg_env *e = cfgt_env_ok(
		"envs/e1.yaml",
		"# shared settings first\n"
		"apiVersion: mlctl/v1\n"
		"kind: Environment\n"
		"name: e1\n"
		"tier: prod\n"
		"nodes:\n"
		"  - &n1 { name: n1, url: \"http://127.0.0.1:9001\" }\n"
		"  - name: n2                   # block style\n"
		"    url: \"https://127.0.0.1:9002/base\"\n"
		"  - { name: n3, url: 'http://localhost:9003' }\n"
		"  - { name: n4, url: \"http://127.0.0.1:9004\" }\n"
		"router: { driver: haproxy, listen: &l \"127.0.0.1:9000\" }\n"
		"strategy:\n"
		"  type: canary\n"
		"  steps:\n"
		"    - { weight: 5, pause: manual }\n"
		"    - weight: 25\n"
		"      pause: 1m\n"
		"  analysis:\n"
		"    <<: &base { interval: 2s, max_error_rate: 0.5%, max_p99: 1s }\n"
		"    max_p99: 300ms              # explicit key wins over the merge\n"
		"    max_p99_ratio: 1.5\n"
		"    min_requests: 20\n"
		"    no_data: pause\n"
		"    max_no_data: 3\n"
		"    failure_limit: 2\n"
		"    max_error_rate_delta: 0.01\n"
		"    traffic: { rate: 50/s }\n"
		"  canary_nodes: [n4]\n"
		"  max_surge: 1\n"
		"  max_unavailable: 0\n"
		"  scale_down_first: true\n"
		"gates: [smoke, load]\n");
	cr_assert_eq(e->n_nodes, 4);
	cr_assert_str_eq(e->nodes[0].name, "n1");
	cr_assert(e->nodes[1].tls);
	cr_assert_str_eq(e->nodes[1].host, "127.0.0.1");
	cr_assert_eq(e->nodes[1].port, 9002);
	cr_assert_str_eq(e->nodes[2].host, "localhost");
	cr_assert_eq(e->listen.port, 9000);
	const struct cfg_strategy *s = &e->strategy;
	cr_assert_eq(s->type, CFG_STRAT_CANARY);
	cr_assert_eq(s->n_steps, 2);
	cr_assert_eq(s->steps[0].weight, 5);
	cr_assert(s->steps[0].manual);
	cr_assert_eq(s->steps[1].weight, 25);
	cr_assert_not(s->steps[1].manual);
	cr_assert_eq(s->steps[1].pause_ms, 60000);
	const struct cfg_analysis *a = &s->analysis;
	cr_assert_eq(a->interval_ms, 2000);
	cr_assert_float_eq(a->max_error_rate, 0.005, 1e-12);
	cr_assert_eq(a->max_p99_ms, 300);
	cr_assert_float_eq(a->max_p99_ratio, 1.5, 1e-12);
	cr_assert_eq(a->min_requests, 20);
	cr_assert(a->has_no_data);
	cr_assert_eq(a->no_data, CFG_NODATA_PAUSE);
	cr_assert_eq(a->max_no_data, 3);
	cr_assert_eq(a->failure_limit, 2);
	cr_assert_float_eq(a->max_error_rate_delta, 0.01, 1e-12);
	cr_assert_float_eq(a->traffic_rate, 50, 1e-12);
	cr_assert_eq(s->n_canary_nodes, 1);
	cr_assert_str_eq(s->canary_nodes[0].name, "n4");
	cr_assert(s->max_surge.set);
	cr_assert_not(s->max_surge.percent);
	cr_assert_float_eq(s->max_surge.value, 1, 1e-12);
	cr_assert(s->max_unavailable.set);
	cr_assert_float_eq(s->max_unavailable.value, 0, 1e-12);
	cr_assert(s->scale_down_first);
	cr_assert_eq(e->n_gates, 2);
	cfg_env_free(e);
}

/* ---- unknown keys ------------------------------------------------------- */

Test(cfg_env, rejects_unknown_key_with_did_you_mean)
{
	ENV_ERR(HEAD NODES "aproval: none\n", 8, 1, "aproval",
		"unknown key 'aproval' (did you mean 'approval'?)");
}

Test(cfg_env, rejects_unknown_nested_key_with_did_you_mean)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: canary\n"
		"  stpes: [ { weight: 10 } ]\n",
		10, 3, "strategy.stpes",
		"unknown key 'stpes' (did you mean 'steps'?)");
}

Test(cfg_env, rejects_misspelt_key_in_a_list_item_and_the_key_it_misses)
{
	const char *p = cfgt_write("envs/e1.yaml",
				   HEAD
				   "nodes:\n"
				   "  - { name: n1, url: \"http://127.0.0.1:9001\" }\n"
				   "  - { name: n2, ulr: \"http://127.0.0.1:9002\" }\n");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *e = NULL;
	cr_assert_eq(cfg_env_load(p, &e, &d), -1);
	cr_assert_eq(d.len, 2, "%s", cfgt_dump(&d));
	cfgt_expect(&d, p, 7, 17, "nodes[1].ulr",
		    "unknown key 'ulr' (did you mean 'url'?)");
	cfgt_expect(&d, p, 7, 5, "nodes[1].url", "missing required key 'url'");
	ml_diags_release(&d);
}

Test(cfg_env, rejects_unknown_key_without_a_close_match)
{
	ENV_ERR(HEAD NODES "colour: blue\n", 8, 1, "colour", "unknown key 'colour'");
}

/* ---- wrong types -------------------------------------------------------- */

Test(cfg_env, rejects_string_where_an_integer_is_expected)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: canary\n"
		"  steps: [ { weight: 10 }, { weight: ten } ]\n",
		10, 38, "strategy.steps[1].weight",
		"expected an integer 1..100, found 'ten'");
}

Test(cfg_env, rejects_quoted_number_where_an_integer_is_expected)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: canary\n"
		"  steps: [ { weight: \"10\" } ]\n",
		10, 22, "strategy.steps[0].weight",
		"expected an integer 1..100, found '10'");
}

Test(cfg_env, rejects_list_where_a_mapping_is_expected)
{
	ENV_ERR(HEAD NODES "router: [nginx]\n", 8, 9, "router",
		"expected a mapping, found a list");
}

Test(cfg_env, rejects_mapping_where_a_list_is_expected)
{
	ENV_ERR(HEAD "nodes: { name: n1, url: \"http://127.0.0.1:9001\" }\n", 5, 8,
		"nodes", "expected a list, found a mapping");
}

Test(cfg_env, rejects_scalar_where_a_node_mapping_is_expected)
{
	ENV_ERR(HEAD "nodes:\n  - http://127.0.0.1:9001\n", 6, 5, "nodes[0]",
		"expected a mapping, found 'http://127.0.0.1:9001'");
}

Test(cfg_env, rejects_yes_for_a_boolean)
{
	ENV_ERR(HEAD NODES "managed: yes\n", 8, 10, "managed",
		"expected true or false, found 'yes'");
}

Test(cfg_env, rejects_a_list_at_the_top_of_the_file)
{
	ENV_ERR("- apiVersion: mlctl/v1\n", 1, 1, NULL,
		"expected a mapping at the top of the file, found a list");
}

/* ---- durations, percentages, rates, weights ----------------------------- */

#define CANARY                                                                \
	"strategy:\n"                                                         \
	"  type: canary\n"

Test(cfg_env, rejects_duration_without_a_unit)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { interval: 10 }\n", 10, 25,
		"strategy.analysis.interval",
		"expected a duration like 250ms, 10s, 2m or 1h, found '10'");
}

Test(cfg_env, rejects_duration_with_an_unknown_unit)
{
	ENV_ERR(HEAD NODES CANARY "  steps: [ { weight: 10, pause: 5d } ]\n", 10,
		33, "strategy.steps[0].pause",
		"expected a duration like 250ms, 10s, 2m or 1h, found '5d'");
}

Test(cfg_env, rejects_negative_duration)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { max_p99: -250ms }\n", 10, 24,
		"strategy.analysis.max_p99",
		"expected a duration like 250ms, 10s, 2m or 1h, found '-250ms'");
}

Test(cfg_env, rejects_hexadecimal_duration)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { interval: 0x10s }\n", 10, 25,
		"strategy.analysis.interval",
		"expected a duration like 250ms, 10s, 2m or 1h, found '0x10s'");
}

Test(cfg_env, rejects_percentage_over_100)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { max_error_rate: 150% }\n", 10, 31,
		"strategy.analysis.max_error_rate",
		"expected a percentage like 1% or a fraction 0..1, found '150%'");
}

Test(cfg_env, rejects_fraction_above_1)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { max_error_rate: 5 }\n", 10, 31,
		"strategy.analysis.max_error_rate",
		"expected a percentage like 1% or a fraction 0..1, found '5'");
}

Test(cfg_env, rejects_negative_rate)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { traffic: { rate: -5 } }\n", 10, 32,
		"strategy.analysis.traffic.rate",
		"expected a rate in requests per second like 200 or 200/s, found "
		"'-5'");
}

Test(cfg_env, rejects_rate_per_minute)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { traffic: { rate: 5/m } }\n", 10, 32,
		"strategy.analysis.traffic.rate",
		"expected a rate in requests per second like 200 or 200/s, found "
		"'5/m'");
}

Test(cfg_env, rejects_weight_0)
{
	ENV_ERR(HEAD NODES CANARY "  steps: [ { weight: 0 } ]\n", 10, 22,
		"strategy.steps[0].weight", "expected an integer 1..100, found '0'");
}

Test(cfg_env, rejects_weight_101)
{
	ENV_ERR(HEAD NODES CANARY "  steps: [ { weight: 10 }, { weight: 101 } ]\n",
		10, 38, "strategy.steps[1].weight",
		"expected an integer 1..100, found '101'");
}

Test(cfg_env, rejects_fractional_weight)
{
	ENV_ERR(HEAD NODES CANARY "  steps: [ { weight: 12.5 } ]\n", 10, 22,
		"strategy.steps[0].weight", "expected an integer 1..100, found '12.5'");
}

Test(cfg_env, rejects_equal_steps_at_the_second)
{
	ENV_ERR(HEAD NODES CANARY
		"  steps:\n"
		"    - { weight: 50 }\n"
		"    - { weight: 50 }\n",
		12, 17, "strategy.steps[1].weight",
		"expected a weight above the previous step's 50, found 50");
}

Test(cfg_env, rejects_decreasing_steps)
{
	ENV_ERR(HEAD NODES CANARY
		"  steps: [ { weight: 10 }, { weight: 50 }, { weight: 25 } ]\n",
		10, 54, "strategy.steps[2].weight",
		"expected a weight above the previous step's 50, found 25");
}

Test(cfg_env, rejects_empty_steps)
{
	ENV_ERR(HEAD NODES CANARY "  steps: []\n", 10, 10, "strategy.steps",
		"expected at least one step");
}

Test(cfg_env, rejects_node_count_in_words)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: rolling\n"
		"  max_surge: 25 percent\n",
		10, 14, "strategy.max_surge",
		"expected a node count like 1 or a percentage like 25%, found '25 "
		"percent'");
}

Test(cfg_env, rejects_max_surge_and_max_unavailable_both_0)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: rolling\n"
		"  max_surge: 0\n"
		"  max_unavailable: 0%\n",
		11, 20, "strategy.max_unavailable",
		"max_surge and max_unavailable cannot both be 0");
}

Test(cfg_env, rejects_p99_ratio_below_1)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { max_p99_ratio: 0.5 }\n", 10, 30,
		"strategy.analysis.max_p99_ratio", "expected a ratio >= 1, found 0.5");
}

/* ---- URLs and addresses -------------------------------------------------- */

Test(cfg_env, rejects_node_url_without_port)
{
	ENV_ERR(HEAD
		"nodes:\n"
		"  - { name: n1, url: \"http://127.0.0.1:9001\" }\n"
		"  - { name: n2, url: \"http://127.0.0.1\" }\n",
		7, 22, "nodes[1].url",
		"expected an http or https URL with host and port, like "
		"http://127.0.0.1:8411, found 'http://127.0.0.1'");
}

Test(cfg_env, rejects_ftp_node_url)
{
	ENV_ERR(HEAD "nodes:\n  - { name: n1, url: ftp://127.0.0.1:21 }\n", 6, 22,
		"nodes[0].url",
		"expected an http or https URL with host and port, like "
		"http://127.0.0.1:8411, found 'ftp://127.0.0.1:21'");
}

Test(cfg_env, rejects_node_url_with_port_above_65535)
{
	ENV_ERR(HEAD "nodes:\n  - name: n1\n    url: http://127.0.0.1:70000\n", 7,
		10, "nodes[0].url",
		"expected an http or https URL with host and port, like "
		"http://127.0.0.1:8411, found 'http://127.0.0.1:70000'");
}

Test(cfg_env, rejects_listen_without_port)
{
	ENV_ERR(HEAD NODES "router: { driver: nginx, listen: \"127.0.0.1\" }\n", 8,
		34, "router.listen",
		"expected host:port like 127.0.0.1:8410, found '127.0.0.1'");
}

Test(cfg_env, ipv6_addresses_are_refused_by_name)
{
	ENV_ERR(HEAD "nodes:\n"
		     "  - { name: n1, url: \"http://[::1]:9001\" }\n",
		6, 22, "nodes[0].url",
		"IPv6 addresses are not supported (use an IPv4 address or a "
		"host name), found 'http://[::1]:9001'");
	ENV_ERR(HEAD NODES "router: { driver: nginx, listen: \"[::1]:9000\" }\n", 8,
		34, "router.listen",
		"IPv6 addresses are not supported (use an IPv4 address or a "
		"host name), found '[::1]:9000'");
}

Test(cfg_env, rejects_listen_written_as_a_url)
{
	ENV_ERR(HEAD NODES
		"router:\n"
		"  driver: nginx\n"
		"  listen: http://127.0.0.1:9000\n",
		10, 11, "router.listen",
		"expected host:port like 127.0.0.1:8410, found "
		"'http://127.0.0.1:9000'");
}

Test(cfg_env, rejects_preview_equal_to_listen)
{
	ENV_ERR(HEAD NODES
		"router:\n"
		"  driver: haproxy\n"
		"  listen: 127.0.0.1:9000\n"
		"  preview: 127.0.0.1:9000\n",
		11, 12, "router.preview", "preview address is the same as listen");
}

Test(cfg_env, rejects_haproxy_router_without_listen)
{
	ENV_ERR(HEAD NODES "router: { driver: haproxy }\n", 8, 9, "router.listen",
		"missing required key 'listen' (the haproxy router needs an "
		"address)");
}

Test(cfg_env, rejects_haproxy_router_with_null_listen)
{
	ENV_ERR(HEAD NODES "router: { driver: haproxy, listen: ~ }\n", 8, 9,
		"router.listen",
		"missing required key 'listen' (the haproxy router needs an "
		"address)");
}

/* ---- required keys, enums, names ---------------------------------------- */

Test(cfg_env, rejects_missing_nodes)
{
	ENV_ERR(HEAD, 1, 1, "nodes", "missing required key 'nodes'");
}

Test(cfg_env, rejects_missing_name_of_a_node)
{
	ENV_ERR(HEAD "nodes:\n  - { url: \"http://127.0.0.1:9001\" }\n", 6, 5,
		"nodes[0].name", "missing required key 'name'");
}

Test(cfg_env, rejects_empty_node_list)
{
	ENV_ERR(HEAD "nodes: []\n", 5, 8, "nodes", "expected at least one node");
}

Test(cfg_env, rejects_unknown_tier)
{
	ENV_ERR("apiVersion: mlctl/v1\nkind: Environment\nname: e1\n"
		"tier: production\n" NODES,
		4, 7, "tier",
		"expected one of dev, test, staging or prod, found 'production'");
}

Test(cfg_env, rejects_unknown_router_driver)
{
	ENV_ERR(HEAD NODES "router: { driver: envoy }\n", 8, 19, "router.driver",
		"expected one of none, nginx or haproxy, found 'envoy'");
}

Test(cfg_env, rejects_unknown_strategy_type)
{
	ENV_ERR(HEAD NODES "strategy: { type: shadow }\n", 8, 19, "strategy.type",
		"expected one of recreate, rolling, bluegreen or canary, found "
		"'shadow'");
}

Test(cfg_env, rejects_unknown_no_data_policy)
{
	ENV_ERR(HEAD NODES CANARY "  analysis: { no_data: ignore }\n", 10, 24,
		"strategy.analysis.no_data",
		"expected one of fail, pause or pass, found 'ignore'");
}

Test(cfg_env, rejects_unknown_gate)
{
	ENV_ERR(HEAD NODES "gates: [smoke, canary]\n", 8, 16, "gates[1]",
		"expected a gate: unit, integration, smoke, load or acceptance, "
		"found 'canary'");
}

Test(cfg_env, rejects_gate_listed_twice)
{
	ENV_ERR(HEAD NODES "gates: [smoke, load, smoke]\n", 8, 22, "gates[2]",
		"gate 'smoke' is listed twice");
}

Test(cfg_env, rejects_name_with_a_space)
{
	ENV_ERR("apiVersion: mlctl/v1\nkind: Environment\nname: \"prod env\"\n"
		"tier: prod\n" NODES,
		3, 7, "name",
		"expected a name (letters, digits, '.', '_', '-'; at most 63), "
		"found 'prod env'");
}

Test(cfg_env, long_bad_value_is_shortened_at_a_character_boundary)
{
	/* 30 two-byte characters: the 37-byte cut falls inside one */
	ENV_ERR("apiVersion: mlctl/v1\nkind: Environment\nname: e1\n"
		"tier: \"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
		"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
		"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
		"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"\n" NODES,
		4, 7, "tier",
		"expected one of dev, test, staging or prod, found "
		"'\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
		"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
		"\xC3\xA9\xC3\xA9...'");
}

Test(cfg_env, rejects_wrong_api_version)
{
	ENV_ERR("apiVersion: mlctl/v2\nkind: Environment\nname: e1\ntier: prod\n" NODES,
		1, 13, "apiVersion", "expected 'mlctl/v1', found 'mlctl/v2'");
}

Test(cfg_env, rejects_missing_api_version)
{
	ENV_ERR("kind: Environment\nname: e1\ntier: prod\n" NODES, 1, 1,
		"apiVersion", "missing required key 'apiVersion'");
}

Test(cfg_env, rejects_wrong_kind)
{
	ENV_ERR("apiVersion: mlctl/v1\nkind: Release\nname: e1\ntier: prod\n" NODES,
		2, 7, "kind", "expected kind 'Environment', found 'Release'");
}

/* ---- strategy keys and node references ---------------------------------- */

Test(cfg_env, rejects_steps_on_a_rolling_strategy)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: rolling\n"
		"  steps: [ { weight: 10 } ]\n",
		10, 3, "strategy.steps",
		"'steps' applies to canary strategies, not rolling");
}

Test(cfg_env, rejects_max_surge_on_bluegreen)
{
	ENV_ERR(HEAD NODES
		"strategy:\n"
		"  type: bluegreen\n"
		"  max_surge: 1\n",
		10, 3, "strategy.max_surge",
		"'max_surge' applies to rolling and canary strategies, not "
		"bluegreen");
}

#define FOUR_NODES                                                            \
	"nodes:\n"                                                            \
	"  - { name: n1, url: \"http://127.0.0.1:9001\" }\n"                  \
	"  - { name: n2, url: \"http://127.0.0.1:9002\" }\n"                  \
	"  - { name: n3, url: \"http://127.0.0.1:9003\" }\n"                  \
	"  - { name: n4, url: \"http://127.0.0.1:9004\" }\n"

Test(cfg_env, rejects_pool_naming_an_unknown_node)
{
	ENV_ERR(HEAD FOUR_NODES
		"strategy:\n"
		"  type: bluegreen\n"
		"  pools: { blue: [n1, n2], green: [n3, n9] }\n",
		12, 40, "strategy.pools.green[1]",
		"no node named 'n9' in environment 'e1'");
}

Test(cfg_env, rejects_overlapping_pools_at_the_green_entry)
{
	ENV_ERR(HEAD FOUR_NODES
		"strategy:\n"
		"  type: bluegreen\n"
		"  pools:\n"
		"    blue: [n1, n2]\n"
		"    green: [n2, n3]\n",
		14, 13, "strategy.pools.green[0]",
		"node 'n2' is in both pools (blue at line 13)");
}

Test(cfg_env, rejects_pools_without_green)
{
	ENV_ERR(HEAD FOUR_NODES
		"strategy:\n"
		"  type: bluegreen\n"
		"  pools: { blue: [n1, n2] }\n",
		12, 10, "strategy.pools", "expected both 'blue' and 'green' pools");
}

Test(cfg_env, rejects_unknown_canary_node_with_position)
{
	ENV_ERR(HEAD FOUR_NODES
		"strategy:\n"
		"  type: canary\n"
		"  canary_nodes: [n4, n5]\n",
		12, 22, "strategy.canary_nodes[1]",
		"no node named 'n5' in environment 'e1'");
}

Test(cfg_env, rejects_canary_nodes_that_leave_no_stable_node)
{
	ENV_ERR(HEAD NODES CANARY "  canary_nodes: [n1, n2]\n", 10, 18,
		"strategy.canary_nodes",
		"canary_nodes must leave at least one stable node");
}

Test(cfg_env, rejects_canary_with_one_node)
{
	ENV_ERR(HEAD "nodes: [ { name: n1, url: \"http://127.0.0.1:9001\" } ]\n"
		"strategy: { type: canary }\n",
		6, 19, "strategy.type",
		"canary needs at least 2 nodes (canary and stable)");
}

Test(cfg_env, rejects_bluegreen_with_one_node)
{
	ENV_ERR(HEAD "nodes: [ { name: n1, url: \"http://127.0.0.1:9001\" } ]\n"
		"strategy: { type: bluegreen }\n",
		6, 19, "strategy.type", "bluegreen needs at least 2 nodes (two pools)");
}

Test(cfg_env, rejects_duplicate_node_name_at_the_second)
{
	ENV_ERR(HEAD
		"nodes:\n"
		"  - { name: n1, url: \"http://127.0.0.1:9001\" }\n"
		"  - { name: n1, url: \"http://127.0.0.1:9002\" }\n",
		7, 13, "nodes[1].name", "duplicate node name 'n1' (also at line 6)");
}

Test(cfg_env, rejects_promotion_from_itself)
{
	ENV_ERR(HEAD NODES "promotes_from: e1\n", 8, 16, "promotes_from",
		"an environment cannot promote from itself");
}

Test(cfg_env, rejects_exec_driver_without_commands)
{
	ENV_ERR(HEAD NODES "node_driver: exec\n", 8, 14, "exec",
		"node_driver exec needs an 'exec' block with load, unload and "
		"ready commands");
}

Test(cfg_env, rejects_exec_block_with_the_v2_driver)
{
	ENV_ERR(HEAD NODES "exec: { load: x, unload: y, ready: z }\n", 8, 7, "exec",
		"'exec' applies to node_driver exec, not v2");
}

Test(cfg_env, rejects_exec_block_missing_ready)
{
	ENV_ERR(HEAD NODES "node_driver: exec\nexec: { load: x, unload: y }\n", 9, 7,
		"exec.ready", "missing required key 'ready'");
}

Test(cfg_env, rejects_empty_auth_token_env)
{
	ENV_ERR(HEAD NODES "auth: { token_env: \"\" }\n", 8, 20, "auth.token_env",
		"expected a non-empty string");
}

/* ---- checks floors ------------------------------------------------------- */

Test(cfg_env, rejects_acceptance_floor_with_the_wrong_threshold_side)
{
	ENV_ERR(HEAD NODES
		"checks:\n"
		"  acceptance: { metric: accuracy, max: 0.9 }\n",
		9, 40, "checks.acceptance.max",
		"metric accuracy is higher-is-better: give 'min', not 'max'");
}

Test(cfg_env, rejects_load_floor_with_bad_duration)
{
	ENV_ERR(HEAD NODES "checks: { load: { duration: soon } }\n", 8, 29,
		"checks.load.duration",
		"expected a duration like 250ms, 10s, 2m or 1h, found 'soon'");
}

Test(cfg_env, rejects_unknown_check)
{
	ENV_ERR(HEAD NODES "checks: { smok: { timeout: 2s } }\n", 8, 11,
		"checks.smok", "unknown key 'smok' (did you mean 'smoke'?)");
}

/* ---- all errors of a file ------------------------------------------------ */

Test(cfg_env, reports_every_error_of_a_file)
{
	const char *p = cfgt_write("envs/e1.yaml",
				   HEAD NODES
				   "managed: maybe\n"
				   "router: { driver: nginx, listen: \"127.0.0.1\" }\n"
				   "strategy: { type: rolling, max_surge: lots }\n");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *e = NULL;
	cr_assert_eq(cfg_env_load(p, &e, &d), -1);
	cr_assert_eq(d.len, 3, "%s", cfgt_dump(&d));
	cfgt_expect(&d, p, 8, 10, "managed", "expected true or false, found 'maybe'");
	cfgt_expect(&d, p, 9, 34, "router.listen",
		    "expected host:port like 127.0.0.1:8410, found '127.0.0.1'");
	cfgt_expect(&d, p, 10, 39, "strategy.max_surge",
		    "expected a node count like 1 or a percentage like 25%, found "
		    "'lots'");
	/* formatted as file:line:col: error: path: message */
	char *s = ml_diag_format(&d.items[0]);
	char want[512];
	snprintf(want, sizeof(want),
		 "%s:8:10: error: managed: expected true or false, found 'maybe'", p);
	cr_assert_str_eq(s, want);
	free(s);
	ml_diags_release(&d);
}
