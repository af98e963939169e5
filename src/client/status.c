/* The client's answers on the control socket, shaped like
 * Get-NetIPHttpsState: see PRODUCT.md for the keys. */
#include "common/json.h"
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "errors.h"
#include "net/tun.h"

/* Lines of text ("a\nb\n") as a JSON array. */
/* A time of the client's, "-" when there is none (0). */
static const char *client_time(time_t t, char *out, size_t len)
{
	if (!t) {
		snprintf(out, len, "-");
		return out;
	}
	return json_iso_time(t, out, len);
}

static struct json_object *lines(const char *text)
{
	struct json_object *a = json_object_new_array();
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len)
			json_object_array_add(a, json_object_new_string_len(p, (int)len));
		p = nl ? nl + 1 : NULL;
	}
	return a;
}

static const char *interface_status(struct client *c)
{
	const struct iph_error *e;

	if (c->fsm.state == CS_LINKUP)
		return "IPHTTPS interface active";
	if (c->fsm.state == CS_DISABLED)
		return "IPHTTPS interface deactivated";
	if (c->fsm.attempts <= 1 && !c->fsm.failures && !c->fsm.link_losses)
		return "Connecting to the IPHTTPS server";
	e = iph_error_lookup(c->last_code);
	return e && c->last_code ? e->status : "Failed to connect to the IPHTTPS server; waiting to reconnect";
}

/* The attempt sequence of the entry point in use (attempt.h): the client
 * certificate of its last try, the suites of the next, its retries. */
static void add_attempt(struct json_object *o, struct client *c)
{
	const struct attempt_seq *s = &c->seq[c->cur];

	json_put_str(o, "ClientCertificate", s->cert >= 0 ? c->cfg->creds[s->cert].label :
		c->cfg->n_creds ? "none left" : "none");
	json_put_u64(o, "ClientCertificates", c->cfg->n_creds);
	json_put_str(o, "NullEncryption", !c->cfg->null_enc ? "off" : s->null_next ?
		"on: the next attempt offers only the null suites (Windows' first attempt)" :
		"on: the next attempt offers the encrypted suites (the null-only one failed)");
	json_put_str(o, "Retries", s->retries);
}

static struct json_object *state_json(struct client *c)
{
	struct json_object *o = json_object_new_object();
	char buf[8192], t[32], err[ERRLEN];
	const struct iph_url *u = &c->urls[c->cur];
	const struct iph_error *e = iph_error_lookup(c->last_code);
	struct client_count n = client_count(c);

	json_put_str(o, "Role", "client");
	json_put_str(o, "Interface", c->tun_name);
json_put_str(o, "URL", u->text);
	if (c->has_proxy[c->cur]) {
		const struct proxy_cfg *px = &c->proxies[c->cur];
		snprintf(buf, sizeof(buf), strchr(px->host, ':') ? "[%s]:%s" : "%s:%s", px->host, px->port);
		json_put_str(o, "Proxy", buf);
	}
	json_put_str(o, "State", client_state_names[c->fsm.state]);
	json_put_str(o, "EntryPointInUse", c->fsm.state == CS_LINKUP ? c->choice : "");
	if (c->n_urls > 1) {
		struct json_object *eps = json_object_new_array();
		for (size_t i = 0; i < c->n_urls; i++) {
			const struct iph_url *eu = &c->urls[i];
			const struct entry_status *es = &c->entries[i];
			snprintf(buf, sizeof(buf), "%s: %s", eu->text,
				 !es->tried ? "not tried yet"
				 : c->fsm.state == CS_LINKUP && i == c->cur ? "in use"
				 : es->code == 0 ? "answered, not used" : "");
			if (es->tried && es->code && !(c->fsm.state == CS_LINKUP && i == c->cur))
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "0x%x %s (%s)",
					 es->code, iph_error_symbol(es->code), es->why);
			json_object_array_add(eps, json_object_new_string(buf));
		}
		json_object_object_add(o, "EntryPoints", eps);
	}
	json_put_str(o, "InterfaceStatus", interface_status(c));
	snprintf(buf, sizeof(buf), "0x%x", c->last_code);
	json_put_str(o, "LastErrorCode", buf);
	if (c->last_code)
		snprintf(buf, sizeof(buf), "%s: %s", e ? e->symbol : "UNKNOWN", c->last_error);
	else
		snprintf(buf, sizeof(buf), "-");
	json_put_str(o, "LastError", buf);
	if (c->last_code && e)
		json_put_str(o, "Fix", e->fix);
	client_time(c->fsm.state == CS_LINKUP ? 0 : c->next_attempt_wall, t, sizeof(t));
	json_put_str(o, "NextAttempt", c->fsm.running ? "in progress" : t);
	client_time(c->connected_since, t, sizeof(t));
	json_put_str(o, "ConnectedSince", t);
	json_put_str(o, "Peer", c->fsm.state == CS_LINKUP ? c->peer : "");
	json_put_str(o, "TLS", c->fsm.state == CS_LINKUP ? c->tls_desc : "");
	json_put_str(o, "ServerCertificate", c->server_cert);
	add_attempt(o, c);
	if (tun_list_addrs(c->tun_name, buf, sizeof(buf), err) < 0)
		buf[0] = 0;
	json_object_object_add(o, "Addresses", lines(buf));
	if (tun_list_routes(c->tun_name, buf, sizeof(buf), err) < 0)
		buf[0] = 0;
	json_object_object_add(o, "Routes", lines(buf));
	dns_status(c, o);
	json_put_u64(o, "RxBytes", n.rx_bytes);
	json_put_u64(o, "TxBytes", n.tx_bytes);
	json_put_u64(o, "RxPackets", n.rx_packets);
	json_put_u64(o, "TxPackets", n.tx_packets);
	json_put_u64(o, "Drops", c->drops);
	json_put_u64(o, "RouterMessagesIgnored", c->router_msgs_ignored);
	json_put_u64(o, "Attempts", c->fsm.attempts);
	json_put_u64(o, "Failures", c->fsm.failures);
	json_put_u64(o, "LinkLosses", c->fsm.link_losses);
	json_object_object_add(o, "Tun", ctl_tun_json(&c->tun));
	json_put_u64(o, "PID", (uint64_t)getpid());
	return o;
}

static struct json_object *ok(const char *what)
{
	struct json_object *o = json_object_new_object();
	json_put_str(o, "Result", what);
	return o;
}

struct json_object *client_ctl(void *arg, const char *cmd)
{
	struct client *c = arg;

	if (!strcmp(cmd, "state"))
		return state_json(c);
	if (!strcmp(cmd, "reconnect")) {
		client_reconnect_now(c);
		return ok(c->fsm.state == CS_LINKUP ? "link already up" : c->fsm.state == CS_DISABLED ? "disabled: enable first" : "reconnecting now, timer reset");
	}
	if (!strcmp(cmd, "disable")) {
		client_disable(c);
		return ok("disabled");
	}
	if (!strcmp(cmd, "enable")) {
		client_enable(c);
		return ok(c->fsm.state == CS_DISABLED ? "still disabled" : "enabled");
	}
	if (!strncmp(cmd, "clients", 7) || !strncmp(cmd, "disconnect", 10))
		return ctl_error("client", "a client instance; '%s' is for a server",
				 strncmp(cmd, "clients", 7) ? "disconnect" : "clients");
	return NULL;
}
