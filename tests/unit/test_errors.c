/* The error catalogue (src/errors.c): every entry names its source, our own
 * codes are marked and stay in the customer range, every HTTP status but 200
 * is 0x80190000 | status (Windows' WebReceiveResponseCompletion), and codes
 * parse in their hex and decimal forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"

static void test_every_entry_is_complete(void **state)
{
	size_t n;
	const struct iph_error *t = iph_error_table(&n);

	assert_true(n >= 40);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].symbol);
		assert_non_null(t[i].status);
		assert_non_null(t[i].meaning);
		assert_non_null(t[i].cause);
		assert_non_null(t[i].fix);
		/* the catalogue says where each code comes from */
		assert_non_null(t[i].source);
		assert_true(strlen(t[i].source) > 10);
		/* ours: the customer bit, never a Windows code; and the reverse */
		assert_int_equal(t[i].ours, (t[i].code & 0xf0000000u) == 0xa0000000u);
		if (t[i].ours)
			assert_non_null(strstr(t[i].source, "Ours"));
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(t[i].code, t[j].code);
		assert_ptr_equal(iph_error_lookup(t[i].code), &t[i]);
	}
}

static void test_http_statuses(void **state)
{
	const struct iph_error *e;

	/* the four of the issue, with winerror.h's names */
	assert_string_equal(iph_error_symbol(0x80190190u), "HTTP_E_STATUS_BAD_REQUEST");
	assert_string_equal(iph_error_symbol(0x80190194u), "HTTP_E_STATUS_NOT_FOUND");
	assert_string_equal(iph_error_symbol(0x80190195u), "HTTP_E_STATUS_BAD_METHOD");
	assert_string_equal(iph_error_symbol(0x801901f7u), "HTTP_E_STATUS_SERVICE_UNAVAIL");
	assert_int_equal(IPH_E_HTTP(404), 0x80190194u);
	assert_int_equal(IPH_E_PROXY_AUTH, 0x80190197u);
	/* any other status has an entry too */
	e = iph_error_lookup(IPH_E_HTTP(422));
	assert_non_null(e);
	assert_string_equal(e->symbol, "HTTP_STATUS_422");
	assert_non_null(strstr(e->meaning, "422"));
	assert_false(e->ours);
	assert_int_equal(iph_error_http_status(IPH_E_HTTP(302)), 302);
	/* 200 is success, never an error; nothing outside 100..599 */
	assert_null(iph_error_lookup(IPH_E_HTTP(200)));
	assert_null(iph_error_lookup(IPH_E_HTTP(600)));
	assert_null(iph_error_lookup(IPH_E_HTTP(99)));
	assert_int_equal(iph_error_http_status(0x80090326u), 0);
}

static void test_windows_codes_present(void **state)
{
	static const uint32_t codes[] = {
		0x80090331u, 0x8009030du, 0x8009030eu, 0x800b0110u, 0x800b010au, 0x80092012u,
		0x80092013u, 0x80092010u, 0x2746u, 0x4c9u, 0x103u,
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const struct iph_error *e = iph_error_lookup(codes[i]);

		assert_non_null(e);
		assert_false(e->ours);
	}
	assert_string_equal(iph_error_symbol(0x800b0110u), "CERT_E_WRONG_USAGE");
	assert_string_equal(iph_error_symbol(0x80090331u), "SEC_E_ALGORITHM_MISMATCH");
	assert_string_equal(iph_error_symbol(0x1234u), "UNKNOWN");
}

static void test_parse(void **state)
{
	uint32_t c = 0;

	assert_int_equal(iph_error_parse("0x80190194", &c), 0);
	assert_int_equal(c, 0x80190194u);
	assert_int_equal(iph_error_parse("80190194", &c), 0);
	assert_int_equal(c, 0x80190194u);
	assert_int_equal(iph_error_parse("2149122452", &c), 0);
	assert_int_equal(c, 0x80190194u);
	assert_int_equal(iph_error_parse("0x", &c), -1);
	assert_int_equal(iph_error_parse("0x1ffffffff", &c), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_entry_is_complete),
		cmocka_unit_test(test_http_statuses),
		cmocka_unit_test(test_windows_codes_present),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
