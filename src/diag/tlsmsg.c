/* Parsers of the TLS handshake messages the troubleshooter reads: every
 * length is checked against what is left.  See tlsparse.h. */
#include "diag/tlsparse.h"

#include <stdio.h>
#include <string.h>

/* A bounded reader over one message body. */
struct rd {
	const uint8_t *p;
	size_t left;
	int bad;        /* a read went past the end */
};

/* Take n bytes; returns a pointer to them or NULL (and marks the reader bad). */
static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->left) {
		r->bad = 1;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

/* Read an n-byte big-endian integer (n <= 3); 0 on a short read. */
static uint32_t rd_uint(struct rd *r, size_t n)
{
	const uint8_t *p = rd_take(r, n);
	uint32_t v = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Open a sub-reader over a vector with an n-byte length prefix. */
static struct rd rd_vec(struct rd *r, size_t n)
{
	struct rd sub = { NULL, 0, 0 };
	size_t len = rd_uint(r, n);
	const uint8_t *p = rd_take(r, len);

	if (!p) {
		sub.bad = 1;
		return sub;
	}
	sub.p = p;
	sub.left = len;
	return sub;
}

/* Copy a host name, replacing anything but printable ASCII by '?'. */
static void copy_printable(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	size_t i;

	if (n >= dstlen)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = '\0';
}

/* server_name extension: the first host_name entry. */
static void ch_sni(struct rd ext, struct tlsp_client_hello *ch)
{
	struct rd list = rd_vec(&ext, 2);

	while (!list.bad && list.left > 0) {
		uint32_t type = rd_uint(&list, 1);
		struct rd name = rd_vec(&list, 2);

		if (list.bad || name.bad)
			return;
		if (type == 0 && !ch->has_sni) {
			ch->has_sni = 1;
			copy_printable(ch->sni, sizeof(ch->sni), name.p, name.left);
		}
	}
}

/* supported_versions extension of a ClientHello: a list of 2-byte versions. */
static void ch_versions(struct rd ext, struct tlsp_client_hello *ch)
{
	struct rd list = rd_vec(&ext, 1);

	if (list.bad)
		return;
	ch->has_versions = 1;
	while (list.left >= 2) {
		uint16_t v = (uint16_t)rd_uint(&list, 2);

		if (ch->n_versions < TLSP_MAX_VERSIONS)
			ch->versions[ch->n_versions++] = v;
		/* GREASE values (0x?a?a) are not versions */
		if ((v & 0x0f0f) != 0x0a0a && v > ch->max_version && v <= 0x0304)
			ch->max_version = v;
	}
}

/* Takes a ClientHello body; fills out; returns 0 or -1 with *why. */
int tlsp_parse_client_hello(const uint8_t *b, size_t len, struct tlsp_client_hello *out,
			    const char **why)
{
	struct rd r = { b, len, 0 }, sid, cs, comp, exts;

	memset(out, 0, sizeof(*out));
	out->legacy_version = (uint16_t)rd_uint(&r, 2);
	out->max_version = out->legacy_version;
	rd_take(&r, 32);                /* random */
	sid = rd_vec(&r, 1);
	cs = rd_vec(&r, 2);
	comp = rd_vec(&r, 1);
	if (r.bad || sid.bad || cs.bad || comp.bad || sid.left > 32 ||
	    cs.left % 2 || cs.left == 0 || comp.left == 0) {
		if (why)
			*why = "ClientHello: bad length in the fixed part";
		return -1;
	}
	out->n_suites = cs.left / 2;
	while (cs.left >= 2) {
		uint16_t s = (uint16_t)rd_uint(&cs, 2);

		if (out->n_stored < TLSP_MAX_SUITES)
			out->suites[out->n_stored++] = s;
	}
	if (r.left == 0)
		return 0;               /* no extensions (TLS 1.0 style) */
	exts = rd_vec(&r, 2);
	while (!exts.bad && exts.left > 0) {
		uint32_t type = rd_uint(&exts, 2);
		struct rd ext = rd_vec(&exts, 2);

		if (exts.bad || ext.bad)
			break;
		if (type == 0)
			ch_sni(ext, out);
		else if (type == 43)
			ch_versions(ext, out);
	}
	if (exts.bad) {
		if (why)
			*why = "ClientHello: bad extension length";
		return -1;
	}
	return 0;
}

/* The random of a HelloRetryRequest (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02,
	0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* Takes a ServerHello body; fills out; returns 0 or -1 with *why. */
int tlsp_parse_server_hello(const uint8_t *b, size_t len, struct tlsp_server_hello *out,
			    const char **why)
{
	struct rd r = { b, len, 0 }, sid, exts;
	const uint8_t *rnd;

	memset(out, 0, sizeof(*out));
	out->legacy_version = (uint16_t)rd_uint(&r, 2);
	out->version = out->legacy_version;
	rnd = rd_take(&r, 32);
	sid = rd_vec(&r, 1);
	out->suite = (uint16_t)rd_uint(&r, 2);
	out->compression = (uint8_t)rd_uint(&r, 1);
	if (r.bad || sid.bad || sid.left > 32) {
		if (why)
			*why = "ServerHello: bad length in the fixed part";
		return -1;
	}
	out->hrr = memcmp(rnd, hrr_random, sizeof(hrr_random)) == 0;
	if (r.left == 0)
		return 0;
	exts = rd_vec(&r, 2);
	while (!exts.bad && exts.left > 0) {
		uint32_t type = rd_uint(&exts, 2);
		struct rd ext = rd_vec(&exts, 2);

		if (exts.bad || ext.bad)
			break;
		if (type == 43 && ext.left == 2)
			out->version = (uint16_t)rd_uint(&ext, 2);
	}
	if (exts.bad) {
		if (why)
			*why = "ServerHello: bad extension length";
		return -1;
	}
	return 0;
}

/* Takes a Certificate body; fills out with a summary of each certificate;
 * returns 0 or -1 with *why. */
int tlsp_parse_certificate(const uint8_t *b, size_t len, int tls13, struct tlsp_cert_cache *cache,
			   struct tlsp_certificate *out, const char **why)
{
	struct rd r = { b, len, 0 }, list;

	memset(out, 0, sizeof(*out));
	if (tls13)
		rd_vec(&r, 1);          /* certificate_request_context */
	list = rd_vec(&r, 3);
	while (!list.bad && list.left > 0) {
		struct rd der = rd_vec(&list, 3);

		if (tls13)
			rd_vec(&list, 2);       /* per-certificate extensions */
		if (der.bad || list.bad)
			break;
		out->n_certs++;
		if (out->n_stored < TLSP_MAX_CERTS) {
			struct tlsp_cert_info *ci = &out->certs[out->n_stored++];

			if (tlsp_cert_info_cached(cache, der.p, der.left, ci) < 0)
				out->n_bad++;
		}
	}
	if (r.bad || list.bad) {
		if (why)
			*why = "Certificate: bad length";
		return -1;
	}
	return 0;
}

/* Takes a CertificateRequest body and the negotiated version; returns 0 or
 * -1 with *why. */
int tlsp_parse_cert_request(const uint8_t *b, size_t len, uint16_t version,
			    struct tlsp_cert_request *out, const char **why)
{
	struct rd r = { b, len, 0 }, types, cas;

	memset(out, 0, sizeof(*out));
	types = rd_vec(&r, 1);
	if (version >= TLSP_V_TLS12)
		rd_vec(&r, 2);          /* supported_signature_algorithms */
	cas = rd_vec(&r, 2);
	while (!cas.bad && cas.left > 0) {
		struct rd dn = rd_vec(&cas, 2);

		if (dn.bad)
			break;
		out->n_cas++;
		if (out->n_stored < TLSP_MAX_CAS)
			tlsp_dn_text(dn.p, dn.left, out->cas[out->n_stored++], TLSP_NAME_LEN);
	}
	if (r.bad || types.bad || cas.bad) {
		if (why)
			*why = "CertificateRequest: bad length";
		return -1;
	}
	return 0;
}
