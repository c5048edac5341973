/* rollout_paused.c — a canary paused for a person, as the ledger holds
 * it: the "rollout" object of the pause record's state.json written and
 * read back, the plan rebuilt for `continue` and `abort`, and the
 * refusal of a fresh rollout while one is paused.
 *
 * The record (outcome "paused") keeps the environment as it is (canary
 * nodes on the new release, canary weights) plus "rollout": {state
 * "paused", action, command, cli_strategy, resume_at, n_steps, plan_sha,
 * canary_percent, canary_step, canary_steps, timeout_ms, forced, target
 * {release}, pre {the state before the rollout began, as rstate_to_json
 * writes it}; a promote also note and junit} and the "analysis"
 * intervals so far (a promote's "gates" results too). `continue` and
 * `abort` rebuild the plan of `command` from `pre` (plan_sha must match),
 * and the engine replays the steps before resume_at on paper so that a
 * later rollback undoes them too. */
#include "rollout.h"
#include "rollout_internal.h"
#include "promote_plan.h"
#include "ledger.h"
#include "out.h"
#include "sha256.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rollout_plan_sha(const struct plan *p, char hex[65])
{
	size_t len = 32;
	for (size_t i = 0; i < p->n_steps; i++)
		len += (p->steps[i].text ? strlen(p->steps[i].text) : 0) + 1;
	char *buf = xmalloc(len), *w = buf;
	w += sprintf(w, "%s\n", cfg_strategy_name(p->strategy));
	for (size_t i = 0; i < p->n_steps; i++)
		w += sprintf(w, "%s\n", p->steps[i].text ? p->steps[i].text : "");
	sha256_hex(buf, (size_t)(w - buf), hex);
	free(buf);
}

/* The canary step (1-based) the step at `index` belongs to, and how many
 * there are: analyse and pause steps counted. */
void rollout_canary_position(const struct plan *p, size_t index, int *step,
			     int *steps)
{
	*step = *steps = 0;
	for (size_t i = 0; i < p->n_steps; i++) {
		if (p->steps[i].kind != STEP_ANALYSE && p->steps[i].kind != STEP_PAUSE)
			continue;
		(*steps)++;
		if (i <= index)
			*step = *steps;
	}
}

static json_t *target_json(const struct rstate_release *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "model", json_string(t->model));
	json_object_set_new(o, "version", json_string(t->version));
	if (t->manifest_path)
		json_object_set_new(o, "manifest", json_string(t->manifest_path));
	json_object_set_new(o, "artifact", json_string(t->artifact ? t->artifact : ""));
	json_object_set_new(o, "sha256", json_string(t->sha256));
	json_t *ex = t->expectations_json ? json_loads(t->expectations_json, 0, NULL)
					  : NULL;
	json_object_set_new(o, "expectations", ex ? ex : json_object());
	return o;
}

json_t *rollout_paused_json(const struct cfg_env *env,
			    const struct rollout_req *req, const struct plan *p,
			    const struct engine_result *res,
			    const struct rstate *pre,
			    const struct rstate_release *target, int c_step,
			    int c_steps)
{
	json_t *o = json_object();
	char sha[65];
	rollout_plan_sha(p, sha);
	int cli = req->resume ? req->resume->cli_strategy : req->strategy;
	/* what began the rollout, and what its plan and records need */
	const char *command = req->resume ? req->resume->command : req->action;
	bool promote = strcmp(command, "promote") == 0;
	const char *note = req->resume ? req->resume->note : req->reason;
	const char *junit = req->resume ? req->resume->junit : req->junit;
	json_object_set_new(o, "state", json_string("paused"));
	json_object_set_new(o, "action", json_string(req->action));
	json_object_set_new(o, "command", json_string(command));
	if (promote) {
		json_object_set_new(o, "note", note ? json_string(note) : json_null());
		json_object_set_new(o, "junit", junit ? json_string(junit) : json_null());
	}
	json_object_set_new(o, "cli_strategy",
			    cli >= 0 ? json_string(cfg_strategy_name(
					       (enum cfg_strategy_type)cli))
				     : json_null());
	json_object_set_new(o, "resume_at", json_integer((json_int_t)res->paused_at + 1));
	json_object_set_new(o, "n_steps", json_integer((json_int_t)p->n_steps));
	json_object_set_new(o, "plan_sha", json_string(sha));
	json_object_set_new(o, "canary_percent", json_integer(res->canary_percent));
	json_object_set_new(o, "canary_step", json_integer(c_step));
	json_object_set_new(o, "canary_steps", json_integer(c_steps));
	json_object_set_new(o, "timeout_ms", json_integer(req->timeout_ms));
	json_object_set_new(o, "forced", json_boolean(req->force ||
						      (req->resume && req->resume->forced)));
	json_object_set_new(o, "target", target_json(target));
	char *pj = rstate_to_json(pre, env, NULL);
	json_t *pre_o = json_loads(pj, 0, NULL);
	free(pj);
	json_object_set_new(o, "pre", pre_o ? pre_o : json_null());
	return o;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

void rollout_paused_free(struct rollout_paused *p)
{
	if (!p)
		return;
	free(p->action);
	free(p->command);
	free(p->note);
	free(p->junit);
	free(p->gates_json);
	free(p->reason);
	free(p->since);
	free(p->by);
	if (p->pre.serving)
		rstate_release(&p->pre);
	rstate_release_free(&p->target);
	free(p->analysis_json);
	free(p->manifest);
	free(p);
}

/* What makes a pause record unusable (the first thing found), or NULL. */
static const char *paused_problem(json_t *root)
{
	json_t *ro = json_object_get(root, "rollout");
	json_t *t = json_object_get(ro, "target");
	json_t *ex = json_object_get(t, "expectations");
	const char *sha = jstr(t, "sha256"), *cmd = jstr(ro, "command");
	if (!json_is_object(root))
		return "not a JSON object";
	if (!json_is_object(ro))
		return "no \"rollout\" object";
	if (!jstr(t, "model") || !jstr(t, "version"))
		return "rollout.target has no model or version";
	if (!sha || !cfg_is_sha256(sha))
		return "rollout.target.sha256 is not a SHA-256 digest";
	if (ex && !json_is_object(ex))
		return "rollout.target.expectations is not an object";
	if (!jstr(ro, "plan_sha"))
		return "rollout.plan_sha is missing";
	if (!json_is_integer(json_object_get(ro, "resume_at")))
		return "rollout.resume_at is not a number";
	if (!json_is_object(json_object_get(ro, "pre")))
		return "rollout.pre is not an object";
	if (json_object_get(ro, "command") &&
	    (!cmd || (strcmp(cmd, "deploy") != 0 && strcmp(cmd, "promote") != 0)))
		return "rollout.command is neither deploy nor promote";
	return NULL;
}

static int unreadable(struct ml_err *err, struct ledger *l,
		      const struct cfg_env *env, const struct ledger_entry *tip,
		      const char *why)
{
	return ml_err_set(err, ML_EXIT_USAGE,
			  "the paused rollout record of %s cannot be read (%.120s): "
			  "state.json of commit %.12s on branch env/%s in %s; "
			  "'mlctl abort --env %s' clears it and returns %s to "
			  "its current release",
			  env->name, why, tip->oid, env->name, ledger_path(l),
			  env->name, env->name);
}

int rollout_paused_load(struct ledger *l, const struct cfg_env *env,
			struct rollout_paused **out, struct ml_err *err)
{
	*out = NULL;
	if (!l)
		return 0;
	struct ledger_entry *tip = NULL;
	if (ledger_current(l, env->name, LEDGER_LOAD_STATE | LEDGER_LOAD_MANIFEST,
			   NULL, &tip, err))
		return -1;
	if (!tip || !tip->outcome ||
	    strcmp(tip->outcome, LEDGER_OUTCOME_PAUSED) != 0) {
		ledger_entry_free(tip);
		return 0;
	}
	int rc = -1;
	json_t *root = tip->state_json ? json_loads(tip->state_json, 0, NULL) : NULL;
	json_t *ro = json_object_get(root, "rollout");
	json_t *t = json_object_get(ro, "target");
	struct rollout_paused *p = xcalloc(1, sizeof(*p));
	const char *sha = jstr(t, "sha256"), *cli = jstr(ro, "cli_strategy");
	const char *problem = paused_problem(root);
	if (problem) {
		unreadable(err, l, env, tip, problem);
		goto out;
	}
	p->action = xstrdup(jstr(ro, "action") ? jstr(ro, "action") : "deploy");
	/* records before "command" was written: only a promote's pause said
	 * action "promote" (a continue's said "continue" whatever began it) */
	const char *cmd = jstr(ro, "command");
	if (!cmd)
		cmd = strcmp(p->action, "promote") == 0 ? "promote" : "deploy";
	p->command = xstrdup(cmd);
	if (jstr(ro, "note"))
		p->note = xstrdup(jstr(ro, "note"));
	if (jstr(ro, "junit"))
		p->junit = xstrdup(jstr(ro, "junit"));
	json_t *gates = json_object_get(root, "gates");
	if (json_is_array(gates)) {
		char *g = json_dumps(gates, JSON_COMPACT | JSON_PRESERVE_ORDER);
		p->gates_json = xstrdup(g);
		free(g);
	}
	p->cli_strategy = cli ? cfg_strategy_parse(cli) : -1;
	p->resume_at = (size_t)json_integer_value(json_object_get(ro, "resume_at"));
	p->n_steps = (size_t)json_integer_value(json_object_get(ro, "n_steps"));
	snprintf(p->plan_sha, sizeof(p->plan_sha), "%s", jstr(ro, "plan_sha"));
	p->canary_percent = (int)json_integer_value(json_object_get(ro, "canary_percent"));
	p->canary_step = (int)json_integer_value(json_object_get(ro, "canary_step"));
	p->canary_steps = (int)json_integer_value(json_object_get(ro, "canary_steps"));
	p->timeout_ms = json_integer_value(json_object_get(ro, "timeout_ms"));
	p->forced = json_is_true(json_object_get(ro, "forced"));
	p->reason = xstrdup(tip->reason ? tip->reason : "");
	char when[32];
	time_t tt = (time_t)tip->when;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	p->since = xstrdup(when);
	p->by = xstrdup(tip->author_name ? tip->author_name : "");
	p->target.model = xstrdup(jstr(t, "model"));
	p->target.version = xstrdup(jstr(t, "version"));
	if (jstr(t, "manifest"))
		p->target.manifest_path = xstrdup(jstr(t, "manifest"));
	p->target.artifact = xstrdup(jstr(t, "artifact") ? jstr(t, "artifact") : "");
	snprintf(p->target.sha256, sizeof(p->target.sha256), "%s", sha);
	json_t *ex = json_object_get(t, "expectations");
	if (ex) {
		char *e = json_dumps(ex, JSON_COMPACT | JSON_PRESERVE_ORDER);
		p->target.expectations_json = xstrdup(e);
		free(e);
	}
	char *pj = json_dumps(json_object_get(ro, "pre"), JSON_COMPACT);
	rstate_init(&p->pre, env);
	struct ml_err perr = ML_ERR_INIT;
	int prc = rstate_from_json(&p->pre, env, pj, &perr);
	free(pj);
	if (prc) {
		unreadable(err, l, env, tip, perr.msg);
		goto out;
	}
	json_t *an = json_object_get(root, "analysis");
	if (json_is_array(an)) {
		char *a = json_dumps(an, JSON_COMPACT | JSON_PRESERVE_ORDER);
		p->analysis_json = xstrdup(a);
		free(a);
	}
	if (tip->manifest) {
		p->manifest = xmalloc(tip->manifest_len + 1);
		memcpy(p->manifest, tip->manifest, tip->manifest_len);
		p->manifest[tip->manifest_len] = '\0';
		p->manifest_len = tip->manifest_len;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	rollout_paused_free(p);
	json_decref(root);
	ledger_entry_free(tip);
	return rc;
}

int rollout_resume_plan(const struct cfg_env *env,
			const struct rollout_paused *pz, struct plan *p,
			struct engine_gates *g, struct ml_err *err)
{
	struct strategy_opts so;
	strategy_opts_for(env, pz->cli_strategy, &so);
	struct rollout_state view = rstate_view(&pz->pre);
	struct cfg_release fake;
	memset(&fake, 0, sizeof(fake));
	fake.model = pz->target.model;
	fake.version = pz->target.version;
	if (strategy_plan(&so, &view, &fake, p, err))
		return -1;
	if (strcmp(pz->command, "promote") == 0 && env->n_gates) {
		/* as cmd_promote.c placed it */
		struct engine_gates mine = { 0 };
		if (!g)
			g = &mine;
		g->order = env->gates;
		g->n = env->n_gates;
		promote_insert_gates(env, &pz->pre, p, g);
	}
	char sha[65];
	rollout_plan_sha(p, sha);
	if (strcmp(sha, pz->plan_sha) != 0 || p->n_steps != pz->n_steps ||
	    pz->resume_at > p->n_steps) {
		plan_release(p);
		return ml_err_set(err, ML_EXIT_USAGE,
				  "the plan of the paused rollout of %s %s cannot "
				  "be rebuilt: %s's definition changed since it "
				  "paused (%s); restore it to continue or abort",
				  pz->target.model, pz->target.version, env->name,
				  env->file ? env->file : env->name);
	}
	return 0;
}

/* A fresh rollout waits while one is paused: exit 4 with a clear word;
 * one whose record cannot be read is no reason to go ahead either. */
int rollout_refuse_when_paused(struct ledger *ledger, const struct cfg_env *env)
{
	struct rollout_paused *p = NULL;
	struct ml_err err = ML_ERR_INIT;
	if (rollout_paused_load(ledger, env, &p, &err)) {
		out_error("%s", err.msg);
		return err.code ? err.code : ML_EXIT_OPERATIONAL;
	}
	if (!p)
		return ML_EXIT_OK;
	out_error("%s has a paused rollout of %s %s (canary at %d%%, step %d of "
		  "%d, paused %s by %s): 'mlctl continue --env %s' resumes it, "
		  "'mlctl abort --env %s' rolls it back",
		  env->name, p->target.model, p->target.version, p->canary_percent,
		  p->canary_step, p->canary_steps, p->since, p->by, env->name,
		  env->name);
	rollout_paused_free(p);
	return ML_EXIT_LOCKED;
}
