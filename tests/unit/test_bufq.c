/* The byte queue: cap, growth, consumption across the ring's wrap, free;
 * and no copy of the pending bytes while a slow reader refills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/bufq.h"

/* Pop everything pending into out, head part by head part. */
static size_t drain(struct bufq *q, uint8_t *out)
{
	size_t got = 0;

	while (bufq_pending(q)) {
		size_t n = bufq_head_len(q);
		assert_true(n > 0);
		memcpy(out + got, bufq_head(q), n);
		got += n;
		bufq_consume(q, n);
	}
	return got;
}

static void test_append_consume(void **state)
{
	struct bufq q = { 0 };
	uint8_t buf[300], out[800];

	for (int i = 0; i < 300; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(bufq_append(&q, buf, 100, 1000, 64), 0);
	assert_int_equal(bufq_append(&q, buf + 100, 200, 1000, 64), 0);
	assert_int_equal(bufq_pending(&q), 300);
	assert_int_equal(bufq_head_len(&q), 300);
	assert_memory_equal(bufq_head(&q), buf, 300);
	bufq_consume(&q, 250);
	assert_int_equal(bufq_pending(&q), 50);
	assert_memory_equal(bufq_head(&q), buf + 250, 50);
	/* The cap counts what is pending, not what was consumed. */
	assert_int_equal(bufq_append(&q, buf, 300, 400, 64), 0);
	assert_int_equal(bufq_pending(&q), 350);
	assert_int_equal(bufq_append(&q, buf, 51, 400, 64), -1);   /* over the cap: nothing */
	assert_int_equal(bufq_pending(&q), 350);
	assert_int_equal(drain(&q, out), 350);
	assert_memory_equal(out, buf + 250, 50);
	assert_memory_equal(out + 50, buf, 300);
	assert_int_equal(q.off, 0);
	bufq_free(&q);
	assert_null(q.data);
	assert_int_equal(bufq_append(&q, buf, 10, 100, 64), 0);   /* usable after free */
	assert_int_equal(q.cap, 64);
	bufq_clear(&q);
	assert_int_equal(bufq_pending(&q), 0);
	bufq_free(&q);
}

/* A slow reader: the queue stays near its cap, the writer takes a little
 * and the producer refills. The bytes come out in order, across the wrap,
 * and the buffer is never reallocated (the pending bytes never move). */
static void test_slow_reader_never_moves(void **state)
{
	struct bufq q = { 0 };
	const size_t limit = 4096;
	uint8_t pkt[100], out[200];
	uint8_t *first;
	unsigned in_seq = 0, out_seq = 0;

	while (bufq_pending(&q) + sizeof(pkt) <= limit) {
		memset(pkt, (int)(in_seq++ & 0xff), sizeof(pkt));
		assert_int_equal(bufq_append(&q, pkt, sizeof(pkt), limit, 4096), 0);
	}
	first = q.data;
	for (int round = 0; round < 1000; round++) {
		/* the reader takes one packet's worth, maybe in two parts */
		size_t want = sizeof(pkt), got = 0;
		while (got < want) {
			size_t n = bufq_head_len(&q);
			if (n > want - got)
				n = want - got;
			memcpy(out + got, bufq_head(&q), n);
			bufq_consume(&q, n);
			got += n;
		}
		for (size_t i = 0; i < sizeof(pkt); i++)
			assert_int_equal(out[i], out_seq & 0xff);
		out_seq++;
		memset(pkt, (int)(in_seq++ & 0xff), sizeof(pkt));
		assert_int_equal(bufq_append(&q, pkt, sizeof(pkt), limit, 4096), 0);
		assert_ptr_equal(q.data, first);
		assert_int_equal(q.cap, 4096);
	}
	bufq_free(&q);
}

/* Growth while wrapped keeps the order. */
static void test_grow_wrapped(void **state)
{
	struct bufq q = { 0 };
	uint8_t a[48], b[40], out[200];

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	assert_int_equal(bufq_append(&q, a, 48, 1000, 64), 0);
	bufq_consume(&q, 40);                                   /* 8 left at 40..47 */
	assert_int_equal(bufq_append(&q, b, 40, 1000, 64), 0);  /* wraps */
	assert_int_equal(bufq_head_len(&q), 24);
	assert_int_equal(bufq_append(&q, a, 48, 1000, 64), 0);  /* grows */
	assert_int_equal(q.cap, 128);
	assert_int_equal(drain(&q, out), 96);
	assert_memory_equal(out, a, 8);
	assert_memory_equal(out + 8, b, 40);
	assert_memory_equal(out + 48, a, 48);
	bufq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_slow_reader_never_moves),
		cmocka_unit_test(test_grow_wrapped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
