/* Prometheus metrics: see metrics.h. */
#include "server/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "server/ident.h"
#include "server/stats.h"
#include "server/types.h"

/* Upper bounds of the latency buckets, in microseconds (the last: +Inf). */
static const uint64_t bucket_us[HS_LATENCY_BUCKETS] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

struct metrics_conn {
	struct ev_handler h;
	struct metrics *m;
	char req[METRICS_MAX_REQ];
	size_t req_len;
	char *out;
	size_t out_len, out_off;
	uint64_t deadline_ms;
	struct metrics_conn *prev, *next;
};

struct metrics {
	struct ev_handler lst;
	struct server *srv;
	struct metrics_conn *conns;
	unsigned n_conns;
};

void metrics_observe_handshake(struct server *s, uint64_t ms)
{
	uint64_t us = ms * 1000;

	for (int i = 0; i < HS_LATENCY_BUCKETS; i++)
		if (us <= bucket_us[i])
			s->st.hs_latency[i]++;
	s->st.hs_latency_count++;
	s->st.hs_latency_sum_us += us;
}

/* A label value as the exposition format wants it. */
static void esc(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, v);
}

static void counters(FILE *f, const struct server *s)
{
	char name[128];

	for (const struct stat_def *d = server_stat_defs; d->key; d++) {
		snprintf(name, sizeof(name), "iphttps_%s_total", d->metric);
		family(f, name, "counter", d->help);
		fprintf(f, "%s %llu\n", name, (unsigned long long)stat_value(&s->st, d->off));
	}
	for (const struct stat_array_def *d = server_stat_arrays; d->key; d++) {
		snprintf(name, sizeof(name), "iphttps_%s_total", d->metric);
		family(f, name, "counter", d->help);
		for (size_t i = 0; i < d->n; i++) {
			fprintf(f, "%s{%s=\"%s\"", name, d->label, d->labels[i]);
			if (d->codes)
				fprintf(f, ",code=\"%s\"", d->codes[i]);
			fprintf(f, "} %llu\n", (unsigned long long)stat_value(&s->st, d->off + i * 8));
		}
	}
}

static void histogram(FILE *f, const struct server *s)
{
	const char *n = "iphttps_handshake_duration_seconds";

	family(f, n, "histogram", "from accept to the 200 (TCP, TLS and the request) of clients that got one");
	for (int i = 0; i < HS_LATENCY_BUCKETS; i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", n, (double)bucket_us[i] / 1e6,
			(unsigned long long)s->st.hs_latency[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", n, (unsigned long long)s->st.hs_latency_count);
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", n, (double)s->st.hs_latency_sum_us / 1e6, n,
		(unsigned long long)s->st.hs_latency_count);
}

static void certificates(FILE *f, const struct server *s)
{
	const char *n = "iphttps_certificate_expiry_timestamp_seconds";
	time_t soon = time(NULL) + (time_t)CERT_WARN_DAYS * 86400;
	unsigned expiring = 0;

	family(f, n, "gauge", "when a certificate in use expires (the CRL: its next update), Unix time");
	for (unsigned i = 0; i < s->certwatch.n; i++) {
		const struct cert_watched *w = &s->certwatch.w[i];
		fprintf(f, "%s{certificate=\"%s\",file=\"", n, w->what);
		esc(f, w->file);
		fputs("\",subject=\"", f);
		esc(f, w->subject);
		fprintf(f, "\"} %lld\n", (long long)w->expires);
	}
	gauge(f, "iphttps_certificate_expiry_warnings", "certificates in use that expire within 30 days",
	      s->certwatch.n_warnings);
	for (const struct conn *c = s->conns; c; c = c->next)
		expiring += c->ident && c->ident->not_after < soon;
	gauge(f, "iphttps_client_certificates_expiring", "connected clients whose certificate expires within 30 days",
	      expiring);
}

/* id="5",subject="CN=bob" */
static void client_labels(FILE *f, const struct conn *c)
{
	fprintf(f, "{id=\"%llu\",subject=\"", (unsigned long long)c->id);
	esc(f, ident_subject(c));
	fputs("\"}", f);
}

static void clients(FILE *f, const struct server *s)
{
	static const char *const fam[][3] = {
		{ "iphttps_client_info", "gauge", "a connected client: its Id, certificate subject and serial, peer" },
		{ "iphttps_client_received_bytes_total", "counter", "bytes of IPv6 packets received from the client" },
		{ "iphttps_client_sent_bytes_total", "counter", "bytes of IPv6 packets sent to the client" },
		{ "iphttps_client_connected_since_seconds", "gauge", "when the client's link came up, Unix time" },
	};

	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k][0], fam[k][1], fam[k][2]);
		for (const struct conn *c = s->conns; c; c = c->next) {
			if (c->state != CONN_LINKUP)
				continue;
			fputs(fam[k][0], f);
			if (k == 0) {
				fprintf(f, "{id=\"%llu\",subject=\"", (unsigned long long)c->id);
				esc(f, ident_subject(c));
				fprintf(f, "\",serial=\"%s\",peer=\"", c->ident ? c->ident->serial : "");
				esc(f, c->peer_str);
				fputs("\"} 1\n", f);
				continue;
			}
			client_labels(f, c);
			fprintf(f, " %llu\n", k == 1 ? (unsigned long long)c->io.rx_bytes
				: k == 2 ? (unsigned long long)c->io.tx_bytes : (unsigned long long)c->since);
		}
	}
}

char *metrics_text(struct server *s, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	family(f, "iphttps_build_info", "gauge", "the iphttps version");
	fprintf(f, "iphttps_build_info{version=\"%s\"} 1\n", IPHTTPS_VERSION);
	gauge(f, "iphttps_start_time_seconds", "when the server started, Unix time", (double)s->started);
	gauge(f, "iphttps_clients", "clients linked up", s->n_linkup);
	gauge(f, "iphttps_connections", "connections, linked up or not", s->n_conns);
	gauge(f, "iphttps_handshakes_in_progress", "connections in the TLS handshake or the request",
	      s->n_handshakes);
	gauge(f, "iphttps_max_clients", "--max-clients", (double)s->cfg->max_clients);
	gauge(f, "iphttps_queued_bytes", "bytes queued toward all clients", (double)s->queued);
	counters(f, s);
	histogram(f, s);
	certificates(f, s);
	clients(f, s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- the HTTP side ---- */

static void conn_end(struct metrics_conn *c)
{
	struct metrics *m = c->m;

	ev_del(&m->srv->ev, &c->h);
	close(c->h.fd);
	free(c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->n_conns--;
	free(c);
}

static void conn_write(struct metrics_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	conn_end(c);
}

/* The answer to the request in c->req: status and body. */
static void answer(struct metrics_conn *c)
{
	struct server *s = c->m->srv;
	char *body = NULL, *sp;
	const char *status = "200 OK", *extra = "", *type = "text/plain; version=0.0.4; charset=utf-8";
	size_t blen = 0;

	c->req[c->req_len < sizeof(c->req) ? c->req_len : sizeof(c->req) - 1] = 0;
	if (strncmp(c->req, "GET ", 4)) {
		status = "405 Method Not Allowed";
		extra = "Allow: GET\r\n";
		s->st.metrics_refused++;
	} else if (strncmp(c->req + 4, "/metrics", 8) || !strchr(" ?", c->req[12])) {
		status = "404 Not Found";
		s->st.metrics_refused++;
	} else if (!(body = metrics_text(s, &blen))) {
		status = "500 Internal Server Error";
	} else {
		s->st.metrics_scrapes++;
	}
	if (!body) {
		type = "text/plain; charset=utf-8";
		body = strdup(status);
		blen = body ? strlen(body) : 0;
	}
	if ((sp = body) && asprintf(&c->out, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
				    "%sConnection: close\r\n\r\n%.*s", status, type, blen, extra,
				    (int)blen, body) < 0)
		c->out = NULL;
	free(sp);
	if (!c->out) {
		conn_end(c);
		return;
	}
	c->out_len = strlen(c->out);
	ev_mod(&s->ev, &c->h, EPOLLOUT);
	conn_write(c);
}

static void on_conn(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct metrics_conn *c = (struct metrics_conn *)h;
	ssize_t n;

	if (c->out) {
		conn_write(c);
		return;
	}
	n = recv(h->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_end(c);
		return;
	}
	c->req_len += (size_t)n;
	c->req[c->req_len] = 0;
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		answer(c);
	} else if (c->req_len >= sizeof(c->req) - 1) {
		c->m->srv->st.metrics_refused++;
		c->out = strdup("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
				"Connection: close\r\n\r\n");
		if (!c->out) {
			conn_end(c);
			return;
		}
		c->out_len = strlen(c->out);
		ev_mod(ev, h, EPOLLOUT);
		conn_write(c);
	}
}

static void on_accept(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	struct metrics *m = (struct metrics *)h;
	struct metrics_conn *c;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (m->n_conns >= METRICS_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			m->srv->st.metrics_refused++;
			close(fd);
			continue;
		}
		c->h.fd = fd;
		c->h.cb = on_conn;
		c->m = m;
		c->deadline_ms = ev_now_ms() + METRICS_DEADLINE_MS;
		if (ev_add(ev, &c->h, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = m->conns;
		if (m->conns)
			m->conns->prev = c;
		m->conns = c;
		m->n_conns++;
	}
}

int metrics_open(struct server *s, char *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct metrics *m;
	int fd, one = 1;
	char e[ERRLEN];

	if (!s->cfg->metrics)
		return 0;
	if (server_parse_listen(s->cfg->metrics, &ss, &len, e) < 0) {
		snprintf(err, ERRLEN, "--metrics: %s", e);
		return -1;
	}
	if (!(m = calloc(1, sizeof(*m)))) {
		snprintf(err, ERRLEN, "--metrics: out of memory");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
		snprintf(err, ERRLEN, "--metrics: listen on %s: %s", s->cfg->metrics, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(m);
		return -1;
	}
	m->lst.fd = fd;
	m->lst.cb = on_accept;
	m->srv = s;
	if (ev_add(&s->ev, &m->lst, EPOLLIN) < 0) {
		snprintf(err, ERRLEN, "--metrics: epoll: %s", strerror(errno));
		close(fd);
		free(m);
		return -1;
	}
	s->metrics = m;
	log_info("metrics: Prometheus exposition at http://%s/metrics", s->cfg->metrics);
	return 0;
}

void metrics_tick(struct server *s, uint64_t now_ms)
{
	struct metrics_conn *c, *next;

	if (!s->metrics)
		return;
	for (c = s->metrics->conns; c; c = next) {
		next = c->next;
		if (now_ms >= c->deadline_ms) {
			s->st.metrics_refused++;
			conn_end(c);
		}
	}
}

void metrics_close(struct server *s)
{
	struct metrics *m = s->metrics;

	if (!m)
		return;
	while (m->conns)
		conn_end(m->conns);
	ev_del(&s->ev, &m->lst);
	close(m->lst.fd);
	free(m);
	s->metrics = NULL;
}
