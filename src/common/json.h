/* The one set of JSON helpers (json-c) for everything the program writes as
 * JSON: the control socket's answers (`state`, `clients`), `probe --json`
 * and `trace --json`.  Each puts one value under a key of an object.
 *
 * Error convention: none; json-c's out-of-memory NULL values become JSON
 * nulls. */
#ifndef IPHTTPS_JSON_H
#define IPHTTPS_JSON_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A string; NULL is written as "". */
void json_put_str(struct json_object *o, const char *k, const char *v);
void json_put_u64(struct json_object *o, const char *k, uint64_t v);
void json_put_i64(struct json_object *o, const char *k, int64_t v);
void json_put_bool(struct json_object *o, const char *k, int v);
/* Milliseconds to the microsecond; null when ms < 0 (not measured). */
void json_put_ms(struct json_object *o, const char *k, double ms);
/* t as "2026-01-31T00:00:00Z" (UTC) into buf; "?" when it cannot be written. */
const char *json_iso_time(time_t t, char *buf, size_t len);

#endif
