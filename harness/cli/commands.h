/* ckbench sub-commands: each lives in its own harness/cmd_<name>.c and takes
 * argv after the sub-command name (argv[0] is the sub-command). Returns the
 * process exit status: 0 ok, 1 a check failed, 2 bad usage or input. */
#ifndef CK_COMMANDS_H
#define CK_COMMANDS_H

int ck_cmd_list(int argc, char **argv);
int ck_cmd_parity(int argc, char **argv);
int ck_cmd_plan(int argc, char **argv);
int ck_cmd_bench(int argc, char **argv);
int ck_cmd_calibrate(int argc, char **argv);
int ck_cmd_report(int argc, char **argv);
int ck_cmd_run(int argc, char **argv);
int ck_cmd_diverge(int argc, char **argv);
int ck_cmd_train_step(int argc, char **argv);
int ck_cmd_fusion(int argc, char **argv);
int ck_cmd_version(int argc, char **argv);
/* ckbench help COMMAND (argv[1]): its section of docs/cli.md */
int ck_cmd_help(int argc, char **argv);
int ck_cmd_inspect(int argc, char **argv);
int ck_cmd_diff(int argc, char **argv);
/* ckbench --plugin P --model M (no sub-command): parity, bench, report */
int ck_cmd_headline(int argc, char **argv);

/* The run summary's line for kernel calls after which the host state had
 * to be put back (ck_runner_host_restores); nothing if there were none.
 * Shared by run and train-step. */
struct ck_runner;
void ck_print_host_restores(const struct ck_runner *r);

#endif
