/* Human and JSON output of verdicts: see report.h. */
#include "diag/report.h"
#include "errors.h"

#include "common/json.h"
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void report_style_init(struct report_style *s, FILE *f)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	struct winsize ws;
	int fd = fileno(f);

	s->color = fd >= 0 && isatty(fd) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
	s->width = 100;
	if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		s->width = ws.ws_col - 1;
		if (s->width < 60)
			s->width = 60;
		if (s->width > 120)
			s->width = 120;
	}
}

const char *report_color(const struct report_style *s, enum report_color c)
{
	static const char *const seq[] = {
		[RC_RESET] = "\033[0m", [RC_BOLD] = "\033[1m", [RC_DIM] = "\033[2m",
		[RC_RED] = "\033[31;1m", [RC_GREEN] = "\033[32;1m", [RC_YELLOW] = "\033[33;1m",
		[RC_CYAN] = "\033[36m",
	};

	return s->color ? seq[c] : "";
}

const char *report_code_str(uint32_t code, char *buf, size_t len)
{
	snprintf(buf, len, "0x%x", code);
	return buf;
}

void report_wrap(FILE *f, const struct report_style *s, int col, int min_avail,
		 enum report_color c, const char *text)
{
	int avail = s->width - col > min_avail ? s->width - col : min_avail;
	const char *p = text;
	int first = 1;

	while (*p == ' ')
		p++;
	if (!*p) {
		fputc('\n', f);
		return;
	}
	while (*p) {
		size_t n = strlen(p), cut = n;

		if (n > (size_t)avail) {
			/* the last space within the line, else the first after it */
			for (cut = (size_t)avail; cut > 0 && p[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = strcspn(p, " ");
		}
		if (!first)
			fprintf(f, "%*s", col, "");
		fprintf(f, "%s%.*s%s\n", report_color(s, c), (int)cut, p, report_color(s, RC_RESET));
		p += cut;
		while (*p == ' ')
			p++;
		first = 0;
	}
}

void report_field(FILE *f, const struct report_style *s, int indent, const char *label,
		  int label_w, enum report_color c, const char *text)
{
	fprintf(f, "%*s%s%-*s%s ", indent, "", report_color(s, RC_BOLD), label_w, label,
		report_color(s, RC_RESET));
	report_wrap(f, s, indent + label_w + 1, 20, c, text);
}

void report_verdict(FILE *f, const struct report_style *s, int indent,
		    const struct diag_verdict *v)
{
	enum report_color c = v->result == DIAG_OK ? RC_GREEN : v->result == DIAG_FAIL ? RC_RED : RC_YELLOW;
	char line[256], code[16];

	report_code_str(v->code, code, sizeof(code));
	if (v->code == IPH_E_IO_PENDING)
		snprintf(line, sizeof(line), "%s  %s", diag_result_name(v->result), v->summary);
	else
		snprintf(line, sizeof(line), "%s  %s %s: %s", diag_result_name(v->result), code,
			 iph_error_symbol(v->code), v->summary);
	report_field(f, s, indent, "verdict", 9, c, line);
	if (v->cause[0])
		report_field(f, s, indent, "cause", 9, RC_RESET, v->cause);
	if (v->evidence[0])
		report_field(f, s, indent, "evidence", 9, RC_RESET, v->evidence);
	if (v->fix[0])
		report_field(f, s, indent, "fix", 9, RC_RESET, v->fix);
	if (v->notes[0])
		report_field(f, s, indent, "notes", 9, RC_YELLOW, v->notes);
}

struct json_object *report_verdict_json(const struct diag_verdict *v)
{
	struct json_object *o = json_object_new_object();
	const struct iph_error *e = iph_error_lookup(v->code);
	char code[16];
	size_t n = strlen(v->notes);

	if (!o)
		return NULL;
	json_put_str(o, "result", diag_result_name(v->result));
	json_put_str(o, "code", report_code_str(v->code, code, sizeof(code)));
	json_put_str(o, "symbol", v->code == IPH_E_IO_PENDING ? "" : iph_error_symbol(v->code));
	json_put_str(o, "interface_status", e ? e->status : "");
	json_put_str(o, "summary", v->summary);
	json_put_str(o, "cause", v->cause);
	json_put_str(o, "evidence", v->evidence);
	json_put_str(o, "fix", v->fix);
	while (n > 0 && v->notes[n - 1] == ' ')
		n--;
	json_object_object_add(o, "notes", json_object_new_string_len(v->notes, (int)n));
	return o;
}
