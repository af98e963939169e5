/* One attempt at one entry point, as Windows' client makes it (iphlpsvc.dll,
 * iptlsclient.c; docs/windows.md):
 *  - with --null-encryption on, a try offers only the null suites while the
 *    null flag is set (set at start, IpTlsStartClient); a failure of the
 *    handshake or of sending the POST with 0x80090331, 1225 or 10054 flips
 *    the flag, and when it was set the next try follows at once with the
 *    encrypted suites, else the reconnect timer applies
 *    (WebSendRequestCompletion);
 *  - the client certificates are tried in turn: a try that fails on the
 *    certificate itself (0x8009030d, 0x8009030e, 0x800b0110) drops it and
 *    starts again at once from the first certificate left
 *    (WebSendRequestCompletion, IpTlsRestartClient); an HTTP 403 goes on
 *    at once with the next certificate, and when none is left the attempt
 *    ends with 0x103 "No usable certificate found"
 *    (WebReceiveResponseCompletion, IpTlsRestartClient);
 *  - only exactly 200 is success.
 * Every attempt starts from the whole list of certificates (Windows keeps a
 * dropped certificate out until the interface is set up again: ours comes
 * back at the next attempt, so that a renewed certificate or a restored
 * key is used without a restart), and its immediate retries are bounded
 * (2 per certificate, plus 3): nothing retries faster than the reconnect
 * timer beyond that.
 *
 * Error convention: attempt_run returns 0 with the link ready in lc, or -1
 * with res the failure of the last try (connect.h). */
#ifndef IPHTTPS_ATTEMPT_H
#define IPHTTPS_ATTEMPT_H

#include "client/config.h"
#include "dial/connect.h"

/* What Windows keeps per interface between attempts, and what the last
 * attempt did (for the log and `iphttps state`). */
struct attempt_seq {
	int null_next;          /* the next try offers only the null suites */
	int cert;               /* index in cfg->creds of the last try, -1: none */
	unsigned tries;         /* tries of the last attempt */
	char retries[700];      /* its immediate retries, in words ("" if none) */
};

void attempt_seq_init(struct attempt_seq *s, const struct client_cfg *cfg);
/* The attempt at u: base's TLS context, timeout and proxy; the certificate
 * and the suites of each try as above.  seq is read and updated (the
 * caller owns it for the duration). */
int attempt_run(const struct client_cfg *cfg, const struct iph_url *u,
		const struct connect_opts *base, struct attempt_seq *seq, struct link_conn *lc,
		struct connect_result *res);

#endif
