/* The server's answers on the control socket: "state" (role, listen
 * address, prefix, client count, counters) and "clients" (one record per
 * connection). */
#include <arpa/inet.h>
#include "common/json.h"
#include <string.h>
#include <unistd.h>

#include "server/conn.h"
#include "server/ident.h"
#include "server/intranet.h"
#include "server/stats.h"
#include "server/status.h"
#include "server/types.h"
#include "server/workers.h"

static const char *const conn_state_names[] = {
	[CONN_TLS_HANDSHAKE] = "TLSHandshake", [CONN_HTTP_REQUEST] = "HTTPRequest",
	[CONN_HOOK] = "ConnectScript",
	[CONN_LINKUP] = "LinkUp", [CONN_CLOSING] = "Closing", [CONN_CLOSED] = "Closed",
};

static struct json_object *drops_json(const uint32_t *d32, const uint64_t *d64)
{
	struct json_object *o = json_object_new_object();
	for (int i = 0; i < DROP__COUNT; i++)
		json_put_u64(o, drop_reason_names[i], d32 ? d32[i] : d64[i]);
	return o;
}

/* NullEncryption (the policy in force) and TLSPolicy (what clients get). */
static void add_tls_policy(struct json_object *o, struct server *s)
{
	static const char *const names[] = { "off", "allow", "prefer" };
	char p[600];

	json_put_str(o, "NullEncryption", s->cfg->transport == TRANSPORT_HTTP ? "-" :
		(unsigned)s->null_enc < 3 ? names[s->null_enc] : "?");
	server_cfg_tls_policy(s->cfg, s->null_enc, p, sizeof(p));
	json_put_str(o, "TLSPolicy", p);
	json_put_str(o, "TLSMin", s->cfg->transport == TRANSPORT_HTTP ? "-" :
		s->cfg->tls_min == TLS_MIN_1_0 ? "1.0 (legacy, for Windows 7 clients)" :
		s->cfg->tls_min == TLS_MIN_1_1 ? "1.1 (legacy, for Windows 7 clients)" : "1.2");
}

/* ServerCertificate, CRL and the warnings about what expires soon. */
static void certs_json(struct server *s, struct json_object *o)
{
	struct json_object *warn = json_object_new_array();
	time_t now = time(NULL);
	char buf[600], t[32];

	for (unsigned i = 0; i < s->certwatch.n; i++) {
		const struct cert_watched *w = &s->certwatch.w[i];
		long days = cert_days_left(w->expires, now);
		json_iso_time(w->expires, t, sizeof(t));
		if (!strcmp(w->what, "server")) {
			snprintf(buf, sizeof(buf), "%s, expires %s", w->subject, t);
			json_put_str(o, "ServerCertificate", buf);
		}
		if (days < CERT_WARN_DAYS) {
			snprintf(buf, sizeof(buf), "%s %s%s%s%s %s %s (in %ld days)", w->what, w->file,
				 w->subject[0] ? " (" : "", w->subject, w->subject[0] ? ")" : "",
				 !strcmp(w->what, "crl") ? "to be renewed by" : "expires", t, days);
			json_object_array_add(warn, json_object_new_string(buf));
		}
	}
	if (s->crls) {
		snprintf(buf, sizeof(buf), "%s, %zu revoked", s->cfg->crl, s->crl_facts.n_revoked);
		json_put_str(o, "CRL", buf);
	}
	json_object_object_add(o, "CertificateWarnings", warn);
}

static struct json_object *state_json(struct server *s)
{
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	char buf[INET6_ADDRSTRLEN + 8], t[32];

	json_put_str(o, "Role", "server");
	json_put_str(o, "Interface", s->tun_name);
	json_put_str(o, "State", s->stopping ? "Stopping" : "Listen");
	json_put_str(o, "Listen", s->lst.desc);
	json_put_str(o, "Transport", s->cfg->transport == TRANSPORT_HTTP ? "http" : "https");
	json_put_str(o, "Authentication", s->cfg->auth == AUTH_NONE ? "none" : "certificates");
	add_tls_policy(o, s);
	if (s->cfg->prefix_mode == PREFIX_PER_CLIENT) {
		inet_ntop(AF_INET6, &s->pool, buf, sizeof(buf));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", s->pool_len);
		json_put_str(o, "PrefixMode", "per-client");
		json_put_str(o, "PrefixPool", buf);
	} else {
		inet_ntop(AF_INET6, &s->prefix, buf, sizeof(buf));
		strcat(buf, "/64");
		json_put_str(o, "PrefixMode", "shared");
		json_put_str(o, "Prefix", buf);
	}
	json_put_u64(o, "Clients", s->n_linkup);
	json_put_u64(o, "Connections", s->n_conns);
	json_put_u64(o, "Handshakes", s->n_handshakes);
	json_put_u64(o, "QueuedBytes", s->queued);
	json_put_u64(o, "MaxClients", (uint64_t)s->max_clients);
	json_put_u64(o, "MaxHandshakes", (uint64_t)s->max_handshakes);
	json_put_u64(o, "DescriptorLimit", (uint64_t)s->nofile);
	json_iso_time(s->started, t, sizeof(t));
	json_put_str(o, "Since", t);
	certs_json(s, o);
	json_put_u64(o, "PID", (uint64_t)getpid());
	for (const struct stat_def *d = server_stat_defs; d->key; d++)
		json_put_u64(c, d->key, stat_value(&s->st, d->off));
	intranet_status(s, o);
	json_object_object_add(o, "Counters", c);
	for (const struct stat_array_def *d = server_stat_arrays; d->key; d++) {
		struct json_object *r = json_object_new_object();
		for (size_t i = 0; i < d->n; i++)
			json_put_u64(r, d->labels[i], stat_value(&s->st, d->off + i * sizeof(uint64_t)));
		json_object_object_add(o, d->key, r);
	}
	json_object_object_add(o, "Tun", ctl_tun_json(&s->tun));
	if (s->w)
		json_object_object_add(o, "Workers", workers_state_json(s));
	return o;
}

static struct json_object *clients_json(struct server *s)
{
	struct json_object *arr = json_object_new_array();

	for (struct conn *c = s->conns; c; c = c->next) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();
		char buf[INET6_ADDRSTRLEN + 8], t[32];

		json_put_u64(o, "Id", c->id);
		json_put_str(o, "Peer", c->peer_str);
		json_put_str(o, "State", conn_state_names[c->state]);
		if (c->state == CONN_LINKUP) {
			json_iso_time(c->since, t, sizeof(t));
			json_put_str(o, "Since", t);
		}
		if (c->has_prefix) {
			inet_ntop(AF_INET6, &c->prefix, buf, sizeof(buf));
			strcat(buf, "/64");
			json_put_str(o, "Prefix", buf);
		}
		json_put_str(o, "TLS", c->tls_desc[0] ? c->tls_desc : (c->io.ssl ? "" : "none (plain HTTP)"));
		if (c->ident) {
			json_put_str(o, "Subject", c->ident->subject);
			json_put_str(o, "Serial", c->ident->serial);
			json_iso_time(c->ident->not_after, t, sizeof(t));
			json_put_str(o, "CertificateExpires", t);
		}
		for (unsigned i = 0; i < c->n_addrs; i++)
			json_object_array_add(a, json_object_new_string(
				inet_ntop(AF_INET6, &c->addrs[i], buf, sizeof(buf))));
		json_object_object_add(o, "Addresses", a);
		json_put_u64(o, "RxBytes", c->io.rx_bytes);
		json_put_u64(o, "TxBytes", c->io.tx_bytes);
		json_put_u64(o, "RxPackets", c->io.rx_packets);
		json_put_u64(o, "TxPackets", c->io.tx_packets);
		json_put_u64(o, "AddressesEvicted", c->evicted);
		json_object_object_add(o, "Drops", drops_json(c->drops, NULL));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* "disconnect TARGET": every connection whose Id, subject or CN is
 * TARGET ends. */
static struct json_object *disconnect(struct server *s, const char *target)
{
	struct json_object *o, *ids = json_object_new_array();
	struct conn *c, *next;
	char why[300];

	snprintf(why, sizeof(why), "disconnected by the administrator (%.200s)", target);
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (!ident_matches(c, target))
			continue;
		json_object_array_add(ids, json_object_new_uint64(c->id));
		s->st.disconnected++;
		conn_close(c, why);
	}
	if (!json_object_array_length(ids)) {
		json_object_put(ids);
		return ctl_error("server", "no connected client with Id or certificate subject '%.200s' (see iphttps clients)",
				 target);
	}
	o = json_object_new_object();
	snprintf(why, sizeof(why), "disconnected %zu connection%s", json_object_array_length(ids),
		 json_object_array_length(ids) == 1 ? "" : "s");
	json_put_str(o, "Result", why);
	json_object_object_add(o, "Disconnected", ids);
	return o;
}

struct json_object *server_ctl(void *arg, const char *cmd)
{
	struct server *s = arg;

	/* The supervisor holds no client: every worker answers for its own. */
	if (s->w && !workers_is_worker(s) && (!strncmp(cmd, "disconnect ", 11) || !strcmp(cmd, "clients")))
		return workers_gather(s, cmd);
	if (!strncmp(cmd, "disconnect ", 11))
		return disconnect(s, cmd + 11);
	if (!strcmp(cmd, "state"))
		return state_json(s);
	if (!strcmp(cmd, "clients"))
		return clients_json(s);
	if (!strcmp(cmd, "reconnect") || !strcmp(cmd, "enable") || !strcmp(cmd, "disable"))
		return ctl_error("server", "a server instance; '%s' is for a client", cmd);
	return NULL;
}
