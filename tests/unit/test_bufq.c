/* The byte queue: cap, growth, consumption, compaction, free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/bufq.h"

static void test_append_consume(void **state)
{
	struct bufq q = { 0 };
	uint8_t buf[300];

	for (int i = 0; i < 300; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(bufq_append(&q, buf, 100, 1000, 64), 0);
	assert_int_equal(bufq_append(&q, buf + 100, 200, 1000, 64), 0);
	assert_int_equal(bufq_pending(&q), 300);
	assert_memory_equal(bufq_head(&q), buf, 300);
	bufq_consume(&q, 250);
	assert_int_equal(bufq_pending(&q), 50);
	assert_memory_equal(bufq_head(&q), buf + 250, 50);
	/* The cap counts what is pending, not what was consumed. */
	assert_int_equal(bufq_append(&q, buf, 300, 400, 64), 0);
	assert_int_equal(bufq_pending(&q), 350);
	assert_memory_equal(bufq_head(&q), buf + 250, 50);
	assert_memory_equal(bufq_head(&q) + 50, buf, 300);
	assert_int_equal(bufq_append(&q, buf, 51, 400, 64), -1);   /* over the cap: nothing */
	assert_int_equal(bufq_pending(&q), 350);
	bufq_consume(&q, 350);
	assert_int_equal(bufq_pending(&q), 0);
	assert_int_equal(q.off, 0);
	bufq_free(&q);
	assert_null(q.data);
	assert_int_equal(bufq_append(&q, buf, 10, 100, 64), 0);   /* usable after free */
	assert_int_equal(q.cap, 64);
	bufq_clear(&q);
	assert_int_equal(bufq_pending(&q), 0);
	bufq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_consume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
