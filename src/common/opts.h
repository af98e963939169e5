/* Table-driven options: each option is both a command-line flag (--name) and a
 * key of the configuration file section ([server] or [client], read with
 * inih).  The command line wins over the file.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN] that
 * names the option and the bad value, and for files "FILE:LINE: ...". */
#ifndef IPHTTPS_OPTS_H
#define IPHTTPS_OPTS_H

#include "common/errbuf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define OPTS_LIST_MAX 32
#define OPTS_MAX_DEFS 64

struct strlist {
	size_t n;
	char *v[OPTS_LIST_MAX];
	unsigned short line[OPTS_LIST_MAX]; /* configuration file line of each, 0: command line */
};

/* Where the values came from, so that a check made later can name the
 * file's line ("FILE:LINE: key") or the option ("--key"). */
struct opts_origin {
	char file[256];                     /* the -c FILE, "" without one */
	unsigned short line[OPTS_MAX_DEFS]; /* per option (table index): the line of its
					     * value in file, 0: command line or default */
};

/* The sections a configuration file may hold: each role reads its own and
 * skips the others'; any other section is an error naming its line. */
extern const char *const *opts_sections;

enum opt_type {
	OPT_STR,       /* char * (strdup'ed) */
	OPT_LIST,      /* struct strlist, repeatable */
	OPT_INT,       /* long within [min, max] */
	OPT_FLAG,      /* int 0/1; on the command line takes no value, --no-NAME sets 0;
	                  in files true/false/yes/no/1/0 */
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
 * section is the config file section read ("server", "client"); origin
 * (may be NULL) records where each value came from.
 * Returns 0, 1 when --help was asked (the caller prints the usage), or -1. */
int opts_parse(const struct opt_def *defs, void *cfg, const char *section,
	       int argc, char **argv, struct strlist *pos, struct opts_origin *origin,
	       char *err);
int opts_parse_file(const struct opt_def *defs, void *cfg, const char *section,
		    const char *path, struct opts_origin *origin, char *err);
/* Where option name's value (item of a list) came from: "FILE:LINE: name"
 * or "--name", into out[len]; returns out. */
const char *opts_where(const struct opt_def *defs, const struct opts_origin *origin,
		       const void *cfg, const char *name, size_t item, char *out, size_t len);
/* err = opts_where(...) ": " and the message; returns -1. */
int opts_bad(const struct opt_def *defs, const struct opts_origin *origin, const void *cfg,
	     const char *name, size_t item, char *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void opts_usage(FILE *f, const char *synopsis, const struct opt_def *defs);
void strlist_free(struct strlist *l);
int strlist_add(struct strlist *l, const char *s);
/* Free the OPT_STR and OPT_LIST fields of cfg. */
void opts_free(const struct opt_def *defs, void *cfg);

#endif
