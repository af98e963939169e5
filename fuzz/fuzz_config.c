/* libFuzzer harness for configuration files (src/common/opts.c through
 * server_cfg_parse and client_cfg_parse with -c FILE): inih's parser and
 * every option's conversion and range.  Checks that a refusal names
 * FILE:LINE or the option, and that an accepted configuration has its
 * values within the options' ranges.
 *
 * Input: the file's bytes; the first byte chooses the server's or the
 * client's table. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client/config.h"
#include "common/log.h"
#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], err[ERRLEN];
	int r;

	log_init("fuzz", -1);
	if (size < 1)
		return 0;
	if (fd < 0 && (fd = memfd_create("cfg", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = 0;
	if (data[0] & 1) {
		struct server_cfg c;
		char *argv[] = { "server", "-c", path, NULL };
		r = server_cfg_parse(&c, 3, argv, err);
		if (r == 0) {
			assert(c.max_clients >= 1 && c.max_addrs >= 1 && c.max_addrs <= 64);
			assert(c.queue_limit >= 65536 && c.multicast_rate >= 1);
		} else if (r < 0) {
			assert(strstr(err, path) || strstr(err, "--"));
		}
		server_cfg_free(&c);
	} else {
		struct client_cfg c;
		struct iph_url urls[CLIENT_MAX_URLS];
		size_t n = 0;
		char *argv[] = { "client", "-c", path, NULL };
		r = client_cfg_parse(&c, 3, argv, urls, &n, err);
		if (r == 0)
			assert(n >= 1 && n <= CLIENT_MAX_URLS);
		else if (r < 0)
			assert(memchr(err, 0, ERRLEN) && err[0]);
		client_cfg_free(&c);
	}
	return 0;
}
