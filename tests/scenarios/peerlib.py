"""Test peers on the IP-HTTPS link, hand-made packets and counters, for the
link-rule scenario tests (test_link_rules.py). Runs in the pytest process.

  Peer            one ipeer.py process in a client namespace: an IP-HTTPS
                  connection that sends whatever bytes the test gives it and
                  records every packet the server sends back.
  RulesServer     conftest.Server that also starts servers whose printed
                  command has no client certificate (--auth none) or no
                  command at all (--transport http).
  Counters        drop counters of the server and of chosen peers, to assert
                  that exactly one drop of one reason happened.
  builders        echo(), rs(), ns(), dad_ns(), na(), mld_report(),
                  icmp6_raw() for malformed messages, and checks of what
                  arrived.

Addresses: every Peer picks its own link-local fe80::a:N and global
PREFIX::a:N (N unique in this process), and binds its link-local when it
starts by pinging the router (fe80::1) from it: the echo reply proves the
server bound it. Peer.sync() does the same ping again; once its reply is
back, the server has handled everything the peer sent before.
"""

import ipaddress
import itertools
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conftest  # noqa: E402
import netns  # noqa: E402

from scapy.layers.inet6 import (  # noqa: E402
    IPv6, IPv6ExtHdrHopByHop, RouterAlert, ICMPv6EchoRequest,
    ICMPv6EchoReply, ICMPv6ND_RS, ICMPv6ND_RA, ICMPv6ND_NS, ICMPv6ND_NA,
    ICMPv6MLReport2, ICMPv6MLDMultAddrRec, ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptMTU, ICMPv6NDOptRouteInfo, ICMPv6NDOptRDNSS,
    ICMPv6NDOptDstLLAddr, in6_getnsma, in6_chksum)
from scapy.compat import raw  # noqa: E402

PYTHON = "/usr/bin/python3"
IPEER = os.path.join(HERE, "ipeer.py")
ROUTER_LL = "fe80::1"
ALL_NODES = "ff02::1"
ALL_ROUTERS = "ff02::2"
SYNC_ID = 0x5e5e            # echo id of Peer.sync() pings
BIND_ID = 0xb1d0            # echo id of Peer.bind() pings
CMD_TIMEOUT = 40.0          # an ipeer command answers within this
QUIET = 1.2                 # seconds a "nothing arrives" check waits
_index = itertools.count(1)
_seq = itertools.count(1)


# ---- addresses -----------------------------------------------------------

def prefix_of(server):
    """The link's /64 (ipaddress.IPv6Network) from `state --json`, waiting
    for the control socket; cached on the server object."""
    p = getattr(server, "_rules_prefix", None)
    if p is None:
        st = netns.wait_for(lambda: server.state(), 15, 0.1,
                            "the server's control socket")
        p = ipaddress.ip_network(st["Prefix"])
        server._rules_prefix = p
    return p


def in_prefix(server, iid):
    """PREFIX::iid as text (iid an int)."""
    return str(prefix_of(server)[iid])


def router_global(server):
    """PREFIX::1, the router's global address on the link."""
    return in_prefix(server, 1)


def solicited_node(addr):
    """ff02::1:ffXX:XXXX of addr, as text."""
    b = in6_getnsma(socket.inet_pton(socket.AF_INET6, addr))
    return socket.inet_ntop(socket.AF_INET6, b)


def same_addr(a, b):
    """True when two IPv6 addresses in text are the same address."""
    return ipaddress.ip_address(a) == ipaddress.ip_address(b)


# ---- packet builders -----------------------------------------------------

def echo(src, dst, ident=0x1234, seq=1, data=b"rules", hlim=64):
    """ICMPv6 Echo Request (scapy)."""
    return IPv6(src=src, dst=dst, hlim=hlim) / \
        ICMPv6EchoRequest(id=ident, seq=seq, data=data)


def rs(src, hlim=255):
    """Router Solicitation to ff02::2, no options."""
    return IPv6(src=src, dst=ALL_ROUTERS, hlim=hlim) / ICMPv6ND_RS()


def ns(src, dst, target, hlim=255):
    """Neighbor Solicitation, no options."""
    return IPv6(src=src, dst=dst, hlim=hlim) / ICMPv6ND_NS(tgt=target)


def dad_ns(target):
    """DAD Neighbor Solicitation: from ::, to the solicited-node group."""
    return ns("::", solicited_node(target), target)


def na(src, dst, target, R=0, S=0, O=1):
    """Neighbor Advertisement with the given flags, no options."""
    return IPv6(src=src, dst=dst, hlim=255) / \
        ICMPv6ND_NA(tgt=target, R=R, S=S, O=O)


def mld_report(src, group="ff02::1:ff00:abcd"):
    """MLDv2 Report to ff02::16 (hop limit 1, Router Alert), as Linux
    sends them."""
    return IPv6(src=src, dst="ff02::16", hlim=1) / \
        IPv6ExtHdrHopByHop(options=[RouterAlert()]) / \
        ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=group)])


def icmp6_raw(src, dst, body, hlim=255, checksum=True):
    """IPv6 + ICMPv6 message body (bytes, its checksum field ignored) ->
    packet bytes, with a correct checksum unless checksum=False (then
    deliberately wrong)."""
    body = bytearray(body)
    if len(body) >= 4:
        body[2:4] = b"\0\0"
    ip = IPv6(src=src, dst=dst, hlim=hlim, nh=58, plen=len(body))
    if len(body) >= 4:
        c = in6_chksum(58, ip, bytes(body))
        if not checksum:
            c ^= 0x5555
        body[2:4] = c.to_bytes(2, "big")
    return raw(ip) + bytes(body)


def ns_body(target, options=b"", code=0):
    """ICMPv6 NS message bytes (checksum 0) with raw options."""
    return bytes([135, code, 0, 0, 0, 0, 0, 0]) + \
        socket.inet_pton(socket.AF_INET6, target) + options


def to_bytes(p):
    """scapy packet or bytes -> bytes."""
    return p if isinstance(p, (bytes, bytearray)) else raw(p)


# ---- looking at what arrived ---------------------------------------------

def checksum_ok(pkt):
    """True when the ICMPv6 checksum of a received packet is right."""
    p = IPv6(raw(pkt))
    icmp = p.payload
    while icmp is not None and icmp.name.startswith("IPv6 Extension"):
        icmp = icmp.payload
    if not hasattr(icmp, "cksum"):
        return False
    got = icmp.cksum
    icmp.cksum = None
    return IPv6(raw(p)).getlayer(type(icmp)).cksum == got


def icmp_type(pkt):
    """ICMPv6 type of a parsed packet (None when not ICMPv6)."""
    b = raw(pkt)
    if b[6] == 58 and len(b) > 40:
        return b[40]
    if b[6] == 0 and len(b) > 48:        # hop-by-hop, then ICMPv6
        off = 40 + (b[41] + 1) * 8
        if b[40] == 58 and len(b) > off:
            return b[off]
    return None


def is_ra(p):
    return p.haslayer(ICMPv6ND_RA)


def is_echo_reply(p, ident=None):
    return p.haslayer(ICMPv6EchoReply) and \
        (ident is None or p[ICMPv6EchoReply].id == ident)


def describe(pkts):
    """One-line summaries of packets, for assertion messages."""
    return "[" + "; ".join(p.summary() for p in pkts) + "]"


def options(p, cls):
    """Every option layer of class cls in packet p, in order."""
    out, i = [], 1
    while p.getlayer(cls, nb=i) is not None:
        out.append(p.getlayer(cls, nb=i))
        i += 1
    return out


def check_ra(p, server, dst, lifetime=0, dns=(), routes=(
        netns.INSIDE_PREFIX,)):
    """Assert p is the server's RA to dst: hop limit 255 from fe80::1, PIO
    PREFIX/64 with L and A, MTU 1280, one RIO per route, the router lifetime
    and the RDNSS servers given, a right checksum."""
    assert is_ra(p), "not an RA: %s" % p.summary()
    ip, ra = p[IPv6], p[ICMPv6ND_RA]
    assert ip.hlim == 255, "RA hop limit %d" % ip.hlim
    assert same_addr(ip.src, ROUTER_LL), "RA from %s" % ip.src
    assert same_addr(ip.dst, dst), "RA to %s, expected %s" % (ip.dst, dst)
    assert checksum_ok(p), "RA checksum wrong"
    assert ra.routerlifetime == lifetime, \
        "router lifetime %d, expected %d" % (ra.routerlifetime, lifetime)
    pio = options(p, ICMPv6NDOptPrefixInfo)
    assert len(pio) == 1, "PIOs: %r" % pio
    net = prefix_of(server)
    assert same_addr(pio[0].prefix, str(net.network_address)) and \
        pio[0].prefixlen == 64, "PIO %s/%d" % (pio[0].prefix,
                                              pio[0].prefixlen)
    assert pio[0].L == 1 and pio[0].A == 1, "PIO flags L=%d A=%d" % (
        pio[0].L, pio[0].A)
    assert pio[0].validlifetime > 0
    mtu = options(p, ICMPv6NDOptMTU)
    assert [m.mtu for m in mtu] == [1280], "MTU options %r" % mtu
    rio = sorted("%s/%d" % (ipaddress.ip_address(r.prefix), r.plen)
                 for r in options(p, ICMPv6NDOptRouteInfo))
    assert rio == sorted(str(ipaddress.ip_network(r)) for r in routes), \
        "RIOs %r" % rio
    got_dns = [str(ipaddress.ip_address(a)) for o in
               options(p, ICMPv6NDOptRDNSS) for a in o.dns]
    assert got_dns == [str(ipaddress.ip_address(a)) for a in dns], \
        "RDNSS %r" % got_dns


def check_na(p, src, dst, target, R, S, O):
    """Assert p is an NA src -> dst for target with exactly flags R, S, O,
    hop limit 255, no option at all (no TLLAO), a right checksum."""
    assert p.haslayer(ICMPv6ND_NA), "not an NA: %s" % p.summary()
    ip, m = p[IPv6], p[ICMPv6ND_NA]
    assert same_addr(ip.src, src), "NA from %s, expected %s" % (ip.src, src)
    assert same_addr(ip.dst, dst), "NA to %s, expected %s" % (ip.dst, dst)
    assert same_addr(m.tgt, target), "NA target %s" % m.tgt
    assert (m.R, m.S, m.O) == (R, S, O), "NA flags R=%d S=%d O=%d, " \
        "expected R=%d S=%d O=%d" % (m.R, m.S, m.O, R, S, O)
    assert ip.hlim == 255, "NA hop limit %d" % ip.hlim
    assert ip.plen == 24, "NA carries options (payload %d bytes)" % ip.plen
    assert not p.haslayer(ICMPv6NDOptDstLLAddr), "NA with a TLLAO"
    assert checksum_ok(p), "NA checksum wrong"


def make_other_ca(directory):
    """A CA unrelated to the server's and a client certificate it issued
    (openssl, EC keys); returns (cert, key) paths."""
    d = str(directory)
    os.makedirs(d, exist_ok=True)

    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True,
                       capture_output=True, timeout=30)
    ca, cak = os.path.join(d, "other-ca.pem"), os.path.join(d, "other-ca.key")
    crt, key = os.path.join(d, "other.pem"), os.path.join(d, "other.key")
    csr = os.path.join(d, "other.csr")
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", cak, "-out", ca,
         "-subj", "/CN=Another CA", "-days", "2",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=client1")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cak,
         "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    with open(crt, "a") as f, open(ca) as c:
        f.write(c.read())
    return crt, key


# ---- servers -------------------------------------------------------------

class RulesServer(conftest.Server):
    """conftest.Server for configurations whose printed command has no
    --cert (--auth none) or no --ca (--transport http: the command is for a
    check without TLS). Certificates default to the generated client1
    certificate of the state directory."""

    def _parse_client_argv(self):
        argv = self.client_argv
        self.ca = self.cert = self.key = None
        for i, a in enumerate(argv[:-1]):
            if a in ("--ca", "--cert", "--key"):
                setattr(self, a[2:], argv[i + 1])
        self.url = [a for a in argv[2:] if "://" in a][0]
        default = os.path.join(self.state_dir, "clients", "client1")
        if self.cert is None and os.path.isfile(default + ".pem"):
            self.cert, self.key = default + ".pem", default + ".key"
        if self.ca is None:  # --transport http prints no CA (no TLS)
            self.ca = os.path.join(self.state_dir, "ca.pem")
        assert os.path.isfile(self.ca), argv


def binary_path():
    """The iphttps binary under test, as the iphttps_bin fixture finds it."""
    path = os.environ.get("IPHTTPS_BIN") or os.path.join(conftest.REPO,
                                                         "iphttps")
    if not os.path.isabs(path):
        path = os.path.join(conftest.REPO, path)
    return path


def wait_gone(server, locals_, timeout=5.0):
    """Wait until none of the connections from the local addresses
    locals_ ("ip:port") is in the server's client list any more."""
    want = set(l for l in locals_ if l)
    netns.wait_for(lambda: not want & {c.get("Peer") for c in
                                       clients_json(server)},
                   timeout, 0.05, "the server to drop closed peers")


def clients_json(server):
    """`iphttps clients --json` of the server (list of dicts)."""
    p = server.topo.run("srv", [server.binary, "clients", "--json",
                                "--run-dir", server.run_dir, server.tun],
                        timeout=10)
    return json.loads(p.stdout)


# ---- the peer ------------------------------------------------------------

class Peer:
    """An ipeer.py process in `host`, linked up to `server`.

    cert: True (the server's client certificate), False (none), or a
    (cert, key) pair. http: plain HTTP transport. bind_ll: ping the router
    from the link-local at start, which binds it and proves the link works.
    Raises AssertionError when the link does not come up (unless
    expect_ready=False: then self.ready tells what happened).
    """

    def __init__(self, topo, server, host="cli", cert=True, http=False,
                 name=None, expect_ready=True, bind_ll=True, ca=True):
        self.topo, self.server = topo, server
        self.n = next(_index)
        self.name = name or "peer%d" % self.n
        self.ll = "fe80::a:%x" % self.n
        self.gua = in_prefix(server, (0xa << 16) + self.n)
        argv = [PYTHON, IPEER, "--connect", netns.SERVER_V4 + ":443",
                "--servername", netns.SERVER_NAME]
        if http:
            argv.append("--http")
        elif ca:
            argv += ["--ca", server.ca]
        if cert is True:
            cert = (server.cert, server.key) if server.cert else None
        if cert:
            argv += ["--cert", cert[0], "--key", cert[1]]
        self.proc = topo.popen(host, argv, name=self.name,
                               stdin=subprocess.PIPE)
        self._off = 0
        self._buf = []          # packets received, not yet returned
        self._echo = []         # replies to sync/bind pings
        self.ready = self._line(20.0)
        self.local = self.ready.get("local")
        self.first_ra = None
        if not self.ready.get("ready"):
            if expect_ready:
                raise AssertionError("%s did not link up: %r\n%s" % (
                    self.name, self.ready, self.proc.describe()))
            return
        if bind_ll:
            assert self.bind(self.ll), \
                "%s: no echo reply from the router to %s" % (self.name,
                                                              self.ll)
        # The unsolicited RA comes right after the 200, before the reply.
        self.first_ra = self.wait_ra(0.0 if bind_ll else 2.0)

    # -- the command channel --
    def _line(self, timeout):
        """The next JSON line ipeer printed (bounded by timeout)."""
        def got():
            data = self.proc.stdout()[self._off:]
            if "\n" in data:
                return data[:data.index("\n") + 1]
            if not self.proc.alive():
                raise AssertionError("%s exited:\n%s" % (
                    self.name, self.proc.describe()))
            return None
        try:
            line = netns.wait_for(got, timeout, 0.005, "%s to answer"
                                  % self.name)
        except TimeoutError as e:
            raise AssertionError("%s\n%s" % (e, self.proc.describe()))
        self._off += len(line)
        return json.loads(line)

    def _cmd(self, obj, timeout=CMD_TIMEOUT):
        self.proc.popen.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.popen.stdin.flush()
        return self._line(timeout)

    # -- sending --
    def send(self, *pkts):
        """Write packets (scapy or bytes) into the stream, back to back."""
        data = b"".join(to_bytes(p) for p in pkts)
        r = self._cmd({"cmd": "send", "hex": data.hex()})
        assert r.get("ok"), "%s: send failed: %r" % (self.name, r)

    def send_raw(self, data):
        """Write arbitrary bytes; returns the answer (may fail)."""
        return self._cmd({"cmd": "send", "hex": bytes(data).hex()})

    # -- receiving --
    def _pull(self, timeout, want):
        r = self._cmd({"cmd": "recv", "timeout": max(0.0, timeout),
                       "min": max(1, want)}, timeout + CMD_TIMEOUT)
        for h in r.get("packets", []):
            p = IPv6(bytes.fromhex(h))
            if is_echo_reply(p, SYNC_ID) or is_echo_reply(p, BIND_ID):
                self._echo.append(p)
            else:
                self._buf.append(p)
        return r

    def recv(self, timeout=2.0, count=1):
        """Packets received (scapy IPv6 list), waiting until `count` are
        there or timeout seconds pass. Sync/bind echo replies left out."""
        deadline = time.monotonic() + timeout
        while len(self._buf) < count:
            left = deadline - time.monotonic()
            r = self._pull(max(0.0, left), count - len(self._buf))
            if left <= 0 or r.get("closed"):
                break
        out, self._buf = self._buf, []
        return out

    def quiet(self, timeout=QUIET):
        """Everything that arrives within timeout seconds (expected: [])."""
        return self.recv(timeout, count=1 << 30)

    def wait_ra(self, timeout=3.0):
        """The first RA received within timeout (others kept), or None."""
        deadline = time.monotonic() + timeout
        while True:
            for p in self._buf:
                if is_ra(p):
                    self._buf.remove(p)
                    return p
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pull(left, 1)

    def _ping_router(self, src, ident, dst=None, timeout=3.0):
        """Echo from src to the router; True when the reply came back."""
        if dst is None:
            dst = ROUTER_LL if src.startswith("fe80") \
                else router_global(self.server)
        seq = next(_seq) & 0xffff
        self.send(echo(src, dst, ident=ident, seq=seq))
        deadline = time.monotonic() + timeout
        while True:
            for p in self._echo:
                if p[ICMPv6EchoReply].seq == seq and \
                        p[ICMPv6EchoReply].id == ident:
                    self._echo.remove(p)
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r = self._pull(left, 1)
            if r.get("closed"):
                return False

    def bind(self, addr, timeout=3.0):
        """Use addr as a source (ping the router from it): the server binds
        it to this connection. True when the router's reply came back."""
        return self._ping_router(addr, BIND_ID, timeout=timeout)

    def sync(self, timeout=3.0):
        """Ping the router from the link-local and wait for the reply: then
        the server has handled all this peer sent before."""
        assert self._ping_router(self.ll, SYNC_ID, timeout=timeout), \
            "%s: no reply to the sync ping (connection %s)\n%s" % (
                self.name, self.status(), self.proc.describe())

    def settle(self, wait=0.15):
        """Everything received once the server has handled all this peer
        sent before (sync), plus wait seconds: the check that something
        did, or did not, arrive."""
        self.sync()
        return self.recv(wait, count=1 << 30)

    # -- state --
    def status(self):
        return self._cmd({"cmd": "status"})

    def closed(self):
        """True when the server closed the connection."""
        return self.status().get("closed")

    def wait_closed(self, timeout=3.0):
        """True when the server closes the connection within timeout."""
        try:
            return netns.wait_for(self.closed, timeout, 0.05,
                                  "%s to be closed" % self.name)
        except TimeoutError:
            return False

    def record(self):
        """This connection's record in `iphttps clients --json`."""
        recs = [c for c in clients_json(self.server)
                if c.get("Peer") == self.local]
        assert len(recs) == 1, "no client record for %s (%s): %r" % (
            self.name, self.local, clients_json(self.server))
        return recs[0]

    def drops(self):
        """This connection's drop counters (dict reason -> n)."""
        return self.record()["Drops"]

    def close(self):
        """Close the connection and stop the process."""
        if self.proc.alive():
            try:
                self._cmd({"cmd": "close"}, 5.0)
            except (AssertionError, OSError):
                pass
        self.proc.stop()

    def describe(self):
        return self.proc.describe()


# ---- counters ------------------------------------------------------------

class Counters:
    """Drop counters of the server and of some peers at one moment; the
    assert_* methods compare with now.

    The server's own kernel writes MLD Reports into the TUN now and then
    (forwarding is on; LINUX-TUN.md), which the server drops as "multicast"
    without charging a client: the server-wide "multicast" count may
    therefore exceed the expected one by at most the number of packets read
    from the TUN meanwhile. Every other count must match exactly."""

    def __init__(self, server, *peers):
        self.server, self.peers = server, peers
        st = server.state()
        self.srv0 = dict(st["Drops"])
        self.tun0 = st["Counters"]["FromTun"]
        self.peer0 = self._peer_drops()

    def _peer_drops(self):
        """Drops of each watched peer, from one `clients --json`."""
        recs = {c.get("Peer"): c for c in clients_json(self.server)}
        out = []
        for p in self.peers:
            assert p.local in recs, "no client record for %s (%s): %r" % (
                p.name, p.local, sorted(recs))
            out.append(dict(recs[p.local]["Drops"]))
        return out

    def assert_delta(self, peer, reason, n=1):
        """Assert that exactly n drops of `reason`, charged to `peer`, and
        nothing else happened since the snapshot, for the server and every
        watched peer (peer None: a drop of the server alone)."""
        assert reason in self.srv0, "no drop reason %r in %r" % (
            reason, sorted(self.srv0))
        st = self.server.state()
        dsrv = {k: st["Drops"].get(k, 0) - v for k, v in self.srv0.items()}
        from_tun = st["Counters"]["FromTun"] - self.tun0
        want = {k: (n if k == reason else 0) for k in self.srv0}
        extra = dsrv.get("multicast", 0) - want.get("multicast", 0)
        if 0 < extra <= from_tun:
            dsrv["multicast"] -= extra        # the kernel's own MLD
        assert dsrv == want, "server Drops changed by %r, expected +%d %s" \
            % ({k: v for k, v in dsrv.items() if v}, n, reason)
        for p, before, now in zip(self.peers, self.peer0,
                                  self._peer_drops()):
            d = {k: now.get(k, 0) - v for k, v in before.items()}
            exp = {k: (n if (k == reason and p is peer) else 0)
                   for k in before}
            assert d == exp, "%s Drops changed by %r, expected %s" % (
                p.name, {k: v for k, v in d.items() if v},
                ("+%d %s" % (n, reason)) if p is peer else "nothing")

    def assert_none(self):
        """Assert no drop at all since the snapshot."""
        self.assert_delta(None, next(iter(self.srv0)), 0)
