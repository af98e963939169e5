/* A bounded parser of TLS as seen on the wire (by a capture), for the
 * troubleshooter: records of TLS 1.0-1.3, handshake messages reassembled
 * across records (each capped at TLSP_HS_MAX bytes), and the messages that
 * tell why a handshake failed: ClientHello, ServerHello, Certificate (TLS 1.2,
 * as TLS 1.3 encrypts it), CertificateRequest, alerts, ChangeCipherSpec and
 * application data.  With a null cipher suite (TLS_RSA_WITH_NULL_SHA256...)
 * the records after ChangeCipherSpec are plaintext followed by a MAC: the
 * parser strips the MAC and hands the plaintext on, so the HTTP exchange and
 * the IPv6 packets of IP-HTTPS stay readable.
 *
 * Files: tlsparse.c (records, the stream parser), tlsmsg.c (message
 * parsers), tlscert.c (X.509 summaries with OpenSSL), tlsnames.c (names).
 * Everything is prefixed tlsp_ (src/tls/ owns tls_).
 *
 * Error convention: message parsers return 0, or -1 with a static reason in
 * *why (when why != NULL).  The stream parser reports everything through its
 * callback, and tlsp_feed() returns -1 once a direction is no longer
 * parseable (not TLS, malformed, or bytes lost by the capture). */
#ifndef IPHTTPS_TLSPARSE_H
#define IPHTTPS_TLSPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TLSP_MAX_RECORD   (16384 + 2048)  /* largest TLSCiphertext fragment */
#define TLSP_HS_MAX       65536           /* largest handshake message reassembled */
#define TLSP_MAX_SUITES   128             /* ClientHello suites kept (all are counted) */
#define TLSP_MAX_VERSIONS 8
#define TLSP_MAX_CERTS    8
#define TLSP_MAX_CAS      8
#define TLSP_NAME_LEN     192
#define TLSP_HEAD_LEN     48              /* bytes quoted from a non-TLS stream */

/* Record content types */
#define TLSP_CT_CCS       20
#define TLSP_CT_ALERT     21
#define TLSP_CT_HANDSHAKE 22
#define TLSP_CT_APPDATA   23
#define TLSP_CT_HEARTBEAT 24

/* Handshake message types */
#define TLSP_HS_HELLO_REQUEST        0
#define TLSP_HS_CLIENT_HELLO         1
#define TLSP_HS_SERVER_HELLO         2
#define TLSP_HS_NEW_SESSION_TICKET   4
#define TLSP_HS_ENCRYPTED_EXTENSIONS 8
#define TLSP_HS_CERTIFICATE          11
#define TLSP_HS_SERVER_KEY_EXCHANGE  12
#define TLSP_HS_CERTIFICATE_REQUEST  13
#define TLSP_HS_SERVER_HELLO_DONE    14
#define TLSP_HS_CERTIFICATE_VERIFY   15
#define TLSP_HS_CLIENT_KEY_EXCHANGE  16
#define TLSP_HS_FINISHED             20
#define TLSP_HS_ENCRYPTED            256  /* an encrypted handshake message: type unknown */

#define TLSP_V_SSL3  0x0300
#define TLSP_V_TLS10 0x0301
#define TLSP_V_TLS11 0x0302
#define TLSP_V_TLS12 0x0303
#define TLSP_V_TLS13 0x0304

/* Alert descriptions the verdicts name */
#define TLSP_AL_HANDSHAKE_FAILURE 40
#define TLSP_AL_BAD_CERTIFICATE   42
#define TLSP_AL_CERT_EXPIRED      45
#define TLSP_AL_CERT_UNKNOWN      46
#define TLSP_AL_UNKNOWN_CA        48
#define TLSP_AL_PROTOCOL_VERSION  70
#define TLSP_AL_CERT_REQUIRED     116

enum tlsp_dir { TLSP_C2S = 0, TLSP_S2C = 1 };

struct tlsp_client_hello {
	uint16_t legacy_version;
	uint16_t max_version;           /* highest offered, supported_versions included */
	size_t n_suites;                /* suites offered (all counted) */
	size_t n_stored;                /* first ones kept in suites[] */
	uint16_t suites[TLSP_MAX_SUITES];
	int has_versions;               /* supported_versions extension present */
	size_t n_versions;
	uint16_t versions[TLSP_MAX_VERSIONS];
	int has_sni;
	char sni[256];                  /* printable ASCII only, others as '?' */
};

struct tlsp_server_hello {
	uint16_t legacy_version;
	uint16_t version;               /* chosen: supported_versions if present */
	uint16_t suite;
	uint8_t compression;
	int hrr;                        /* a TLS 1.3 HelloRetryRequest */
};

/* What the troubleshooter shows of a certificate. */
struct tlsp_cert_info {
	char subject[TLSP_NAME_LEN];    /* RFC 2253 one-line */
	char issuer[TLSP_NAME_LEN];
	char san[TLSP_NAME_LEN];        /* DNS names, comma separated, may be cut */
	time_t not_before, not_after;
	char key_type[16];              /* "RSA", "EC", "ED25519", ... */
	int key_bits;
	int self_signed;                /* issuer == subject and its own key verifies it */
};

struct tlsp_certificate {
	size_t n_certs;                 /* certificates in the message */
	size_t n_stored;                /* summarised in certs[] (the first ones) */
	size_t n_bad;                   /* of those, how many OpenSSL could not decode */
	struct tlsp_cert_info certs[TLSP_MAX_CERTS];
};

struct tlsp_cert_request {
	size_t n_cas;                   /* CA names listed (0: "any") */
	size_t n_stored;
	char cas[TLSP_MAX_CAS][TLSP_NAME_LEN];
};

/* ---- message parsers (body = after the 4-byte handshake header) ---- */
int tlsp_parse_client_hello(const uint8_t *b, size_t len, struct tlsp_client_hello *out,
			    const char **why);
int tlsp_parse_server_hello(const uint8_t *b, size_t len, struct tlsp_server_hello *out,
			    const char **why);
/* Summaries of certificates already decoded, kept by DER (a capture of
 * thousands of connections shows the same server certificate thousands of
 * times; OpenSSL's decoder is slow).  Zero it before use. */
#define TLSP_CACHE_N 8
struct tlsp_cert_cache {
	struct {
		uint8_t *der;
		size_t len;
		struct tlsp_cert_info info;
		int ok;
	} e[TLSP_CACHE_N];
	unsigned next;
};
void tlsp_cert_cache_free(struct tlsp_cert_cache *c);

/* TLS 1.0-1.2 Certificate (tls13 = 1 for the 1.3 layout with a request
 * context and per-certificate extensions).  Certificates that OpenSSL cannot
 * decode are counted in n_bad and summarised with an empty subject.  cache
 * may be NULL. */
int tlsp_parse_certificate(const uint8_t *b, size_t len, int tls13, struct tlsp_cert_cache *cache,
			   struct tlsp_certificate *out, const char **why);
/* CertificateRequest of TLS 1.0-1.2; version decides whether the 1.2
 * signature_algorithms field is present. */
int tlsp_parse_cert_request(const uint8_t *b, size_t len, uint16_t version,
			    struct tlsp_cert_request *out, const char **why);

/* ---- certificates (tlscert.c) ---- */
/* Summarise one DER certificate; returns 0 or -1 (not a certificate). */
int tlsp_cert_info_der(const uint8_t *der, size_t len, struct tlsp_cert_info *out);
/* The same through a cache (NULL: none). */
int tlsp_cert_info_cached(struct tlsp_cert_cache *c, const uint8_t *der, size_t len,
			  struct tlsp_cert_info *out);
/* One-line RFC 2253 text of a DER DistinguishedName; returns 0 or -1 (with
 * "(undecodable name)" written). */
int tlsp_dn_text(const uint8_t *der, size_t len, char *out, size_t outlen);
struct x509_st;
/* The same from an OpenSSL X509 (for the live probe). */
int tlsp_cert_info_x509(struct x509_st *x, struct tlsp_cert_info *out);

/* ---- names (tlsnames.c) ---- */
/* IANA name of a suite ("TLS_RSA_WITH_NULL_SHA256"), or NULL if unknown. */
const char *tlsp_suite_name(uint16_t suite);
/* The name or "0xC0FF" into buf (>= 8 bytes); returns buf. */
const char *tlsp_suite_str(uint16_t suite, char *buf, size_t len);
/* 1 when the suite authenticates but does not encrypt (NULL cipher). */
int tlsp_suite_is_null(uint16_t suite);
/* Length of the record MAC of a null suite (16, 20, 32 or 48), 0 otherwise. */
size_t tlsp_suite_null_mac_len(uint16_t suite);
/* "handshake_failure" for 40, NULL if unknown. */
const char *tlsp_alert_name(uint8_t desc);
/* "TLS 1.2" for 0x0303; NULL if unknown. */
const char *tlsp_version_name(uint16_t v);
/* The name or "0x0305" into buf (>= 8 bytes); returns buf. */
const char *tlsp_version_str(uint16_t v, char *buf, size_t len);
/* "ClientHello" for 1, "encrypted handshake message" for TLSP_HS_ENCRYPTED,
 * NULL if unknown. */
const char *tlsp_hs_name(int type);

/* ---- the stream parser ---- */
enum tlsp_ev_type {
	TLSP_EV_HANDSHAKE,   /* a handshake message: hs_type, and msg for the parsed ones */
	TLSP_EV_CCS,         /* ChangeCipherSpec */
	TLSP_EV_ALERT,       /* an alert; level/desc valid unless encrypted */
	TLSP_EV_APPDATA,     /* application data: data != NULL when readable (null suite) */
	TLSP_EV_ENCRYPTED,   /* a TLS 1.3 encrypted record (handshake, data or alert: hidden) */
	TLSP_EV_NOT_TLS,     /* the first bytes of the direction are not TLS: data/len quote them */
	TLSP_EV_ERROR,       /* a malformed record or message: why; the direction stops */
};

struct tlsp_event {
	enum tlsp_ev_type type;
	enum tlsp_dir dir;
	int hs_type;                    /* TLSP_EV_HANDSHAKE: TLSP_HS_* */
	int encrypted;                  /* content hidden (encrypted suite after CCS) */
	int oversized;                  /* handshake message above TLSP_HS_MAX: not parsed */
	int parse_failed;               /* handshake message malformed: why says how */
	union {
		const struct tlsp_client_hello *ch;
		const struct tlsp_server_hello *sh;
		const struct tlsp_certificate *cert;
		const struct tlsp_cert_request *cr;
	} msg;                          /* NULL members when not parsed */
	size_t hs_len;                  /* handshake body length */
	uint8_t alert_level, alert_desc;
	const uint8_t *data;            /* APPDATA plaintext chunk or NOT_TLS head */
	size_t len;                     /* bytes of data (APPDATA: of this chunk) */
	size_t record_len;              /* length of the record this came in */
	int record_start;               /* APPDATA: first chunk of a record */
	const char *why;                /* ERROR, NOT_TLS, parse_failed */
};

/* Called for each event; pointers in ev are valid only during the call. */
typedef void (*tlsp_event_cb)(void *arg, const struct tlsp_event *ev);

struct tlsp_dir_state {
	uint8_t hdr[5];
	size_t hdr_have;
	uint8_t ctype;                  /* current record */
	size_t rec_len;
	size_t content_left;            /* plaintext bytes left in this record */
	size_t mac_left;                /* MAC bytes left (null suite) */
	int rec_hidden;                 /* this record's content is encrypted */
	int in_record;
	uint8_t alert[2];
	size_t alert_have;
	uint8_t *hs;                    /* handshake reassembly, allocated on need */
	size_t hs_len, hs_cap;
	size_t hs_skip;                 /* bytes of an oversized message still to skip */
	int ccs_seen;                   /* this side sent ChangeCipherSpec */
	int protected;                  /* records of this side are protected */
	int dead;                       /* not parseable any more */
	uint64_t records;
	uint64_t bytes;
};

struct tlsp_parser {
	struct tlsp_dir_state d[2];
	uint16_t version;               /* negotiated, 0 before the ServerHello */
	uint16_t suite;
	int have_server_hello;
	int tls13;
	int null_suite;                 /* TLS <= 1.2 with a null cipher */
	size_t mac_len;
	struct tlsp_cert_cache *cache;  /* optional, the caller's */
	tlsp_event_cb cb;
	void *arg;
};

void tlsp_init(struct tlsp_parser *p, tlsp_event_cb cb, void *arg);
/* Feed bytes of one direction in stream order.  Returns 0, or -1 when this
 * direction is no longer parsed (an event said why). */
int tlsp_feed(struct tlsp_parser *p, enum tlsp_dir dir, const uint8_t *data, size_t len);
/* The capture lost bytes of this direction: stop parsing it. */
void tlsp_gap(struct tlsp_parser *p, enum tlsp_dir dir);
/* Free the reassembly buffers (the parser can be fed again after tlsp_init). */
void tlsp_free(struct tlsp_parser *p);

#endif
