/* The TLS record layer taken over from OpenSSL after the handshake (what
 * kTLS does in the kernel, done here): an idle connection then holds its
 * traffic keys, a few hundred bytes, instead of OpenSSL's 13-19 KiB SSL
 * object (docs/design.md; not wired into the server yet).
 *
 * OpenSSL does the handshake.  rec_take() then takes the keys through public
 * API only (TLS 1.3: the traffic secrets from the keylog callback, key and IV
 * by HKDF-Expand-Label; TLS 1.2: the master secret and both randoms, the key
 * block by the TLS PRF), checks that OpenSSL holds no unread byte, starts
 * the write sequence after the records OpenSSL sent under the application
 * key (a TLS 1.3 server's NewSessionTickets, counted by the message
 * callback rec_ctx_prepare installs), and the caller frees the SSL.  Records are
 * then protected with EVP.
 *
 * Suites taken over (an allow-list; anything else stays with OpenSSL):
 *   TLS 1.3 TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384;
 *   TLS 1.2 AES-128/256-GCM (RSA, ECDHE-RSA, ECDHE-ECDSA, DHE-RSA key exchange);
 *   TLS 1.0-1.2 TLS_RSA_WITH_NULL_SHA256 (1.2) and TLS_RSA_WITH_NULL_SHA, the
 *   two null suites Windows' IP-HTTPS uses (MAC only, MS-IPHTTPS 3.2.5.1).
 *
 * Per direction a sequence number; one about to wrap ends the connection.
 * TLS 1.3: a KeyUpdate received updates the read keys, and when it asks for
 * one ours is sent and the write keys follow; we send our own KeyUpdate
 * before REC_KEYUPDATE_AFTER records under one key (the AES-GCM limit of
 * RFC 8446 5.5).  close_notify both ways.  Anything else (renegotiation,
 * other handshake messages, unexpected content types, a bad tag or MAC, a
 * record or plaintext over the limits of RFC 8446 5.2/5.4 and RFC 5246 6.2)
 * is fatal: the right alert is queued for the peer and the connection ends.
 *
 * EVP contexts exist only while a connection is busy: made at the first
 * record, dropped by rec_idle() (a fresh AES-GCM context costs about 0.13 µs
 * a record, measured; research phase 2).
 *
 * Error convention: rec_take, rec_init_tls13 and rec_init_tls12 return 0 or
 * -1 with a message in err[ERRLEN] (after -1 the connection stays with
 * OpenSSL, nothing was changed).  rec_open returns an enum rec_result.
 * rec_seal and rec_seal_close return the bytes written or -1 (the buffer is
 * too small: nothing written; or the connection failed: rec->state says).
 * Control records the layer has to send (a KeyUpdate answer, our fatal
 * alert) wait in rec_output() and go out before anything sealed later. */
#ifndef IPHTTPS_RECORD_H
#define IPHTTPS_RECORD_H

#include "common/errbuf.h"

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define REC_MAX_PLAIN        16384u         /* 2^14 */
#define REC_MAX_CIPHER13     (16384u + 256) /* RFC 8446 5.2 */
#define REC_MAX_CIPHER12     (16384u + 2048) /* RFC 5246 6.2.3 */
#define REC_HDR              5u
#define REC_KEYUPDATE_AFTER  (1u << 23)     /* records under one TLS 1.3 write key */

enum rec_role { REC_SERVER = 0, REC_CLIENT = 1 };

enum rec_result {
	REC_NEED_MORE = 0,      /* all input used; a partial record may be held */
	REC_DATA = 1,           /* *span holds plaintext; call again with the rest */
	REC_CLOSE = 2,          /* the peer's close_notify: answer with rec_seal_close */
	REC_ALERT = 3,          /* the peer's fatal alert (rec->peer_alert); close */
	REC_FATAL = 4,          /* our fatal error: send rec_output(), then close */
};

enum rec_state { REC_OPEN = 0, REC_CLOSED, REC_FAILED };

/* TLS alert descriptions used here (RFC 8446 6, RFC 5246 7.2). */
enum rec_alert {
	REC_AD_CLOSE_NOTIFY = 0,
	REC_AD_UNEXPECTED_MESSAGE = 10,
	REC_AD_BAD_RECORD_MAC = 20,
	REC_AD_RECORD_OVERFLOW = 22,
	REC_AD_ILLEGAL_PARAMETER = 47,
	REC_AD_DECODE_ERROR = 50,
	REC_AD_PROTOCOL_VERSION = 70,
	REC_AD_INTERNAL_ERROR = 80,
	REC_AD_USER_CANCELED = 90,
	REC_AD_NO_RENEGOTIATION = 100,
};

struct rec_span {
	const uint8_t *p;       /* valid until the next rec_open or rec_idle */
	size_t n;
};

/* One direction's keys.  TLS 1.2 GCM uses 4 bytes of iv (the salt). */
struct rec_dir {
	uint8_t key[32], iv[12], secret[48];
	uint64_t seq;
	void *ctx;              /* EVP_CIPHER_CTX or EVP_MAC_CTX while busy */
};

struct rec {
	uint8_t suite;          /* index into record.c's table */
	uint8_t role, v13, state;
	uint16_t version;       /* record version of TLS 1.0-1.2 (0x0303 for 1.3) */
	uint16_t plain_max;     /* 2^14, or the negotiated max_fragment_length */
	uint16_t pad_to;        /* TLS 1.3: pad our records' plaintext to a multiple (0: none, at most 256) */
	uint8_t alert;          /* the alert we sent with REC_FATAL */
	uint8_t peer_alert;     /* the peer's, with REC_ALERT */
	uint8_t peer_end;       /* REC_CLOSE or REC_ALERT once the peer ended, else 0 */
	uint32_t ku_after;      /* TLS 1.3: our KeyUpdate when wr.seq reaches it */
	struct rec_dir rd, wr;
	uint8_t hdr[REC_HDR];   /* a partial record header */
	uint8_t hdr_have;
	uint8_t *part;          /* a partial record (5 + length bytes), only while one is */
	uint32_t part_have;
	uint8_t *hs;            /* a partial TLS 1.3 handshake message (client: tickets) */
	uint32_t hs_have;
	uint8_t *out;           /* control records waiting to be sent */
	uint32_t out_len;
	uint8_t ku_queued;      /* our KeyUpdate answer is not on the wire yet (one answers many) */
	uint64_t records_in, records_out, key_updates_in, key_updates_out;
};

/* The keylog and message callbacks rec_take needs for TLS 1.3 (install
 * before the handshake).  A program with a keylog callback of its own calls
 * rec_keylog_line from it instead.  rec_ctx_prepare returns 0 or -1. */
int rec_ctx_prepare(SSL_CTX *ctx, char *err);
void rec_keylog_line(const SSL *ssl, const char *line);

/* After SSL_accept (REC_SERVER) or SSL_connect (REC_CLIENT) returned 1:
 * fills r.  On 0 the caller frees the SSL and carries on with r; on -1 err
 * says why (suite not taken over, bytes buffered in OpenSSL,
 * secrets not logged) and the SSL goes on as before. */
int rec_take(SSL *ssl, enum rec_role role, struct rec *r, char *err);

/* The same from raw secrets (tests, fuzzing).  suite_id is the IANA value
 * (0x1301, 0xC02F, 0x003B...).  TLS 1.3: the two application traffic
 * secrets of the suite's hash length.  TLS 1.2 and older: version
 * (0x0301-0x0303), the 48-byte master secret, both 32-byte randoms, the
 * PRF's digest ("SHA256", "SHA384"; ignored before 1.2).  Sequence numbers
 * start at 0 (TLS 1.3) or 1 (after each side's Finished). */
int rec_init_tls13(struct rec *r, enum rec_role role, uint16_t suite_id, const uint8_t *client_secret,
		   const uint8_t *server_secret, size_t secret_len, char *err);
int rec_init_tls12(struct rec *r, enum rec_role role, uint16_t suite_id, uint16_t version,
		   const uint8_t master[48], const uint8_t client_random[32], const uint8_t server_random[32],
		   const char *prf_digest, char *err);

/* Bytes rec_seal needs for len bytes of plaintext cut into records of at
 * most max_plain bytes (0 or more than allowed: the limit), including a
 * KeyUpdate that would fall due. */
size_t rec_seal_size(const struct rec *r, size_t len, size_t max_plain);
/* Seals the concatenation of iov[0..iovcnt-1] as application data into
 * records of at most max_plain bytes each, back to back into out.  Returns
 * the bytes written, or -1: out shorter than rec_seal_size (nothing
 * written) or the connection is not open / a sequence number ran out (state
 * REC_FAILED, an alert may wait in rec_output).  An empty input writes
 * nothing. */
ssize_t rec_seal(struct rec *r, const struct iovec *iov, int iovcnt, size_t max_plain, uint8_t *out,
		 size_t outlen);
/* Our close_notify into out (the state becomes REC_CLOSED); bytes or -1. */
ssize_t rec_seal_close(struct rec *r, uint8_t *out, size_t outlen);

/* Feeds len bytes of the stream (decrypted in place when a record is whole
 * in them, so in is written to).  *used says how many were consumed; call
 * again with the rest after REC_DATA.  Bounded: a record longer than the
 * limits is refused from its header, before its body arrives. */
enum rec_result rec_open(struct rec *r, uint8_t *in, size_t len, size_t *used, struct rec_span *span);

/* Control records waiting to be sent (NULL when none); rec_output_done
 * after they were queued for the socket, rec_output_sent once the socket
 * took them (and whatever was sealed before them).  Until then our
 * KeyUpdate answer waiting there answers every further request too
 * (RFC 8446 4.6.3): a peer that asks and never reads gets one, not one
 * per request. */
const uint8_t *rec_output(const struct rec *r, size_t *len);
void rec_output_done(struct rec *r);
void rec_output_sent(struct rec *r);

/* Drops the EVP contexts and any empty buffer: what an idle connection
 * keeps is struct rec alone (and a partial record if one is pending). */
void rec_idle(struct rec *r);
/* Frees everything and wipes the keys. */
void rec_free(struct rec *r);
/* The suite's IANA name (e.g. "TLS_AES_128_GCM_SHA256"). */
const char *rec_suite_name(const struct rec *r);

#endif
