/* Address table: see addrtab.h. */
#include "server/addrtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static char tomb_marker;
#define ADDRTAB_TOMB ((void *)&tomb_marker)

/* Clients choose the addresses they send from (in mode None, anyone): the
 * hash is keyed with a random seed and its bits mixed (splitmix64's
 * finaliser), so that colliding addresses cannot be worked out offline. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t hash_addr(const struct addrtab *t, const struct in6_addr *a)
{
	uint64_t hi, lo;

	memcpy(&hi, a->s6_addr, 8);
	memcpy(&lo, a->s6_addr + 8, 8);
	return (size_t)mix(mix(hi ^ t->seed) ^ lo);
}

int addrtab_init(struct addrtab *t, size_t initial)
{
	size_t cap = 64;
	while (cap < initial * 2)
		cap <<= 1;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->cap = t->slots ? cap : 0;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t->slots ^ 0x9e3779b97f4a7c15ULL;
	t->used = t->tombs = 0;
	return t->slots ? 0 : -1;
}

void addrtab_free(struct addrtab *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct addrtab_slot *find(const struct addrtab *t, const struct in6_addr *a)
{
	size_t mask = t->cap - 1, i = hash_addr(t, a) & mask;

	for (size_t n = 0; n < t->cap; n++, i = (i + 1) & mask) {
		struct addrtab_slot *s = &t->slots[i];
		if (!s->owner)
			return NULL;
		if (s->owner != ADDRTAB_TOMB && !memcmp(&s->addr, a, sizeof(*a)))
			return s;
	}
	return NULL;
}

void *addrtab_get(const struct addrtab *t, const struct in6_addr *a)
{
	struct addrtab_slot *s = t->cap ? find(t, a) : NULL;
	return s ? s->owner : NULL;
}

static int grow(struct addrtab *t)
{
	struct addrtab nt;
	if (addrtab_init(&nt, t->used * 2 + 32) < 0)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].owner && t->slots[i].owner != ADDRTAB_TOMB)
			addrtab_put(&nt, &t->slots[i].addr, t->slots[i].owner);
	free(t->slots);
	*t = nt;
	return 0;
}

int addrtab_put(struct addrtab *t, const struct in6_addr *a, void *owner)
{
	struct addrtab_slot *s;
	size_t mask, i;

	if (t->cap && (s = find(t, a))) {
		s->owner = owner;
		return 0;
	}
	if ((t->used + t->tombs + 1) * 2 > t->cap && grow(t) < 0)
		return -1;
	mask = t->cap - 1;
	i = hash_addr(t, a) & mask;
	while (t->slots[i].owner && t->slots[i].owner != ADDRTAB_TOMB)
		i = (i + 1) & mask;
	if (t->slots[i].owner == ADDRTAB_TOMB)
		t->tombs--;
	t->slots[i].addr = *a;
	t->slots[i].owner = owner;
	t->used++;
	return 0;
}

void addrtab_del(struct addrtab *t, const struct in6_addr *a)
{
	struct addrtab_slot *s = t->cap ? find(t, a) : NULL;
	if (!s)
		return;
	s->owner = ADDRTAB_TOMB;
	t->used--;
	t->tombs++;
}

void addrtab_foreach(struct addrtab *t, void (*fn)(void *arg, const struct in6_addr *a, void *owner),
		     void *arg)
{
	for (size_t i = 0; i < t->cap; i++) {
		struct addrtab_slot *s = &t->slots[i];
		if (s->owner && s->owner != ADDRTAB_TOMB)
			fn(arg, &s->addr, s->owner);
	}
}
