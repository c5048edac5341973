/* rollout_progress.c — what a running rollout tells `mlctl status`: the
 * command and release, the step it is at, and for a canary its share,
 * step and last analysis verdicts, published beside the environment's lock
 * (lock_progress_publish: one small file replaced whole) as each step
 * begins and after each analysis interval. Deciding whether to believe it
 * is the reader's job (status_rollout.c). */
#include "rollout_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool canary_weights(const struct plan_step *s)
{
	return s->kind == STEP_WEIGHTS && s->canary_percent > 0;
}

static const char *phase_of(const struct rollout_progress *pr)
{
	if (pr->c_step == 0)
		return "preparing";
	json_int_t at = json_integer_value(json_object_get(pr->doc, "plan_step"));
	return at > 0 && (size_t)at - 1 > pr->last_canary ? "completing"
							   : "steps";
}

static void publish(struct rollout_progress *pr)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(pr->doc, "updated", json_string(when));
	if (pr->c_steps > 0) {
		json_t *c = json_object();
		json_object_set_new(c, "phase", json_string(phase_of(pr)));
		json_object_set_new(c, "percent", json_integer(pr->percent));
		json_object_set_new(c, "step", json_integer(pr->c_step));
		json_object_set_new(c, "steps", json_integer(pr->c_steps));
		json_object_set_new(c, "last_intervals", json_copy(pr->intervals));
		json_object_set_new(pr->doc, "canary", c);
	}
	lock_progress_publish(pr->state_dir, pr->env, pr->doc);
}

static void keep_interval(struct rollout_progress *pr, json_t *iv)
{
	if (!json_is_object(iv)) {
		json_decref(iv);
		return;
	}
	json_array_append_new(pr->intervals, iv);
	while (json_array_size(pr->intervals) > ROLLOUT_PROGRESS_INTERVALS)
		json_array_remove(pr->intervals, 0);
}

void rollout_progress_init(struct rollout_progress *pr, const char *state_dir,
			   const struct rollout_req *req, const struct plan *p,
			   const struct rstate_release *target)
{
	memset(pr, 0, sizeof(*pr));
	pr->state_dir = state_dir;
	pr->env = req->env->name;
	pr->plan = p;
	pr->intervals = json_array();
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		if (s->kind == STEP_ANALYSE || s->kind == STEP_PAUSE) {
			pr->c_steps++;
			pr->last_canary = i;
		}
	}
	const struct rollout_paused *pz = req->resume;
	if (pz) {
		pr->percent = pz->canary_percent;
		pr->c_step = pz->canary_step;
		if (pz->canary_steps > pr->c_steps) /* continue --full drops some */
			pr->c_steps = pz->canary_steps;
		json_t *an = pz->analysis_json ? json_loads(pz->analysis_json, 0, NULL)
					       : NULL;
		size_t i;
		json_t *iv;
		json_array_foreach(an, i, iv) {
			keep_interval(pr, json_incref(iv));
		}
		json_decref(an);
	}
	json_t *o = json_object();
	json_object_set_new(o, "command", json_string(req->action));
	json_object_set_new(o, "env", json_string(pr->env));
	json_object_set_new(o, "model", json_string(target->model));
	json_object_set_new(o, "version", json_string(target->version));
	json_object_set_new(o, "strategy", json_string(cfg_strategy_name(p->strategy)));
	json_object_set_new(o, "state", json_string(req->abort ? "rolling back"
								: "running"));
	size_t at = pz ? pz->resume_at : 0;
	json_object_set_new(o, "plan_step", json_integer((json_int_t)at));
	json_object_set_new(o, "plan_steps", json_integer((json_int_t)p->n_steps));
	json_object_set_new(o, "step_text", json_string(""));
	pr->doc = o;
	publish(pr);
}

void rollout_progress_event(struct rollout_progress *pr,
			    const struct engine_event *ev)
{
	if (!pr->doc)
		return;
	const struct plan_step *s = ev->step;
	if (ev->status == -2) {
		if (ev->undo)
			json_object_set_new(pr->doc, "state",
					    json_string("rolling back"));
		json_object_set_new(pr->doc, "plan_step",
				    json_integer((json_int_t)ev->index));
		json_object_set_new(pr->doc, "step_text",
				    json_string(s->text ? s->text : ""));
		publish(pr);
		return;
	}
	if (ev->status != 0 || ev->undo || !canary_weights(s))
		return;
	/* a canary share applied: its step is the count of shares so far */
	int k = 0;
	for (size_t i = 0; i < pr->plan->n_steps; i++) {
		k += canary_weights(&pr->plan->steps[i]);
		if (&pr->plan->steps[i] == s)
			break;
	}
	pr->percent = s->canary_percent;
	pr->c_step = k;
	publish(pr);
}

void rollout_progress_interval(const char *interval_json, void *payload)
{
	struct rollout_progress *pr = payload;
	if (!pr || !pr->doc)
		return;
	keep_interval(pr, json_loads(interval_json, 0, NULL));
	publish(pr);
}

void rollout_progress_release(struct rollout_progress *pr)
{
	if (pr->doc)
		lock_progress_withdraw(pr->state_dir, pr->env);
	json_decref(pr->doc);
	json_decref(pr->intervals);
	pr->doc = pr->intervals = NULL;
}
