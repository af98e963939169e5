/* iphttps explain CODE | --list: the catalogue entry of an IP-HTTPS error
 * code (errors.h), as Get-NetIPHttpsState shows it in LastErrorCode, with
 * the source that says Windows reports it (or that the code is ours).  CODE
 * is hex with or without 0x, or decimal; every 0x80190000 | HTTP status is
 * known.  Exit 0, or 2 for an unknown code or a usage error. */
#include "cli/commands.h"
#include "diag/report.h"
#include "errors.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Prints the usage text to f. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: iphttps explain CODE\n"
		"       iphttps explain --list\n"
		"\n"
		"Prints what an IP-HTTPS error code means (the LastErrorCode of\n"
		"Get-NetIPHttpsState or of iphttps state): its symbol, the InterfaceStatus\n"
		"Windows shows, the usual cause, the fix and the source that says Windows\n"
		"reports it.  Codes marked \"ours\" (0xa000000x) are this program's own, for\n"
		"failures Windows has no code for.  CODE is hex with or without 0x\n"
		"(0x80090326, 80090326) or decimal (2148074278); an HTTP answer other than\n"
		"200 is 0x80190000 | status (404: 0x80190194).\n"
		"\n"
		"  --list   every code in the catalogue (\"ours\" marks our own)\n");
}

/* Prints one entry in full. */
static void print_entry(const struct report_style *s, const struct iph_error *e)
{
	char head[128];

	snprintf(head, sizeof(head), "0x%x (%u)  %s", e->code, e->code, e->symbol);
	printf("%s%s%s\n", report_color(s, RC_BOLD), head, report_color(s, RC_RESET));
	report_field(stdout, s, 2, "InterfaceStatus", 16, RC_RESET, e->status);
	report_field(stdout, s, 2, "Meaning", 16, RC_RESET, e->meaning);
	if (e->cause[0])
		report_field(stdout, s, 2, "Cause", 16, RC_RESET, e->cause);
	if (e->fix[0])
		report_field(stdout, s, 2, "Fix", 16, RC_RESET, e->fix);
	report_field(stdout, s, 2, "Source", 16, RC_DIM,
		     e->source ? e->source : "?");
}

/* Prints the catalogue, one code per line. */
static void print_list(const struct report_style *s)
{
	size_t n;
	const struct iph_error *t = iph_error_table(&n);

	for (size_t i = 0; i < n; i++) {
		char code[16], label[80];

		snprintf(code, sizeof(code), "0x%x", t[i].code);
		snprintf(label, sizeof(label), "%-11s %-4s %s", code, t[i].ours ? "ours" : "", t[i].symbol);
		report_field(stdout, s, 0, label, 54, RC_RESET, t[i].meaning);
	}
	report_field(stdout, s, 0, "0x80190000|N     HTTP_STATUS_N", 54, RC_RESET,
		     "Any other HTTP status N but 200 answering the POST (422: 0x801901a6).");
}

const struct option explain_options[] = {
	{ "list", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_explain(int argc, char **argv)
{
	struct report_style s;
	const struct iph_error *e;
	uint32_t code;
	const char *arg;
	int ch, list = 0;

	report_style_init(&s, stdout);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "lh", explain_options, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			list = 1;
			break;
		default:
			fprintf(stderr, "iphttps explain: unknown option %s\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		print_list(&s);
		return 0;
	}
	if (argc - optind != 1) {
		if (argc - optind > 1)
			fprintf(stderr, "iphttps explain: give one code\n");
		usage(stderr);
		return 2;
	}
	arg = argv[optind];
	if (iph_error_parse(arg, &code) < 0) {
		fprintf(stderr, "iphttps explain: '%s' is not an error code (hex like 0x80090326, or decimal)\n", arg);
		return 2;
	}
	e = iph_error_lookup(code);
	if (!e) {
		fprintf(stderr, "iphttps explain: 0x%x is not an IP-HTTPS error code we know (iphttps explain --list shows them)\n", code);
		return 2;
	}
	print_entry(&s, e);
	return 0;
}
