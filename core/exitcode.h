/* exitcode.h — mlctl's exit status list, the one place it is defined.
 * The X-macro feeds the enum, `mlctl help exit-codes` and mlctl(1)'s
 * EXIT STATUS section. A published number never changes. */
#ifndef MLCTL_EXITCODE_H
#define MLCTL_EXITCODE_H

#define ML_EXIT_LIST(X)                                                       \
	X(OK, 0, "success")                                                   \
	X(CHECK_FAILED, 1,                                                    \
	  "a check said no: for deploy/promote the environment is back on "   \
	  "its last good release; for gate/load nothing was changed")         \
	X(USAGE, 2,                                                           \
	  "bad usage or bad input: flags, files, a rejected release without " \
	  "--force, a release not loaded where a command needs it")           \
	X(OPERATIONAL, 3,                                                     \
	  "operational failure: a node or router unreachable or refusing an " \
	  "operation, or a rollback that itself failed; a person must look")  \
	X(LOCKED, 4, "locked by another rollout")                             \
	X(POLICY, 5,                                                          \
	  "refused by policy: promotion order not met, approval needed and "  \
	  "not given")                                                        \
	X(PAUSED, 6,                                                          \
	  "paused: the rollout waits at a manual step (mlctl continue)")      \
	X(WAIT_TIMEOUT, 7, "wait timed out")

enum ml_exit {
#define ML_EXIT_ENUM(name, num, text) ML_EXIT_##name = num,
	ML_EXIT_LIST(ML_EXIT_ENUM)
#undef ML_EXIT_ENUM
};

/* Meaning of an exit status, or NULL for a number not in the list. */
const char *ml_exit_text(int code);

#endif
