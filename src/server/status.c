/* The server's answers on the control socket: "state" (role, listen
 * address, prefix, client count, counters) and "clients" (one record per
 * connection). */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "server/status.h"
#include "server/types.h"

static const char *const conn_state_names[] = {
	[CONN_TLS_HANDSHAKE] = "TLSHandshake", [CONN_HTTP_REQUEST] = "HTTPRequest",
	[CONN_LINKUP] = "LinkUp", [CONN_CLOSING] = "Closing", [CONN_CLOSED] = "Closed",
};

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void iso_time(time_t t, char *out, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct json_object *drops_json(const uint32_t *d32, const uint64_t *d64)
{
	struct json_object *o = json_object_new_object();
	for (int i = 0; i < DROP__COUNT; i++)
		add_u64(o, drop_reason_names[i], d32 ? d32[i] : d64[i]);
	return o;
}

/* NullEncryption (the policy in force) and TLSPolicy (what clients get). */
static void add_tls_policy(struct json_object *o, struct server *s)
{
	static const char *const names[] = { "off", "allow", "prefer" };
	char p[600];

	add_str(o, "NullEncryption", s->cfg->transport == TRANSPORT_HTTP ? "-" :
		(unsigned)s->null_enc < 3 ? names[s->null_enc] : "?");
	server_cfg_tls_policy(s->cfg, s->null_enc, p, sizeof(p));
	add_str(o, "TLSPolicy", p);
}

static struct json_object *state_json(struct server *s)
{
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	char buf[INET6_ADDRSTRLEN + 8], t[32];

	add_str(o, "Role", "server");
	add_str(o, "Interface", s->tun_name);
	add_str(o, "State", s->stopping ? "Stopping" : "Listen");
	add_str(o, "Listen", s->cfg->listen);
	add_str(o, "Transport", s->cfg->transport == TRANSPORT_HTTP ? "http" : "https");
	add_str(o, "Authentication", s->cfg->auth == AUTH_NONE ? "none" : "certificates");
	add_tls_policy(o, s);
	if (s->cfg->prefix_mode == PREFIX_PER_CLIENT) {
		inet_ntop(AF_INET6, &s->pool, buf, sizeof(buf));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", s->pool_len);
		add_str(o, "PrefixMode", "per-client");
		add_str(o, "PrefixPool", buf);
	} else {
		inet_ntop(AF_INET6, &s->prefix, buf, sizeof(buf));
		strcat(buf, "/64");
		add_str(o, "PrefixMode", "shared");
		add_str(o, "Prefix", buf);
	}
	add_u64(o, "Clients", s->n_linkup);
	add_u64(o, "Connections", s->n_conns);
	add_u64(o, "Handshakes", s->n_handshakes);
	add_u64(o, "QueuedBytes", s->queued);
	add_u64(o, "MaxClients", (uint64_t)s->cfg->max_clients);
	iso_time(s->started, t, sizeof(t));
	add_str(o, "Since", t);
	add_u64(o, "PID", (uint64_t)getpid());
	add_u64(c, "Accepted", s->st.accepted);
	add_u64(c, "RefusedFull", s->st.refused_full);
	add_u64(c, "TLSFailed", s->st.tls_failed);
	add_u64(c, "NullOnlyReset", s->st.null_only_reset);
	add_u64(c, "HTTPRejected", s->st.http_rejected);
	add_u64(c, "HeaderTimeouts", s->st.header_timeouts);
	add_u64(c, "StreamErrors", s->st.stream_errors);
	add_u64(c, "Closed", s->st.closed);
	add_u64(c, "RxPackets", s->st.rx_packets);
	add_u64(c, "TxPackets", s->st.tx_packets);
	add_u64(c, "RxBytes", s->st.rx_bytes);
	add_u64(c, "TxBytes", s->st.tx_bytes);
	add_u64(c, "ToTun", s->st.to_tun);
	add_u64(c, "FromTun", s->st.from_tun);
	add_u64(c, "ClientToClient", s->st.client_to_client);
	add_u64(c, "RASent", s->st.ra_sent);
	add_u64(c, "NASent", s->st.na_sent);
	add_u64(c, "AddressesEvicted", s->st.evicted);
	json_object_object_add(o, "Counters", c);
	{
		struct json_object *r = json_object_new_object();
		for (int i = 0; i < REFUSE__COUNT; i++)
			add_u64(r, refuse_reason_names[i], s->st.refused[i]);
		json_object_object_add(o, "Refused", r);
	}
	json_object_object_add(o, "Drops", drops_json(NULL, s->st.drops));
	return o;
}

static struct json_object *clients_json(struct server *s)
{
	struct json_object *arr = json_object_new_array();

	for (struct conn *c = s->conns; c; c = c->next) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();
		char buf[INET6_ADDRSTRLEN + 8], t[32];

		add_u64(o, "Id", c->id);
		add_str(o, "Peer", c->peer_str);
		add_str(o, "State", conn_state_names[c->state]);
		if (c->state == CONN_LINKUP) {
			iso_time(c->since, t, sizeof(t));
			add_str(o, "Since", t);
		}
		if (c->has_prefix) {
			inet_ntop(AF_INET6, &c->prefix, buf, sizeof(buf));
			strcat(buf, "/64");
			add_str(o, "Prefix", buf);
		}
		add_str(o, "TLS", c->tls_desc[0] ? c->tls_desc : (c->ssl ? "" : "none (plain HTTP)"));
		for (unsigned i = 0; i < c->n_addrs; i++)
			json_object_array_add(a, json_object_new_string(
				inet_ntop(AF_INET6, &c->addrs[i], buf, sizeof(buf))));
		json_object_object_add(o, "Addresses", a);
		add_u64(o, "RxBytes", c->rx_bytes);
		add_u64(o, "TxBytes", c->tx_bytes);
		add_u64(o, "RxPackets", c->rx_packets);
		add_u64(o, "TxPackets", c->tx_packets);
		add_u64(o, "AddressesEvicted", c->evicted);
		json_object_object_add(o, "Drops", drops_json(c->drops, NULL));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *server_ctl(void *arg, const char *cmd)
{
	struct server *s = arg;

	if (!strcmp(cmd, "state"))
		return state_json(s);
	if (!strcmp(cmd, "clients"))
		return clients_json(s);
	if (!strcmp(cmd, "reconnect") || !strcmp(cmd, "enable") || !strcmp(cmd, "disable"))
		return ctl_error("server", "a server instance; '%s' is for a client", cmd);
	return NULL;
}
