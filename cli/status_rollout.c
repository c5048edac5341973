/* status_rollout.c — the rollout in progress as `mlctl status` shows it:
 * "running" while a process holds the environment's lock (what it runs
 * from the lock: "deploy eta 2.0.0"), "paused" while the ledger tip is a
 * pause nobody has taken up, "running" or "aborting" once a `continue` or
 * an `abort` holds the lock over that pause. Reading the lock and the
 * pause record is the caller's job. */
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

static void set_position(json_t *o, const struct rollout_paused *pz)
{
	json_object_set_new(o, "percent", json_integer(pz->canary_percent));
	json_object_set_new(o, "step", json_integer(pz->canary_step));
	json_object_set_new(o, "steps", json_integer(pz->canary_steps));
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

/* A holder with no pause behind it: the command and release are the
 * words of its lock's "what" ("deploy eta 2.0.0", "rollback", "up"). */
static json_t *running_json(const struct lock_holder *h)
{
	json_t *o = json_object();
	char cmd[64] = "", model[128] = "", version[64] = "";
	int n = sscanf(h->what, "%63s %127s %63s", cmd, model, version);
	json_object_set_new(o, "state", json_string("running"));
	json_object_set_new(o, "command", n >= 1 ? json_string(cmd) : json_null());
	set_release(o, n == 3 ? model : NULL, n == 3 ? version : NULL);
	set_holder(o, h);
	return o;
}

/* The paused canary: its "canary" object and its text lines. */
static json_t *canary_json(struct status_rollout *v,
			   const struct rollout_paused *pz, const char *state)
{
	/* "canary paused at 10% (step 1 of 2): why" -> "why" */
	const char *why = pz->reason;
	if (strncmp(why, "canary paused", 13) == 0 && strstr(why, ": "))
		why = strstr(why, ": ") + 2;
	const char *m = pz->target.model, *ver = pz->target.version;
	int pct = pz->canary_percent, st = pz->canary_step, n = pz->canary_steps;
	if (strcmp(state, "running") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s running again from %d%% (step %d of %d): "
			 "'mlctl continue' took it up; it had paused at %s by "
			 "%s (%s)",
			 m, ver, pct, st, n, pz->since, pz->by, why);
	else if (strcmp(state, "aborting") == 0)
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s being aborted at %d%% (step %d of %d): "
			 "'mlctl abort' rolls it back; it had paused at %s by "
			 "%s (%s)",
			 m, ver, pct, st, n, pz->since, pz->by, why);
	else
		snprintf(v->canary_line, sizeof(v->canary_line),
			 "%s %s at %d%% (step %d of %d), paused since %s by %s "
			 "(%s); 'mlctl continue' or 'mlctl abort'",
			 m, ver, pct, st, n, pz->since, pz->by, why);
	json_t *o = json_object(), *last = json_array();
	json_t *an = pz->analysis_json ? json_loads(pz->analysis_json, 0, NULL) : NULL;
	size_t k = json_array_size(an), from = k > 5 ? k - 5 : 0, len = 0;
	size_t vsz = sizeof(v->verdicts);
	for (size_t i = from; i < k; i++) {
		json_t *iv = json_array_get(an, i);
		json_array_append(last, iv);
		const char *verdict = json_string_value(json_object_get(iv, "verdict"));
		int w = snprintf(v->verdicts + len, vsz - len, "%s%d%% %s",
				 len ? ", " : "",
				 (int)json_integer_value(json_object_get(iv, "percent")),
				 verdict ? verdict : "?");
		if (w > 0 && (size_t)w < vsz - len)
			len += (size_t)w;
	}
	json_decref(an);
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "model", json_string(m));
	json_object_set_new(o, "version", json_string(ver));
	set_position(o, pz);
	json_object_set_new(o, "since", json_string(pz->since));
	json_object_set_new(o, "by", json_string(pz->by));
	json_object_set_new(o, "reason", json_string(pz->reason));
	json_object_set_new(o, "last_intervals", last);
	return o;
}

void status_rollout_init(struct status_rollout *v,
			 const struct lock_holder *holder,
			 const struct rollout_paused *pz)
{
	memset(v, 0, sizeof(*v));
	if (holder)
		lock_holder_describe(holder, v->holder_line,
				     sizeof(v->holder_line));
	const char *up = holder && pz ? resumer(holder) : NULL;
	if (!pz) {
		v->canary = json_null();
		v->progress = holder ? running_json(holder) : json_null();
		return;
	}
	const char *state = !up			      ? "paused"
			    : strcmp(up, "abort") == 0 ? "aborting"
						       : "running";
	v->canary = canary_json(v, pz, state);
	if (holder && !up) {
		/* another command holds the lock for a moment (a deploy
		 * about to refuse, up, down): the lock is what runs */
		v->progress = running_json(holder);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "command", json_string(up ? up : pz->command));
	set_release(o, pz->target.model, pz->target.version);
	set_position(o, pz);
	if (up) {
		json_object_set_new(o, "began_with", json_string(pz->command));
		json_object_set_new(o, "paused_since", json_string(pz->since));
		set_holder(o, holder);
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
