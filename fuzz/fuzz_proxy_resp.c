/* libFuzzer harness for the proxy answer scanner and the credentials built
 * from its challenges (src/dial/proxy_auth.c).
 *
 * Input: a proxy's answer.  It goes to the scanner as raw bytes (no NUL
 * needed), then through the shared response parser (src/wire/http.c) and
 * the scanner again, as proxy.c does; each challenge found is answered with
 * Digest and Basic credentials.  Checks bounds and invariants. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dial/proxy_auth.h"
#include "wire/http.h"

static struct proxy_resp_info info;
static struct http_resp_parser hp;

/* Checks that every string field of info is terminated and clean. */
static void check(const struct proxy_resp_info *in)
{
	assert(in->n_chal <= PROXY_MAX_CHALLENGES);
	assert(memchr(in->squid_error, 0, sizeof(in->squid_error)));
	assert(in->content_length >= -1);
	for (size_t i = 0; i < in->n_chal; i++) {
		const struct proxy_challenge *c = &in->chal[i];
		assert(memchr(c->name, 0, sizeof(c->name)) && c->name[0]);
		assert(memchr(c->realm, 0, sizeof(c->realm)));
		assert(memchr(c->nonce, 0, sizeof(c->nonce)));
		assert(memchr(c->opaque, 0, sizeof(c->opaque)));
		assert(memchr(c->algorithm, 0, sizeof(c->algorithm)));
		assert(!strpbrk(c->nonce, "\r\n") && !strpbrk(c->realm, "\r\n"));
	}
}

/* Answers each usable challenge; the header value must stay one line. */
static void answer(const struct proxy_resp_info *in)
{
	const struct proxy_challenge *c = proxy_choose(in);
	char out[1536], words[400];

	proxy_describe(in, words, sizeof(words));
	assert(memchr(words, 0, sizeof(words)));
	if (!c)
		return;
	assert(!c->truncated);
	if (c->scheme == PA_DIGEST) {
		int n = proxy_digest_value(c, "user", "pass", "CONNECT", "h:443", "0123abcd", 1, out, sizeof(out));
		assert(n < (int)sizeof(out));
		if (n > 0) {
			assert((size_t)n == strlen(out));
			assert(!strpbrk(out, "\r\n"));
		}
	} else {
		assert(c->scheme == PA_BASIC);
		assert(proxy_basic_value("user", "pass", out, sizeof(out)) > 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	size_t used = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	proxy_resp_scan(copy, size, &info);       /* exact bounds for ASan */
	check(&info);
	answer(&info);
	free(copy);
	http_resp_init(&hp);
	if (http_resp_feed(&hp, data, size, &used) == HTTP_DONE) {
		proxy_resp_scan(hp.buf, hp.len, &info);
		check(&info);
		answer(&info);
	}
	return 0;
}
