/* Privilege separation (OpenBSD daemons' manner): each daemon forks a small
 * helper just before it gives up its privileges, then runs as --user with
 * CAP_NET_ADMIN only and the seccomp filter; the few operations that need
 * more (running programs: the translator, the resolver, the scripts;
 * applying the advertised DNS; the configuration read again with what it
 * names) are asked of the helper over a SOCK_SEQPACKET socketpair.  The
 * helper never takes a path or a program from the daemon: each request
 * names one operation of a fixed list, with arguments the helper checks
 * against its own copy of the configuration (server/helper.h and
 * client/helper.h say which and why).
 *
 * The message: one datagram, at most PS_MSG_MAX bytes,
 *     u16 type | u16 number of fields | u32 id | fields
 * a field: u16 tag | u16 length | that many bytes.  ps_parse() checks a
 * datagram against the type's schema before anyone reads it: every field
 * inside the datagram and the datagram made of fields only, every tag one
 * the type allows, each of the right kind and length (a u32 is 4 bytes, a
 * string has no NUL and at most its maximum), each as many times as the
 * type allows.  The getters then never fail on structure.
 *
 * Requests carry an id that their reply repeats (ps_call); events from
 * the helper carry 0.  A malformed message ends the side that got it (the
 * other is then told by the end of the socket): the helper trusts nothing
 * the daemon sends.
 *
 * Error convention: ps_parse returns 0 or -1 with why[ERRLEN]; the channel
 * functions return 0 (or a byte count) or -1 with errno set. */
#ifndef IPHTTPS_PRIVSEP_H
#define IPHTTPS_PRIVSEP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errbuf.h"

#define PS_MSG_MAX 65536
#define PS_FIELDS_MAX 1024
#define PS_STR_MAX 4096
#define PS_HDR 8

enum ps_type {
	PS_NONE = 0,
	/* daemon -> helper */
	PS_RUN_SCRIPT,          /* ID job, EVENT, NAME, ENV "IPHTTPS_X=v"... */
	PS_STOP_SCRIPT,         /* ID job */
	PS_INTRANET_STOP,       /* server: stop the translator and resolver, undo -> DONE */
	PS_RELOAD,              /* read the configuration again -> RELOADED (server) | DONE (client) | FAILED */
	/* helper -> daemon */
	PS_SCRIPT_DONE,         /* ID job, STATUS, TIMEDOUT, TEXT, LINE */
	PS_CHILD_STATUS,        /* WHICH, STATE, PID, STARTS, RESTARTS, SINCE, LASTEXIT, ... */
	PS_DONE,
	PS_FAILED,              /* ERR */
	PS_RELOADED,            /* the configuration (common/cfgpack.h) */
	/* the client's (daemon -> helper, then helper -> daemon) */
	PS_DNS_SET,             /* client: SERVER (16 bytes)..., DOMAIN...: what the RAs advertise */
	PS_DNS_DOWN,            /* client: the link is down: take the tunnel's DNS away */
	PS_DNS_SHUTDOWN,        /* client: take everything back now -> DONE */
	PS_DNS_STATUS,          /* client: MECH, APPLIED, SPLIT, BUSY, NOTE: the DNS as applied */
	PS_OPEN,                /* client, on its file channel: KIND (0 certificate, 1 key), PATH -> OPENED */
	PS_OPENED,              /* ERRNO: 0 with the descriptor open for reading */
	PS_CREDS,               /* client, the reply to RELOAD: CFG_CREDCERT, CFG_CREDKEY, CFG_CREDLABEL... */
	PS_TYPE_MAX
};

enum ps_tag {
	PT_ID = 1, PT_EVENT, PT_NAME, PT_ENV, PT_STATUS, PT_TIMEDOUT, PT_TEXT, PT_LINE,
	PT_WHICH, PT_STATE, PT_PID, PT_STARTS, PT_RESTARTS, PT_SINCE, PT_LASTEXIT, PT_HASSTATUS,
	PT_BACKOFF, PT_ERR,
	/* the configuration (cfgpack.c) */
	PT_CFG_FILE, PT_CFG_LINES, PT_CFG_CREDCERT, PT_CFG_CREDKEY, PT_CFG_CREDLABEL, PT_CFG_EXTRA,
	/* the client's DNS */
	PT_SERVER, PT_DOMAIN, PT_MECH, PT_APPLIED, PT_SPLIT, PT_BUSY, PT_NOTE,
	/* the client's certificates and keys */
	PT_KIND, PT_PATH, PT_ERRNO,
	PT_OPT_BASE = 0x100,    /* option i of the role's table: PT_OPT_BASE + i */
	PT_OPT_LAST = 0x13f,
};

/* What a field holds. */
enum ps_kind { PK_U32, PK_U64, PK_STR, PK_BYTES, PK_LSTR /* u16 line + string */ };

/* Scripts the helper runs (PT_EVENT), server and client. */
enum ps_event { PS_EV_CONNECT = 1, PS_EV_DISCONNECT, PS_EV_UP, PS_EV_DOWN };
/* Children of the server's helper (PT_WHICH). */
enum ps_child { PS_CHILD_TAYGA = 1, PS_CHILD_UNBOUND };

struct ps_field {
	uint16_t tag, len;
	const uint8_t *p;
};

/* A parsed message: fields point into the datagram it came from. */
struct ps_msg {
	uint16_t type, n;
	uint32_t id;
	struct ps_field f[PS_FIELDS_MAX];
};

/* A message being built. */
struct ps_out {
	uint8_t b[PS_MSG_MAX];
	size_t len;
	uint16_t n;
	int overflow;           /* a field did not fit: the message is not sent */
};

/* 0 with m filled, or -1 with why when buf[len] is not a well-formed
 * message of a known type. */
int ps_parse(const uint8_t *buf, size_t len, struct ps_msg *m, char *why);
const char *ps_type_name(unsigned type);

/* Getters, on a parsed message.  ps_u32 and ps_u64 give dflt when the
 * field is absent; ps_str copies the idx-th occurrence of tag into out
 * (NUL-terminated, cut to cap) and returns its length, or -1 when absent;
 * ps_lstr also gives the line. */
size_t ps_count(const struct ps_msg *m, uint16_t tag);
uint32_t ps_u32(const struct ps_msg *m, uint16_t tag, uint32_t dflt);
uint64_t ps_u64(const struct ps_msg *m, uint16_t tag, uint64_t dflt);
int ps_str(const struct ps_msg *m, uint16_t tag, size_t idx, char *out, size_t cap);
int ps_lstr(const struct ps_msg *m, uint16_t tag, size_t idx, unsigned *line, char *out, size_t cap);
const uint8_t *ps_bytes(const struct ps_msg *m, uint16_t tag, size_t idx, size_t *len);

/* Builders. */
void ps_begin(struct ps_out *o, unsigned type, uint32_t id);
void ps_put_u32(struct ps_out *o, uint16_t tag, uint32_t v);
void ps_put_u64(struct ps_out *o, uint16_t tag, uint64_t v);
void ps_put_str(struct ps_out *o, uint16_t tag, const char *s);
void ps_put_lstr(struct ps_out *o, uint16_t tag, unsigned line, const char *s);
void ps_put_bytes(struct ps_out *o, uint16_t tag, const void *p, size_t len);

/* One end of a socketpair.  The mutex serialises ps_call on a channel
 * that threads share (the client's file channel: its attempts run in
 * threads). */
struct ps_chan {
	int fd;
	uint32_t next_id;
	pthread_mutex_t mu;
	uint8_t in[PS_MSG_MAX];
};

/* Two connected channels (SOCK_SEQPACKET, close-on-exec). */
int ps_pair(int fds[2]);
void ps_chan_init(struct ps_chan *c, int fd);
/* Send o (and pass_fd when >= 0): 0, or -1 (errno; EMSGSIZE for an
 * overflowed message). */
int ps_send(int fd, const struct ps_out *o, int pass_fd);
/* Receive one datagram into buf: its length, 0 at the end of the peer,
 * -1 (errno; EMSGSIZE for a truncated datagram or descriptor list).  A
 * descriptor that came with it goes to *got_fd (else -1). */
ssize_t ps_recv(int fd, uint8_t *buf, size_t cap, int *got_fd, int wait);
/* Send o as a request and wait up to timeout_ms for its reply (the same
 * id), parsed into reply (its descriptor in *got_fd when got_fd is not
 * NULL).  Messages without that id that come first are handed to event
 * (may be NULL: then they are a protocol error).  0, or -1 with why
 * (the helper is gone, the time is up, a malformed message). */
int ps_call(struct ps_chan *c, struct ps_out *o, struct ps_msg *reply, int *got_fd,
	    int timeout_ms, void (*event)(void *arg, const struct ps_msg *m), void *arg, char *why);

#endif
