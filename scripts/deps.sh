#!/bin/sh
# Install the Debian 12 packages iphttps needs, only those missing.
#   --build   what compiling needs        --test   what `make check`/`make demo` need
#   --bench   what `make bench` needs     --quiet  say nothing when all is there
# Run by make itself; as root it installs, otherwise it names the command to run.
set -eu
BUILD="gcc make pkg-config libssl-dev libmnl-dev libpcap-dev libinih-dev libjson-c-dev"
TEST="libcmocka-dev clang libclang-rt-14-dev python3 python3-pytest python3-scapy iproute2 \
openssl curl iputils-ping procps psmisc tcpdump tshark haproxy squid nginx-light socat"
BENCH="iperf3 ocserv openconnect"
want="" quiet=0
for a in "$@"; do
  case "$a" in
    --build) want="$want $BUILD" ;;
    --test)  want="$want $TEST" ;;
    --bench) want="$want $BENCH" ;;
    --quiet) quiet=1 ;;
    *) echo "deps.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
[ -n "$want" ] || want="$BUILD"
missing=""
for p in $want; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && { [ $quiet = 1 ] || echo "deps: all present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run as root: scripts/deps.sh $*   (or: apt-get install$missing)" >&2
  exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages with daemons (haproxy, squid, nginx, ocserv) must not start system
# services: the tests run their own instances in network namespaces.
prc=/usr/sbin/policy-rc.d; made_prc=0
if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' > $prc; chmod 755 $prc; made_prc=1; fi
cleanup() { [ $made_prc = 1 ] && rm -f $prc; true; }
trap cleanup EXIT
if ! apt-get install -y -q --no-install-recommends $missing >&2; then
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends $missing >&2
fi
# Debian starts some of these even so when no init system honours policy-rc.d.
for svc in haproxy squid nginx ocserv; do
  pkill -x "$svc" 2>/dev/null || true
done
