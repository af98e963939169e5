/* The client's certificates (src/client/config.c): --cert/--key repeatable
 * and paired by rank, --cert DIR with its NAME.pem + NAME.key, every pair
 * checked at start-up with errors that name the option and the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/config.h"
#include "tls/pki.h"

static char dir[64];
static struct pki_paths P;
static char c1[600], k1[600], c2[600], k2[600];

static int setup(void **state)
{
	char err[ERRLEN];
	const char *names[] = { "vpn.example.test" };
	int created;

	snprintf(dir, sizeof(dir), "/tmp/iph-ccfg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	pki_paths_init(&P, dir);
	if (pki_ensure_server(&P, names, 1, &created, err) < 0 ||
	    pki_issue_client(&P, "client2", c2, k2, sizeof(c2), err) < 0 ||
	    pki_issue_client(&P, "client1", c1, k1, sizeof(c1), err) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Parses argv (NULL-terminated, after "client"); returns the result. */
static int parse(struct client_cfg *cfg, char *err, ...)
{
	char *argv[32] = { "client" };
	struct iph_url urls[CLIENT_MAX_URLS];
	size_t n = 0;
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, err);
	while ((a = va_arg(ap, char *)) != NULL && argc < 30)
		argv[argc++] = a;
	va_end(ap);
	argv[argc++] = "https://vpn.example.test/IPHTTPS";
	return client_cfg_parse(cfg, argc, argv, urls, &n, err);
}

static void test_pairs_by_rank(void **state)
{
	struct client_cfg cfg;
	char err[ERRLEN];

	assert_int_equal(parse(&cfg, err, "--cert", c2, "--key", k2, "--cert", c1, "--key", k1, NULL), 0);
	assert_int_equal(cfg.n_creds, 2);
	assert_string_equal(cfg.creds[0].label, "client2.pem");
	assert_string_equal(cfg.creds[0].key_file, k2);
	assert_string_equal(cfg.creds[1].label, "client1.pem");
	client_cfg_free(&cfg);
	/* none at all is fine: mode None */
	assert_int_equal(parse(&cfg, err, NULL), 0);
	assert_int_equal(cfg.n_creds, 0);
	client_cfg_free(&cfg);
}

static void test_directory(void **state)
{
	struct client_cfg cfg;
	char err[ERRLEN], cdir[600], stray[700];
	FILE *f;

	/* the generated clients/ holds client1 and client2, in name order; a
	 * file without its key is left out */
	snprintf(cdir, sizeof(cdir), "%s/clients", dir);
	snprintf(stray, sizeof(stray), "%s/zz.pem", cdir);
	f = fopen(stray, "w");
	assert_non_null(f);
	fputs("not a certificate\n", f);
	fclose(f);
	assert_int_equal(parse(&cfg, err, "--cert", cdir, NULL), 0);
	assert_int_equal(cfg.n_creds, 2);
	assert_string_equal(cfg.creds[0].label, "client1.pem");
	assert_string_equal(cfg.creds[1].label, "client2.pem");
	client_cfg_free(&cfg);
	unlink(stray);
	/* a directory and a file */
	assert_int_equal(parse(&cfg, err, "--cert", c2, "--cert", cdir, "--key", k2, NULL), 0);
	assert_int_equal(cfg.n_creds, 3);
	assert_string_equal(cfg.creds[0].label, "client2.pem");
	client_cfg_free(&cfg);
	/* a directory with no pair in it */
	snprintf(cdir, sizeof(cdir), "%s/empty", dir);
	assert_int_equal(mkdir(cdir, 0700), 0);
	assert_int_equal(parse(&cfg, err, "--cert", cdir, NULL), -1);
	assert_non_null(strstr(err, "no certificate NAME.pem or NAME.crt"));
	client_cfg_free(&cfg);
}

static void test_errors_name_the_file(void **state)
{
	struct client_cfg cfg;
	char err[ERRLEN];

	assert_int_equal(parse(&cfg, err, "--cert", c1, NULL), -1);
	assert_non_null(strstr(err, "needs its --key"));
	client_cfg_free(&cfg);
	assert_int_equal(parse(&cfg, err, "--cert", c1, "--key", k1, "--key", k2, NULL), -1);
	assert_non_null(strstr(err, k2));
	client_cfg_free(&cfg);
	/* a key that belongs to another certificate */
	assert_int_equal(parse(&cfg, err, "--cert", c1, "--key", k2, NULL), -1);
	assert_non_null(strstr(err, "does not match"));
	assert_non_null(strstr(err, c1));
	client_cfg_free(&cfg);
	assert_int_equal(parse(&cfg, err, "--cert", "/nonexistent/c.pem", "--key", k1, NULL), -1);
	assert_non_null(strstr(err, "/nonexistent/c.pem"));
	client_cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_by_rank),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_errors_name_the_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
