/* status_rollout.h — what `mlctl status` says of a rollout in progress in
 * one environment: one that runs (a process holds the environment's
 * lock, and says where it stands in the progress it publishes), a canary
 * paused for a person (the ledger tip is a pause), or a paused one that a
 * `continue` or `abort` has taken up again. */
#ifndef MLCTL_STATUS_ROLLOUT_H
#define MLCTL_STATUS_ROLLOUT_H

#include "lock.h"
#include "rollout.h"

#include <jansson.h>

struct status_rollout {
	json_t *progress;   /* "rollout_in_progress": an object, or null */
	json_t *canary;     /* "canary": the canary in progress, or null */
	char canary_line[800];  /* text: "canary in progress: ..." or "" */
	char verdicts[160];     /* its last analysis verdicts, or "" */
	char holder_line[800];  /* text: "rollout in progress: ..." or "" */
};

/* The view of env's rollout from its lock's holder (NULL: none holds
 * it), the progress that holder published (NULL: none, or not the
 * holder's: see lock_progress_read) and its pause record (NULL: none).
 * Release with status_rollout_release. */
void status_rollout_init(struct status_rollout *v,
			 const struct lock_holder *holder,
			 const json_t *published,
			 const struct rollout_paused *pz);
void status_rollout_release(struct status_rollout *v);

#endif
