/* libFuzzer harness for the control socket's protocol (src/ctl/ctl.c):
 * a requester sends whatever bytes, in one or several writes, maybe
 * leaving the connection open; the daemon answers one JSON document or
 * closes, and never holds more than its cap of requests past their
 * deadline.  Checks that every answer is one valid JSON object, that the
 * handler sees at most one line without its end of line, and that open
 * requests never exceed the cap.
 *
 * Input: steps [op][len][bytes...]: op 0 a new requester sends bytes, 1
 * the last requester sends more, 2 time passes (ctl_server_tick). */
#include <assert.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl.h"

static struct evloop ev;
static struct ctl_server ctl;
static char dir[64];

static struct json_object *handler(void *arg, const char *cmd)
{
	assert(!strchr(cmd, '\n') && strlen(cmd) < CTL_MAX_REQ);
	if (!strcmp(cmd, "state")) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "Role", json_object_new_string("fuzz"));
		return o;
	}
	return NULL;
}

static void setup(void)
{
	char err[ERRLEN];

	snprintf(dir, sizeof(dir), "/tmp/fuzz-ctl-XXXXXX");
	if (!mkdtemp(dir) || ev_init(&ev) < 0 || ctl_server_open(&ctl, &ev, dir, "f", handler, NULL, err) < 0)
		abort();
}

static int requester(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/f.sock", dir);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What the daemon sent on fd so far: nothing, or one JSON object.
 * Returns 1 once the daemon has closed the connection. */
static int check_answer(int fd)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n > 0) {
		struct json_object *j;
		buf[n] = 0;
		j = json_tokener_parse(buf);
		assert(j && json_object_is_type(j, json_type_object));
		json_object_put(j);
	}
	return n == 0;
}

/* Checks the answers of the requesters the daemon has written to or
 * closed: one poll for all of them, a read only where there is something
 * (those it closed are not asked again). */
static void check_answers(const int *fds, int nfd, int *closed)
{
	struct pollfd pfd[32];
	int n = 0, map[32];

	for (int i = 0; i < nfd; i++)
		if (!closed[i]) {
			pfd[n] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
			map[n++] = i;
		}
	if (n == 0 || poll(pfd, (nfds_t)n, 0) <= 0)
		return;
	for (int k = 0; k < n; k++)
		if (pfd[k].revents)
			closed[map[k]] = check_answer(pfd[k].fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[32], closed[32], nfd = 0;
	uint64_t now = ev_now_ms();
	size_t off = 0;

	if (!ev.epfd)
		setup();
	while (off + 3 <= size && nfd < 32) {
		uint8_t op = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

		off += 3;
		if (len > size - off)
			len = size - off;
		if (op % 3 == 0 || (op % 3 == 1 && !nfd)) {
			if ((fds[nfd] = requester()) < 0)
				break;
			closed[nfd++] = 0;
		}
		if (op % 3 == 2) {
			now += (uint64_t)(op >> 2) * 500;
			ctl_server_tick(&ctl, now);
		} else {
			if (send(fds[nfd - 1], data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				;
			off += len;
		}
		/* two turns (an accept, then the bytes), the second only when the
		 * first had something to do */
		for (int i = 0; i < 2 && ev_run_once(&ev, 0) > 0; i++)
			;
		assert(ctl.open_conns <= 16);
		check_answers(fds, nfd, closed);
	}
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	for (int i = 0; i < 4 && ev_run_once(&ev, 0) > 0; i++)
		;
	ctl_server_tick(&ctl, now + 10 * CTL_DEADLINE_MS);
	assert(ctl.open_conns == 0);
	return 0;
}
