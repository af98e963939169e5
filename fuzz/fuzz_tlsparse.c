/* libFuzzer harness for the TLS record/handshake parser (src/diag/tlsparse.h).
 *
 * Input: chunks, each a header byte (bit 0: the direction, bits 1-7: the
 * chunk length as (n * 8 + 1) bytes) and then the bytes, fed to one stream
 * parser in turn: records split anywhere, both directions interleaved.  The
 * whole input also goes to each message parser directly.  Every pointer an
 * event carries is read in full, so that ASan sees any overread. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag/tlsparse.h"

static volatile uint8_t sink;

/* Reads what the event points at. */
static void on_event(void *arg, const struct tlsp_event *ev)
{
	uint8_t x = 0;

	(void)arg;
	for (size_t i = 0; ev->data && i < ev->len; i++)
		x ^= ev->data[i];
	if (ev->type == TLSP_EV_HANDSHAKE && ev->msg.ch) {
		if (ev->hs_type == TLSP_HS_CLIENT_HELLO)
			x ^= (uint8_t)strlen(ev->msg.ch->sni) ^ (uint8_t)ev->msg.ch->n_stored;
		else if (ev->hs_type == TLSP_HS_CERTIFICATE && ev->msg.cert->n_stored)
			x ^= (uint8_t)strlen(ev->msg.cert->certs[0].subject);
		else if (ev->hs_type == TLSP_HS_CERTIFICATE_REQUEST && ev->msg.cr->n_stored)
			x ^= (uint8_t)strlen(ev->msg.cr->cas[0]);
	}
	if (ev->why)
		x ^= (uint8_t)strlen(ev->why);
	sink ^= x;
}

/* The message parsers on the raw input. */
static void messages(const uint8_t *data, size_t size)
{
	static struct tlsp_certificate cert;
	struct tlsp_client_hello ch;
	struct tlsp_server_hello sh;
	struct tlsp_cert_request cr;

	tlsp_parse_client_hello(data, size, &ch, NULL);
	tlsp_parse_server_hello(data, size, &sh, NULL);
	tlsp_parse_cert_request(data, size, TLSP_V_TLS12, &cr, NULL);
	tlsp_parse_cert_request(data, size, TLSP_V_TLS10, &cr, NULL);
	if (size < 4096) {      /* certificates go through OpenSSL: keep it fast */
		tlsp_parse_certificate(data, size, 0, NULL, &cert, NULL);
		tlsp_parse_certificate(data, size, 1, NULL, &cert, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsp_parser p;
	size_t i = 0;

	messages(data, size);
	tlsp_init(&p, on_event, NULL);
	while (i < size) {
		uint8_t h = data[i++];
		size_t n = (size_t)(h >> 1) * 8 + 1;

		if (n > size - i)
			n = size - i;
		tlsp_feed(&p, (enum tlsp_dir)(h & 1), data + i, n);
		i += n;
	}
	tlsp_free(&p);
	return 0;
}
