#!/bin/bash
# Make the capture library of `iphttps trace`: tests/data/captures/NAME.pcap
# (one pcapng) and NAME.expect (the verdict the trace must give), each from
# real components set up wrongly in one way: openssl s_server/s_client,
# nginx, HAProxy, and Python's ssl module (tests/data/capture_peer.py) for the
# IP-HTTPS exchange.  Client and server run in two network namespaces made
# here and joined by a veth pair; tcpdump captures on the client's side.
#
#   tests/data/make_captures.sh [OUTDIR [CASE...]]   (root; exits 77 when not root)
#
# NAME.expect holds "key value" lines: `code 0x...` (required), `result
# OK|FAIL|UNKNOWN`, and `evidence TEXT` lines, each a text that must appear
# in the verdict's cause, evidence or notes.  tests/scenarios/test_trace_data.py
# runs the trace on each capture and compares.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/captures}
[ "$(id -u)" = 0 ] || { echo "make_captures: needs root (network namespaces)" >&2; exit 77; }
for t in ip ss tcpdump openssl nginx haproxy editcap /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "make_captures: $t is missing" >&2; exit 77; }
done

ID=$$
NSC=diag-c-$ID NSS=diag-s-$ID VC=dgc$ID VS=dgs$ID
CLI=192.0.2.2 SRV=192.0.2.1 FILTERED=192.0.2.99 HOST=da.example.test
TMP=$(mktemp -d /tmp/diag-captures.XXXXXX)
PEER="/usr/bin/python3 $HERE/capture_peer.py"
SERVER_PID= TCPDUMP_PID=

cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
	[ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
	ip netns del "$NSC" 2>/dev/null || true
	ip netns del "$NSS" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

inc() { ip netns exec "$NSC" "$@"; }
ins() { ip netns exec "$NSS" "$@"; }

setup_net() {
	ip netns add "$NSC"
	ip netns add "$NSS"
	ip link add "$VC" type veth peer name "$VS"
	ip link set "$VC" netns "$NSC"
	ip link set "$VS" netns "$NSS"
	ip -n "$NSC" addr add $CLI/24 dev "$VC"
	ip -n "$NSS" addr add $SRV/24 dev "$VS"
	for ns in "$NSC" "$NSS"; do ip -n "$ns" link set lo up; done
	ip -n "$NSC" link set "$VC" up
	ip -n "$NSS" link set "$VS" up
	# a filtered address: frames go to the server namespace, which drops them
	mac=$(ip -n "$NSS" -o link show "$VS" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	ip -n "$NSC" neigh replace $FILTERED lladdr "$mac" dev "$VC" nud permanent
}

# ---- certificates ----
mkcert() {  # NAME CN CA  -> NAME.pem NAME.key, signed by CA (CA.pem, CA.key)
	local name=$1 cn=$2 ca=$3
	printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$HOST" $SRV >"$TMP/$name.ext"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$TMP/$name.key" -out "$TMP/$name.csr" \
		-subj "/O=iphttps tests/CN=$cn" 2>/dev/null
	openssl x509 -req -in "$TMP/$name.csr" -CA "$TMP/$ca.pem" -CAkey "$TMP/$ca.key" \
		-CAcreateserial -days 825 -extfile "$TMP/$name.ext" -out "$TMP/$name.pem" 2>/dev/null
}

mkca() {  # NAME CN
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$TMP/$1.key" -out "$TMP/$1.pem" \
		-subj "/O=iphttps tests/CN=$2" 2>/dev/null
}

mkexpired() {  # NAME signed by ca, valid in 2020 only
	mkdir -p "$TMP/ca-db"
	: >"$TMP/ca-db/index.txt"
	echo 1000 >"$TMP/ca-db/serial"
	cat >"$TMP/ca.cnf" <<EOF
[ ca ]
default_ca = ca_default
[ ca_default ]
database = $TMP/ca-db/index.txt
new_certs_dir = $TMP/ca-db
serial = $TMP/ca-db/serial
default_md = sha256
policy = policy_any
copy_extensions = copy
[ policy_any ]
commonName = supplied
organizationName = optional
[ ext ]
subjectAltName = DNS:$HOST,IP:$SRV
EOF
	openssl req -new -newkey rsa:2048 -nodes -keyout "$TMP/$1.key" -out "$TMP/$1.csr" \
		-subj "/O=iphttps tests/CN=$HOST" 2>/dev/null
	openssl ca -batch -config "$TMP/ca.cnf" -cert "$TMP/ca.pem" -keyfile "$TMP/ca.key" \
		-startdate 20200101000000Z -enddate 20210101000000Z -extensions ext \
		-in "$TMP/$1.csr" -out "$TMP/$1.pem" 2>/dev/null
}

make_certs() {
	mkca ca "Test Root CA"
	mkca otherca "Other Root CA"
	mkcert srv "$HOST" ca
	mkcert srv-other "$HOST" otherca
	mkcert client-other "client1" otherca
	mkexpired srv-expired
}

# ---- processes ----
wait_listen() {  # until something listens on SRV:443 in the server namespace
	for _ in $(seq 50); do
		ins ss -Hltn "sport = :443" | grep -q . && return 0
		sleep 0.1
	done
	echo "make_captures: the server did not start" >&2
	return 1
}

start_server() {  # COMMAND...  (ip netns exec execs it: $! is the server)
	ip netns exec "$NSS" "$@" >"$TMP/server.out" 2>&1 </dev/null &
	SERVER_PID=$!
	wait_listen
}

s_server() {  # ARGS...: openssl s_server on 443 (-www: it never reads stdin)
	start_server openssl s_server -accept 443 -www "$@"
}

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

start_capture() {  # IFACE-ARGS...
	: >"$TMP/tcpdump.err"
	ip netns exec "$NSC" tcpdump "$@" --immediate-mode -U -s 0 -w "$TMP/cap.pcap" "tcp port 443" 2>"$TMP/tcpdump.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$TMP/tcpdump.err" && return 0
		sleep 0.1
	done
	echo "make_captures: tcpdump did not start" >&2
	cat "$TMP/tcpdump.err" >&2
	return 1
}

stop_capture() {  # NAME [pcapng]
	sleep 0.5
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" 2>/dev/null || true
	TCPDUMP_PID=
	if [ "${2:-}" = pcapng ]; then
		editcap -F pcapng "$TMP/cap.pcap" "$OUT/$1.pcapng"
	else
		cp "$TMP/cap.pcap" "$OUT/$1.pcap"
	fi
}

expect() {  # NAME LINES...
	local name=$1
	shift
	printf '%s\n' "$@" >"$OUT/$name.expect"
	echo "made $name"
}

s_client() {  # ARGS...: a short-lived openssl client
	inc timeout 5 openssl s_client -connect $SRV:443 -servername $HOST "$@" </dev/null >"$TMP/client.out" 2>&1 || true
}

# ---- the cases ----
case_no_common_suite() {
	s_server -cert "$TMP/srv.pem" -key "$TMP/srv.key" \
		-cipher 'AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' -no_tls1_3
	start_capture -i "$VC"
	s_client -tls1_2 -cipher 'NULL-SHA256:@SECLEVEL=0' -CAfile "$TMP/ca.pem"
	stop_capture no_common_suite
	stop_server
	expect no_common_suite "code 0x80090326" "result FAIL" \
		"evidence right after the ClientHello" "evidence TLS_RSA_WITH_NULL_SHA256" "evidence handshake_failure (40)"
}

case_client_cert_required() {
	s_server -cert "$TMP/srv.pem" -key "$TMP/srv.key" \
		-Verify 1 -CAfile "$TMP/ca.pem"
	start_capture -i "$VC"
	s_client -tls1_2 -CAfile "$TMP/ca.pem"
	stop_capture client_cert_required
	stop_server
	expect client_cert_required "code 0x90320" "result FAIL" \
		"evidence CertificateRequest" "evidence empty Certificate" "evidence Test Root CA"
}

case_client_cert_wrong_ca() {
	s_server -cert "$TMP/srv.pem" -key "$TMP/srv.key" -Verify 1 -verify_return_error -CAfile "$TMP/ca.pem"
	start_capture -i "$VC"
	s_client -tls1_2 -CAfile "$TMP/ca.pem" -cert "$TMP/client-other.pem" -key "$TMP/client-other.key"
	stop_capture client_cert_wrong_ca
	stop_server
	expect client_cert_wrong_ca "code 0x80090326" "result FAIL" "evidence unknown_ca (48)" \
		"evidence refused the client certificate"
}

case_untrusted_root() {
	s_server -cert "$TMP/srv-other.pem" -key "$TMP/srv-other.key"
	start_capture -i "$VC"
	s_client -tls1_2 -CAfile "$TMP/ca.pem" -verify_return_error
	stop_capture untrusted_root
	stop_server
	expect untrusted_root "code 0x800b0109" "result FAIL" "evidence unknown_ca (48)" "evidence Other Root CA"
}

case_untrusted_root_tls13() {
	s_server -cert "$TMP/srv-other.pem" -key "$TMP/srv-other.key"
	start_capture -i "$VC"
	s_client -tls1_3 -CAfile "$TMP/ca.pem" -verify_return_error
	stop_capture untrusted_root_tls13
	stop_server
	expect untrusted_root_tls13 "code 0x800b0109" "result FAIL" "evidence unknown_ca (48)" \
		"evidence after the server's encrypted handshake"
}

case_expired() {
	s_server -cert "$TMP/srv-expired.pem" -key "$TMP/srv-expired.key"
	start_capture -i "$VC"
	s_client -tls1_2 -CAfile "$TMP/ca.pem" -verify_return_error
	stop_capture expired_cert
	stop_server
	expect expired_cert "code 0x800b0101" "result FAIL" "evidence certificate_expired (45)" \
		"evidence 2021-01-01" "evidence expired on 2021-01-01"
}

case_refused() {
	start_capture -i "$VC"
	s_client -tls1_2
	stop_capture refused
	expect refused "code 0x274d" "result FAIL" "evidence answered the client's SYN with RST"
}

case_filtered() {
	start_capture -i "$VC"
	inc timeout 4 bash -c "exec 3<>/dev/tcp/$FILTERED/443" 2>/dev/null || true
	stop_capture filtered
	expect filtered "code 0x274c" "result FAIL" "evidence no SYN-ACK"
}

case_reset_after_hello() {
	start_server $PEER reset-server --addr $SRV
	start_capture -i "$VC"
	s_client -tls1_2
	stop_capture reset_after_hello
	stop_server
	expect reset_after_hello "code 0x2746" "result FAIL" "evidence sent RST right after the ClientHello"
}

nginx_conf() {  # ssl|plain
	mkdir -p "$TMP/nginx/logs"
	local listen="listen $SRV:443 ssl;" tls="ssl_certificate $TMP/srv.pem; ssl_certificate_key $TMP/srv.key;
		ssl_protocols TLSv1.2; ssl_ciphers NULL-SHA256:NULL-SHA:@SECLEVEL=0;"
	if [ "$1" = plain ]; then listen="listen $SRV:443;"; tls=""; fi
	cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx;
	proxy_temp_path $TMP/nginx;
	fastcgi_temp_path $TMP/nginx;
	uwsgi_temp_path $TMP/nginx;
	scgi_temp_path $TMP/nginx;
	server {
		$listen
		$tls
		server_name $HOST;
		location / { return 404; }
	}
}
EOF
}

case_nginx_on_443() {  # nginx answers the IP-HTTPS POST (Content-Length 2^64-1) with 400
	nginx_conf ssl
	start_server nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf"
	start_capture -i "$VC"
	inc timeout 5 $PEER client --addr $SRV --host $HOST --ca "$TMP/ca.pem" --null >/dev/null 2>&1 || true
	stop_capture nginx_on_443
	stop_server
	expect nginx_on_443 "code 0x80190190" "result FAIL" "evidence POST /IPHTTPS answered 400" "evidence Server: nginx"
}

case_plain_http_on_443() {
	nginx_conf plain
	start_server nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf"
	start_capture -i "$VC"
	s_client -tls1_2
	stop_capture plain_http_on_443
	stop_server
	expect plain_http_on_443 "code 0x80090326" "result FAIL" "evidence HTTP/1.1 400 Bad Request"
}

haproxy_conf() {  # BIND-OPTIONS: a TLS-terminating "ADC" in front of nothing
	cat "$TMP/srv.pem" "$TMP/srv.key" >"$TMP/srv-haproxy.pem"
	cat >"$TMP/haproxy.cfg" <<EOF
global
	maxconn 64
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
frontend adc
	bind $SRV:443 ssl crt $TMP/srv-haproxy.pem $1
	http-request return status 503
EOF
}

case_haproxy_no_null() {  # an ADC without the null suites, a Windows 10-like client offering them
	haproxy_conf "ssl-min-ver TLSv1.2"
	start_server haproxy -db -f "$TMP/haproxy.cfg"
	start_capture -i "$VC"
	s_client -tls1_2 -cipher 'NULL-SHA256:NULL-SHA:@SECLEVEL=0' -CAfile "$TMP/ca.pem"
	stop_capture haproxy_no_null
	stop_server
	expect haproxy_no_null "code 0x80090326" "result FAIL" "evidence right after the ClientHello" \
		"evidence TLS_RSA_WITH_NULL_SHA256 and TLS_RSA_WITH_NULL_SHA"
}

case_haproxy_wrong_client_ca() {  # client authentication with the wrong CA on the ADC
	haproxy_conf "ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2 verify required ca-file $TMP/otherca.pem"
	start_server haproxy -db -f "$TMP/haproxy.cfg"
	start_capture -i "$VC"
	s_client -CAfile "$TMP/ca.pem" -cert "$TMP/srv.pem" -key "$TMP/srv.key"
	stop_capture haproxy_wrong_client_ca
	stop_server
	expect haproxy_wrong_client_ca "code 0x80090326" "result FAIL" "evidence refused the client certificate" \
		"evidence Other Root CA"
}

case_success_null() {  # NAME CAPTURE-IFACE-ARGS... ; pcapng when NAME ends in _any
	local name=$1 fmt=pcap
	shift
	case $name in *_any) fmt=pcapng ;; esac
	start_server $PEER server --addr $SRV --cert "$TMP/srv.pem" --key "$TMP/srv.key" --null
	start_capture "$@"
	inc timeout 10 $PEER client --addr $SRV --host $HOST --ca "$TMP/ca.pem" --null
	stop_capture "$name" $fmt
	stop_server
	expect "$name" "code 0x0" "result OK" "evidence POST /IPHTTPS answered 200" \
		"evidence Microsoft-HTTPAPI/2.0" "evidence Router Solicitation seen" "evidence prefix 2001:db8:1:2::/64"
}

case_encrypted_ok() {
	start_server $PEER server --addr $SRV --cert "$TMP/srv.pem" --key "$TMP/srv.key"
	start_capture -i "$VC"
	inc timeout 10 $PEER client --addr $SRV --host $HOST --ca "$TMP/ca.pem"
	stop_capture encrypted_ok
	stop_server
	expect encrypted_ok "code 0x0" "result OK" "evidence TLS 1.3" "evidence application data"
}

ALL="no_common_suite client_cert_required client_cert_wrong_ca untrusted_root
untrusted_root_tls13 expired refused filtered reset_after_hello nginx_on_443 plain_http_on_443 haproxy_no_null haproxy_wrong_client_ca
success_null success_null_any encrypted_ok"
shift || true
mkdir -p "$OUT"
setup_net
make_certs
for c in ${*:-$ALL}; do
	case $c in
	success_null) case_success_null success_null -i "$VC" ;;
	success_null_any) case_success_null success_null_any -i any ;;
	*) "case_$c" ;;
	esac
done
echo "captures in $OUT"
