/* test_config_project.c — Pipelines and the checks that span documents
 * (project_check): stages and promotes_from name existing environments and
 * form no cycle; node names and addresses are unique across environments
 * and reported at the later of two clashing values. */
#include "cfgtest.h"
#include "config.h"
#include "project.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(cfg_pipeline, .init = cfgt_setup, .fini = cfgt_teardown, .timeout = 30);
TestSuite(cfg_project, .init = cfgt_setup, .fini = cfgt_teardown, .timeout = 30);

/* ---- pipelines ----------------------------------------------------------- */

#define PIPE_HEAD "apiVersion: mlctl/v1\nkind: Pipeline\nname: p\n"

static struct cfg_pipeline *pipeline_ok(const char *rel, const char *text)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_pipeline *p = NULL;
	cr_assert_eq(cfg_pipeline_load(cfgt_write(rel, text), &p, &d), 0, "%s",
		     cfgt_dump(&d));
	ml_diags_release(&d);
	return p;
}

Test(cfg_pipeline, block_style_stages_load_in_order)
{
	struct cfg_pipeline *p = pipeline_ok("pipelines/p.yaml",
					     PIPE_HEAD "stages:\n"
						       "  - env: dev\n"
						       "  - env: prod\n");
	cr_assert_str_eq(p->name, "p");
	cr_assert_eq(p->n_stages, 2);
	cr_assert_str_eq(p->stages[1].name, "prod");
	cr_assert_eq(p->stages[1].pos.line, 6);
	cr_assert_eq(p->stages[1].pos.col, 10);
	cfg_pipeline_free(p);
}

Test(cfg_pipeline, rejects_stage_listed_twice_at_the_second)
{
	cfgt_pipeline_error("pipelines/p.yaml",
			    PIPE_HEAD "stages: [ { env: dev }, { env: dev } ]\n", 4,
			    32, "stages[1].env", "environment 'dev' is already stage 0");
}

Test(cfg_pipeline, rejects_empty_stages)
{
	cfgt_pipeline_error("pipelines/p.yaml", PIPE_HEAD "stages: []\n", 4, 9,
			    "stages", "expected at least one stage");
}

Test(cfg_pipeline, rejects_stage_written_as_a_bare_name)
{
	cfgt_pipeline_error("pipelines/p.yaml", PIPE_HEAD "stages: [dev]\n", 4, 10,
			    "stages[0]", "expected a mapping, found 'dev'");
}

Test(cfg_pipeline, rejects_misspelt_stage_key_and_the_key_it_misses)
{
	const char *p = cfgt_write("pipelines/p.yaml",
				   PIPE_HEAD "stages: [ { evn: dev } ]\n");
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_pipeline *pl = NULL;
	cr_assert_eq(cfg_pipeline_load(p, &pl, &d), -1);
	cr_assert_eq(d.len, 2, "%s", cfgt_dump(&d));
	cfgt_expect(&d, p, 4, 13, "stages[0].evn",
		    "unknown key 'evn' (did you mean 'env'?)");
	cfgt_expect(&d, p, 4, 11, "stages[0].env", "missing required key 'env'");
	ml_diags_release(&d);
}

Test(cfg_pipeline, rejects_missing_stages)
{
	cfgt_pipeline_error("pipelines/p.yaml", PIPE_HEAD, 1, 1, "stages",
			    "missing required key 'stages'");
}

Test(cfg_pipeline, rejects_wrong_api_version)
{
	cfgt_pipeline_error("pipelines/p.yaml",
			    "apiVersion: v1\nkind: Pipeline\nname: p\n"
			    "stages: [ { env: dev } ]\n",
			    1, 13, "apiVersion", "expected 'mlctl/v1', found 'v1'");
}

/* ---- environments side by side ------------------------------------------- */

/* An environment file with one node; extra lines after line 6. */
static const char *env_file(const char *name, const char *tier, int port,
			    const char *extra)
{
	char rel[64], text[1024];
	snprintf(rel, sizeof(rel), "envs/%s.yaml", name);
	snprintf(text, sizeof(text),
		 "apiVersion: mlctl/v1\n"
		 "kind: Environment\n"
		 "name: %s\n"
		 "tier: %s\n"
		 "nodes:\n"
		 "  - { name: %s-1, url: \"http://127.0.0.1:%d\" }\n"
		 "%s",
		 name, tier, name, port, extra ? extra : "");
	return cfgt_write(rel, text);
}

struct set {
	struct cfg_env *envs[8];
	size_t n;
	struct ml_diags d;
};

static void set_add(struct set *s, const char *path)
{
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(cfg_env_load(path, &s->envs[s->n], &d), 0, "%s", cfgt_dump(&d));
	s->n++;
}

static void set_check(struct set *s, struct cfg_pipeline *const *pipes,
		      size_t n_pipes)
{
	memset(&s->d, 0, sizeof(s->d));
	project_check(s->envs, s->n, pipes, n_pipes, NULL, 0, &s->d);
}

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->n; i++)
		cfg_env_free(s->envs[i]);
	ml_diags_release(&s->d);
}

static const char *msgf(const char *fmt, const char *a, const char *b)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), fmt, a, b);
	return buf[k];
}

Test(cfg_project, rejects_pipeline_stage_naming_a_missing_env_with_did_you_mean)
{
	struct set s = { .n = 0 };
	set_add(&s, env_file("dev", "dev", 9001, NULL));
	set_add(&s, env_file("staging", "staging", 9002, NULL));
	struct cfg_pipeline *p = pipeline_ok(
		"pipelines/p.yaml",
		PIPE_HEAD "stages: [ { env: dev }, { env: stagin }, { env: qa } ]\n");
	set_check(&s, &p, 1);
	cr_assert_eq(s.d.len, 2, "%s", cfgt_dump(&s.d));
	cfgt_expect(&s.d, p->file, 4, 32, "stages[1].env",
		    "no environment named 'stagin' (did you mean 'staging'?)");
	cfgt_expect(&s.d, p->file, 4, 49, "stages[2].env",
		    "no environment named 'qa'");
	cfg_pipeline_free(p);
	set_free(&s);
}

Test(cfg_project, stage_naming_a_broken_env_is_not_reported_again)
{
	struct set s = { .n = 0 };
	set_add(&s, env_file("dev", "dev", 9001, NULL));
	struct cfg_pipeline *p = pipeline_ok(
		"pipelines/p.yaml", PIPE_HEAD "stages: [ { env: dev }, { env: prod } ]\n");
	char *broken[] = { "prod" };
	project_check(s.envs, s.n, &p, 1, broken, 1, &s.d);
	cr_assert_eq(s.d.len, 0, "%s", cfgt_dump(&s.d));
	cfg_pipeline_free(p);
	set_free(&s);
}

Test(cfg_project, rejects_promotes_from_a_missing_env_with_did_you_mean)
{
	struct set s = { .n = 0 };
	set_add(&s, env_file("staging", "staging", 9001, NULL));
	const char *prod = env_file("prod", "prod", 9002, "promotes_from: stagng\n");
	set_add(&s, prod);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, prod, 7, 16, "promotes_from",
			 "no environment named 'stagng' (did you mean 'staging'?)");
	set_free(&s);
}

Test(cfg_project, rejects_promotion_cycle_once_at_its_last_member)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001, "promotes_from: c\n");
	const char *b = env_file("b", "test", 9002, "promotes_from: a\n");
	const char *c = env_file("c", "prod", 9003, "promotes_from: b\n");
	const char *d = env_file("d", "prod", 9004, "promotes_from: c\n");
	set_add(&s, a);
	set_add(&s, b);
	set_add(&s, c);
	set_add(&s, d); /* leads into the cycle, is not part of it */
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, c, 7, 16, "promotes_from",
			 "promotion order forms a cycle: c <- b <- a <- c");
	set_free(&s);
}

Test(cfg_project, rejects_two_env_promotion_cycle)
{
	struct set s = { .n = 0 };
	const char *x = env_file("x", "test", 9001, "promotes_from: y\n");
	const char *y = env_file("y", "prod", 9002, "promotes_from: x\n");
	set_add(&s, x);
	set_add(&s, y);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, y, 7, 16, "promotes_from",
			 "promotion order forms a cycle: y <- x <- y");
	set_free(&s);
}

Test(cfg_project, rejects_node_name_used_in_two_environments_at_the_later)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001, NULL);
	const char *b = cfgt_write("envs/b.yaml",
				   "apiVersion: mlctl/v1\nkind: Environment\nname: b\n"
				   "tier: test\nnodes:\n"
				   "  - { name: b-1, url: \"http://127.0.0.1:9002\" }\n"
				   "  - { name: a-1, url: \"http://127.0.0.1:9003\" }\n");
	set_add(&s, a);
	set_add(&s, b);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, b, 7, 13, "nodes[1].name",
			 msgf("node name 'a-1' is already used in environment 'a' "
			      "(%s:6:13)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, rejects_node_url_used_in_two_environments_at_the_later)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001, NULL);
	const char *b = env_file("b", "test", 9001, NULL);
	set_add(&s, a);
	set_add(&s, b);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, b, 6, 23, "nodes[0].url",
			 msgf("address 127.0.0.1:9001 is already used by node 'a-1' "
			      "of environment 'a' (%s:6:23)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, localhost_and_127_0_0_1_are_the_same_address)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001, NULL);
	const char *b = cfgt_write("envs/b.yaml",
				   "apiVersion: mlctl/v1\nkind: Environment\nname: b\n"
				   "tier: test\nnodes:\n"
				   "  - { name: b-1, url: \"https://localhost:9001/v\" }\n");
	set_add(&s, a);
	set_add(&s, b);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, b, 6, 23, "nodes[0].url",
			 msgf("address localhost:9001 is already used by node 'a-1' "
			      "of environment 'a' (%s:6:23)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, rejects_equal_node_urls_in_one_environment_at_the_later)
{
	struct set s = { .n = 0 };
	const char *a = cfgt_write("envs/a.yaml",
				   "apiVersion: mlctl/v1\nkind: Environment\nname: a\n"
				   "tier: test\nnodes:\n"
				   "  - { name: a-1, url: \"http://127.0.0.1:9001\" }\n"
				   "  - { name: a-2, url: \"http://127.0.0.1:9001\" }\n");
	set_add(&s, a);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, a, 7, 23, "nodes[1].url",
			 msgf("address 127.0.0.1:9001 is already used by node 'a-1' "
			      "of environment 'a' (%s:6:23)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, rejects_router_listen_colliding_with_a_node_of_another_env)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001, NULL);
	const char *b = env_file("b", "test", 9002,
				 "router: { driver: nginx, listen: \"127.0.0.1:9001\" }\n");
	set_add(&s, a);
	set_add(&s, b);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, b, 7, 34, "router.listen",
			 msgf("address 127.0.0.1:9001 is already used by node 'a-1' "
			      "of environment 'a' (%s:6:23)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, rejects_router_listen_colliding_with_its_own_node)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001,
				 "router:\n  driver: haproxy\n  listen: 127.0.0.1:9001\n");
	set_add(&s, a);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, a, 9, 11, "router.listen",
			 msgf("address 127.0.0.1:9001 is already used by node 'a-1' "
			      "of environment 'a' (%s:6:23)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, rejects_preview_colliding_with_another_envs_listen)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001,
				 "router: { driver: nginx, listen: \"127.0.0.1:9100\" }\n");
	const char *b = env_file("b", "test", 9002,
				 "router: { driver: haproxy, listen: \"127.0.0.1:9200\", "
				 "preview: \"127.0.0.1:9100\" }\n");
	set_add(&s, a);
	set_add(&s, b);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, b, 7, 63, "router.preview",
			 msgf("address 127.0.0.1:9100 is already used by router "
			      "listen of environment 'a' (%s:7:34)",
			      a, NULL));
	set_free(&s);
}

Test(cfg_project, rejects_environment_name_defined_twice)
{
	struct set s = { .n = 0 };
	const char *a = env_file("a", "dev", 9001, NULL);
	const char *b = cfgt_write("envs/b.yaml",
				   "apiVersion: mlctl/v1\nkind: Environment\nname: a\n"
				   "tier: test\nnodes:\n"
				   "  - { name: b-1, url: \"http://127.0.0.1:9002\" }\n");
	set_add(&s, a);
	set_add(&s, b);
	set_check(&s, NULL, 0);
	cfgt_expect_only(&s.d, b, 3, 7, "name",
			 msgf("environment 'a' is already defined in %s", a, NULL));
	set_free(&s);
}

Test(cfg_project, project_load_reports_cross_errors_of_a_directory)
{
	env_file("a", "dev", 9001, NULL);
	const char *b = env_file("b", "test", 9001, "promotes_from: a\n");
	struct project p;
	struct ml_diags d = ML_DIAGS_INIT;
	cr_assert_eq(project_load(cfgt_dir, &p, &d), -1);
	cr_assert_eq(p.n_envs, 2);
	cfgt_expect_only(&d, b, 6, 23,
			 "nodes[0].url",
			 msgf("address 127.0.0.1:9001 is already used by node 'a-1' "
			      "of environment 'a' (%s:6:23)",
			      p.envs[0]->file, NULL));
	project_release(&p);
	ml_diags_release(&d);
}

Test(cfg_project, yaml_files_are_listed_sorted_and_recursively)
{
	cfgt_write("x/b.yaml", "a: 1\n");
	cfgt_write("x/a.yml", "a: 1\n");
	cfgt_write("x/notes.txt", "a: 1\n");
	cfgt_write("x/.hidden.yaml", "a: 1\n");
	cfgt_write("x/sub/c.yaml", "a: 1\n");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/x", cfgt_dir);
	char **files = NULL;
	cr_assert_eq(project_yaml_files(dir, false, &files), 0);
	cr_assert_not_null(files[0]);
	cr_assert(strstr(files[0], "/x/a.yml") != NULL, "%s", files[0]);
	cr_assert(strstr(files[1], "/x/b.yaml") != NULL, "%s", files[1]);
	cr_assert_null(files[2]);
	project_paths_free(files);
	cr_assert_eq(project_yaml_files(dir, true, &files), 0);
	size_t n = 0;
	while (files[n])
		n++;
	cr_assert_eq(n, 3);
	cr_assert(strstr(files[2], "/x/sub/c.yaml") != NULL, "%s", files[2]);
	project_paths_free(files);
}
