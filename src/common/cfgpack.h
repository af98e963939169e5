/* A configuration as the helper read it again (SIGHUP), packed into a
 * PS_RELOADED message for the daemon, which may not read the file or what
 * it names (common/privsep.h): every option of the role's table by its
 * index (a string, each item of a list with its line, a number, a flag or
 * a choice) and where the values came from (the file, each option's line).
 * What the role derives beyond the table travels as its own fields
 * (server/helper.c).
 *
 * Error convention: cfgpack_put sets o->overflow when it does not fit;
 * cfgpack_get returns 0, or -1 with err naming the option whose value is
 * not one the table allows, that comes twice (all but lists) or that is
 * missing (a number, a flag or a choice) (cfg then holds what was taken:
 * free it). */
#ifndef IPHTTPS_CFGPACK_H
#define IPHTTPS_CFGPACK_H

#include "common/opts.h"
#include "common/privsep.h"

void cfgpack_put(struct ps_out *o, const struct opt_def *defs, const void *cfg,
		 const struct opts_origin *origin);
int cfgpack_get(const struct ps_msg *m, const struct opt_def *defs, void *cfg,
		struct opts_origin *origin, char *err);

#endif
