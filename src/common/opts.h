/* Table-driven options: each option is both a command-line flag (--name) and a
 * key of the configuration file section ([server] or [client], read with
 * inih).  The command line wins over the file.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] that
 * names the option and the bad value, and for files "FILE:LINE: ...". */
#ifndef IPHTTPS_OPTS_H
#define IPHTTPS_OPTS_H

#include "common/errbuf.h"

#include <stddef.h>
#include <stdio.h>

#define OPTS_LIST_MAX 32

struct strlist {
	size_t n;
	char *v[OPTS_LIST_MAX];
};

enum opt_type {
	OPT_STR,       /* char * (strdup'ed) */
	OPT_LIST,      /* struct strlist, repeatable */
	OPT_INT,       /* long within [min, max] */
	OPT_FLAG,      /* int 0/1; on the command line takes no value; in files true/false/yes/no/1/0 */
	OPT_ENUM,      /* int index into choices */
	OPT_CONFIG,    /* -c FILE: handled by opts_parse */
};

struct opt_def {
	const char *name;        /* long name without dashes; also the config key */
	char short_name;         /* 0 if none */
	enum opt_type type;
	size_t off;              /* offset of the field in the config struct */
	const char *metavar;
	const char *help;
	long min, max;           /* OPT_INT */
	const char *const *choices; /* OPT_ENUM, NULL-terminated */
};

/* Parse -c FILE (if given) and then the command line into cfg.
 * Positional arguments are collected into pos (may be NULL if none allowed).
 * section is the config file section read ("server", "client").
 * Returns 0, 1 when --help was asked (usage printed to stdout), or -1. */
int opts_parse(const struct opt_def *defs, void *cfg, const char *section,
	       int argc, char **argv, struct strlist *pos, char *err);
int opts_parse_file(const struct opt_def *defs, void *cfg, const char *section,
		    const char *path, char *err);
void opts_usage(FILE *f, const char *synopsis, const struct opt_def *defs);
void strlist_free(struct strlist *l);
int strlist_add(struct strlist *l, const char *s);
/* Free the OPT_STR and OPT_LIST fields of cfg. */
void opts_free(const struct opt_def *defs, void *cfg);

#endif
