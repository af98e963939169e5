/* libFuzzer harness for the URLs a client is given: the entry point
 * (iph_url_parse, src/dial/connect.c), the proxy URL (proxy_parse_url)
 * and the proxy chosen from https_proxy and no_proxy as curl reads them
 * (proxy_from_env, src/dial/proxy.c).
 *
 * Input: up to four strings separated by newlines: an entry-point URL, a
 * proxy URL, a no_proxy list, a host.  Checks that what parses is within
 * its fields (terminated, port all digits), and that a host no_proxy
 * covers by its exact name gets no proxy. */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dial/connect.h"
#include "dial/proxy.h"

static void split(const uint8_t *d, size_t n, char out[4][1024])
{
	size_t k = 0, j = 0;

	memset(out, 0, 4 * 1024);
	for (size_t i = 0; i < n && k < 4; i++) {
		if (d[i] == '\n') {
			k++;
			j = 0;
		} else if (j < 1023 && d[i]) {
			out[k][j++] = (char)d[i];
		}
	}
}

static void check_port(const char *p)
{
	for (; *p; p++)
		assert(isdigit((unsigned char)*p));
}

/* A host name of letters, digits and hyphens in dot-separated labels. */
static int plain_name(const char *h)
{
	size_t n = strlen(h);

	if (!n || h[0] == '.' || h[n - 1] == '.' || strstr(h, ".."))
		return 0;
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '-' && *h != '.')
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[4][1024], err[ERRLEN];
	struct iph_url u;
	struct proxy_cfg p;

	split(data, size, s);
	for (int allow = 0; allow < 2; allow++) {
		if (iph_url_parse(s[0], &u, allow, err) == 0) {
			assert(memchr(u.host, 0, sizeof(u.host)) && memchr(u.path, 0, sizeof(u.path)));
			assert(u.host[0] && u.path[0] == '/');
			check_port(u.port);
			assert(allow || strcmp(u.scheme, "http"));
		} else {
			assert(memchr(err, 0, ERRLEN));
		}
	}
	if (proxy_parse_url(s[1], &p, err) == 0) {
		assert(p.host[0]);
		check_port(p.port);
	}
	setenv("https_proxy", s[1], 1);
	setenv("no_proxy", s[2], 1);
	if (proxy_from_env(&p, s[3][0] ? s[3] : NULL, err) == 1)
		assert(strcmp(s[2], s[3]) != 0 || !plain_name(s[3])); /* an exact entry covers it */
	unsetenv("https_proxy");
	unsetenv("no_proxy");
	return 0;
}
