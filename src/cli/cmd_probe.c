/* iphttps probe [options] URL: troubleshoot an IP-HTTPS server step by
 * step, as a client of the chosen profile meets it, and say which Windows
 * error code such a client reports, why and what fixes it.  Exit 0 when a
 * client would connect, 1 when not, 2 on usage errors.  The steps are in
 * src/diag/probe*.c. */
#include "cli/commands.h"
#include "diag/probe.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 5

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iphttps probe [--ca FILE] [--cert FILE --key FILE] [--proxy URL]\n"
		"                     [--profile windows10|windows7|windows7-tls12|linux]\n"
		"                     [--expect-issuer TEXT]\n"
		"                     [--expect-chain FILE]\n"
		"                     [--timeout S] [--no-link] [--json] URL\n"
		"\n"
		"Runs against an IP-HTTPS server the steps a client runs and shows each with\n"
		"its result and timing: name resolution, TCP to every address, the proxy's\n"
		"CONNECT, the TLS handshake of a client profile, the cipher suites the server\n"
		"accepts (null and encrypted, each in a handshake of its own), the certificate\n"
		"chain, the HTTP POST and, unless --no-link, a Router Solicitation and the\n"
		"Router Advertisement.  The verdict names the Windows error code a client\n"
		"would report, the cause and the fix.\n"
		"\n"
		"  --ca FILE             CAs the server certificate must chain to (default: the\n"
		"                        system store)\n"
		"  --cert FILE --key FILE  a client certificate to offer\n"
		"  --proxy URL           http://[USER:PASS@]HOST:PORT, CONNECT through it\n"
		"  --profile P           windows10 (default: Windows 8/10/11: the null suites\n"
		"                        alone first, then at once Schannel's TLS 1.2 list after\n"
		"                        a reset), windows7 (a stock Windows 7: TLS 1.0, its\n"
		"                        suites, the server certificate's CRL checked),\n"
		"                        windows7-tls12 (Windows 7 with TLS 1.2 enabled by hand),\n"
		"                        linux (iphttps client's own TLS settings)\n"
		"  --expect-issuer TEXT  the chain must come from an authority whose name holds\n"
		"                        TEXT; another one means TLS inspection\n"
		"  --expect-chain FILE   the chain (PEM) the server presents from inside; a\n"
		"                        different certificate outside means TLS inspection\n"
		"  --timeout S           seconds allowed per step (default %d)\n"
		"  --no-link             stop after the HTTP answer\n"
		"  --json                one JSON document instead of the steps\n"
		"\n"
		"Exit status: 0 a client of the profile would connect; 1 it would not;\n"
		"2 usage error (a URL that does not parse, an unreadable file).\n", DEFAULT_TIMEOUT_S);
}

struct cli {
	struct probe_opts o;
	struct proxy_cfg proxy;
	int json;
};

/* Takes an option name and a file; 0 when readable, else says why. */
static int readable(const char *opt, const char *file)
{
	if (access(file, R_OK) == 0)
		return 0;
	fprintf(stderr, "iphttps probe: %s %s: cannot read it: %s\n", opt, file, strerror(errno));
	return -1;
}

/* Takes --timeout's value; the milliseconds, or -1. */
static int parse_timeout(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || v < 0.1 || v > 3600)
		return -1;
	return (int)(v * 1000);
}

/* One option into c.  Returns -1 to go on, else an exit status. */
static int option(int ch, const char *arg, struct cli *c)
{
	char err[ERRLEN];

	switch (ch) {
	case 'a': c->o.ca_file = arg; break;
	case 'c': c->o.cert_file = arg; break;
	case 'k': c->o.key_file = arg; break;
	case 'e': c->o.expect_issuer = arg; break;
	case 'E': c->o.expect_chain = arg; break;
	case 'n': c->o.no_link = 1; break;
	case 'j': c->json = 1; break;
	case 'x':
		if (proxy_parse_url(arg, &c->proxy, err) < 0) {
			fprintf(stderr, "iphttps probe: --proxy: %s\n", err);
			return 2;
		}
		c->o.proxy = &c->proxy;
		break;
	case 'p':
		if (probe_profile_parse(arg, &c->o.profile) < 0) {
			fprintf(stderr, "iphttps probe: --profile: '%s' is not windows10, windows7, windows7-tls12 or linux\n", arg);
			return 2;
		}
		break;
	case 't':
		if ((c->o.timeout_ms = parse_timeout(arg)) < 0) {
			fprintf(stderr, "iphttps probe: --timeout: '%s' is not a number of seconds (0.1-3600)\n", arg);
			return 2;
		}
		break;
	case 'h':
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
	return -1;
}

const struct option probe_options[] = {
	{ "ca", required_argument, NULL, 'a' },
	{ "cert", required_argument, NULL, 'c' },
	{ "key", required_argument, NULL, 'k' },
	{ "proxy", required_argument, NULL, 'x' },
	{ "profile", required_argument, NULL, 'p' },
	{ "expect-issuer", required_argument, NULL, 'e' },
	{ "expect-chain", required_argument, NULL, 'E' },
	{ "timeout", required_argument, NULL, 't' },
	{ "no-link", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parse the command line into c (options anywhere among the operands).
 * Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct cli *c)
{
	int ch, rc;

	memset(c, 0, sizeof(*c));
	c->o.profile = PROBE_WINDOWS10;
	c->o.timeout_ms = DEFAULT_TIMEOUT_S * 1000;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", probe_options, NULL)) != -1)
		if ((rc = option(ch, optarg, c)) >= 0)
			return rc;
	if (argc - optind != 1) {
		fprintf(stderr, "iphttps probe: %s\n", argc - optind ? "give one URL" : "no URL given");
		usage(stderr);
		return 2;
	}
	c->o.url = argv[optind];
	if (!c->o.cert_file != !c->o.key_file) {
		fprintf(stderr, "iphttps probe: a client certificate needs both --cert and --key\n");
		return 2;
	}
	if ((c->o.ca_file && readable("--ca", c->o.ca_file) < 0) ||
	    (c->o.cert_file && readable("--cert", c->o.cert_file) < 0) ||
	    (c->o.key_file && readable("--key", c->o.key_file) < 0) ||
	    (c->o.expect_chain && readable("--expect-chain", c->o.expect_chain) < 0))
		return 2;
	return -1;
}

int cmd_probe(int argc, char **argv)
{
	struct cli c;
	struct probe_result *r;
	char err[ERRLEN];
	int rc = parse_args(argc, argv, &c);

	if (rc >= 0)
		return rc;
	if (!(r = calloc(1, sizeof(*r)))) {
		fprintf(stderr, "iphttps probe: out of memory\n");
		return 1;
	}
	if (probe_run(&c.o, r, err) < 0) {
		fprintf(stderr, "iphttps probe: %s\n", err);
		free(r);
		return 2;
	}
	if (c.json) {
		struct json_object *doc = probe_json(&c.o, r);

		puts(doc ? json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) : "{}");
		json_object_put(doc);
	} else {
		probe_print(stdout, &c.o, r);
	}
	rc = r->v.result == DIAG_OK ? 0 : 1;
	free(r);
	fflush(stdout);
	return rc;
}
