/* common/fdpass: a descriptor travels with its message; extra descriptors
 * and cut messages are refused with everything they brought closed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fdpass.h"

/* Open descriptors of this process. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* opendir's own */
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_one_descriptor(void **state)
{
	int sv[2], p[2], fd;
	char buf[16];

	pair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fdpass_send(sv[0], "hello", 5, p[1], 0), 0);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), &fd, MSG_DONTWAIT), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_true(fd >= 0 && fd != p[1]);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	close(fd);
	/* None sent, none received; nothing waiting: EAGAIN. */
	assert_int_equal(fdpass_send(sv[0], "hi", 2, -1, 0), 0);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), &fd, MSG_DONTWAIT), 2);
	assert_int_equal(fd, -1);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), &fd, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

/* A peer that sends three descriptors at once (not through fdpass_send). */
static void send_three(int sock, const int fds[3])
{
	union { char b[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr a; } u;
	struct iovec iov = { (void *)"x", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, 3 * sizeof(int));
	assert_int_equal(sendmsg(sock, &mh, 0), 1);
}

static void test_extra_descriptors_refused_and_closed(void **state)
{
	int sv[2], p[2], fds[3], fd, before;
	char buf[16];

	pair(sv);
	assert_int_equal(pipe(p), 0);
	fds[0] = fds[1] = fds[2] = p[1];
	before = open_fds();
	send_three(sv[0], fds);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), &fd, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fds(), before);   /* none left behind */
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

static void test_cut_message_refused_and_closed(void **state)
{
	int sv[2], p[2], fd, before;
	char buf[4];

	pair(sv);
	assert_int_equal(pipe(p), 0);
	before = open_fds();
	assert_int_equal(fdpass_send(sv[0], "too long", 8, p[1], 0), 0);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), &fd, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fds(), before);
	close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

static void test_closed_peer(void **state)
{
	int sv[2], fd;
	char buf[4];

	pair(sv);
	close(sv[1]);
	assert_int_equal(fdpass_send(sv[0], "x", 1, -1, 0), -1);   /* EPIPE, no signal */
	assert_int_equal(errno, EPIPE);
	close(sv[0]);
	pair(sv);
	close(sv[0]);
	assert_int_equal(fdpass_recv(sv[1], buf, sizeof(buf), &fd, 0), 0);   /* the end */
	assert_int_equal(fd, -1);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_descriptor),
		cmocka_unit_test(test_extra_descriptors_refused_and_closed),
		cmocka_unit_test(test_cut_message_refused_and_closed),
		cmocka_unit_test(test_closed_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
