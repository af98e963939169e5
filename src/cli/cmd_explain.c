/* iphttps explain CODE | --list: the catalogue entry of an IP-HTTPS error
 * code (errors.h), as Get-NetIPHttpsState shows it in LastErrorCode.  CODE
 * is hex with or without 0x, or decimal.  Exit 0, or 2 for an unknown code
 * or a usage error. */
#include "cli/commands.h"
#include "diag/report.h"
#include "errors.h"

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
		"Windows shows, the usual cause and the fix.  CODE is hex with or without\n"
		"0x (0x80090326, 80090326) or decimal (2148074278).\n"
		"\n"
		"  --list   every code in the catalogue\n");
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
}

/* Prints the catalogue, one code per line. */
static void print_list(const struct report_style *s)
{
	size_t n;
	const struct iph_error *t = iph_error_table(&n);

	for (size_t i = 0; i < n; i++) {
		char code[16], label[48];

		snprintf(code, sizeof(code), "0x%x", t[i].code);
		snprintf(label, sizeof(label), "%-11s %s", code, t[i].symbol);
		report_field(stdout, s, 0, label, 42, RC_RESET, t[i].meaning);
	}
}

int cmd_explain(int argc, char **argv)
{
	struct report_style s;
	const struct iph_error *e;
	uint32_t code;
	const char *arg = NULL;

	report_style_init(&s, stdout);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "-l") == 0) {
			print_list(&s);
			return 0;
		}
		if (strcmp(argv[i], "--") == 0 && i + 1 < argc && !arg) {
			arg = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "iphttps explain: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
		if (arg) {
			fprintf(stderr, "iphttps explain: give one code\n");
			return 2;
		}
		arg = argv[i];
	}
	if (!arg) {
		usage(stderr);
		return 2;
	}
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
