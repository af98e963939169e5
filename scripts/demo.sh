#!/bin/bash
# make demo: an IP-HTTPS tunnel end to end, in network namespaces.
#
#   cli 198.51.100.2 -- net (IPv4 "internet") -- srv 203.0.113.2 == ins 2001:db8:1::2
#   (IPv4 only)                                  (iphttps server)   (inside, IPv6)
#                                                 10.20.0.1    ==    10.20.0.2 (IPv4 intranet:
#                                                                    web.corp.example, its DNS)
#
# The server runs with its defaults plus a route to the inside network and
# the intranet options (NAT64 with TAYGA, DNS64 with unbound, the search
# domain); the client runs exactly the command the server prints, in a
# mount namespace of its own (the DNS it applies to /etc/resolv.conf stays
# there). Then IPv6 flows between the client and the inside host through the
# tunnel, and the client fetches http://web.corp.example/, an IPv4-only web
# server, by name. Everything is removed at the end, also on error or
# Ctrl-C. Run as root from the repository root.
# IPHTTPS_BIN overrides the binary (default ./iphttps).
set -euo pipefail

BIN=${IPHTTPS_BIN:-./iphttps}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "demo: $BIN not found: run 'make' first" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# Colour only on a terminal.
if [ -t 1 ]; then B=$'\e[1;34m' G=$'\e[1;32m' R=$'\e[1;31m' D=$'\e[2m' N=$'\e[0m'
else B= G= R= D= N=; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
show() { printf '%s$ %s%s\n' "$D" "$*" "$N"; }   # a command about to run

P="iphd$$-"                       # unique per run: parallel demos never clash
CLI=${P}cli NET=${P}net SRV=${P}srv INS=${P}ins
TMP=$(mktemp -d /tmp/iphttps-demo.XXXXXX)
chmod 755 "$TMP"
RUN=$TMP/run                      # one run dir for both: control sockets
mkdir -p "$RUN"
PIDS=()
OK=0

teardown() {
	local rc=$? pid ns
	trap - EXIT INT TERM
	if [ $OK != 1 ]; then
		printf '\n%sdemo failed%s; last lines of the logs:\n' "$R" "$N" >&2
		for f in "$TMP"/*.out "$TMP"/*.err; do
			[ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
		done
	fi
	step "Tearing down"
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local alive=0
		for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.3
	done
	for ns in "$CLI" "$NET" "$SRV" "$INS"; do
		if [ -e "/run/netns/$ns" ]; then   # (ip netns list complains about namespaces going away)
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null || true
			done
			ip netns del "$ns" 2>/dev/null || true
		fi
		rm -rf "/etc/netns/$ns"
	done
	rmdir /etc/netns 2>/dev/null || true
	rm -rf "$TMP"
	echo "removed namespaces ${P}{cli,net,srv,ins} and $TMP"
	[ $OK = 1 ] && printf '%sdemo done%s\n' "$G" "$N"
	exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# nsx NS CMD...: run CMD in namespace NS.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_until SECONDS DESCRIPTION CMD...: retry CMD every 0.2 s.
wait_until() {
	local t=$1 what=$2 i; shift 2
	for ((i = 0; i < t * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "demo: timed out after ${t}s waiting for $what" >&2
	return 1
}

step "Building the network: namespaces ${P}{cli,net,srv,ins}"
for ns in "$CLI" "$NET" "$SRV" "$INS"; do
	ip netns add "$ns"
	# No DAD on the new links: a tentative link-local address would delay
	# the first forwarded packets by a second or two.
	nsx "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	nsx "$ns" ip link set lo up
done
# Interfaces are created inside the namespaces: no names in the host's.
ip -n "$CLI" link add eth0 type veth peer name eth0 netns "$NET"
ip -n "$NET" link add eth1 type veth peer name eth0 netns "$SRV"
ip -n "$SRV" link add eth1 type veth peer name eth0 netns "$INS"
nsx "$CLI" ip addr add 198.51.100.2/24 dev eth0
nsx "$CLI" ip link set eth0 up
nsx "$CLI" ip route add default via 198.51.100.1
nsx "$NET" ip addr add 198.51.100.1/24 dev eth0
nsx "$NET" ip addr add 203.0.113.1/24 dev eth1
nsx "$NET" ip link set eth0 up
nsx "$NET" ip link set eth1 up
nsx "$NET" sysctl -q -w net.ipv4.ip_forward=1
nsx "$SRV" ip addr add 203.0.113.2/24 dev eth0
nsx "$SRV" ip -6 addr add 2001:db8:1::1/64 dev eth1 nodad
nsx "$SRV" ip link set eth0 up
nsx "$SRV" ip link set eth1 up
nsx "$SRV" ip route add default via 203.0.113.1
nsx "$INS" ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
nsx "$INS" ip link set eth0 up
nsx "$INS" ip -6 route add default via 2001:db8:1::1
# The IPv4 intranet behind the server.
nsx "$SRV" ip addr add 10.20.0.1/24 dev eth1
nsx "$INS" ip addr add 10.20.0.2/24 dev eth0
# The client finds the server by name (ip netns exec mounts this on /etc/hosts).
mkdir -p "/etc/netns/$CLI"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n203.0.113.2\tiphttps.test\n' \
	> "/etc/netns/$CLI/hosts"
echo "cli 198.51.100.2 (IPv4 only)  ->  net  ->  srv 203.0.113.2, inside 2001:db8:1::1  ->  ins 2001:db8:1::2"
nsx "$CLI" ping -c 1 -W 2 -q 203.0.113.2 >/dev/null && echo "cli reaches the server over IPv4"

step "The intranet in ins: an IPv4-only web server and the DNS server for corp.example"
mkdir -p "$TMP/www"
echo "Hello from web.corp.example, an IPv4-only intranet server" > "$TMP/www/index.html"
chmod -R a+rX "$TMP/www"
show "dnsmasq --listen-address=10.20.0.2 --local=/corp.example/ --host-record=web.corp.example,10.20.0.2 ..."
nsx "$INS" dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address=10.20.0.2 --local=/corp.example/ --host-record=web.corp.example,10.20.0.2 \
	--pid-file= --log-queries --log-facility="$TMP/dns-queries.log" >"$TMP/dnsmasq.out" 2>&1 &
PIDS+=($!)
disown $!
show "python3 -m http.server 80 --bind 10.20.0.2"
nsx "$INS" /usr/bin/python3 -m http.server 80 --bind 10.20.0.2 --directory "$TMP/www" \
	>"$TMP/web.out" 2>&1 &
PIDS+=($!)
disown $!
wait_until 20 "the intranet web server" nsx "$INS" curl -sf -m 2 http://10.20.0.2/
echo "web.corp.example is 10.20.0.2, IPv4 only; the intranet's DNS server is 10.20.0.2"

"$(dirname "$0")/adduser.sh"   # the daemons' user, as make install creates it
step "Starting the server in srv"
# --tun iphttps-srv: the TUN name also names the control socket
# (RUN/NAME.sock), and server and client share one run dir here, so the
# server must not take the client's default name iphttps0.
SRV_ARGS=(server --route 2001:db8:1::/64 --hostname iphttps.test
	--state-dir "$TMP/state" --run-dir "$RUN" --tun iphttps-srv
	--nat64 auto --dns64 10.20.0.2 --dns-search corp.example)
show "iphttps ${SRV_ARGS[*]}"
nsx "$SRV" "$BIN" "${SRV_ARGS[@]}" >"$TMP/server.out" 2>"$TMP/server.err" &
PIDS+=($!)
disown $!                       # teardown stops it; no job-control chatter
wait_until 30 "the server to print how to connect a client" \
	grep -qx 'To connect a client:' "$TMP/server.out"
wait_until 5 "the client command line" \
	sh -c "grep -A1 -x 'To connect a client:' '$TMP/server.out' | sed -n 2p | grep -q ."
cat "$TMP/server.out"
LINE=$(grep -A1 -x 'To connect a client:' "$TMP/server.out" | sed -n 2p)
read -r -a CMD <<<"$LINE"
[ "${CMD[0]##*/}" = iphttps ] && [ "${CMD[1]}" = client ] ||
	{ echo "demo: unexpected client command: $LINE" >&2; exit 1; }

step "Starting the client in cli with exactly that command (plus --run-dir)"
# cli gets a mount namespace of its own: an overlay of /etc (the client
# applies the advertised DNS to /etc/resolv.conf; this machine's stays as
# it is) and an empty /run; a sleeping process holds it, commands enter it.
mkdir -p "$TMP/etc/upper" "$TMP/etc/work"
cp "/etc/netns/$CLI/hosts" "$TMP/etc/upper/hosts"
ip netns exec "$CLI" unshare --mount --propagation private -- sh -c "mount -t overlay overlay \
	-o lowerdir=/etc,upperdir=$TMP/etc/upper,workdir=$TMP/etc/work /etc &&
	mount -t tmpfs tmpfs /run && exec sleep 100000" &
HOLDER=$!
PIDS+=($HOLDER)
disown $HOLDER
wait_until 10 "cli's mount namespace" sh -c "nsenter -t $HOLDER -m -- grep -q iphttps.test /etc/hosts"
clix() { nsenter -t "$HOLDER" -m -n -- "$@"; }  # run in cli, its own /etc
# Only the program path is ours (iphttps may not be installed in PATH).
CLI_ARGS=(client --run-dir "$RUN" "${CMD[@]:2}")
show "iphttps ${CLI_ARGS[*]}"
clix "$BIN" "${CLI_ARGS[@]}" >"$TMP/client.out" 2>"$TMP/client.err" &
PIDS+=($!)
disown $!
wait_until 30 "the client to reach State LinkUp" \
	sh -c "'$BIN' state --run-dir '$RUN' iphttps0 | grep -Eq '^State *: *LinkUp\$'"
echo "client State: LinkUp"
wait_until 15 "a global IPv6 address on the client's iphttps0" \
	sh -c "ip netns exec '$CLI' ip -6 -o addr show dev iphttps0 scope global | grep -q inet6"
ADDR=$(nsx "$CLI" ip -6 -o addr show dev iphttps0 scope global | awk '{print $4; exit}')
ADDR=${ADDR%/*}

step "The client's tunnel address (SLAAC from the server's Router Advertisement)"
show "ip -6 addr show dev iphttps0"
nsx "$CLI" ip -6 addr show dev iphttps0
step "The client's routes through the tunnel (2001:db8:1::/64 from a Route Information Option)"
wait_until 10 "the route to 2001:db8:1::/64" \
	sh -c "ip netns exec '$CLI' ip -6 route show dev iphttps0 | grep -q '^2001:db8:1::/64'"
show "ip -6 route show dev iphttps0"
nsx "$CLI" ip -6 route show dev iphttps0

step "cli pings the inside host 2001:db8:1::2 through the tunnel"
show "ping -c 3 2001:db8:1::2"
nsx "$CLI" ping -c 3 -i 0.2 -W 2 2001:db8:1::2

step "ins pings the client's tunnel address $ADDR"
show "ping -c 3 $ADDR"
nsx "$INS" ping -c 3 -i 0.2 -W 2 "$ADDR"

step "The client applied the advertised DNS (RDNSS, DNSSL) and knows the NAT64 prefix (PREF64)"
wait_until 15 "the DNS applied on the client" \
	sh -c "'$BIN' state --run-dir '$RUN' iphttps0 | grep -Eq '^DNSMode *: .*applied: '"
show "iphttps state iphttps0 | grep -E '^(DNS|NAT64)'"
"$BIN" state --run-dir "$RUN" iphttps0 | grep -E '^(DNS|NAT64)'
show "cat /etc/resolv.conf     # cli's own (an overlay): the original comes back when the client stops"
clix cat /etc/resolv.conf

step "cli fetches http://web.corp.example/ by name: DNS64 answer, through the tunnel, NAT64 to IPv4"
show "dig +short AAAA web.corp.example"
clix dig +short +time=3 AAAA web.corp.example
show "curl http://web.corp.example/"
wait_until 20 "curl http://web.corp.example/" clix curl -sf -m 5 http://web.corp.example/
clix curl -sS -m 5 http://web.corp.example/
echo "the intranet web server saw the request from the server's inside address (NAT64, masqueraded):"
grep '"GET / HTTP' "$TMP/web.out" | tail -n 1

step "iphttps state of the client"
show "iphttps state iphttps0"
"$BIN" state --run-dir "$RUN" iphttps0
step "iphttps state of the server"
show "iphttps state iphttps-srv"
"$BIN" state --run-dir "$RUN" iphttps-srv

OK=1
