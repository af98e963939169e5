/* The control socket: RUN_DIR/NAME.sock (mode 0600), one per running instance
 * (server or client), NAME being its TUN interface.  A request is one line
 * ("state", "clients", "reconnect", "enable", "disable"); the answer is one
 * JSON document, then the daemon closes.  Served from the daemon's event loop
 * without ever blocking on the requester.
 *
 * Error convention: 0 on success, -1 with a message in err[ERRLEN]. */
#ifndef IPHTTPS_CTL_H
#define IPHTTPS_CTL_H

#include "common/errbuf.h"

#include <json-c/json.h>

#include "common/opts.h"
#include "net/evloop.h"
#include "net/tunio.h"

#define CTL_DEFAULT_RUN_DIR "/run/iphttps"
#define CTL_MAX_REQ 1024        /* a request line, with its operand */

/* Builds the answer to cmd (a new reference, or NULL for "unknown command").
 * A refusal is an object with "error" (and "Role", the instance's). */
typedef struct json_object *(*ctl_handler_fn)(void *arg, const char *cmd);

/* A requester has CTL_DEADLINE_MS to send its line and take the answer;
 * at CTL_MAX_CONNS (16) open requests the oldest is closed for a new one. */
#define CTL_DEADLINE_MS 2000

struct ctl_conn;
struct ctl_server {
	struct ev_handler h;
	struct evloop *ev;
	char path[108];
	ctl_handler_fn fn;
	void *arg;
	unsigned open_conns;
	struct ctl_conn *oldest, *newest;
	uint64_t timeouts;              /* requests closed for lack of time or room */
};

/* The run directory: opt if set, else $IPHTTPS_RUN_DIR, else /run/iphttps. */
const char *ctl_run_dir(const char *opt);
/* Refuses (with a clear message) when another live instance holds NAME. */
int ctl_server_open(struct ctl_server *s, struct evloop *ev, const char *run_dir,
		    const char *name, ctl_handler_fn fn, void *arg, char *err);
/* Close requests past their deadline; call at least once a second while
 * open_conns is not 0. */
void ctl_server_tick(struct ctl_server *s, uint64_t now_ms);
void ctl_server_close(struct ctl_server *s);
/* {"error": message, "Role": role}: a refusal a handler returns. */
struct json_object *ctl_error(const char *role, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Requester side: send cmd to NAME's socket, parse the JSON answer (*out is a
 * new reference).  Waits at most timeout_ms. */
int ctl_request(const char *run_dir, const char *name, const char *cmd, int timeout_ms,
		struct json_object **out, char *err);
/* The TUN's data path counters (offload, reads, super-packets cut and
 * refused, writes, super-packets written), the "Tun" record of `state`. */
struct json_object *ctl_tun_json(const struct tunio *t);
/* Names of the instances with a socket in run_dir (live or stale), sorted. */
int ctl_list(const char *run_dir, struct strlist *names);

#endif
