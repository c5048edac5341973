/* rollout_stop.c — how a rollout that went back says so: the time to all
 * traffic on the stable release, counted from the moment that really
 * started the way back (a failing check, a deadline, a signal ...). */
#include "rollout_internal.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

bool rollout_was_stopped(const struct engine_result *res,
			 const struct rollout_stop *sp)
{
	return res->stopped || sp->an_stopped;
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
