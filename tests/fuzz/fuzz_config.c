/* fuzz_config.c — libFuzzer target for the config model: each input goes
 * through the YAML layer (ydoc_load_buffer, with a walk of the tree that
 * would not end on a cycle), the Model buffer loader, every document loader
 * (from one temporary file per input, in a directory that holds the ETA
 * model files and cases.csv so releases reach their artifact and contract
 * checks), the cross-document checks against the repository's
 * environments, and the scalar parsers. Every diagnostic must format and be
 * valid UTF-8 (the JSON output needs it). Seeds: tests/fuzz/seeds/fuzz_config. */
#define _XOPEN_SOURCE 700
#include "config.h"
#include "err.h"
#include "project.h"
#include "yamldoc.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char doc_path[256];
static char work_dir[64];
static struct cfg_env *repo_envs[8];
static size_t n_repo_envs;

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = NULL;
	if (!in)
		return; /* not run from the repository root: shallower runs */
	out = fopen(to, "wb");
	if (out) {
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(out);
	}
	fclose(in);
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *ftw)
{
	(void)st;
	(void)fl;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	nftw(work_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char tmpl[] = "/tmp/mlctl-fuzz-config-XXXXXX";
	if (!mkdtemp(tmpl))
		abort();
	snprintf(work_dir, sizeof(work_dir), "%s", tmpl);
	atexit(cleanup);
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/models", tmpl);
	mkdir(p, 0755);
	static const char *const versions[] = { "1.0.0", "2.0.0", "2.1.0" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "examples/eta/models/eta-%s.yaml", versions[i]);
		snprintf(q, sizeof(q), "%s/models/eta-%s.yaml", tmpl, versions[i]);
		copy_file(p, q);
	}
	snprintf(q, sizeof(q), "%s/cases.csv", tmpl);
	copy_file("examples/eta/cases.csv", q);
	snprintf(doc_path, sizeof(doc_path), "%s/doc.yaml", tmpl);
	/* the repository's environments, the context for cross checks */
	static const char *const envs[] = { "envs/dev.yaml", "envs/test.yaml",
					    "envs/staging.yaml", "envs/prod.yaml" };
	for (size_t i = 0; i < 4; i++) {
		struct ml_diags d = ML_DIAGS_INIT;
		struct cfg_env *e = NULL;
		if (cfg_env_load(envs[i], &e, &d) == 0)
			repo_envs[n_repo_envs++] = e;
		ml_diags_release(&d);
	}
	return 0;
}

static int utf8_ok(const unsigned char *s)
{
	while (*s) {
		size_t need;
		if (*s < 0x80)
			need = 0;
		else if ((*s & 0xE0) == 0xC0)
			need = 1;
		else if ((*s & 0xF0) == 0xE0)
			need = 2;
		else if ((*s & 0xF8) == 0xF0)
			need = 3;
		else
			return 0;
		s++;
		for (size_t k = 0; k < need; k++, s++)
			if ((*s & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

/* Every diagnostic formats, is UTF-8, and names a file. */
static void check_diags(struct ml_diags *d)
{
	for (size_t i = 0; i < d->len; i++) {
		char *s = ml_diag_format(&d->items[i]);
		if (!utf8_ok((const unsigned char *)s) || !d->items[i].file ||
		    !d->items[i].msg[0]) {
			fprintf(stderr, "bad diagnostic: %s\n", s);
			abort();
		}
		free(s);
	}
	ml_diags_release(d);
}

/* A full walk: ends only if the tree has no cycle. Aliases share nodes,
 * so a budget keeps a wide DAG from taking exponential time. */
static size_t budget;

static size_t walk(const struct ydoc_node *n, int depth)
{
	if (depth > 200)
		abort(); /* deeper than the composer allows: a cycle */
	if (budget == 0)
		return 0;
	budget--;
	size_t count = 1;
	if (n->kind == YDOC_MAP) {
		for (size_t i = 0; i < n->n_pairs; i++)
			count += walk(n->pairs[i].key, depth + 1) +
				 walk(n->pairs[i].value, depth + 1);
	} else if (n->kind == YDOC_SEQ) {
		for (size_t i = 0; i < n->n_items; i++)
			count += walk(n->items[i], depth + 1);
	} else if (strlen(n->str) != n->len) {
		abort();
	}
	return count;
}

static void scalars(const char *s)
{
	long long ms;
	double f;
	char *host = NULL;
	int port;
	bool tls;
	cfg_parse_duration(s, &ms);
	cfg_parse_percent(s, &f);
	cfg_parse_rate(s, &f);
	if (cfg_parse_url(s, false, &host, &port, &tls) == 0 && (port < 1 || port > 65535))
		abort();
	free(host);
	host = NULL;
	if (cfg_parse_hostport(s, &host, &port) == 0 && (port < 1 || port > 65535))
		abort();
	free(host);
	cfg_is_sha256(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct ydoc *doc = NULL;
	if (ydoc_load_buffer("fuzz.yaml", (const char *)data, size, &doc, &d) == 0) {
		budget = 100000;
		walk(ydoc_root(doc), 0);
		ydoc_free(doc);
	}
	check_diags(&d);

	struct cfg_model *m = NULL;
	if (cfg_model_load_buffer("fuzz.yaml", (const char *)data, size, &m, &d) == 0) {
		char **names = m->inputs;
		struct ml_err err = ML_ERR_INIT;
		if (cfg_model_bind(m, names, m->n_inputs, &err) == 0) {
			double row[64] = { 0 };
			if (m->n_inputs <= 64) {
				for (size_t i = 0; i < m->n_inputs; i++)
					row[i] = 1.0 + (double)i;
				(void)cfg_model_eval(m, row);
			}
		}
		cfg_model_free(m);
	}
	check_diags(&d);

	FILE *f = fopen(doc_path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	struct cfg_env *env = NULL;
	cfg_env_load(doc_path, &env, &d);
	check_diags(&d);
	struct cfg_pipeline *pipe = NULL;
	cfg_pipeline_load(doc_path, &pipe, &d);
	check_diags(&d);
	struct cfg_release *rel = NULL;
	if (cfg_release_load(doc_path, &rel, &d) == 0) {
		free(cfg_expectations_to_json(&rel->expectations));
		cfg_release_free(rel);
	}
	check_diags(&d);
	if (cfg_model_load(doc_path, &m, &d) == 0)
		cfg_model_free(m);
	check_diags(&d);
	(void)cfg_peek_kind(doc_path);
	free(cfg_peek_name(doc_path));

	if (env || pipe) {
		struct cfg_env *envs[9];
		size_t n = 0;
		for (size_t i = 0; i < n_repo_envs; i++)
			envs[n++] = repo_envs[i];
		if (env)
			envs[n++] = env;
		char *broken[] = { "qa" };
		project_check(envs, n, pipe ? &pipe : NULL, pipe ? 1 : 0, broken, 1, &d);
		check_diags(&d);
	}
	cfg_env_free(env);
	cfg_pipeline_free(pipe);

	if (size < 256) {
		char s[256];
		memcpy(s, data, size);
		s[size] = '\0';
		scalars(s);
	}
	return 0;
}
