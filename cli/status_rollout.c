/* status_rollout.c — the rollout in progress as `mlctl status` shows it:
 * "running" while a process holds the environment's lock (what it runs
 * from the lock: "deploy eta 2.0.0", and where it stands from the progress
 * it publishes: its step, and a canary's share, step and last verdicts),
 * "rolling back" once that run undoes its steps, "paused" while the
 * ledger tip is a pause nobody has taken up, "running" or "aborting" once
 * a `continue` or an `abort` holds the lock over that pause. Reading the
 * lock, the published progress and the pause record is the caller's job. */
#include "status_rollout.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the holder takes up a paused rollout: "continue" or "abort". */
static const char *resumer(const struct lock_holder *h)
{
	if (strcmp(h->what, "continue") == 0)
		return "continue";
	if (strcmp(h->what, "abort") == 0)
		return "abort";
	return NULL;
}

static void set_release(json_t *o, const char *model, const char *version)
{
	if (model && version) {
		char *r = xasprintf("%s %s", model, version);
		json_object_set_new(o, "release", json_string(r));
		free(r);
		json_object_set_new(o, "model", json_string(model));
		json_object_set_new(o, "version", json_string(version));
	} else {
		json_object_set_new(o, "release", json_null());
	}
}

/* A canary's share and step ("step 1 of 2"). */
struct position {
	int percent, step, steps;
};

static void set_position(json_t *o, const struct position *at)
{
	json_object_set_new(o, "percent", json_integer(at->percent));
	json_object_set_new(o, "step", json_integer(at->step));
	json_object_set_new(o, "steps", json_integer(at->steps));
}

static void set_holder(json_t *o, const struct lock_holder *h)
{
	char who[400];
	lock_holder_describe(h, who, sizeof(who));
	json_object_set_new(o, "pid", json_integer(h->pid));
	json_object_set_new(o, "host", json_string(h->host));
	json_object_set_new(o, "user", json_string(h->user));
	json_object_set_new(o, "since", json_string(h->started_iso));
	json_object_set_new(o, "holder", json_string(who));
}

/* ---- what the running process published ------------------------------ */

static const char *pub_str(const json_t *pub, const char *key)
{
	return json_string_value(json_object_get(pub, key));
}

static int pub_int(const json_t *o, const char *key)
{
	return (int)json_integer_value(json_object_get(o, key));
}

/* Its canary object, or NULL (no canary, or nothing published). */
static const json_t *pub_canary(const json_t *pub)
{
	const json_t *c = json_object_get(pub, "canary");
	return json_is_object(c) ? c : NULL;
}

static void pub_position(const json_t *c, struct position *at)
{
	at->percent = pub_int(c, "percent");
	at->step = pub_int(c, "step");
	at->steps = pub_int(c, "steps");
}

/* "running" or "rolling back", as published (NULL: running). */
static const char *pub_state(const json_t *pub)
{
	const char *s = pub_str(pub, "state");
	return s && strcmp(s, "rolling back") == 0 ? "rolling back" : "running";
}

/* The published step of the plan: plan_step, plan_steps, current_step
 * and updated (nothing when nothing was published). */
static void set_plan_step(json_t *o, const json_t *pub)
{
	if (!pub)
		return;
	json_object_set_new(o, "plan_step", json_integer(pub_int(pub, "plan_step")));
	json_object_set_new(o, "plan_steps", json_integer(pub_int(pub, "plan_steps")));
	const char *t = pub_str(pub, "step_text");
	json_object_set_new(o, "current_step", t && *t ? json_string(t) : json_null());
	const char *u = pub_str(pub, "updated");
	json_object_set_new(o, "updated", u ? json_string(u) : json_null());
}

/* The verdicts of intervals, oldest first: "pass, pass" or, with
 * `percent`, "10% pass, 10% pass"; "" for none. */
static void verdict_list(const json_t *intervals, bool percent, char *buf,
			 size_t size)
{
	size_t len = 0, i;
	json_t *iv;
	buf[0] = '\0';
	json_array_foreach(intervals, i, iv) {
		const char *verdict = json_string_value(json_object_get(iv, "verdict"));
		int w = percent ? snprintf(buf + len, size - len, "%s%d%% %s",
					   len ? ", " : "", pub_int(iv, "percent"),
					   verdict ? verdict : "?")
				: snprintf(buf + len, size - len, "%s%s",
					   len ? ", " : "", verdict ? verdict : "?");
		if (w > 0 && (size_t)w < size - len)
			len += (size_t)w;
	}
}

/* The last five intervals of a JSON array (a new array). */
static json_t *last_five(const json_t *an)
{
	json_t *last = json_array();
	size_t k = json_array_size(an), from = k > 5 ? k - 5 : 0;
	for (size_t i = from; i < k; i++)
		json_array_append(last, json_array_get(an, i));
	return last;
}

/* ---- a rollout that runs ----------------------------------------------- */

/* A holder with no pause behind it: the command and release are the
 * words of its lock's "what" ("deploy eta 2.0.0", "rollback", "up"), or
 * what it published; where it stands, from what it published. */
static json_t *running_json(const struct lock_holder *h, const json_t *pub)
{
	json_t *o = json_object();
	char cmd[64] = "", model[128] = "", version[64] = "";
	int n = sscanf(h->what, "%63s %127s %63s", cmd, model, version);
	json_object_set_new(o, "state", json_string(pub ? pub_state(pub) : "running"));
	json_object_set_new(o, "command", n >= 1 ? json_string(cmd) : json_null());
	if (n == 3)
		set_release(o, model, version);
	else
		set_release(o, pub_str(pub, "model"), pub_str(pub, "version"));
	set_holder(o, h);
	set_plan_step(o, pub);
	const json_t *c = pub_canary(pub);
	if (c) {
		struct position at;
		pub_position(c, &at);
		set_position(o, &at);
	}
	return o;
}

/* The canary a running deploy or promote published: its "canary" object
 * and its text line ("eta 2.0.0 at 10% (step 1 of 2), last verdicts:
 * pass, pass"). */
static json_t *running_canary_json(struct status_rollout *v,
				   const struct lock_holder *h,
				   const json_t *pub)
{
	const json_t *c = pub_canary(pub);
	const char *m = pub_str(pub, "model"), *ver = pub_str(pub, "version");
	const char *state = pub_state(pub), *phase = pub_str(c, "phase");
	struct position at;
	pub_position(c, &at);
	json_t *last = last_five(json_object_get(c, "last_intervals"));
	char verdicts[160], tail[200] = "";
	verdict_list(last, false, verdicts, sizeof(verdicts));
	if (verdicts[0])
		snprintf(tail, sizeof(tail), ", last verdicts: %s", verdicts);
	else if (at.step > 0)
		snprintf(tail, sizeof(tail), ", no verdict yet");
	m = m ? m : "?";
	ver = ver ? ver : "?";
	if (strcmp(state, "rolling back") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s being rolled back from %d%% (step %d of %d)%s",
			 m, ver, at.percent, at.step, at.steps, tail);
	else if (phase && strcmp(phase, "preparing") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s preparing its canary nodes (%d step%s ahead)", m,
			 ver, at.steps, at.steps == 1 ? "" : "s");
	else if (phase && strcmp(phase, "completing") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s past its canary steps (%d of %d), rolling onto "
			 "every node%s",
			 m, ver, at.step, at.steps, tail);
	else
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s at %d%% (step %d of %d)%s", m, ver, at.percent,
			 at.step, at.steps, tail);
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "model", json_string(m));
	json_object_set_new(o, "version", json_string(ver));
	set_position(o, &at);
	json_object_set_new(o, "phase", json_string(phase ? phase : "steps"));
	json_object_set_new(o, "since", json_string(h->started_iso));
	const char *u = pub_str(pub, "updated");
	json_object_set_new(o, "updated", u ? json_string(u) : json_null());
	json_object_set_new(o, "pid", json_integer(h->pid));
	json_object_set_new(o, "last_intervals", last);
	return o;
}

/* ---- a paused canary ----------------------------------------------------- */

/* The paused canary: its "canary" object and its text lines; once a
 * `continue` runs it, where that run stands (pub, may be NULL). */
static json_t *canary_json(struct status_rollout *v,
			   const struct rollout_paused *pz, const char *state,
			   const json_t *pub)
{
	/* "canary paused at 10% (step 1 of 2): why" -> "why" */
	const char *why = pz->reason;
	if (strncmp(why, "canary paused", 13) == 0 && strstr(why, ": "))
		why = strstr(why, ": ") + 2;
	const char *m = pz->target.model, *ver = pz->target.version;
	struct position was = { pz->canary_percent, pz->canary_step,
				pz->canary_steps };
	struct position now = was;
	const json_t *c = pub_canary(pub);
	if (c)
		pub_position(c, &now);
	char moved[120] = "";
	if (c && (now.percent != was.percent || now.step != was.step))
		snprintf(moved, sizeof(moved), ", now at %d%% (step %d of %d)",
			 now.percent, now.step, now.steps);
	if (strcmp(state, "running") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s running again from %d%% (step %d of %d)%s: "
			 "'mlctl continue' took it up; it had paused at %s by "
			 "%s (%s)",
			 m, ver, was.percent, was.step, was.steps, moved,
			 pz->since, pz->by, why);
	else if (strcmp(state, "aborting") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s being aborted at %d%% (step %d of %d): "
			 "'mlctl abort' rolls it back; it had paused at %s by "
			 "%s (%s)",
			 m, ver, was.percent, was.step, was.steps, pz->since,
			 pz->by, why);
	else
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s at %d%% (step %d of %d), paused since %s by %s "
			 "(%s); 'mlctl continue' or 'mlctl abort'",
			 m, ver, was.percent, was.step, was.steps, pz->since,
			 pz->by, why);
	json_t *last;
	if (c) {
		last = last_five(json_object_get(c, "last_intervals"));
	} else {
		json_t *an = pz->analysis_json
				     ? json_loads(pz->analysis_json, 0, NULL)
				     : NULL;
		last = last_five(an);
		json_decref(an);
	}
	verdict_list(last, true, v->verdicts, sizeof(v->verdicts));
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "model", json_string(m));
	json_object_set_new(o, "version", json_string(ver));
	set_position(o, &now);
	json_object_set_new(o, "since", json_string(pz->since));
	json_object_set_new(o, "by", json_string(pz->by));
	json_object_set_new(o, "reason", json_string(pz->reason));
	json_object_set_new(o, "last_intervals", last);
	return o;
}

void status_rollout_init(struct status_rollout *v,
			 const struct lock_holder *holder,
			 const json_t *published,
			 const struct rollout_paused *pz)
{
	memset(v, 0, sizeof(*v));
	const json_t *pub = holder ? published : NULL;
	if (holder) {
		lock_holder_describe(holder, v->holder_line,
				     sizeof(v->holder_line));
		int at = pub_int(pub, "plan_step"), of = pub_int(pub, "plan_steps");
		const char *t = pub_str(pub, "step_text");
		size_t len = strlen(v->holder_line);
		if (at > 0 && of > 0 && len < sizeof(v->holder_line))
			snprintf(v->holder_line + len, sizeof(v->holder_line) - len,
				 "; %sstep %d of %d: %s",
				 strcmp(pub_state(pub), "rolling back") == 0
					 ? "rolling back, undo "
					 : "",
				 at, of, t ? t : "");
	}
	const char *up = holder && pz ? resumer(holder) : NULL;
	if (!pz) {
		v->canary = holder && pub_canary(pub)
				    ? running_canary_json(v, holder, pub)
				    : json_null();
		v->progress = holder ? running_json(holder, pub) : json_null();
		return;
	}
	const char *state = !up			      ? "paused"
			    : strcmp(up, "abort") == 0 ? "aborting"
						       : "running";
	v->canary = canary_json(v, pz, state, up ? pub : NULL);
	if (holder && !up) {
		/* another command holds the lock for a moment (a deploy
		 * about to refuse, up, down): the lock is what runs */
		v->progress = running_json(holder, pub);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "command", json_string(up ? up : pz->command));
	set_release(o, pz->target.model, pz->target.version);
	struct position at = { pz->canary_percent, pz->canary_step,
			       pz->canary_steps };
	if (up && pub_canary(pub))
		pub_position(pub_canary(pub), &at);
	set_position(o, &at);
	if (up) {
		json_object_set_new(o, "began_with", json_string(pz->command));
		json_object_set_new(o, "paused_since", json_string(pz->since));
		set_holder(o, holder);
		set_plan_step(o, pub);
	} else {
		json_object_set_new(o, "since", json_string(pz->since));
		json_object_set_new(o, "by", json_string(pz->by));
	}
	v->progress = o;
}

void status_rollout_release(struct status_rollout *v)
{
	json_decref(v->progress);
	json_decref(v->canary);
	v->progress = v->canary = NULL;
}
