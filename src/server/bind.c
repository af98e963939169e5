/* Address ownership on the link: see bind.h. */
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/bind.h"
#include "server/ident.h"
#include "server/link.h"
#include "server/workers.h"

#define RESERVED_MAX 65536      /* reservations held at once */

struct reservation {
	uint8_t key[16];
	uint64_t expires_ms;
};

/* The index of addr among c's bindings, or -1. */
static int slot_of(const struct conn *c, const struct in6_addr *addr)
{
	for (unsigned i = 0; i < c->n_addrs; i++)
		if (IN6_ARE_ADDR_EQUAL(&c->addrs[i], addr))
			return (int)i;
	return -1;
}

/* A use stamp: the time in ms, and below it a counter that orders the
 * uses of one millisecond. */
#define USE_SHIFT 20
static uint64_t use_stamp(struct server *s)
{
	return ev_now_ms() << USE_SHIFT | (s->use_seq++ & ((1u << USE_SHIFT) - 1));
}

void bind_touch(struct conn *c, const struct in6_addr *addr)
{
	int i = slot_of(c, addr);

	if (i >= 0)
		c->addr_used[i] = use_stamp(c->srv);
}

static const char *ntop(const struct in6_addr *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

/* At the limit: the least recently used binding, when it has been idle
 * for --address-idle seconds, makes room (Windows' server evicts the
 * oldest mapping at a client's limit: AddClientAddressMapping,
 * ../shared/WINDOWS-EVIDENCE.md).  Returns its slot, or -1. */
static int evict_lru(struct conn *c, const struct in6_addr *for_addr)
{
	struct server *s = c->srv;
	uint64_t now = ev_now_ms(), idle_ms = (uint64_t)s->cfg->addr_idle * 1000, idle;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned lru = 0;

	for (unsigned i = 1; i < c->n_addrs; i++)
		if (c->addr_used[i] < c->addr_used[lru])
			lru = i;
	idle = c->n_addrs ? now - (c->addr_used[lru] >> USE_SHIFT) : 0;
	if (!c->n_addrs || idle < idle_ms)
		return -1;
	if (addrtab_get(&s->addrs, &c->addrs[lru]) == c) {
		addrtab_del(&s->addrs, &c->addrs[lru]);
		workers_release(s, &c->addrs[lru]);
	}
	c->evicted++;
	s->st.evicted++;
	log_info("client #%llu %s: unbound %s (unused for %llu s) to bind %s (--max-addresses %u)",
		 (unsigned long long)c->id, c->peer_str, ntop(&c->addrs[lru], a),
		 (unsigned long long)(idle / 1000), ntop(for_addr, b),
		 (unsigned)c->max_addrs);
	return (int)lru;
}

/* Bind addr to c: 0, -1 when c has no room for it, -2 when a client of
 * another worker holds it (the steering map's claim: workers.h). */
static int bind_addr(struct conn *c, const struct in6_addr *addr, const char *how)
{
	struct server *s = c->srv;
	char a[INET6_ADDRSTRLEN];
	struct reservation *r;
	int i;

	if (workers_claim(s, addr) < 0)
		return -2;
	i = c->n_addrs < c->max_addrs ? (int)c->n_addrs : evict_lru(c, addr);
	if (i < 0 || addrtab_put(&s->addrs, addr, c) < 0) {
		if (!addrtab_get(&s->reserved, addr))
			workers_release(s, addr);
		return -1;
	}
	if ((r = addrtab_get(&s->reserved, addr))) {     /* c's own, back */
		addrtab_del(&s->reserved, addr);
		free(r);
	}
	workers_resv_del(s, addr, 0, 0);                /* kept by any worker: c's own, or over */
	c->addrs[i] = *addr;
	c->addr_used[i] = use_stamp(s);
	if ((unsigned)i == c->n_addrs)
		c->n_addrs++;
	log_info("client #%llu %s: bound %s%s", (unsigned long long)c->id, c->peer_str, ntop(addr, a), how);
	return 0;
}

int bind_reserved_for_other(const struct conn *c, const struct in6_addr *addr)
{
	const struct reservation *r = c->srv->reserved.used ? addrtab_get(&c->srv->reserved, addr) : NULL;

	/* Mode None (also after a reload switched to it) knows no identities:
	 * addresses are free the moment their holder goes. */
	if (c->srv->cfg->auth != AUTH_CERTIFICATES)
		return 0;
	if (r && r->expires_ms > ev_now_ms() && (!c->has_key || memcmp(r->key, c->key, 16)))
		return 1;
	/* With workers, one another worker keeps (workers.h). */
	return workers_resv_other(c->srv, addr, c->has_key ? c->key : NULL, ev_now_ms());
}

enum drop_reason bind_source(struct conn *c, const struct in6_addr *src)
{
	struct conn *owner = addrtab_get(&c->srv->addrs, src);

	if (owner == c) {
		bind_touch(c, src);
		return DROP__COUNT;
	}
	if (owner)
		return DROP_SRC_SPOOFED;
	if (bind_reserved_for_other(c, src))
		return DROP_RESERVED;
	switch (bind_addr(c, src, "")) {
	case 0:
		return DROP__COUNT;
	case -2:
		return DROP_SRC_SPOOFED;
	default:
		return DROP_TOO_MANY_ADDRS;
	}
}

void bind_claim(struct conn *c, const struct in6_addr *addr, const char *how)
{
	if (!addrtab_get(&c->srv->addrs, addr) && !bind_reserved_for_other(c, addr))
		bind_addr(c, addr, how);
}

void bind_identify(struct conn *c)
{
	if (c->ident && c->srv->cfg->auth == AUTH_CERTIFICATES) {
		memcpy(c->key, c->ident->key, 16);
		c->has_key = 1;
	}
}

/* Keep addr for c's certificate until now + --address-hold: 0, or -1
 * when the table is full.  With workers the address stays claimed in the
 * steering map by this worker meanwhile. */
static int reserve(struct conn *c, const struct in6_addr *addr)
{
	struct server *s = c->srv;
	struct reservation *r = addrtab_get(&s->reserved, addr);

	if (!r) {
		if (s->reserved.used >= RESERVED_MAX || !(r = malloc(sizeof(*r))))
			return -1;
		if (addrtab_put(&s->reserved, addr, r) < 0) {
			free(r);
			return -1;
		}
	}
	memcpy(r->key, c->key, 16);
	r->expires_ms = ev_now_ms() + (uint64_t)s->cfg->addr_hold * 1000;
	/* Seen by every worker: the certificate may come back through another. */
	if (workers_resv_put(s, addr, c->key, r->expires_ms) < 0)
		log_warn("client #%llu: keeping an address for its certificate across workers",
			 (unsigned long long)c->id);
	return 0;
}

void bind_release(struct conn *c)
{
	struct server *s = c->srv;
	int hold = c->has_key && s->cfg->addr_hold > 0;

	for (unsigned i = 0; i < c->n_addrs; i++) {
		if (addrtab_get(&s->addrs, &c->addrs[i]) != c)
			continue;
		addrtab_del(&s->addrs, &c->addrs[i]);
		/* The steering claim goes in any case: a reservation is kept
		 * in the reservations every worker sees (workers.h). */
		if (hold)
			reserve(c, &c->addrs[i]);
		workers_release(s, &c->addrs[i]);
	}
	c->n_addrs = 0;
}

struct expiry {
	struct server *s;
	struct addrtab *t;
	uint64_t now_ms;
	int all;
};

static void expire_one(void *arg, const struct in6_addr *a, void *owner)
{
	struct expiry *e = arg;
	struct reservation *r = owner;

	if (e->all || r->expires_ms <= e->now_ms) {
		if (!addrtab_get(&e->s->addrs, a))
			workers_release(e->s, a);
		workers_resv_del(e->s, a, !e->all, e->now_ms);
		addrtab_del(e->t, a);
		free(r);
	}
}

void bind_tick(struct server *s, uint64_t now_ms)
{
	struct expiry e = { s, &s->reserved, now_ms, 0 };

	if (s->reserved.used)
		addrtab_foreach(&s->reserved, expire_one, &e);
}

void bind_drop_reservations(struct server *s)
{
	struct expiry e = { s, &s->reserved, 0, 1 };

	if (s->reserved.used)
		addrtab_foreach(&s->reserved, expire_one, &e);
}

void bind_free_all(struct server *s)
{
	bind_drop_reservations(s);
	addrtab_free(&s->reserved);
}
