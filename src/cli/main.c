/* iphttps: one program, a small table of subcommands (see PRODUCT.md). */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
};

static const struct subcommand subcommands[] = {
	{ "server", cmd_server, "server  [-c FILE] [options]         run a server in the foreground" },
	{ "client", cmd_client, "client  [-c FILE] [options] URL...  run a client in the foreground" },
	{ "state", cmd_state, "state   [--json] [NAME]             status of the running server/clients" },
	{ "clients", cmd_clients, "clients [--json] [NAME]             a server's connected clients" },
	{ "reconnect", cmd_reconnect, "reconnect [NAME]                    a client retries now, timer reset" },
	{ "enable", cmd_enable, "enable [NAME]                       a disabled client connects again" },
	{ "disable", cmd_disable, "disable [NAME]                      a client drops its link and waits" },
	{ "probe", cmd_probe, "probe   [options] URL                troubleshoot a server step by step" },
	{ "trace", cmd_trace, "trace   [options] FILE              troubleshoot from a pcap/pcapng capture" },
	{ "explain", cmd_explain, "explain CODE                        what an IP-HTTPS error code means" },
	{ "issue-client", cmd_issue_client, "issue-client NAME                   a client certificate from the generated CA" },
};
#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: iphttps SUBCOMMAND [options]\n\n"
		   "IPv6 over HTTPS (IP-HTTPS, [MS-IPHTTPS]) server, client and troubleshooter.\n\n");
	for (size_t i = 0; i < N_SUB; i++)
		if (subcommands[i].fn)
			fprintf(f, "  iphttps %s\n", subcommands[i].synopsis);
	fprintf(f, "  iphttps --version | --help ; iphttps SUBCOMMAND --help\n");
}

int main(int argc, char **argv)
{
	/* No OpenSSL clean-up at exit: a client may exit while a connection
	 * attempt still runs in its thread (it holds its own reference to the
	 * TLS context); the process's end frees everything. */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT, NULL);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("iphttps %s\n", IPHTTPS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_SUB; i++)
		if (subcommands[i].fn && !strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "iphttps: unknown subcommand '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
