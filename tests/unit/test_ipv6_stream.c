/* Unit tests of the IPv6 stream deframer (src/wire/ipv6_stream.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/ipv6_stream.h"

#define MAX_REC 64

/* What the callback saw. */
struct rec {
	size_t n;
	size_t len[MAX_REC];
	uint8_t *data[MAX_REC];         /* copies */
	const uint8_t *ptr[MAX_REC];    /* where the packet was */
	int stop_at;                    /* return 1 on this packet index, -1 never */
};

static int
rec_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct rec *r = arg;

	assert_true(r->n < MAX_REC);
	r->len[r->n] = len;
	r->ptr[r->n] = pkt;
	r->data[r->n] = malloc(len);
	assert_non_null(r->data[r->n]);
	memcpy(r->data[r->n], pkt, len);
	r->n++;
	return (int)r->n - 1 == r->stop_at;
}

static void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->stop_at = -1;
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->data[i]);
	r->n = 0;
}

/* Writes an IPv6 packet with payload plen, filled with a pattern from seed,
 * at out.  Returns its length. */
static size_t
make_pkt(uint8_t *out, size_t plen, uint8_t seed)
{
	size_t i;

	memset(out, 0, IPV6_HDR_LEN);
	out[0] = 0x60 | (seed & 0x0f);   /* traffic class bits vary */
	out[4] = (uint8_t)(plen >> 8);
	out[5] = (uint8_t)plen;
	out[6] = 59;
	out[7] = 64;
	for (i = 8; i < IPV6_HDR_LEN; i++)
		out[i] = (uint8_t)(seed + i);
	for (i = 0; i < plen; i++)
		out[IPV6_HDR_LEN + i] = (uint8_t)(seed * 7 + i * 13);
	return IPV6_HDR_LEN + plen;
}

/* A stream of packets of payload sizes 0, 1, 7, 100, 0, 1240, 33, 0. */
static const size_t sizes[] = { 0, 1, 7, 100, 0, 1240, 33, 0 };
#define NPKT (sizeof(sizes) / sizeof(sizes[0]))

struct stream {
	uint8_t buf[8 * 1400];
	size_t len;
	size_t off[NPKT], plen[NPKT];
};

static void
make_stream(struct stream *s)
{
	size_t i;

	s->len = 0;
	for (i = 0; i < NPKT; i++) {
		s->off[i] = s->len;
		s->plen[i] = make_pkt(s->buf + s->len, sizes[i], (uint8_t)(i + 1));
		s->len += s->plen[i];
	}
}

/* Asserts r holds exactly the packets of s. */
static void
check_all(const struct rec *r, const struct stream *s)
{
	size_t i;

	assert_int_equal(r->n, NPKT);
	for (i = 0; i < NPKT; i++) {
		assert_int_equal(r->len[i], s->plen[i]);
		assert_memory_equal(r->data[i], s->buf + s->off[i], s->plen[i]);
	}
}

static void
test_whole_zero_copy(void **state)
{
	struct v6_deframer df;
	struct stream s;
	struct rec r;
	size_t i;

	make_stream(&s);
	rec_init(&r);
	v6df_init(&df, 0);
	assert_int_equal(v6df_feed(&df, s.buf, s.len, rec_cb, &r), 0);
	check_all(&r, &s);
	for (i = 0; i < NPKT; i++)
		assert_ptr_equal(r.ptr[i], s.buf + s.off[i]);
	assert_null(df.buf);            /* nothing had to be buffered */
	assert_int_equal(v6df_pending(&df), 0);
	assert_int_equal(df.packets, NPKT);
	assert_int_equal(df.bytes, s.len);
	rec_free(&r);
	v6df_free(&df);
}

static void
test_every_split(void **state)
{
	struct v6_deframer df;
	struct stream s;
	struct rec r;
	size_t cut, i;

	make_stream(&s);
	for (cut = 0; cut <= s.len; cut++) {
		rec_init(&r);
		v6df_init(&df, 0);
		assert_int_equal(v6df_feed(&df, s.buf, cut, rec_cb, &r), 0);
		/* the pending count is the distance back to a packet start */
		for (i = 0; i < NPKT && s.off[i] + s.plen[i] <= cut; i++)
			;
		assert_int_equal(v6df_pending(&df), i < NPKT ? cut - s.off[i] : 0);
		assert_int_equal(v6df_feed(&df, s.buf + cut, s.len - cut, rec_cb, &r), 0);
		check_all(&r, &s);
		assert_int_equal(v6df_pending(&df), 0);
		assert_int_equal(df.packets, NPKT);
		assert_int_equal(df.bytes, s.len);
		rec_free(&r);
		v6df_free(&df);
	}
}

static void
test_two_splits(void **state)
{
	struct v6_deframer df;
	struct stream s;
	struct rec r;
	size_t a, b;

	/* all pairs of cuts over the first 4 packets (small ones) */
	make_stream(&s);
	s.len = s.off[4];
	for (a = 0; a <= s.len; a++) {
		for (b = a; b <= s.len; b++) {
			rec_init(&r);
			v6df_init(&df, 0);
			assert_int_equal(v6df_feed(&df, s.buf, a, rec_cb, &r), 0);
			assert_int_equal(v6df_feed(&df, s.buf + a, b - a, rec_cb, &r), 0);
			assert_int_equal(v6df_feed(&df, s.buf + b, s.len - b, rec_cb, &r), 0);
			assert_int_equal(r.n, 4);
			assert_int_equal(r.len[3], s.plen[3]);
			assert_memory_equal(r.data[3], s.buf + s.off[3], s.plen[3]);
			assert_int_equal(df.bytes, s.len);
			rec_free(&r);
			v6df_free(&df);
		}
	}
}

static void
test_byte_by_byte(void **state)
{
	struct v6_deframer df;
	struct stream s;
	struct rec r;
	size_t i;

	make_stream(&s);
	rec_init(&r);
	v6df_init(&df, 0);
	for (i = 0; i < s.len; i++)
		assert_int_equal(v6df_feed(&df, s.buf + i, 1, rec_cb, &r), 0);
	check_all(&r, &s);
	assert_int_equal(df.packets, NPKT);
	assert_int_equal(df.bytes, s.len);
	rec_free(&r);
	v6df_free(&df);
}

static void
test_zero_length(void **state)
{
	struct v6_deframer df;
	uint8_t buf[3 * IPV6_HDR_LEN];
	struct rec r;

	make_pkt(buf, 0, 1);
	make_pkt(buf + 40, 0, 2);
	make_pkt(buf + 80, 0, 3);
	rec_init(&r);
	v6df_init(&df, 0);
	/* an empty feed is harmless, also with a NULL pointer */
	assert_int_equal(v6df_feed(&df, NULL, 0, rec_cb, &r), 0);
	assert_int_equal(v6df_feed(&df, buf, 39, rec_cb, &r), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(v6df_pending(&df), 39);
	assert_int_equal(v6df_feed(&df, NULL, 0, rec_cb, &r), 0);
	assert_int_equal(v6df_feed(&df, buf + 39, 81, rec_cb, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.len[0], 40);
	assert_int_equal(r.len[2], 40);
	assert_memory_equal(r.data[1], buf + 40, 40);
	assert_int_equal(df.bytes, 120);
	rec_free(&r);
	v6df_free(&df);
}

static void
test_version_error(void **state)
{
	struct v6_deframer df;
	uint8_t buf[200];
	struct rec r;
	size_t n;

	/* an IPv4 header right at the start: refused on its first byte */
	rec_init(&r);
	v6df_init(&df, 0);
	buf[0] = 0x45;
	assert_int_equal(v6df_feed(&df, buf, 1, rec_cb, &r), -1);
	assert_int_equal(df.error, V6DF_ERR_VERSION);
	assert_int_equal(df.bad_byte, 0x45);
	n = make_pkt(buf, 10, 1);
	assert_int_equal(v6df_feed(&df, buf, n, rec_cb, &r), -1);
	assert_int_equal(r.n, 0);
	v6df_free(&df);

	/* good packet, then garbage after it, fed across a split */
	rec_init(&r);
	v6df_init(&df, 0);
	n = make_pkt(buf, 10, 1);
	memcpy(buf + n, "HTTP/1.1 200 OK\r\n", 17);
	assert_int_equal(v6df_feed(&df, buf, n - 3, rec_cb, &r), 0);
	assert_int_equal(v6df_feed(&df, buf + n - 3, 3 + 17, rec_cb, &r), -1);
	assert_int_equal(r.n, 1);
	assert_int_equal(df.error, V6DF_ERR_VERSION);
	assert_int_equal(df.bad_byte, 'H');
	assert_int_equal(df.packets, 1);
	/* after an error nothing more is accepted */
	n = make_pkt(buf, 0, 2);
	assert_int_equal(v6df_feed(&df, buf, n, rec_cb, &r), -1);
	assert_int_equal(r.n, 1);
	assert_int_equal(df.packets, 1);
	rec_free(&r);
	v6df_free(&df);
}

static void
test_too_big(void **state)
{
	struct v6_deframer df;
	static uint8_t buf[2100];
	struct rec r;
	size_t n;

	rec_init(&r);
	v6df_init(&df, 1280);
	assert_int_equal(df.max_packet, 1280);
	n = make_pkt(buf, 1240, 1);             /* exactly 1280: fine */
	assert_int_equal(v6df_feed(&df, buf, n, rec_cb, &r), 0);
	n = make_pkt(buf, 1241, 2);             /* 1281: too big */
	assert_int_equal(v6df_feed(&df, buf, 5, rec_cb, &r), 0);
	assert_int_equal(v6df_feed(&df, buf + 5, 1, rec_cb, &r), -1);
	assert_int_equal(df.error, V6DF_ERR_TOO_BIG);
	assert_int_equal(df.bad_byte, buf[0]);
	assert_int_equal(v6df_feed(&df, buf + 6, n - 6, rec_cb, &r), -1);
	assert_int_equal(r.n, 1);
	assert_int_equal(df.packets, 1);
	assert_int_equal(df.bytes, 1280);
	assert_non_null(v6df_strerror(df.error));
	assert_string_not_equal(v6df_strerror(V6DF_ERR_TOO_BIG),
				v6df_strerror(V6DF_ERR_VERSION));
	rec_free(&r);
	v6df_free(&df);

	/* the default cap is 2048 */
	rec_init(&r);
	v6df_init(&df, 0);
	n = make_pkt(buf, 2048 - 40 + 1, 3);
	assert_int_equal(v6df_feed(&df, buf, n, rec_cb, &r), -1);
	assert_int_equal(df.error, V6DF_ERR_TOO_BIG);
	assert_int_equal(r.n, 0);
	v6df_free(&df);
}

static void
test_max_size(void **state)
{
	struct v6_deframer df;
	uint8_t *buf = malloc(2 * V6DF_MAX_PACKET_LIMIT);
	struct rec r;
	size_t n, i, chunk = 1000;

	assert_non_null(buf);
	n = make_pkt(buf, 65535, 9);
	assert_int_equal(n, V6DF_MAX_PACKET_LIMIT);
	n += make_pkt(buf + n, 65535, 10);
	rec_init(&r);
	v6df_init(&df, (size_t)1 << 30);        /* clamped to the limit */
	assert_int_equal(df.max_packet, V6DF_MAX_PACKET_LIMIT);
	for (i = 0; i < n; i += chunk)
		assert_int_equal(v6df_feed(&df, buf + i, i + chunk < n ? chunk : n - i,
					   rec_cb, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.len[0], V6DF_MAX_PACKET_LIMIT);
	assert_memory_equal(r.data[1], buf + V6DF_MAX_PACKET_LIMIT, V6DF_MAX_PACKET_LIMIT);
	assert_int_equal(df.bytes, 2 * (uint64_t)V6DF_MAX_PACKET_LIMIT);
	rec_free(&r);
	v6df_free(&df);
	free(buf);
}

static void
test_init_clamps(void **state)
{
	struct v6_deframer df;

	v6df_init(&df, 0);
	assert_int_equal(df.max_packet, V6DF_DEFAULT_MAX_PACKET);
	assert_int_equal(df.error, V6DF_OK);
	assert_int_equal(df.packets, 0);
	v6df_init(&df, 10);
	assert_int_equal(df.max_packet, IPV6_HDR_LEN);
	v6df_init(&df, V6DF_MAX_PACKET_LIMIT + 1);
	assert_int_equal(df.max_packet, V6DF_MAX_PACKET_LIMIT);
	v6df_free(&df);
}

static void
test_callback_stop(void **state)
{
	struct v6_deframer df;
	struct stream s;
	struct rec r;

	make_stream(&s);
	rec_init(&r);
	r.stop_at = 2;
	v6df_init(&df, 0);
	assert_int_equal(v6df_feed(&df, s.buf, s.len, rec_cb, &r), -1);
	assert_int_equal(df.error, V6DF_ERR_CALLBACK);
	assert_int_equal(r.n, 3);
	assert_int_equal(v6df_feed(&df, s.buf, s.len, rec_cb, &r), -1);
	assert_int_equal(r.n, 3);
	rec_free(&r);
	v6df_free(&df);
}

static void
test_shrink(void **state)
{
	struct v6_deframer df;
	struct stream s;
	struct rec r;

	make_stream(&s);
	rec_init(&r);
	v6df_init(&df, 0);
	assert_int_equal(v6df_feed(&df, s.buf, 50, rec_cb, &r), 0);
	assert_non_null(df.buf);
	v6df_shrink(&df);                       /* a packet is pending: kept */
	assert_non_null(df.buf);
	assert_int_equal(v6df_pending(&df), 50 - 40);
	assert_int_equal(v6df_feed(&df, s.buf + 50, s.off[2] - 50, rec_cb, &r), 0);
	assert_int_equal(v6df_pending(&df), 0);
	v6df_shrink(&df);
	assert_null(df.buf);
	/* and it still works after shrinking */
	assert_int_equal(v6df_feed(&df, s.buf + s.off[2], s.len - s.off[2], rec_cb, &r), 0);
	check_all(&r, &s);
	rec_free(&r);
	v6df_free(&df);
	assert_null(df.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_zero_copy),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_two_splits),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_version_error),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_init_clamps),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
