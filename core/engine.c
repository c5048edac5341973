/* engine.c — runs a plan step by step with a journal, and undoes the
 * applied steps in reverse when one fails. Undo rules: weights go back to
 * what they were before the step; a load is undone by unloading the new
 * version (the node then serves what it served before, which is still
 * loaded); an unload is undone by loading that release again. */
#include "engine.h"
#include "exitcode.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct applied {
	const struct plan_step *step;
	int *prev_live, *prev_preview; /* copies from before the step */
	char **prev_serving;           /* per step node, from before */
	bool *loaded;                  /* LOAD/UNLOAD: which step nodes took it */
};

struct run {
	const struct cfg_env *env;
	const struct plan *plan;
	const struct rstate_release *target;
	struct rstate *st;
	const struct engine_ops *ops;
	const struct engine_opts *o;
	struct engine_result *res;
	struct rstate_release before;  /* the env's release at the start */
	struct rstate_release prev;    /* and its previous (blue/green) */
	int *saved;                    /* weight a drained node returns to */
	struct applied *applied;
	size_t n_applied;
	json_t *journal;
	double t0, first_unload, last_ready;
	long long deadline; /* ms on the monotonic clock; 0 = none */
	int canary_percent; /* of the last canary weights applied */
	bool replaying;     /* resume: redoing done steps on paper */
};

static int *copy_ints(const int *v, size_t n)
{
	int *c = xmalloc((n + 1) * sizeof(*c));
	memcpy(c, v, n * sizeof(*v));
	return c;
}

static void emit(struct run *r, size_t index, const struct plan_step *s,
		 bool undo, int status, double ms, const char *error)
{
	if (r->replaying)
		return;
	if (status != -2) {
		json_t *j = json_object();
		json_object_set_new(j, "step", json_integer((json_int_t)index));
		json_object_set_new(j, "kind", json_string(step_kind_name(s->kind)));
		json_object_set_new(j, "text", json_string(s->text ? s->text : ""));
		json_object_set_new(j, "ms", json_real(ms));
		json_object_set_new(j, "ok", json_boolean(status == 0));
		if (undo)
			json_object_set_new(j, "undo", json_true());
		if (error)
			json_object_set_new(j, "error", json_string(error));
		json_array_append_new(r->journal, j);
	}
	if (!r->o->progress)
		return;
	struct engine_event ev = { index, r->plan->n_steps, s, undo, status, ms,
				   error };
	r->o->progress(&ev, r->o->progress_payload);
}

static long long remaining_ms(const struct run *r)
{
	if (!r->deadline)
		return -1;
	long long left = r->deadline - (long long)now_ms();
	return left > 0 ? left : 0;
}

/* The release to load when undoing an unload of `version`. */
static const struct rstate_release *release_of(const struct run *r,
					       const char *version)
{
	if (r->before.version && strcmp(r->before.version, version) == 0)
		return &r->before;
	if (r->prev.version && strcmp(r->prev.version, version) == 0)
		return &r->prev;
	if (strcmp(r->target->version, version) == 0)
		return r->target;
	return NULL;
}

static int apply_weights(struct run *r, const int *w, struct ml_err *err)
{
	if (r->ops->set_live(r->ops->ctx, w, err))
		return -1;
	memcpy(r->st->live, w, r->env->n_nodes * sizeof(*w));
	return 0;
}

/* Run one step forward. Returns 0, 1 (a check said no) or -1. */
static int step_forward(struct run *r, const struct plan_step *s,
			struct applied *a, struct ml_err *err)
{
	const struct engine_ops *ops = r->ops;
	size_t n = r->env->n_nodes;
	int rc = 0;
	switch (s->kind) {
	case STEP_DRAIN: {
		int *w = copy_ints(r->st->live, n);
		for (size_t i = 0; i < s->n_nodes; i++) {
			size_t k = s->nodes[i];
			if (w[k] > 0)
				r->saved[k] = w[k];
			w[k] = 0;
		}
		rc = apply_weights(r, w, err);
		free(w);
		break;
	}
	case STEP_UNDRAIN: {
		int *w = copy_ints(r->st->live, n);
		for (size_t i = 0; i < s->n_nodes; i++) {
			size_t k = s->nodes[i];
			w[k] = r->saved[k] > 0 ? r->saved[k] : 1;
		}
		rc = apply_weights(r, w, err);
		free(w);
		break;
	}
	case STEP_WEIGHTS:
	case STEP_SWITCH:
		rc = apply_weights(r, s->weights, err);
		if (rc == 0 && s->canary_percent > 0)
			r->canary_percent = s->canary_percent;
		break;
	case STEP_PREVIEW: {
		int *w = xcalloc(n + 1, sizeof(*w));
		for (size_t i = 0; i < s->n_nodes; i++)
			w[s->nodes[i]] = 1;
		rc = ops->set_preview(ops->ctx, w, err);
		if (rc == 0)
			memcpy(r->st->preview, w, n * sizeof(*w));
		free(w);
		break;
	}
	case STEP_LOAD:
		/* a partial load is undone for the nodes that took it */
		rc = ops->load(ops->ctx, s->nodes, s->n_nodes, r->target, a->loaded,
			       err);
		break;
	case STEP_UNLOAD:
		if (!r->first_unload)
			r->first_unload = now_ms();
		/* a partial unload is undone for the nodes that took it */
		rc = ops->unload(ops->ctx, s->nodes, s->n_nodes, r->target->model,
				 s->version, a->loaded, err);
		break;
	case STEP_WAIT_READY: {
		long long t = r->o->ready_timeout_ms ? r->o->ready_timeout_ms : 60000;
		long long left = remaining_ms(r);
		if (left >= 0 && left < t)
			t = left;
		rc = ops->wait_ready(ops->ctx, s->nodes, s->n_nodes, r->target->model,
				     r->target->version, t, err);
		r->last_ready = now_ms();
		break;
	}
	case STEP_SMOKE:
		rc = ops->smoke(ops->ctx, s->nodes, s->n_nodes, r->target->version, err);
		break;
	case STEP_ANALYSE: {
		long long until = (long long)now_ms() + s->pause_ms;
		if (r->deadline && until > r->deadline)
			until = r->deadline;
		rc = ops->analyse(ops->ctx, s, until, err);
		break;
	}
	case STEP_PAUSE:
		rc = 0; /* the caller stops the run before a pause */
		break;
	case STEP_GATES:
		rc = ops->gates ? ops->gates(ops->ctx, s, err) : 0;
		break;
	}
	for (size_t i = 0; i < s->n_nodes; i++) {
		size_t k = s->nodes[i];
		if (s->kind == STEP_LOAD && a->loaded[i])
			rstate_set_serving(r->st, k, r->target->version);
		else if (s->kind == STEP_UNLOAD && a->loaded[i] && r->st->serving[k] &&
			 strcmp(r->st->serving[k], s->version) == 0)
			rstate_set_serving(r->st, k, NULL);
	}
	return rc;
}

static int step_undo(struct run *r, const struct applied *a, struct ml_err *err)
{
	const struct plan_step *s = a->step;
	const struct engine_ops *ops = r->ops;
	switch (s->kind) {
	case STEP_DRAIN:
	case STEP_UNDRAIN:
	case STEP_WEIGHTS:
	case STEP_SWITCH:
		return apply_weights(r, a->prev_live, err);
	case STEP_PREVIEW:
		if (ops->set_preview(ops->ctx, a->prev_preview, err))
			return -1;
		memcpy(r->st->preview, a->prev_preview,
		       r->env->n_nodes * sizeof(*a->prev_preview));
		return 0;
	case STEP_LOAD: {
		/* nodes that served the target before keep it */
		size_t *nodes = xmalloc((s->n_nodes + 1) * sizeof(*nodes));
		size_t k = 0;
		for (size_t i = 0; i < s->n_nodes; i++) {
			const char *before = a->prev_serving[i];
			if (a->loaded[i] &&
			    (!before || strcmp(before, r->target->version) != 0))
				nodes[k++] = s->nodes[i];
		}
		int rc = k ? ops->unload(ops->ctx, nodes, k, r->target->model,
					 r->target->version, NULL, err)
			   : 0;
		if (rc == 0)
			for (size_t i = 0; i < s->n_nodes; i++)
				rstate_set_serving(r->st, s->nodes[i], a->prev_serving[i]);
		free(nodes);
		return rc;
	}
	case STEP_UNLOAD: {
		/* only the nodes that unloaded it */
		size_t *nodes = xmalloc((s->n_nodes + 1) * sizeof(*nodes));
		size_t k = 0;
		for (size_t i = 0; i < s->n_nodes; i++)
			if (a->loaded[i])
				nodes[k++] = s->nodes[i];
		const struct rstate_release *rel = release_of(r, s->version);
		int rc = 0;
		if (k && (!rel || !rel->artifact))
			rc = ml_err_set(err, ML_EXIT_OPERATIONAL,
					"cannot reload %s: its release is not "
					"known to the ledger",
					s->version);
		else if (k && (ops->load(ops->ctx, nodes, k, rel, NULL, err) ||
			       ops->wait_ready(ops->ctx, nodes, k, rel->model,
					       rel->version, 60000, err)))
			rc = -1;
		for (size_t i = 0; rc == 0 && i < k; i++)
			rstate_set_serving(r->st, nodes[i], s->version);
		free(nodes);
		return rc;
	}
	case STEP_WAIT_READY:
	case STEP_SMOKE:
	case STEP_ANALYSE:
	case STEP_PAUSE:
	case STEP_GATES:
		return 0;
	}
	return 0;
}

static void applied_free(struct applied *a, size_t n_nodes_step)
{
	free(a->prev_live);
	free(a->prev_preview);
	for (size_t i = 0; a->prev_serving && i < n_nodes_step; i++)
		free(a->prev_serving[i]);
	free(a->prev_serving);
	free(a->loaded);
}

/* Whether no node in rotation serves the target version any more. */
static bool all_on_stable(const struct run *r)
{
	for (size_t i = 0; i < r->env->n_nodes; i++)
		if (r->st->live[i] > 0 && r->st->serving[i] &&
		    strcmp(r->st->serving[i], r->target->version) == 0)
			return false;
	return true;
}

static void rollback(struct run *r)
{
	r->res->rolled_back = r->n_applied > 0;
	if (all_on_stable(r))
		r->res->stable_at_ms = now_ms();
	for (size_t i = r->n_applied; i > 0; i--) {
		struct applied *a = &r->applied[i - 1];
		struct ml_err err = ML_ERR_INIT;
		double t = now_ms();
		size_t index = (size_t)(a->step - r->plan->steps) + 1;
		emit(r, index, a->step, true, -2, 0, NULL);
		int rc = step_undo(r, a, &err);
		emit(r, index, a->step, true, rc ? -1 : 0, now_ms() - t,
		     rc ? err.msg : NULL);
		if (!r->res->stable_at_ms && all_on_stable(r))
			r->res->stable_at_ms = now_ms();
		if (rc) {
			r->res->rollback_failed = true;
			size_t len = strlen(r->res->reason);
			snprintf(r->res->reason + len, sizeof(r->res->reason) - len,
				 "; rollback failed: %.200s", err.msg);
		}
	}
}

/* Run step i forward with its journal entry; keeps what undoing it
 * needs. Returns step_forward's result. */
static int run_step(struct run *r, size_t i, struct ml_err *err)
{
	const struct plan_step *s = &r->plan->steps[i];
	size_t n = r->env->n_nodes;
	struct applied *a = &r->applied[r->n_applied];
	a->step = s;
	a->prev_live = copy_ints(r->st->live, n);
	a->prev_preview = copy_ints(r->st->preview, n);
	a->prev_serving = xcalloc(s->n_nodes + 1, sizeof(*a->prev_serving));
	a->loaded = xcalloc(s->n_nodes + 1, sizeof(*a->loaded));
	for (size_t k = 0; k < s->n_nodes; k++)
		a->prev_serving[k] = r->st->serving[s->nodes[k]]
					     ? xstrdup(r->st->serving[s->nodes[k]])
					     : NULL;
	double t = now_ms();
	emit(r, i + 1, s, false, -2, 0, NULL);
	int rc = step_forward(r, s, a, err);
	emit(r, i + 1, s, false, rc == 2 ? 0 : rc, now_ms() - t,
	     rc && rc != 2 ? err->msg : NULL);
	if (!all_on_stable(r))
		r->res->target_served = true;
	/* a failed load or unload may have changed some nodes: undo it
	 * too; an analysis that asked for a pause is done */
	if (rc == 0 || rc == 2 || s->kind == STEP_LOAD || s->kind == STEP_UNLOAD)
		r->n_applied++;
	else
		applied_free(a, s->n_nodes);
	return rc;
}

/* Replay: every operation succeeds and touches nothing. */
static int nop_load(void *ctx, const size_t *nodes, size_t n,
		    const struct rstate_release *rel, bool *done,
		    struct ml_err *err)
{
	(void)ctx, (void)nodes, (void)rel, (void)err;
	for (size_t i = 0; done && i < n; i++)
		done[i] = true;
	return 0;
}

static int nop_unload(void *ctx, const size_t *nodes, size_t n,
		      const char *model, const char *version, bool *done,
		      struct ml_err *err)
{
	(void)ctx, (void)nodes, (void)model, (void)version, (void)err;
	for (size_t i = 0; done && i < n; i++)
		done[i] = true;
	return 0;
}

static int nop_wait_ready(void *ctx, const size_t *nodes, size_t n,
			  const char *model, const char *version,
			  long long timeout_ms, struct ml_err *err)
{
	(void)ctx, (void)nodes, (void)n, (void)model, (void)version;
	(void)timeout_ms, (void)err;
	return 0;
}

static int nop_weights(void *ctx, const int *weights, struct ml_err *err)
{
	(void)ctx, (void)weights, (void)err;
	return 0;
}

static int nop_smoke(void *ctx, const size_t *nodes, size_t n,
		     const char *version, struct ml_err *err)
{
	(void)ctx, (void)nodes, (void)n, (void)version, (void)err;
	return 0;
}

static int nop_analyse(void *ctx, const struct plan_step *step,
		       long long until_ms, struct ml_err *err)
{
	(void)ctx, (void)step, (void)until_ms, (void)err;
	return 0;
}

static struct engine_ops replay_ops(void)
{
	struct engine_ops o = { NULL,	     nop_load,	  nop_unload,
				nop_wait_ready, nop_weights, nop_weights,
				nop_smoke,      nop_analyse };
	return o;
}

int engine_run(const struct cfg_env *env, const struct plan *p,
	       const struct rstate_release *target, struct rstate *st,
	       const struct engine_ops *ops, const struct engine_opts *o,
	       struct engine_result *res)
{
	/* res is the caller's to fill: only its address is copied here */
	// cppcheck-suppress ctuuninitvar
	struct run r = { env, p, target, st, ops, o, res };
	memset(res, 0, sizeof(*res));
	r.t0 = now_ms();
	r.deadline = o->timeout_ms > 0 ? (long long)r.t0 + o->timeout_ms : 0;
	r.saved = xcalloc(env->n_nodes + 1, sizeof(*r.saved));
	r.applied = xcalloc(p->n_steps + 1, sizeof(*r.applied));
	r.journal = json_array();
	rstate_release_copy(&r.before, &st->release);
	rstate_release_copy(&r.prev, &st->previous);
	for (size_t i = 0; i < env->n_nodes; i++)
		r.saved[i] = st->live[i];

	int exit_code = ML_EXIT_OK;
	size_t start = o->resume_at < p->n_steps ? o->resume_at : p->n_steps;
	if (start) {
		/* the steps an earlier run did, on paper: the journal and the
		 * state end where that run stopped */
		struct engine_ops nop = replay_ops();
		r.ops = &nop;
		r.replaying = true;
		for (size_t i = 0; i < start; i++) {
			struct ml_err err = ML_ERR_INIT;
			if (p->steps[i].kind != STEP_PAUSE)
				run_step(&r, i, &err);
		}
		r.replaying = false;
		r.ops = ops;
		r.first_unload = r.last_ready = 0;
		res->steps_done = start;
	}
	/* an abort never runs a step forward, whatever resume_at says */
	if (o->abort_reason) {
		exit_code = ML_EXIT_CHECK_FAILED;
		snprintf(res->reason, sizeof(res->reason), "%.500s",
			 o->abort_reason);
	}
	if (!all_on_stable(&r))
		res->target_served = true;
	for (size_t i = start; i < p->n_steps && exit_code == ML_EXIT_OK; i++) {
		const struct plan_step *s = &p->steps[i];
		struct ml_err err = ML_ERR_INIT;
		/* a stop asked for before a manual pause is an abort, not a
		 * pause that would leave the canary for a person */
		if (o->stop && *o->stop) {
			exit_code = ML_EXIT_CHECK_FAILED;
			res->stopped = true;
			res->failed_at_ms = now_ms();
			if (p->strategy == CFG_STRAT_CANARY && r.canary_percent > 0)
				snprintf(res->reason, sizeof(res->reason),
					 "canary aborted at %d%%: stopped by a "
					 "signal before step %zu (%.200s)",
					 r.canary_percent, i + 1, s->text);
			else
				snprintf(res->reason, sizeof(res->reason),
					 "stopped by a signal before step %zu "
					 "(%.200s)",
					 i + 1, s->text);
			break;
		}
		if (s->kind == STEP_PAUSE) {
			exit_code = ML_EXIT_PAUSED;
			res->paused_at = i;
			snprintf(res->reason, sizeof(res->reason), "%.400s", s->text);
			break;
		}
		if (r.deadline && (long long)now_ms() >= r.deadline) {
			exit_code = ML_EXIT_CHECK_FAILED;
			res->timed_out = true;
			res->failed_at_ms = now_ms();
			if (p->strategy == CFG_STRAT_CANARY && r.canary_percent > 0)
				snprintf(res->reason, sizeof(res->reason),
					 "canary aborted at %d%%: the rollout did "
					 "not finish within --timeout (%lld ms); "
					 "stopped before step %zu (%.200s)",
					 r.canary_percent, o->timeout_ms, i + 1,
					 s->text);
			else
				snprintf(res->reason, sizeof(res->reason),
					 "the rollout did not finish within "
					 "--timeout (%lld ms); stopped before step "
					 "%zu (%.200s)",
					 o->timeout_ms, i + 1, s->text);
			break;
		}
		int rc = run_step(&r, i, &err);
		res->steps_done = i + (rc == 0 || rc == 2);
		if (rc == 2 && s->kind == STEP_ANALYSE) {
			/* the analysis asks for a person: pause after it */
			exit_code = ML_EXIT_PAUSED;
			res->paused_at = i;
			snprintf(res->reason, sizeof(res->reason), "%.500s", err.msg);
			break;
		}
		if (rc) {
			res->failed_at_ms = now_ms();
			res->check_failed = rc > 0;
			exit_code = rc > 0 ? ML_EXIT_CHECK_FAILED
					   : (err.code ? err.code : ML_EXIT_OPERATIONAL);
			if (s->kind == STEP_ANALYSE && rc > 0)
				/* the analysis' own line says where and why */
				snprintf(res->reason, sizeof(res->reason), "%.500s",
					 err.msg);
			else
				snprintf(res->reason, sizeof(res->reason),
					 "step %zu (%.160s): %.300s", i + 1, s->text,
					 err.msg);
			break;
		}
	}
	if (exit_code != ML_EXIT_OK && exit_code != ML_EXIT_PAUSED) {
		rollback(&r);
		if (res->rollback_failed)
			exit_code = ML_EXIT_OPERATIONAL;
	} else if (exit_code == ML_EXIT_OK) {
		if (!(r.before.version && strcmp(r.before.version, target->version) == 0)) {
			rstate_release_free(&st->previous);
			rstate_release_copy(&st->previous, &r.before);
		}
		rstate_release_free(&st->release);
		rstate_release_copy(&st->release, target);
		free(st->strategy);
		st->strategy = xstrdup(cfg_strategy_name(p->strategy));
	}
	if (p->strategy == CFG_STRAT_RECREATE && r.first_unload && r.last_ready)
		res->downtime_ms = r.last_ready - r.first_unload;
	res->exit_code = exit_code;
	res->canary_percent = r.canary_percent;
	res->duration_s = (now_ms() - r.t0) / 1000.0;
	char *j = json_dumps(r.journal, JSON_COMPACT);
	res->journal_json = xstrdup(j);
	free(j);
	json_decref(r.journal);
	for (size_t i = 0; i < r.n_applied; i++)
		applied_free(&r.applied[i], r.applied[i].step->n_nodes);
	free(r.applied);
	free(r.saved);
	rstate_release_free(&r.before);
	rstate_release_free(&r.prev);
	return exit_code;
}

void engine_result_release(struct engine_result *res)
{
	free(res->journal_json);
	res->journal_json = NULL;
}
