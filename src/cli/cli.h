/* Subcommands of the optmig command. Each returns the process exit status. */
#ifndef OM_CLI_H
#define OM_CLI_H
int om_cmd_run(int argc, char **argv);
int om_cmd_measure(int argc, char **argv);
int om_cmd_listen(int argc, char **argv);
int om_cmd_migrate(int argc, char **argv);
int om_cmd_status(int argc, char **argv);
int om_cmd_keygen(int argc, char **argv);
/* Exit status for usage errors, as in BSD sysexits EX_USAGE. */
#define OM_EXIT_USAGE 64
#endif
