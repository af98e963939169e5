#!/bin/bash
# make bench: the iphttps tunnel measured beside ocserv + openconnect (TLS
# only, the mature TLS VPN) on the same path in the same run, so that
# ratios, not absolute numbers, are what to quote (../shared/PERFORMANCE.md):
#   - single-stream TCP throughput both ways, with and without the TUN
#     offloads (iperf3), and the bare veth for reference;
#   - ping RTT through each tunnel (median of 100 pings);
#   - 8 clients at once, one of them behind a slow link (it reads slowly):
#     aggregate throughput, Jain's fairness index of the other 7, the slow
#     one's rate, and the RTT of another client meanwhile;
#   - handshakes: fresh full handshakes a second (openssl s_time, 4 at a
#     time) and per second of server CPU, against what `openssl speed
#     rsa2048` signs on one core; resumed sessions (s_time -reuse; how
#     many really resumed, from s_time's own marks, is printed under the table);
#   - the server memory one idle client costs, iphttps in both
#     authentication modes (tests/scenarios/idle_clients.py), ocserv with
#     idle openconnect clients.
# It prints one table with a ratio column and the exact commands.
#
# Namespaces (addresses from documentation ranges):
#   c  (client) eth0 192.0.2.2, 2001:db8:2::2  ---  s (server) eth0 192.0.2.1, 2001:db8:2::1
#   f1..f8 (clients of the 8-client line) eth0 198.18.N.2 --- s fN 198.18.N.1;
#   f8's link from s is shaped to BENCH_SLOW (tbf): the slow reader;
#   i  (an inside host behind the server) eth0 10.30.0.2, 2001:db8:3::2 --- s eth1:
#      the cost of NAT64, reached from c through an iphttps tunnel over IPv6,
#      then through the server's NAT64 (--nat64 auto: TAYGA, masqueraded)
#      over IPv4, iperf3 -s in i both times.
# Run as root from the repository root. Environment:
#   IPHTTPS_BIN  binary (default ./iphttps)
#   BENCH_TIME   iperf3 seconds per run (default 10)
#   BENCH_RUNS   runs per single-stream measurement, the median is shown (default 1)
#   BENCH_ONLY   subset of: bare iphttps nat64 ocserv (default all four)
#   BENCH_SKIP   subset of: nooffload fair handshakes idle (default none)
#   BENCH_IDLE   idle iphttps clients per authentication mode (default 2000)
#   BENCH_OC_IDLE idle openconnect clients (default 40)
#   BENCH_SLOW   the slow client's link rate (default 20mbit)
#   BENCH_IPHTTPS_ARGS  more options for both iphttps server and client
#   BENCH_SERVER_ARGS   more options for the iphttps servers only (e.g. --tls-records openssl)
#   BENCH_IDLE_LAYERS   the servers' --tls-records of the idle lines (default "own openssl")
#   BENCH_IDLE_MAX      clients held at once by bench/loadgen per authentication mode, against one
#                       server with --workers auto (worker processes enough for them: one process
#                       holds about 18,900 under a 20,000-file limit) (default 0: not measured)
#   BENCH_IDLE_PROCS    loadgen processes (default one per 15,000 clients)
#   BENCH_IDLE_SOURCES  source addresses per loadgen process (default 4)
#   BENCH_PERF   a directory: during each RTT ping, the tunnel's daemons (every
#                process in S and C) under perf stat (per process) and
#                perf record -g, KEY.stat, KEY.data and KEY.pids there
#                (bench/flame.py draws them); then 5 pings 200 ms apart under
#                strace -f -tt -T (KEY.strace).  The RTT of such a run is
#                not a figure: perf is on the path.
#   BENCH_PERF_PINGS  with BENCH_PERF, pings in the recorded RTT run (default 100)
#   BENCH_PERF_RECORD no: perf stat alone (CPU a ping without the sampling's cost)
set -euo pipefail

BIN=${IPHTTPS_BIN:-./iphttps}
T=${BENCH_TIME:-10}
RUNS=${BENCH_RUNS:-1}
ONLY=${BENCH_ONLY:-bare iphttps nat64 ocserv}
SKIP=${BENCH_SKIP:-}
NIDLE=${BENCH_IDLE:-2000}
NOCIDLE=${BENCH_OC_IDLE:-40}
IDLE_LAYERS=${BENCH_IDLE_LAYERS:-own openssl}
NIDLE_MAX=${BENCH_IDLE_MAX:-0}
IDLE_SOURCES=${BENCH_IDLE_SOURCES:-4}
SLOW=${BENCH_SLOW:-20mbit}
NFAIR=8
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it creates network namespaces)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "bench: $BIN not found: run 'make' first" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing: scripts/deps.sh --bench" >&2; exit 2; }
[[ "$T" =~ ^[0-9]+$ && "$RUNS" =~ ^[0-9]+$ && $T -ge 1 && $T -le 120 && $RUNS -ge 1 && $RUNS -le 9 ]] ||
	{ echo "bench: BENCH_TIME 1..120 and BENCH_RUNS 1..9" >&2; exit 2; }
[[ "$NIDLE" =~ ^[0-9]+$ && $NIDLE -le 19000 && "$NOCIDLE" =~ ^[0-9]+$ && $NOCIDLE -le 200 ]] ||
	{ echo "bench: BENCH_IDLE 0..19000 and BENCH_OC_IDLE 0..200" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[[ "$NIDLE_MAX" =~ ^[0-9]+$ && $NIDLE_MAX -le 60000 && "$IDLE_SOURCES" =~ ^[0-9]+$ && $IDLE_SOURCES -ge 1 ]] ||
	{ echo "bench: BENCH_IDLE_MAX 0..60000, BENCH_IDLE_SOURCES 1 or more" >&2; exit 2; }
IDLE_PROCS=${BENCH_IDLE_PROCS:-$(( NIDLE_MAX > 0 ? (NIDLE_MAX + 14999) / 15000 : 1 ))}
[[ "$IDLE_PROCS" =~ ^[0-9]+$ && $IDLE_PROCS -ge 1 && $IDLE_PROCS -le 16 && $((IDLE_PROCS * IDLE_SOURCES)) -le 64 ]] ||
	{ echo "bench: BENCH_IDLE_PROCS 1..16, and at most 64 source addresses in all" >&2; exit 2; }
if [ "$NIDLE_MAX" -gt 0 ] && [ ! -x "$REPO/build/loadgen" ]; then
	echo "bench: build/loadgen not found: run 'make build/loadgen' (make bench builds it)" >&2; exit 2
fi
LOADGEN=$REPO/build/loadgen

P="iphb$$-"
C=${P}c S=${P}s I=${P}i
TMP=$(mktemp -d /tmp/iphttps-bench.XXXXXX)
chmod 755 "$TMP"               # ocserv's workers run as nobody
PIDS=()
NSS=("$C" "$S" "$I")
declare -A RES CMDS
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
	for ns in "${NSS[@]}"; do
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

# bg NAME NS CMD...: start CMD in NS in the background, output in NAME.log;
# its pid in BGPID.
bg() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$TMP/$name.log" 2>&1 &
	BGPID=$!
	PIDS+=($!)
	disown $!                  # teardown kills it; no job-control chatter
}

# stop PID...: TERM, then wait until gone (at most 10 s).
stop() {
	local pid
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "$@"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
	done
}

want() { [[ " $ONLY " == *" $1 "* ]]; }
skip() { [[ " $SKIP " == *" $1 "* ]]; }

# hosts NS ADDR: iphttps.test is ADDR in NS.
hosts() {
	mkdir -p "/etc/netns/$1"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\tiphttps.test\n' "$2" \
		>"/etc/netns/$1/hosts"
}

# ---------------------------------------------------------------- topology
newns() {
	ip netns add "$1"
	nsx "$1" sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	nsx "$1" ip link set lo up
}
log "namespaces $C and $S"
newns "$C"
newns "$S"
ip -n "$C" link add eth0 type veth peer name eth0 netns "$S"
nsx "$C" ip addr add 192.0.2.2/24 dev eth0
nsx "$C" ip -6 addr add 2001:db8:2::2/64 dev eth0 nodad
nsx "$S" ip addr add 192.0.2.1/24 dev eth0
nsx "$S" ip -6 addr add 2001:db8:2::1/64 dev eth0 nodad
nsx "$C" ip link set eth0 up
nsx "$S" ip link set eth0 up
hosts "$C" 192.0.2.1
wait_until 5 "the veth" nsx "$C" ping -c 1 -W 1 2001:db8:2::1
if ! skip fair; then
	log "namespaces f1..f$NFAIR, each with a link to $S; f$NFAIR's shaped to $SLOW"
	for k in $(seq $NFAIR); do
		F=${P}f$k
		NSS+=("$F")
		newns "$F"
		ip -n "$F" link add eth0 type veth peer name "f$k" netns "$S"
		nsx "$F" ip addr add "198.18.$k.2/24" dev eth0
		nsx "$S" ip addr add "198.18.$k.1/24" dev "f$k"
		nsx "$F" ip link set eth0 up
		nsx "$S" ip link set "f$k" up
		hosts "$F" "198.18.$k.1"
	done
	nsx "$S" tc qdisc add dev "f$NFAIR" root tbf rate "$SLOW" burst 32kb latency 400ms
fi

# -------------------------------------------------------------- measuring
# iperf_once FROM DST PORT [-R]: one iperf3 run from namespace FROM to DST
# (server in S on PORT); prints bit/s received (nan when the run failed).
iperf_once() {
	local from=$1 dst=$2 port=$3 rev=${4:-} out spid
	# Not through nsx (a function would fork a subshell): $! must be the
	# process that forwards our kill to iperf3 (timeout does).
	# (IPERF_NS: where iperf3 -s runs, the server's namespace unless set)
	ip netns exec "${IPERF_NS:-$S}" timeout $((T + 30)) iperf3 -s -1 -p "$port" >"$TMP/iperf3-s-$port.log" 2>&1 &
	spid=$!
	wait_until 5 "iperf3 -s" sh -c "ip netns exec '${IPERF_NS:-$S}' ss -Hltn 'sport = :$port' | grep -q LISTEN"
	out=$(nsx "$from" timeout $((T + 20)) iperf3 -c "$dst" -p "$port" -t "$T" -J --connect-timeout 3000 $rev) || {
		echo "bench: iperf3 -c $dst $rev failed: $(printf '%s' "$out" | tail -c 300)" >&2
		kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
		echo nan; return 0; }
	wait "$spid" 2>/dev/null || true
	printf '%s' "$out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' ||
		echo nan
}

# ping_median FROM DST [COUNT]: median RTT in ms of COUNT (100) pings 20 ms
# apart (a median: a load spike of another process moves it little).
ping_median() {
	{ nsx "$1" timeout 60 ping -n -c "${3:-100}" -i 0.02 -W 2 "$2" || true; } |
		$PY -c '
import re, statistics, sys
v = [float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read())]
print("%.3f" % statistics.median(v) if v else "nan")'
}

# perf_start KEY / perf_stop: the daemons of the tunnel (every process in
# S and C: no ping runs there yet) under perf while the RTT is measured.
perf_start() {
	local pids
	mkdir -p "$BENCH_PERF"
	pids=$({ ip netns pids "$S"; ip netns pids "$C"; } | paste -sd, -)
	{ for pid in $(ip netns pids "$S"); do echo "$pid S $(cat "/proc/$pid/comm")"; done
	  for pid in $(ip netns pids "$C"); do echo "$pid C $(cat "/proc/$pid/comm")"; done; } >"$BENCH_PERF/$1.pids"
	perf stat --per-thread -e task-clock,context-switches,cpu-migrations \
		-p "$pids" -o "$BENCH_PERF/$1.stat" &
	PERF_PIDS=($!)
	if [ "${BENCH_PERF_RECORD:-yes}" != no ]; then
		perf record -q --call-graph dwarf,16384 -F 4999 -p "$pids" -o "$BENCH_PERF/$1.data" >/dev/null 2>&1 &
		PERF_PIDS+=($!)
	fi
	sleep 0.5
}
# perf_stop KEY DST: then 5 more pings, 200 ms apart, under strace (KEY.strace).
perf_stop() {
	local pids
	kill -INT "${PERF_PIDS[@]}" 2>/dev/null || true
	wait "${PERF_PIDS[@]}" 2>/dev/null || true
	pids=$({ ip netns pids "$S"; ip netns pids "$C"; } | sed 's/^/-p /' | paste -sd' ' -)
	# shellcheck disable=SC2086
	strace -f -tt -T -o "$BENCH_PERF/$1.strace" $pids &
	PERF_PIDS=($!)
	sleep 0.5
	nsx "$C" ping -n -c 5 -i 0.2 "$2" >"$BENCH_PERF/$1.ping" 2>&1 || true
	kill -INT "${PERF_PIDS[@]}" 2>/dev/null || true
	wait "${PERF_PIDS[@]}" 2>/dev/null || true
}

# median V...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# single KEY DST: single-stream both ways and RTT from c; RES[KEY,up|down|rtt].
single() {
	local key=$1 dst=$2 i up=() down=()
	for ((i = 1; i <= RUNS; i++)); do
		log "$key: iperf3 client->server (run $i/$RUNS, ${T}s)"
		up+=("$(iperf_once "$C" "$dst" 5201)")
		log "$key: iperf3 server->client (run $i/$RUNS, ${T}s)"
		down+=("$(iperf_once "$C" "$dst" 5201 -R)")
	done
	log "$key: ping"
	RES[$key,up]=$(median "${up[@]}")
	RES[$key,down]=$(median "${down[@]}")
	[ -z "${BENCH_PERF:-}" ] || perf_start "$key"
	RES[$key,rtt]=$(ping_median "$C" "$dst" "${BENCH_PERF:+${BENCH_PERF_PINGS:-}}")
	[ -z "${BENCH_PERF:-}" ] || perf_stop "$key" "$dst"
	case " ${RES[$key,up]} ${RES[$key,down]} ${RES[$key,rtt]} " in *" nan "*) FAILED=1 ;; esac
}
SINGLE_CMD="in S: iperf3 -s -1 -p 5201; in C: iperf3 -c DST -p 5201 -t $T -J [-R] (median of $RUNS); in C: ping -c 100 -i 0.02 DST (median)"

# fair KEY DST...: NFAIR clients at once, server->client (iperf3 -R), each
# fK from its own namespace to DST[K]; client 1 also pings meanwhile.
fair() {
	local key=$1 k pids=() out; shift
	local dsts=("$@")
	log "$key: $NFAIR clients at once, server->client, ${T}s"
	for k in $(seq $NFAIR); do
		ip netns exec "$S" timeout $((T + 30)) iperf3 -s -1 -p $((5300 + k)) >"$TMP/fair-s-$k.log" 2>&1 &
		pids+=($!)
	done
	for k in $(seq $NFAIR); do
		wait_until 5 "iperf3 -s" sh -c "ip netns exec '$S' ss -Hltn 'sport = :$((5300 + k))' | grep -q LISTEN"
	done
	for k in $(seq $NFAIR); do
		ip netns exec "${P}f$k" timeout $((T + 20)) iperf3 -c "${dsts[$((k - 1))]}" -p $((5300 + k)) \
			-t "$T" -J -R --connect-timeout 3000 >"$TMP/fair-c-$k.json" 2>&1 &
		pids+=($!)
	done
	sleep 2
	RES[$key,fairrtt]=$(ping_median "${P}f1" "${dsts[0]}" $(( (T - 3) * 40 > 20 ? (T - 3) * 40 : 20 )))
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	out=$($PY - "$TMP" "$NFAIR" <<-'EOF'
		import json, sys
		tmp, n = sys.argv[1], int(sys.argv[2])
		r = []
		for k in range(1, n + 1):
		    try:
		        r.append(json.load(open("%s/fair-c-%d.json" % (tmp, k)))["end"]["sum_received"]["bits_per_second"])
		    except Exception:
		        r.append(float("nan"))
		full = r[:-1]
		jain = sum(full) ** 2 / (len(full) * sum(x * x for x in full)) if all(x > 0 for x in full) else float("nan")
		print(sum(r), jain, r[-1], " ".join("%.0f" % (x / 1e6) for x in r))
	EOF
	)
	read -r RES[$key,agg] RES[$key,jain] RES[$key,slow] RES[$key,each] <<<"$out"
	case " ${RES[$key,agg]} ${RES[$key,jain]} ${RES[$key,fairrtt]} " in *" nan "*) FAILED=1 ;; esac
}
FAIR_CMD="in S: iperf3 -s -1 -p 530K; in fK (K=1..$NFAIR, at once): iperf3 -c DST -p 530K -t $T -J -R; in f1 meanwhile: ping -i 0.02 DST; f$NFAIR's link shaped: tc qdisc add dev f$NFAIR root tbf rate $SLOW burst 32kb latency 400ms"

# cpu_ticks PID...: utime+stime (+ waited-for children's) of the processes.
cpu_ticks() {
	local t=0 pid
	for pid in "$@"; do
		[ -r "/proc/$pid/stat" ] || continue
		t=$((t + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 + $14 + $15 }')))
	done
	echo $t
}

# handshakes KEY ADDR:PORT MODE PIDS...: 4 openssl s_time at once for T
# seconds, MODE -new (full) or -reuse, with HS_EXTRA's options too;
# RES[KEY,MODE] handshakes a second, RES[KEY,MODE,cpu] per second of the
# server processes' CPU, RES[KEY,MODE,n] connections and RES[KEY,MODE,r]
# how many of them resumed (s_time prints r for each, * for a full one).
HS_EXTRA=()
handshakes() {
	local key=$1 addr=$2 mode=$3 t0 t1 c0 c1 n=0 k pids=() ; shift 3
	local spids=("$@")
	log "$key: handshakes ($mode), 4 at a time, ${T}s"
	c0=$(cpu_ticks "${spids[@]}")
	t0=$(date +%s.%N)
	for k in 1 2 3 4; do
		ip netns exec "$C" timeout $((T + 20)) openssl s_time -connect "$addr" "$mode" -time "$T" \
			"${HS_EXTRA[@]}" "${SCLIENT[@]}" >"$TMP/stime-$k.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "${spids[@]}")
	for k in 1 2 3 4; do
		n=$((n + $(awk '/connections in .* real seconds/ { c = $1 } END { print c + 0 }' "$TMP/stime-$k.log")))
	done
	log "$key: $n handshakes ($mode) in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s, server CPU $((c1 - c0)) ticks of ${spids[*]}"
	RES[$key,$mode,n]=$n
	RES[$key,$mode,r]=$(grep -hE '^[rt3*]+$' "$TMP"/stime-[1-4].log | tr -cd r | wc -c)
	log "$key: ${RES[$key,$mode,r]} of them resumed"
	RES[$key,$mode]=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	RES[$key,$mode,cpu]=$(awk -v n="$n" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.0f", (c > 0 ? n / (c / hz) : 0) }')
	[ "$n" -gt 0 ] || FAILED=1
}

pss_kib() {
	local t=0 pid
	for pid in "$@"; do
		[ -r "/proc/$pid/smaps_rollup" ] || continue
		t=$((t + $(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")))
	done
	echo $t
}

# idle_iphttps KEY PORT SPID: BENCH_IDLE connections complete TLS and the
# POST and stay idle; the server's memory before and after over their number.
idle_iphttps() {
	local key=$1 port=$2 spid=$3 r0 r1 ready est
	# the server and its children (the helper; with --workers, the workers)
	r0=$(pss_kib "$spid" $(pgrep -P "$spid" || true))
	log "$key: $NIDLE idle connections"
	IDLE_CMD=("$PY" "$REPO/tests/scenarios/idle_clients.py" --connect "192.0.2.1:$port"
		--servername iphttps.test --ca "$TMP/state/ca.pem" --cert "$TMP/state/clients/client1.pem"
		--key "$TMP/state/clients/client1.key" --count "$NIDLE" --concurrency 16 --min-hold 3 --max-hold 300)
	rm -f "$TMP/idle.in"
	mkfifo "$TMP/idle.in"
	ip netns exec "$C" "${IDLE_CMD[@]}" <"$TMP/idle.in" >"$TMP/idle-$key.out" 2>&1 &
	local ipid=$!
	exec 7>"$TMP/idle.in"
	wait_until 280 "the idle connections" grep -q '^READY' "$TMP/idle-$key.out"
	sleep 3                    # the tick gives idle buffers back within a second
	r1=$(pss_kib "$spid" $(pgrep -P "$spid" || true))
	ready=$(grep '^READY' "$TMP/idle-$key.out")
	exec 7>&-
	wait "$ipid" 2>/dev/null || true
	est=$(echo "$ready" | awk '{ print $2 }')
	RES[$key,n]=${est:-0}
	if [ "${est:-0}" -gt 0 ]; then
		RES[$key,kib]=$(awk -v a="$r0" -v b="$r1" -v n="$est" 'BEGIN { printf "%.1f", (b - a) / n }')
	else
		RES[$key,kib]=nan
		FAILED=1
	fi
}

# idle_scale MODE PORT: BENCH_IDLE_MAX clients from bench/loadgen (several
# processes and source addresses) held by one fresh server; its PSS (with
# any child processes) per client, and while they are held the time of
# `iphttps state` and of one more client's handshake and POST.
idle_scale() {
	local mode=$1 port=$2 key=idlemax-$1 spid pids r0 r1 ready t0 t1 new
	bg "iphttps-server-$key" "$S" "$BIN" server --state-dir "$TMP/state" --run-dir "$TMP/run" \
		--hostname iphttps.test --tun "iphm-${mode:0:4}" --auth "$mode" --listen "192.0.2.1:$port" \
		--prefix "fd00:$port::/64" --max-clients $((NIDLE_MAX + 100)) --max-handshakes-per-source 64 \
		--workers auto ${BENCH_SERVER_ARGS:-}
	spid=$BGPID
	wait_until 30 "the mode $mode server" sh -c "ip netns exec '$S' ss -Hltn 'sport = :$port' | grep -q LISTEN"
	server_pids() { echo "$spid" $(pgrep -P "$spid" || true); }
	r0=$(pss_kib $(server_pids))
	LG_ARGS=(--connect "192.0.2.1:$port" --servername iphttps.test --ca "$TMP/state/ca.pem"
		--cert "$TMP/state/clients/client1.pem" --key "$TMP/state/clients/client1.key")
	LG_CMD=("$LOADGEN" "${LG_ARGS[@]}" --count "$NIDLE_MAX" --procs "$IDLE_PROCS" --src 192.0.2.100
		--src-count "$IDLE_SOURCES" --concurrency 16 --setup-timeout 600 --min-hold 3 --max-hold 900)
	log "$key: $NIDLE_MAX idle connections from $IDLE_PROCS loadgen processes, $((IDLE_PROCS * IDLE_SOURCES)) addresses"
	rm -f "$TMP/lg.in"
	mkfifo "$TMP/lg.in"
	nsx "$C" "${LG_CMD[@]}" <"$TMP/lg.in" >"$TMP/$key.out" 2>"$TMP/$key.log" &
	local lgpid=$!
	exec 8>"$TMP/lg.in"
	wait_until 660 "the loadgen's clients" grep -q '^READY' "$TMP/$key.out" || true
	sleep 3                    # the tick gives idle buffers back within a second
	r1=$(pss_kib $(server_pids))
	t0=$(date +%s.%N)
	"$BIN" state --run-dir "$TMP/run" "iphm-${mode:0:4}" >/dev/null 2>&1 || RES[$key,state]=nan
	t1=$(date +%s.%N)
	[ -n "${RES[$key,state]:-}" ] || RES[$key,state]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	new=$(echo | nsx "$C" "$LOADGEN" "${LG_ARGS[@]}" --count 1 --setup-timeout 30 --max-hold 1 2>/dev/null |
		awk '/^READY/ { if ($2 == 1) print $4; else print "refused" }')
	RES[$key,new]=${new:-nan}
	exec 8>&-
	wait "$lgpid" 2>/dev/null || true
	ready=$(grep '^READY' "$TMP/$key.out" || true)
	RES[$key,n]=$(echo "$ready" | awk '{ print $2 + 0 }')
	RES[$key,setup]=$(echo "$ready" | awk '{ print $4 }')
	RES[$key,result]=$(tail -n 1 "$TMP/$key.out")
	if [ "${RES[$key,n]}" -gt 0 ]; then
		RES[$key,kib]=$(awk -v a="$r0" -v b="$r1" -v n="${RES[$key,n]}" 'BEGIN { printf "%.2f", (b - a) / n }')
	else
		RES[$key,kib]=nan
		FAILED=1
	fi
	log "$key: ${RES[$key,result]}"
	stop "$spid"
}

# ---------------------------------------------------------- openssl speed
log "openssl speed rsa2048 (signing, one core)"
RSA_SIGN=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print int($6) }')
RSA_SIGN=${RSA_SIGN:-0}

# -------------------------------------------------------------- bare path
if want bare; then
	single bare 2001:db8:2::1
fi

# ---------------------------------------------------------------- iphttps
# start_iphttps TAG ARGS...: server in S (state in TMP/state, kept across
# restarts) and client in C as the server prints it; DST its tunnel address.
start_iphttps() {
	local tag=$1 line; shift
	mkdir -p "$TMP/run"
	SRV_ARGS=(server --state-dir "$TMP/state" --run-dir "$TMP/run" --hostname iphttps.test
		--tun iphttps-srv --max-handshakes-per-source 64 ${BENCH_IPHTTPS_ARGS:-} ${BENCH_SERVER_ARGS:-} "$@")
	bg "iphttps-server-$tag" "$S" "$BIN" "${SRV_ARGS[@]}"
	SRV_PID=$BGPID
	wait_until 30 "the iphttps server" sh -c "grep -A1 -x 'To connect a client:' '$TMP/iphttps-server-$tag.log' | sed -n 2p | grep -q ."
	line=$(grep -A1 -x 'To connect a client:' "$TMP/iphttps-server-$tag.log" | sed -n 2p)
	read -r -a CMD <<<"$line"
	CLI_ARGS=(client --run-dir "$TMP/run" ${BENCH_IPHTTPS_ARGS:-} "$@" "${CMD[@]:2}")
	bg "iphttps-client-$tag" "$C" "$BIN" "${CLI_ARGS[@]}"
	CLI_PID=$BGPID
	wait_until 30 "iphttps LinkUp" sh -c "'$BIN' state --run-dir '$TMP/run' iphttps0 | grep -Eq '^State *: *LinkUp\$'"
	wait_until 15 "the client's SLAAC address" sh -c "ip netns exec '$C' ip -6 -o addr show dev iphttps0 scope global | grep -q inet6"
	DST=$(nsx "$S" ip -6 -o addr show dev iphttps-srv scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$DST" ] || { echo "bench: no global address on iphttps-srv" >&2; exit 1; }
	wait_until 10 "a ping through the iphttps tunnel" nsx "$C" ping -c 1 -W 1 "$DST"
}

if want iphttps; then
	log "iphttps: server and client"
	start_iphttps on
	single iphttps "$DST"
	CMDS[iphttps]="in S: iphttps ${SRV_ARGS[*]}
    in C: iphttps ${CLI_ARGS[*]}"
	# The client certificate alone, as `iphttps client` sends it (src/tls/tls.c
	# leaves the root out): no -CAfile, from which s_time would add the root
	# to the chain it sends, a second certificate for the server to parse
	# (docs/performance.md, "Handshakes"). s_time does not check the server.
	SCLIENT=(-cert "$TMP/state/clients/client1.pem" -key "$TMP/state/clients/client1.key")
	if ! skip handshakes; then
		handshakes iphttps 192.0.2.1:443 -new "$SRV_PID"
		# Resumed (--tls-resumption on, the default): s_time reads the
		# server's answer to a GET / (a 405) and with it the TLS 1.3
		# ticket, which comes after the handshake; without reading it
		# has no ticket and every connection is a full handshake.  The
		# same full handshakes with the GET, for the like-for-like ratio.
		HS_EXTRA=(-www /)
		handshakes iphttps 192.0.2.1:443 -reuse "$SRV_PID"
		handshakes iphttps-get 192.0.2.1:443 -new "$SRV_PID"
		HS_EXTRA=()
		# The same handshakes against OpenSSL's own server with the same
		# key and client certificate check: what the library costs.
		bg s_server "$S" openssl s_server -quiet -accept 4444 -cert "$TMP/state/server.pem" \
			-key "$TMP/state/server.key" -Verify 1 -CAfile "$TMP/state/ca.pem"
		SSRV_PID=$BGPID
		wait_until 10 "openssl s_server" sh -c "ip netns exec '$S' ss -Hltn 'sport = :4444' | grep -q LISTEN"
		handshakes s_server 192.0.2.1:4444 -new "$SSRV_PID"
		stop "$SSRV_PID"
	fi
	if ! skip fair; then
		log "iphttps: $NFAIR more clients, one per f namespace"
		FDST=()
		for k in $(seq $NFAIR); do
			bg "iphttps-fair-$k" "${P}f$k" "$BIN" client --run-dir "$TMP/run" --tun "iphf$k" \
				${BENCH_IPHTTPS_ARGS:-} "${CMD[@]:2}"
		done
		for k in $(seq $NFAIR); do
			wait_until 30 "iphttps client f$k" sh -c "ip netns exec '${P}f$k' ip -6 -o addr show dev iphf$k scope global | grep -q inet6"
			FDST+=("$DST")
		done
		fair iphttps "${FDST[@]}"
	fi
	if ! skip idle && [ "$NIDLE" -gt 0 ]; then
		# A fresh server for each mode (what the throughput runs left in
		# the first one's heap is not an idle client's), on ports of
		# their own with TUNs of their own; with each record layer
		# (--tls-records: own, the default, and OpenSSL's).
		port=8444
		for layer in $IDLE_LAYERS; do
			for mode in certificates none; do
				port=$((port + 1))
				key=idle-$mode$([ "$layer" = own ] || echo "-$layer")
				bg "iphttps-server-$key" "$S" "$BIN" server --state-dir "$TMP/state" --run-dir "$TMP/run" \
					--hostname iphttps.test --tun "iphi-${mode:0:4}-${layer:0:3}" --auth "$mode" \
					--listen "192.0.2.1:$port" --prefix "fd00:$port::/64" --max-handshakes-per-source 64 \
					--tls-records "$layer"
				IDLE_PID=$BGPID
				wait_until 30 "the mode $mode server" sh -c "ip netns exec '$S' ss -Hltn 'sport = :$port' | grep -q LISTEN"
				idle_iphttps "$key" "$port" "$IDLE_PID"
				stop "$IDLE_PID"
			done
		done
	fi
	if [ "$NIDLE_MAX" -gt 0 ]; then
		for k in $(seq 0 $((IDLE_PROCS * IDLE_SOURCES - 1))); do
			nsx "$C" ip addr add "192.0.2.$((100 + k))/24" dev eth0
		done
		idle_scale certificates 8450
		idle_scale none 8451
	fi
	if ! skip nooffload; then
		log "iphttps: again with --no-offload"
		stop "$CLI_PID" "$SRV_PID"
		start_iphttps off --no-offload
		single iphttps-nooffload "$DST"
		stop "$CLI_PID" "$SRV_PID"
	fi
fi

# ------------------------------------------- NAT64: the cost of translation
# A server of its own (--nat64 auto, port 8443, TUN iph64-srv) and a client
# (TUN iph64-cli, --dns off); the same host i measured over IPv6 and
# through the NAT64 over IPv4.
if want nat64; then
	log "nat64: namespace $I behind the server, a server with --nat64 auto and its client"
	newns "$I"
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
	N64_PID=$BGPID
	wait_until 30 "the NAT64 iphttps server" sh -c "grep -A1 -x 'To connect a client:' '$TMP/iphttps-nat64-server.log' | sed -n 2p | grep -q ."
	LINE=$(grep -A1 -x 'To connect a client:' "$TMP/iphttps-nat64-server.log" | sed -n 2p)
	read -r -a CMD <<<"$LINE"
	N64_CLI=(client --run-dir "$TMP/run" --tun iph64-cli --dns off ${BENCH_IPHTTPS_ARGS:-} "${CMD[@]:2}")
	bg iphttps-nat64-client "$C" "$BIN" "${N64_CLI[@]}"
	N64C_PID=$BGPID
	wait_until 30 "the NAT64 client LinkUp" sh -c "'$BIN' state --run-dir '$TMP/run' iph64-cli | grep -Eq '^State *: *LinkUp\$'"
	N64=$("$BIN" state --run-dir "$TMP/run" iph64-cli | sed -n 's/^NAT64Prefix *: *\([0-9a-f:]*\)\/96$/\1/p')
	[ -n "$N64" ] || { echo "bench: the client learnt no NAT64 prefix" >&2; exit 1; }
	wait_until 15 "ping 2001:db8:3::2 through the tunnel" nsx "$C" ping -c 1 -W 1 2001:db8:3::2
	wait_until 15 "ping ${N64}10.30.0.2 through the NAT64" nsx "$C" ping -c 1 -W 1 "${N64}10.30.0.2"
	IPERF_NS=$I single nat64-v6 2001:db8:3::2
	IPERF_NS=$I single nat64 "${N64}10.30.0.2"
	CMDS[nat64]="in S: iphttps ${N64_SRV[*]}
    in C: iphttps ${N64_CLI[*]}
    in i: iperf3 -s; in C: iperf3 -c 2001:db8:3::2 | ${N64}10.30.0.2 ... (as the single-stream line)"
	stop "$N64C_PID" "$N64_PID"
fi

# ------------------------------------------------- ocserv + openconnect
OC_NOTE=""
if want ocserv; then
	if ! command -v ocserv >/dev/null || ! command -v openconnect >/dev/null; then
		OC_NOTE="ocserv+openconnect: not installed (scripts/deps.sh --bench installs them)"
	else
		log "ocserv: throwaway CA, RSA 2048 certificate (as iphttps'), password; ocserv and openconnect"
		OC=$TMP/oc
		mkdir -p "$OC"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			-keyout "$OC/ca.key" -out "$OC/ca.pem" -subj "/CN=bench CA" 2>/dev/null
		openssl req -newkey rsa:2048 -nodes \
			-keyout "$OC/server.key" -out "$OC/server.csr" -subj "/CN=192.0.2.1" 2>/dev/null
		{
			printf 'subjectAltName=IP:192.0.2.1'
			for k in $(seq $NFAIR); do printf ',IP:198.18.%d.1' "$k"; done
			printf '\nextendedKeyUsage=serverAuth\n'
		} >"$OC/ext"
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
			max-clients = 512
			max-same-clients = 512
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
			ipv4-network = 198.19.0.0/16
			ipv6-network = fd00:6f63:6272::/48
			ipv6-subnet-prefix = 64
			route = fd00:6f63:6272::/48
			ping-leases = false
			rate-limit-ms = 0
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
		printf '#!/bin/sh\nexit 0\n' >"$OC/idle.sh"
		chmod 755 "$OC/vpnc.sh" "$OC/idle.sh"
		PIN=$(openssl x509 -in "$OC/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
			openssl dgst -sha256 -binary | base64)
		bg ocserv "$S" ocserv -f -c "$OC/ocserv.conf"
		wait_until 15 "ocserv on 4443" sh -c "ip netns exec '$S' ss -Hltn 'sport = :4443' | grep -q LISTEN"
		# oc NS IFACE ADDR SCRIPT: one openconnect client.
		oc() {
			OC_ARGS=(--protocol=anyconnect --user=bench --passwd-on-stdin --no-dtls --non-inter
				--servercert "pin-sha256:$PIN" --interface "$2" --script "$4" "https://$3:4443/")
			ip netns exec "$1" openconnect "${OC_ARGS[@]}" <<<"$OC_PASS" >"$TMP/openconnect-$2.log" 2>&1 &
			PIDS+=($!)
			disown $!
		}
		oc "$C" ocbc0 192.0.2.1 "$OC/vpnc.sh"
		wait_until 30 "the openconnect tunnel" sh -c "ip netns exec '$C' ip -6 -o addr show dev ocbc0 scope global | grep -q inet6"
		wait_until 10 "ocserv's device" sh -c "ip netns exec '$S' ip -6 -o addr show scope global | grep -q ' ocb'"
		ODST=$(nsx "$S" ip -6 -o addr show scope global | awk '$2 ~ /^ocb/ { sub(/\/.*/, "", $4); print $4; exit }')
		[ -n "$ODST" ] || { echo "bench: no IPv6 address on ocserv's device" >&2; exit 1; }
		wait_until 10 "a ping through the ocserv tunnel" nsx "$C" ping -c 1 -W 1 "$ODST"
		single ocserv "$ODST"
		CMDS[ocserv]="in S: ocserv -f -c ocserv.conf   (tcp-port 4443, no udp-port: TLS only; RSA 2048 certificate)
    in C: openconnect ${OC_ARGS[*]} <<<PASSWORD"
		# ocserv's processes (main, sec-mod, workers) in S: they rename
		# themselves, so by namespace and name.
		ocpids() {
			local pid
			for pid in $(ip netns pids "$S"); do
				case $(cat "/proc/$pid/comm" 2>/dev/null) in ocserv*) printf '%s ' "$pid" ;; esac
			done
		}
		SCLIENT=(-CAfile "$OC/ca.pem")
		if ! skip handshakes; then
			# shellcheck disable=SC2046
			handshakes ocserv 192.0.2.1:4443 -new $(ocpids)
			# -www /: read the answer, as for iphttps (a TLS 1.3 ticket
			# comes after the handshake).
			HS_EXTRA=(-www /)
			# shellcheck disable=SC2046
			handshakes ocserv 192.0.2.1:4443 -reuse $(ocpids)
			HS_EXTRA=()
		fi
		if ! skip fair; then
			log "ocserv: $NFAIR more openconnect clients, one per f namespace"
			for k in $(seq $NFAIR); do oc "${P}f$k" "ocf$k" "198.18.$k.1" "$OC/vpnc.sh"; done
			FDST=()
			for k in $(seq $NFAIR); do
				wait_until 30 "openconnect f$k" sh -c "ip netns exec '${P}f$k' ip -6 -o addr show dev ocf$k scope global | grep -q inet6"
				FDST+=("$ODST")
			done
			fair ocserv "${FDST[@]}"
		fi
		if ! skip idle && [ "$NOCIDLE" -gt 0 ]; then
			log "ocserv: $NOCIDLE idle openconnect clients"
			# shellcheck disable=SC2046
			r0=$(pss_kib $(ocpids))
			for k in $(seq "$NOCIDLE"); do oc "$C" "ocidle$k" 192.0.2.1 "$OC/idle.sh"; done
			wait_until 120 "$NOCIDLE openconnect clients" sh -c \
				"[ \$(grep -l 'CSTP connected' $TMP/openconnect-ocidle*.log 2>/dev/null | wc -l) -ge $NOCIDLE ]" || true
			sleep 3
			n=$(grep -l 'CSTP connected' "$TMP"/openconnect-ocidle*.log 2>/dev/null | wc -l)
			# shellcheck disable=SC2046
			r1=$(pss_kib $(ocpids))
			RES[idle-oc,n]=$n
			RES[idle-oc,kib]=$(awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n; else print "nan" }')
			CMDS[idle-oc]="in C, $NOCIDLE times: openconnect ... --interface ocidleN --script idle.sh https://192.0.2.1:4443/ (PSS of every ocserv process before and after)"
		fi
	fi
fi

# ----------------------------------------------------------------- report
$PY - "$RSA_SIGN" "$T" "$RUNS" "$NFAIR" "$SLOW" <<EOF
import sys
R = {}
for line in """$(for k in "${!RES[@]}"; do printf '%s=%s\n' "$k" "${RES[$k]}"; done)""".splitlines():
    if "=" in line:
        k, v = line.split("=", 1)
        R[k] = v
rsa, T, runs, nfair, slow = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]

def num(k):
    try:
        v = float(R[k])
        return None if v != v else v
    except (KeyError, ValueError):
        return None

def gbit(v): return "%.3f Gbit/s" % (v / 1e9) if v is not None else "-"
def mbit(v): return "%.1f Mbit/s" % (v / 1e6) if v is not None else "-"
def ms(v): return "%.3f ms" % v if v is not None else "-"
def per_s(v): return "%.0f /s" % v if v is not None else "-"
def kib(v): return "%.1f KiB" % v if v is not None else "-"
def plain(v): return "%.3f" % v if v is not None else "-"

rows = []
def row(name, a, b, fmt, aim=""):
    va, vb = num(a), num(b) if b else None
    ratio = "%.2fx" % (va / vb) if va is not None and vb else "-"
    rows.append((name, fmt(va), fmt(vb) if b else "", ratio if b else "", aim))

row("bare veth client->server", "bare,up", None, gbit)
row("bare veth server->client", "bare,down", None, gbit)
row("bare veth ping RTT", "bare,rtt", None, ms)
row("single stream client->server", "iphttps,up", "ocserv,up", gbit, ">= 3x")
row("single stream server->client", "iphttps,down", "ocserv,down", gbit, ">= 3x")
row("  without offloads c->s", "iphttps-nooffload,up", "ocserv,up", gbit)
row("  without offloads s->c", "iphttps-nooffload,down", "ocserv,down", gbit)
row("ping RTT (median of 100)", "iphttps,rtt", "ocserv,rtt", ms, "<= 0.8x")
row("  without offloads", "iphttps-nooffload,rtt", "ocserv,rtt", ms)
row("inside host, IPv6 c->s", "nat64-v6,up", None, gbit)
row("inside host, IPv6 s->c", "nat64-v6,down", None, gbit)
row("inside host, NAT64 c->s", "nat64,up", None, gbit)
row("inside host, NAT64 s->c", "nat64,down", None, gbit)
row("%s clients s->c: aggregate" % nfair, "iphttps,agg", "ocserv,agg", gbit)
row("%s clients: Jain's index of %d" % (nfair, int(nfair) - 1), "iphttps,jain", "ocserv,jain", plain, "1 = fair")
row("%s clients: the slow one (%s)" % (nfair, slow), "iphttps,slow", "ocserv,slow", mbit)
row("%s clients: RTT of client 1" % nfair, "iphttps,fairrtt", "ocserv,fairrtt", ms)
row("full handshakes (4 at once)", "iphttps,-new", "ocserv,-new", per_s)
row("full handshakes per server CPU s", "iphttps,-new,cpu", "ocserv,-new,cpu", per_s, ">= 0.8 x rsa2048 sign")
row("  openssl s_server, same key", "s_server,-new,cpu", None, per_s)
def resumed_row(name, suffix):
    # A server that resumed none of s_time's -reuse connections did full
    # handshakes: no figure and no ratio for it (the r marks).
    cells = []
    for who in ("iphttps", "ocserv"):
        v, r = num(who + ",-reuse" + suffix), num(who + ",-reuse,r")
        cells.append(per_s(v) if v is not None and r else "none resumed" if v is not None else "-")
    a, b = num("iphttps,-reuse" + suffix), num("ocserv,-reuse" + suffix)
    both = num("iphttps,-reuse,r") and num("ocserv,-reuse,r") and a and b
    rows.append((name, cells[0], cells[1], "%.2fx" % (a / b) if both else "-", ""))
resumed_row("resumed sessions (4 at once)", "")
resumed_row("resumed per server CPU s", ",cpu")
row("  full with the GET, per CPU s", "iphttps-get,-new,cpu", None, per_s)
rows.append(("idle client, certificates (%s)" % R.get("idle-certificates,n", "-"), kib(num("idle-certificates,kib")),
             "%s (%s)" % (kib(num("idle-oc,kib")), R.get("idle-oc,n", "-")),
             "%.2fx" % (num("idle-certificates,kib") / num("idle-oc,kib"))
             if num("idle-certificates,kib") and num("idle-oc,kib") else "-",
             "<= 16 KiB"))
rows.append(("idle client, none (%s)" % R.get("idle-none,n", "-"), kib(num("idle-none,kib")), "", "", "<= 16 KiB"))
for mode in ("certificates", "none"):
    k = "idlemax-" + mode
    if R.get(k + ",n"):
        rows.append(("idle at scale, %s (%s held)" % (mode, R[k + ",n"]), kib(num(k + ",kib")), "", "", "<= 16 KiB at 50000"))
        secs = lambda v: "%s s" % R[v] if num(v) is not None else R.get(v, "-")
        rows.append(("  iphttps state while held", secs(k + ",state"), "", "", "< 1 s"))
        rows.append(("  a new client while held", secs(k + ",new"), "", "", "< 1 s"))
for mode in ("certificates", "none"):
    k = "idle-%s-openssl" % mode
    rows.append(("  %s, --tls-records openssl (%s)" % (mode, R.get(k + ",n", "-")), kib(num(k + ",kib")), "", "", ""))
# The fairness rows' RTT key is fair's own.
w = [max(len(r[i]) for r in rows + [("measure", "iphttps", "ocserv+openconnect", "ratio", "aim")]) for i in range(5)]
hdr = ("measure", "iphttps", "ocserv+openconnect", "ratio", "aim")
print()
print(" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
print("-+-".join("-" * w[i] for i in range(5)))
for r in rows:
    if r[1] == "-" and (not r[2] or r[2].startswith("-")):
        continue
    print(" | ".join(c.ljust(w[i]) for i, c in enumerate(r)))
print()
if rsa:
    cpu = num("iphttps,-new,cpu")
    print("openssl speed rsa2048: %d signs/s on one core; iphttps full handshakes per server CPU second: %s"
          % (rsa, "%.0f (%.0f %%)" % (cpu, 100 * cpu / rsa) if cpu else "-"))
if R.get("iphttps,-reuse,n") or R.get("ocserv,-reuse,n"):
    full, res = num("iphttps-get,-new,cpu"), num("iphttps,-reuse,cpu")
    print("resumed (s_time -reuse, r marks): iphttps %s of %s connections, ocserv+openconnect %s of %s; "
          "iphttps resumed / full handshakes with the same GET, per server CPU s: %s"
          % (R.get("iphttps,-reuse,r", "-"), R.get("iphttps,-reuse,n", "-"), R.get("ocserv,-reuse,r", "-"),
             R.get("ocserv,-reuse,n", "-"), "%.2fx" % (res / full) if full and res else "-"))
if R.get("iphttps,each") or R.get("ocserv,each"):
    print("%s clients, Mbit/s each (the last behind %s): iphttps %s; ocserv+openconnect %s"
          % (nfair, slow, R.get("iphttps,each", "-"), R.get("ocserv,each", "-")))
if num("nat64,up") and num("nat64-v6,up") and num("nat64,down") and num("nat64-v6,down"):
    print("NAT64 (TAYGA + masquerading) / IPv6 to the same inside host: client->server %.2fx, server->client %.2fx"
          % (num("nat64,up") / num("nat64-v6,up"), num("nat64,down") / num("nat64-v6,down")))
print("iperf3: single TCP stream, %s s per direction, IPv6 inside the tunnels, median of %s run(s)" % (T, runs))
EOF
echo "$(nproc) CPUs; load average before the report: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$OC_NOTE" ] && echo "$OC_NOTE"
echo
echo "Commands (S: server namespace, C: client namespace, fK: the $NFAIR clients' namespaces):"
echo "  single stream, RTT: $SINGLE_CMD"
[ -n "${CMDS[iphttps]:-}" ] && echo "  iphttps:" && echo "    ${CMDS[iphttps]}" &&
	echo "    no offloads: the same with --no-offload on both"
[ -n "${CMDS[nat64]:-}" ] && echo "  inside host, IPv6 and NAT64:" && echo "    ${CMDS[nat64]}"
[ -n "${CMDS[ocserv]:-}" ] && echo "  ocserv+openconnect:" && echo "    ${CMDS[ocserv]}"
skip fair || echo "  $NFAIR clients: $FAIR_CMD; each fK runs the same client as C toward its own server address"
skip handshakes || echo "  handshakes: in C, 4 at once: openssl s_time -connect ADDR:PORT -new|-reuse -time $T [-cert client1.pem -key client1.key: the leaf alone, as iphttps client sends it; ocserv: -CAfile ca.pem] (iphttps -reuse and the full line with the GET: -www /); server CPU from /proc/PID/stat; openssl speed -seconds 3 rsa2048; in S: openssl s_server -accept 4444 -cert server.pem -key server.key -Verify 1 -CAfile ca.pem (iphttps' generated files)"
[ -n "${IDLE_CMD[*]:-}" ] && echo "  idle iphttps clients, against a fresh server each (in S: iphttps server --auth certificates|none --tls-records own|openssl --listen 192.0.2.1:8445..8448 ...):" &&
	echo "    in C: ${IDLE_CMD[*]}   (server PSS before and after)"
[ -n "${CMDS[idle-oc]:-}" ] && echo "  idle openconnect clients:" && echo "    ${CMDS[idle-oc]}"
[ -n "${LG_CMD[*]:-}" ] && echo "  idle at scale, against a fresh server per mode (in S: iphttps server --auth certificates|none --listen 192.0.2.1:8450|8451 --max-clients $((NIDLE_MAX + 100)) ...):" &&
	echo "    in C: ${LG_CMD[*]}   (PSS of the server and its children before and after; then iphttps state, and loadgen --count 1, timed)" &&
	echo "    the server: --workers auto --max-clients $((NIDLE_MAX + 100)) --max-handshakes-per-source 64"
if [ $FAILED = 1 ]; then
	echo "bench: some measurements failed (see above)" >&2
	exit 1
fi
