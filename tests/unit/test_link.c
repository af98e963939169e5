/* The link's rules, driven without sockets (tests/support/linksim.h):
 *  - every row of the table in docs/link-rules.md, read from the page
 *    itself: the packet it names is sent by one client of three, and
 *    exactly the outcome it names happens (who receives the packet, what
 *    the router answers, which drop is counted), nothing else;
 *  - address eviction at --max-addresses (Windows' server evicts a
 *    client's oldest mapping at its limit: AddClientAddressMapping in
 *    iphlpsvc.dll, ../shared/WINDOWS-EVIDENCE.md), and the reservation of
 *    a gone client's addresses to its certificate;
 *  - the multicast share, the pending-DAD table's per-client share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "../support/linksim.h"

#define PAGE "docs/link-rules.md"

/* ---- packets ---- */

static struct in6_addr A(const char *s)
{
	struct in6_addr a;
	if (inet_pton(AF_INET6, s, &a) != 1)
		fail_msg("bad address %s", s);
	return a;
}

/* IPv6 + ICMPv6 (type, code 0, body after the 4-byte header). */
static size_t icmp(uint8_t *p, const struct in6_addr *src, const struct in6_addr *dst,
		   uint8_t hlim, uint8_t type, const uint8_t *body, size_t blen)
{
	size_t plen = 4 + blen;
	uint16_t ck;

	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = 58;
	p[7] = hlim;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	p[40] = type;
	memcpy(p + 44, body, blen);
	ck = icmp6_checksum(src, dst, p + 40, plen);
	p[42] = (uint8_t)(ck >> 8);
	p[43] = (uint8_t)ck;
	return 40 + plen;
}

/* The packet of a table row. */
static size_t build(uint8_t *p, const char *msg, const struct in6_addr *src, const struct in6_addr *dst,
		    const struct in6_addr *target)
{
	uint8_t b[64] = { 0 };

	if (!strcmp(msg, "echo")) {
		memcpy(b, "\x12\x34\x00\x01rules", 9);
		return icmp(p, src, dst, 64, 128, b, 9);
	}
	if (!strcmp(msg, "mld"))
		return icmp(p, src, dst, 1, 143, b, 4);
	if (!strcmp(msg, "RS"))
		return icmp(p, src, dst, 255, 133, b, 4);
	if (!strcmp(msg, "RA")) {
		b[0] = 64;
		b[2] = 0x07;    /* router lifetime 1800 */
		b[3] = 0x08;
		return icmp(p, src, dst, 255, 134, b, 12);
	}
	if (!strcmp(msg, "Redirect")) {
		memcpy(b + 4, target, 16);
		memcpy(b + 20, dst, 16);
		return icmp(p, src, dst, 255, 137, b, 36);
	}
	if (!strcmp(msg, "NS")) {
		memcpy(b + 4, target, 16);
		return icmp(p, src, dst, 255, 135, b, 20);
	}
	if (!strcmp(msg, "NA")) {
		b[0] = 0x20;    /* Override */
		memcpy(b + 4, target, 16);
		return icmp(p, src, dst, 255, 136, b, 20);
	}
	fail_msg("unknown message %s in %s", msg, PAGE);
	return 0;
}

/* ---- the three clients ---- */

struct world {
	struct sim m;
	struct conn *s, *b, *c;     /* sender, other, bystander */
	struct in6_addr s_ll, s_gua, b_ll, b_gua, c_ll, c_gua;
};

/* Bind an address to a client by a ping to the router from it. */
static void use(struct sim *m, struct conn *c, const struct in6_addr *a)
{
	uint8_t p[128];
	struct in6_addr r = A("fe80::1");
	size_t n = build(p, "echo", a, &r, NULL);

	link_from_client(c, p, n);
	m->tun_pkts = 0;
}

static void world_init(struct world *w, int none)
{
	const char *args[] = { "--auth", none ? "none" : "certificates", NULL };
	char err[ERRLEN];
	static const uint8_t k1[16] = { 1 }, k2[16] = { 2 }, k3[16] = { 3 };

	if (sim_init(&w->m, args, err) < 0)
		fail_msg("%s", err);
	w->s = sim_conn(&w->m, none ? NULL : k1);
	w->b = sim_conn(&w->m, none ? NULL : k2);
	w->c = sim_conn(&w->m, none ? NULL : k3);
	w->s_ll = A("fe80::a:1");
	w->s_gua = A("fd00:1:2:3::a:1");
	w->b_ll = A("fe80::b:1");
	w->b_gua = A("fd00:1:2:3::b:1");
	w->c_ll = A("fe80::c:1");
	w->c_gua = A("fd00:1:2:3::c:1");
	use(&w->m, w->s, &w->s_ll);
	use(&w->m, w->s, &w->s_gua);
	use(&w->m, w->b, &w->b_ll);
	use(&w->m, w->b, &w->b_gua);
	use(&w->m, w->c, &w->c_ll);
	use(&w->m, w->c, &w->c_gua);
	sim_flush_all(&w->m);
}

/* ---- the table ---- */

struct row {
	int line;
	char mode[16], msg[16], from[16], to[24], target[16], outcome[64];
};

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		s[--n] = 0;
	while (s[i] == ' ')
		i++;
	memmove(s, s + i, n - i + 1);
}

/* The rows after the marker; the number read. */
static int read_table(struct row *rows, int max)
{
	FILE *f = fopen(PAGE, "r");
	char line[512];
	int n = 0, in = 0, lineno = 0;

	if (!f)
		fail_msg("cannot open %s (run from the repository's root)", PAGE);
	while (fgets(line, sizeof(line), f)) {
		char *cell[8], *p = line;
		int k = 0;

		lineno++;
		if (strstr(line, "link-rules-table")) {
			in = 1;
			continue;
		}
		if (!in)
			continue;
		if (line[0] != '|') {
			if (n)
				break;
			continue;
		}
		while (k < 8 && (p = strchr(p, '|')) && p[1] && p[1] != '\n') {
			*p++ = 0;
			cell[k++] = p;
		}
		if (k < 6)
			fail_msg("%s:%d: a row needs 6 cells", PAGE, lineno);
		for (int i = 0; i < 6; i++) {
			char *e = strchr(cell[i], '|');
			if (e)
				*e = 0;
			trim(cell[i]);
		}
		if (!strcmp(cell[0], "mode") || cell[0][0] == '-')
			continue;
		if (n == max)
			fail_msg("too many rows");
		rows[n].line = lineno;
		snprintf(rows[n].mode, sizeof(rows[n].mode), "%s", cell[0]);
		snprintf(rows[n].msg, sizeof(rows[n].msg), "%s", cell[1]);
		snprintf(rows[n].from, sizeof(rows[n].from), "%s", cell[2]);
		snprintf(rows[n].to, sizeof(rows[n].to), "%s", cell[3]);
		snprintf(rows[n].target, sizeof(rows[n].target), "%s", cell[4]);
		snprintf(rows[n].outcome, sizeof(rows[n].outcome), "%s", cell[5]);
		n++;
	}
	fclose(f);
	return n;
}

static struct in6_addr where(const struct world *w, const char *name, const struct in6_addr *target)
{
	struct in6_addr sn;

	if (!strcmp(name, "ll"))
		return w->s_ll;
	if (!strcmp(name, "gua"))
		return w->s_gua;
	if (!strcmp(name, "::"))
		return A("::");
	if (!strcmp(name, "other-ll"))
		return w->b_ll;
	if (!strcmp(name, "other-gua"))
		return w->b_gua;
	if (!strcmp(name, "own-ll"))
		return w->s_ll;
	if (!strcmp(name, "nobody-gua"))
		return A("fd00:1:2:3::dead");
	if (!strcmp(name, "off-link"))
		return A("2001:db8:1::2");
	if (!strcmp(name, "router"))
		return A("fe80::1");
	if (!strcmp(name, "all-nodes"))
		return A("ff02::1");
	if (!strcmp(name, "all-routers"))
		return A("ff02::2");
	if (!strcmp(name, "mld"))
		return A("ff02::16");
	if (!strcmp(name, "solicited-node")) {
		nd_solicited_node(target, &sn);
		return sn;
	}
	fail_msg("unknown address '%s' in %s", name, PAGE);
	return sn;
}

static struct in6_addr target_of(const struct world *w, const char *t)
{
	if (!strcmp(t, "router"))
		return A("fe80::1");
	if (!strcmp(t, "other"))
		return w->b_gua;
	if (!strcmp(t, "own"))
		return w->s_gua;
	if (!strcmp(t, "free"))
		return A("fd00:1:2:3::f4ee");
	return A("fd00:1:2:3::99");    /* "-": unused */
}

/* Packets queued toward c since the last flush. */
static unsigned count_rx(struct conn *c, uint8_t *last, size_t *last_len)
{
	static uint8_t buf[65600];
	unsigned n = 0;
	size_t len;

	while ((len = sim_take(c, buf, sizeof(buf)))) {
		n++;
		if (last) {
			memcpy(last, buf, len < 2048 ? len : 2048);
			*last_len = len;
		}
	}
	return n;
}

static uint64_t drops_total(const struct server *s)
{
	uint64_t t = 0;
	for (int i = 0; i < DROP__COUNT; i++)
		t += s->st.drops[i];
	return t;
}

static void check_row(const struct row *r, int none)
{
	struct world w;
	uint8_t pkt[256], got[2048];
	size_t n, got_len = 0;
	struct in6_addr target, src, dst;
	unsigned rs, rb, rc;
	char where_[64];

	world_init(&w, none);
	snprintf(where_, sizeof(where_), "%s:%d (mode %s)", PAGE, r->line, none ? "none" : "certificates");
	target = target_of(&w, r->target);
	src = where(&w, r->from, &target);
	dst = where(&w, r->to, &target);
	if (!strcmp(r->outcome, "to the DAD askers")) {
		/* the bystander probes the sender's address first */
		struct in6_addr z = A("::"), sn;
		nd_solicited_node(&target, &sn);
		n = build(pkt, "NS", &z, &sn, &target);
		link_from_client(w.c, pkt, n);
		sim_flush_all(&w.m);
	}
	n = build(pkt, r->msg, &src, &dst, &target);
	w.m.tun_pkts = 0;
	link_from_client(w.s, pkt, n);
	rs = count_rx(w.s, got, &got_len);
	rb = count_rx(w.b, NULL, NULL);
	rc = count_rx(w.c, NULL, NULL);

	if (!strncmp(r->outcome, "dropped: ", 9)) {
		const char *reason = r->outcome + 9;
		int found = 0;
		for (int i = 0; i < DROP__COUNT; i++) {
			if (strcmp(drop_reason_names[i], reason))
				continue;
			found = 1;
			if (w.s->drops[i] != 1 || w.m.s.st.drops[i] != 1)
				fail_msg("%s: expected one drop '%s', got %u", where_, reason, w.s->drops[i]);
		}
		if (!found)
			fail_msg("%s: no drop reason '%s' in the code", where_, reason);
		if (drops_total(&w.m.s) != 1 || rs + rb + rc || w.m.tun_pkts)
			fail_msg("%s: dropped, yet %u drops, sender %u, other %u, bystander %u, tun %u", where_,
				 (unsigned)drops_total(&w.m.s), rs, rb, rc, w.m.tun_pkts);
		sim_free(&w.m);
		return;
	}
	if (drops_total(&w.m.s))
		fail_msg("%s: %s, yet a drop was counted", where_, r->outcome);
	if (!strcmp(r->outcome, "to the TUN")) {
		if (w.m.tun_pkts != 1 || rs + rb + rc || w.m.tun_last_len != n || memcmp(w.m.tun_last, pkt, n))
			fail_msg("%s: tun %u, sender %u, other %u, bystander %u", where_, w.m.tun_pkts, rs, rb, rc);
	} else if (!strcmp(r->outcome, "to the destination") || !strcmp(r->outcome, "to the owner")) {
		if (rb != 1 || rs || rc || w.m.tun_pkts)
			fail_msg("%s: other %u, sender %u, bystander %u, tun %u", where_, rb, rs, rc, w.m.tun_pkts);
	} else if (!strcmp(r->outcome, "to every other client")) {
		if (rb != 1 || rc != 1 || rs || w.m.tun_pkts)
			fail_msg("%s: other %u, bystander %u, sender %u, tun %u", where_, rb, rc, rs, w.m.tun_pkts);
	} else if (!strcmp(r->outcome, "to the DAD askers")) {
		if (rc != 1 || rb || rs || w.m.tun_pkts)
			fail_msg("%s: asker %u, other %u, sender %u, tun %u", where_, rc, rb, rs, w.m.tun_pkts);
	} else if (!strcmp(r->outcome, "answered")) {
		uint8_t want = !strcmp(r->msg, "RS") ? 134 : 136;
		if (rs != 1 || rb || rc || w.m.tun_pkts || got_len < 41 || got[40] != want)
			fail_msg("%s: sender %u (type %u), other %u, bystander %u, tun %u", where_, rs,
				 got_len > 40 ? got[40] : 0, rb, rc, w.m.tun_pkts);
	} else if (!strcmp(r->outcome, "absorbed")) {
		if (rs + rb + rc || w.m.tun_pkts)
			fail_msg("%s: absorbed, yet sender %u, other %u, bystander %u, tun %u", where_, rs, rb,
				 rc, w.m.tun_pkts);
	} else {
		fail_msg("%s: unknown outcome '%s'", where_, r->outcome);
	}
	sim_free(&w.m);
}

static void test_table(void **state)
{
	struct row rows[128];
	int n = read_table(rows, 128), checked = 0;

	assert_true(n >= 30);
	for (int i = 0; i < n; i++) {
		const char *m = rows[i].mode;
		if (!strcmp(m, "both") || !strcmp(m, "none"))
			check_row(&rows[i], 1), checked++;
		if (!strcmp(m, "both") || !strcmp(m, "certificates"))
			check_row(&rows[i], 0), checked++;
		if (strcmp(m, "both") && strcmp(m, "none") && strcmp(m, "certificates"))
			fail_msg("%s:%d: mode '%s'", PAGE, rows[i].line, m);
	}
	printf("%d rows, %d cases checked\n", n, checked);
}

/* A DAD probe of a free address in mode Certificates: the prober holds it
 * at once, and another client's answer (the DAD sabotage of issue 8) is
 * dropped instead of reaching the prober. */
static void test_dad_sabotage(void **state)
{
	struct world w;
	uint8_t pkt[256];
	struct in6_addr t = A("fd00:1:2:3::7a7a"), z = A("::"), sn, all = A("ff02::1");
	size_t n;

	world_init(&w, 0);
	nd_solicited_node(&t, &sn);
	n = build(pkt, "NS", &z, &sn, &t);
	link_from_client(w.s, pkt, n);              /* the sender probes */
	assert_ptr_equal(addrtab_get(&w.m.s.addrs, &t), w.s);
	assert_int_equal(count_rx(w.b, NULL, NULL), 1);
	sim_flush_all(&w.m);
	n = build(pkt, "NA", &w.b_gua, &all, &t);   /* the other says "mine" */
	link_from_client(w.b, pkt, n);
	assert_int_equal(count_rx(w.s, NULL, NULL), 0);
	assert_int_equal(w.b->drops[DROP_FOREIGN_TARGET], 1);
	assert_ptr_equal(addrtab_get(&w.m.s.addrs, &t), w.s);
	sim_free(&w.m);
}

/* Address rotation past --max-addresses: the least recently used binding
 * goes (Windows: AddClientAddressMapping evicts the oldest mapping), the
 * one in use stays; with none idle enough, the new address is refused. */
static void test_eviction(void **state)
{
	const char *args[] = { "--max-addresses", "3", "--address-idle", "0", NULL };
	const char *busy[] = { "--max-addresses", "3", "--address-idle", "3600", NULL };
	struct sim m;
	char err[ERRLEN], a[64];
	struct conn *c;

	assert_int_equal(sim_init(&m, args, err), 0);
	c = sim_conn(&m, NULL);
	for (int i = 1; i <= 10; i++) {
		struct in6_addr x, ll = A("fe80::5");
		snprintf(a, sizeof(a), "fd00:1:2:3::%x", 0x100 + i);
		x = A(a);
		use(&m, c, &ll);        /* the link-local stays in use */
		use(&m, c, &x);
		assert_ptr_equal(addrtab_get(&m.s.addrs, &x), c);
		assert_ptr_equal(addrtab_get(&m.s.addrs, &ll), c);
	}
	assert_int_equal(c->n_addrs, 3);
	assert_int_equal(c->drops[DROP_TOO_MANY_ADDRS], 0);
	assert_true(c->evicted >= 8);
	sim_free(&m);

	assert_int_equal(sim_init(&m, busy, err), 0);
	c = sim_conn(&m, NULL);
	for (int i = 1; i <= 4; i++) {
		struct in6_addr x;
		snprintf(a, sizeof(a), "fd00:1:2:3::%x", 0x100 + i);
		x = A(a);
		use(&m, c, &x);
	}
	assert_int_equal(c->n_addrs, 3);
	assert_int_equal(c->drops[DROP_TOO_MANY_ADDRS], 1);
	assert_int_equal(c->evicted, 0);
	sim_free(&m);
}

/* A gone client's addresses stay its certificate's: another client may
 * not use them, the same certificate may. */
static void test_reserved_to_certificate(void **state)
{
	const char *args[] = { "--address-hold", "300", NULL };
	static const uint8_t k1[16] = { 1 }, k2[16] = { 2 };
	struct sim m;
	char err[ERRLEN];
	struct conn *a, *b, *a2;
	struct in6_addr x = A("fd00:1:2:3::77");

	assert_int_equal(sim_init(&m, args, err), 0);
	a = sim_conn(&m, k1);
	b = sim_conn(&m, k2);
	use(&m, a, &x);
	sim_close(&m, a);
	assert_null(addrtab_get(&m.s.addrs, &x));
	use(&m, b, &x);
	assert_int_equal(b->drops[DROP_RESERVED], 1);
	assert_null(addrtab_get(&m.s.addrs, &x));
	a2 = sim_conn(&m, k1);
	use(&m, a2, &x);
	assert_ptr_equal(addrtab_get(&m.s.addrs, &x), a2);
	sim_free(&m);
}

/* Multicast flood: a sender gets its burst, then its rate. */
static void test_multicast_share(void **state)
{
	const char *args[] = { "--multicast-rate", "5", NULL };
	struct sim m;
	char err[ERRLEN];
	struct conn *s, *o;
	uint8_t pkt[128];
	struct in6_addr ll = A("fe80::9"), all = A("ff02::1");
	size_t n;
	unsigned got = 0;

	assert_int_equal(sim_init(&m, args, err), 0);
	s = sim_conn(&m, NULL);
	o = sim_conn(&m, NULL);
	use(&m, s, &ll);
	n = build(pkt, "echo", &ll, &all, NULL);
	for (int i = 0; i < 1000; i++)
		link_from_client(s, pkt, n);
	got = count_rx(o, NULL, NULL);
	assert_true(got >= 10 && got <= 12);      /* burst of 2 x rate, plus what refilled */
	assert_int_equal(s->drops[DROP_MCAST_RATE], 1000 - got);
	sim_free(&m);
}

/* One client cannot fill the pending-DAD table. */
static void test_pending_dad_share(void **state)
{
	struct world w;
	uint8_t pkt[256];
	struct in6_addr z = A("::"), sn;
	unsigned mine = 0;
	size_t n;

	world_init(&w, 0);
	for (int i = 0; i < 200; i++) {
		/* the sender probes the other's address again and again */
		nd_solicited_node(&w.b_gua, &sn);
		n = build(pkt, "NS", &z, &sn, &w.b_gua);
		link_from_client(w.s, pkt, n);
	}
	for (int i = 0; i < PENDING_DAD_SLOTS; i++)
		mine += w.m.s.dad[i].expires_ms && w.m.s.dad[i].conn_id == w.s->id;
	assert_int_equal(mine, PENDING_DAD_PER_CLIENT);
	sim_free(&w.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_dad_sabotage),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_reserved_to_certificate),
		cmocka_unit_test(test_multicast_share),
		cmocka_unit_test(test_pending_dad_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
