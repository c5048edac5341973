/* repo.c — loaded model versions, published as reference-counted immutable
 * snapshots (see repo.h), the load pipeline (fetch -> sha256 -> parse ->
 * bind -> publish) and the repository index. Fetching and parsing happen
 * on a thread-pool thread; only publishing takes the mutex. */
#include "repo.h"

#include "fetch.h"
#include "sha256.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ======================================================================
 * versions and snapshots
 * ==================================================================== */

void repo_version_get(struct ms_version *v)
{
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void version_free(struct ms_version *v)
{
	cfg_model_free(v->m);
	contract_release(&v->contract);
	free(v->model);
	free(v->version);
	free(v->artifact);
	free(v);
}

void repo_version_put(struct ms_version *v)
{
	if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
		version_free(v);
}

static void snapshot_free(struct repo_snapshot *s)
{
	for (size_t i = 0; i < s->n_models; i++) {
		for (size_t j = 0; j < s->models[i].n; j++)
			repo_version_put(s->models[i].versions[j]);
		free(s->models[i].versions);
		free(s->models[i].name);
	}
	free(s->models);
	free(s);
}

void repo_snapshot_put(struct repo_snapshot *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		snapshot_free(s);
}

/* A copy of s sharing its versions (each gets a reference). */
static struct repo_snapshot *snapshot_copy(const struct repo_snapshot *s)
{
	struct repo_snapshot *c = xcalloc(1, sizeof *c);
	atomic_init(&c->refs, 1);
	c->n_models = s->n_models;
	c->models = xcalloc(s->n_models ? s->n_models : 1, sizeof *c->models);
	for (size_t i = 0; i < s->n_models; i++) {
		c->models[i].name = xstrdup(s->models[i].name);
		c->models[i].n = s->models[i].n;
		c->models[i].versions =
			xcalloc(s->models[i].n ? s->models[i].n : 1, sizeof(struct ms_version *));
		for (size_t j = 0; j < s->models[i].n; j++) {
			c->models[i].versions[j] = s->models[i].versions[j];
			repo_version_get(c->models[i].versions[j]);
		}
	}
	return c;
}

static void snapshot_count(struct repo_snapshot *s)
{
	s->n_versions = 0;
	for (size_t i = 0; i < s->n_models; i++)
		s->n_versions += s->models[i].n;
}

/* Make `next` current. Caller holds the mutex; consumes next's reference. */
static void publish(struct repo *r, struct repo_snapshot *next)
{
	snapshot_count(next);
	next->gen = atomic_load(&r->gen) + 1;
	struct repo_snapshot *old = r->cur;
	r->cur = next;
	atomic_store_explicit(&r->gen, next->gen, memory_order_release);
	repo_snapshot_put(old);
}

void repo_init(struct repo *r, struct metrics *mx)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	r->cur = xcalloc(1, sizeof *r->cur);
	atomic_init(&r->cur->refs, 1);
	r->cur->models = xcalloc(1, sizeof *r->cur->models);
	r->mx = mx;
	r->fetch_timeout_ms = 30000;
}

static void state_free(struct repo_state *st)
{
	free(st->model);
	free(st->version);
	free(st->state);
	free(st->reason);
}

void repo_release(struct repo *r)
{
	repo_snapshot_put(r->cur);
	for (size_t i = 0; i < r->n_states; i++)
		state_free(&r->states[i]);
	free(r->states);
	pthread_mutex_destroy(&r->mu);
	memset(r, 0, sizeof *r);
}

struct repo_snapshot *repo_acquire(struct repo *r)
{
	pthread_mutex_lock(&r->mu);
	struct repo_snapshot *s = r->cur;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&r->mu);
	return s;
}

bool repo_is_current(const struct repo *r, const struct repo_snapshot *s)
{
	return atomic_load_explicit(&((struct repo *)r)->gen, memory_order_acquire) == s->gen;
}

const struct repo_model *repo_find_model(const struct repo_snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n_models; i++)
		if (strcmp(s->models[i].name, name) == 0)
			return &s->models[i];
	return NULL;
}

struct ms_version *repo_find_version(const struct repo_model *m, const char *version)
{
	if (!m || m->n == 0)
		return NULL;
	if (!version) {
		struct ms_version *best = m->versions[0];
		for (size_t j = 1; j < m->n; j++)
			if (m->versions[j]->seq > best->seq)
				best = m->versions[j];
		return best;
	}
	for (size_t j = 0; j < m->n; j++)
		if (strcmp(m->versions[j]->version, version) == 0)
			return m->versions[j];
	return NULL;
}

/* ======================================================================
 * index states (LOADING / UNAVAILABLE), under the mutex
 * ==================================================================== */

static bool str_eq_null(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void state_remove(struct repo *r, const char *model, const char *version, bool any_version)
{
	for (size_t i = 0; i < r->n_states;) {
		struct repo_state *st = &r->states[i];
		if (strcmp(st->model, model) == 0 &&
		    (any_version || str_eq_null(st->version, version) || !st->version)) {
			state_free(st);
			r->states[i] = r->states[--r->n_states];
		} else {
			i++;
		}
	}
}

static void state_set(struct repo *r, const char *model, const char *version,
		      const char *state, const char *reason)
{
	state_remove(r, model, version, false);
	if (r->n_states >= 256) {
		/* bounded: forget the oldest */
		state_free(&r->states[0]);
		memmove(r->states, r->states + 1, (r->n_states - 1) * sizeof *r->states);
		r->n_states--;
	}
	r->states = xrealloc(r->states, (r->n_states + 1) * sizeof *r->states);
	struct repo_state *st = &r->states[r->n_states++];
	st->model = xstrdup(model);
	st->version = version ? xstrdup(version) : NULL;
	st->state = xstrdup(state);
	st->reason = xstrdup(reason ? reason : "");
}

bool repo_is_loading(struct repo *r, const char *name)
{
	bool found = false;
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n_states; i++)
		if (strcmp(r->states[i].model, name) == 0 &&
		    strcmp(r->states[i].state, "LOADING") == 0)
			found = true;
	pthread_mutex_unlock(&r->mu);
	return found;
}

/* ======================================================================
 * loading
 * ==================================================================== */

static bool is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n == 64;
}

static char *tok_strdup(const struct mjson_doc *d, long t)
{
	size_t n = mjson_str_copy(d, &d->toks[t], NULL, 0);
	char *s = xmalloc(n + 1);
	mjson_str_copy(d, &d->toks[t], s, n + 1);
	return s;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || *s == '/' || *s == '"' || *s == '\\' ||
		    (unsigned char)*s == 0x7f)
			return false;
	return true;
}

struct repo_load *repo_load_new(struct repo *r, const char *name, const char *body,
				size_t len, int *status, char *msg, size_t msgsz)
{
	struct mjson_doc d = MJSON_DOC_INIT;
	struct repo_load *job = xcalloc(1, sizeof *job);
	job->model = xstrdup(name);
	*status = 400;
	if (!valid_name(name)) {
		snprintf(msg, msgsz, "invalid model name");
		goto fail;
	}
	long params = -1;
	bool blank = true;
	for (size_t i = 0; i < len; i++)
		blank &= body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n';
	if (!blank) {
		char err[160];
		if (mjson_parse(&d, body, len, err, sizeof err) < 0) {
			snprintf(msg, msgsz, "request body: not valid JSON: %s", err);
			goto fail;
		}
		if (d.toks[0].type != MJSON_OBJECT) {
			snprintf(msg, msgsz, "request body must be a JSON object");
			goto fail;
		}
		params = mjson_obj_get(&d, 0, "parameters");
		if (params >= 0 && d.toks[params].type != MJSON_OBJECT) {
			snprintf(msg, msgsz, "'parameters' must be an object");
			goto fail;
		}
	}
	long t;
	if (params >= 0 && (t = mjson_obj_get(&d, (size_t)params, "version")) >= 0) {
		if (d.toks[t].type != MJSON_STRING || d.toks[t].len == 0) {
			snprintf(msg, msgsz, "parameters.version must be a non-empty string");
			goto fail;
		}
		job->version = tok_strdup(&d, t);
		if (!valid_name(job->version)) {
			snprintf(msg, msgsz, "parameters.version: invalid version string");
			goto fail;
		}
	}
	if (params >= 0 && (t = mjson_obj_get(&d, (size_t)params, "artifact")) >= 0) {
		if (d.toks[t].type != MJSON_STRING) {
			snprintf(msg, msgsz, "parameters.artifact must be a string");
			goto fail;
		}
		job->artifact = tok_strdup(&d, t);
		if (!fetch_uri_ok(job->artifact)) {
			snprintf(msg, msgsz,
				 "parameters.artifact: '%.200s' is not an absolute path or an "
				 "http(s) URL",
				 job->artifact);
			goto fail;
		}
	}
	if (params >= 0 && (t = mjson_obj_get(&d, (size_t)params, "sha256")) >= 0) {
		char hex[80];
		if (d.toks[t].type != MJSON_STRING ||
		    mjson_str_copy(&d, &d.toks[t], hex, sizeof hex) != 64 || !is_hex64(hex)) {
			snprintf(msg, msgsz, "parameters.sha256 must be 64 hex digits");
			goto fail;
		}
		for (size_t i = 0; i < 64; i++)
			job->sha256[i] = (char)tolower((unsigned char)hex[i]);
		job->sha256[64] = 0;
	}
	if (params >= 0 && (t = mjson_obj_get(&d, (size_t)params, "expectations")) >= 0) {
		char err[400];
		if (contract_from_json(&job->contract, &d, (size_t)t, err, sizeof err) < 0) {
			snprintf(msg, msgsz, "parameters.%s", err);
			goto fail;
		}
		job->has_contract = job->contract.declared;
	}
	if (job->artifact && !job->sha256[0]) {
		/* the node verifies what it loads: no digest, no load */
		snprintf(msg, msgsz,
			 "parameters.sha256 (the artifact's 64 hex digits) is required "
			 "with parameters.artifact");
		goto fail;
	}
	if (!job->artifact) {
		/* reload: the most recent (or the named) version's artifact */
		pthread_mutex_lock(&r->mu);
		struct ms_version *v =
			repo_find_version(repo_find_model(r->cur, name), job->version);
		if (v) {
			job->artifact = xstrdup(v->artifact);
			if (!job->sha256[0])
				memcpy(job->sha256, v->sha256, 65);
			if (!job->version)
				job->version = xstrdup(v->version);
			if (!job->has_contract && v->contract.declared) {
				contract_release(&job->contract);
				struct cfg_expectations e = { v->contract.inputs, v->contract.n_inputs,
							      v->contract.outputs,
							      v->contract.n_outputs };
				contract_from_cfg(&job->contract, &e);
				job->has_contract = true;
			}
		}
		pthread_mutex_unlock(&r->mu);
		if (!job->artifact) {
			*status = 400;
			snprintf(msg, msgsz,
				 "parameters.artifact is required (model '%s' has no loaded "
				 "version to reload)",
				 name);
			goto fail;
		}
	}
	mjson_doc_release(&d);
	pthread_mutex_lock(&r->mu);
	state_set(r, name, job->version, "LOADING", "");
	pthread_mutex_unlock(&r->mu);
	return job;
fail:
	mjson_doc_release(&d);
	repo_load_free(job);
	return NULL;
}

struct repo_load *repo_load_from_release(const struct cfg_release *rel)
{
	struct repo_load *job = xcalloc(1, sizeof *job);
	job->model = xstrdup(rel->model);
	job->version = xstrdup(rel->version);
	job->artifact = xstrdup(rel->artifact_path ? rel->artifact_path : rel->artifact_uri);
	if (rel->artifact_path && rel->artifact_path[0] != '/') {
		/* make it absolute, for reloads later */
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd)) {
			free(job->artifact);
			job->artifact = path_join(cwd, rel->artifact_path);
		}
	}
	snprintf(job->sha256, sizeof job->sha256, "%s", rel->sha256);
	if (rel->expectations.n_inputs) {
		contract_from_cfg(&job->contract, &rel->expectations);
		job->has_contract = true;
	}
	return job;
}

static void first_diag(struct ml_diags *dg, char *msg, size_t msgsz)
{
	if (dg->len == 0) {
		snprintf(msg, msgsz, "invalid model file");
		return;
	}
	char *s = ml_diag_format(&dg->items[0]);
	snprintf(msg, msgsz, "%s%s", s,
		 dg->len > 1 ? " (and more errors)" : "");
	free(s);
}

void repo_load_prepare(struct repo *r, struct repo_load *job)
{
	char *buf = NULL;
	size_t len = 0;
	struct ml_diags dg = ML_DIAGS_INIT;
	struct cfg_model *m = NULL;
	char err[400];
	job->status = 400;
	if (fetch_artifact(job->artifact, r->fetch_timeout_ms, &buf, &len, err, sizeof err) < 0) {
		snprintf(job->msg, sizeof job->msg, "%s", err);
		goto out;
	}
	char hex[65];
	sha256_hex(buf, len, hex);
	if (job->sha256[0] && strcmp(hex, job->sha256) != 0) {
		snprintf(job->msg, sizeof job->msg,
			 "artifact %s: checksum mismatch: expected sha256 %s, got %s",
			 job->artifact, job->sha256, hex);
		goto out;
	}
	if (cfg_model_load_buffer(job->artifact, buf, len, &m, &dg) < 0) {
		char d0[400];
		first_diag(&dg, d0, sizeof d0);
		snprintf(job->msg, sizeof job->msg, "artifact is not a valid model: %s", d0);
		goto out;
	}
	if (strcmp(job->model, m->name) != 0) {
		snprintf(job->msg, sizeof job->msg, "artifact %s is model '%s', not '%s'",
			 job->artifact, m->name, job->model);
		goto out;
	}
	if (job->version && strcmp(job->version, m->version) != 0) {
		snprintf(job->msg, sizeof job->msg,
			 "artifact %s is version '%s' of model '%s', not '%s'", job->artifact,
			 m->version, m->name, job->version);
		goto out;
	}
	struct ms_version *v = xcalloc(1, sizeof *v);
	atomic_init(&v->refs, 1);
	v->model = xstrdup(job->model);
	v->version = xstrdup(m->version);
	v->artifact = xstrdup(job->artifact);
	memcpy(v->sha256, hex, 65);
	if (job->has_contract) {
		v->contract = job->contract;
		memset(&job->contract, 0, sizeof job->contract);
		job->has_contract = false;
	} else {
		contract_from_model(&v->contract, m);
	}
	v->m = m;
	m = NULL;
	if (contract_check_model(&v->contract, v->m, err, sizeof err) < 0) {
		snprintf(job->msg, sizeof job->msg, "artifact %s does not fit its contract: %s",
			 job->artifact, err);
		version_free(v);
		goto out;
	}
	char **names = xcalloc(v->contract.n_inputs + 1, sizeof *names);
	for (size_t i = 0; i < v->contract.n_inputs; i++)
		names[i] = v->contract.inputs[i].name;
	struct ml_err e = ML_ERR_INIT;
	int rc = cfg_model_bind(v->m, names, v->contract.n_inputs, &e);
	free(names);
	if (rc < 0) {
		snprintf(job->msg, sizeof job->msg, "artifact %.200s: %.300s", job->artifact, e.msg);
		ml_err_release(&e);
		version_free(v);
		goto out;
	}
	v->error_ppm = llround(v->m->faults.error_rate * 1e6);
	job->v = v;
	job->status = 0;
out:
	cfg_model_free(m);
	ml_diags_release(&dg);
	free(buf);
}

int repo_load_commit(struct repo *r, struct repo_load *job)
{
	pthread_mutex_lock(&r->mu);
	if (job->status != 0 || !job->v) {
		state_remove(r, job->model, job->version, false);
		/* a failed reload of a serving version leaves it READY; any other
		 * failure is listed (without a version when none was given) */
		bool serving = job->version &&
			       repo_find_version(repo_find_model(r->cur, job->model), job->version);
		if (!serving)
			state_set(r, job->model, job->version, "UNAVAILABLE", job->msg);
		pthread_mutex_unlock(&r->mu);
		atomic_fetch_add(&r->mx->loads_failed, 1);
		return job->status ? job->status : 400;
	}
	struct ms_version *v = job->v;
	job->v = NULL;
	v->seq = ++r->seq;
	v->loaded_ns = now_ns();
	v->stats = metrics_series_get(r->mx, v->model, v->version);
	struct repo_snapshot *next = snapshot_copy(r->cur);
	struct repo_model *rm = NULL;
	for (size_t i = 0; i < next->n_models; i++)
		if (strcmp(next->models[i].name, v->model) == 0)
			rm = &next->models[i];
	if (!rm) {
		next->models = xrealloc(next->models, (next->n_models + 1) * sizeof *next->models);
		rm = &next->models[next->n_models++];
		rm->name = xstrdup(v->model);
		rm->versions = NULL;
		rm->n = 0;
	}
	size_t j;
	for (j = 0; j < rm->n; j++)
		if (strcmp(rm->versions[j]->version, v->version) == 0)
			break;
	if (j < rm->n) {
		/* reload: replace in place; the old one lives on while in use */
		repo_version_put(rm->versions[j]);
		memmove(rm->versions + j, rm->versions + j + 1, (rm->n - j - 1) * sizeof *rm->versions);
		rm->n--;
	}
	rm->versions = xrealloc(rm->versions, (rm->n + 1) * sizeof *rm->versions);
	rm->versions[rm->n++] = v;
	state_remove(r, v->model, v->version, false);
	state_remove(r, v->model, job->version, false);
	publish(r, next);
	pthread_mutex_unlock(&r->mu);
	atomic_fetch_add(&r->mx->loads_ok, 1);
	free(job->version);
	job->version = xstrdup(v->version);
	return 0;
}

void repo_load_free(struct repo_load *job)
{
	if (!job)
		return;
	free(job->model);
	free(job->version);
	free(job->artifact);
	contract_release(&job->contract);
	if (job->v)
		version_free(job->v);
	free(job);
}

int repo_unload(struct repo *r, const char *model, const char *version, char *msg,
		size_t msgsz)
{
	pthread_mutex_lock(&r->mu);
	const struct repo_model *cm = repo_find_model(r->cur, model);
	if (!cm || (version && !repo_find_version(cm, version))) {
		pthread_mutex_unlock(&r->mu);
		if (!cm)
			snprintf(msg, msgsz, "unknown model '%s'", model);
		else
			snprintf(msg, msgsz, "model '%s' has no version '%s' loaded", model, version);
		return 404;
	}
	struct repo_snapshot *next = snapshot_copy(r->cur);
	size_t i;
	for (i = 0; i < next->n_models; i++)
		if (strcmp(next->models[i].name, model) == 0)
			break;
	struct repo_model *rm = &next->models[i];
	for (size_t j = 0; j < rm->n;) {
		struct ms_version *v = rm->versions[j];
		if (!version || strcmp(v->version, version) == 0) {
			state_set(r, model, v->version, "UNAVAILABLE", "unloaded");
			repo_version_put(v);
			memmove(rm->versions + j, rm->versions + j + 1,
				(rm->n - j - 1) * sizeof *rm->versions);
			rm->n--;
		} else {
			j++;
		}
	}
	if (rm->n == 0) {
		free(rm->versions);
		free(rm->name);
		next->models[i] = next->models[--next->n_models];
	}
	publish(r, next);
	pthread_mutex_unlock(&r->mu);
	atomic_fetch_add(&r->mx->unloads, 1);
	return 0;
}

static void index_entry(struct mbuf *out, bool *first, const char *model, const char *version,
			const char *state, const char *reason)
{
	if (!*first)
		mbuf_addc(out, ',');
	*first = false;
	mbuf_adds(out, "{\"name\":");
	mbuf_add_jstr(out, model, strlen(model));
	if (version) {
		mbuf_adds(out, ",\"version\":");
		mbuf_add_jstr(out, version, strlen(version));
	}
	mbuf_adds(out, ",\"state\":");
	mbuf_add_jstr(out, state, strlen(state));
	mbuf_adds(out, ",\"reason\":");
	mbuf_add_jstr(out, reason, strlen(reason));
	mbuf_addc(out, '}');
}

void repo_index(struct repo *r, bool ready_only, struct mbuf *out)
{
	pthread_mutex_lock(&r->mu);
	bool first = true;
	mbuf_addc(out, '[');
	for (size_t i = 0; i < r->cur->n_models; i++) {
		const struct repo_model *m = &r->cur->models[i];
		for (size_t j = 0; j < m->n; j++)
			index_entry(out, &first, m->name, m->versions[j]->version, "READY", "");
	}
	if (!ready_only)
		for (size_t i = 0; i < r->n_states; i++)
			index_entry(out, &first, r->states[i].model, r->states[i].version,
				    r->states[i].state, r->states[i].reason);
	mbuf_addc(out, ']');
	pthread_mutex_unlock(&r->mu);
}

const char **repo_loaded_list(const struct repo_snapshot *s, size_t *n)
{
	const char **l = xcalloc(2 * s->n_versions + 2, sizeof *l);
	size_t k = 0;
	for (size_t i = 0; i < s->n_models; i++)
		for (size_t j = 0; j < s->models[i].n; j++) {
			l[2 * k] = s->models[i].name;
			l[2 * k + 1] = s->models[i].versions[j]->version;
			k++;
		}
	*n = k;
	return l;
}
