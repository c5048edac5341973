/* ledger_read.c — reading the ledger back: history (first-parent walk of
 * env/<name>, newest first), the current and previous good release, a
 * version's latest deployment through its tag, and the rejected list.
 * Metadata comes from the commit's trailers, written by ledger.c. */
#include "ledger_internal.h"

#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "util.h"

/* ---- Entries ---------------------------------------------------------- */

void ledger_entry_free(struct ledger_entry *e)
{
	if (!e)
		return;
	free(e->env);
	free(e->summary);
	free(e->action);
	free(e->outcome);
	free(e->model);
	free(e->version);
	free(e->strategy);
	free(e->detail);
	free(e->reason);
	free(e->author_name);
	free(e->author_email);
	free(e->state_json);
	free(e->manifest);
	free(e);
}

bool ledger_entry_serving(const struct ledger_entry *e)
{
	if (!e || !e->outcome || !e->model || !e->version)
		return false;
	if (strcmp(e->outcome, LEDGER_OUTCOME_DEPLOYED) == 0)
		return true;
	return e->action && strcmp(e->action, LEDGER_ACTION_ROLLBACK) == 0 &&
	       strcmp(e->outcome, LEDGER_OUTCOME_ROLLED_BACK) == 0;
}

static void set_field(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static int entry_load(struct ledger *l, struct ledger_entry *e, git_commit *c,
		      unsigned flags, struct ml_err *err)
{
	if ((flags & LEDGER_LOAD_STATE) && !e->state_json &&
	    ledger_blob_of(l, c, LEDGER_FILE_STATE, &e->state_json, NULL, err) < 0)
		return -1;
	if ((flags & LEDGER_LOAD_MANIFEST) && !e->manifest &&
	    ledger_blob_of(l, c, LEDGER_FILE_MANIFEST, &e->manifest,
			   &e->manifest_len, err) < 0)
		return -1;
	return 0;
}

static int entry_from_commit(struct ledger *l, const char *env, git_commit *c,
			     unsigned flags, struct ledger_entry **out,
			     struct ml_err *err)
{
	git_message_trailer_array tr = { 0 };
	struct ledger_entry *e = xcalloc(1, sizeof(*e));
	*out = NULL;
	git_oid_tostr(e->oid, sizeof(e->oid), git_commit_id(c));
	e->env = xstrdup(env);
	const char *sum = git_commit_summary(c);
	e->summary = xstrdup(sum ? sum : "");
	const git_signature *a = git_commit_author(c);
	e->author_name = xstrdup(a && a->name ? a->name : "");
	e->author_email = xstrdup(a && a->email ? a->email : "");
	e->when = (long long)git_commit_time(c);
	e->tz_offset_min = git_commit_time_offset(c);

	const char *msg = git_commit_message(c);
	if (msg && git_message_trailers(&tr, msg) == 0) {
		for (size_t i = 0; i < tr.count; i++) {
			const char *k = tr.trailers[i].key;
			const char *v = tr.trailers[i].value;
			if (!strcmp(k, "Action"))
				set_field(&e->action, v);
			else if (!strcmp(k, "Outcome"))
				set_field(&e->outcome, v);
			else if (!strcmp(k, "Model"))
				set_field(&e->model, v);
			else if (!strcmp(k, "Version"))
				set_field(&e->version, v);
			else if (!strcmp(k, "Strategy"))
				set_field(&e->strategy, v);
			else if (!strcmp(k, "Detail"))
				set_field(&e->detail, v);
			else if (!strcmp(k, "Reason"))
				set_field(&e->reason, v);
			else if (!strcmp(k, "Duration"))
				e->duration_s = strtod(v, NULL);
		}
	}
	git_message_trailer_array_free(&tr);
	git_error_clear(); /* a message without trailers is not an error */
	if (entry_load(l, e, c, flags, err) < 0) {
		ledger_entry_free(e);
		return -1;
	}
	*out = e;
	return 0;
}

/* Load blobs into an entry produced by a walk without them. */
static int entry_load_by_oid(struct ledger *l, struct ledger_entry *e,
			     unsigned flags, struct ml_err *err)
{
	git_oid id;
	git_commit *c = NULL;
	if (!flags)
		return 0;
	int rc = git_oid_fromstr(&id, e->oid);
	if (rc == 0)
		rc = git_commit_lookup(&c, l->repo, &id);
	if (rc < 0)
		return ledger_git_err(err, rc, "cannot read commit %s", e->oid);
	rc = entry_load(l, e, c, flags, err);
	git_commit_free(c);
	return rc;
}

/* ---- Walking ---------------------------------------------------------- */

/* Visitor of the walk: owns *e unless it sets *e to NULL (taking it).
 * Returns like ledger_history_cb. */
typedef int (*walk_fn)(struct ledger_entry **e, void *payload);

/* First-parent walk of env's branch from the tip. Records are a straight
 * line of first parents, so this is their order, however close in time. */
static int walk(struct ledger *l, const char *env, unsigned flags, walk_fn fn,
		void *payload, struct ml_err *err)
{
	char *refname = NULL;
	git_commit *c = NULL;
	int ret = -1;
	if (ledger_branch_ref(env, &refname, err) < 0 ||
	    ledger_tip(l, refname, &c, err) < 0)
		goto out;
	while (c) {
		struct ledger_entry *e = NULL;
		if (entry_from_commit(l, env, c, flags, &e, err) < 0)
			goto out;
		int rc = fn(&e, payload);
		ledger_entry_free(e);
		if (rc < 0) {
			ret = rc;
			goto out;
		}
		if (rc > 0)
			break;
		git_commit *p = NULL;
		if (git_commit_parentcount(c) > 0) {
			int grc = git_commit_parent(&p, c, 0);
			if (grc < 0) {
				ledger_git_err(err, grc,
					       "cannot read the parent of %s",
					       git_oid_tostr_s(git_commit_id(c)));
				goto out;
			}
		}
		git_commit_free(c);
		c = p;
	}
	ret = 0;
out:
	git_commit_free(c);
	free(refname);
	return ret;
}

struct history_ctx {
	ledger_history_cb cb;
	void *payload;
};

static int history_fn(struct ledger_entry **e, void *payload)
{
	struct history_ctx *h = payload;
	return h->cb(*e, h->payload);
}

int ledger_history(struct ledger *l, const char *env, unsigned flags,
		   ledger_history_cb cb, void *payload, struct ml_err *err)
{
	struct history_ctx h = { cb, payload };
	return walk(l, env, flags, history_fn, &h, err);
}

struct current_ctx {
	struct ledger_entry *good, *tip;
	bool want_good;
};

static int current_fn(struct ledger_entry **e, void *payload)
{
	struct current_ctx *c = payload;
	bool serving = ledger_entry_serving(*e);
	if (!c->tip) {
		if (serving && c->want_good) {
			/* The tip is the good release: hand out two copies. */
			c->good = *e;
			*e = NULL;
			return 1;
		}
		c->tip = *e;
		*e = NULL;
		return c->want_good ? 0 : 1;
	}
	if (serving) {
		c->good = *e;
		*e = NULL;
		return 1;
	}
	return 0;
}

static struct ledger_entry *entry_dup(const struct ledger_entry *e)
{
	struct ledger_entry *d = xcalloc(1, sizeof(*d));
	memcpy(d->oid, e->oid, sizeof(d->oid));
#define DUP(f) d->f = e->f ? xstrdup(e->f) : NULL
	DUP(env);
	DUP(summary);
	DUP(action);
	DUP(outcome);
	DUP(model);
	DUP(version);
	DUP(strategy);
	DUP(detail);
	DUP(reason);
	DUP(author_name);
	DUP(author_email);
	DUP(state_json);
#undef DUP
	if (e->manifest)
		d->manifest = xstrndup(e->manifest, e->manifest_len);
	d->manifest_len = e->manifest_len;
	d->when = e->when;
	d->tz_offset_min = e->tz_offset_min;
	d->duration_s = e->duration_s;
	return d;
}

int ledger_current(struct ledger *l, const char *env, unsigned flags,
		   struct ledger_entry **good, struct ledger_entry **tip,
		   struct ml_err *err)
{
	struct current_ctx c = { NULL, NULL, good != NULL };
	if (good)
		*good = NULL;
	if (tip)
		*tip = NULL;
	if (walk(l, env, 0, current_fn, &c, err) < 0 ||
	    (c.good && entry_load_by_oid(l, c.good, flags, err) < 0) ||
	    (c.tip && entry_load_by_oid(l, c.tip, flags, err) < 0)) {
		ledger_entry_free(c.good);
		ledger_entry_free(c.tip);
		return -1;
	}
	if (c.good && !c.tip && tip)
		c.tip = entry_dup(c.good); /* the tip was the good release */
	if (good)
		*good = c.good;
	else
		ledger_entry_free(c.good);
	if (tip)
		*tip = c.tip;
	else
		ledger_entry_free(c.tip);
	return 0;
}

/* ---- Rejected releases ------------------------------------------------ */

/* The rejected list at env's tip (an empty array without history). */
static int tip_rejected(struct ledger *l, const char *env, json_t **out,
			struct ml_err *err)
{
	char *refname = NULL;
	git_commit *c = NULL;
	int ret = -1;
	*out = NULL;
	if (ledger_branch_ref(env, &refname, err) == 0 &&
	    ledger_tip(l, refname, &c, err) == 0 &&
	    ledger_rejected_of(l, c, out, err) == 0)
		ret = 0;
	git_commit_free(c);
	free(refname);
	return ret;
}

static json_t *find_rejection(json_t *arr, const char *model,
			      const char *version)
{
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *m = json_string_value(json_object_get(it, "model"));
		const char *v = json_string_value(json_object_get(it, "version"));
		if (m && v && !strcmp(m, model) && !strcmp(v, version))
			return it;
	}
	return NULL;
}

int ledger_is_rejected(struct ledger *l, const char *env, const char *model,
		       const char *version, bool *rejected, char **reason,
		       struct ml_err *err)
{
	json_t *arr = NULL;
	*rejected = false;
	if (reason)
		*reason = NULL;
	if (tip_rejected(l, env, &arr, err) < 0)
		return -1;
	json_t *it = find_rejection(arr, model, version);
	if (it) {
		*rejected = true;
		const char *r = json_string_value(json_object_get(it, "reason"));
		if (reason)
			*reason = xstrdup(r ? r : "");
	}
	json_decref(arr);
	return 0;
}

static char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return xstrdup(s ? s : "");
}

int ledger_rejections(struct ledger *l, const char *env,
		      struct ledger_rejection **out, size_t *n,
		      struct ml_err *err)
{
	json_t *arr = NULL;
	*out = NULL;
	*n = 0;
	if (tip_rejected(l, env, &arr, err) < 0)
		return -1;
	size_t len = json_array_size(arr);
	if (len) {
		struct ledger_rejection *r = xcalloc(len, sizeof(*r));
		for (size_t i = 0; i < len; i++) {
			json_t *it = json_array_get(arr, i);
			r[i].model = jstr(it, "model");
			r[i].version = jstr(it, "version");
			r[i].reason = jstr(it, "reason");
			r[i].when = jstr(it, "when");
			r[i].by = jstr(it, "by");
		}
		*out = r;
		*n = len;
	}
	json_decref(arr);
	return 0;
}

void ledger_rejections_free(struct ledger_rejection *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].model);
		free(r[i].version);
		free(r[i].reason);
		free(r[i].when);
		free(r[i].by);
	}
	free(r);
}

/* ---- Previous good release -------------------------------------------- */

struct prev_ctx {
	const char *model;
	char *except; /* owned */
	bool except_given;
	json_t *rejected;
	struct ledger_entry *found;
};

static int prev_fn(struct ledger_entry **pe, void *payload)
{
	struct prev_ctx *p = payload;
	struct ledger_entry *e = *pe;
	if (!ledger_entry_serving(e))
		return 0;
	if (!p->except) {
		/* The first serving record is the current release. */
		p->except = xstrdup(e->version);
		if (!p->except_given)
			return 0;
	}
	if (!strcmp(e->version, p->except) ||
	    (p->model && strcmp(e->model, p->model) != 0) ||
	    find_rejection(p->rejected, e->model, e->version))
		return 0;
	p->found = e;
	*pe = NULL;
	return 1;
}

int ledger_previous_good(struct ledger *l, const char *env, const char *model,
			 const char *except_version, unsigned flags,
			 struct ledger_entry **out, struct ml_err *err)
{
	struct prev_ctx p = { model, NULL, except_version != NULL, NULL, NULL };
	int ret = -1;
	*out = NULL;
	if (except_version)
		p.except = xstrdup(except_version);
	if (tip_rejected(l, env, &p.rejected, err) < 0 ||
	    walk(l, env, 0, prev_fn, &p, err) < 0 ||
	    (p.found && entry_load_by_oid(l, p.found, flags, err) < 0)) {
		ledger_entry_free(p.found);
		goto out;
	}
	*out = p.found;
	ret = 0;
out:
	json_decref(p.rejected);
	free(p.except);
	return ret;
}

/* ---- Deployments by tag ----------------------------------------------- */

int ledger_deployment(struct ledger *l, const char *env, const char *model,
		      const char *version, unsigned flags,
		      struct ledger_entry **out, struct ml_err *err)
{
	char *tagref = NULL;
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int ret = -1, rc;
	*out = NULL;
	if (!env || !model || !version) {
		ml_err_set(err, ML_EXIT_USAGE,
			   "ledger: a deployment needs env, model and version");
		goto out;
	}
	if (ledger_tag_ref(env, model, version, &tagref, err) < 0)
		goto out;
	rc = git_reference_lookup(&ref, l->repo, tagref);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		ret = 0;
		goto out;
	}
	if (rc == 0)
		rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	if (rc < 0) {
		ledger_git_err(err, rc, "cannot read %s", tagref);
		goto out;
	}
	ret = entry_from_commit(l, env, (git_commit *)obj, flags, out, err);
out:
	git_object_free(obj);
	git_reference_free(ref);
	free(tagref);
	return ret;
}

int ledger_manifest_of(struct ledger *l, const char *env, const char *model,
		       const char *version, char **manifest, size_t *len,
		       struct ml_err *err)
{
	struct ledger_entry *e = NULL;
	*manifest = NULL;
	if (len)
		*len = 0;
	if (ledger_deployment(l, env, model, version, LEDGER_LOAD_MANIFEST, &e,
			      err) < 0)
		return -1;
	if (e && e->manifest) {
		*manifest = e->manifest;
		if (len)
			*len = e->manifest_len;
		e->manifest = NULL;
	}
	ledger_entry_free(e);
	return 0;
}
