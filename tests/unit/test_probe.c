/* Unit tests of the probe's verdict and steps (src/diag/probe_verdict.c,
 * probe_steps.c) from results built here: which step decides for each
 * profile, the refinements a live client adds to the capture's verdict
 * (name mismatch, TLS inspection, the suites checks, an IP address in the
 * URL), the notes, and the JSON document.  The live steps themselves run in
 * tests/scenarios/test_probe.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag/probe_steps.h"
#include "errors.h"

static struct probe_opts opts;

/* Takes a handshake; the facts of one that completed and carried the
 * POST, its 200 and an RA. */
static void good_hs(struct probe_hs *hs, uint16_t suite)
{
	struct diag_facts *f = &hs->f;

	diag_facts_init(f);
	hs->tried = hs->tcp_ok = hs->verify = hs->ok = 1;
	snprintf(hs->peer, sizeof(hs->peer), "203.0.113.2:443");
	snprintf(hs->desc, sizeof(hs->desc), "TLSv1.2 AES256-SHA256");
	snprintf(f->server, sizeof(f->server), "203.0.113.2:443");
	f->saw_syn = f->saw_synack = 1;
	f->saw_client_hello = f->saw_server_hello = 1;
	f->ch.max_version = f->sh.version = 0x0303;
	f->ch.n_suites = f->ch.n_stored = 2;
	f->ch.suites[0] = 0x003d;
	f->ch.suites[1] = 0x003b;
	f->sh.suite = suite;
	f->handshake_done = 1;
	f->bytes[0] = f->bytes[1] = 1000;
	f->last_hs = TLSP_HS_FINISHED;
	f->last_hs_side = DIAG_SERVER;
}

/* A result where every step worked (profile p). */
static struct probe_result *good(enum probe_profile p)
{
	struct probe_result *r = calloc(1, sizeof(*r));
	struct diag_facts *f;

	assert_non_null(r);
	memset(&opts, 0, sizeof(opts));
	opts.url = "https://da.example.test/IPHTTPS";
	opts.profile = p;
	opts.timeout_ms = 2000;
	r->profile = p;
	r->when = 1700000000;
	assert_int_equal(iph_url_parse(opts.url, &r->url, 0, (char[256]){ 0 }), 0);
	r->resolve_tried = r->resolved = 1;
	r->n_addrs = 1;
	r->addrs[0].tcp = PT_OK;
	snprintf(r->addrs[0].ip, sizeof(r->addrs[0].ip), "203.0.113.2");
	snprintf(r->addrs[0].text, sizeof(r->addrs[0].text), "203.0.113.2:443");
	r->use_addr = 0;
	good_hs(&r->main, 0x003d);
	f = &r->main.f;
	f->app_readable = f->saw_request = f->saw_response = 1;
	snprintf(f->method, sizeof(f->method), "POST");
	snprintf(f->path, sizeof(f->path), "/IPHTTPS");
	f->status = 200;
	snprintf(f->reason, sizeof(f->reason), "OK");
	snprintf(f->http_server, sizeof(f->http_server), "Microsoft-HTTPAPI/2.0");
	f->saw_rs = f->saw_ra = f->ra_has_prefix = 1;
	f->v6_packets[0] = f->v6_packets[1] = 1;
	snprintf(f->ra_prefix, sizeof(f->ra_prefix), "2001:db8:1:2::/64");
	r->http.tried = r->http.answered = 1;
	r->http.status = 200;
	snprintf(r->http.reason, sizeof(r->http.reason), "OK");
	snprintf(r->http.server, sizeof(r->http.server), "Microsoft-HTTPAPI/2.0");
	r->http.looks_iphttps = 1;
	r->link.tried = r->link.rs_sent = r->link.ra = 1;
	r->link.info.has_prefix = 1;
	r->link.info.prefix_len = 64;
	good_hs(&r->null_chk, 0x003b);
	good_hs(&r->enc_chk, 0x003d);
	r->null_suites = r->enc_suites = PSU_ACCEPTED;
	return r;
}

/* Takes a check; the server refused its ClientHello with handshake_failure. */
static void refuse(struct probe_hs *hs)
{
	struct diag_facts *f = &hs->f;

	hs->ok = 0;
	f->saw_server_hello = f->handshake_done = 0;
	f->ch.suites[0] = 0x003b;
	f->ch.suites[1] = 0x0002;
	f->last_hs = TLSP_HS_CLIENT_HELLO;
	f->last_hs_side = DIAG_CLIENT;
	f->alert[DIAG_SERVER].seen = 1;
	f->alert[DIAG_SERVER].level = 2;
	f->alert[DIAG_SERVER].desc = TLSP_AL_HANDSHAKE_FAILURE;
	f->alert[DIAG_SERVER].after_hs = TLSP_HS_CLIENT_HELLO;
	f->alert[DIAG_SERVER].after_side = DIAG_CLIENT;
	f->first_close = DIAG_SERVER;
}

static void test_all_good(void **state)
{
	struct probe_result *r = good(PROBE_WINDOWS10);

	probe_decide(&opts, r);
	assert_int_equal(r->v.result, DIAG_OK);
	assert_int_equal(r->v.code, IPH_OK);
	assert_non_null(strstr(r->v.evidence, "2001:db8:1:2::/64"));
	assert_non_null(strstr(r->v.evidence, "Microsoft-HTTPAPI/2.0"));
	free(r);
}

/* windows10: the profile's own handshake is the null-only first attempt of
 * a Windows 8+ client (iphlpsvc.dll IpTlsStartClient); refused with an
 * alert, it is the verdict, as its TLS step (no contradiction between the
 * two).  Windows 7 (TLS 1.2 enabled) meets encrypted suites only: the
 * refused null suites are a note. */
static void test_null_refused_by_profile(void **state)
{
	struct probe_result *r = good(PROBE_WINDOWS10);

	refuse(&r->main);
	r->main.code = IPH_E_ILLEGAL_MESSAGE;
	refuse(&r->null_chk);
	r->null_suites = PSU_REFUSED;
	snprintf(r->left_out, sizeof(r->left_out), "the null suites are refused.");
	probe_decide(&opts, r);
	assert_int_equal(r->v.result, DIAG_FAIL);
	assert_int_equal(r->v.code, IPH_E_ILLEGAL_MESSAGE);
	assert_string_equal(r->v.summary, "no common cipher suite");
	assert_int_equal(r->v.code, r->main.code);
	free(r);
	r = good(PROBE_WINDOWS7_TLS12);
	opts.profile = PROBE_WINDOWS7_TLS12;
	refuse(&r->null_chk);
	r->null_suites = PSU_REFUSED;
	snprintf(r->left_out, sizeof(r->left_out), "the null suites are refused.");
	probe_decide(&opts, r);
	assert_int_equal(r->v.result, DIAG_OK);
	assert_non_null(strstr(r->v.notes, "Cipher suites: the null suites are refused."));
	free(r);
}

static void test_resolve_and_tcp(void **state)
{
	struct probe_result *r = good(PROBE_LINUX);

	r->resolved = 0;
	r->resolve_code = IPH_E_HOST_NOT_FOUND;
	snprintf(r->resolve_why, sizeof(r->resolve_why), "da.example.test: Name or service not known");
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_HOST_NOT_FOUND);
	assert_non_null(strstr(r->v.evidence, "Name or service not known"));

	r->resolved = 1;
	r->use_addr = -1;
	r->addrs[0].tcp = PT_REFUSED;
	diag_facts_init(&r->tcp_facts);
	r->tcp_facts.saw_syn = r->tcp_facts.rst_to_syn = 1;
	snprintf(r->tcp_facts.server, sizeof(r->tcp_facts.server), "203.0.113.2:443");
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_CONNREFUSED);

	r->addrs[0].tcp = PT_UNREACH;
	r->addrs[0].err = 113;
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_TIMEDOUT);
	assert_string_equal(r->v.summary, "no route to the server");
	free(r);
}

static void test_one_address_of_two_fails(void **state)
{
	struct probe_result *r = good(PROBE_LINUX);

	r->n_addrs = 2;
	r->addrs[1].tcp = PT_TIMEOUT;
	probe_decide(&opts, r);
	assert_int_equal(r->v.result, DIAG_OK);
	assert_non_null(strstr(r->v.notes, "1 of the 2 addresses"));
	free(r);
}

static void test_name_mismatch(void **state)
{
	struct probe_result *r = good(PROBE_WINDOWS7);
	struct diag_facts *f = &r->main.f;

	/* the client's own alert after the server's Certificate */
	r->main.ok = 0;
	r->main.code = IPH_E_NO_MORE_ITEMS;
	r->main.verify_result = 62;
	snprintf(r->main.why, sizeof(r->main.why), "the server certificate does not cover the host");
	f->handshake_done = f->saw_response = f->saw_request = f->app_readable = 0;
	f->alert[DIAG_CLIENT].seen = 1;
	f->alert[DIAG_CLIENT].level = 2;
	f->alert[DIAG_CLIENT].desc = TLSP_AL_BAD_CERTIFICATE;
	f->alert[DIAG_CLIENT].after_hs = TLSP_HS_CERTIFICATE;
	f->alert[DIAG_CLIENT].after_side = DIAG_SERVER;
	f->first_close = DIAG_CLIENT;
	r->chain.seen = 1;
	r->chain.n = 1;
	snprintf(r->chain.certs[0].subject, TLSP_NAME_LEN, "CN=www.other.test");
	snprintf(r->chain.certs[0].san, TLSP_NAME_LEN, "www.other.test");
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_NO_MORE_ITEMS);
	assert_string_equal(r->v.summary, "name mismatch");
	assert_non_null(strstr(r->v.evidence, "www.other.test"));
	free(r);
}

static void test_inspection(void **state)
{
	struct probe_result *r = good(PROBE_LINUX);

	opts.expect_issuer = "Contoso Root";
	r->chain.seen = 1;
	r->chain.n = 1;
	r->chain.trusted = 1;
	r->chain.issuer_checked = 1;
	snprintf(r->chain.certs[0].subject, TLSP_NAME_LEN, "CN=da.example.test");
	snprintf(r->chain.certs[0].issuer, TLSP_NAME_LEN, "CN=Firewall Inspection CA");
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_ILLEGAL_MESSAGE);
	assert_non_null(strstr(r->v.summary, "TLS inspection"));
	assert_non_null(strstr(r->v.evidence, "Firewall Inspection CA"));
	r->chain.trusted = 0;
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_UNTRUSTED_ROOT);
	r->chain.issuer_ok = 1;
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_OK);
	free(r);
}

static void test_ip_literal(void **state)
{
	struct probe_result *r = good(PROBE_WINDOWS10);

	r->url.host_is_ip = 1;
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_E_INVALID_URL);
	opts.profile = r->profile = PROBE_LINUX;
	probe_decide(&opts, r);
	assert_int_equal(r->v.code, IPH_OK);
	assert_non_null(strstr(r->v.notes, "0x4be"));
	free(r);
}

static void test_no_link_and_no_ra(void **state)
{
	struct probe_result *r = good(PROBE_LINUX);

	r->main.f.saw_ra = r->main.f.ra_has_prefix = 0;
	r->main.f.v6_packets[1] = 0;
	r->link.ra = 0;
	snprintf(r->link.why, sizeof(r->link.why), "no Router Advertisement within 2000 ms");
	probe_decide(&opts, r);
	assert_int_equal(r->v.result, DIAG_OK);
	assert_non_null(strstr(r->v.evidence, "no Router Advertisement within 2000 ms"));
	assert_non_null(strstr(r->v.notes, "No Router Advertisement"));
	opts.no_link = 1;
	r->link.tried = 0;
	probe_decide(&opts, r);
	assert_null(strstr(r->v.notes, "No Router Advertisement"));
	assert_non_null(strstr(r->v.evidence, "--no-link"));
	free(r);
}

static void test_steps_and_json(void **state)
{
	struct probe_result *r = good(PROBE_WINDOWS10);
	struct psteps *l = malloc(sizeof(*l));
	struct json_object *doc, *x;

	assert_non_null(l);
	r->addrs[0].ms = 0.5;
	probe_decide(&opts, r);
	probe_steps(&opts, r, l);
	assert_true(l->n >= 5);
	assert_string_equal(l->s[0].name, "resolve");
	assert_non_null(strstr(l->s[0].text, "203.0.113.2"));
	assert_string_equal(l->s[1].name, "tcp");
	assert_string_equal(l->s[2].name, "tls");
	assert_int_equal(l->s[2].status, PS_OK);
	assert_string_equal(l->s[l->n - 1].name, "link");
	doc = probe_json(&opts, r);
	assert_non_null(doc);
	assert_true(json_object_object_get_ex(doc, "verdict", &x));
	assert_true(json_object_object_get_ex(x, "code", &x));
	assert_string_equal(json_object_get_string(x), "0x0");
	assert_true(json_object_object_get_ex(doc, "steps", &x));
	assert_int_equal(json_object_array_length(x), l->n);
	json_object_put(doc);
	free(l);
	free(r);
}

static void test_helpers(void **state)
{
	enum probe_profile p;
	char q[64], buf[16] = "ab";

	assert_int_equal(probe_profile_parse("windows7", &p), 0);
	assert_int_equal(p, PROBE_WINDOWS7);
	assert_int_equal(probe_profile_parse("windows", &p), -1);
	assert_string_equal(probe_profile_name(PROBE_LINUX), "linux");
	probe_quote(q, sizeof(q), (const uint8_t *)"HTTP/1.1 400\r\n\x01\"", 16);
	assert_string_equal(q, "HTTP/1.1 400\\r\\n\\x01\\x22");
	probe_quote(q, 8, (const uint8_t *)"0123456789", 10);
	assert_true(strlen(q) < 8);
	probe_cat(buf, sizeof(buf), "%s", "cdefghijklmnopqrstuvwxyz");
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_good),
		cmocka_unit_test(test_null_refused_by_profile),
		cmocka_unit_test(test_resolve_and_tcp),
		cmocka_unit_test(test_one_address_of_two_fails),
		cmocka_unit_test(test_name_mismatch),
		cmocka_unit_test(test_inspection),
		cmocka_unit_test(test_ip_literal),
		cmocka_unit_test(test_no_link_and_no_ra),
		cmocka_unit_test(test_steps_and_json),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
