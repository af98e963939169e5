/* Tests of the daemon-helper protocol (src/common/privsep.c), the packed
 * configuration (src/common/cfgpack.c) and the helper's script operation
 * (src/common/helper.c) with a real forked helper on a socketpair: what
 * is built parses back, every malformed message is refused with a reason,
 * calls match their replies past events, time out and see the helper's
 * end; the helper runs only the script its own configuration names and
 * ends on a request it does not take. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cfgpack.h"
#include "common/helper.h"
#include "common/log.h"
#include "common/privsep.h"
#include "client/helper.h"

static char dir[64];

static struct ps_msg *msg(void)
{
	static struct ps_msg m;

	memset(&m, 0, sizeof(m));
	return &m;
}

static void test_round_trip(void **state)
{
	struct ps_out *o = malloc(sizeof(*o));
	struct ps_msg *m = msg();
	char why[ERRLEN], s[64];

	ps_begin(o, PS_RUN_SCRIPT, 77);
	ps_put_u32(o, PT_ID, 5);
	ps_put_u32(o, PT_EVENT, PS_EV_CONNECT);
	ps_put_str(o, PT_NAME, "connect-script #5");
	ps_put_str(o, PT_ENV, "IPHTTPS_ID=5");
	ps_put_str(o, PT_ENV, "IPHTTPS_SUBJECT=CN=a b");
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_int_equal(m->type, PS_RUN_SCRIPT);
	assert_int_equal(m->id, 77);
	assert_int_equal(ps_u32(m, PT_ID, 0), 5);
	assert_int_equal(ps_u32(m, PT_STATUS, 9), 9);   /* absent: the default */
	assert_int_equal(ps_count(m, PT_ENV), 2);
	assert_int_equal(ps_str(m, PT_ENV, 1, s, sizeof(s)), 22);
	assert_string_equal(s, "IPHTTPS_SUBJECT=CN=a b");
	assert_int_equal(ps_str(m, PT_ENV, 2, s, sizeof(s)), -1);
	/* cut to the caller's buffer, the length is the field's */
	assert_int_equal(ps_str(m, PT_NAME, 0, s, 8), 17);
	assert_string_equal(s, "connect");

	ps_begin(o, PS_CHILD_STATUS, 0);
	ps_put_u32(o, PT_WHICH, PS_CHILD_UNBOUND);
	ps_put_u32(o, PT_STATE, 2);
	ps_put_u32(o, PT_PID, 1234);
	ps_put_u32(o, PT_STARTS, 3);
	ps_put_u32(o, PT_RESTARTS, 2);
	ps_put_u64(o, PT_SINCE, 0x123456789abcULL);
	ps_put_u64(o, PT_LASTEXIT, 0);
	ps_put_u32(o, PT_STATUS, 256);
	ps_put_u32(o, PT_HASSTATUS, 1);
	ps_put_u32(o, PT_BACKOFF, 2000);
	ps_put_str(o, PT_TEXT, "exited with status 1");
	ps_put_str(o, PT_LINE, "");
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_true(ps_u64(m, PT_SINCE, 0) == 0x123456789abcULL);
	assert_int_equal(ps_str(m, PT_LINE, 0, s, sizeof(s)), 0);

	/* the client's: servers and domains, at most as many as an RA keeps */
	ps_begin(o, PS_DNS_SET, 0);
	for (int i = 0; i < 4; i++)
		ps_put_bytes(o, PT_SERVER, "0123456789abcdef", 16);
	ps_put_str(o, PT_DOMAIN, "corp.example");
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_int_equal(ps_count(m, PT_SERVER), 4);
	ps_put_bytes(o, PT_SERVER, "0123456789abcdef", 16);
	assert_int_equal(ps_parse(o->b, o->len, m, why), -1);   /* a fifth */
	ps_begin(o, PS_DNS_SET, 0);
	ps_put_bytes(o, PT_SERVER, "0123456789abcdefg", 17);
	assert_int_equal(ps_parse(o->b, o->len, m, why), -1);
	ps_begin(o, PS_OPEN, 9);
	ps_put_u32(o, PT_KIND, 1);
	ps_put_str(o, PT_PATH, "/etc/iphttps/client1.key");
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_string_equal(ps_type_name(m->type), "open");

	ps_begin(o, PS_FAILED, 3);
	ps_put_str(o, PT_ERR, "server.conf:4: listen: bad");
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_string_equal(ps_type_name(m->type), "failed");
	free(o);
}

/* buf: a header of type and n fields, then raw bytes. */
static size_t raw(uint8_t *buf, unsigned type, unsigned n, const void *rest, size_t len)
{
	buf[0] = (uint8_t)(type >> 8), buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(n >> 8), buf[3] = (uint8_t)n;
	memset(buf + 4, 0, 4);
	memcpy(buf + PS_HDR, rest, len);
	return PS_HDR + len;
}

static void refused(const uint8_t *b, size_t len, const char *reason)
{
	char why[ERRLEN] = "";

	assert_int_equal(ps_parse(b, len, msg(), why), -1);
	if (!strstr(why, reason))
		fail_msg("refused as \"%s\", expected \"%s\"", why, reason);
}

static void test_malformed_refused(void **state)
{
	uint8_t b[256];
	struct ps_out *o = malloc(sizeof(*o));
	char big[PS_STR_MAX + 2];

	refused(b, raw(b, PS_DONE, 0, "", 0) - 1, "a message of 7 bytes");
	refused(b, raw(b, 0, 0, "", 0), "message type 0");
	refused(b, raw(b, PS_TYPE_MAX, 0, "", 0), "message type");
	refused(b, raw(b, PS_DONE, PS_FIELDS_MAX + 1, "", 0), "fields");
	/* a field header cut short, a field longer than the datagram */
	refused(b, raw(b, PS_STOP_SCRIPT, 1, "\0\1\0", 3), "cut short");
	refused(b, raw(b, PS_STOP_SCRIPT, 1, "\0\1\0\4\0\0\0", 7), "is not one it takes");
	/* a tag the type does not take; a u32 of 3 bytes */
	refused(b, raw(b, PS_STOP_SCRIPT, 1, "\0\2\0\4\0\0\0\1", 8), "tag 2");
	refused(b, raw(b, PS_STOP_SCRIPT, 1, "\0\1\0\3\0\0\1", 7), "3 bytes");
	/* bytes after the fields; a required field missing; one too many */
	refused(b, raw(b, PS_STOP_SCRIPT, 1, "\0\1\0\4\0\0\0\1X", 9), "1 bytes after");
	refused(b, raw(b, PS_STOP_SCRIPT, 0, "", 0), "0 times (1 to 1 allowed)");
	refused(b, raw(b, PS_STOP_SCRIPT, 2, "\0\1\0\4\0\0\0\1\0\1\0\4\0\0\0\2", 16),
		"2 times (1 to 1 allowed)");
	/* a string with a NUL; a string over its maximum */
	ps_begin(o, PS_FAILED, 1);
	ps_put_bytes(o, PT_ERR, "a\0b", 3);
	refused(o->b, o->len, "is not one it takes");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ps_begin(o, PS_RUN_SCRIPT, 1);
	ps_put_u32(o, PT_ID, 1);
	ps_put_u32(o, PT_EVENT, 1);
	ps_put_str(o, PT_NAME, "n");
	ps_put_str(o, PT_ENV, big);
	refused(o->b, o->len, "4097 bytes");
	/* more variables than a script takes */
	ps_begin(o, PS_RUN_SCRIPT, 1);
	ps_put_u32(o, PT_ID, 1);
	ps_put_u32(o, PT_EVENT, 1);
	ps_put_str(o, PT_NAME, "n");
	for (int i = 0; i < 23; i++)
		ps_put_str(o, PT_ENV, "IPHTTPS_X=1");
	refused(o->b, o->len, "23 times");
	/* a message larger than PS_MSG_MAX is never built: not sent */
	ps_begin(o, PS_FAILED, 1);
	for (int i = 0; i < 20; i++)
		ps_put_str(o, PT_ERR, big);
	assert_true(o->overflow);
	errno = 0;
	assert_int_equal(ps_send(-1, o, -1), -1);
	assert_int_equal(errno, EMSGSIZE);
	free(o);
}

static int events_seen;

static void on_event(void *arg, const struct ps_msg *m)
{
	assert_int_equal(m->type, PS_SCRIPT_DONE);
	events_seen++;
}

static void send_type(int fd, unsigned type, uint32_t id, int pass_fd)
{
	struct ps_out o;

	ps_begin(&o, type, id);
	if (type == PS_SCRIPT_DONE) {
		ps_put_u32(&o, PT_ID, 1);
		ps_put_u32(&o, PT_STATUS, 0);
		ps_put_u32(&o, PT_TIMEDOUT, 0);
	}
	assert_int_equal(ps_send(fd, &o, pass_fd), 0);
}

static void test_channel(void **state)
{
	int fds[2], got = -1, pipefd[2];
	struct ps_chan *c = malloc(sizeof(*c));
	struct ps_out o;
	struct ps_msg *m = malloc(sizeof(*m));
	uint8_t *buf = malloc(PS_MSG_MAX);
	char why[ERRLEN];
	pid_t pid;

	assert_int_equal(ps_pair(fds), 0);
	ps_chan_init(c, fds[0]);
	/* A descriptor passed with a message arrives with it. */
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	send_type(fds[1], PS_DONE, 0, pipefd[1]);
	assert_int_equal(ps_recv(fds[0], buf, PS_MSG_MAX, &got, 1), PS_HDR);
	assert_true(got >= 0 && got != pipefd[1]);
	assert_int_equal(write(got, "x", 1), 1);
	close(got);
	close(pipefd[0]);
	close(pipefd[1]);
	/* A call: an event first (handed to on_event), then the reply. */
	pid = fork();
	if (pid == 0) {
		ssize_t n = ps_recv(fds[1], buf, PS_MSG_MAX, NULL, 1);
		if (n < PS_HDR || ps_parse(buf, (size_t)n, m, why) < 0)
			_exit(1);
		send_type(fds[1], PS_SCRIPT_DONE, 0, -1);
		send_type(fds[1], PS_DONE, m->id, -1);
		/* the next request: no answer, then the end */
		n = ps_recv(fds[1], buf, PS_MSG_MAX, NULL, 1);
		usleep(300 * 1000);
		_exit(0);
	}
	ps_begin(&o, PS_RELOAD, 0);
	events_seen = 0;
	assert_int_equal(ps_call(c, &o, m, NULL, 5000, on_event, NULL, why), 0);
	assert_int_equal(m->type, PS_DONE);
	assert_int_equal(events_seen, 1);
	/* no answer in time */
	ps_begin(&o, PS_RELOAD, 0);
	assert_int_equal(ps_call(c, &o, m, NULL, 100, on_event, NULL, why), -1);
	assert_non_null(strstr(why, "did not answer in time"));
	close(fds[1]);
	waitpid(pid, NULL, 0);
	/* the helper gone */
	assert_int_equal(ps_call(c, &o, m, NULL, 5000, on_event, NULL, why), -1);
	assert_non_null(strstr(why, "the privileged helper is gone"));
	close(fds[0]);
	/* An event where none is taken is an error; so is a reply of another id. */
	assert_int_equal(ps_pair(fds), 0);
	ps_chan_init(c, fds[0]);
	send_type(fds[1], PS_SCRIPT_DONE, 0, -1);
	ps_begin(&o, PS_RELOAD, 0);
	assert_int_equal(ps_call(c, &o, m, NULL, 2000, NULL, NULL, why), -1);
	assert_non_null(strstr(why, "unexpected script-done"));
	send_type(fds[1], PS_DONE, 999, -1);
	assert_int_equal(ps_call(c, &o, m, NULL, 2000, on_event, NULL, why), -1);
	assert_non_null(strstr(why, "unexpected done"));
	close(fds[0]);
	close(fds[1]);
	free(c);
	free(m);
	free(buf);
}

struct toy {
	char *name;
	struct strlist items;
	long n;
	int flag, choice;
};

static const char *const choices[] = { "a", "b", "c", NULL };
static const struct opt_def toy_opts[] = {
	{ "name", 0, OPT_STR, offsetof(struct toy, name), "S", "" },
	{ "item", 0, OPT_LIST, offsetof(struct toy, items), "S", "" },
	{ "n", 0, OPT_INT, offsetof(struct toy, n), "N", "", -5, 100 },
	{ "flag", 0, OPT_FLAG, offsetof(struct toy, flag), NULL, "" },
	{ "choice", 0, OPT_ENUM, offsetof(struct toy, choice), "C", "", 0, 0, choices },
	{ NULL },
};

static void test_cfgpack(void **state)
{
	struct toy a = { .name = (char *)"srv", .n = -3, .flag = 1, .choice = 2 }, b;
	struct opts_origin oa = { .file = "/etc/x.conf" }, ob;
	struct ps_out *o = malloc(sizeof(*o));
	struct ps_msg *m = msg();
	char why[ERRLEN];

	a.items.n = 2;
	a.items.v[0] = (char *)"one";
	a.items.v[1] = (char *)"two";
	a.items.line[0] = 3;
	a.items.line[1] = 0;
	oa.line[2] = 7;
	ps_begin(o, PS_RELOADED, 1);
	cfgpack_put(o, toy_opts, &a, &oa);
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(cfgpack_get(m, toy_opts, &b, &ob, why), 0);
	assert_string_equal(b.name, "srv");
	assert_int_equal(b.items.n, 2);
	assert_string_equal(b.items.v[1], "two");
	assert_int_equal(b.items.line[0], 3);
	assert_int_equal(b.n, -3);
	assert_int_equal(b.flag, 1);
	assert_int_equal(b.choice, 2);
	assert_string_equal(ob.file, "/etc/x.conf");
	assert_int_equal(ob.line[2], 7);
	opts_free(toy_opts, &b);
	/* A value the table does not allow is refused, naming the option. */
	a.n = 101;
	ps_begin(o, PS_RELOADED, 1);
	cfgpack_put(o, toy_opts, &a, &oa);
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(cfgpack_get(m, toy_opts, &b, &ob, why), -1);
	assert_non_null(strstr(why, "option n"));
	opts_free(toy_opts, &b);
	a.n = 1;
	a.choice = 3;
	ps_begin(o, PS_RELOADED, 1);
	cfgpack_put(o, toy_opts, &a, &oa);
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(cfgpack_get(m, toy_opts, &b, &ob, why), -1);
	assert_non_null(strstr(why, "option choice"));
	opts_free(toy_opts, &b);
	/* an option index past the table */
	ps_begin(o, PS_RELOADED, 1);
	cfgpack_put(o, toy_opts, &(struct toy){ 0 }, &oa);
	ps_put_u32(o, PT_OPT_BASE + 9, 1);
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(cfgpack_get(m, toy_opts, &b, &ob, why), -1);
	assert_non_null(strstr(why, "(unknown)"));
	opts_free(toy_opts, &b);
	/* a number missing (it would be 0, maybe out of its bounds), or twice */
	ps_begin(o, PS_RELOADED, 1);
	ps_put_u32(o, PT_OPT_BASE + 3, 1);
	ps_put_u32(o, PT_OPT_BASE + 4, 0);
	ps_put_bytes(o, PT_CFG_LINES, "", 0);
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(cfgpack_get(m, toy_opts, &b, &ob, why), -1);
	assert_non_null(strstr(why, "no value of option n"));
	ps_begin(o, PS_RELOADED, 1);
	cfgpack_put(o, toy_opts, &(struct toy){ 0 }, &oa);
	ps_put_u32(o, PT_OPT_BASE + 3, 0);
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_int_equal(cfgpack_get(m, toy_opts, &b, &ob, why), -1);
	assert_non_null(strstr(why, "option flag"));
	opts_free(toy_opts, &b);
	free(o);
}

/* ---- a real helper, scripts only ---- */

static int helper_op(struct helper *hp, const struct ps_msg *m, void *arg)
{
	if (m->type != PS_RELOAD)
		return -1;
	helper_reply_done(hp, m);
	return 0;
}

/* Fork a helper whose connect script is path; the daemon's channel. */
static pid_t start_helper(const char *path, struct ps_chan *c)
{
	int fds[2];
	pid_t pid;

	assert_int_equal(ps_pair(fds), 0);
	pid = helper_fork(&fds[1], 1);
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct helper hp;
		static struct evloop ev;
		if (ev_init(&ev) < 0 || helper_init(&hp, &ev, 0, helper_op, NULL) < 0)
			_exit(3);
		hp.hook_timeout_ms = 5000;
		hp.script_for[PS_EV_CONNECT] = path;
		helper_loop(&hp, NULL, NULL);
		helper_finish(&hp);
		_exit(0);
	}
	close(fds[1]);
	/* every wait below bounded */
	assert_int_equal(setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ 10, 0 },
				    sizeof(struct timeval)), 0);
	ps_chan_init(c, fds[0]);
	return pid;
}

static void run_request(struct ps_out *o, uint32_t id, unsigned event, const char *env)
{
	ps_begin(o, PS_RUN_SCRIPT, 0);
	ps_put_u32(o, PT_ID, id);
	ps_put_u32(o, PT_EVENT, event);
	ps_put_str(o, PT_NAME, "connect-script #1");
	if (env)
		ps_put_str(o, PT_ENV, env);
}

/* The helper's exit status once it ends by itself (bounded). */
static int helper_end(pid_t pid)
{
	int st = -1;

	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	fail_msg("the helper did not end");
	return st;
}

static void test_helper_runs_only_its_scripts(void **state)
{
	char path[128], out[128], buf[256], why[ERRLEN];
	struct ps_chan *c = malloc(sizeof(*c));
	struct ps_out *o = malloc(sizeof(*o));
	struct ps_msg *m = malloc(sizeof(*m));
	FILE *f;
	pid_t pid;
	int fd;
	ssize_t n;

	snprintf(out, sizeof(out), "%s/env", dir);
	snprintf(path, sizeof(path), "%s/connect.sh", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\necho \"$IPHTTPS_EVENT $IPHTTPS_ID\" > %s\necho said so; exit 3\n", out);
	fclose(f);
	chmod(path, 0755);

	pid = start_helper(path, c);
	/* The configured script, with the daemon's variables: its end comes
	 * back as an event with its status and last line. */
	run_request(o, 41, PS_EV_CONNECT, "IPHTTPS_ID=41");
	assert_int_equal(ps_send(c->fd, o, -1), 0);
	n = ps_recv(c->fd, c->in, sizeof(c->in), NULL, 1);
	assert_true(n > 0);
	assert_int_equal(ps_parse(c->in, (size_t)n, m, why), 0);
	assert_int_equal(m->type, PS_SCRIPT_DONE);
	assert_int_equal(ps_u32(m, PT_ID, 0), 41);
	assert_int_equal(ps_u32(m, PT_STATUS, 0), 3 << 8);
	ps_str(m, PT_LINE, 0, buf, sizeof(buf));
	assert_string_equal(buf, "said so");
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "connect 41\n");
	/* The daemon's end: the helper ends too. */
	close(c->fd);
	assert_int_equal(helper_end(pid), 0);

	/* An event it has no script for, a variable that is not IPHTTPS_*,
	 * one that sets IPHTTPS_EVENT: the helper refuses and ends. */
	const char *bad[] = { NULL, "PATH=/tmp", "LD_PRELOAD=/x.so", "IPHTTPS_EVENT=up", "IPHTTPS_a=1" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid = start_helper(path, c);
		run_request(o, 1, bad[i] ? PS_EV_CONNECT : PS_EV_DISCONNECT, bad[i]);
		assert_int_equal(ps_send(c->fd, o, -1), 0);
		n = ps_recv(c->fd, c->in, sizeof(c->in), NULL, 1);
		assert_int_equal(n, 0);         /* its end, no script run */
		close(c->fd);
		assert_int_equal(helper_end(pid), 0);
	}
	/* A malformed message, a reply-only type: the helper ends. */
	for (int i = 0; i < 2; i++) {
		pid = start_helper(path, c);
		if (i == 0)
			assert_int_equal(send(c->fd, "\0\7\0\1junk", 8, 0), 8);
		else
			send_type(c->fd, PS_DONE, 5, -1);
		n = ps_recv(c->fd, c->in, sizeof(c->in), NULL, 1);
		assert_int_equal(n, 0);
		close(c->fd);
		assert_int_equal(helper_end(pid), 0);
	}
	free(c);
	free(o);
	free(m);
}

/* PS_DNS_SET: the client's helper writes the domains into
 * /etc/resolv.conf (a "search" line) or hands them to resolvconf, as
 * root.  A compromised daemon sending a domain with a newline would add
 * lines of its own ("nameserver", "options"); an empty name would route
 * every name to the tunnel in split mode.  Only names the RA parser
 * itself accepts (nd_domain_encode) pass; the rest end the helper. */
static void test_dns_set_domains_checked(void **state)
{
	static const char *const bad[] = {
		"corp.example\nnameserver 192.0.2.1", "corp.example\noptions ndots:15", "a b", "a\tb",
		"corp.example;x", "#x", "", ".", "a..b", "\r",
	};
	struct ps_out *o = malloc(sizeof(*o));
	struct ps_msg *m = msg();
	struct dns_set *set = malloc(sizeof(*set));
	uint8_t srv[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };
	char why[ERRLEN];

	ps_begin(o, PS_DNS_SET, 1);
	ps_put_bytes(o, PT_SERVER, srv, 16);
	ps_put_str(o, PT_DOMAIN, "corp.example");
	ps_put_str(o, PT_DOMAIN, "Sub-1.corp_2.example.");
	assert_int_equal(ps_parse(o->b, o->len, m, why), 0);
	assert_int_equal(client_helper_dns_set(m, set), 0);
	assert_int_equal(set->n_servers, 1);
	assert_memory_equal(&set->servers[0], srv, 16);
	assert_int_equal(set->n_domains, 2);
	assert_string_equal(set->domains[1], "Sub-1.corp_2.example.");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ps_begin(o, PS_DNS_SET, 1);
		ps_put_bytes(o, PT_SERVER, srv, 16);
		ps_put_str(o, PT_DOMAIN, "corp.example");
		ps_put_str(o, PT_DOMAIN, bad[i]);
		assert_int_equal(ps_parse(o->b, o->len, m, why), 0);   /* well-formed: the helper's check */
		if (client_helper_dns_set(m, set) != -1)
			fail_msg("domain %zu (\"%s\") accepted", i, bad[i]);
	}
	free(set);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_cfgpack),
		cmocka_unit_test(test_helper_runs_only_its_scripts),
		cmocka_unit_test(test_dns_set_domains_checked),
	};
	int rc;

	log_init("test_privsep", -1);
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/iphttps-privsep-XXXXXX");
	assert_non_null(mkdtemp(dir));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return rc;
}
