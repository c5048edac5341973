/* cfgtest.c — the config tests' temporary directories, document writers
 * and diagnostic assertions (see cfgtest.h). */
#define _XOPEN_SOURCE 700
#include "cfgtest.h"

#include "sha256.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *cfgt_dir;
static char **owned;
static size_t n_owned;

static char *keep(char *s)
{
	owned = realloc(owned, (n_owned + 1) * sizeof(*owned));
	cr_assert_not_null(owned);
	owned[n_owned++] = s;
	return s;
}

void cfgt_setup(void)
{
	char tmpl[] = "/tmp/mlctl-cfgtest-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
	cfgt_dir = strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void cfgt_teardown(void)
{
	if (cfgt_dir)
		nftw(cfgt_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(cfgt_dir);
	cfgt_dir = NULL;
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = 0;
}

static char *full_path(const char *rel)
{
	cr_assert_not_null(cfgt_dir, "the suite needs .init = cfgt_setup");
	size_t n = strlen(cfgt_dir) + strlen(rel) + 2;
	char *p = malloc(n);
	cr_assert_not_null(p);
	snprintf(p, n, "%s/%s", cfgt_dir, rel);
	/* parent directories */
	for (char *s = p + strlen(cfgt_dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	return p;
}

const char *cfgt_write_bytes(const char *rel, const void *data, size_t len)
{
	char *p = keep(full_path(rel));
	FILE *f = fopen(p, "wb");
	cr_assert_not_null(f, "cannot write %s: %s", p, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return p;
}

const char *cfgt_write(const char *rel, const char *text)
{
	return cfgt_write_bytes(rel, text, strlen(text));
}

const char *cfgt_sha(const char *rel)
{
	static char hex[65];
	char *p = full_path(rel);
	cr_assert_eq(sha256_file_hex(p, hex), 0, "cannot hash %s", p);
	free(p);
	return hex;
}

const char *cfgt_write_sha(const char *rel, const char *text,
			   const char *sha_of)
{
	const char *sha = cfgt_sha(sha_of);
	size_t n = strlen(text) + 1;
	for (const char *s = text; (s = strstr(s, "@SHA@")); s += 5)
		n += 64;
	char *buf = malloc(n);
	cr_assert_not_null(buf);
	char *o = buf;
	for (const char *s = text; *s;) {
		if (strncmp(s, "@SHA@", 5) == 0) {
			memcpy(o, sha, 64);
			o += 64;
			s += 5;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	const char *p = cfgt_write(rel, buf);
	free(buf);
	return p;
}

const char *cfgt_dump(const struct ml_diags *d)
{
	static char buf[8192];
	size_t len = 0;
	buf[0] = '\0';
	if (d->len == 0)
		snprintf(buf, sizeof(buf), "(no diagnostics)");
	for (size_t i = 0; i < d->len && len < sizeof(buf) - 1; i++) {
		char *s = ml_diag_format(&d->items[i]);
		int w = snprintf(buf + len, sizeof(buf) - len, "\n  %s", s);
		if (w > 0)
			len += (size_t)w;
		free(s);
	}
	return buf;
}

void cfgt_expect(const struct ml_diags *d, const char *file, unsigned line,
		 unsigned col, const char *path, const char *msg)
{
	const struct ml_diag *dg = NULL;
	for (size_t i = 0; i < d->len && !dg; i++)
		if (strcmp(d->items[i].msg, msg) == 0)
			dg = &d->items[i];
	cr_assert_not_null(dg, "no diagnostic says \"%s\"; got:%s", msg,
			   cfgt_dump(d));
	cr_assert_str_eq(dg->file ? dg->file : "", file ? file : "",
			 "file of \"%s\"", msg);
	cr_assert_eq(dg->line, line, "line of \"%s\": %u, expected %u", msg,
		     dg->line, line);
	cr_assert_eq(dg->col, col, "column of \"%s\": %u, expected %u", msg,
		     dg->col, col);
	if (path)
		cr_assert_str_eq(dg->path ? dg->path : "(none)", path,
				 "key path of \"%s\"", msg);
	else
		cr_assert_null(dg->path, "\"%s\" has key path %s, expected none",
			       msg, dg->path);
}

void cfgt_expect_only(const struct ml_diags *d, const char *file,
		      unsigned line, unsigned col, const char *path,
		      const char *msg)
{
	cfgt_expect(d, file, line, col, path, msg);
	cr_assert_eq(d->len, 1, "expected one diagnostic, got %zu:%s", d->len,
		     cfgt_dump(d));
}

void cfgt_env_error(const char *rel, const char *text, unsigned line,
		    unsigned col, const char *path, const char *msg)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *env = (struct cfg_env *)1;
	const char *p = cfgt_write(rel, text);
	cr_assert_eq(cfg_env_load(p, &env, &d), -1, "loaded a bad environment");
	cr_assert_null(env);
	cfgt_expect_only(&d, p, line, col, path, msg);
	ml_diags_release(&d);
}

void cfgt_pipeline_error(const char *rel, const char *text, unsigned line,
			 unsigned col, const char *path, const char *msg)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_pipeline *pl = (struct cfg_pipeline *)1;
	const char *p = cfgt_write(rel, text);
	cr_assert_eq(cfg_pipeline_load(p, &pl, &d), -1, "loaded a bad pipeline");
	cr_assert_null(pl);
	cfgt_expect_only(&d, p, line, col, path, msg);
	ml_diags_release(&d);
}

void cfgt_model_error(const char *rel, const char *text, unsigned line,
		      unsigned col, const char *path, const char *msg)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_model *m = (struct cfg_model *)1;
	const char *p = cfgt_write(rel, text);
	cr_assert_eq(cfg_model_load(p, &m, &d), -1, "loaded a bad model");
	cr_assert_null(m);
	cfgt_expect_only(&d, p, line, col, path, msg);
	ml_diags_release(&d);
}

void cfgt_release_fixture(void)
{
	cfgt_write("models/eta-2.0.0.yaml",
		   "apiVersion: mlctl/v1\n"
		   "kind: Model\n"
		   "name: eta\n"
		   "version: 2.0.0\n"
		   "type: linear\n"
		   "output: eta\n"
		   "terms:\n"
		   "  - { coef: 1.07, ratio: [d, v] }\n"
		   "  - { coef: 0.05 }\n");
	cfgt_write("cases.csv", "v,d,eta\n50,10,0.264\n");
}

void cfgt_release_error(const char *rel, const char *text, unsigned line,
			unsigned col, const char *path, const char *msg)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_release *r = (struct cfg_release *)1;
	const char *p = cfgt_write_sha(rel, text, "models/eta-2.0.0.yaml");
	cr_assert_eq(cfg_release_load(p, &r, &d), -1, "loaded a bad release");
	cr_assert_null(r);
	cfgt_expect_only(&d, p, line, col, path, msg);
	ml_diags_release(&d);
}

struct cfg_env *cfgt_env_ok(const char *rel, const char *text)
{
	struct ml_diags d = ML_DIAGS_INIT;
	struct cfg_env *env = NULL;
	const char *p = cfgt_write(rel, text);
	int rc = cfg_env_load(p, &env, &d);
	cr_assert_eq(rc, 0, "environment did not load:%s", cfgt_dump(&d));
	cr_assert_not_null(env);
	ml_diags_release(&d);
	return env;
}
