/* The daemon-helper protocol: see privsep.h. */
#include "common/privsep.h"

#include "common/fdpass.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/evloop.h"
#include "wire/nd.h"

/* One rule of a type's schema: tags lo..hi, their kind, how many times
 * (together), how long each may be. */
struct ps_rule {
	uint16_t lo, hi;
	uint8_t kind;
	uint16_t min, max;
	uint16_t maxlen;
};

#define R(t, k, mn, mx, ml) { t, t, k, mn, mx, ml }
#define U32(t, mn) R(t, PK_U32, mn, 1, 4)
#define U64(t, mn) R(t, PK_U64, mn, 1, 8)
#define STR(t, mn, mx, ml) R(t, PK_STR, mn, mx, ml)
#define END { 0 }

#define RULES_MAX 24
static const struct ps_rule schema[PS_TYPE_MAX][RULES_MAX] = {
	[PS_RUN_SCRIPT] = { U32(PT_ID, 1), U32(PT_EVENT, 1), STR(PT_NAME, 1, 1, 63),
			    STR(PT_ENV, 0, 22, PS_STR_MAX), END },
	[PS_STOP_SCRIPT] = { U32(PT_ID, 1), END },
	[PS_INTRANET_STOP] = { END },
	[PS_RELOAD] = { END },
	[PS_DNS_SET] = { R(PT_SERVER, PK_BYTES, 0, ND_MAX_DNS, 16), STR(PT_DOMAIN, 0, ND_MAX_DOMAINS, ND_DOMAIN_MAX - 1),
			 END },
	[PS_DNS_DOWN] = { END },
	[PS_DNS_SHUTDOWN] = { END },
	[PS_DNS_STATUS] = { U32(PT_MECH, 1), U32(PT_APPLIED, 1), U32(PT_SPLIT, 1), U32(PT_BUSY, 1),
			    STR(PT_NOTE, 0, 1, 255), END },
	[PS_OPEN] = { U32(PT_KIND, 1), STR(PT_PATH, 1, 1, 511), END },
	[PS_OPENED] = { U32(PT_ERRNO, 1), END },
	[PS_CREDS] = { STR(PT_CFG_CREDCERT, 0, 16, 511), STR(PT_CFG_CREDKEY, 0, 16, 511),
		       STR(PT_CFG_CREDLABEL, 0, 16, 255), END },
	[PS_SCRIPT_DONE] = { U32(PT_ID, 1), U32(PT_STATUS, 1), U32(PT_TIMEDOUT, 1),
			     STR(PT_TEXT, 0, 1, 127), STR(PT_LINE, 0, 1, 255), END },
	[PS_CHILD_STATUS] = { U32(PT_WHICH, 1), U32(PT_STATE, 1), U32(PT_PID, 1),
			      U32(PT_STARTS, 1), U32(PT_RESTARTS, 1), U64(PT_SINCE, 1),
			      U64(PT_LASTEXIT, 1), U32(PT_STATUS, 1), U32(PT_HASSTATUS, 1),
			      U32(PT_BACKOFF, 1), STR(PT_TEXT, 0, 1, 127), STR(PT_LINE, 0, 1, 255), END },
	[PS_DONE] = { END },
	[PS_FAILED] = { STR(PT_ERR, 1, 1, ERRLEN - 1), END },
	[PS_RELOADED] = { STR(PT_CFG_FILE, 0, 1, 255), R(PT_CFG_LINES, PK_BYTES, 1, 1, 128),
			  R(PT_CFG_EXTRA, PK_U32, 0, 8, 4),
			  { PT_OPT_BASE, PT_OPT_LAST, PK_BYTES, 0, 1024, PS_STR_MAX + 2 }, END },
};

static const char *const type_names[PS_TYPE_MAX] = {
	[PS_RUN_SCRIPT] = "run-script", [PS_STOP_SCRIPT] = "stop-script",
	[PS_INTRANET_STOP] = "intranet-stop", [PS_RELOAD] = "reload", [PS_DNS_SET] = "dns-set",
	[PS_DNS_DOWN] = "dns-down", [PS_DNS_SHUTDOWN] = "dns-shutdown", [PS_DNS_STATUS] = "dns-status",
	[PS_OPEN] = "open", [PS_OPENED] = "opened", [PS_CREDS] = "creds",
	[PS_SCRIPT_DONE] = "script-done", [PS_CHILD_STATUS] = "child-status",
	[PS_DONE] = "done", [PS_FAILED] = "failed", [PS_RELOADED] = "reloaded",
};

const char *ps_type_name(unsigned type)
{
	return type > PS_NONE && type < PS_TYPE_MAX ? type_names[type] : "unknown";
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const struct ps_rule *rule_for(unsigned type, uint16_t tag)
{
	for (const struct ps_rule *r = schema[type]; r->lo; r++)
		if (tag >= r->lo && tag <= r->hi)
			return r;
	return NULL;
}

/* A field's bytes against its rule's kind and length. */
static int field_ok(const struct ps_rule *r, const uint8_t *p, uint16_t len)
{
	switch (r->kind) {
	case PK_U32:
		return len == 4;
	case PK_U64:
		return len == 8;
	case PK_BYTES:
		return len <= r->maxlen;
	case PK_LSTR:
		if (len < 2)
			return 0;
		p += 2, len -= 2;
		/* fall through */
	case PK_STR:
		return len <= r->maxlen && !memchr(p, 0, len);
	}
	return 0;
}

/* Every rule's count within its bounds. */
static int counts_ok(const struct ps_msg *m, char *why)
{
	for (const struct ps_rule *r = schema[m->type]; r->lo; r++) {
		unsigned n = 0;
		for (unsigned i = 0; i < m->n; i++)
			n += m->f[i].tag >= r->lo && m->f[i].tag <= r->hi;
		if (n < r->min || n > r->max) {
			snprintf(why, ERRLEN, "%s: field %u %u times (%u to %u allowed)", ps_type_name(m->type),
				 r->lo, n, r->min, r->max);
			return 0;
		}
	}
	return 1;
}

int ps_parse(const uint8_t *buf, size_t len, struct ps_msg *m, char *why)
{
	size_t off = PS_HDR;

	if (len < PS_HDR || len > PS_MSG_MAX) {
		snprintf(why, ERRLEN, "a message of %zu bytes", len);
		return -1;
	}
	m->type = rd16(buf);
	m->n = rd16(buf + 2);
	m->id = rd32(buf + 4);
	if (m->type <= PS_NONE || m->type >= PS_TYPE_MAX || m->n > PS_FIELDS_MAX) {
		snprintf(why, ERRLEN, "message type %u with %u fields", m->type, m->n);
		return -1;
	}
	for (unsigned i = 0; i < m->n; i++) {
		struct ps_field *f = &m->f[i];
		const struct ps_rule *r;
		if (len - off < 4) {
			snprintf(why, ERRLEN, "%s: field %u cut short", ps_type_name(m->type), i);
			return -1;
		}
		f->tag = rd16(buf + off);
		f->len = rd16(buf + off + 2);
		f->p = buf + off + 4;
		off += 4;
		if (f->len > len - off || !(r = rule_for(m->type, f->tag)) || !field_ok(r, f->p, f->len)) {
			snprintf(why, ERRLEN, "%s: field %u (tag %u, %u bytes) is not one it takes",
				 ps_type_name(m->type), i, f->tag, f->len);
			return -1;
		}
		off += f->len;
	}
	if (off != len) {
		snprintf(why, ERRLEN, "%s: %zu bytes after its fields", ps_type_name(m->type), len - off);
		return -1;
	}
	return counts_ok(m, why) ? 0 : -1;
}

static const struct ps_field *nth(const struct ps_msg *m, uint16_t tag, size_t idx)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->f[i].tag == tag && idx-- == 0)
			return &m->f[i];
	return NULL;
}

size_t ps_count(const struct ps_msg *m, uint16_t tag)
{
	size_t n = 0;

	for (unsigned i = 0; i < m->n; i++)
		n += m->f[i].tag == tag;
	return n;
}

uint32_t ps_u32(const struct ps_msg *m, uint16_t tag, uint32_t dflt)
{
	const struct ps_field *f = nth(m, tag, 0);

	return f && f->len == 4 ? rd32(f->p) : dflt;
}

uint64_t ps_u64(const struct ps_msg *m, uint16_t tag, uint64_t dflt)
{
	const struct ps_field *f = nth(m, tag, 0);

	return f && f->len == 8 ? (uint64_t)rd32(f->p) << 32 | rd32(f->p + 4) : dflt;
}

static int copy_out(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	memcpy(out, p, n);
	out[n] = 0;
	return (int)len;
}

int ps_str(const struct ps_msg *m, uint16_t tag, size_t idx, char *out, size_t cap)
{
	const struct ps_field *f = nth(m, tag, idx);

	if (cap)
		out[0] = 0;
	return f && cap ? copy_out(f->p, f->len, out, cap) : -1;
}

int ps_lstr(const struct ps_msg *m, uint16_t tag, size_t idx, unsigned *line, char *out, size_t cap)
{
	const struct ps_field *f = nth(m, tag, idx);

	if (cap)
		out[0] = 0;
	if (!f || f->len < 2 || !cap)
		return -1;
	*line = rd16(f->p);
	return copy_out(f->p + 2, f->len - 2u, out, cap);
}

const uint8_t *ps_bytes(const struct ps_msg *m, uint16_t tag, size_t idx, size_t *len)
{
	const struct ps_field *f = nth(m, tag, idx);

	*len = f ? f->len : 0;
	return f ? f->p : NULL;
}

/* ---- building ---- */

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

void ps_begin(struct ps_out *o, unsigned type, uint32_t id)
{
	wr16(o->b, type);
	wr16(o->b + 2, 0);
	wr32(o->b + 4, id);
	o->len = PS_HDR;
	o->n = 0;
	o->overflow = 0;
}

/* Room for a field of len bytes: its data pointer, or NULL (overflow). */
static uint8_t *field(struct ps_out *o, uint16_t tag, size_t len)
{
	uint8_t *p;

	if (o->overflow || len > 0xffff || len + 4 > sizeof(o->b) - o->len || o->n >= PS_FIELDS_MAX) {
		o->overflow = 1;
		return NULL;
	}
	p = o->b + o->len;
	wr16(p, tag);
	wr16(p + 2, (unsigned)len);
	o->len += 4 + len;
	wr16(o->b + 2, ++o->n);
	return p + 4;
}

void ps_put_u32(struct ps_out *o, uint16_t tag, uint32_t v)
{
	uint8_t *p = field(o, tag, 4);

	if (p)
		wr32(p, v);
}

void ps_put_u64(struct ps_out *o, uint16_t tag, uint64_t v)
{
	uint8_t *p = field(o, tag, 8);

	if (p) {
		wr32(p, (uint32_t)(v >> 32));
		wr32(p + 4, (uint32_t)v);
	}
}

void ps_put_bytes(struct ps_out *o, uint16_t tag, const void *data, size_t len)
{
	uint8_t *p = field(o, tag, len);

	if (p && len)
		memcpy(p, data, len);
}

void ps_put_str(struct ps_out *o, uint16_t tag, const char *s)
{
	ps_put_bytes(o, tag, s ? s : "", s ? strlen(s) : 0);
}

void ps_put_lstr(struct ps_out *o, uint16_t tag, unsigned line, const char *s)
{
	size_t n = strlen(s);
	uint8_t *p = field(o, tag, n + 2);

	if (p) {
		wr16(p, line);
		memcpy(p + 2, s, n);
	}
}

/* ---- the channel ---- */

int ps_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

void ps_chan_init(struct ps_chan *c, int fd)
{
	c->fd = fd;
	c->next_id = 1;
	pthread_mutex_init(&c->mu, NULL);
}

int ps_send(int fd, const struct ps_out *o, int pass_fd)
{
	if (o->overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	return fdpass_send(fd, o->b, o->len, pass_fd, 0);
}

ssize_t ps_recv(int fd, uint8_t *buf, size_t cap, int *got_fd, int wait)
{
	int got;
	ssize_t n = fdpass_recv(fd, buf, cap, &got, wait ? 0 : MSG_DONTWAIT);

	if (n >= 0 && got >= 0 && !got_fd) {     /* none expected: refused */
		close(got);
		errno = EMSGSIZE;
		return -1;
	}
	if (got_fd)
		*got_fd = got;
	return n;
}

/* Wait until fd is readable or deadline: 1, 0 on timeout. */
static int readable_by(int fd, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t now;

	while ((now = ev_now_ms()) < deadline) {
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
	return 0;
}

/* One datagram of c parsed into m (its descriptor to *got_fd): 0, or -1
 * with why. */
static int recv_one(struct ps_chan *c, struct ps_msg *m, int *got_fd, uint64_t deadline, char *why)
{
	ssize_t n;

	if (!readable_by(c->fd, deadline)) {
		snprintf(why, ERRLEN, "the privileged helper did not answer in time");
		return -1;
	}
	n = ps_recv(c->fd, c->in, sizeof(c->in), got_fd, 0);
	if (n <= 0) {
		snprintf(why, ERRLEN, "the privileged helper is gone (%s)", n == 0 ? "end of its socket" : strerror(errno));
		return -1;
	}
	if (ps_parse(c->in, (size_t)n, m, why) < 0) {
		if (got_fd && *got_fd >= 0)
			close(*got_fd), *got_fd = -1;
		return -1;
	}
	return 0;
}

int ps_call(struct ps_chan *c, struct ps_out *o, struct ps_msg *reply, int *got_fd,
	    int timeout_ms, void (*event)(void *arg, const struct ps_msg *m), void *arg, char *why)
{
	uint64_t deadline = ev_now_ms() + (uint64_t)timeout_ms;
	uint32_t id;
	int rc = -1;

	pthread_mutex_lock(&c->mu);
	if (!c->next_id)
		c->next_id = 1;         /* 0 is an event's */
	id = c->next_id++;
	wr32(o->b + 4, id);
	if (ps_send(c->fd, o, -1) < 0) {
		snprintf(why, ERRLEN, "the privileged helper is gone (%s)", strerror(errno));
		goto out;
	}
	for (;;) {
		if (recv_one(c, reply, got_fd, deadline, why) < 0)
			goto out;
		if (reply->id == id)
			break;
		if (got_fd && *got_fd >= 0)
			close(*got_fd), *got_fd = -1;
		if (!event || reply->id) {
			snprintf(why, ERRLEN, "an unexpected %s message from the privileged helper",
				 ps_type_name(reply->type));
			goto out;
		}
		event(arg, reply);
	}
	rc = 0;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}
