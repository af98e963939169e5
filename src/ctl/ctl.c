/* The control socket: see ctl.h. */
#include "ctl/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

#define CTL_MAX_CONNS 16

struct ctl_conn {
	struct ev_handler h;
	struct ctl_server *srv;
	struct ctl_conn *prev, *next;   /* oldest first */
	uint64_t deadline_ms;
	char req[CTL_MAX_REQ];
	size_t req_len;
	char *resp;          /* JSON text being written */
	size_t resp_len, resp_off;
};

const char *ctl_run_dir(const char *opt)
{
	const char *e;

	if (opt && *opt)
		return opt;
	if ((e = getenv("IPHTTPS_RUN_DIR")) && *e)
		return e;
	return CTL_DEFAULT_RUN_DIR;
}

struct json_object *ctl_error(const char *role, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(msg));
	if (role)
		json_object_object_add(o, "Role", json_object_new_string(role));
	return o;
}

static int sock_path(char *out, size_t outlen, const char *run_dir, const char *name, char *err)
{
	struct sockaddr_un sun;

	if ((size_t)snprintf(out, outlen, "%s/%s.sock", run_dir, name) >= sizeof(sun.sun_path) ||
	    strlen(out) >= outlen) {
		snprintf(err, ERRLEN, "control socket path %s/%s.sock is too long", run_dir, name);
		return -1;
	}
	return 0;
}

static void conn_close(struct ctl_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		c->srv->newest = c->prev;
	ev_del(c->srv->ev, &c->h);
	close(c->h.fd);
	free(c->resp);
	c->srv->open_conns--;
	free(c);
}

static void conn_write(struct ctl_conn *c)
{
	while (c->resp_off < c->resp_len) {
		ssize_t n = send(c->h.fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->resp_off += (size_t)n;
	}
	conn_close(c);
}

static void conn_answer(struct ctl_conn *c)
{
	struct json_object *j;
	const char *txt;

	c->req[c->req_len] = 0;
	c->req[strcspn(c->req, "\r\n")] = 0;
	j = c->srv->fn(c->srv->arg, c->req);
	if (!j)
		j = ctl_error(NULL, "unknown command '%.64s'", c->req);
	txt = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	c->resp = strdup(txt ? txt : "{}");
	json_object_put(j);
	if (!c->resp) {
		conn_close(c);
		return;
	}
	c->resp_len = strlen(c->resp);
	ev_mod(c->srv->ev, &c->h, EPOLLOUT);
	conn_write(c);
}

static void conn_event(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct ctl_conn *c = (struct ctl_conn *)h;
	ssize_t n;

	if (c->resp) {
		conn_write(c);
		return;
	}
	n = recv(h->fd, c->req + c->req_len, CTL_MAX_REQ - 1 - c->req_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->req_len += (size_t)n;
	if (memchr(c->req, '\n', c->req_len) || c->req_len >= CTL_MAX_REQ - 1)
		conn_answer(c);
}

static void on_accept(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct ctl_server *s = (struct ctl_server *)h;
	struct ctl_conn *c;
	int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (s->open_conns >= CTL_MAX_CONNS && s->oldest) {
		/* A requester that sends nothing blocks no one: the oldest goes. */
		s->timeouts++;
		conn_close(s->oldest);
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return;
	}
	c->h.fd = fd;
	c->h.cb = conn_event;
	c->srv = s;
	c->deadline_ms = ev_now_ms() + CTL_DEADLINE_MS;
	if (ev_add(ev, &c->h, EPOLLIN) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->prev = s->newest;
	if (s->newest)
		s->newest->next = c;
	else
		s->oldest = c;
	s->newest = c;
	s->open_conns++;
}

int ctl_server_open(struct ctl_server *s, struct evloop *ev, const char *run_dir,
		    const char *name, ctl_handler_fn fn, void *arg, char *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;
	mode_t old;

	memset(s, 0, sizeof(*s));
	s->h.fd = -1;
	if (sock_path(s->path, sizeof(s->path), run_dir, name, err) < 0)
		return -1;
	if (mkdir(run_dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, ERRLEN, "cannot create %s: %s", run_dir, strerror(errno));
		return -1;
	}
	strcpy(sun.sun_path, s->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, ERRLEN, "socket: %s", strerror(errno));
		return -1;
	}
	/* A live instance answers; a stale socket file refuses and is replaced. */
	if (access(s->path, F_OK) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			close(fd);
			snprintf(err, ERRLEN,
				 "another iphttps instance named '%s' is running (%s); give this one another --tun NAME",
				 name, s->path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(s->path);
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		snprintf(err, ERRLEN, "bind %s: %s", s->path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	chmod(s->path, 0600);
	if (listen(fd, 16) < 0) {
		snprintf(err, ERRLEN, "listen %s: %s", s->path, strerror(errno));
		close(fd);
		unlink(s->path);
		return -1;
	}
	s->h.fd = fd;
	s->h.cb = on_accept;
	s->ev = ev;
	s->fn = fn;
	s->arg = arg;
	if (ev_add(ev, &s->h, EPOLLIN) < 0) {
		snprintf(err, ERRLEN, "epoll: %s", strerror(errno));
		close(fd);
		unlink(s->path);
		return -1;
	}
	return 0;
}

void ctl_server_tick(struct ctl_server *s, uint64_t now_ms)
{
	while (s->oldest && s->oldest->deadline_ms <= now_ms) {
		s->timeouts++;
		conn_close(s->oldest);
	}
}

void ctl_server_close(struct ctl_server *s)
{
	while (s->oldest)
		conn_close(s->oldest);
	if (s->h.fd < 0)
		return;
	ev_del(s->ev, &s->h);
	close(s->h.fd);
	unlink(s->path);
	s->h.fd = -1;
}

int ctl_request(const char *run_dir, const char *name, const char *cmd, int timeout_ms,
		struct json_object **out, char *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[108], buf[65536];
	struct json_tokener *tok = NULL;
	struct json_object *j = NULL;
	struct pollfd pfd;
	int fd, rc = -1;
	size_t total = 0;

	if (sock_path(path, sizeof(path), run_dir, name, err) < 0)
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, ERRLEN, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			snprintf(err, ERRLEN, "no iphttps instance named '%s' is running (%s)", name, path);
		else
			snprintf(err, ERRLEN, "%s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	if (send(fd, buf, strlen(buf), MSG_NOSIGNAL) < 0) {
		snprintf(err, ERRLEN, "%s: %s", path, strerror(errno));
		goto out;
	}
	tok = json_tokener_new();
	for (;;) {
		ssize_t n;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			snprintf(err, ERRLEN, "'%s' did not answer within %d ms", name, timeout_ms);
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			snprintf(err, ERRLEN, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		j = json_tokener_parse_ex(tok, buf, (int)n);
		if (j)
			break;
		if (json_tokener_get_error(tok) != json_tokener_continue) {
			snprintf(err, ERRLEN, "'%s' answered something that is not JSON", name);
			goto out;
		}
	}
	if (!j) {
		snprintf(err, ERRLEN, "'%s' closed without an answer (%zu bytes)", name, total);
		goto out;
	}
	*out = j;
	rc = 0;
out:
	if (tok)
		json_tokener_free(tok);
	close(fd);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ctl_list(const char *run_dir, struct strlist *names)
{
	DIR *d = opendir(run_dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char name[256];
		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), e->d_name);
		if (strlist_add(names, name) < 0)
			break;
	}
	closedir(d);
	qsort(names->v, names->n, sizeof(char *), cmp_str);
	return 0;
}
