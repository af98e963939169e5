/* Options and configuration files: flags, values, lists, the file's
 * [section] keys, and errors that name the option or the file's line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/opts.h"

struct cfg {
	char *name;
	struct strlist list;
	long n;
	int flag;
	int mode;
};

static const char *const modes[] = { "off", "on", NULL };
#define O(f) offsetof(struct cfg, f)
static const struct opt_def defs[] = {
	{ "config", 'c', OPT_CONFIG, 0, "FILE", "config" },
	{ "name", 0, OPT_STR, O(name), "S", "a string" },
	{ "item", 0, OPT_LIST, O(list), "S", "a list" },
	{ "count", 'n', OPT_INT, O(n), "N", "a number", 1, 100 },
	{ "flag", 'f', OPT_FLAG, O(flag), NULL, "a flag" },
	{ "mode", 0, OPT_ENUM, O(mode), "off|on", "a choice", 0, 0, modes },
	{ NULL },
};

static char tmpfile_path[64];

static const char *write_file(const char *text)
{
	int fd;
	snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/iphttps-opts-XXXXXX");
	fd = mkstemp(tmpfile_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmpfile_path;
}

static void test_argv(void **state)
{
	struct cfg c = { 0 };
	struct strlist pos = { 0 };
	char err[ERRLEN];
	char *argv[] = { "x", "--name", "a", "--item=b", "--item", "c", "-n", "7", "-f", "--mode", "on", "URL", NULL };

	assert_int_equal(opts_parse(defs, &c, "s", 12, argv, &pos, NULL, err), 0);
	assert_string_equal(c.name, "a");
	assert_int_equal(c.list.n, 2);
	assert_string_equal(c.list.v[1], "c");
	assert_int_equal(c.n, 7);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.mode, 1);
	assert_int_equal(pos.n, 1);
	assert_string_equal(pos.v[0], "URL");
	strlist_free(&pos);
	opts_free(defs, &c);
}

/* --no-FLAG turns a flag off (a flag on by default); not for other
 * options, nor with a value. */
static void test_no_flag(void **state)
{
	struct cfg c = { .flag = 1 };
	char err[ERRLEN];
	char *off[] = { "x", "--no-flag", NULL };
	char *last_wins[] = { "x", "--no-flag", "--flag", NULL };
	char *not_flag[] = { "x", "--no-name", NULL };
	char *with_value[] = { "x", "--no-flag=1", NULL };

	assert_int_equal(opts_parse(defs, &c, "s", 2, off, NULL, NULL, err), 0);
	assert_int_equal(c.flag, 0);
	assert_int_equal(opts_parse(defs, &c, "s", 3, last_wins, NULL, NULL, err), 0);
	assert_int_equal(c.flag, 1);
	assert_int_equal(opts_parse(defs, &c, "s", 2, not_flag, NULL, NULL, err), -1);
	assert_non_null(strstr(err, "unknown option '--no-name'"));
	assert_int_equal(opts_parse(defs, &c, "s", 2, with_value, NULL, NULL, err), -1);
	opts_free(defs, &c);
}

static void test_argv_errors(void **state)
{
	struct cfg c = { 0 };
	char err[ERRLEN];
	char *bad_int[] = { "x", "--count", "500", NULL };
	char *bad_enum[] = { "x", "--mode", "maybe", NULL };
	char *unknown[] = { "x", "--nope", NULL };
	char *missing[] = { "x", "--name", NULL };
	char *help[] = { "x", "--help", NULL };

	assert_int_equal(opts_parse(defs, &c, "s", 3, bad_int, NULL, NULL, err), -1);
	assert_non_null(strstr(err, "--count: '500'"));
	assert_int_equal(opts_parse(defs, &c, "s", 3, bad_enum, NULL, NULL, err), -1);
	assert_non_null(strstr(err, "'maybe' is not one of: off on"));
	assert_int_equal(opts_parse(defs, &c, "s", 2, unknown, NULL, NULL, err), -1);
	assert_non_null(strstr(err, "unknown option '--nope'"));
	assert_int_equal(opts_parse(defs, &c, "s", 2, missing, NULL, NULL, err), -1);
	assert_non_null(strstr(err, "--name needs a value"));
	assert_int_equal(opts_parse(defs, &c, "s", 2, help, NULL, NULL, err), 1);
	opts_free(defs, &c);
}

static void test_file_and_override(void **state)
{
	struct cfg c = { 0 };
	char err[ERRLEN];
	const char *p = write_file("# comment\n[other]\nignored = 1\n[s]\nname = fromfile\ncount = 5\nflag = yes\nitem = a\nitem = b\n");
	char *argv[] = { "x", "-c", (char *)p, "--count", "9", NULL };

	assert_int_equal(opts_parse(defs, &c, "s", 5, argv, NULL, NULL, err), 0);
	assert_string_equal(c.name, "fromfile");
	assert_int_equal(c.n, 9);             /* the command line wins */
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.list.n, 2);
	unlink(p);
	opts_free(defs, &c);
}

static void check_file_error(const char *text, const char *expect)
{
	struct cfg c = { 0 };
	char err[ERRLEN], want[256];
	const char *p = write_file(text);

	assert_int_equal(opts_parse_file(defs, &c, "s", p, NULL, err), -1);
	snprintf(want, sizeof(want), "%s:%s", p, expect);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
	unlink(p);
	opts_free(defs, &c);
}

static void test_file_errors_name_the_line(void **state)
{
	check_file_error("[s]\nname = a\ncount = abc\n", "3: count: 'abc' is not a whole number");
	check_file_error("[s]\n\nbogus = 1\n", "3: unknown key 'bogus' in [s]");
	check_file_error("name = a\n", "1: 'name' is outside a section");
	check_file_error("[s]\nname = a\nthis line has no equals sign\n", "3:");
	check_file_error("[s]\nmode = sideways\n", "2: mode: 'sideways' is not one of");
	/* A misspelt section is named with its line, also when empty. */
	check_file_error("[s]\nname = a\n\n[ss]\nname = b\n", "4: unknown section [ss] (known: [s] [other])");
	check_file_error("[s]\n[ sx ]\n", "2: unknown section [sx]");
}

/* Each value remembers its line; the command line overrides it. */
static void test_origin(void **state)
{
	struct cfg c = { 0 };
	struct opts_origin o;
	char err[ERRLEN], w[300], want[300];
	const char *p = write_file("[s]\n# c\nname = x\n[other]\nz = 1\n[s]\ncount = 5\nitem = a\n\nitem = b\n");
	char *argv[] = { "x", "--count", "9", "-c", (char *)p, "--item", "c", NULL };

	assert_int_equal(opts_parse(defs, &c, "s", 7, argv, NULL, &o, err), 0);
	snprintf(want, sizeof(want), "%s:3: name", p);
	assert_string_equal(opts_where(defs, &o, &c, "name", 0, w, sizeof(w)), want);
	assert_string_equal(opts_where(defs, &o, &c, "count", 0, w, sizeof(w)), "--count");
	snprintf(want, sizeof(want), "%s:10: item", p);
	assert_string_equal(opts_where(defs, &o, &c, "item", 1, w, sizeof(w)), want);
	assert_string_equal(opts_where(defs, &o, &c, "item", 2, w, sizeof(w)), "--item");
	assert_string_equal(opts_where(defs, &o, &c, "flag", 0, w, sizeof(w)), "--flag");
	unlink(p);
	opts_free(defs, &c);
}

/* A line longer than inih's buffer still counts as one. */
static void test_long_line_keeps_count(void **state)
{
	char text[2000];
	size_t n = (size_t)snprintf(text, sizeof(text), "[s]\n# ");

	memset(text + n, 'x', 1500);
	snprintf(text + n + 1500, sizeof(text) - n - 1500, "\nname = a\ncount = zz\n");
	check_file_error(text, "4: count: 'zz'");
}

static void test_missing_file(void **state)
{
	struct cfg c = { 0 };
	char err[ERRLEN];
	assert_int_equal(opts_parse_file(defs, &c, "s", "/nonexistent/x.conf", NULL, err), -1);
	assert_non_null(strstr(err, "/nonexistent/x.conf: No such file"));
}

static const char *const test_sections[] = { "s", "other", NULL };

int main(void)
{
	opts_sections = test_sections;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_long_line_keeps_count),
		cmocka_unit_test(test_argv_errors),
		cmocka_unit_test(test_no_flag),
		cmocka_unit_test(test_file_and_override),
		cmocka_unit_test(test_file_errors_name_the_line),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
