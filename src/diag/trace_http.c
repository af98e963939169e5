/* The capture analysis, readable part: with a null suite (or plain HTTP)
 * the POST, its answer and the IPv6 packets inside are read with the
 * client's own layers (wire/http.h, wire/ipv6_stream.h, wire/nd.h).
 * See trace_int.h. */
#include "diag/trace_int.h"
#include "wire/nd.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Takes a line of n bytes; copies it bounded and printable into out. */
static void copy_field(char *out, size_t outlen, const char *p, size_t n)
{
	size_t i;

	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	out[i] = '\0';
}

/* Takes the gathered request header (hlen bytes, NUL-terminated); reads the
 * request line and Host.  Returns 0, or -1 when it is not an HTTP request. */
static int parse_request(struct diag_facts *f, const char *h, size_t hlen)
{
	const char *eol = strstr(h, "\r\n"), *sp1, *sp2, *line;

	if (!eol)
		return -1;
	sp1 = memchr(h, ' ', (size_t)(eol - h));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/", 5) != 0)
		return -1;
	copy_field(f->method, sizeof(f->method), h, (size_t)(sp1 - h));
	copy_field(f->path, sizeof(f->path), sp1 + 1, (size_t)(sp2 - sp1 - 1));
	for (line = eol + 2; line < h + hlen && strncmp(line, "\r\n", 2) != 0;) {
		const char *end = strstr(line, "\r\n");

		if (!end)
			break;
		if ((size_t)(end - line) > 5 && strncasecmp(line, "Host:", 5) == 0) {
			const char *v = line + 5;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			copy_field(f->host, sizeof(f->host), v, (size_t)(end - v));
		}
		line = end + 2;
	}
	f->saw_request = 1;
	return 0;
}

/* Request header bytes of the client.  Returns how many of them belonged to
 * the header (the rest is the IPv6 stream). */
static size_t request_bytes(struct trace_state *st, const uint8_t *p, size_t len)
{
	struct diag_facts *f = st->tc->f;
	size_t take = TRACE_REQ_MAX - st->req_len, start = st->req_len;
	char *end;

	if (!st->req && !(st->req = malloc(TRACE_REQ_MAX + 1))) {
		st->phase[CAP_C2S] = PH_STOP;
		return len;
	}
	if (take > len)
		take = len;
	memcpy(st->req + st->req_len, p, take);
	st->req_len += take;
	st->req[st->req_len] = '\0';
	end = memmem(st->req, st->req_len, "\r\n\r\n", 4);
	if (!end) {
		if (st->req_len == TRACE_REQ_MAX) {
			st->phase[CAP_C2S] = PH_STOP;
			step_add(st, CAP_C2S, "data that is not an HTTP request (no header end in %d bytes)", TRACE_REQ_MAX);
		}
		return take;
	}
	st->req_len = (size_t)(end - st->req) + 4;
	st->req[st->req_len] = '\0';
	step_break(st);
	if (parse_request(f, st->req, st->req_len) < 0) {
		char q[80];

		quote_bytes(q, sizeof(q), (const uint8_t *)st->req, st->req_len < 40 ? st->req_len : 40);
		step_add(st, CAP_C2S, "not an HTTP request: \"%s\"", q);
		st->phase[CAP_C2S] = PH_STOP;
	} else {
		step_add(st, CAP_C2S, "%s %s%s%s", f->method, f->path, f->host[0] ? ", Host " : "", f->host);
		st->phase[CAP_C2S] = PH_IPV6;
	}
	free(st->req);
	st->req = NULL;
	return st->req_len - start;
}

/* Response header bytes of the server.  Returns how many belonged to it. */
static size_t response_bytes(struct trace_state *st, const uint8_t *p, size_t len)
{
	struct diag_facts *f = st->tc->f;
	size_t used = 0;
	int rc;

	if (!st->resp) {
		if (!(st->resp = malloc(sizeof(*st->resp)))) {
			st->phase[CAP_S2C] = PH_STOP;
			return len;
		}
		http_resp_init(st->resp);
	}
	rc = http_resp_feed(st->resp, p, len, &used);
	if (rc == HTTP_MORE)
		return len;
	if (rc == HTTP_DONE && http_status_is_interim(st->resp->status) && st->interim++ < 4) {
		/* an interim answer (100 Continue...): the final one follows */
		step_add(st, CAP_S2C, "HTTP %d %s (interim)", st->resp->status, st->resp->reason_phrase);
		http_resp_init(st->resp);
		return used;
	}
	step_break(st);
	f->saw_response = 1;
	if (rc == HTTP_ERROR) {
		f->http_error = 1;
		snprintf(f->http_error_text, sizeof(f->http_error_text), "%s",
			 st->resp->error ? st->resp->error : "malformed");
		step_add(st, CAP_S2C, "not an HTTP response (%s)", f->http_error_text);
		st->phase[CAP_S2C] = PH_STOP;
	} else {
		f->status = st->resp->status;
		copy_field(f->reason, sizeof(f->reason), st->resp->reason_phrase, strlen(st->resp->reason_phrase));
		copy_field(f->http_server, sizeof(f->http_server), st->resp->server, strlen(st->resp->server));
		copy_field(f->location, sizeof(f->location), st->resp->location, strlen(st->resp->location));
		step_add(st, CAP_S2C, "HTTP %d %s%s%s%s", f->status, f->reason,
			 f->http_server[0] ? ", Server " : "", f->http_server,
			 f->location[0] ? ", Location set" : "");
		st->phase[CAP_S2C] = f->status == 200 ? PH_IPV6 : PH_STOP;
	}
	free(st->resp);
	st->resp = NULL;
	return used;
}

/* Takes a Router Advertisement; records it. */
static void on_ra(struct trace_state *st, const struct ipv6_view *v, const uint8_t *pkt)
{
	struct diag_facts *f = st->tc->f;
	struct ra_info ra;
	const char *why = NULL;
	char a[INET6_ADDRSTRLEN];

	if (nd_parse_ra(v, pkt, &ra, &why) < 0) {
		step_add(st, CAP_S2C, "IPv6: malformed Router Advertisement (%s)", why ? why : "?");
		return;
	}
	f->saw_ra = 1;
	f->ra_router_lifetime = ra.router_lifetime;
	f->ra_mtu = ra.mtu;
	f->ra_routes = ra.n_routes;
	if (ra.has_prefix) {
		f->ra_has_prefix = 1;
		inet_ntop(AF_INET6, &ra.prefix, a, sizeof(a));
		snprintf(f->ra_prefix, sizeof(f->ra_prefix), "%s/%u", a, ra.prefix_len);
	}
	step_add(st, CAP_S2C, "IPv6: Router Advertisement, prefix %s, MTU %u, router lifetime %u s, %zu route%s",
		 ra.has_prefix ? f->ra_prefix : "none", ra.mtu, ra.router_lifetime, ra.n_routes,
		 ra.n_routes == 1 ? "" : "s");
}

/* The deframer's callback: one IPv6 packet of the stream. */
static int v6_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct v6ctx *c = arg;
	struct trace_state *st = c->st;
	struct diag_facts *f = st->tc->f;
	struct ipv6_view v;
	char src[INET6_ADDRSTRLEN];
	uint8_t type;

	if (!f->v6_packets[c->dir]++) {
		step_break(st);
		st->v6_step[c->dir] = step_add(st, c->dir, "IPv6 packets");
	}
	if (ipv6_parse(pkt, len, &v, NULL) < 0 || v.proto != 58 || v.payload_len < 4)
		return 0;
	type = pkt[v.payload_off];
	if (type == ICMP6_TYPE_RS && c->dir == CAP_C2S && !f->saw_rs) {
		f->saw_rs = 1;
		inet_ntop(AF_INET6, &v.src, src, sizeof(src));
		step_add(st, c->dir, "IPv6: Router Solicitation from %s", src);
	} else if (type == ICMP6_TYPE_RA && c->dir == CAP_S2C && !f->saw_ra) {
		on_ra(st, &v, pkt);
	}
	return 0;
}

/* IPv6 stream bytes of dir. */
static void ipv6_bytes(struct trace_state *st, int dir, const uint8_t *p, size_t len)
{
	struct diag_facts *f = st->tc->f;
	struct v6_deframer *df = &st->df[dir];

	if (!st->df_init[dir]) {
		v6df_init(df, V6DF_MAX_PACKET_LIMIT);
		st->df_init[dir] = 1;
		st->v6c[dir].st = st;
		st->v6c[dir].dir = dir;
	}
	if (v6df_feed(df, p, len, v6_packet, &st->v6c[dir]) < 0) {
		f->v6_error[dir] = 1;
		snprintf(f->v6_error_text, sizeof(f->v6_error_text), "%s: %s (first byte 0x%02x)",
			 dir == CAP_C2S ? "client" : "server", v6df_strerror(df->error), df->bad_byte);
		step_break(st);
		step_add(st, dir, "not IPv6: %s (first byte 0x%02x)", v6df_strerror(df->error), df->bad_byte);
		st->phase[dir] = PH_STOP;
	}
}

void trace_readable(struct trace_state *st, int dir, const uint8_t *p, size_t len)
{
	while (len > 0 && st->phase[dir] != PH_STOP) {
		size_t n;

		if (st->phase[dir] == PH_IPV6) {
			ipv6_bytes(st, dir, p, len);
			return;
		}
		n = dir == CAP_C2S ? request_bytes(st, p, len) : response_bytes(st, p, len);
		if (n > len)
			n = len;
		p += n;
		len -= n;
	}
}

void trace_readable_gap(struct trace_state *st, int dir)
{
	st->phase[dir] = PH_STOP;
}

void trace_readable_end(struct trace_state *st)
{
	struct diag_facts *f = st->tc->f;

	for (int d = 0; d < 2; d++) {
		if (st->v6_step[d] >= 0)
			step_set(st, st->v6_step[d], "IPv6 packets: %llu", (unsigned long long)f->v6_packets[d]);
		if (st->df_init[d])
			v6df_free(&st->df[d]);
	}
	free(st->req);
	free(st->resp);
	st->req = NULL;
	st->resp = NULL;
}
