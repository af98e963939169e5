/* The address table: put, get, replace, delete, growth, tombstones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/addrtab.h"

static struct in6_addr addr(unsigned i)
{
	struct in6_addr a;
	memset(&a, 0, sizeof(a));
	a.s6_addr[0] = 0xfd;
	a.s6_addr[12] = (uint8_t)(i >> 24);
	a.s6_addr[13] = (uint8_t)(i >> 16);
	a.s6_addr[14] = (uint8_t)(i >> 8);
	a.s6_addr[15] = (uint8_t)i;
	return a;
}

static void test_basic(void **state)
{
	struct addrtab t;
	struct in6_addr a = addr(1), b = addr(2);
	int x, y;

	assert_int_equal(addrtab_init(&t, 4), 0);
	assert_null(addrtab_get(&t, &a));
	assert_int_equal(addrtab_put(&t, &a, &x), 0);
	assert_ptr_equal(addrtab_get(&t, &a), &x);
	assert_null(addrtab_get(&t, &b));
	assert_int_equal(addrtab_put(&t, &a, &y), 0);  /* replace */
	assert_ptr_equal(addrtab_get(&t, &a), &y);
	assert_int_equal(t.used, 1);
	addrtab_del(&t, &a);
	assert_null(addrtab_get(&t, &a));
	addrtab_del(&t, &a);                            /* twice is harmless */
	assert_int_equal(t.used, 0);
	addrtab_free(&t);
}

static void test_many_with_churn(void **state)
{
	struct addrtab t;
	static int owners[20000];

	assert_int_equal(addrtab_init(&t, 1), 0);
	for (unsigned i = 0; i < 20000; i++) {
		struct in6_addr a = addr(i);
		assert_int_equal(addrtab_put(&t, &a, &owners[i]), 0);
	}
	for (unsigned i = 0; i < 20000; i += 2) {
		struct in6_addr a = addr(i);
		addrtab_del(&t, &a);
	}
	for (unsigned round = 0; round < 5; round++)
		for (unsigned i = 0; i < 20000; i += 2) {
			struct in6_addr a = addr(i + 1000000 * (round + 1));
			assert_int_equal(addrtab_put(&t, &a, &owners[i]), 0);
			addrtab_del(&t, &a);
		}
	for (unsigned i = 0; i < 20000; i++) {
		struct in6_addr a = addr(i);
		if (i % 2)
			assert_ptr_equal(addrtab_get(&t, &a), &owners[i]);
		else
			assert_null(addrtab_get(&t, &a));
	}
	assert_int_equal(t.used, 10000);
	assert_true(t.used + t.tombs < t.cap);
	addrtab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many_with_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
