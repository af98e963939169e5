/* Unit tests of the HTTP proxy layer (src/dial/proxy.c, proxy_auth.c):
 * proxy URLs, https_proxy/no_proxy, Proxy-Authenticate challenges, Basic
 * and Digest credentials (RFC 7617 and RFC 7616 examples), and CONNECT
 * exchanges against a scripted fake proxy on a loopback listener. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dial/proxy.h"
#include "dial/proxy_auth.h"
#include "errors.h"

/* ---- URLs ---- */

static void test_url_good(void **state)
{
	struct proxy_cfg p;
	char err[ERRLEN];

	assert_int_equal(proxy_parse_url("http://proxy.example:3128", &p, err), 0);
	assert_string_equal(p.host, "proxy.example");
	assert_string_equal(p.port, "3128");
	assert_int_equal(p.has_auth, 0);

	/* no scheme and no port: http and 1080, as curl */
	assert_int_equal(proxy_parse_url("proxy.example", &p, err), 0);
	assert_string_equal(p.host, "proxy.example");
	assert_string_equal(p.port, "1080");

	assert_int_equal(proxy_parse_url("HTTP://10.0.0.1:8080/", &p, err), 0);
	assert_string_equal(p.host, "10.0.0.1");
	assert_string_equal(p.port, "8080");

	/* percent-decoded user and password, IPv6 literal */
	assert_int_equal(proxy_parse_url("http://us%40er:p%3As%2fs@[2001:db8::1]:8080", &p, err), 0);
	assert_string_equal(p.user, "us@er");
	assert_string_equal(p.pass, "p:s/s");
	assert_string_equal(p.host, "2001:db8::1");
	assert_string_equal(p.port, "8080");
	assert_int_equal(p.has_auth, 1);

	/* the last '@' ends the user info; user without password */
	assert_int_equal(proxy_parse_url("http://a@b:c@h", &p, err), 0);
	assert_string_equal(p.user, "a@b");
	assert_string_equal(p.pass, "c");
	assert_int_equal(proxy_parse_url("http://alice@h:1", &p, err), 0);
	assert_string_equal(p.user, "alice");
	assert_string_equal(p.pass, "");
	assert_int_equal(p.has_auth, 1);
	assert_int_equal(proxy_parse_url("http://[::1]", &p, err), 0);
	assert_string_equal(p.host, "::1");
	assert_string_equal(p.port, "1080");
}

static void test_url_bad(void **state)
{
	static const char *const bad[] = {
		"http://", "http://:8080", "http://u:p@", "http://u:p@:1", "http://h:0",
		"http://h:65536", "http://h:12a", "http://h:", "https://h:1", "socks5://h:1",
		"http://[::1", "http://[zz]:1", "http://[::1]x", "http://u:p%zz@h", "http://u%00x@h",
		"http://h:1/path", "http://h h:1", "http://:pw@h", "ftp://h",
	};
	struct proxy_cfg p;
	char err[ERRLEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (proxy_parse_url(bad[i], &p, err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strlen(err) > 10);
	}
	/* a message never shows the password */
	assert_int_equal(proxy_parse_url("http://u:topsecret@:1", &p, err), -1);
	assert_null(strstr(err, "topsecret"));
	assert_non_null(strstr(err, "***"));
	assert_non_null(strstr(err, "no host"));
	assert_int_equal(proxy_parse_url("https://u:topsecret@h:1", &p, err), -1);
	assert_null(strstr(err, "topsecret"));
}

/* ---- environment ---- */

static void clear_env(void)
{
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
}

static void test_env(void **state)
{
	struct proxy_cfg p;
	char err[ERRLEN];

	clear_env();
	assert_int_equal(proxy_from_env(&p, "da.example.com", err), 0);
	setenv("HTTPS_PROXY", "http://upper:3128", 1);
	assert_int_equal(proxy_from_env(&p, "da.example.com", err), 1);
	assert_string_equal(p.host, "upper");
	/* the lower-case name wins, as in curl; an empty one counts as unset */
	setenv("https_proxy", "lower:8080", 1);
	assert_int_equal(proxy_from_env(&p, "da.example.com", err), 1);
	assert_string_equal(p.host, "lower");
	assert_string_equal(p.port, "8080");
	setenv("https_proxy", "", 1);
	assert_int_equal(proxy_from_env(&p, "da.example.com", err), 1);
	assert_string_equal(p.host, "upper");
	/* malformed: -1 naming the variable, never the password */
	setenv("https_proxy", "http://u:hunter2@:0", 1);
	assert_int_equal(proxy_from_env(&p, "da.example.com", err), -1);
	assert_non_null(strstr(err, "https_proxy"));
	assert_null(strstr(err, "hunter2"));
	clear_env();
}

/* Whether a proxy applies to host with no_proxy set to list. */
static int applies(const char *list, const char *host)
{
	struct proxy_cfg p;
	char err[ERRLEN];
	int r;

	setenv("https_proxy", "http://proxy:3128", 1);
	setenv("no_proxy", list, 1);
	r = proxy_from_env(&p, host, err);
	assert_int_not_equal(r, -1);
	return r;
}

static void test_no_proxy(void **state)
{
	clear_env();
	assert_int_equal(applies("*", "da.example.com"), 0);
	assert_int_equal(applies("example.com", "da.example.com"), 0);
	assert_int_equal(applies("example.com", "example.com"), 0);
	assert_int_equal(applies("example.com", "badexample.com"), 1);
	assert_int_equal(applies(".example.com", "da.example.com"), 0);
	assert_int_equal(applies(".example.com", "example.com"), 0);
	assert_int_equal(applies("EXAMPLE.COM", "Da.Example.com"), 0);
	assert_int_equal(applies("example.com", "da.example.com."), 0);
	assert_int_equal(applies("foo, bar.org ,example.com", "x.example.com"), 0);
	assert_int_equal(applies("foo, bar.org", "x.example.com"), 1);
	assert_int_equal(applies("da.example.com", "example.com"), 1);
	assert_int_equal(applies("", "example.com"), 1);
	assert_int_equal(applies("192.0.2.7", "192.0.2.7"), 0);
	assert_int_equal(applies("192.0.2.0/24", "192.0.2.77"), 0);
	assert_int_equal(applies("192.0.2.0/24", "192.0.3.1"), 1);
	assert_int_equal(applies("[2001:db8::1]", "2001:db8::1"), 0);
	assert_int_equal(applies("2001:db8::/32", "2001:db8:5::1"), 0);
	assert_int_equal(applies("2.7", "192.0.2.7"), 1);
	/* NO_PROXY when no_proxy is unset */
	unsetenv("no_proxy");
	setenv("NO_PROXY", "example.com", 1);
	{
		struct proxy_cfg p;
		char err[ERRLEN];
		assert_int_equal(proxy_from_env(&p, "a.example.com", err), 0);
		assert_int_equal(proxy_from_env(&p, "a.example.org", err), 1);
	}
	clear_env();
}

/* ---- answers and credentials ---- */

/* proxy_resp_scan of the NUL-terminated s. */
static void scan(const char *s, struct proxy_resp_info *info)
{
	proxy_resp_scan(s, strlen(s), info);
}

static void test_scan(void **state)
{
	static const char hdr[] =
		"HTTP/1.1 407 Proxy Authentication Required\r\n"
		"Server: squid/5.7\r\n"
		"X-Squid-Error: ERR_CACHE_ACCESS_DENIED 0\r\n"
		"Proxy-Authenticate: Basic realm=\"Squid \\\"proxy\\\"\"\r\n"
		"Proxy-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth,auth-int\", stale=TRUE, algorithm=MD5,"
		" Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\", opaque=\"op\", userhash=true\r\n"
		"Proxy-Authenticate: NTLM\r\n"
		"Content-Length: 1234\r\n"
		"Connection: keep-alive\r\n\r\n";
	struct proxy_resp_info info;
	const struct proxy_challenge *c;
	char words[400];

	proxy_resp_scan(hdr, sizeof(hdr) - 1, &info);
	assert_int_equal(info.n_chal, 4);
	assert_int_equal(info.chal[0].scheme, PA_BASIC);
	assert_string_equal(info.chal[0].realm, "Squid \"proxy\"");
	assert_int_equal(info.chal[1].scheme, PA_DIGEST);
	assert_string_equal(info.chal[1].nonce, "n1");
	assert_true(info.chal[1].qop_auth && info.chal[1].qop_auth_int && info.chal[1].stale);
	assert_string_equal(info.chal[2].algorithm, "SHA-256");
	assert_string_equal(info.chal[2].opaque, "op");
	assert_true(info.chal[2].userhash && !info.chal[2].stale && !info.chal[2].qop_auth_int);
	assert_int_equal(info.chal[3].scheme, PA_OTHER);
	assert_string_equal(info.chal[3].name, "NTLM");
	assert_int_equal(info.content_length, 1234);
	assert_int_equal(info.close, 0);
	assert_string_equal(info.squid_error, "ERR_CACHE_ACCESS_DENIED 0");
	c = proxy_choose(&info);
	assert_ptr_equal(c, &info.chal[2]);       /* Digest SHA-256 first */
	proxy_describe(&info, words, sizeof(words));
	assert_non_null(strstr(words, "Basic"));
	assert_non_null(strstr(words, "SHA-256"));
	assert_non_null(strstr(words, "NTLM"));

	/* HTTP/1.0 closes; Connection: close; chunked; only NTLM usable: none */
	scan("HTTP/1.0 407 x\r\nProxy-Authenticate: NTLM\r\n\r\n", &info);
	assert_int_equal(info.close, 1);
	assert_int_equal(info.content_length, -1);
	assert_null(proxy_choose(&info));
	scan("HTTP/1.1 407 x\nConnection: Close\nTransfer-Encoding: chunked\n\n", &info);
	assert_int_equal(info.close, 1);
	assert_int_equal(info.chunked, 1);
	/* a Digest challenge without a nonce, or of an unknown algorithm, is unusable */
	scan("HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"a\", Digest realm=\"a\", nonce=\"b\", algorithm=SHA-1\r\n\r\n",
	     &info);
	assert_int_equal(info.n_chal, 2);
	assert_null(proxy_choose(&info));
}

static void test_basic(void **state)
{
	char out[128];

	/* RFC 7617 section 2 */
	assert_int_equal(proxy_basic_value("Aladdin", "open sesame", out, sizeof(out)), 34);
	assert_string_equal(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	assert_int_equal(proxy_basic_value("a:b", "c", out, sizeof(out)), -1);
	assert_int_equal(proxy_basic_value("Aladdin", "open sesame", out, 20), -1);
}

/* RFC 7616 section 3.9.1: the challenge, then the answer for Mufasa. */
static void rfc7616(const char *alg, const char *want)
{
	char hdr[512], out[1024], expect[128];
	struct proxy_resp_info info;

	snprintf(hdr, sizeof(hdr),
		 "HTTP/1.1 401 Unauthorized\r\nProxy-Authenticate: Digest"
		 "    realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=%s,"
		 " nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\","
		 " opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"\r\n\r\n", alg);
	scan(hdr, &info);
	assert_int_equal(info.n_chal, 1);
	assert_ptr_equal(proxy_choose(&info), &info.chal[0]);
	assert_true(proxy_digest_value(&info.chal[0], "Mufasa", "Circle of Life", "GET", "/dir/index.html",
				       "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1, out, sizeof(out)) > 0);
	snprintf(expect, sizeof(expect), "response=\"%s\"", want);
	if (!strstr(out, expect))
		fail_msg("%s: %s lacks %s", alg, out, expect);
	assert_non_null(strstr(out, "username=\"Mufasa\""));
	assert_non_null(strstr(out, "realm=\"http-auth@example.org\""));
	assert_non_null(strstr(out, "uri=\"/dir/index.html\""));
	assert_non_null(strstr(out, "qop=auth,"));
	assert_non_null(strstr(out, "nc=00000001"));
	assert_non_null(strstr(out, "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\""));
	assert_non_null(strstr(out, "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
	assert_null(strstr(out, "Circle"));
}

static void test_digest_rfc7616(void **state)
{
	rfc7616("MD5", "8ca523f5e9506fed4657c9700eebdbec");
	rfc7616("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void test_digest_forms(void **state)
{
	struct proxy_challenge c = { .scheme = PA_DIGEST };
	char out[1024];

	/* RFC 2617 section 3.5 without qop: the RFC 2069 form */
	strcpy(c.realm, "testrealm@host.com");
	strcpy(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
	assert_true(proxy_digest_value(&c, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1,
				       out, sizeof(out)) > 0);
	assert_null(strstr(out, "qop="));
	assert_null(strstr(out, "nc="));
	/* RFC 2617 section 3.5 with qop=auth */
	c.qop_auth = 1;
	strcpy(c.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	assert_true(proxy_digest_value(&c, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "0a4f113b", 1,
				       out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\""));
	/* an unknown algorithm, a buffer too small */
	strcpy(c.algorithm, "SHA-1");
	assert_int_equal(proxy_digest_value(&c, "u", "p", "GET", "/", "x", 1, out, sizeof(out)), -1);
	c.algorithm[0] = 0;
	assert_int_equal(proxy_digest_value(&c, "u", "p", "GET", "/", "x", 1, out, 40), -1);
	/* quotes in the user name are escaped */
	assert_true(proxy_digest_value(&c, "a\"b", "p", "GET", "/", "x", 1, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "username=\"a\\\"b\""));
}

/* ---- a scripted fake proxy ---- */

struct step {
	const char *resp;       /* NULL: close without answering; "": never answer */
	int close_after;        /* close the connection after this answer */
};

struct fake {
	int lfd;
	uint16_t port;
	const struct step *steps;
	int nsteps;
	int echo;               /* after a 200: read "ping", answer "pong" */
	char req[4][2048];
	int nreq, conns;
	pthread_t th;
};

/* Read one request header from fd into out.  Returns 1, or 0 on EOF. */
static int read_req(int fd, char *out, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = recv(fd, out + n, 1, 0);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		out[n] = 0;
		if (n >= 4 && !memcmp(out + n - 4, "\r\n\r\n", 4))
			return 1;
	}
	return 0;
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	struct timeval tv = { .tv_sec = 5 };
	int step = 0;

	while (step < f->nsteps) {
		struct pollfd p = { .fd = f->lfd, .events = POLLIN };
		int fd;
		if (poll(&p, 1, 5000) <= 0)
			break;
		if ((fd = accept(f->lfd, NULL, NULL)) < 0)
			break;
		f->conns++;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (step < f->nsteps && f->nreq < 4 && read_req(fd, f->req[f->nreq], sizeof(f->req[0]))) {
			const struct step *s = &f->steps[step++];
			char buf[8];
			f->nreq++;
			if (!s->resp)
				break;
			if (!s->resp[0]) {
				while (recv(fd, buf, sizeof(buf), 0) > 0)
					;
				break;
			}
			if (send(fd, s->resp, strlen(s->resp), MSG_NOSIGNAL) < 0 || s->close_after)
				break;
			if (f->echo && !strncmp(s->resp, "HTTP/1.1 200", 12)) {
				if (recv(fd, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "ping", 4))
					send(fd, "pong", 4, MSG_NOSIGNAL);
			}
		}
		close(fd);
	}
	return NULL;
}

/* Start a fake proxy on 127.0.0.1 playing steps. */
static void fake_start(struct fake *f, const struct step *steps, int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->steps = steps;
	f->nsteps = n;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

/* proxy_open through the fake with url's credentials; returns the fd. */
static int open_via(struct fake *f, const char *userinfo, int timeout_ms, struct connect_result *r)
{
	struct proxy_cfg p;
	char url[128], err[ERRLEN];

	snprintf(url, sizeof(url), "http://%s127.0.0.1:%u", userinfo, f->port);
	assert_int_equal(proxy_parse_url(url, &p, err), 0);
	memset(r, 0, sizeof(*r));
	return proxy_open(&p, "iphttps.test", "443", timeout_ms, r);
}

#define OK200 "HTTP/1.1 200 Connection established\r\n\r\n"
#define BODY "<html>denied</html>"
#define R407_BASIC "HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\n" \
	"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 19\r\n\r\n" BODY
#define R407_BASIC_CLOSE "HTTP/1.1 407 Proxy Authentication Required\r\n" \
	"Proxy-Authenticate: Basic realm=\"test\"\r\nConnection: close\r\n\r\n" BODY

static void test_connect_200(void **state)
{
	static const struct step steps[] = { { OK200, 0 } };
	struct connect_result r;
	struct fake f;
	char buf[4];
	int fd;

	fake_start(&f, steps, 1);
	f.echo = 1;
	fd = open_via(&f, "", 2000, &r);
	assert_true(fd >= 0);
	/* the socket is the tunnel */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	assert_int_equal(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(fd, buf, 4, 0), 4);
	assert_memory_equal(buf, "pong", 4);
	close(fd);
	fake_stop(&f);
	assert_int_equal(f.nreq, 1);
	assert_true(!strncmp(f.req[0], "CONNECT iphttps.test:443 HTTP/1.1\r\n", 35));
	assert_non_null(strstr(f.req[0], "\r\nHost: iphttps.test:443\r\n"));
	assert_null(strstr(f.req[0], "Proxy-Authorization"));
	assert_non_null(strstr(r.peer, "via 127.0.0.1:"));
}

static void test_connect_basic_same_conn(void **state)
{
	static const struct step steps[] = { { R407_BASIC, 0 }, { OK200, 0 } };
	struct connect_result r;
	struct fake f;
	int fd;

	fake_start(&f, steps, 2);
	fd = open_via(&f, "alice:s3cret@", 2000, &r);
	if (fd < 0)
		fail_msg("%s", r.why);
	close(fd);
	fake_stop(&f);
	assert_int_equal(f.conns, 1);
	assert_int_equal(f.nreq, 2);
	assert_null(strstr(f.req[0], "Proxy-Authorization"));
	/* alice:s3cret */
	assert_non_null(strstr(f.req[1], "\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"));
}

static void test_connect_basic_reconnect(void **state)
{
	static const struct step steps[] = { { R407_BASIC_CLOSE, 1 }, { OK200, 0 } };
	struct connect_result r;
	struct fake f;
	int fd;

	fake_start(&f, steps, 2);
	fd = open_via(&f, "alice:s3cret@", 2000, &r);
	if (fd < 0)
		fail_msg("%s", r.why);
	close(fd);
	fake_stop(&f);
	assert_int_equal(f.conns, 2);
	assert_non_null(strstr(f.req[1], "Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"));
}

static void test_connect_407_twice(void **state)
{
	static const struct step steps[] = { { R407_BASIC, 0 }, { R407_BASIC, 0 } };
	struct connect_result r;
	struct fake f;

	fake_start(&f, steps, 2);
	assert_int_equal(open_via(&f, "alice:s3cret@", 2000, &r), -1);
	fake_stop(&f);
	assert_int_equal(r.code, IPH_E_PROXY_AUTH);
	assert_string_equal(r.step, "proxy");
	assert_non_null(strstr(r.why, "407"));
	assert_non_null(strstr(r.why, "wrong user or password"));
	assert_non_null(strstr(r.why, "alice"));
	assert_null(strstr(r.why, "s3cret"));
}

static void test_connect_407_no_credentials(void **state)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 407 Proxy Authentication Required\r\n"
		  "Proxy-Authenticate: Digest realm=\"d\", nonce=\"n\", qop=\"auth\"\r\n"
		  "Proxy-Authenticate: Basic realm=\"b\"\r\nContent-Length: 0\r\n\r\n", 0 },
	};
	struct connect_result r;
	struct fake f;

	fake_start(&f, steps, 1);
	assert_int_equal(open_via(&f, "", 2000, &r), -1);
	fake_stop(&f);
	assert_int_equal(r.code, IPH_E_PROXY_AUTH);
	assert_non_null(strstr(r.why, "requires authentication"));
	assert_non_null(strstr(r.why, "Digest"));
	assert_non_null(strstr(r.why, "Basic"));
}

static void test_connect_403(void **state)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 403 Forbidden\r\nServer: squid/5.7\r\nX-Squid-Error: ERR_ACCESS_DENIED 0\r\n"
		  "Content-Length: 0\r\n\r\n", 0 },
	};
	struct connect_result r;
	struct fake f;

	fake_start(&f, steps, 1);
	assert_int_equal(open_via(&f, "alice:s3cret@", 2000, &r), -1);
	fake_stop(&f);
	assert_int_equal(r.code, IPH_E_PROXY);
	assert_non_null(strstr(r.why, "refused CONNECT iphttps.test:443"));
	assert_non_null(strstr(r.why, "403 Forbidden"));
	assert_non_null(strstr(r.why, "Server: squid/5.7"));
	assert_non_null(strstr(r.why, "ERR_ACCESS_DENIED"));
}

static void test_connect_closed(void **state)
{
	static const struct step steps[] = { { NULL, 1 } };
	struct connect_result r;
	struct fake f;

	fake_start(&f, steps, 1);
	assert_int_equal(open_via(&f, "", 2000, &r), -1);
	fake_stop(&f);
	assert_int_equal(r.code, IPH_E_PROXY);
	assert_non_null(strstr(r.why, "without answering CONNECT"));
}

static void test_connect_extra_bytes(void **state)
{
	static const struct step steps[] = { { OK200 "\x16\x03\x01", 0 } };
	struct connect_result r;
	struct fake f;

	fake_start(&f, steps, 1);
	assert_int_equal(open_via(&f, "", 2000, &r), -1);
	fake_stop(&f);
	assert_int_equal(r.code, IPH_E_PROXY);
	assert_non_null(strstr(r.why, "protocol error"));
	assert_non_null(strstr(r.why, "3 bytes"));
}

static void test_connect_timeout(void **state)
{
	static const struct step steps[] = { { "", 0 } };
	struct connect_result r;
	struct fake f;

	fake_start(&f, steps, 1);
	assert_int_equal(open_via(&f, "", 300, &r), -1);
	fake_stop(&f);
	assert_int_equal(r.code, IPH_E_TIMEDOUT);
	assert_non_null(strstr(r.why, "did not answer CONNECT"));
}

static void test_connect_refused(void **state)
{
	struct fake f = { 0 };
	struct connect_result r;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was just free: nothing listens there */
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	f.port = ntohs(a.sin_port);
	assert_int_equal(open_via(&f, "", 1000, &r), -1);
	assert_int_equal(r.code, IPH_E_CONNREFUSED);
	assert_non_null(strstr(r.why, "refused"));
}

/* Lower-case hex MD5 of s into out[33]. */
static void md5hex(const char *s, char out[33])
{
	unsigned char d[16];
	unsigned int n;

	EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The quoted or bare value of name= in the header h into out. */
static void param(const char *h, const char *name, char *out, size_t len)
{
	char key[32];
	const char *p;
	size_t n;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(h, key);
	assert_non_null(p);
	p += strlen(key);
	if (*p == '"')
		n = strcspn(++p, "\"");
	else
		n = strcspn(p, ",\r");
	assert_true(n < len);
	memcpy(out, p, n);
	out[n] = 0;
}

static void test_connect_digest_stale(void **state)
{
	static const struct step steps[] = {
		{ "HTTP/1.1 407 Proxy Authentication Required\r\n"
		  "Proxy-Authenticate: Basic realm=\"Squid\"\r\n"
		  "Proxy-Authenticate: Digest realm=\"Squid\", nonce=\"abc123\", qop=\"auth\", opaque=\"xyz\", stale=false\r\n"
		  "Content-Length: 19\r\n\r\n" BODY, 0 },
		{ "HTTP/1.1 407 Proxy Authentication Required\r\n"
		  "Proxy-Authenticate: Digest realm=\"Squid\", nonce=\"def456\", qop=\"auth\", stale=true\r\n"
		  "Connection: close\r\n\r\n", 1 },
		{ OK200, 0 },
	};
	char cnonce[64], resp[64], ha1[33], ha2[33], all[512], want[33], nonce[64];
	struct connect_result r;
	struct fake f;
	int fd;

	fake_start(&f, steps, 3);
	fd = open_via(&f, "bob:p%40ss@", 2000, &r);
	if (fd < 0)
		fail_msg("%s", r.why);
	close(fd);
	fake_stop(&f);
	assert_int_equal(f.nreq, 3);
	assert_int_equal(f.conns, 2);
	/* Digest chosen over Basic; the response checked independently */
	for (int i = 1; i <= 2; i++) {
		const char *h = strstr(f.req[i], "Proxy-Authorization: Digest ");
		assert_non_null(h);
		param(h, "cnonce", cnonce, sizeof(cnonce));
		param(h, "response", resp, sizeof(resp));
		param(h, "nonce", nonce, sizeof(nonce));
		assert_string_equal(nonce, i == 1 ? "abc123" : "def456");
		assert_non_null(strstr(h, "username=\"bob\""));
		assert_non_null(strstr(h, "uri=\"iphttps.test:443\""));
		assert_non_null(strstr(h, "nc=00000001"));
		assert_true(i == 2 || strstr(h, "opaque=\"xyz\""));
		md5hex("bob:Squid:p@ss", ha1);
		md5hex("CONNECT:iphttps.test:443", ha2);
		snprintf(all, sizeof(all), "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2);
		md5hex(all, want);
		assert_string_equal(resp, want);
		assert_null(strstr(f.req[i], "p@ss"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_good),
		cmocka_unit_test(test_url_bad),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_no_proxy),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_digest_rfc7616),
		cmocka_unit_test(test_digest_forms),
		cmocka_unit_test(test_connect_200),
		cmocka_unit_test(test_connect_basic_same_conn),
		cmocka_unit_test(test_connect_basic_reconnect),
		cmocka_unit_test(test_connect_407_twice),
		cmocka_unit_test(test_connect_407_no_credentials),
		cmocka_unit_test(test_connect_403),
		cmocka_unit_test(test_connect_closed),
		cmocka_unit_test(test_connect_extra_bytes),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_connect_digest_stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
