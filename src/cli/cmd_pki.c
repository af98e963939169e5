/* iphttps revoke-client NAME | renew-server-cert: the life of the
 * certificates the generated authority issued (tls/pki.h), in the server's
 * state directory. */
#include "cli/commands.h"

#include "common/opts.h"
#include "tls/certcheck.h"
#include "tls/pki.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_STATE_DIR "/var/lib/iphttps"

const struct option revoke_client_options[] = {
	{ "state-dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

const struct option renew_server_cert_options[] = {
	{ "state-dir", required_argument, NULL, 'd' },
	{ "hostname", required_argument, NULL, 'n' },
	{ "new-key", no_argument, NULL, 'k' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct pki_args {
	const char *cmd;
	const char *dir;
	struct strlist names;   /* operands (revoke) or --hostname (renew) */
	const char *name;
	int new_key;
};

static void usage_revoke(FILE *f)
{
	fprintf(f,
		"usage: iphttps revoke-client [--state-dir DIR] NAME\n"
		"\n"
		"Revoke the client certificate NAME that issue-client made: its serial goes\n"
		"into the authority's CRL (DIR/crl.pem, the server's default --crl), its key\n"
		"is removed and the certificate kept as clients/NAME.pem.revoked.  A running\n"
		"server refuses it from its next reload (systemctl reload iphttps-server, or\n"
		"SIGHUP), which also ends a connection it still has.\n"
		"\n"
		"  --state-dir DIR  the server's state directory (default %s)\n"
		"  -h, --help       this text\n", DEFAULT_STATE_DIR);
}

static void usage_renew(FILE *f)
{
	fprintf(f,
		"usage: iphttps renew-server-cert [--state-dir DIR] [--hostname NAME]... [--new-key]\n"
		"\n"
		"Issue the generated server certificate again from the same authority, so\n"
		"that every client keeps trusting it (a new authority would break them all,\n"
		"0x800b0109), valid for two more years; the server takes it at its next\n"
		"reload (systemctl reload iphttps-server, or SIGHUP).\n"
		"\n"
		"  --state-dir DIR  the server's state directory (default %s)\n"
		"  --hostname NAME  the names it covers, repeatable (default: the names of\n"
		"                   the certificate it replaces)\n"
		"  --new-key        a new key too (default: the same key, so that clients that\n"
		"                   pin the public key with --pin keep connecting)\n"
		"  -h, --help       this text\n", DEFAULT_STATE_DIR);
}

/* Options anywhere among the operands; -1 to go on, else an exit status. */
static int parse(int argc, char **argv, const struct option *lo, void (*usage)(FILE *),
		 struct pki_args *a)
{
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-h", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': a->dir = optarg; break;
		case 'k': a->new_key = 1; break;
		case 'n':
			if (strlist_add(&a->names, optarg) < 0) {
				fprintf(stderr, "iphttps %s: too many --hostname\n", a->cmd);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 1:
			if (a->name || lo != revoke_client_options) {
				fprintf(stderr, "iphttps %s: unexpected argument '%s'\n", a->cmd, optarg);
				return 2;
			}
			a->name = optarg;
			break;
		default:
			fprintf(stderr, "iphttps %s: unknown or incomplete option '%s'\n", a->cmd,
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

/* The state directory, absolute, with its generated authority; 0 or 1. */
static int open_dir(struct pki_args *a, struct pki_paths *p)
{
	char abs[PATH_MAX];

	if (strlen(a->dir) >= sizeof(p->dir) - 16) {
		fprintf(stderr, "iphttps %s: state directory path too long\n", a->cmd);
		return 1;
	}
	pki_paths_init(p, realpath(a->dir, abs) ? abs : a->dir);
	if (access(p->ca_cert, F_OK) < 0 || access(p->ca_key, F_OK) < 0) {
		fprintf(stderr, "iphttps %s: no generated authority in %s; start `iphttps server` "
			"once first (or give --state-dir)\n", a->cmd, p->dir);
		return 1;
	}
	return 0;
}

int cmd_revoke_client(int argc, char **argv)
{
	struct pki_args a = { .cmd = "revoke-client", .dir = DEFAULT_STATE_DIR };
	struct pki_paths p;
	struct crl_facts f;
	char err[ERRLEN], serial[64];
	int r = parse(argc, argv, revoke_client_options, usage_revoke, &a);

	if (r >= 0)
		return r;
	if (!a.name) {
		fprintf(stderr, "iphttps revoke-client: give the client's NAME (as given to issue-client)\n");
		return 2;
	}
	if (open_dir(&a, &p))
		return 1;
	if (pki_revoke_client(&p, a.name, serial, sizeof(serial), err) < 0) {
		fprintf(stderr, "iphttps revoke-client: %s\n", err);
		return 1;
	}
	if (certcheck_crl(p.crl, p.ca_cert, NULL, &f, err) < 0) {
		fprintf(stderr, "iphttps revoke-client: %s\n", err);
		return 1;
	}
	printf("revoked the client certificate %s (serial %s)\n"
	       "  CRL: %s (%zu revoked)\n"
	       "a running server refuses it from its next reload (systemctl reload iphttps-server,\n"
	       "or kill -HUP), which also ends its connection\n", a.name, serial, p.crl, f.n_revoked);
	return 0;
}

int cmd_renew_server_cert(int argc, char **argv)
{
	struct pki_args a = { .cmd = "renew-server-cert", .dir = DEFAULT_STATE_DIR };
	struct pki_paths p;
	char err[ERRLEN], date[16];
	time_t until = 0;
	int r = parse(argc, argv, renew_server_cert_options, usage_renew, &a);

	if (r >= 0) {
		strlist_free(&a.names);
		return r;
	}
	r = open_dir(&a, &p);
	if (!r && pki_renew_server(&p, (const char *const *)a.names.v, a.names.n, a.new_key, &until,
				   err) < 0) {
		fprintf(stderr, "iphttps renew-server-cert: %s\n", err);
		r = 1;
	}
	strlist_free(&a.names);
	if (r)
		return r;
	cert_date(until, date, sizeof(date));
	printf("renewed the server certificate %s: valid until %s, from the same authority\n"
	       "(%s)%s\n"
	       "the server takes it at its next reload: systemctl reload iphttps-server, or kill -HUP\n",
	       p.server_cert, date, p.ca_cert, a.new_key ? ", with a new key" : ", with the same key");
	return 0;
}
