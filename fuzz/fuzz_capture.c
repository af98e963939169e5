/* libFuzzer harness for the capture analysis: the input is a capture file
 * (pcap or pcapng) read from memory (fmemopen + pcap_fopen_offline) through
 * the whole of `iphttps trace`: link/IP/TCP decoding, reassembly, the TLS
 * parser, the readable HTTP and IPv6, and the verdicts (src/diag/trace.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "diag/trace.h"

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRLEN];
	struct trace t;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	if (trace_fp(f, 443, size & 1 ? TRACE_KEEP_FACTS : 0, &t, err) < 0)
		return 0;
	for (struct trace_conn *tc = t.first; tc; tc = tc->next) {
		sink += strlen(tc->v.evidence) + strlen(tc->v.notes) + tc->n_steps;
		for (size_t i = 0; i < tc->n_steps; i++)
			sink += strlen(tc->steps[i].text);
	}
	trace_free(&t);
	return 0;
}
