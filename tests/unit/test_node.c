/* test_node.c — the pure parts of core/node: exec placeholder expansion and
 * its quoting (checked by running the result through sh), V2 infer request
 * bodies, response parsing and URLs, and argument checks that fail before
 * any node is asked. Processes and real nodes: tests/integration. */
#define _DEFAULT_SOURCE
#include "config.h"
#include "exitcode.h"
#include "node.h"
#include "util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct node_exec_vars vars = {
	.node = "n1",
	.url = "http://127.0.0.1:8101",
	.model = "eta",
	.version = "2.0.0",
	.artifact = "/srv/models/eta 2.0.0.yaml",
	.sha256 = "abc",
};

/* What sh prints for `printf '%s|' <args>` with the expanded template. */
static char *sh_output(const char *tmpl, const struct node_exec_vars *v)
{
	char *cmd = node_exec_expand(tmpl, v);
	char *full = xasprintf("printf '%%s|' %s", cmd);
	free(cmd);
	FILE *p = popen(full, "r");
	cr_assert_not_null(p);
	char buf[1024];
	size_t n = fread(buf, 1, sizeof buf - 1, p);
	buf[n] = '\0';
	pclose(p);
	free(full);
	return xstrdup(buf);
}

Test(node_exec, values_are_quoted_outside_quotes)
{
	char *s = node_exec_expand("load {model} {version} {artifact}", &vars);
	cr_assert_str_eq(s, "load 'eta' '2.0.0' '/srv/models/eta 2.0.0.yaml'");
	free(s);
}

Test(node_exec, hostile_values_stay_one_word_in_every_context)
{
	struct node_exec_vars v = vars;
	v.version = "1'; touch /tmp/pwned; echo \"$HOME `id` \\";
	char *want = xasprintf("%s|", v.version);
	const char *tmpls[] = { "{version}", "'{version}'", "\"{version}\"",
				"x{version}y" };
	for (size_t i = 0; i < 4; i++) {
		char *got = sh_output(tmpls[i], &v);
		if (i == 3) {
			char *w3 = xasprintf("x%sy|", v.version);
			cr_assert_str_eq(got, w3, "template %s", tmpls[i]);
			free(w3);
		} else {
			cr_assert_str_eq(got, want, "template %s", tmpls[i]);
		}
		free(got);
	}
	free(want);
}

Test(node_exec, unknown_braces_and_shell_expansions_are_left_alone)
{
	char *s = node_exec_expand("echo {nope} ${node} {node", &vars);
	cr_assert_str_eq(s, "echo {nope} ${node} {node");
	free(s);
	/* NULL values become empty strings */
	struct node_exec_vars v = { 0 };
	s = node_exec_expand("x {artifact} y", &v);
	cr_assert_str_eq(s, "x '' y");
	free(s);
}

Test(node_infer, request_body_is_v2_json)
{
	double v[2] = { 50, 20.5 }, d[2] = { 10, 1 }, k[1] = { 3 };
	struct node_input in[3] = {
		{ "v", NULL, v, 2 },
		{ "d", "FP32", d, 2 },
		{ "k", "INT64", k, 1 },
	};
	char *b = node_infer_body(in, 3, "req-1");
	cr_assert_str_eq(
		b, "{\"id\":\"req-1\",\"inputs\":["
		   "{\"name\":\"v\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[50.0,20.5]},"
		   "{\"name\":\"d\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[10.0,1.0]},"
		   "{\"name\":\"k\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[3]}]}");
	free(b);
}

Test(node_infer, response_is_parsed_with_nested_data)
{
	const char *body =
		"{\"model_name\":\"eta\",\"model_version\":\"2.0.0\",\"id\":\"x\","
		"\"outputs\":[{\"name\":\"eta\",\"datatype\":\"FP64\",\"shape\":[2,1],"
		"\"data\":[[0.25],[1.5]]},{\"name\":\"ok\",\"datatype\":\"BOOL\","
		"\"shape\":[1],\"data\":[true]}]}";
	struct node_infer_result r = { 0 };
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(node_infer_parse(body, strlen(body), &r, &err), 0, "%s",
		     err.msg);
	cr_assert_str_eq(r.model_name, "eta");
	cr_assert_str_eq(r.model_version, "2.0.0");
	cr_assert_str_eq(r.id, "x");
	cr_assert_eq(r.n_outputs, 2);
	const struct node_output *o = node_infer_output(&r, "eta");
	cr_assert_not_null(o);
	cr_assert_eq(o->n, 2);
	cr_assert_float_eq(o->data[1], 1.5, 1e-12);
	cr_assert_float_eq(node_infer_output(&r, "ok")->data[0], 1, 0);
	cr_assert_null(node_infer_output(&r, "nope"));
	node_infer_result_release(&r);
}

Test(node_infer, malformed_responses_are_errors)
{
	const char *bad[] = { "", "[]", "{\"outputs\":{}}",
			      "{\"outputs\":[{\"data\":[1]}]}",
			      "{\"outputs\":[{\"name\":\"e\",\"data\":[\"a\"]}]}" };
	for (size_t i = 0; i < 5; i++) {
		struct node_infer_result r = { 0 };
		struct ml_err err = ML_ERR_INIT;
		cr_assert_eq(node_infer_parse(bad[i], strlen(bad[i]), &r, &err),
			     -1, "%s", bad[i]);
		cr_assert_eq(err.code, ML_EXIT_OPERATIONAL);
		node_infer_result_release(&r);
	}
}

Test(node_infer, urls_are_escaped)
{
	char *u = node_infer_url("http://h:1/", "my model", "1.0/beta");
	cr_assert_str_eq(u, "http://h:1/v2/models/my%20model/versions/1.0%2Fbeta/infer");
	free(u);
	u = node_infer_url("http://h:1/prefix", "eta", NULL);
	cr_assert_str_eq(u, "http://h:1/prefix/v2/models/eta/infer");
	free(u);
}

Test(node, artifact_paths_are_made_absolute)
{
	struct cfg_release rel;
	memset(&rel, 0, sizeof rel);
	rel.artifact_uri = "models/eta-2.0.0.yaml";
	rel.artifact_path = "examples/eta/models/eta-2.0.0.yaml";
	char *a = node_artifact_ref(&rel);
	cr_assert_eq(a[0], '/', "%s", a);
	cr_assert(str_has_suffix(a, "/eta-2.0.0.yaml"), "%s", a);
	free(a);
	rel.artifact_remote = true;
	rel.artifact_uri = "https://models.example/eta.yaml";
	rel.artifact_path = NULL;
	a = node_artifact_ref(&rel);
	cr_assert_str_eq(a, "https://models.example/eta.yaml");
	free(a);
}

Test(node, bad_calls_fail_before_any_node_is_asked)
{
	struct cfg_node nd = { .name = "n1", .url = "http://127.0.0.1:1" };
	const struct cfg_node *p = &nd;
	struct cfg_env env;
	memset(&env, 0, sizeof env);
	env.node_driver = CFG_NODE_V2;
	struct node_call call = NODE_CALL_INIT;
	call.op = NODE_OP_LOAD; /* no release */
	struct node_result r;
	cr_assert_eq(node_run_many(&env, &p, 1, &call, NULL, &r), 1);
	cr_assert_eq(r.err.code, ML_EXIT_USAGE);
	cr_assert_str_eq(r.err.msg,
			 "node n1 (http://127.0.0.1:1): load ?: no release given");
	node_result_release(&r);
	cr_assert_str_eq(node_op_name(NODE_OP_VERSION_READY), "version-ready");
}
