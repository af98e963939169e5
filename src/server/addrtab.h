/* Address table: IPv6 address -> owning connection, open addressing with
 * linear probing and tombstones; grows at 50% load.  Used for the bindings of
 * client source addresses and for demultiplexing packets from the TUN. */
#ifndef IPHTTPS_ADDRTAB_H
#define IPHTTPS_ADDRTAB_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct addrtab_slot {
	struct in6_addr addr;
	void *owner;        /* NULL: empty; ADDRTAB_TOMB: deleted */
};

struct addrtab {
	struct addrtab_slot *slots;
	size_t cap, used, tombs;
	uint64_t seed;      /* random per table: clients choose their addresses */
};

/* 0 on success, -1 when out of memory. */
int addrtab_init(struct addrtab *t, size_t initial);
void addrtab_free(struct addrtab *t);
void *addrtab_get(const struct addrtab *t, const struct in6_addr *a);
/* Inserts or replaces; -1 when out of memory. */
int addrtab_put(struct addrtab *t, const struct in6_addr *a, void *owner);
void addrtab_del(struct addrtab *t, const struct in6_addr *a);
/* Call fn for every entry; fn may delete the entry it is given. */
void addrtab_foreach(struct addrtab *t, void (*fn)(void *arg, const struct in6_addr *a, void *owner),
		     void *arg);

#endif
