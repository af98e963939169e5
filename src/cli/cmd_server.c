/* iphttps server: the configuration (src/server/config.c), the client
 * command printed for the administrator, then the server's event loop
 * (src/server/). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/log.h"
#include "common/priv.h"
#include "server/server.h"
#include "tls/pki.h"

/* The node's own plain-HTTP URL, for a check from the balancer: the listen
 * address when it is one (the balancer reaches the node there), the host
 * name for a wildcard. */
static void node_url(const struct server_cfg *c, char *out, size_t len)
{
	const char *colon = strrchr(c->listen, ':');
	const char *port = colon ? colon + 1 : "80";
	int hl = colon ? (int)(colon - c->listen) : 0;
	char host[300];

	snprintf(host, sizeof(host), "%.*s", hl, c->listen);
	if (!host[0] || !strcmp(host, "*") || !strcmp(host, "[::]") || !strcmp(host, "::") ||
	    !strcmp(host, "0.0.0.0"))
		snprintf(host, sizeof(host), "%s", c->hostnames.v[0]);
	else if (strchr(host, ':') && host[0] != '[')
		snprintf(host, sizeof(host), "[%.*s]", hl, c->listen);
	snprintf(out, len, "http://%s%s%s%s", host, strcmp(port, "80") ? ":" : "",
		 strcmp(port, "80") ? port : "", c->paths.v[0]);
}

static void print_client_command(struct server_cfg *c, struct pki_paths *pp, const char *cert,
				 const char *key)
{
	const char *port = strrchr(c->listen, ':');
	char url[512];
	int generated_ca = c->client_ca && !strcmp(c->client_ca, pp->ca_cert);
	int generated_server = !strcmp(c->cert, pp->server_cert);

	port = port ? port + 1 : "443";
	if (c->transport == TRANSPORT_HTTP) {
		/* Clients use the balancer's https:// URL; the command is a
		 * check of this node from the balancer's side (no TLS). */
		node_url(c, url, sizeof(url));
		printf("Plain HTTP behind a TLS-terminating balancer: clients connect to the balancer's https:// URL (path %s).\n",
		       c->paths.v[0]);
		printf("To connect a client:\n  iphttps client --allow-http %s\n", url);
		printf("(that one from the balancer, to check this node without TLS)\n");
	} else {
		snprintf(url, sizeof(url), "https://%s%s%s%s", c->hostnames.v[0],
			 strcmp(port, "443") ? ":" : "", strcmp(port, "443") ? port : "", c->paths.v[0]);
		printf("To connect a client:\n  iphttps client %s", url);
		if (generated_server)
			printf(" --ca %s", pp->ca_cert);
		if (c->auth == AUTH_CERTIFICATES && generated_ca && cert[0])
			printf(" --cert %s --key %s", cert, key);
		printf("\n");
		if (c->auth == AUTH_CERTIFICATES && generated_ca)
			printf("More client certificates: iphttps issue-client --state-dir %s NAME\n", pp->dir);
	}
	fflush(stdout);
}

struct banner {
	struct server_cfg *cfg;
	struct server_boot *boot;
};

/* Once the server listens: how to connect a client. */
static void on_ready(void *arg)
{
	struct banner *b = arg;

	print_client_command(b->cfg, &b->boot->pp, b->boot->client_cert, b->boot->client_key);
}

/* The port of an ADDR:PORT the checks accepted. */
static unsigned listen_port(const char *listen)
{
	const char *c = strrchr(listen, ':');

	return c ? (unsigned)strtoul(c + 1, NULL, 10) : 0;
}

/* --check passed: what the server would run with. */
static void print_check(struct server_cfg *c)
{
	char err[ERRLEN];

	printf("configuration OK%s%s\n", c->origin.file[0] ? ": " : "", c->origin.file);
	printf("  listen %s (%s, authentication %s)\n", c->listen,
	       c->transport == TRANSPORT_HTTP ? "plain HTTP" : "TLS",
	       c->auth == AUTH_NONE ? "none" : "certificates");
	printf("  certificate %s\n", c->cert ? c->cert : "generated in the state directory (kept there)");
	printf("  prefix %s\n", c->prefix ? c->prefix : c->prefix_pool ? c->prefix_pool
	       : "kept in (or generated into) the state directory");
	printf("  state directory %s, TUN %s\n", c->state_dir, c->tun);
	if (priv_check_daemon(listen_port(c->listen), err) < 0)
		printf("note: to run, the server %s\n", err);
}

/* After the drop (common/priv.h) a reload re-reads the certificate, key
 * and client CAs as the unprivileged user: the generated ones are made
 * readable to its group (the state directory too, the CA's key and the
 * client keys stay root's alone); the administrator's own files are
 * checked, and named when a reload could not read them. */
static void readable_after_drop(struct server_cfg *c, const struct pki_paths *pp)
{
	const struct priv_user *u = &c->run_as;
	const char *files[] = { c->cert, c->key, c->client_ca };

	if (!u->drop)
		return;
	if (!chown(pp->dir, 0, u->gid))
		chmod(pp->dir, 0750);
	if (c->key && !strcmp(c->key, pp->server_key) && !chown(c->key, 0, u->gid))
		chmod(c->key, 0640);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] && !priv_user_can_read(u, files[i]))
			log_warnx("%s is not readable to user %s: a reload (SIGHUP) after start-up could not read it again (chgrp %s %s; chmod g+r %s)",
				  files[i], u->name, u->name, files[i], files[i]);
}

int cmd_server(int argc, char **argv)
{
	struct server_cfg cfg;
	struct server_boot boot;
	char err[ERRLEN];
	int r, rc;

	r = server_cfg_parse(&cfg, argc, argv, err);
	if (r == 1) {
		server_cfg_usage(stdout);
		server_cfg_free(&cfg);
		return 0;
	}
	log_init("iphttps-server", r == 0 && cfg.verbose ? 1 : 0);
	/* A start without the privilege it needs says so first (its files
	 * may well be out of its reach too). */
	if (r == 0 && !cfg.check && priv_check_daemon(listen_port(cfg.listen), err) < 0) {
		log_errx("%s", err);
		server_cfg_free(&cfg);
		return 1;
	}
	/* Every check before anything on the host changes (issue 12 item 6). */
	if (r < 0 || server_cfg_check(&cfg, err) < 0) {
		log_cmd_error("iphttps server", "%s", err);
		server_cfg_free(&cfg);
		return 2;
	}
	if (priv_user_lookup(cfg.user, &cfg.run_as, err) < 0) {
		log_cmd_error("iphttps server", "%s", err);
		server_cfg_free(&cfg);
		return 2;
	}
	if (cfg.check) {
		print_check(&cfg);
		server_cfg_free(&cfg);
		return 0;
	}
	if (cfg.auth == AUTH_NONE)
		log_warnx("--auth none: anyone who reaches %s joins the link; only do this when what flows inside is protected otherwise (DirectAccess: IPsec)",
			  cfg.listen);
	if (server_check_nofile(err) < 0 || server_cfg_materialize(&cfg, &boot, err) < 0) {
		log_errx("%s", err);
		server_cfg_free(&cfg);
		return 1;
	}
	readable_after_drop(&cfg, &boot.pp);
	rc = server_main(&cfg, server_cfg_reload, on_ready, &(struct banner){ &cfg, &boot });
	server_cfg_free(&cfg);
	return rc;
}
