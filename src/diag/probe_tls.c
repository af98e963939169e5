/* The probe's TLS: the client profiles, a handshake watched on the wire by
 * the capture side's parser (a filter BIO hands it every byte the probe
 * sends and receives), and the facts it gives.  See probe.h, probe_int.h. */
#include "diag/probe_int.h"
#include "errors.h"
#include "tls/tls.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>

/* What Windows 8/10/11 offer in TLS 1.2 (Schannel's default order:
 * Microsoft, TLS Cipher Suites in Windows 10; rgl/tls-dump-clienthello);
 * @SECLEVEL=0 as the null suites need it (Schannel's own key checks are
 * not OpenSSL's levels either).  Their first attempt offers the null
 * suites alone (NULL_ONLY: iphlpsvc.dll IpTlsStartClient sets the null
 * cipher configuration, ../shared/WINDOWS-EVIDENCE.md); after a reset or
 * 0x80090331 the next offers this list at once (WebSendRequestCompletion). */
#define WIN_ENCRYPTED "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:" \
	"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:" \
	"ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:" \
	"ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:" \
	"AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA:" \
	"DES-CBC3-SHA"
#define NULL_SUITES "NULL-SHA256:NULL-SHA"
/* Windows 7 with TLS 1.2 enabled: encrypted suites only, RSA first. */
#define WIN7_LIST "AES128-SHA256:AES128-SHA:AES256-SHA256:AES256-SHA:" \
	"ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:" \
	"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA:@SECLEVEL=0"
#define NULL_ONLY NULL_SUITES ":@SECLEVEL=0"
#define ENC_ONLY WIN_ENCRYPTED ":@SECLEVEL=0"
/* A stock Windows 7: TLS 1.0 and Schannel's suites for it (Microsoft,
 * Cipher Suites in TLS/SSL (Schannel SSP), the Windows 7 list without the
 * TLS 1.2-only suites). */
#define WIN7_TLS10 "AES128-SHA:AES256-SHA:RC4-SHA:DES-CBC3-SHA:" \
	"ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:" \
	"DHE-DSS-AES128-SHA:DHE-DSS-AES256-SHA:EDH-DSS-DES-CBC3-SHA:@SECLEVEL=0"

/* ---- contexts ---- */

/* Takes the options, a cipher list (NULL: the client's own context) and
 * the lowest TLS version (0: 1.2); returns a client context from that
 * version to TLS 1.2 at most with that list, or NULL with err. */
static SSL_CTX *make_ctx(const struct probe_opts *o, const char *list, int min, char *err)
{
	struct tls_client_opts co = {
		.ca_file = o->ca_file, .cert_file = o->cert_file, .key_file = o->key_file,
	};
	SSL_CTX *ctx = tls_client_ctx(&co, err);

	if (!ctx || !list)
		return ctx;
	if ((min && SSL_CTX_set_min_proto_version(ctx, min) != 1) ||
	    SSL_CTX_set_max_proto_version(ctx, min ? min : TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, list) != 1) {
		char why[ERRLEN / 2];

		tls_errstr(why, sizeof(why));
		snprintf(err, ERRLEN, "cannot set the cipher list %s: %s", list, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The profile's handshakes: main, and the one after a retry (or NULL). */
static int profile_ctxs(const struct probe_opts *o, struct probe_ctxs *x, char *err)
{
	switch (o->profile) {
	case PROBE_WINDOWS10:
		x->main = make_ctx(o, NULL_ONLY, 0, err);
		x->fallback = x->main ? make_ctx(o, ENC_ONLY, 0, err) : NULL;
		return x->fallback ? 0 : -1;
	case PROBE_WINDOWS7:
		x->main = make_ctx(o, WIN7_TLS10, TLS1_VERSION, err);
		x->fallback = x->main ? make_ctx(o, WIN7_LIST, 0, err) : NULL;
		return x->fallback ? 0 : -1;
	case PROBE_WINDOWS7_TLS12:
		return (x->main = make_ctx(o, WIN7_LIST, 0, err)) ? 0 : -1;
	default:
		return (x->main = make_ctx(o, NULL, 0, err)) ? 0 : -1;
	}
}

enum probe_retry probe_retry_for(enum probe_profile p, const struct probe_hs *hs)
{
	if (!hs->tcp_ok || hs->ok || probe_failed_on_cert(hs))
		return PR_NONE;
	/* Windows' retry list: 0x80090331, 1225, 10054 (not an alert) */
	if (p == PROBE_WINDOWS10 && (hs->code == IPH_E_CONNRESET || hs->code == IPH_E_ALGORITHM_MISMATCH ||
				     hs->code == IPH_E_CONNECTION_REFUSED))
		return PR_NULL_FALLBACK;
	/* not Windows 7's doing: when a TLS server refused the TLS 1.0 hello
	 * (an alert, a close, or a ServerHello of another version), the probe
	 * looks again as a Windows 7 with TLS 1.2 enabled */
	if (p == PROBE_WINDOWS7 && !hs->f.handshake_done && !hs->f.not_tls[DIAG_SERVER] &&
	    (hs->f.alert[DIAG_SERVER].seen || hs->f.first_close == DIAG_SERVER ||
	     (hs->f.saw_server_hello && hs->f.sh.version != TLSP_V_TLS10)))
		return PR_WIN7_TLS12;
	return PR_NONE;
}

int probe_tls_ctxs(const struct probe_opts *o, struct probe_ctxs *x, char *err)
{
	memset(x, 0, sizeof(*x));
	if (profile_ctxs(o, x, err) < 0 ||
	    !(x->null_only = make_ctx(o, NULL_ONLY, 0, err)) ||
	    !(x->enc_only = make_ctx(o, ENC_ONLY, 0, err))) {
		probe_tls_ctxs_free(x);
		return -1;
	}
	return 0;
}

void probe_tls_ctxs_free(struct probe_ctxs *x)
{
	SSL_CTX_free(x->main);
	SSL_CTX_free(x->fallback);
	SSL_CTX_free(x->null_only);
	SSL_CTX_free(x->enc_only);
	memset(x, 0, sizeof(*x));
}

/* ---- what the wire shows ---- */

/* Takes the tap and a direction; appends a message name to the messages
 * line, opening "C: " or "S: " when the direction changes. */
static void msg_add(struct probe_tap *t, int dir, const char *name)
{
	struct probe_hs *hs = t->hs;

	if (t->last_dir != dir)
		probe_cat(hs->msgs, sizeof(hs->msgs), "%s%s: %s", hs->msgs[0] ? " | " : "",
			  dir == TLSP_C2S ? "C" : "S", name);
	else
		probe_cat(hs->msgs, sizeof(hs->msgs), ", %s", name);
	t->last_dir = dir;
}

/* A parsed handshake message: into the facts. */
static void on_parsed(struct probe_tap *t, const struct tlsp_event *ev)
{
	struct diag_facts *f = &t->hs->f;
	const struct tlsp_certificate *cert;

	switch (ev->hs_type) {
	case TLSP_HS_CLIENT_HELLO:
		if (!f->saw_client_hello) {
			f->saw_client_hello = 1;
			f->ch = *ev->msg.ch;
		}
		break;
	case TLSP_HS_SERVER_HELLO:
		if (ev->msg.sh->hrr) {
			f->hrr = 1;
			break;
		}
		f->saw_server_hello = 1;
		f->sh = *ev->msg.sh;
		break;
	case TLSP_HS_CERTIFICATE:
		cert = ev->msg.cert;
		if (ev->dir == TLSP_C2S) {
			f->client_cert = cert->n_certs > 0;
			if (cert->n_stored && cert->certs[0].subject[0]) {
				f->client_leaf = cert->certs[0];
				f->client_leaf_ok = 1;
			}
		} else {
			f->saw_server_cert = 1;
			f->n_server_certs = cert->n_certs;
			if (cert->n_stored && cert->certs[0].subject[0]) {
				f->leaf = cert->certs[0];
				f->leaf_ok = 1;
			}
		}
		break;
	case TLSP_HS_CERTIFICATE_REQUEST:
		f->saw_cert_request = 1;
		f->cr = *ev->msg.cr;
		break;
	}
}

/* A handshake message of either side. */
static void on_handshake(struct probe_tap *t, const struct tlsp_event *ev)
{
	struct diag_facts *f = &t->hs->f;
	const char *name = tlsp_hs_name(ev->hs_type);

	f->last_hs = ev->hs_type;
	f->last_hs_side = ev->dir == TLSP_C2S ? DIAG_CLIENT : DIAG_SERVER;
	if (f->ccs[ev->dir] && (ev->hs_type == TLSP_HS_FINISHED || ev->hs_type == TLSP_HS_ENCRYPTED))
		f->finished[ev->dir] = 1;
	if (ev->msg.ch && !ev->oversized && !ev->parse_failed)
		on_parsed(t, ev);
	if (ev->hs_type == TLSP_HS_ENCRYPTED)
		name = "Finished (encrypted)";
	if (ev->hs_type == TLSP_HS_SERVER_HELLO && f->hrr)
		name = "HelloRetryRequest";
	msg_add(t, ev->dir, name ? name : "handshake message");
}

/* An alert: the first of each side goes into the facts. */
static void on_alert(struct probe_tap *t, const struct tlsp_event *ev)
{
	struct diag_facts *f = &t->hs->f;
	struct diag_alert *a = &f->alert[ev->dir];
	const char *name = tlsp_alert_name(ev->alert_desc);
	char buf[80];

	if (!a->seen) {
		a->seen = 1;
		a->encrypted = ev->encrypted;
		a->level = ev->alert_level;
		a->desc = ev->alert_desc;
		a->after_hs = f->last_hs;
		a->after_side = f->last_hs_side;
	}
	if (ev->encrypted)
		snprintf(buf, sizeof(buf), "Alert (encrypted)");
	else
		snprintf(buf, sizeof(buf), "Alert %s %s (%u)", ev->alert_level == 2 ? "fatal" : "warning",
			 name ? name : "unknown", ev->alert_desc);
	msg_add(t, ev->dir, buf);
}

/* The parser's callback: one event of the probe's own connection. */
static void wire_event(void *arg, const struct tlsp_event *ev)
{
	struct probe_tap *t = arg;
	struct diag_facts *f = &t->hs->f;
	int dir = ev->dir;

	switch (ev->type) {
	case TLSP_EV_HANDSHAKE:
		on_handshake(t, ev);
		break;
	case TLSP_EV_CCS:
		f->ccs[dir] = 1;
		msg_add(t, dir, "ChangeCipherSpec");
		break;
	case TLSP_EV_ALERT:
		on_alert(t, ev);
		break;
	case TLSP_EV_APPDATA:
		if (ev->record_start)
			f->appdata_records[dir]++;
		f->appdata_bytes[dir] += ev->len;
		break;
	case TLSP_EV_ENCRYPTED:
		/* TLS 1.3: the server's flight until the client's first
		 * encrypted record (its Finished) */
		if (!t->enc[dir]++ && (dir == TLSP_C2S || !t->enc[TLSP_C2S]))
			msg_add(t, dir, dir == TLSP_C2S ? "encrypted records" : "encrypted handshake");
		if (dir == TLSP_S2C && !t->enc[TLSP_C2S]) {
			f->last_hs = TLSP_HS_ENCRYPTED;
			f->last_hs_side = DIAG_SERVER;
		}
		break;
	case TLSP_EV_NOT_TLS:
		f->not_tls[dir] = 1;
		probe_quote(f->not_tls_head[dir], sizeof(f->not_tls_head[0]), ev->data, ev->len);
		msg_add(t, dir, "bytes that are not TLS");
		break;
	case TLSP_EV_ERROR:
		f->tls_error[dir] = 1;
		snprintf(f->tls_error_text[dir], sizeof(f->tls_error_text[0]), "%s", ev->why);
		msg_add(t, dir, "malformed TLS");
		break;
	}
}

/* ---- the filter BIO that hands the bytes to the parser ---- */

/* Takes the tap, a direction and bytes; counts and parses them (errno is
 * kept: the socket's error is the caller's evidence). */
static void tap_feed(struct probe_tap *t, enum tlsp_dir dir, const void *p, size_t n)
{
	int saved = errno;

	if (dir == TLSP_S2C && t->head_len < sizeof(t->head)) {
		size_t k = n < sizeof(t->head) - t->head_len ? n : sizeof(t->head) - t->head_len;

		memcpy(t->head + t->head_len, p, k);
		t->head_len += k;
	}
	t->hs->f.bytes[dir] += n;
	tlsp_feed(&t->tp, dir, p, n);
	errno = saved;
}

/* The tap's BIO methods: write/read pass the bytes to the socket BIO below
 * and hand what moved to the parser (return and retry flags as the socket
 * BIO's); ctrl passes through; create marks the BIO ready. */
static int tee_write(BIO *b, const char *data, size_t len, size_t *written)
{
	BIO *next = BIO_next(b);
	int rc;

	if (!next)
		return 0;
	BIO_clear_retry_flags(b);
	rc = BIO_write_ex(next, data, len, written);
	BIO_copy_next_retry(b);
	if (rc > 0 && *written)
		tap_feed(BIO_get_data(b), TLSP_C2S, data, *written);
	return rc;
}

static int tee_read(BIO *b, char *data, size_t len, size_t *got)
{
	BIO *next = BIO_next(b);
	int rc;

	if (!next)
		return 0;
	BIO_clear_retry_flags(b);
	rc = BIO_read_ex(next, data, len, got);
	BIO_copy_next_retry(b);
	if (rc > 0 && *got)
		tap_feed(BIO_get_data(b), TLSP_S2C, data, *got);
	return rc;
}

static long tee_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	BIO *next = BIO_next(b);

	return next ? BIO_ctrl(next, cmd, num, ptr) : 0;
}

static int tee_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* The method, made once (the probe runs in one thread); NULL on no memory. */
static BIO_METHOD *tee_method(void)
{
	static BIO_METHOD *m;

	if (m)
		return m;
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "iphttps probe tap");
	if (!m)
		return NULL;
	BIO_meth_set_write_ex(m, tee_write);
	BIO_meth_set_read_ex(m, tee_read);
	BIO_meth_set_ctrl(m, tee_ctrl);
	BIO_meth_set_create(m, tee_create);
	return m;
}

/* Takes a connection whose SSL was just made on its fd; puts the tap
 * between the SSL and the socket.  Returns 0 or -1 (no memory). */
static int tap_attach(struct probe_conn *c)
{
	BIO_METHOD *m = tee_method();
	BIO *sock = SSL_get_rbio(c->io.ssl), *tee;

	if (!m || !sock || !(c->tap = calloc(1, sizeof(*c->tap))))
		return -1;
	if (!(tee = BIO_new(m))) {
		free(c->tap);
		c->tap = NULL;
		return -1;
	}
	c->tap->hs = c->hs;
	c->tap->last_dir = -1;
	probe_clock(&c->tap->t0);
	tlsp_init(&c->tap->tp, wire_event, c->tap);
	BIO_set_data(tee, c->tap);
	/* The SSL holds two references to the socket BIO and drops both
	 * when given the tee: keep one for the chain. */
	BIO_up_ref(sock);
	BIO_push(tee, sock);
	SSL_set_bio(c->io.ssl, tee, tee);
	return 0;
}

/* ---- the handshake ---- */

/* Takes the connection after its handshake ended; adds what TLS 1.3 hides
 * on the wire (the client's view from the trace and the SSL). */
static void plaintext_facts(struct probe_conn *c)
{
	struct diag_facts *f = &c->hs->f;
	const struct tls_trace *t = &c->trace;
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->io.ssl);
	STACK_OF(X509_NAME) *cas = SSL_get_client_CA_list(c->io.ssl);

	if (!f->leaf_ok && chain && sk_X509_num(chain) > 0 &&
	    tlsp_cert_info_x509(sk_X509_value(chain, 0), &f->leaf) == 0) {
		f->leaf_ok = 1;
		f->saw_server_cert = 1;
		f->n_server_certs = (size_t)sk_X509_num(chain);
	}
	if (t->cert_request && !f->saw_cert_request) {
		f->saw_cert_request = 1;
		for (int i = 0; cas && i < sk_X509_NAME_num(cas); i++) {
			if (f->cr.n_stored < TLSP_MAX_CAS)
				tls_name_str(sk_X509_NAME_value(cas, i), f->cr.cas[f->cr.n_stored++], TLSP_NAME_LEN);
			f->cr.n_cas++;
		}
	}
	if (t->cert_sent >= 0 && f->client_cert < 0)
		f->client_cert = t->cert_sent;
	if (t->alert_recv_level > 0 && (!f->alert[DIAG_SERVER].seen || f->alert[DIAG_SERVER].encrypted)) {
		struct diag_alert *a = &f->alert[DIAG_SERVER];

		a->seen = 1;
		a->encrypted = a->guessed = 0;
		a->level = (uint8_t)t->alert_recv_level;
		a->desc = (uint8_t)t->alert_recv_desc;
		a->after_hs = t->alert_recv_after;
		a->after_side = t->alert_recv_after_sent ? DIAG_CLIENT : DIAG_SERVER;
	}
	if (t->alert_sent_level > 0 && (!f->alert[DIAG_CLIENT].seen || f->alert[DIAG_CLIENT].encrypted)) {
		struct diag_alert *a = &f->alert[DIAG_CLIENT];

		a->seen = 1;
		a->encrypted = a->guessed = 0;
		a->level = (uint8_t)t->alert_sent_level;
		a->desc = (uint8_t)t->alert_sent_desc;
		a->after_hs = t->last_received >= 0 ? t->last_received : TLSP_HS_ENCRYPTED;
		a->after_side = DIAG_SERVER;
	}
}

/* Takes a connection whose server answered with bytes that are not TLS;
 * OpenSSL read only a record header of them: quote more, as a capture
 * would show (what is waiting on the socket, without blocking). */
static void quote_not_tls(struct probe_conn *c)
{
	struct probe_tap *t = c->tap;
	ssize_t n;

	if (!t || !c->hs->f.not_tls[DIAG_SERVER] || t->head_len >= sizeof(t->head))
		return;
	n = recv(c->io.fd, t->head + t->head_len, sizeof(t->head) - t->head_len, MSG_DONTWAIT);
	if (n > 0)
		t->head_len += (size_t)n;
	probe_quote(c->hs->f.not_tls_head[DIAG_SERVER], sizeof(c->hs->f.not_tls_head[0]), t->head,
		    t->head_len);
}

/* Takes the connection whose handshake failed with code; who closed. */
static void close_facts(struct probe_conn *c, uint32_t code)
{
	struct diag_facts *f = &c->hs->f;

	if (c->trace.alert_sent_level == 2 || code == IPH_E_TIMEDOUT) {
		f->first_close = DIAG_CLIENT;
	} else {
		f->first_close = DIAG_SERVER;
		f->first_close_rst = code == IPH_E_CONNRESET;
		f->rst[DIAG_SERVER] = f->first_close_rst;
		f->fin[DIAG_SERVER] = !f->first_close_rst;
	}
}

/* Takes fd, the SSL_get_error() value and a deadline; waits for the socket.
 * Returns 1 ready, 0 timeout. */
static int wait_ssl(int fd, int e, const struct timespec *t0, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };
	int left, rc;

	do {
		left = timeout_ms - (int)probe_ms_since(t0);
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left);
	} while (rc < 0 && errno == EINTR);
	return rc > 0;
}

int probe_handshake(SSL_CTX *ctx, const struct iph_url *u, int verify, int timeout_ms,
		    struct probe_conn *c)
{
	struct probe_hs *hs = c->hs;
	struct diag_facts *f = &hs->f;
	char err[ERRLEN];
	struct timespec t0;
	int rc, e;

	hs->verify = verify;
	probe_clock(&t0);
	if (!(c->io.ssl = tls_client_ssl(ctx, c->io.fd, u->host, err)) || tap_attach(c) < 0) {
		hs->code = IPH_E_LOCAL;
		snprintf(hs->why, sizeof(hs->why), "cannot set up TLS: %s", c->io.ssl ? "out of memory" : err);
		return -1;
	}
	if (!verify)
		SSL_set_verify(c->io.ssl, SSL_VERIFY_NONE, NULL);
	tls_trace_attach(c->io.ssl, &c->trace);
	ERR_clear_error();
	for (;;) {
		rc = SSL_connect(c->io.ssl);
		if (rc == 1)
			break;
		e = SSL_get_error(c->io.ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			hs->code = tls_classify_failure(c->io.ssl, rc, e, hs->why, sizeof(hs->why));
			break;
		}
		if (!wait_ssl(c->io.fd, e, &t0, timeout_ms)) {
			hs->code = IPH_E_TIMEDOUT;
			snprintf(hs->why, sizeof(hs->why), "the TLS handshake with %s did not complete within %d ms (last message: %s %s)",
				 hs->peer, timeout_ms, c->trace.last_msg_sent ? "sent" : "received",
				 c->trace.last_msg >= 0 ? (tls_hs_name(c->trace.last_msg) ?: "unknown") : "none");
			break;
		}
	}
	hs->ms = probe_ms_since(&t0);
	f->duration = hs->ms / 1000.0;
	hs->verify_result = verify ? SSL_get_verify_result(c->io.ssl) : X509_V_OK;
	plaintext_facts(c);
	if (rc != 1) {
		quote_not_tls(c);
		close_facts(c, hs->code);
		return -1;
	}
	hs->ok = 1;
	hs->code = IPH_OK;
	f->handshake_done = 1;
	tls_describe(c->io.ssl, hs->desc, sizeof(hs->desc));
	return 0;
}

uint32_t probe_tls_late_failure(struct probe_conn *c, int ret, int err, char *why, size_t whylen)
{
	struct diag_facts *f = &c->hs->f;
	uint32_t code = tls_classify_failure(c->io.ssl, ret, err, why, whylen);

	plaintext_facts(c);
	/* A fatal alert before any data from the server: the server refused
	 * the handshake after the client's Finished (TLS 1.3 client
	 * authentication). */
	if (c->trace.alert_recv_level == 2 && !f->appdata_records[DIAG_SERVER] &&
	    c->trace.alert_recv_desc != 0)
		f->handshake_done = 0;
	close_facts(c, code);
	return code;
}

int probe_failed_on_cert(const struct probe_hs *hs)
{
	return hs->tried && hs->verify && hs->tcp_ok && !hs->ok && hs->verify_result != X509_V_OK;
}
