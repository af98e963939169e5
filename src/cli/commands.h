/* One function per subcommand; each returns the process exit status
 * (0 success, 1 the thing checked or run failed, 2 usage or configuration). */
#ifndef IPHTTPS_COMMANDS_H
#define IPHTTPS_COMMANDS_H

int cmd_server(int argc, char **argv);
int cmd_client(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_clients(int argc, char **argv);
int cmd_reconnect(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_issue_client(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_explain(int argc, char **argv);

#endif
