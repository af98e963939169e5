/* Configurations between the helper and the daemon: see cfgpack.h. */
#include "common/cfgpack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfgpack_put(struct ps_out *o, const struct opt_def *defs, const void *cfg,
		 const struct opts_origin *origin)
{
	uint8_t lines[OPTS_MAX_DEFS * 2];

	for (unsigned i = 0; defs[i].name && i <= PT_OPT_LAST - PT_OPT_BASE; i++) {
		const char *base = (const char *)cfg + defs[i].off;
		uint16_t tag = (uint16_t)(PT_OPT_BASE + i);
		switch (defs[i].type) {
		case OPT_STR:
			if (*(char *const *)base)
				ps_put_str(o, tag, *(char *const *)base);
			break;
		case OPT_LIST: {
			const struct strlist *l = (const struct strlist *)base;
			for (size_t k = 0; k < l->n; k++)
				ps_put_lstr(o, tag, l->line[k], l->v[k]);
			break;
		}
		case OPT_INT:
			ps_put_u64(o, tag, (uint64_t)*(const long *)base);
			break;
		case OPT_FLAG:
		case OPT_ENUM:
			ps_put_u32(o, tag, (uint32_t)*(const int *)base);
			break;
		case OPT_CONFIG:
			break;
		}
	}
	ps_put_str(o, PT_CFG_FILE, origin->file);
	for (unsigned i = 0; i < OPTS_MAX_DEFS; i++) {
		lines[2 * i] = (uint8_t)(origin->line[i] >> 8);
		lines[2 * i + 1] = (uint8_t)origin->line[i];
	}
	ps_put_bytes(o, PT_CFG_LINES, lines, sizeof(lines));
}

static unsigned n_choices(const struct opt_def *d)
{
	unsigned n = 0;

	while (d->choices && d->choices[n])
		n++;
	return n;
}

/* Option d's value from field f into base; 0, or -1. */
static int take(const struct opt_def *d, char *base, const struct ps_field *f)
{
	uint64_t v = 0;

	switch (d->type) {
	case OPT_STR:
		if (memchr(f->p, 0, f->len) || *(char **)base || !(*(char **)base = strndup((const char *)f->p, f->len)))
			return -1;
		return 0;
	case OPT_LIST: {
		struct strlist *l = (struct strlist *)base;
		if (f->len < 2 || memchr(f->p + 2, 0, f->len - 2u) || l->n >= OPTS_LIST_MAX ||
		    !(l->v[l->n] = strndup((const char *)f->p + 2, f->len - 2u)))
			return -1;
		l->line[l->n++] = (unsigned short)(f->p[0] << 8 | f->p[1]);
		return 0;
	}
	case OPT_INT:
		if (f->len != 8)
			return -1;
		for (int i = 0; i < 8; i++)
			v = v << 8 | f->p[i];
		if ((long)v < d->min || (long)v > d->max)
			return -1;
		*(long *)base = (long)v;
		return 0;
	case OPT_FLAG:
	case OPT_ENUM:
		if (f->len != 4)
			return -1;
		v = (uint32_t)f->p[0] << 24 | (uint32_t)f->p[1] << 16 | (uint32_t)f->p[2] << 8 | f->p[3];
		if (v > (d->type == OPT_FLAG ? 1 : n_choices(d) - 1u) && !(d->type == OPT_ENUM && v == UINT32_MAX))
			return -1;
		*(int *)base = (int)(int32_t)v;
		return 0;
	case OPT_CONFIG:
		break;
	}
	return -1;
}

int cfgpack_get(const struct ps_msg *m, const struct opt_def *defs, void *cfg,
		struct opts_origin *origin, char *err)
{
	unsigned ndefs = 0;
	size_t len;
	const uint8_t *lines = ps_bytes(m, PT_CFG_LINES, 0, &len);

	unsigned char seen[PT_OPT_LAST - PT_OPT_BASE + 1] = { 0 };

	while (defs[ndefs].name)
		ndefs++;
	for (unsigned i = 0; i < m->n; i++) {
		const struct ps_field *f = &m->f[i];
		unsigned k = f->tag - PT_OPT_BASE;
		if (f->tag < PT_OPT_BASE || f->tag > PT_OPT_LAST)
			continue;
		if (k >= ndefs || (seen[k]++ && defs[k].type != OPT_LIST) ||
		    take(&defs[k], (char *)cfg + defs[k].off, f) < 0) {
			snprintf(err, ERRLEN, "the helper sent a value of option %s that it does not take",
				 k < ndefs ? defs[k].name : "(unknown)");
			return -1;
		}
	}
	/* Numbers, flags and choices always travel (cfgpack_put): one that
	 * does not would be 0, maybe outside its bounds. */
	for (unsigned k = 0; k < ndefs && k < sizeof(seen); k++)
		if (!seen[k] && (defs[k].type == OPT_INT || defs[k].type == OPT_FLAG || defs[k].type == OPT_ENUM)) {
			snprintf(err, ERRLEN, "the helper sent no value of option %s", defs[k].name);
			return -1;
		}
	memset(origin, 0, sizeof(*origin));
	ps_str(m, PT_CFG_FILE, 0, origin->file, sizeof(origin->file));
	for (unsigned i = 0; lines && i < OPTS_MAX_DEFS && 2 * i + 1 < len; i++)
		origin->line[i] = (unsigned short)(lines[2 * i] << 8 | lines[2 * i + 1]);
	return 0;
}
