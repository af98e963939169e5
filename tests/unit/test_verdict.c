/* Unit tests of the verdicts (src/diag/verdict.h): each rule of the
 * troubleshooting catalogue from the facts it reads, and two captures built
 * here and analysed end to end (src/diag/trace.h): a TLS 1.3 client that
 * refuses the server with an encrypted alert, and IP-HTTPS over plain HTTP
 * with a Router Solicitation and Advertisement built by wire/nd.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag/trace.h"
#include "diag/verdict.h"
#include "errors.h"
#include "wire/nd.h"

static struct diag_facts *facts(void)
{
	static struct diag_facts f;

	diag_facts_init(&f);
	snprintf(f.client, sizeof(f.client), "192.0.2.2:50000");
	snprintf(f.server, sizeof(f.server), "192.0.2.1:443");
	f.when = 1700000000;
	return &f;
}

/* facts after a TCP handshake and a ClientHello offering a Windows 10-like
 * list (19 encrypted suites and the two null ones). */
static struct diag_facts *after_hello(void)
{
	struct diag_facts *f = facts();

	f->saw_syn = f->saw_synack = 1;
	f->syns = 1;
	f->bytes[0] = 200;
	f->saw_client_hello = 1;
	f->ch.max_version = 0x0303;
	f->ch.n_suites = f->ch.n_stored = 21;
	for (int i = 0; i < 19; i++)
		f->ch.suites[i] = (uint16_t)(0xC000 + 0x23 + i);
	f->ch.suites[19] = 0x003B;
	f->ch.suites[20] = 0x0002;
	f->ch.has_sni = 1;
	snprintf(f->ch.sni, sizeof(f->ch.sni), "da.example.com");
	f->last_hs = 1;
	f->last_hs_side = DIAG_CLIENT;
	return f;
}

static void server_hello(struct diag_facts *f, uint16_t version, uint16_t suite)
{
	f->saw_server_hello = 1;
	f->sh.version = version;
	f->sh.suite = suite;
	f->bytes[1] = 3000;
	f->last_hs = 14;
	f->last_hs_side = DIAG_SERVER;
}

static void alert(struct diag_facts *f, int side, uint8_t desc)
{
	f->alert[side].seen = 1;
	f->alert[side].level = 2;
	f->alert[side].desc = desc;
	f->alert[side].after_hs = f->last_hs;
	f->alert[side].after_side = f->last_hs_side;
}

static void handshake_done(struct diag_facts *f, uint16_t suite)
{
	server_hello(f, 0x0303, suite);
	f->ccs[0] = f->ccs[1] = f->finished[0] = f->finished[1] = 1;
	f->handshake_done = 1;
}

static const struct diag_verdict *decide(const struct diag_facts *f)
{
	static struct diag_verdict v;

	diag_decide(f, &v);
	assert_true(v.summary[0] != '\0');
	assert_true(v.cause[0] != '\0');
	assert_true(v.evidence[0] != '\0');
	assert_true(v.fix[0] != '\0');
	return &v;
}

#define assert_has(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("\"%s\" not in \"%s\"", (needle), (hay)); \
} while (0)

/* ---- TCP ---- */

static void test_tcp(void **state)
{
	struct diag_facts *f = facts();
	const struct diag_verdict *v;

	(void)state;
	f->saw_syn = 1;
	f->syns = 3;
	f->syn_span = 3.0;
	v = decide(f);
	assert_int_equal(v->result, DIAG_FAIL);
	assert_int_equal(v->code, IPH_E_TIMEDOUT);
	assert_has(v->evidence, "3 SYNs over 3.0 s");
	f->rst_to_syn = 1;
	f->rst[1] = 1;
	f->first_close = DIAG_SERVER;
	f->first_close_rst = 1;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_CONNREFUSED);
	assert_has(v->evidence, "192.0.2.1:443 answered the client's SYN with RST");
	f->rst_to_syn = 0;
	f->saw_synack = 1;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_CONNRESET);
	assert_has(v->evidence, "before the client's ClientHello");
	f->first_close_rst = 0;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_CLOSED);
	f->first_close = DIAG_NONE;
	v = decide(f);
	assert_int_equal(v->result, DIAG_UNKNOWN);
}

static void test_midstream(void **state)
{
	struct diag_facts *f = facts();
	const struct diag_verdict *v;

	(void)state;
	f->midstream = 1;
	f->bytes[0] = 500;
	f->bytes[1] = 900;
	f->not_tls[1] = 1;
	v = decide(f);
	assert_int_equal(v->result, DIAG_UNKNOWN);
	assert_has(v->evidence, "inside a TLS record");
	f->not_tls[1] = 0;
	f->appdata_records[0] = 2;
	f->appdata_records[1] = 3;
	v = decide(f);
	assert_int_equal(v->result, DIAG_OK);
	assert_string_equal(v->summary, "link probably up (already open)");
}

/* ---- right after the ClientHello ---- */

static void test_no_common_suite(void **state)
{
	struct diag_facts *f = after_hello();
	const struct diag_verdict *v;

	(void)state;
	alert(f, DIAG_SERVER, 40);
	v = decide(f);
	assert_int_equal(v->code, IPH_E_ILLEGAL_MESSAGE);
	assert_string_equal(v->summary, "no common cipher suite");
	assert_has(v->evidence, "server sent fatal alert handshake_failure (40) right after the ClientHello, "
		   "which offered 21 suites incl. TLS_RSA_WITH_NULL_SHA256 and TLS_RSA_WITH_NULL_SHA");
	assert_has(v->cause, "TLS_RSA_WITH_NULL_SHA256 and TLS_RSA_WITH_NULL_SHA are not enabled");
	assert_has(v->fix, "--null-encryption");
	/* a Windows 7-like list: no null suite */
	f->ch.suites[19] = 0x002F;
	f->ch.suites[20] = 0x0035;
	v = decide(f);
	assert_has(v->evidence, "none of them a null suite");
	assert_has(v->cause, "accepts none of the offered cipher suites");
	/* no common version */
	alert(f, DIAG_SERVER, 70);
	v = decide(f);
	assert_string_equal(v->summary, "no common TLS version");
	/* a warning alert that did not end the handshake is not the cause */
	f = after_hello();
	f->alert[1].seen = 1;
	f->alert[1].level = 1;
	f->alert[1].desc = 112;
	v = decide(f);
	assert_int_equal(v->result, DIAG_UNKNOWN);
	/* nothing from the server and the client gives up */
	f->alert[1].seen = 0;
	f->fin[0] = 1;
	f->first_close = DIAG_CLIENT;
	f->duration = 30;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_TIMEDOUT);
	assert_string_equal(v->summary, "no answer to the ClientHello");
	/* a reset instead of an alert */
	f = after_hello();
	f->rst[1] = 1;
	f->first_close = DIAG_SERVER;
	f->first_close_rst = 1;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_CONNRESET);
	assert_has(v->evidence, "RST right after the ClientHello");
}

static void test_not_tls(void **state)
{
	struct diag_facts *f = after_hello();
	const struct diag_verdict *v;

	(void)state;
	f->not_tls[1] = 1;
	snprintf(f->not_tls_head[1], sizeof(f->not_tls_head[1]), "HTTP/1.1 400 Bad Request\\r\\n");
	v = decide(f);
	assert_int_equal(v->code, IPH_E_ILLEGAL_MESSAGE);
	assert_has(v->evidence, "\"HTTP/1.1 400 Bad Request\\r\\n\"");
}

/* ---- client certificates ---- */

static void test_client_cert(void **state)
{
	struct diag_facts *f = after_hello();
	const struct diag_verdict *v;

	(void)state;
	server_hello(f, 0x0303, 0x003B);
	f->saw_cert_request = 1;
	f->cr.n_cas = f->cr.n_stored = 1;
	snprintf(f->cr.cas[0], sizeof(f->cr.cas[0]), "CN=Corp Root CA");
	f->client_cert = 0;
	f->last_hs = 16;
	f->last_hs_side = DIAG_CLIENT;
	alert(f, DIAG_SERVER, 40);
	v = decide(f);
	assert_int_equal(v->code, IPH_E_INCOMPLETE_CREDENTIALS);
	assert_has(v->evidence, "CertificateRequest (naming 1 CA: CN=Corp Root CA); the client answered with an empty Certificate; then the server sent fatal alert handshake_failure (40)");
	/* no alert, just a close */
	f->alert[1].seen = 0;
	f->fin[1] = 1;
	f->first_close = DIAG_SERVER;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_INCOMPLETE_CREDENTIALS);
	assert_has(v->evidence, "closed the connection");
	/* the client sent one and the server refused it */
	f->client_cert = 1;
	f->client_leaf_ok = 1;
	snprintf(f->client_leaf.subject, sizeof(f->client_leaf.subject), "CN=laptop1");
	snprintf(f->client_leaf.issuer, sizeof(f->client_leaf.issuer), "CN=Other CA");
	alert(f, DIAG_SERVER, 48);
	v = decide(f);
	assert_int_equal(v->code, IPH_E_ILLEGAL_MESSAGE);
	assert_string_equal(v->summary, "client certificate refused");
	assert_has(v->evidence, "the client sent CN=laptop1, issued by CN=Other CA");
	assert_has(v->evidence, "unknown_ca (48)");
}

/* ---- the client rejects the server ---- */

static void test_client_alerts(void **state)
{
	static const struct { uint8_t desc; uint32_t code; } cases[] = {
		{ 48, IPH_E_UNTRUSTED_ROOT }, { 42, IPH_E_UNTRUSTED_ROOT }, { 45, IPH_E_CERT_EXPIRED },
		{ 46, IPH_E_UNTRUSTED_ROOT }, { 51, IPH_E_ILLEGAL_MESSAGE }, { 47, IPH_E_ILLEGAL_MESSAGE },
	};
	const struct diag_verdict *v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diag_facts *f = after_hello();

		server_hello(f, 0x0303, 0xC030);
		f->saw_server_cert = f->leaf_ok = 1;
		snprintf(f->leaf.subject, sizeof(f->leaf.subject), "CN=da.example.com");
		snprintf(f->leaf.issuer, sizeof(f->leaf.issuer), "CN=Corp Root CA");
		snprintf(f->leaf.san, sizeof(f->leaf.san), "da.example.com");
		f->leaf.not_after = f->when + 365 * 86400;
		alert(f, DIAG_CLIENT, cases[i].desc);
		v = decide(f);
		assert_int_equal(v->code, cases[i].code);
		assert_has(v->evidence, "The client sent fatal alert");
		assert_has(v->evidence, "after the server's ServerHelloDone");
		assert_has(v->evidence, "issuer CN=Corp Root CA");
		assert_string_equal(v->notes, "");
	}
	/* certificate_unknown with an expired certificate: expired */
	{
		struct diag_facts *f = after_hello();

		server_hello(f, 0x0303, 0xC030);
		f->leaf_ok = 1;
		snprintf(f->leaf.subject, sizeof(f->leaf.subject), "CN=da.example.com");
		f->leaf.not_after = f->when - 86400;
		alert(f, DIAG_CLIENT, 46);
		v = decide(f);
		assert_int_equal(v->code, IPH_E_CERT_EXPIRED);
		assert_has(v->notes, "expired on 2023-11-13");
	}
	/* TLS 1.3: an encrypted record of an alert's size */
	{
		struct diag_facts *f = after_hello();

		server_hello(f, 0x0304, 0x1302);
		f->alert[0].seen = f->alert[0].encrypted = f->alert[0].guessed = 1;
		f->alert[0].after_hs = TLSP_HS_ENCRYPTED;
		f->alert[0].after_side = DIAG_SERVER;
		v = decide(f);
		assert_int_equal(v->code, IPH_E_UNTRUSTED_ROOT);
		assert_has(v->cause, "TLS 1.3 hides which alert");
	}
	/* close_notify is no rejection */
	{
		struct diag_facts *f = after_hello();

		server_hello(f, 0x0303, 0xC030);
		alert(f, DIAG_CLIENT, 0);
		f->fin[0] = 1;
		f->first_close = DIAG_CLIENT;
		v = decide(f);
		assert_string_equal(v->summary, "client gave up the handshake");
	}
}

/* ---- after the handshake ---- */

static void test_http(void **state)
{
	struct diag_facts *f = after_hello();
	const struct diag_verdict *v;

	(void)state;
	handshake_done(f, 0x003B);
	f->app_readable = 1;
	f->saw_request = 1;
	snprintf(f->method, sizeof(f->method), "POST");
	snprintf(f->path, sizeof(f->path), "/IPHTTPS");
	f->saw_response = 1;
	f->status = 404;
	snprintf(f->reason, sizeof(f->reason), "Not Found");
	snprintf(f->http_server, sizeof(f->http_server), "Apache");
	v = decide(f);
	/* Windows' code: 0x80190000 | status (WebReceiveResponseCompletion) */
	assert_int_equal(v->code, 0x80190194u);
	assert_has(v->evidence, "POST /IPHTTPS answered 404 Not Found (Server: Apache)");
	f->status = 204;
	v = decide(f);
	assert_int_equal(v->code, 0x801900ccu);   /* only exactly 200 is success */
	assert_has(v->cause, "only 200");
	f->status = 302;
	snprintf(f->location, sizeof(f->location), "https://portal/");
	v = decide(f);
	assert_int_equal(v->code, 0x8019012eu);
	assert_has(v->cause, "redirect");
	assert_has(v->evidence, "Location: https://portal/");
	f->status = 200;
	snprintf(f->reason, sizeof(f->reason), "OK");
	f->v6_packets[0] = 1;
	f->v6_packets[1] = 2;
	f->saw_rs = f->saw_ra = f->ra_has_prefix = 1;
	snprintf(f->ra_prefix, sizeof(f->ra_prefix), "2001:db8:1:2::/64");
	v = decide(f);
	assert_int_equal(v->result, DIAG_OK);
	assert_int_equal(v->code, IPH_OK);
	assert_has(v->evidence, "Router Advertisement seen with prefix 2001:db8:1:2::/64");
	f->saw_ra = 0;
	v = decide(f);
	assert_int_equal(v->result, DIAG_OK);
	assert_has(v->notes, "No Router Advertisement");
	f->v6_error[1] = 1;
	snprintf(f->v6_error_text, sizeof(f->v6_error_text), "server: not IPv6");
	v = decide(f);
	assert_int_equal(v->code, IPH_E_PROTOCOL);
	/* the POST never answered */
	f->saw_response = 0;
	f->v6_error[1] = 0;
	v = decide(f);
	assert_int_equal(v->result, DIAG_UNKNOWN);
	f->rst[1] = 1;
	f->first_close = DIAG_SERVER;
	f->first_close_rst = 1;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_CONNRESET);
}

static void test_encrypted(void **state)
{
	struct diag_facts *f = after_hello();
	const struct diag_verdict *v;

	(void)state;
	handshake_done(f, 0xC030);
	f->appdata_records[0] = 3;
	f->appdata_records[1] = 5;
	v = decide(f);
	assert_int_equal(v->result, DIAG_OK);
	assert_string_equal(v->summary, "link probably up (encrypted)");
	assert_has(v->evidence, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	f->appdata_records[1] = 0;
	f->fin[1] = 1;
	f->first_close = DIAG_SERVER;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_CLOSED);
	/* TLS 1.3: an alert-sized record after the client's Finished, then the end */
	f = after_hello();
	server_hello(f, 0x0304, 0x1301);
	f->handshake_done = 1;
	f->alert[1].seen = f->alert[1].encrypted = f->alert[1].guessed = 1;
	f->fin[1] = 1;
	f->first_close = DIAG_SERVER;
	v = decide(f);
	assert_int_equal(v->code, IPH_E_INCOMPLETE_CREDENTIALS);
}

static void test_notes(void **state)
{
	struct diag_facts *f = after_hello();
	const struct diag_verdict *v;

	(void)state;
	handshake_done(f, 0xC030);
	f->appdata_records[0] = f->appdata_records[1] = 1;
	f->leaf_ok = 1;
	snprintf(f->leaf.subject, sizeof(f->leaf.subject), "CN=www.other.com");
	snprintf(f->leaf.san, sizeof(f->leaf.san), "www.other.com,other.com");
	f->leaf.self_signed = 1;
	f->leaf.not_after = f->when + 10 * 86400;
	f->gap_bytes[0] = 100;
	v = decide(f);
	assert_has(v->notes, "does not name da.example.com");
	assert_has(v->notes, "self-signed");
	assert_has(v->notes, "within 30 days");
	assert_has(v->notes, "lacks 100 bytes");
	snprintf(f->leaf.san, sizeof(f->leaf.san), "*.example.com");
	f->leaf.self_signed = 0;
	f->leaf.not_after = f->when + 100 * 86400;
	f->gap_bytes[0] = 0;
	v = decide(f);
	assert_string_equal(v->notes, "");
	snprintf(f->leaf.san, sizeof(f->leaf.san), "*.com");
	f->leaf.subject[0] = '\0';
	v = decide(f);
	assert_has(v->notes, "does not name");
}

/* ---- end to end through the capture analysis ---- */

struct pw {
	pcap_t *p;
	pcap_dumper_t *d;
	long usec;
	uint32_t seq[2];
	char path[64];
};

static void pw_open(struct pw *w)
{
	int fd;

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "/tmp/test_verdict.XXXXXX");
	fd = mkstemp(w->path);
	assert_true(fd >= 0);
	close(fd);
	w->p = pcap_open_dead(DLT_RAW, 65535);
	w->d = pcap_dump_open(w->p, w->path);
	assert_non_null(w->d);
	w->seq[0] = 1000;
	w->seq[1] = 5000;
}

/* A raw IPv4 TCP segment between 192.0.2.2:40000 and 192.0.2.1:443. */
static void pw_seg(struct pw *w, int from_server, uint8_t flags, const void *data, size_t len)
{
	uint8_t b[20000] = { 0x45 };
	struct pcap_pkthdr h;
	uint8_t *t = b + 20;
	uint32_t seq = w->seq[from_server], ack = w->seq[!from_server];

	assert_true(len + 40 <= sizeof(b));
	b[2] = (uint8_t)((40 + len) >> 8);
	b[3] = (uint8_t)(40 + len);
	b[8] = 64;
	b[9] = 6;
	inet_pton(AF_INET, from_server ? "192.0.2.1" : "192.0.2.2", b + 12);
	inet_pton(AF_INET, from_server ? "192.0.2.2" : "192.0.2.1", b + 16);
	t[0] = from_server ? 443 >> 8 : 40000 >> 8;
	t[1] = from_server ? 443 & 255 : 40000 & 255;
	t[2] = from_server ? 40000 >> 8 : 443 >> 8;
	t[3] = from_server ? 40000 & 255 : 443 & 255;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 5 << 4;
	t[13] = flags;
	if (len)
		memcpy(t + 20, data, len);
	w->usec += 1000;
	h.ts.tv_sec = 1700000000;
	h.ts.tv_usec = w->usec;
	h.caplen = h.len = (bpf_u_int32)(40 + len);
	pcap_dump((u_char *)w->d, &h, b);
	w->seq[from_server] += (uint32_t)len + ((flags & 0x03) ? 1 : 0);
}

static void pw_tcp_open(struct pw *w)
{
	pw_seg(w, 0, 0x02, NULL, 0);
	pw_seg(w, 1, 0x12, NULL, 0);
	pw_seg(w, 0, 0x10, NULL, 0);
}

static void pw_close(struct pw *w)
{
	pw_seg(w, 0, 0x11, NULL, 0);
	pw_seg(w, 1, 0x11, NULL, 0);
	pcap_dump_close(w->d);
	pcap_close(w->p);
}

/* One TLS record of type ct around payload. */
static void pw_record(struct pw *w, int from_server, uint8_t ct, const uint8_t *p, size_t n)
{
	uint8_t r[18000] = { ct, 3, 3, (uint8_t)(n >> 8), (uint8_t)n };

	memcpy(r + 5, p, n);
	pw_seg(w, from_server, 0x18, r, n + 5);
}

static const struct trace_conn *analyse(struct pw *w, struct trace *t)
{
	char err[ERRLEN];

	assert_int_equal(trace_file(w->path, 443, TRACE_KEEP_FACTS, t, err), 0);
	unlink(w->path);
	assert_int_equal(t->n_conns, 1);
	return t->first;
}

static int has_step(const struct trace_conn *tc, const char *text)
{
	for (size_t i = 0; i < tc->n_steps; i++)
		if (strstr(tc->steps[i].text, text))
			return 1;
	return 0;
}

static void test_trace_tls13_refusal(void **state)
{
	static const uint8_t ch[] = {
		1, 0, 0, 52, 3, 3, [6 ... 37] = 7, 0, 0, 2, 0x13, 0x02, 1, 0,
		0, 9, 0, 43, 0, 5, 4, 0x03, 0x04, 0x03, 0x03,
	};
	static const uint8_t sh[] = {
		2, 0, 0, 46, 3, 3, [6 ... 37] = 9, 0, 0x13, 0x02, 0,
		0, 6, 0, 43, 0, 2, 3, 4,
	};
	static const uint8_t ccs[] = { 1 };
	uint8_t junk[300];
	struct pw w;
	struct trace t;
	const struct trace_conn *tc;

	(void)state;
	memset(junk, 0x5c, sizeof(junk));
	pw_open(&w);
	pw_tcp_open(&w);
	pw_record(&w, 0, 22, ch, sizeof(ch));
	pw_record(&w, 1, 22, sh, sizeof(sh));
	pw_record(&w, 1, 20, ccs, 1);
	pw_record(&w, 1, 23, junk, 30);
	pw_record(&w, 1, 23, junk, 280);
	pw_record(&w, 1, 23, junk, 80);
	pw_record(&w, 0, 20, ccs, 1);
	pw_record(&w, 0, 23, junk, 19);
	pw_close(&w);
	tc = analyse(&w, &t);
	assert_int_equal(tc->v.code, IPH_E_UNTRUSTED_ROOT);
	assert_true(tc->f->alert[0].guessed);
	assert_false(tc->f->handshake_done);
	assert_true(tc->f->ch.max_version == 0x0304);
	assert_true(has_step(tc, "encrypted record of 19 bytes: the size of an alert"));
	assert_true(has_step(tc, "encrypted handshake, 3 records"));
	assert_int_equal(t.n_fail, 1);
	trace_free(&t);

	/* the same with a Finished-sized record and data both ways: link probably up */
	pw_open(&w);
	pw_tcp_open(&w);
	pw_record(&w, 0, 22, ch, sizeof(ch));
	pw_record(&w, 1, 22, sh, sizeof(sh));
	pw_record(&w, 1, 23, junk, 280);
	pw_record(&w, 0, 23, junk, 53);
	pw_record(&w, 0, 23, junk, 120);
	pw_record(&w, 1, 23, junk, 90);
	pw_close(&w);
	tc = analyse(&w, &t);
	assert_int_equal(tc->v.result, DIAG_OK);
	assert_true(tc->f->handshake_done);
	assert_int_equal(tc->f->appdata_records[0], 1);
	assert_int_equal(tc->f->appdata_records[1], 1);
	trace_free(&t);
}

/* IP-HTTPS over plain HTTP (behind a TLS-terminating device): the request,
 * the 200 and the RS/RA inside, split across segments. */
static void test_trace_plain_http(void **state)
{
	const char *req = "POST /IPHTTPS HTTP/1.1\r\nHost: da.example.com\r\nContent-Length: 18446744073709551615\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n";
	struct ra_params rp;
	struct in6_addr ll;
	uint8_t rs[128], ra[256], buf[512];
	int rsn, ran;
	size_t n;
	struct pw w;
	struct trace t;
	const struct trace_conn *tc;

	(void)state;
	memset(&rp, 0, sizeof(rp));
	inet_pton(AF_INET6, "fe80::1", &rp.src);
	inet_pton(AF_INET6, "fe80::2", &rp.dst);
	rp.cur_hop_limit = 64;
	rp.router_lifetime = 0;
	rp.has_prefix = 1;
	inet_pton(AF_INET6, "2001:db8:77::", &rp.prefix);
	rp.prefix_len = 64;
	rp.valid_lifetime = 86400;
	rp.preferred_lifetime = 14400;
	rp.mtu = 1280;
	ran = nd_build_ra(ra, sizeof(ra), &rp);
	inet_pton(AF_INET6, "fe80::2", &ll);
	rsn = nd_build_rs(rs, sizeof(rs), &ll);
	assert_true(ran > 40 && rsn > 40);
	pw_open(&w);
	pw_tcp_open(&w);
	n = strlen(req);
	memcpy(buf, req, n);
	memcpy(buf + n, rs, 10);                /* the RS starts in the request's segment */
	pw_seg(&w, 0, 0x18, buf, n + 10);
	pw_seg(&w, 0, 0x18, rs + 10, (size_t)rsn - 10);
	n = strlen(resp);
	memcpy(buf, resp, n);
	memcpy(buf + n, ra, (size_t)ran);
	pw_seg(&w, 1, 0x18, buf, n + (size_t)ran);
	pw_close(&w);
	tc = analyse(&w, &t);
	assert_int_equal(tc->v.result, DIAG_OK);
	assert_true(tc->f->plain_http);
	assert_int_equal(tc->f->status, 200);
	assert_string_equal(tc->f->host, "da.example.com");
	assert_true(tc->f->saw_rs && tc->f->saw_ra);
	assert_string_equal(tc->f->ra_prefix, "2001:db8:77::/64");
	assert_int_equal(tc->f->ra_mtu, 1280);
	assert_has(tc->v.evidence, "Microsoft-HTTPAPI/2.0");
	assert_true(has_step(tc, "plain HTTP (no TLS)"));
	trace_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_no_common_suite),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_client_alerts),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_encrypted),
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_trace_tls13_refusal),
		cmocka_unit_test(test_trace_plain_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
