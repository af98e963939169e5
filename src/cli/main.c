/* iphttps: one program, a small table of subcommands (subcommands.c,
 * PRODUCT.md). */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: iphttps SUBCOMMAND [options]\n\n"
		   "IPv6 over HTTPS (IP-HTTPS, [MS-IPHTTPS]) server, client and troubleshooter.\n\n");
	for (size_t i = 0; i < n_subcommands; i++)
		if (!subcommands[i].hidden)
			fprintf(f, "  iphttps %s\n", subcommands[i].synopsis);
	fprintf(f, "  iphttps --version | --help ; iphttps SUBCOMMAND --help\n\n"
		   "Options may stand before or after operands.  Exit status: 0 success; 1 the\n"
		   "thing checked or run failed; 2 usage or configuration error.\n");
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
	for (size_t i = 0; i < n_subcommands; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "iphttps: unknown subcommand '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
