/* The server's counters as data: see stats.h. */
#include "server/stats.h"

#define S(f) offsetof(struct server_stats, f)
const struct stat_def server_stat_defs[] = {
	{ "Accepted", S(accepted), "connections_accepted", "TCP connections accepted" },
	{ "RefusedFull", S(refused_full), "connections_refused_full", "connections refused at --max-clients" },
	{ "TLSFailed", S(tls_failed), "tls_handshakes_failed", "TLS handshakes that failed" },
	{ "NullOnlyReset", S(null_only_reset), "null_only_hellos_reset", "ClientHellos with only null suites the policy refuses, reset so that Windows retries encrypted" },
	{ "HTTPRejected", S(http_rejected), "http_requests_rejected", "requests answered with an HTTP error" },
	{ "HeaderTimeouts", S(header_timeouts), "header_timeouts", "handshakes or requests not complete within --header-timeout" },
	{ "StreamErrors", S(stream_errors), "stream_errors", "connections ended for a malformed IPv6 stream" },
	{ "Closed", S(closed), "connections_closed", "connections closed" },
	{ "RxPackets", S(rx_packets), "received_packets", "IPv6 packets received from clients" },
	{ "TxPackets", S(tx_packets), "sent_packets", "IPv6 packets sent to clients" },
	{ "RxBytes", S(rx_bytes), "received_bytes", "bytes of IPv6 packets received from clients" },
	{ "TxBytes", S(tx_bytes), "sent_bytes", "bytes of IPv6 packets sent to clients" },
	{ "ToTun", S(to_tun), "tun_written_packets", "packets written to the TUN device" },
	{ "FromTun", S(from_tun), "tun_read_packets", "packets read from the TUN device" },
	{ "ClientToClient", S(client_to_client), "client_to_client_packets", "packets switched between clients" },
	{ "RASent", S(ra_sent), "router_advertisements_sent", "Router Advertisements sent" },
	{ "NASent", S(na_sent), "neighbor_advertisements_sent", "Neighbor Advertisements sent" },
	{ "AddressesEvicted", S(evicted), "addresses_evicted", "address bindings given up at a client's limit" },
	{ "ControlTimeouts", S(ctl_timeouts), "control_requests_timed_out", "control-socket requests closed past their deadline or for room" },
	{ "ClientCertsExpiring", S(client_certs_expiring), "client_certificates_expiring", "handshakes with a client certificate that expires within 30 days" },
	{ "Disconnected", S(disconnected), "clients_disconnected", "connections ended by iphttps disconnect" },
	{ "RevokedAtReload", S(revoked_at_reload), "clients_revoked_at_reload", "connected clients whose certificate a re-read CRL revoked" },
	{ "ScriptsStarted", S(hooks.started), "scripts_started", "connect and disconnect scripts started" },
	{ "ScriptsSucceeded", S(hooks.succeeded), "scripts_succeeded", "scripts that exited with status 0" },
	{ "ScriptsFailed", S(hooks.failed), "scripts_failed", "scripts that failed, or could not be run" },
	{ "ScriptsTimedOut", S(hooks.timed_out), "scripts_timed_out", "scripts stopped at --hook-timeout" },
	{ "ScriptsDropped", S(hooks.dropped), "scripts_dropped", "scripts not run: too many waiting, or shutting down" },
	{ "ScriptRefused", S(hook_refused), "connections_refused_by_script", "connections a failed connect script refused (--hook-fatal)" },
	{ "RecordsTakenOver", S(records_taken), "tls_records_taken_over", "TLS connections whose records the server took over from OpenSSL after the handshake (--tls-records own)" },
	{ "TLSResumed", S(tls_resumed), "tls_sessions_resumed", "TLS handshakes that resumed a session with a ticket (--tls-resumption on)" },
	{ "RecordErrors", S(record_errors), "tls_record_errors", "connections ended after the handshake by a bad TLS record (MAC or tag, length, unexpected message) or the client's fatal alert" },
	{ "MetricsScrapes", S(metrics_scrapes), "metrics_scrapes", "GET /metrics answered" },
	{ "MetricsRefused", S(metrics_refused), "metrics_requests_refused", "metrics requests refused: another method or path, too long, too slow, too many at once" },
	{ NULL },
};

const struct stat_array_def server_stat_arrays[] = {
	{ "Refused", refuse_reason_names, REFUSE__COUNT, S(refused), "connections_refused", "reason",
	  "connections refused or ended before LinkUp, by reason" },
	{ "Drops", drop_reason_names, DROP__COUNT, S(drops), "dropped_packets", "reason",
	  "packets dropped, by reason" },
	{ "HandshakeFailures", hs_fail_names, HSF__COUNT, S(hs_failures), "tls_handshake_failures", "reason",
	  "TLS handshakes that failed, by reason, with the Windows error code the client reports",
	  hs_fail_codes },
	{ NULL },
};
#undef S
