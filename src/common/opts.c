/* Table-driven options: see opts.h. */
#include "common/opts.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const default_sections[] = { "server", "client", NULL };
const char *const *opts_sections = default_sections;

int strlist_add(struct strlist *l, const char *s)
{
	char *d;

	if (l->n >= OPTS_LIST_MAX)
		return -1;
	if (!(d = strdup(s)))
		return -1;
	l->v[l->n++] = d;
	return 0;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static const struct opt_def *find_long(const struct opt_def *defs, const char *name, size_t len)
{
	for (; defs->name; defs++)
		if (strlen(defs->name) == len && !strncmp(defs->name, name, len))
			return defs;
	return NULL;
}

static const struct opt_def *find_short(const struct opt_def *defs, char c)
{
	for (; defs->name; defs++)
		if (defs->short_name == c)
			return defs;
	return NULL;
}

static int parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "1", "yes", "true", "on", NULL };
	static const char *no[] = { "0", "no", "false", "off", NULL };

	for (int i = 0; yes[i]; i++)
		if (!strcasecmp(v, yes[i]))
			return *out = 1, 0;
	for (int i = 0; no[i]; i++)
		if (!strcasecmp(v, no[i]))
			return *out = 0, 0;
	return -1;
}

/* Store value v for option d (of the file's line, 0: the command line)
 * into cfg; 0 or -1 with err. */
static int opt_set(const struct opt_def *d, void *cfg, const char *v, unsigned line, char *err)
{
	char *base = (char *)cfg + d->off;
	char *end;
	long n;

	switch (d->type) {
	case OPT_STR: {
		char **p = (char **)base;
		free(*p);
		if (!(*p = strdup(v)))
			goto nomem;
		return 0;
	}
	case OPT_LIST: {
		struct strlist *l = (struct strlist *)base;
		if (strlist_add(l, v) < 0) {
			snprintf(err, ERRLEN, "--%s: too many values (at most %d)", d->name,
				 OPTS_LIST_MAX);
			return -1;
		}
		l->line[l->n - 1] = (unsigned short)line;
		return 0;
	}
	case OPT_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < d->min || n > d->max) {
			snprintf(err, ERRLEN, "--%s: '%s' is not a whole number from %ld to %ld",
				 d->name, v, d->min, d->max);
			return -1;
		}
		*(long *)base = n;
		return 0;
	case OPT_FLAG:
		if (parse_bool(v, (int *)base) < 0) {
			snprintf(err, ERRLEN, "--%s: '%s' is not yes/no/true/false/1/0", d->name, v);
			return -1;
		}
		return 0;
	case OPT_ENUM:
		for (int i = 0; d->choices[i]; i++)
			if (!strcmp(v, d->choices[i])) {
				*(int *)base = i;
				return 0;
			}
		{
			size_t off = (size_t)snprintf(err, ERRLEN, "--%s: '%s' is not one of:", d->name, v);
			for (int i = 0; d->choices[i] && off < OPTS_LIST_MAX * 8; i++)
				off += (size_t)snprintf(err + off, ERRLEN - off, " %s", d->choices[i]);
		}
		return -1;
	case OPT_CONFIG:
		return 0;
	}
	return -1;
nomem:
	snprintf(err, ERRLEN, "out of memory");
	return -1;
}

struct file_ctx {
	const struct opt_def *defs;
	void *cfg;
	const char *section;
	const char *path;
	struct opts_origin *origin;
	FILE *f;
	unsigned line;          /* lines read so far: the one inih handles */
	int mid_line;           /* the last read ended before a newline */
	char *err;
	int failed;
};

static int known_section(const char *name, size_t len)
{
	for (const char *const *k = opts_sections; *k; k++)
		if (strlen(*k) == len && !strncmp(*k, name, len))
			return 1;
	return 0;
}

/* inih's reader: counts lines (Debian's inih passes no line number to the
 * handler) and refuses a [section] nobody reads, such as a misspelt
 * [sever] that would leave every key below it silently unused. */
static char *read_line(char *buf, int size, void *arg)
{
	struct file_ctx *fc = arg;
	const char *p, *end;

	int cont = fc->mid_line;

	if (fc->failed || !fgets(buf, size, fc->f))
		return NULL;
	fc->mid_line = !strchr(buf, '\n') && !feof(fc->f);
	if (cont)
		return buf;     /* the rest of a line longer than inih's buffer */
	fc->line++;
	p = buf + strspn(buf, " \t");
	if (*p != '[' || !(end = strchr(p, ']')))
		return buf;
	p++;
	p += strspn(p, " \t");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (!known_section(p, (size_t)(end - p))) {
		size_t off = (size_t)snprintf(fc->err, ERRLEN, "unknown section [%.*s] (known:",
					      (int)(end - p), p);
		for (const char *const *k = opts_sections; *k && off < ERRLEN; k++)
			off += (size_t)snprintf(fc->err + off, ERRLEN - off, " [%s]", *k);
		if (off < ERRLEN)
			snprintf(fc->err + off, ERRLEN - off, ")");
		fc->failed = 1;
		return NULL;
	}
	return buf;
}

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *fc = user;
	const struct opt_def *d;
	char msg[ERRLEN];

	if (fc->failed)
		return 0;
	if (strcmp(section, fc->section)) {
		if (!*section) {
			snprintf(fc->err, ERRLEN, "'%s' is outside a section (expected [%s])",
				 name, fc->section);
			fc->failed = 1;
			return 0;
		}
		return 1; /* another role's section */
	}
	d = find_long(fc->defs, name, strlen(name));
	if (!d || d->type == OPT_CONFIG) {
		snprintf(fc->err, ERRLEN, "unknown key '%s' in [%s]", name, section);
		fc->failed = 1;
		return 0;
	}
	if (opt_set(d, fc->cfg, value, fc->line, msg) < 0) {
		snprintf(fc->err, ERRLEN, "%s", msg + 2);
		fc->failed = 1;
		return 0;
	}
	if (fc->origin && d - fc->defs < OPTS_MAX_DEFS)
		fc->origin->line[d - fc->defs] = (unsigned short)fc->line;
	return 1;
}

int opts_parse_file(const struct opt_def *defs, void *cfg, const char *section,
		    const char *path, struct opts_origin *origin, char *err)
{
	struct file_ctx fc = { defs, cfg, section, path, origin, NULL, 0, 0, err, 0 };
	int rc;

	if (!(fc.f = fopen(path, "re"))) {
		snprintf(err, ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (origin)
		snprintf(origin->file, sizeof(origin->file), "%s", path);
	rc = ini_parse_stream(read_line, &fc, on_ini_line, &fc);
	if (!fc.failed && ferror(fc.f)) {
		fclose(fc.f);
		snprintf(err, ERRLEN, "%s: cannot be read", path);
		return -1;
	}
	fclose(fc.f);
	if (fc.failed) {
		char msg[ERRLEN];
		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, ERRLEN, "%s:%u: %s", path, fc.line, msg);
		return -1;
	}
	if (rc > 0) {
		snprintf(err, ERRLEN, "%s:%d: not a 'key = value' line or a [section]", path, rc);
		return -1;
	}
	if (rc < 0) {
		snprintf(err, ERRLEN, "%s: out of memory reading it", path);
		return -1;
	}
	return 0;
}

const char *opts_where(const struct opt_def *defs, const struct opts_origin *origin,
		       const void *cfg, const char *name, size_t item, char *out, size_t len)
{
	const struct opt_def *d = find_long(defs, name, strlen(name));
	unsigned line = 0;

	if (d && origin && d->type == OPT_LIST) {
		const struct strlist *l = (const struct strlist *)((const char *)cfg + d->off);
		if (item < l->n)
			line = l->line[item];
	} else if (d && origin && d - defs < OPTS_MAX_DEFS) {
		line = origin->line[d - defs];
	}
	if (line && origin->file[0])
		snprintf(out, len, "%s:%u: %s", origin->file, line, name);
	else
		snprintf(out, len, "--%s", name);
	return out;
}

int opts_bad(const struct opt_def *defs, const struct opts_origin *origin, const void *cfg,
	     const char *name, size_t item, char *err, const char *fmt, ...)
{
	char w[320], msg[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, ERRLEN, "%s: %s", opts_where(defs, origin, cfg, name, item, w, sizeof(w)), msg);
	return -1;
}

/* Find -c/--config in argv and read that file first. */
static int load_config_arg(const struct opt_def *defs, void *cfg, const char *section,
			   int argc, char **argv, struct opts_origin *origin, char *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *file = NULL;
		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-c") || !strcmp(a, "--config"))
			file = i + 1 < argc ? argv[i + 1] : NULL;
		else if (!strncmp(a, "--config=", 9))
			file = a + 9;
		else
			continue;
		if (!file) {
			snprintf(err, ERRLEN, "%s needs a FILE", a);
			return -1;
		}
		return opts_parse_file(defs, cfg, section, file, origin, err);
	}
	return 0;
}

int opts_parse(const struct opt_def *defs, void *cfg, const char *section,
	       int argc, char **argv, struct strlist *pos, struct opts_origin *origin,
	       char *err)
{
	int only_pos = 0;

	if (origin)
		memset(origin, 0, sizeof(*origin));
	if (load_config_arg(defs, cfg, section, argc, argv, origin, err) < 0)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct opt_def *d = NULL;

		if (only_pos || a[0] != '-' || !a[1]) {
			if (!pos) {
				snprintf(err, ERRLEN, "unexpected argument '%s'", a);
				return -1;
			}
			if (strlist_add(pos, a) < 0) {
				snprintf(err, ERRLEN, "too many arguments");
				return -1;
			}
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			d = find_long(defs, a + 2, len);
			if (eq)
				val = eq + 1;
			if (!d && !eq && len > 3 && !strncmp(a + 2, "no-", 3)) {
				/* --no-FLAG turns off a flag that is on by default */
				const struct opt_def *f = find_long(defs, a + 5, len - 3);
				if (f && f->type == OPT_FLAG) {
					*(int *)((char *)cfg + f->off) = 0;
					if (origin && f - defs < OPTS_MAX_DEFS)
						origin->line[f - defs] = 0;
					continue;
				}
			}
		} else if (!a[2]) {
			d = find_short(defs, a[1]);
		}
		if (!d) {
			snprintf(err, ERRLEN, "unknown option '%s' (see --help)", a);
			return -1;
		}
		if (origin && d - defs < OPTS_MAX_DEFS)
			origin->line[d - defs] = 0;
		if (d->type == OPT_FLAG && !val) {
			*(int *)((char *)cfg + d->off) = 1;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				snprintf(err, ERRLEN, "--%s needs a value (%s)", d->name,
					 d->metavar ? d->metavar : "VALUE");
				return -1;
			}
			val = argv[++i];
		}
		if (d->type == OPT_CONFIG)
			continue;
		if (opt_set(d, cfg, val, 0, err) < 0)
			return -1;
	}
	return 0;
}

void opts_usage(FILE *f, const char *synopsis, const struct opt_def *defs)
{
	fprintf(f, "usage: %s\n\noptions (each also a key of the config file):\n", synopsis);
	for (; defs->name; defs++) {
		char left[64];
		if (defs->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", defs->short_name, defs->name,
				 defs->metavar ? " " : "", defs->metavar ? defs->metavar : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", defs->name,
				 defs->metavar ? " " : "", defs->metavar ? defs->metavar : "");
		fprintf(f, "  %-34s %s\n", left, defs->help);
	}
	fprintf(f, "  %-34s %s\n", "-h, --help", "this help");
}

void opts_free(const struct opt_def *defs, void *cfg)
{
	for (; defs->name; defs++) {
		char *base = (char *)cfg + defs->off;
		if (defs->type == OPT_STR) {
			free(*(char **)base);
			*(char **)base = NULL;
		} else if (defs->type == OPT_LIST) {
			strlist_free((struct strlist *)base);
		}
	}
}
