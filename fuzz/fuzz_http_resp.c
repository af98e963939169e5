/* libFuzzer harness for the client's HTTP response parser (src/wire/http.c).
 *
 * Input: one byte of split position, then the bytes fed to the parser in two
 * parts.  Checks invariants and that the outcome does not depend on the split. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/http.h"

static struct http_resp_parser a, b;

/* Feeds data to p in two parts cut at cut.  Returns the final result and
 * sets *used to the header bytes taken. */
static int
feed2(struct http_resp_parser *p, const uint8_t *data, size_t len, size_t cut,
      size_t *used)
{
	size_t c1 = 0, c2 = 0;
	int r;

	http_resp_init(p);
	r = http_resp_feed(p, data, cut, &c1);
	if (r == HTTP_MORE) {
		assert(c1 == cut);
		r = http_resp_feed(p, data + cut, len - cut, &c2);
	}
	*used = c1 + c2;
	return r;
}

/* Checks the fields of a finished parser. */
static void
check(const struct http_resp_parser *p, int r, size_t used, size_t len)
{
	assert(used <= len);
	assert(memchr(p->reason_phrase, 0, sizeof(p->reason_phrase)) != NULL);
	assert(memchr(p->server, 0, sizeof(p->server)) != NULL);
	assert(memchr(p->location, 0, sizeof(p->location)) != NULL);
	assert(memchr(p->content_type, 0, sizeof(p->content_type)) != NULL);
	if (r == HTTP_DONE) {
		assert(p->status >= 100 && p->status <= 599);
		assert(p->error == NULL);
		assert(used > 0 && used <= HTTP_MAX_HEADER);
	} else if (r == HTTP_ERROR) {
		assert(p->error != NULL);
	} else {
		assert(used == len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len, cut, ua, ub;
	int ra, rb;

	if (size < 1)
		return 0;
	len = size - 1;
	cut = len ? data[0] % (len + 1) : 0;
	data += 1;
	ra = feed2(&a, data, len, cut, &ua);
	check(&a, ra, ua, len);
	rb = feed2(&b, data, len, len, &ub);
	check(&b, rb, ub, len);
	assert(ra == rb && a.status == b.status);
	assert(ra != HTTP_DONE || ua == ub);
	assert(strcmp(a.server, b.server) == 0 && strcmp(a.location, b.location) == 0);
	return 0;
}
