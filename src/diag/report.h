/* Output a person reads, shared by trace, probe and explain: labelled
 * fields wrapped with a hanging indent, colour only on a terminal and never
 * when NO_COLOR is set, the verdict block, and the verdict as JSON.
 *
 * Error convention: printing functions do not fail (stdio errors are the
 * caller's to check with ferror); report_verdict_json returns NULL on no
 * memory. */
#ifndef IPHTTPS_REPORT_H
#define IPHTTPS_REPORT_H

#include <stdio.h>

#include "diag/verdict.h"

struct json_object;

enum report_color { RC_RESET = 0, RC_BOLD, RC_DIM, RC_RED, RC_GREEN, RC_YELLOW, RC_CYAN };

struct report_style {
	int color;                      /* emit ANSI colours */
	int width;                      /* wrap text at this column */
};

/* Style for f: colour when f is a terminal, NO_COLOR is unset or empty and
 * TERM is not "dumb"; width from the terminal (60..120), else 100. */
void report_style_init(struct report_style *s, FILE *f);
/* The escape sequence for c, or "" without colour. */
const char *report_color(const struct report_style *s, enum report_color c);
/* Print "<indent><label padded to label_w> text", text wrapped at s->width
 * with continuation lines aligned under the text; colour c for the text. */
/* text from column col (the cursor is there), wrapped at the style's width
 * (at least min_avail wide) with continuation lines at col, in colour c. */
void report_wrap(FILE *f, const struct report_style *s, int col, int min_avail,
		 enum report_color c, const char *text);
void report_field(FILE *f, const struct report_style *s, int indent, const char *label,
		  int label_w, enum report_color c, const char *text);
/* The verdict block: result and code line, then cause, evidence, fix, notes. */
void report_verdict(FILE *f, const struct report_style *s, int indent,
		    const struct diag_verdict *v);
/* {"result","code","symbol","interface_status","summary","cause","evidence","fix","notes"} */
struct json_object *report_verdict_json(const struct diag_verdict *v);
/* "0x80090326" into buf (>= 12 bytes); returns buf. */
const char *report_code_str(uint32_t code, char *buf, size_t len);

#endif
