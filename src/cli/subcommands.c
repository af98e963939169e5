/* The table of subcommands (commands.h): PRODUCT.md's names. */
#include "cli/commands.h"
#include "client/config.h"
#include "server/config.h"

const struct subcommand subcommands[] = {
	{ "server", cmd_server, "server  [-c FILE] [options]         run a server in the foreground",
	  server_opts, NULL, OPERAND_NONE, 0 },
	{ "client", cmd_client, "client  [-c FILE] [options] URL...  run a client in the foreground",
	  client_opts, NULL, OPERAND_TEXT, 0 },
	{ "state", cmd_state, "state   [--json] [NAME]             status of the running server/clients",
	  NULL, ctl_cli_options, OPERAND_INSTANCE, 0 },
	{ "clients", cmd_clients, "clients [--json] [NAME]             a server's connected clients",
	  NULL, ctl_cli_options, OPERAND_INSTANCE, 0 },
	{ "reconnect", cmd_reconnect, "reconnect [NAME]                    a client retries now, timer reset",
	  NULL, ctl_cli_options, OPERAND_INSTANCE, 0 },
	{ "enable", cmd_enable, "enable [NAME]                       a disabled client connects again",
	  NULL, ctl_cli_options, OPERAND_INSTANCE, 0 },
	{ "disable", cmd_disable, "disable [NAME]                      a client drops its link and waits",
	  NULL, ctl_cli_options, OPERAND_INSTANCE, 0 },
	{ "disconnect", cmd_disconnect, "disconnect [NAME] ID|SUBJECT        end one client's connection on a server",
	  NULL, ctl_cli_options, OPERAND_INSTANCE, 0 },
	{ "probe", cmd_probe, "probe   [options] URL               troubleshoot a server step by step",
	  NULL, probe_options, OPERAND_TEXT, 0 },
	{ "trace", cmd_trace, "trace   [options] FILE              troubleshoot from a pcap/pcapng capture",
	  NULL, trace_options, OPERAND_FILE, 0 },
	{ "explain", cmd_explain, "explain CODE                        what an IP-HTTPS error code means",
	  NULL, explain_options, OPERAND_TEXT, 0 },
	{ "issue-client", cmd_issue_client, "issue-client NAME                   a client certificate from the generated CA",
	  NULL, issue_client_options, OPERAND_TEXT, 0 },
	{ "revoke-client", cmd_revoke_client, "revoke-client NAME                  revoke it (the generated CA's CRL)",
	  NULL, revoke_client_options, OPERAND_TEXT, 0 },
	{ "renew-server-cert", cmd_renew_server_cert, "renew-server-cert                   a new server certificate from the same CA",
	  NULL, renew_server_cert_options, OPERAND_NONE, 0 },
	{ "completion", cmd_completion, "completion bash                     the bash completion script",
	  NULL, NULL, OPERAND_TEXT, 1 },
};
const size_t n_subcommands = sizeof(subcommands) / sizeof(subcommands[0]);
