/* rollout_stop.c — how a rollout that went back says so: the reason of a
 * run that `mlctl abort` stopped (who asked and why, from the request it
 * left beside the lock), and the time to all traffic on the stable
 * release counted from the moment that really started the way back. */
#include "rollout_internal.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

bool rollout_was_stopped(const struct engine_result *res,
			 const struct rollout_stop *sp)
{
	return res->stopped || sp->an_stopped;
}

void rollout_stop_reason(const struct rollout_req *req, const struct plan *p,
			 const struct engine_result *res,
			 const struct rollout_stop *sp, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!sp->asked || req->abort || !rollout_was_stopped(res, sp))
		return;
	const char *why = sp->ask.reason;
	const char *sep = why[0] ? ": " : "";
	/* the engine's own note of a failed undo stays */
	const char *undo = strstr(res->reason, "; rollback failed: ");
	if (!undo)
		undo = "";
	if (p->strategy == CFG_STRAT_CANARY && res->canary_percent > 0) {
		snprintf(buf, size, "canary aborted at %d%% by %s%s%s%s",
			 res->canary_percent, sp->ask.by, sep, why, undo);
		return;
	}
	size_t k = res->steps_done;
	if (k < p->n_steps)
		snprintf(buf, size, "%s aborted by %s before step %zu (%.200s)%s%s%s",
			 req->action, sp->ask.by, k + 1,
			 p->steps[k].text ? p->steps[k].text : "", sep, why, undo);
	else
		snprintf(buf, size, "%s aborted by %s%s%s%s", req->action,
			 sp->ask.by, sep, why, undo);
}

static void point(const char **text, const char **key, const char *t,
		  const char *k)
{
	*text = t;
	*key = k;
}

double rollout_back_ms(const struct rollout_req *req,
		       const struct engine_result *res, double t_start,
		       const struct rollout_stop *sp, const char **text,
		       const char **key)
{
	*text = *key = NULL;
	/* a rollback's undo returns to the release it meant to leave: no
	 * return to a stable release to time */
	if (!res->rolled_back || res->stable_at_ms <= 0 || !res->target_served ||
	    strcmp(req->action, "rollback") == 0)
		return -1;
	double from;
	if (req->abort) {
		from = t_start;
		point(text, key, "the abort began", "abort");
	} else if (rollout_was_stopped(res, sp) && sp->asked &&
		   sp->ask.asked_ms > 0 && sp->ask.asked_ms <= res->stable_at_ms) {
		from = sp->ask.asked_ms;
		point(text, key, "the abort", "abort");
	} else if (sp->an_stopped) {
		from = sp->an_failed_at; /* within ~100 ms of the signal */
		point(text, key, "the signal", "signal");
	} else if (res->stopped) {
		from = res->failed_at_ms; /* between steps: maybe well after it */
		point(text, key, "the signal was seen", "signal_seen");
	} else if (res->timed_out) {
		from = t_start + (double)req->timeout_ms;
		point(text, key, "the deadline", "deadline");
	} else if (sp->an_failed_at > 0) {
		from = sp->an_failed_at;
		if (sp->an_verdict)
			point(text, key, "the failing interval",
			      "failing_interval");
		else
			point(text, key, "the analysis ran out of data",
			      "no_data");
	} else if (res->check_failed) {
		from = res->failed_at_ms;
		point(text, key, "the failing check", "failing_check");
	} else {
		from = res->failed_at_ms;
		point(text, key, "the failed step", "failed_step");
	}
	if (from <= 0) {
		*text = *key = NULL;
		return -1;
	}
	return res->stable_at_ms > from ? res->stable_at_ms - from : 0;
}
