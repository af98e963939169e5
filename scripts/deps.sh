#!/bin/sh
# Install the Debian 12 packages iphttps needs, only those missing.
#   --build   what compiling needs        --test   what `make check`/`make demo` need
#   --bench   what `make bench` needs     --quiet  say nothing when all is there
# Run by make itself; as root it installs, otherwise it names the command to run.
set -eu
BUILD="gcc make pkg-config libssl-dev libmnl-dev libpcap-dev libinih-dev libjson-c-dev \
libsystemd-dev libseccomp-dev"
TEST="libcmocka-dev clang libclang-rt-14-dev python3 python3-pytest python3-pytest-xdist python3-scapy iproute2 \
openssl curl iputils-ping procps psmisc tcpdump tshark haproxy squid nginx-light socat \
tayga unbound dnsmasq bind9-dnsutils nftables dbus systemd-resolved prometheus \
dpkg-dev debhelper fakeroot lintian bash-completion python3-cryptography"
BENCH="iperf3 ocserv openconnect linux-perf"
want="" quiet=0 testing=0
for a in "$@"; do
  case "$a" in
    --build) want="$want $BUILD" ;;
    --test)  want="$want $TEST"; testing=1 ;;
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
# Debian's openresolv conflicts with systemd-resolved (installed above for
# the tests): the resolvconf test runs it unpacked (dpkg -x), never installed.
UNPACKED=/var/cache/iphttps-test
unpack_openresolv() {
  [ $testing = 1 ] || return 0
  [ -x $UNPACKED/openresolv/sbin/resolvconf ] && return 0
  if [ "$(id -u)" != 0 ]; then echo "deps: run as root to unpack openresolv for the tests" >&2; return 1; fi
  t=$(mktemp -d) && (cd "$t" && { apt-get download -q openresolv >&2 || { apt-get update -q >&2 && apt-get download -q openresolv >&2; }; } &&
    rm -rf $UNPACKED/openresolv && mkdir -p $UNPACKED && dpkg -x "$t"/openresolv_*.deb $UNPACKED/openresolv)
  r=$?; rm -rf "$t"; return $r
}
[ -z "$missing" ] && { unpack_openresolv; [ $quiet = 1 ] || echo "deps: all present"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run as root: scripts/deps.sh $*   (or: apt-get install$missing)" >&2
  exit 1
fi
echo "deps: installing:$missing" >&2
daemons="haproxy squid nginx ocserv unbound dnsmasq prometheus systemd-resolve dbus-daemon"
running_before=""
for svc in $daemons; do pgrep -x "$svc" >/dev/null 2>&1 && running_before="$running_before $svc"; done
export DEBIAN_FRONTEND=noninteractive
# Packages with daemons (haproxy, squid, nginx, ocserv) must not start system
# services: the tests run their own instances in network namespaces.
prc=/usr/sbin/policy-rc.d; made_prc=0
# Debian's systemd-resolved (and unbound's resolvconf hook) rewrite
# /etc/resolv.conf on install: the tests run their own resolver instances,
# and this machine's own DNS must stay as it was.
rc=/etc/resolv.conf; rc_save=$(mktemp)
if [ -L $rc ]; then rc_kind=link; readlink $rc > "$rc_save"
elif [ -e $rc ]; then rc_kind=file; cp -p $rc "$rc_save"
else rc_kind=none; fi
if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' > $prc; chmod 755 $prc; made_prc=1; fi
restore_resolv_conf() {
  case $rc_kind in
  link) [ "$(readlink $rc 2>/dev/null)" = "$(cat "$rc_save")" ] || { rm -f $rc; ln -s "$(cat "$rc_save")" $rc; } ;;
  file) if [ -L $rc ] || ! cmp -s $rc "$rc_save"; then rm -f $rc; cp -p "$rc_save" $rc; fi ;;
  none) rm -f $rc ;;
  esac
  rm -f "$rc_save"
}
cleanup() { restore_resolv_conf; [ $made_prc = 1 ] && rm -f $prc; true; }
trap cleanup EXIT
if ! apt-get install -y -q --no-install-recommends $missing >&2; then
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends $missing >&2
fi
unpack_openresolv
# Debian starts some of these even so when no init system honours policy-rc.d:
# stop those the installation started, never one that ran before it.
for svc in $daemons; do
  case " $running_before " in *" $svc "*) continue ;; esac
  pkill -x "$svc" 2>/dev/null || true
done
