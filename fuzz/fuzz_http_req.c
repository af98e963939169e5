/* libFuzzer harness for the server's HTTP request parser (src/wire/http.c).
 *
 * Input: one byte of split position and one of header cap, then the bytes
 * fed to the parser in two parts.  Checks the result's invariants and that
 * the outcome does not depend on the split. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/http.h"

static struct http_req_parser a, b;

/* Feeds data to p in two parts cut at cut.  Returns the final result and
 * sets *used to the header bytes taken. */
static int
feed2(struct http_req_parser *p, const uint8_t *data, size_t len, size_t cut,
      size_t max_header, size_t *used)
{
	size_t c1 = 0, c2 = 0;
	int r;

	http_req_init(p, NULL, max_header);
	r = http_req_feed(p, data, cut, &c1);
	if (r == HTTP_MORE) {
		assert(c1 == cut);
		r = http_req_feed(p, data + cut, len - cut, &c2);
	}
	*used = c1 + c2;
	return r;
}

/* Checks the fields of a finished parser. */
static void
check(const struct http_req_parser *p, int r, size_t used, size_t len)
{
	assert(used <= len);
	assert(memchr(p->method, 0, sizeof(p->method)) != NULL);
	assert(memchr(p->path, 0, sizeof(p->path)) != NULL);
	assert(memchr(p->host, 0, sizeof(p->host)) != NULL);
	if (r == HTTP_DONE) {
		assert(p->status == 200);
		assert(strcmp(p->method, "POST") == 0);
		assert(used > 0 && used <= p->max_header);
	} else if (r == HTTP_ERROR) {
		assert(p->reason != NULL);
		assert(p->status == 400 || p->status == 404 || p->status == 405 ||
		       p->status == 431 || p->status == 501 || p->status == 505);
	} else {
		assert(used == len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len, cut, cap, ua, ub;
	int ra, rb;

	if (size < 2)
		return 0;
	len = size - 2;
	cut = len ? data[0] % (len + 1) : 0;
	cap = data[1] < 16 ? 0 : (size_t)data[1] * 40;
	data += 2;
	ra = feed2(&a, data, len, cut, cap, &ua);
	check(&a, ra, ua, len);
	rb = feed2(&b, data, len, len, cap, &ub);
	check(&b, rb, ub, len);
	assert(ra == rb && a.status == b.status);
	assert(ra != HTTP_DONE || ua == ub);
	return 0;
}
