/* The probe's results as the steps a person reads (probe_steps.c): a name,
 * a status, a time, a line of text and detail lines, in the order a client
 * meets them.  The human output and the JSON "steps" both come from here.
 *
 * Error convention: nothing fails; texts are cut to PSTEP_TEXT. */
#ifndef IPHTTPS_PROBE_STEPS_H
#define IPHTTPS_PROBE_STEPS_H

#include "diag/probe_int.h"

#define PSTEP_MAX   (20 + PROBE_MAX_CHAIN)
#define PSTEP_LINES 12
#define PSTEP_TEXT  768

enum pstep_status { PS_OK = 0, PS_WARN, PS_FAIL, PS_SKIP };

struct pstep {
	char name[16];                  /* "resolve", "tcp", "tls", "cert 0", ... */
	enum pstep_status status;
	double ms;                      /* < 0: no time of its own */
	char text[PSTEP_TEXT];
	size_t n_lines;
	char lines[PSTEP_LINES][PSTEP_TEXT];
};

struct psteps {
	size_t n;
	struct pstep s[PSTEP_MAX];
};

/* Build the steps of r (l is large: allocate it). */
void probe_steps(const struct probe_opts *o, const struct probe_result *r, struct psteps *l);
/* "ok", "warn", "FAIL", "skip" */
const char *probe_status_name(enum pstep_status s);

#endif
