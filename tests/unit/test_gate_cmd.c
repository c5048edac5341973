/* test_gate_cmd.c — a gate's shell command: exit status, output captured
 * (stdout and stderr, the tail kept), the working directory and MLCTL_*
 * variables, and a timeout that kills the whole process group, including
 * what the command started in the background. */
#define _DEFAULT_SOURCE
#include "gates/gate.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Running, not a zombie waiting for a reaper. */
static bool alive(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

Test(gate_cmd, exit_status_and_both_outputs)
{
	struct gate_cmd_result r;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_cmd_run("echo out; echo err >&2; exit 3", NULL, NULL, 5000,
				  &r, &err),
		     0, "%s", err.msg);
	cr_assert_eq(r.status, 3);
	cr_assert_not(r.timed_out);
	cr_assert_str_eq(r.output, "out\nerr\n");
	gate_cmd_result_release(&r);
}

Test(gate_cmd, runs_in_the_directory_with_the_variables_given)
{
	struct gate_cmd_result r;
	struct ml_err err = ML_ERR_INIT;
	char *envv[] = { "MLCTL_ENV=staging", NULL };
	cr_assert_eq(gate_cmd_run("pwd; echo $MLCTL_ENV; read x || echo no-stdin",
				  "/tmp", envv, 5000, &r, &err),
		     0);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.output, "/tmp\nstaging\nno-stdin\n");
	gate_cmd_result_release(&r);
}

Test(gate_cmd, a_timeout_kills_the_process_group, .timeout = 20)
{
	struct gate_cmd_result r;
	struct ml_err err = ML_ERR_INIT;
	char pidfile[] = "/tmp/mlctl-gate-cmd-XXXXXX";
	int fd = mkstemp(pidfile);
	cr_assert(fd >= 0);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; echo started; sleep 30",
		 pidfile);
	cr_assert_eq(gate_cmd_run(cmd, NULL, NULL, 300, &r, &err), 0);
	cr_assert(r.timed_out);
	cr_assert_eq(r.status, -1);
	cr_assert_eq(r.signal, SIGTERM);
	cr_assert_str_eq(r.output, "started\n");
	cr_assert_lt(r.ms, 5000);
	FILE *f = fopen(pidfile, "r");
	int bg = 0;
	cr_assert_eq(fscanf(f, "%d", &bg), 1);
	fclose(f);
	unlink(pidfile);
	usleep(100000);
	cr_assert_not(alive(bg), "the background sleep %d survived", bg);
	gate_cmd_result_release(&r);
}

Test(gate_cmd, keeps_the_last_64k_of_a_long_output, .timeout = 20)
{
	struct gate_cmd_result r;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_cmd_run("i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; "
				  "i=$((i+1)); done",
				  NULL, NULL, 15000, &r, &err),
		     0);
	cr_assert_eq(r.status, 0);
	cr_assert(r.truncated);
	cr_assert_eq(r.output_len, GATE_CMD_OUTPUT_MAX);
	cr_assert(strstr(r.output, "line 19999\n"));
	cr_assert_null(strstr(r.output, "line 10\n"));
	gate_cmd_result_release(&r);
}

Test(gate_cmd, a_background_child_holding_the_pipe_does_not_hang_it,
     .timeout = 20)
{
	struct gate_cmd_result r;
	struct ml_err err = ML_ERR_INIT;
	cr_assert_eq(gate_cmd_run("sleep 30 & echo done", NULL, NULL, 10000, &r, &err),
		     0);
	cr_assert_eq(r.status, 0);
	cr_assert_not(r.timed_out);
	cr_assert_lt(r.ms, 5000);
	cr_assert_str_eq(r.output, "done\n");
	gate_cmd_result_release(&r);
}
