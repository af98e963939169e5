/* The server's counters as data (stats.c): each field of struct
 * server_stats that is a counter has a row here with its `state` key, its
 * Prometheus name and its help, and each per-reason array a row with its
 * label names, so that `state`, `--json` and `/metrics` show a new counter
 * once it has a row, with no code of its own.
 *
 * Error convention: none (tables). */
#ifndef IPHTTPS_SERVER_STATS_H
#define IPHTTPS_SERVER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "server/types.h"

struct stat_def {
	const char *key;        /* `state` key under Counters, e.g. "Accepted" */
	size_t off;             /* of a uint64_t in struct server_stats */
	const char *metric;     /* iphttps_<metric>_total */
	const char *help;
};

struct stat_array_def {
	const char *key;        /* `state` key of the object, e.g. "Drops" */
	const char *const *labels; /* a name per element */
	size_t n;
	size_t off;             /* of a uint64_t[n] in struct server_stats */
	const char *metric;     /* iphttps_<metric>_total{<label>="..."} */
	const char *label;
	const char *help;
	const char *const *codes; /* may be NULL: a Windows error code per element (label code) */
};

extern const struct stat_def server_stat_defs[];        /* ends with a NULL key */
extern const struct stat_array_def server_stat_arrays[]; /* ends with a NULL key */

static inline uint64_t stat_value(const struct server_stats *st, size_t off)
{
	return *(const uint64_t *)((const char *)st + off);
}

#endif
