#!/bin/bash
# make bench: throughput and round-trip time through the iphttps tunnel,
# against the bare path and against ocserv + openconnect (TLS only) in the
# same run, so that ratios, not absolute numbers, are what to quote
# (../shared/PERFORMANCE.md).
#
# Two network namespaces joined by a veth:
#   c (client) 192.0.2.2, 2001:db8:2::2  ----  s (server) 192.0.2.1, 2001:db8:2::1
# Paths measured, each with the same commands (iperf3 single stream, both
# directions; ping), IPv6 inside every tunnel:
#   bare     c -> 2001:db8:2::1 over the veth
#   iphttps  iphttps server in s, the client in c as the server prints it;
#            iperf3 to the server's tunnel address <prefix>::1
#   ocserv   ocserv in s (TLS only: no udp-port), openconnect --no-dtls in c;
#            iperf3 to the server's address on its ocserv device
#            (only when ocserv and openconnect are installed:
#            scripts/deps.sh --bench)
#   nat64    the cost of translation: a third namespace i behind the server
#            (IPv4 10.30.0.2 only for the translator, IPv6 2001:db8:3::2),
#            reached from c through an iphttps tunnel over IPv6, then through
#            the server's NAT64 (--nat64 auto: TAYGA, masqueraded) over IPv4,
#            iperf3 -s in i both times
# Run as root from the repository root. Environment:
#   IPHTTPS_BIN  binary (default ./iphttps)
#   BENCH_TIME   iperf3 seconds per direction (default 10)
#   BENCH_RUNS   runs per measurement, the median is shown (default 1)
#   BENCH_ONLY   space-separated subset of: bare iphttps nat64 ocserv
#   BENCH_IPHTTPS_ARGS  more options for both iphttps server and client
#                (e.g. --no-offload, to compare)
set -euo pipefail

BIN=${IPHTTPS_BIN:-./iphttps}
T=${BENCH_TIME:-10}
RUNS=${BENCH_RUNS:-1}
ONLY=${BENCH_ONLY:-bare iphttps nat64 ocserv}
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it creates network namespaces)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "bench: $BIN not found: run 'make' first" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing: scripts/deps.sh --bench" >&2; exit 2; }
[[ "$T" =~ ^[0-9]+$ && "$RUNS" =~ ^[0-9]+$ && $T -ge 1 && $T -le 120 && $RUNS -ge 1 && $RUNS -le 9 ]] ||
	{ echo "bench: BENCH_TIME 1..120 and BENCH_RUNS 1..9" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

P="iphb$$-"
C=${P}c S=${P}s I=${P}i
TMP=$(mktemp -d /tmp/iphttps-bench.XXXXXX)
chmod 755 "$TMP"               # ocserv's workers run as nobody
PIDS=()
declare -A RES CMDS
ORDER=()
FAILED=0

log() { printf '== %s\n' "$*" >&2; }

teardown() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	if [ $rc != 0 ]; then
		echo "bench failed (exit $rc); last lines of the logs:" >&2
		for f in "$TMP"/*.log; do
			[ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
		done
	fi
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local alive=0
		for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.3
	done
	for ns in "$C" "$S" "$I"; do
		if ip netns list | grep -qw "$ns"; then
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null || true
			done
			ip netns del "$ns" 2>/dev/null || true
		fi
		rm -rf "/etc/netns/$ns"
	done
	rmdir /etc/netns 2>/dev/null || true
	rm -rf "$TMP"
	exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_until SECONDS DESCRIPTION CMD...: retry CMD every 0.2 s.
wait_until() {
	local t=$1 what=$2 i; shift 2
	for ((i = 0; i < t * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "bench: timed out after ${t}s waiting for $what" >&2
	return 1
}

# bg NAME NS CMD...: start CMD in NS in the background, output in NAME.log.
bg() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	disown $!                  # teardown kills it; no job-control chatter
}

# ---------------------------------------------------------------- topology
log "namespaces $C and $S"
for ns in "$C" "$S"; do
	ip netns add "$ns"
	nsx "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	nsx "$ns" ip link set lo up
done
ip -n "$C" link add eth0 type veth peer name eth0 netns "$S"
nsx "$C" ip addr add 192.0.2.2/24 dev eth0
nsx "$C" ip -6 addr add 2001:db8:2::2/64 dev eth0 nodad
nsx "$S" ip addr add 192.0.2.1/24 dev eth0
nsx "$S" ip -6 addr add 2001:db8:2::1/64 dev eth0 nodad
nsx "$C" ip link set eth0 up
nsx "$S" ip link set eth0 up
mkdir -p "/etc/netns/$C"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n192.0.2.1\tiphttps.test\n' \
	>"/etc/netns/$C/hosts"
wait_until 5 "the veth" nsx "$C" ping -c 1 -W 1 2001:db8:2::1

# -------------------------------------------------------------- measuring
# iperf_once DST [-R]: one iperf3 run from c to DST; prints bit/s received
# (nan when the run failed).
iperf_once() {
	local dst=$1 rev=${2:-} out
	# Not through nsx (a function would fork a subshell): $! must be the
	# process that forwards our kill to iperf3 (timeout does).
	# (IPERF_NS: where iperf3 -s runs, the server's namespace unless set)
	ip netns exec "${IPERF_NS:-$S}" timeout $((T + 30)) iperf3 -s -1 -p 5201 >"$TMP/iperf3-s.log" 2>&1 &
	local spid=$!
	wait_until 5 "iperf3 -s" sh -c "ip netns exec '${IPERF_NS:-$S}' ss -Hltn 'sport = :5201' | grep -q LISTEN"
	out=$(nsx "$C" timeout $((T + 20)) iperf3 -c "$dst" -p 5201 -t "$T" -J --connect-timeout 3000 $rev) || {
		echo "bench: iperf3 -c $dst $rev failed: $(printf '%s' "$out" | tail -c 300)" >&2
		kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
		echo nan; return 0; }
	wait "$spid" 2>/dev/null || true
	printf '%s' "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' ||
		echo nan
}

# ping_once DST: average RTT in ms of 20 pings 50 ms apart.
ping_once() {
	{ nsx "$C" timeout 20 ping -n -q -c 20 -i 0.05 -W 2 "$1" || true; } |
		awk -F/ '/^rtt|^round-trip/ { print $5; found=1 } END { if (!found) print "nan" }'
}

# median V...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# measure LABEL DST: fill RES[LABEL,up|down|rtt] and CMDS[LABEL].
measure() {
	local label=$1 dst=$2 i up=() down=() rtt=()
	for ((i = 1; i <= RUNS; i++)); do
		log "$label: iperf3 client->server (run $i/$RUNS, ${T}s)"
		up+=("$(iperf_once "$dst")")
		log "$label: iperf3 server->client (run $i/$RUNS, ${T}s)"
		down+=("$(iperf_once "$dst" -R)")
		log "$label: ping"
		rtt+=("$(ping_once "$dst")")
	done
	case " ${up[*]} ${down[*]} ${rtt[*]} " in *" nan "*) FAILED=1 ;; esac
	RES[$label,up]=$(median "${up[@]}")
	RES[$label,down]=$(median "${down[@]}")
	RES[$label,rtt]=$(median "${rtt[@]}")
	ORDER+=("$label")
	CMDS[$label]="in $S: iperf3 -s -1 -p 5201
    in $C: iperf3 -c $dst -p 5201 -t $T -J --connect-timeout 3000 [-R]
    in $C: ping -n -q -c 20 -i 0.05 -W 2 $dst"
}

want() { [[ " $ONLY " == *" $1 "* ]]; }

# -------------------------------------------------------------- bare path
if want bare; then
	measure "bare veth" 2001:db8:2::1
fi

# ---------------------------------------------------------------- iphttps
if want iphttps; then
	log "iphttps: starting server and client"
	mkdir -p "$TMP/run"
	# --tun iphttps-srv: the TUN name names the control socket in the
	# shared run dir; the client keeps the default iphttps0.
	SRV_ARGS=(server --state-dir "$TMP/state" --run-dir "$TMP/run"
		--hostname iphttps.test --tun iphttps-srv ${BENCH_IPHTTPS_ARGS:-})
	bg iphttps-server "$S" "$BIN" "${SRV_ARGS[@]}"
	wait_until 30 "the iphttps server" sh -c "grep -A1 -x 'To connect a client:' '$TMP/iphttps-server.log' | sed -n 2p | grep -q ."
	LINE=$(grep -A1 -x 'To connect a client:' "$TMP/iphttps-server.log" | sed -n 2p)
	read -r -a CMD <<<"$LINE"
	CLI_ARGS=(client --run-dir "$TMP/run" ${BENCH_IPHTTPS_ARGS:-} "${CMD[@]:2}")
	bg iphttps-client "$C" "$BIN" "${CLI_ARGS[@]}"
	wait_until 30 "iphttps LinkUp" sh -c "'$BIN' state --run-dir '$TMP/run' iphttps0 | grep -Eq '^State *: *LinkUp\$'"
	wait_until 15 "the client's SLAAC address" sh -c "ip netns exec '$C' ip -6 -o addr show dev iphttps0 scope global | grep -q inet6"
	DST=$(nsx "$S" ip -6 -o addr show dev iphttps-srv scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$DST" ] || { echo "bench: no global address on iphttps-srv" >&2; exit 1; }
	wait_until 10 "a ping through the iphttps tunnel" nsx "$C" ping -c 1 -W 1 "$DST"
	measure iphttps "$DST"
	CMDS[iphttps]="in $S: iphttps ${SRV_ARGS[*]}
    in $C: iphttps ${CLI_ARGS[*]}
    ${CMDS[iphttps]}"
fi

# ------------------------------------------- NAT64: the cost of translation
# A server of its own (--nat64 auto, port 8443, TUN iph64-srv) and a client
# (TUN iph64-cli, --dns off); the same host i measured over IPv6 and
# through the NAT64 over IPv4.
if want nat64; then
	log "nat64: namespace $I behind the server, a server with --nat64 auto and its client"
	ip netns add "$I"
	nsx "$I" sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	nsx "$I" ip link set lo up
	ip -n "$S" link add eth1 type veth peer name eth0 netns "$I"
	nsx "$S" ip addr add 10.30.0.1/24 dev eth1
	nsx "$S" ip -6 addr add 2001:db8:3::1/64 dev eth1 nodad
	nsx "$I" ip addr add 10.30.0.2/24 dev eth0
	nsx "$I" ip -6 addr add 2001:db8:3::2/64 dev eth0 nodad
	nsx "$S" ip link set eth1 up
	nsx "$I" ip link set eth0 up
	nsx "$I" ip -6 route add default via 2001:db8:3::1
	mkdir -p "$TMP/run"
	N64_SRV=(server --state-dir "$TMP/state64" --run-dir "$TMP/run" --hostname iphttps.test
		--tun iph64-srv --listen '[::]:8443' --route 2001:db8:3::/64 --nat64 auto ${BENCH_IPHTTPS_ARGS:-})
	bg iphttps-nat64-server "$S" "$BIN" "${N64_SRV[@]}"
	wait_until 30 "the NAT64 iphttps server" sh -c "grep -A1 -x 'To connect a client:' '$TMP/iphttps-nat64-server.log' | sed -n 2p | grep -q ."
	LINE=$(grep -A1 -x 'To connect a client:' "$TMP/iphttps-nat64-server.log" | sed -n 2p)
	read -r -a CMD <<<"$LINE"
	N64_CLI=(client --run-dir "$TMP/run" --tun iph64-cli --dns off ${BENCH_IPHTTPS_ARGS:-} "${CMD[@]:2}")
	bg iphttps-nat64-client "$C" "$BIN" "${N64_CLI[@]}"
	wait_until 30 "the NAT64 client LinkUp" sh -c "'$BIN' state --run-dir '$TMP/run' iph64-cli | grep -Eq '^State *: *LinkUp\$'"
	N64=$("$BIN" state --run-dir "$TMP/run" iph64-cli | sed -n 's/^NAT64Prefix *: *\([0-9a-f:]*\)\/96$/\1/p')
	[ -n "$N64" ] || { echo "bench: the client learnt no NAT64 prefix" >&2; exit 1; }
	wait_until 15 "ping 2001:db8:3::2 through the tunnel" nsx "$C" ping -c 1 -W 1 2001:db8:3::2
	wait_until 15 "ping ${N64}10.30.0.2 through the NAT64" nsx "$C" ping -c 1 -W 1 "${N64}10.30.0.2"
	IPERF_NS=$I measure "iphttps->inside IPv6" 2001:db8:3::2
	IPERF_NS=$I measure "iphttps->inside NAT64" "${N64}10.30.0.2"
	for l in "iphttps->inside IPv6" "iphttps->inside NAT64"; do
		CMDS[$l]="in $S: iphttps ${N64_SRV[*]}
    in $C: iphttps ${N64_CLI[*]}
    ${CMDS[$l]/in $S: iperf3/in $I: iperf3}"
	done
fi

# ------------------------------------------- idle clients: memory each
# BENCH_IDLE connections (default 2000) complete TLS and the POST and stay
# idle; the server's resident memory before and after, divided by their
# number, is what one idle client costs (aim: <= 16 KiB, PERFORMANCE.md).
IDLE_NOTE=""
if want iphttps && [ "${BENCH_IDLE:-2000}" -gt 0 ]; then
	N=${BENCH_IDLE:-2000}
	SPID=$("$BIN" state --json --run-dir "$TMP/run" iphttps-srv | sed -n 's/.*"PID": *\([0-9]*\).*/\1/p')
	rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
	R0=$(rss "$SPID")
	log "idle: $N connections to the iphttps server"
	IDLE_CMD=(/usr/bin/python3 tests/scenarios/idle_clients.py --connect 192.0.2.1:443
		--servername iphttps.test --ca "$TMP/state/ca.pem" --cert "$TMP/state/clients/client1.pem"
		--key "$TMP/state/clients/client1.key" --count "$N" --min-hold 3 --max-hold 120)
	mkfifo "$TMP/idle.in"
	ip netns exec "$C" "${IDLE_CMD[@]}" <"$TMP/idle.in" >"$TMP/idle.out" 2>&1 &
	IDLE_PID=$!
	exec 7>"$TMP/idle.in"
	wait_until 120 "the idle connections" grep -q '^READY' "$TMP/idle.out"
	sleep 2
	R1=$(rss "$SPID")
	READY=$(grep '^READY' "$TMP/idle.out")
	exec 7>&-
	wait "$IDLE_PID" 2>/dev/null
	EST=$(echo "$READY" | awk '{ print $2 }')
	if [ "${EST:-0}" -gt 0 ]; then
		IDLE_NOTE=$(awk -v a="$R0" -v b="$R1" -v n="$EST" 'BEGIN {
			printf "idle clients: %d held; server RSS %d KiB -> %d KiB: %.1f KiB per idle client (aim: <= 16 KiB)", n, a, b, (b - a) / n }')
	else
		IDLE_NOTE="idle clients: none established ($READY)"
		FAILED=1
	fi
	CMDS[idle]="in $C: ${IDLE_CMD[*]}"
fi

# ------------------------------------------------- ocserv + openconnect
OC_NOTE=""
if want ocserv; then
	if ! command -v ocserv >/dev/null || ! command -v openconnect >/dev/null; then
		OC_NOTE="ocserv+openconnect: not installed (scripts/deps.sh --bench installs them)"
	else
		log "ocserv: throwaway CA, certificate, password; starting ocserv and openconnect"
		OC=$TMP/oc
		mkdir -p "$OC"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-keyout "$OC/ca.key" -out "$OC/ca.pem" -subj "/CN=bench CA" 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$OC/server.key" -out "$OC/server.csr" -subj "/CN=192.0.2.1" 2>/dev/null
		printf 'subjectAltName=IP:192.0.2.1\nextendedKeyUsage=serverAuth\n' >"$OC/ext"
		openssl x509 -req -in "$OC/server.csr" -CA "$OC/ca.pem" -CAkey "$OC/ca.key" \
			-CAcreateserial -days 2 -extfile "$OC/ext" -out "$OC/server.pem" 2>/dev/null
		chmod 644 "$OC"/*.pem "$OC"/server.key
		OC_PASS=bench-$$-$RANDOM
		printf 'bench:*:%s\n' "$(openssl passwd -6 "$OC_PASS")" >"$OC/passwd"
		# TLS only: no udp-port line, so no DTLS channel exists.
		cat >"$OC/ocserv.conf" <<-EOF
			auth = "plain[passwd=$OC/passwd]"
			tcp-port = 4443
			run-as-user = nobody
			run-as-group = nogroup
			socket-file = $OC/ocserv.sock
			pid-file = $OC/ocserv.pid
			server-cert = $OC/server.pem
			server-key = $OC/server.key
			isolate-workers = false
			use-occtl = false
			max-clients = 4
			max-same-clients = 4
			keepalive = 32400
			dpd = 90
			mobile-dpd = 1800
			try-mtu-discovery = false
			tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
			auth-timeout = 60
			cookie-timeout = 300
			deny-roaming = false
			rekey-time = 172800
			rekey-method = ssl
			cisco-client-compat = true
			dtls-legacy = false
			device = ocb
			predictable-ips = true
			ipv4-network = 198.18.0.0/24
			ipv6-network = fd00:6f63:6272::/48
			ipv6-subnet-prefix = 64
			route = fd00:6f63:6272::/48
			ping-leases = false
		EOF
		# The client's interface setup, instead of the distribution's
		# vpnc-script (which would also rewrite resolv.conf).
		cat >"$OC/vpnc.sh" <<-'EOF'
			#!/bin/sh
			[ "$reason" = connect ] || exit 0
			ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1400}"
			[ -n "${INTERNAL_IP4_ADDRESS:-}" ] && ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
			[ -n "${INTERNAL_IP6_NETMASK:-}" ] && ip -6 addr add "$INTERNAL_IP6_NETMASK" dev "$TUNDEV" nodad
			[ -n "${INTERNAL_IP6_ADDRESS:-}" ] && [ -z "${INTERNAL_IP6_NETMASK:-}" ] &&
				ip -6 addr add "$INTERNAL_IP6_ADDRESS/128" dev "$TUNDEV" nodad
			ip -6 route replace fd00:6f63:6272::/48 dev "$TUNDEV"
			exit 0
		EOF
		chmod 755 "$OC/vpnc.sh"
		PIN=$(openssl x509 -in "$OC/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
			openssl dgst -sha256 -binary | base64)
		bg ocserv "$S" ocserv -f -c "$OC/ocserv.conf"
		wait_until 15 "ocserv on 4443" sh -c "ip netns exec '$S' ss -Hltn 'sport = :4443' | grep -q LISTEN"
		OC_ARGS=(--protocol=anyconnect --user=bench --passwd-on-stdin --no-dtls --non-inter
			--servercert "pin-sha256:$PIN" --interface ocbc0 --script "$OC/vpnc.sh"
			https://192.0.2.1:4443/)
		ip netns exec "$C" openconnect "${OC_ARGS[@]}" <<<"$OC_PASS" >"$TMP/openconnect.log" 2>&1 &
		PIDS+=($!)
		disown $!
		wait_until 30 "the openconnect tunnel" sh -c "ip netns exec '$C' ip -6 -o addr show dev ocbc0 scope global | grep -q inet6"
		wait_until 10 "ocserv's device" sh -c "ip netns exec '$S' ip -6 -o addr show scope global | grep -q ' ocb'"
		DST=$(nsx "$S" ip -6 -o addr show scope global | awk '$2 ~ /^ocb/ { sub(/\/.*/, "", $4); print $4; exit }')
		[ -n "$DST" ] || { echo "bench: no IPv6 address on ocserv's device" >&2; exit 1; }
		wait_until 10 "a ping through the ocserv tunnel" nsx "$C" ping -c 1 -W 1 "$DST"
		measure "ocserv+openconnect" "$DST"
		CMDS["ocserv+openconnect"]="in $S: ocserv -f -c ocserv.conf   (tcp-port 4443, no udp-port: TLS only)
    in $C: openconnect ${OC_ARGS[*]} <<<PASSWORD
    ${CMDS[ocserv+openconnect]}"
	fi
fi

# ----------------------------------------------------------------- report
gbit() {
	case $1 in nan) echo failed ;; *) awk -v b="$1" 'BEGIN { printf "%.3f Gbit/s", b / 1e9 }' ;; esac
}
echo
printf '%-22s | %-15s | %-15s | %s\n' path 'client->server' 'server->client' 'ping RTT'
printf '%-22s-+-%-15s-+-%-15s-+-%s\n' "----------------------" "---------------" "---------------" "--------"
for l in "${ORDER[@]}"; do
	printf '%-22s | %-15s | %-15s | %s ms\n' "$l" "$(gbit "${RES[$l,up]}")" \
		"$(gbit "${RES[$l,down]}")" "${RES[$l,rtt]}"
done
echo
echo "iperf3: single TCP stream, ${T} s per direction, IPv6; median of $RUNS run(s); $(nproc) CPUs"
[ -n "$OC_NOTE" ] && echo "$OC_NOTE"
[ -n "$IDLE_NOTE" ] && echo "$IDLE_NOTE"
if [ -n "${RES[iphttps->inside NAT64,up]:-}" ]; then
	awk -v a="${RES[iphttps->inside NAT64,up]}" -v b="${RES[iphttps->inside IPv6,up]}" \
		-v c="${RES[iphttps->inside NAT64,down]}" -v d="${RES[iphttps->inside IPv6,down]}" 'BEGIN {
		printf "NAT64 (TAYGA + masquerading) / IPv6 to the same inside host: client->server %.2fx, server->client %.2fx\n",
			(b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
fi
if [ -n "${RES[iphttps,up]:-}" ] && [ -n "${RES[ocserv+openconnect,up]:-}" ]; then
	awk -v a="${RES[iphttps,up]}" -v b="${RES[ocserv+openconnect,up]}" \
		-v c="${RES[iphttps,down]}" -v d="${RES[ocserv+openconnect,down]}" \
		-v e="${RES[iphttps,rtt]}" -v f="${RES[ocserv+openconnect,rtt]}" 'BEGIN {
		printf "iphttps / ocserv+openconnect: client->server %.2fx, server->client %.2fx, ping RTT %.2fx (aim: >= 2x, >= 2x, < 1x)\n",
			(b > 0 ? a / b : 0), (d > 0 ? c / d : 0), (f > 0 ? e / f : 0) }'
fi
echo
echo "Commands:"
for l in "${ORDER[@]}"; do
	echo "  $l:"
	echo "    ${CMDS[$l]}"
done
[ -n "${CMDS[idle]:-}" ] && echo "  idle clients:" && echo "    ${CMDS[idle]}"
if [ $FAILED = 1 ]; then
	echo "bench: some measurements failed (see above)" >&2
	exit 1
fi
