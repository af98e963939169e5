/* iphttps issue-client [--state-dir DIR] NAME: a client certificate from the
 * generated authority, for authentication mode certificates. */
#include "cli/commands.h"

#include "tls/pki.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_STATE_DIR "/var/lib/iphttps"

/* Print the usage to f. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: iphttps issue-client [--state-dir DIR] NAME\n"
		"\n"
		"Issue a client certificate NAME from the authority that `iphttps server`\n"
		"generated in its state directory, and print the client's options.\n"
		"\n"
		"  --state-dir DIR  the server's state directory (default %s)\n"
		"  -h, --help       this text\n"
		"\n"
		"NAME: 1 to 64 of A-Z a-z 0-9 . _ - (it becomes the certificate's CN).\n",
		DEFAULT_STATE_DIR);
}

/* 1 if name is a valid client name ([A-Za-z0-9._-]{1,64}, as pki.h says). */
static int name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

const struct option issue_client_options[] = {
	{ "state-dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_issue_client(int argc, char **argv)
{
	const char *dir = DEFAULT_STATE_DIR, *name;
	char cert[PATH_MAX], key[PATH_MAX], err[ERRLEN], abs[PATH_MAX];
	struct pki_paths p;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:h", issue_client_options, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "iphttps issue-client: unknown or incomplete option %s\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "iphttps issue-client: %s\n",
			argc == optind ? "give the client's NAME" : "give one NAME only");
		usage(stderr);
		return 2;
	}
	name = argv[optind];
	if (!name_ok(name)) {
		fprintf(stderr, "iphttps issue-client: bad NAME \"%s\": use 1 to 64 of "
			"A-Z a-z 0-9 . _ -\n", name);
		return 2;
	}
	if (strlen(dir) >= sizeof(p.dir)) {
		fprintf(stderr, "iphttps issue-client: state directory path too long\n");
		return 2;
	}
	/* Print absolute paths: they are pasted into another command line. */
	if (realpath(dir, abs))
		dir = abs;
	pki_paths_init(&p, dir);
	if (access(p.ca_cert, F_OK) < 0 || access(p.ca_key, F_OK) < 0) {
		fprintf(stderr, "iphttps issue-client: no generated authority in %s; "
			"start `iphttps server` once first\n", p.dir);
		return 1;
	}
	if (pki_issue_client(&p, name, cert, key, sizeof(cert), err) < 0) {
		fprintf(stderr, "iphttps issue-client: %s\n", err);
		return 1;
	}
	printf("issued the client certificate %s\n"
	       "  certificate: %s\n"
	       "  key:         %s\n"
	       "client options:\n"
	       "  --ca %s --cert %s --key %s\n",
	       name, cert, key, p.ca_cert, cert, key);
	return 0;
}
