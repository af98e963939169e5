/* One function per subcommand; each returns the process exit status
 * (0 success, 1 the thing checked or run failed, 2 usage or configuration).
 * The table of subcommands (subcommands.c) also says which options each
 * takes, for --help and the generated bash completion. */
#ifndef IPHTTPS_COMMANDS_H
#define IPHTTPS_COMMANDS_H

#include <getopt.h>
#include <stddef.h>

#include "common/opts.h"

int cmd_server(int argc, char **argv);
int cmd_client(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_clients(int argc, char **argv);
int cmd_reconnect(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_disconnect(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_issue_client(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_revoke_client(int argc, char **argv);
int cmd_renew_server_cert(int argc, char **argv);
int cmd_completion(int argc, char **argv);

/* What an operand of a subcommand is, for completion. */
enum operand_kind { OPERAND_NONE = 0, OPERAND_INSTANCE, OPERAND_FILE, OPERAND_TEXT };

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
	const struct opt_def *defs;     /* its option table (server, client), or */
	const struct option *lopts;     /* its getopt_long options */
	enum operand_kind operand;
	int hidden;                     /* not listed in --help (completion) */
};

extern const struct subcommand subcommands[];
extern const size_t n_subcommands;

/* The getopt_long tables of the subcommands that have one. */
extern const struct option ctl_cli_options[];
extern const struct option probe_options[];
extern const struct option trace_options[];
extern const struct option issue_client_options[];
extern const struct option explain_options[];
extern const struct option revoke_client_options[];
extern const struct option renew_server_cert_options[];

#endif
