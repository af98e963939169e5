/* Differential libFuzzer harness for the record layer (src/tls/record.c):
 * sealing then opening is the identity, and a record changed on the way is
 * never delivered.
 *
 * Input: a byte choosing the suite (TLS 1.3 AES-128/256-GCM, TLS 1.2
 * AES-128-GCM, NULL-SHA256, NULL-SHA in TLS 1.0) and options; 48 bytes of
 * key material (the secrets, or the master secret); 2 bytes of record size;
 * 2 bytes naming a byte of the sealed stream to damage; then the plaintext,
 * cut into chunks at every 0xff byte.  The client's layer seals (several
 * chunks per call, its own KeyUpdates early when asked), the server's opens
 * in pieces of input-chosen size: the plaintext must come back whole.  Then
 * the same stream with one byte flipped (or cut short) goes to a fresh
 * server layer: everything it delivers is a prefix of the plaintext that
 * ends before the damaged record, and it ends failed or waiting. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/record.h"

#define KU_RECORDS 32    /* records of a stream with early KeyUpdates, at most */

struct sink {
	const uint8_t *want;
	size_t want_len, got;
};

/* Makes one end (role) from the key material (49 bytes); 0 or -1. */
static int make_one(uint8_t opt, const uint8_t *km, enum rec_role role, struct rec *r)
{
	static const uint16_t ids[5] = { 0x1301, 0x1302, 0xC02F, 0x003B, 0x0002 };
	uint16_t id = ids[opt % 5];
	char err[ERRLEN];

	if (id == 0x1301 || id == 0x1302) {
		size_t hl = id == 0x1301 ? 32 : 48;
		/* the two secrets overlap in the 49 bytes of key material */
		return rec_init_tls13(r, role, id, km, km + 1, hl, err);
	}
	uint16_t v = id == 0x0002 ? 0x0301 : 0x0303;
	return rec_init_tls12(r, role, id, v, km, km + 8, km + 16, "SHA256", err);
}

/* Freshly made ends by suite and key material, kept across inputs: a
 * layer just made holds no pointer (its contexts are made at first use),
 * so a copy of it is the layer rec_init would make again, without the key
 * derivations through OpenSSL that took half the time. */
#define KM_LEN 49
static struct made {
	uint8_t key[1 + KM_LEN];        /* suite (opt % 5), key material */
	uint8_t ok;                     /* 1: s and c are made */
	struct rec s, c;
} cache[256];

/* Makes the two ends from the key material; 0 or -1. */
static int make(uint8_t opt, const uint8_t *km, struct rec *s, struct rec *c)
{
	uint8_t key[1 + KM_LEN];
	unsigned h = 0;
	struct made *e;

	key[0] = opt % 5;
	memcpy(key + 1, km, KM_LEN);
	for (size_t i = 0; i < sizeof(key); i++)
		h = h * 31 + key[i];
	e = &cache[h % 256];
	if (!e->ok || memcmp(e->key, key, sizeof(key))) {
		e->ok = 0;
		if (make_one(opt, km, REC_SERVER, &e->s) < 0)
			return -1;
		if (make_one(opt, km, REC_CLIENT, &e->c) < 0) {
			rec_free(&e->s);
			return -1;
		}
		memcpy(e->key, key, sizeof(key));
		e->ok = 1;
	}
	*s = e->s;
	*c = e->c;
	return 0;
}

/* Feeds stream to r in pieces; the plaintext must be a prefix of want.
 * Returns the last result. */
static enum rec_result feed(struct rec *r, uint8_t *stream, size_t n, uint8_t step, struct sink *k)
{
	enum rec_result rc = REC_NEED_MORE;
	struct rec_span sp;
	size_t pos = 0, used, piece;

	while (pos < n) {
		piece = 1 + (size_t)step * 97 % (n - pos);
		rc = rec_open(r, stream + pos, piece, &used, &sp);
		pos += used;
		if (rc == REC_DATA) {
			assert(k->got + sp.n <= k->want_len);
			assert(!memcmp(sp.p, k->want + k->got, sp.n));
			k->got += sp.n;
			continue;
		}
		if (rc != REC_NEED_MORE)
			return rc;
	}
	return REC_NEED_MORE;   /* all of it was used */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec s, c, s2, s0;
	struct iovec iov[64];
	uint8_t *stream, *plain;
	size_t plen, need, max_plain, flip, cut;
	ssize_t n;
	int niov = 0;

	if (size < 53)
		return 0;
	if (make(data[0], data + 1, &s, &c) < 0)
		return 0;
	s0 = s;         /* a server not used yet, for the damaged copy */
	max_plain = ((size_t)data[49] << 8 | data[50]) % (REC_MAX_PLAIN + 1);
	flip = (size_t)data[51] << 8 | data[52];
	plain = (uint8_t *)data + 53;
	plen = size - 53;
	for (size_t i = 0, from = 0; i <= plen; i++)
		if (i == plen || (plain[i] == 0xff && niov < 63)) {    /* the last chunk takes the rest */
			iov[niov++] = (struct iovec){ plain + from, i - from };
			from = i;
		}
	if (data[0] & 0x80) {
		c.ku_after = (uint32_t)c.wr.seq + 1 + (data[0] >> 5 & 3);   /* our KeyUpdates, early */
		/* one every few records: records no smaller than KU_RECORDS of
		 * them need (each KeyUpdate derives keys through OpenSSL three
		 * times on each side, thousands of them made some inputs take
		 * a hundred milliseconds; small records are fuzzed without) */
		if (plen / KU_RECORDS >= (max_plain ? max_plain : REC_MAX_PLAIN))
			max_plain = plen / KU_RECORDS + 1;
	}
	need = rec_seal_size(&c, plen, max_plain);
	stream = malloc(need + 1);
	n = rec_seal(&c, iov, niov, max_plain, stream, need);
	assert(n == (ssize_t)need);
	/* the identity */
	struct sink k = { plain, plen, 0 };
	assert(feed(&s, stream, need, data[0], &k) == REC_NEED_MORE);
	assert(k.got == plen);
	assert(s.key_updates_in == c.key_updates_out);
	/* a damaged copy: one bit flipped, or the stream cut short */
	if (need) {
		struct sink k2 = { plain, plen, 0 };
		enum rec_result rc;
		size_t at = flip % need, before = 0, pos = 0;
		cut = data[52] & 1 ? need : at;
		if (cut == need)
			stream[at] ^= (uint8_t)(1u << (data[51] & 7));
		s2 = s0;                                        /* a fresh server */
		rc = feed(&s2, stream, cut, data[50], &k2);
		/* the damaged record's index, walking the sealed (still intact
		 * apart from byte at) headers up to it; a flipped byte inside a
		 * header is at or after that record's start, so the walk before
		 * it reads only intact headers */
		for (size_t i = 0; pos + REC_HDR <= need && pos <= at; i++) {
			before = i;
			pos += REC_HDR + ((size_t)stream[pos + 3] << 8 | stream[pos + 4]);
		}
		/* what was delivered came from records before the damaged one */
		assert(rc == REC_FATAL || rc == REC_NEED_MORE);
		assert(s2.records_in <= before);
		rec_free(&s2);
	}
	rec_free(&s);
	rec_free(&c);
	free(stream);
	return 0;
}
