"""The server's link rules (MS-IPHTTPS 3.2.5.2 and issue 3), each proven on
the wire: test peers (ipeer.py through peerlib.Peer) speak IP-HTTPS to the
server and send hand-made packets (scapy); watching peers record all the
server sends them.

Every test asserts what must happen and what must not: an allowed packet
arrives, unchanged, where it should; a forbidden one arrives nowhere and
exactly one drop of the right reason is counted, for the right client
(`iphttps clients --json`, "Drops") and for the server (`iphttps state
--json`, "Drops"), and for nobody else.

"Nothing arrived" is checked without long sleeps: Peer.settle() pings the
router and waits for the reply, after which the server has handled all the
peer sent before, and whatever it queued for that peer has been sent ahead
of the reply (the sender settles first, then the watchers).

Section numbers: 3.2.1 (authentication modes), 3.2.5.1 (the 200),
3.2.5.2 (data transfer), 3.2.5.2.1 (the server's own sending),
3.2.5.2.2 (the rules per authentication mode), 4.2 (threats); RFC 4861
(ND) 6.1.1, 6.2.6, 7.1.1, 7.2.4.
"""

import ipaddress
import os
import re

import pytest

import netns
import peerlib as pl
from peerlib import ALL_NODES, ROUTER_LL

INSIDE_DNS = ["2001:db8:1::53", "2001:db8:1::54"]


# ---- fixtures --------------------------------------------------------------
#
# Most tests share one server per authentication mode (each in its own
# topology, started once for this module): every test uses fresh peers with
# fresh addresses, and the peer fixture waits until the server has let go of
# them. A server that died is replaced for the next test (and the test that
# killed it fails). Tests that need their own options use the function-scoped
# start_server / start_rules_server.

def _still_running(servers):
    """Assert every server survived the test (a crash otherwise shows only
    as a peer that did not get an answer)."""
    for s in servers:
        assert s.proc.alive(), "the server died during the test:\n" + \
            s.proc.describe()


class SharedServers:
    """One server per authentication mode, each in its own Topology."""

    def __init__(self, tmp_factory, binary):
        self.tmp, self.binary = tmp_factory, binary
        self.servers = {}
        self.dead = []

    def get(self, mode):
        """The running server of mode ("certificates" or "none")."""
        s = self.servers.get(mode)
        if s is not None and not s.proc.alive():
            self.dead.append(self.servers.pop(mode))
            s = None
        if s is None:
            topo = netns.Topology(self.tmp.mktemp("rules-" + mode) / "logs")
            args = ("--auth", "none") if mode.startswith("none") else ()
            if mode.endswith("-w3"):
                # The same rules across worker processes (workers.h):
                # peers land on different workers, so every exchange
                # between two peers crosses the rings.
                args += ("--workers", "3")
            try:
                s = pl.RulesServer(topo, self.binary, args)
            except BaseException:
                topo.teardown()
                raise
            s.mode = "none" if mode.startswith("none") else "certificates"
            self.servers[mode] = s
        return s

    def close(self):
        """Stop everything; fail on a sanitizer report of any server."""
        errors = []
        for s in self.dead + list(self.servers.values()):
            try:
                s.stop()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                s.topo.teardown()
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The module's servers (see SharedServers)."""
    if not netns.is_root():
        pytest.skip("scenario tests need root (they create network "
                    "namespaces); run them as root")
    path = pl.binary_path()
    assert os.access(path, os.X_OK), \
        "no executable iphttps at %s (build it, or set IPHTTPS_BIN)" % path
    sh = SharedServers(tmp_path_factory, path)
    yield sh
    sh.close()


# Each shared server also runs as three worker processes ("-w3").
@pytest.fixture(params=["certificates", "certificates-w3"])
def cert_server(request, shared):
    """The shared server in authentication mode Certificates (default)."""
    s = shared.get(request.param)
    yield s
    _still_running([s])


@pytest.fixture(params=["none", "none-w3"])
def none_server(request, shared):
    """The shared server in authentication mode None."""
    s = shared.get(request.param)
    yield s
    _still_running([s])


@pytest.fixture(params=["certificates", "none", "certificates-w3", "none-w3"])
def link(request, shared):
    """The shared server of each mode (rules that hold in both)."""
    s = shared.get(request.param)
    yield s
    _still_running([s])


@pytest.fixture
def start_rules_server(topo, iphttps_bin):
    """Factory like start_server, for configurations conftest.Server does
    not parse (--auth none prints no --cert); stopped afterwards."""
    servers = []

    def start(*extra_args):
        s = pl.RulesServer(topo, iphttps_bin, extra_args)
        servers.append(s)
        return s
    yield start
    try:
        _still_running(servers)
    finally:
        for s in reversed(servers):
            s.stop()


@pytest.fixture
def peer():
    """Factory: peer(server, **Peer options) -> a linked-up Peer in the
    server topology's cli. Afterwards the peers are closed and the server
    has dropped their connections."""
    made = []

    def make(server, **kw):
        p = pl.Peer(server.topo, server, **kw)
        made.append(p)
        return p
    yield make
    for p in reversed(made):
        p.close()
    for srv in {id(p.server): p.server for p in made}.values():
        if srv.proc.alive():
            pl.wait_gone(srv, [p.local for p in made if p.server is srv])


def nothing(*peers):
    """Assert that none of the peers received anything (settled)."""
    for p in peers:
        got = p.settle()
        assert got == [], "%s received %s" % (p.name, pl.describe(got))


def one(p, what="a packet"):
    """The single packet p received (settled); asserts there is one."""
    got = p.settle()
    assert len(got) == 1, "%s: expected %s, got %s" % (
        p.name, what, pl.describe(got))
    return got[0]


# ---- authentication (3.2.1, 4.2) --------------------------------------------

@pytest.mark.parametrize("who", ["own_ca", "no_certificate", "other_ca"])
def test_certificates_mode_requires_a_client_certificate(
        cert_server, peer, tmp_path, who):
    """3.2.1, 4.2: in mode Certificates the TLS handshake requires a client
    certificate that chains to the configured CA; without one, or with one
    from another CA, the peer never gets the 200 and is not a client."""
    if who == "own_ca":
        cert = True
    elif who == "no_certificate":
        cert = False
    else:
        cert = pl.make_other_ca(tmp_path / "other")
    st0 = cert_server.state()
    failed0 = st0["Counters"]["TLSFailed"]
    p = peer(cert_server, cert=cert, expect_ready=False, bind_ll=False)
    if who == "own_ca":
        assert p.ready["ready"] and p.ready["status"] == "HTTP/1.1 200 OK", \
            p.ready
        assert p.record()["State"] == "LinkUp"
        assert cert_server.state()["Counters"]["TLSFailed"] == failed0
        return
    assert not p.ready["ready"], "linked up with %s: %r" % (who, p.ready)
    assert "200" not in p.ready.get("head", ""), p.ready
    assert p.ready["stage"] in ("tls", "http"), p.ready
    netns.wait_for(lambda: cert_server.state()["Counters"]["TLSFailed"]
                   == failed0 + 1, 5, 0.1, "TLSFailed to count the peer")
    st = cert_server.state()
    assert st["Clients"] == st0["Clients"] and \
        st["Connections"] == st0["Connections"], (st0, st)


def test_none_mode_links_up_without_a_certificate(none_server, peer):
    """3.2.1, 3.2.5.2.2: in mode None any peer joins the link, no client
    certificate asked; the link works (its ping to the router answered)."""
    p = peer(none_server, cert=False)
    assert p.ready["status"] == "HTTP/1.1 200 OK"
    rec = p.record()
    assert rec["State"] == "LinkUp" and p.ll in rec["Addresses"], rec
    assert none_server.state()["Authentication"] == "none"


# ---- Router Advertisements (3.2.5.2.1, RFC 4861 6.2) ------------------------

def test_unsolicited_ra_right_after_the_200(link, peer):
    """3.2.5.2.1: the server is the link's router; right after the 200 it
    sends each connection an unsolicited RA (to ff02::1, hop limit 255, from
    fe80::1, PIO PREFIX/64 L+A, MTU 1280, RIO per --route, router lifetime 0
    without --default-route), on that connection only."""
    w = peer(link)
    assert w.first_ra is not None, "no RA after the 200"
    pl.check_ra(w.first_ra, link, ALL_NODES)
    p = peer(link)
    assert p.first_ra is not None, "no RA after the 200"
    pl.check_ra(p.first_ra, link, ALL_NODES)
    nothing(w)      # the newcomer's RA went to the newcomer alone


@pytest.mark.parametrize("src", ["link_local", "unspecified"])
def test_rs_answered_on_that_connection_only(link, peer, src):
    """3.2.5.2.2 (RS is the multicast the server answers in both modes),
    RFC 4861 6.2.6: an RS from a link-local address gets an RA to that
    address, one from :: an RA to ff02::1, on the soliciting connection
    only; the RS is never forwarded; nothing is counted as dropped."""
    w = peer(link)
    p = peer(link)
    c = pl.Counters(link, p, w)
    p.send(pl.rs(p.ll if src == "link_local" else "::"))
    ra = one(p, "the RA")
    pl.check_ra(ra, link, p.ll if src == "link_local" else ALL_NODES)
    nothing(w)
    c.assert_none()


def test_ra_default_route_and_dns(start_server, peer):
    """3.2.5.2.1, RFC 4861 4.2, RFC 8106: with --default-route the RA's
    router lifetime is 1800, and each --dns server is in an RDNSS option;
    both in the unsolicited RA and in the answer to an RS."""
    s = start_server("--default-route", "--dns", INSIDE_DNS[0],
                     "--dns", INSIDE_DNS[1])
    p = peer(s)
    pl.check_ra(p.first_ra, s, ALL_NODES, lifetime=1800, dns=INSIDE_DNS)
    p.send(pl.rs(p.ll))
    pl.check_ra(one(p, "the RA"), s, p.ll, lifetime=1800, dns=INSIDE_DNS)
    _still_running([s])


# ---- Neighbor Solicitations for the router (RFC 4861 7.2.4) ------------------

NS_CASES = {
    # name: (source, destination, target) of the NS
    "unicast_ll": ("ll", "fe80::1", "fe80::1"),
    "multicast_ll": ("ll", "sn", "fe80::1"),
    "unicast_global": ("gua", "router", "router"),
    "dad_global": ("::", "sn", "router"),
}


@pytest.mark.parametrize("case", sorted(NS_CASES))
def test_ns_for_router_answered(link, peer, case):
    """3.2.5.2.2, RFC 4861 7.2.4: unicast and multicast NS for the router's
    addresses (fe80::1, PREFIX::1) are answered by the router on that
    connection with an NA flagged R,S,O (from ::: S clear, to ff02::1), no
    TLLAO; the NS goes to no other client and nothing is dropped. In mode
    None a DAD probe of the router's address is not answered (3.2.5.2.1)."""
    w = peer(link)
    p = peer(link)
    router = pl.router_global(link)
    src, dst, target = NS_CASES[case]
    target = router if target == "router" else target
    if src == "gua":
        assert p.bind(p.gua)
    src = {"ll": p.ll, "gua": p.gua}.get(src, src)
    dst = {"router": router, "sn": pl.solicited_node(target)}.get(dst, dst)
    c = pl.Counters(link, p, w)
    p.send(pl.ns(src, dst, target))
    if src == "::" and link.mode == "none":
        # 3.2.5.2.1: no multicast from the server but RAs in mode None; a
        # DAD probe has no unicast source to answer (docs/link-rules.md).
        nothing(p, w)
        c.assert_delta(p, "multicast")
        return
    got = one(p, "the NA")
    if src == "::":
        pl.check_na(got, target, ALL_NODES, target, R=1, S=0, O=1)
    else:
        pl.check_na(got, target, src, target, R=1, S=1, O=1)
    nothing(w)
    c.assert_none()


# ---- malformed ICMPv6 (RFC 4861 6.1.1, 7.1.1; issue 3 "Bad input") ----------

def _malformed(case, p, w):
    """The malformed packet for case, sent by peer p (w: a watcher)."""
    r = ROUTER_LL
    good_ns = pl.ns_body(r)
    return {
        "ns_bad_checksum": pl.icmp6_raw(p.ll, r, good_ns, checksum=False),
        "echo_bad_checksum": pl.icmp6_raw(
            p.gua, w.gua, bytes([128, 0, 0, 0, 0, 1, 0, 1]) + b"x" * 8,
            hlim=64, checksum=False),
        "icmp_too_short": pl.icmp6_raw(p.ll, r, bytes([128, 0, 0, 0])),
        "ns_truncated": pl.icmp6_raw(p.ll, r, good_ns[:20]),
        "ns_option_length_0": pl.icmp6_raw(
            p.ll, r, pl.ns_body(r, bytes([1, 0, 0, 0, 0, 0, 0, 0]))),
        "ns_option_overruns": pl.icmp6_raw(
            p.ll, r, pl.ns_body(r, bytes([1, 2, 0, 0, 0, 0, 0, 0]))),
        "ns_code_1": pl.icmp6_raw(p.ll, r, pl.ns_body(r, code=1)),
        "ns_hop_limit_64": pl.icmp6_raw(p.ll, r, good_ns, hlim=64),
        "rs_hop_limit_64": pl.to_bytes(pl.rs(p.ll, hlim=64)),
        "dad_ns_to_all_nodes": pl.icmp6_raw("::", ALL_NODES,
                                            pl.ns_body(p.gua)),
    }[case]


MALFORMED = ["ns_bad_checksum", "echo_bad_checksum", "icmp_too_short",
             "ns_truncated", "ns_option_length_0", "ns_option_overruns",
             "ns_code_1", "ns_hop_limit_64", "rs_hop_limit_64",
             "dad_ns_to_all_nodes"]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_icmpv6_dropped_and_counted(cert_server, peer, case):
    """Issue 3 "Bad input", RFC 4861 6.1.1/7.1.1: ICMPv6 with a bad
    checksum, too short, with an option of length 0 or overrunning the
    message, a code other than 0, an ND hop limit other than 255, or a DAD
    NS not sent to a solicited-node group, is dropped and counted as
    "malformed": never answered, never forwarded, and the connection stays
    up (the same peer's next packet is handled)."""
    w = peer(cert_server)
    p = peer(cert_server)
    assert p.bind(p.gua) and w.bind(w.gua)
    c = pl.Counters(cert_server, p, w)
    p.send(_malformed(case, p, w))
    nothing(p, w)           # p.settle() also proves the connection is up
    c.assert_delta(p, "malformed")
    assert not p.closed()
    p.send(pl.rs(p.ll))     # a valid packet after it is still answered
    assert pl.is_ra(one(p, "the RA"))


def test_non_ipv6_stream_closes_only_that_connection(cert_server, peer):
    """3.2.5.2: data that is not IPv6 in the stream is discarded and the
    server terminates that session (the stream lost its boundaries); the
    other clients stay linked up."""
    w = peer(cert_server)
    p = peer(cert_server)
    st0 = cert_server.state()
    p.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 40)
    assert p.wait_closed(5), "the server kept the broken stream open"
    pl.wait_gone(cert_server, [p.local])
    st = cert_server.state()
    assert st["Counters"]["StreamErrors"] == \
        st0["Counters"]["StreamErrors"] + 1
    assert st["Clients"] == st0["Clients"] - 1
    nothing(w)
    assert w.record()["State"] == "LinkUp"


# ---- source addresses (3.2.5.2.2; both modes) -------------------------------

@pytest.mark.parametrize("where", ["global", "link_local"])
def test_source_of_another_client_dropped(link, peer, where):
    """3.2.5.2.2: the first connection to use a source address owns it; the
    same source from another connection is dropped ("source_of_another_
    client") and reaches no one, while the owner goes on using it."""
    w = peer(link)
    owner = peer(link)
    spoofer = peer(link)
    assert w.bind(w.gua)
    if where == "global":
        addr = owner.gua
        assert owner.bind(addr)
        allowed = pl.echo(addr, w.gua, data=b"from the owner")
        forbidden = pl.echo(addr, w.gua, data=b"from the spoofer")
    else:
        addr = owner.ll
        forbidden = pl.echo(addr, ROUTER_LL, ident=0x4444)
    c = pl.Counters(link, spoofer, owner, w)
    spoofer.send(forbidden)
    nothing(spoofer, owner, w)      # no echo reply either, to anyone
    c.assert_delta(spoofer, "source_of_another_client")
    assert addr in owner.record()["Addresses"]
    assert addr not in spoofer.record()["Addresses"]
    if where == "global":
        owner.send(allowed)
        got = one(w, "the owner's packet")
        assert pl.raw(got) == pl.raw(allowed)
    else:
        assert owner.bind(addr), "the owner lost its link-local"


def test_source_outside_link_dropped(link, peer):
    """3.2.5.2.2: a source neither link-local nor in the link's prefix
    (2001:db8:bad::1) is dropped ("source_outside_link") and reaches no one;
    the same packet from the peer's address in the prefix is delivered.
    `iphttps clients` prints the drop in the client's row."""
    w = peer(link)
    p = peer(link)
    assert w.bind(w.gua)
    c = pl.Counters(link, p, w)
    p.send(pl.echo("2001:db8:bad::1", w.gua))
    nothing(p, w)
    c.assert_delta(p, "source_outside_link")
    assert "2001:db8:bad::1" not in p.record()["Addresses"]
    out = link.topo.run("srv", [link.binary, "clients", "--run-dir",
                                link.run_dir, link.tun]).stdout
    row = [l for l in out.splitlines() if p.local in l]
    assert len(row) == 1, out
    assert re.search(r"\bLinkUp\b.*\s1\s+.*%s" % re.escape(p.ll), row[0]), \
        "drop total 1 not shown for %s:\n%s" % (p.name, out)
    allowed = pl.echo(p.gua, w.gua)
    p.send(allowed)
    assert pl.raw(one(w, "the packet")) == pl.raw(allowed)


@pytest.mark.parametrize("src", ["fe80::1", "router_global"])
def test_router_address_as_source_dropped(cert_server, peer, src):
    """3.2.5.2.2: no client may send as the router: a source of fe80::1 or
    PREFIX::1 is dropped ("source_outside_link") and reaches no one."""
    w = peer(cert_server)
    p = peer(cert_server)
    assert w.bind(w.gua)
    src = pl.router_global(cert_server) if src == "router_global" else src
    c = pl.Counters(cert_server, p, w)
    p.send(pl.echo(src, w.gua))
    nothing(p, w)
    c.assert_delta(p, "source_outside_link")


@pytest.mark.parametrize("kind", ["echo", "na"])
def test_unspecified_source_only_for_dad_and_rs(cert_server, peer, kind):
    """3.2.5.2.2, RFC 4861 7.1.1 / 4.1: the source :: is allowed only for a
    DAD NS and an RS (see the RS and DAD tests); an echo request or an NA
    from :: is dropped ("source_outside_link") and reaches no one."""
    w = peer(cert_server)
    p = peer(cert_server)
    assert w.bind(w.gua)
    if kind == "echo":
        pkt = pl.echo("::", w.gua)
    else:
        pkt = pl.na("::", ALL_NODES, pl.in_prefix(cert_server, 0x77), O=1)
    c = pl.Counters(cert_server, p, w)
    p.send(pkt)
    nothing(p, w)
    c.assert_delta(p, "source_outside_link")


@pytest.mark.parametrize("limit", [None, 3])
def test_too_many_addresses_dropped(start_server, peer, limit):
    """3.2.5.2.2, issue 3: a client binds at most --max-addresses (default
    8) source addresses; a packet from one more address is dropped
    ("too_many_addresses") and reaches no one; the bound ones keep
    working."""
    s = start_server(*(["--max-addresses", str(limit)] if limit else []))
    limit = limit or 8
    w = peer(s)
    p = peer(s)             # its link-local is its first address
    assert w.bind(w.gua)
    addrs = [pl.in_prefix(s, 0xbb00 + i) for i in range(limit)]
    for a in addrs[:limit - 1]:
        assert p.bind(a), "address %s refused below the limit" % a
    rec = p.record()
    assert len(rec["Addresses"]) == limit, rec
    c = pl.Counters(s, p, w)
    p.send(pl.echo(addrs[-1], w.gua))
    nothing(p, w)
    c.assert_delta(p, "too_many_addresses")
    assert addrs[-1] not in p.record()["Addresses"]
    assert p.bind(addrs[0]) and p.bind(p.ll)
    _still_running([s])


def test_address_released_on_disconnect(link, peer):
    """3.2 (client table: an entry goes when its transport ends), 3.2.5.2.2:
    while its owner is connected an address is refused to others; once the
    owner's connection ends, another client may use it."""
    owner = peer(link)
    other = peer(link)
    addr = owner.gua
    assert owner.bind(addr)
    c = pl.Counters(link, other)
    assert not other.bind(addr, timeout=1.0)
    c.assert_delta(other, "source_of_another_client")
    owner.close()
    pl.wait_gone(link, [owner.local])
    assert other.bind(addr), "the address stayed bound to a closed client"
    assert addr in other.record()["Addresses"]


# ---- forwarding on the link -------------------------------------------------

def test_unicast_in_prefix_switched(link, peer):
    """3.2.5.2.2, 3.2 (the server forwards between clients): unicast between
    two clients' addresses in the prefix is switched by the server in both
    modes, unchanged, to the destination's connection only."""
    w = peer(link)
    x = peer(link)
    p = peer(link)
    assert w.bind(w.gua) and x.bind(x.gua)
    c = pl.Counters(link, p, w, x)
    c2c = link.state()["Counters"]["ClientToClient"]
    pkt = pl.echo(p.gua, w.gua, data=os.urandom(32))
    p.send(pkt)
    assert pl.raw(one(w, "the packet")) == pl.raw(pkt)
    nothing(p, x)
    c.assert_none()
    assert link.state()["Counters"]["ClientToClient"] == c2c + 1


def test_no_owner_dropped(link, peer):
    """3.2.5.2.2 (neighbor cache), issue 3: a packet from a client to an
    address of the prefix that no client holds is dropped ("no_owner") and
    reaches no one."""
    w = peer(link)
    p = peer(link)
    assert w.bind(w.gua)
    c = pl.Counters(link, p, w)
    p.send(pl.echo(p.gua, pl.in_prefix(link, 0xdead)))
    nothing(p, w)
    c.assert_delta(p, "no_owner")


def test_inside_reaches_bound_address_only(cert_server, peer):
    """3.2 (the router forwards from other networks to the link): the inside
    host's packet to a client's bound address reaches that client alone; to
    an address of the prefix nobody holds it is dropped ("no_owner", counted
    by the server, charged to no client)."""
    w = peer(cert_server)
    p = peer(cert_server)
    assert p.bind(p.gua)
    c = pl.Counters(cert_server, p, w)
    topo = cert_server.topo
    topo.run("ins", ["ping", "-6", "-n", "-c1", "-W0.3",
                     pl.in_prefix(cert_server, 0xdead)], check=False)
    c.assert_delta(None, "no_owner")
    nothing(p, w)
    topo.run("ins", ["ping", "-6", "-n", "-c1", "-W0.3", p.gua], check=False)
    got = [x for x in p.recv(2.0) if x.haslayer(pl.ICMPv6EchoRequest)]
    assert len(got) == 1 and pl.same_addr(got[0].src, netns.INSIDE_HOST), \
        pl.describe(got)
    nothing(w)


# ---- authentication mode None (3.2.5.2.2) -----------------------------------

def test_none_link_local_unicast_only_to_server(none_server, peer):
    """3.2.5.2.2 (mode None): link-local unicast from a client is dropped
    ("link_local_not_to_server") unless addressed to the server: a ping to
    another client's link-local reaches no one, one to fe80::1 is
    answered."""
    w = peer(none_server)
    p = peer(none_server)
    c = pl.Counters(none_server, p, w)
    p.send(pl.echo(p.ll, w.ll))
    nothing(p, w)
    c.assert_delta(p, "link_local_not_to_server")
    p.send(pl.echo(p.ll, ROUTER_LL, ident=0x7777))
    got = one(p, "the router's echo reply")
    assert pl.is_echo_reply(got, 0x7777) and \
        pl.same_addr(got.src, ROUTER_LL), got.summary()


def _multicast(case, p, w):
    return {
        "echo_all_nodes": pl.echo(p.ll, ALL_NODES),
        "mld_report": pl.mld_report(p.ll),
        "ns_solicited_node": pl.ns(p.ll, pl.solicited_node(w.gua), w.gua),
        "na_all_nodes": pl.na(p.gua, ALL_NODES, p.gua, O=1),
    }[case]


@pytest.mark.parametrize("case", ["echo_all_nodes", "mld_report",
                                  "ns_solicited_node", "na_all_nodes"])
def test_none_multicast_dropped(none_server, peer, case):
    """3.2.5.2.2 (mode None): multicast from a client is dropped
    ("multicast") except RS and DAD NS: an echo request to ff02::1, an MLD
    report, a (non-DAD) NS to a solicited-node group, an unsolicited NA to
    ff02::1 reach no one."""
    w = peer(none_server)
    p = peer(none_server)
    assert w.bind(w.gua) and p.bind(p.gua)
    c = pl.Counters(none_server, p, w)
    p.send(_multicast(case, p, w))
    nothing(p, w)
    c.assert_delta(p, "multicast")


@pytest.mark.parametrize("target", ["global", "link_local"])
def test_none_dad_for_bound_target_answered_by_server(none_server, peer,
                                                      target):
    """3.2.5.2.2 (mode None): a DAD NS for an address another client holds
    is answered by the server itself, on the same connection, with the
    multicast NA the owner would send (from the target to ff02::1, Override
    only: Router and Solicited clear, no TLLAO); it is forwarded to no one,
    not even the owner; nothing is counted as dropped."""
    w = peer(none_server)
    owner = peer(none_server)
    p = peer(none_server, bind_ll=True)
    addr = owner.gua if target == "global" else owner.ll
    assert owner.bind(addr)
    c = pl.Counters(none_server, p, owner, w)
    p.send(pl.dad_ns(addr))
    pl.check_na(one(p, "the NA"), addr, ALL_NODES, addr, R=0, S=0, O=1)
    nothing(owner, w)
    c.assert_none()


def test_none_dad_for_free_target_silent(none_server, peer):
    """3.2.5.2.2 (mode None): a DAD NS for an address nobody holds is
    neither answered (so DAD succeeds) nor forwarded; then the address can
    be used."""
    w = peer(none_server)
    p = peer(none_server)
    addr = pl.in_prefix(none_server, 0xfee)
    c = pl.Counters(none_server, p, w)
    p.send(pl.dad_ns(addr))
    nothing(p, w)
    c.assert_none()
    assert p.bind(addr)


def test_none_server_sends_no_multicast_but_ra(start_rules_server, peer,
                                               topo):
    """3.2.5.2.1 (mode None): the server sends clients no multicast except
    Router Advertisements, whatever other clients send and whatever its own
    kernel writes into the TUN (MLD reports when an address is added).
    Its own server: the test changes the server's TUN."""
    none_server = start_rules_server("--auth", "none")
    w = peer(none_server)
    p = peer(none_server)
    assert p.bind(p.gua)
    topo.run("srv", ["ip", "-6", "addr", "add",
                     pl.in_prefix(none_server, 0x99) + "/64", "dev",
                     none_server.tun, "nodad"])
    p.send(pl.echo(p.ll, ALL_NODES), pl.mld_report(p.ll),
           pl.dad_ns(pl.in_prefix(none_server, 0x55)),
           pl.na(p.gua, ALL_NODES, p.gua), pl.rs(p.ll))
    p.settle()
    got = w.recv(1.5, count=1 << 30) + w.settle()
    bad = [x for x in got if ipaddress.ip_address(x.dst).is_multicast
           and not pl.is_ra(x)]
    assert bad == [], "multicast to a client: %s" % pl.describe(bad)
    assert [x for x in got if pl.is_ra(x)] == [], \
        "another client's RS answered to %s" % w.name


# ---- authentication mode Certificates (3.2.5.2.2) ---------------------------

@pytest.mark.parametrize("case", ["echo_all_nodes", "mld_report",
                                  "ns_solicited_node"])
def test_cert_multicast_forwarded_to_all_others(cert_server, peer, case):
    """3.2.5.2.2 (mode Certificates): multicast from a client goes to every
    other linked-up client, unchanged, and not back to the sender; nothing
    is dropped."""
    w1 = peer(cert_server)
    w2 = peer(cert_server)
    p = peer(cert_server)
    assert w1.bind(w1.gua) and w2.bind(w2.gua) and p.bind(p.gua)
    c = pl.Counters(cert_server, p, w1, w2)
    pkt = _multicast(case, p, w1)
    p.send(pkt)
    nothing(p)
    for w in (w1, w2):
        assert pl.raw(one(w, "the multicast")) == pl.raw(pkt), w.name
    c.assert_none()


def test_cert_dad_for_bound_target_goes_to_owner_only(cert_server, peer):
    """3.2.5.2.2 (mode Certificates): a DAD NS whose target a client holds
    goes to that owner only (who defends it); the server does not answer it
    itself and no other client sees it."""
    w = peer(cert_server)
    owner = peer(cert_server)
    p = peer(cert_server)
    assert owner.bind(owner.gua)
    c = pl.Counters(cert_server, p, owner, w)
    pkt = pl.dad_ns(owner.gua)
    p.send(pkt)
    nothing(p)
    assert pl.raw(one(owner, "the DAD NS")) == pl.raw(pkt)
    nothing(w)
    c.assert_none()


def test_cert_owner_defence_reaches_dad_sender(cert_server, peer):
    """3.2.5.2.2 (mode Certificates): the owner's multicast NA for its own
    address goes to the client that sent a DAD NS for it within the last
    10 s (so that DAD fails there), and to no other client."""
    w = peer(cert_server)
    owner = peer(cert_server)
    p = peer(cert_server)
    assert owner.bind(owner.gua)
    p.send(pl.dad_ns(owner.gua))
    one(owner, "the DAD NS")
    c = pl.Counters(cert_server, p, owner, w)
    defence = pl.na(owner.gua, ALL_NODES, owner.gua, O=1)
    owner.send(defence)
    nothing(owner)
    assert pl.raw(one(p, "the owner's NA")) == pl.raw(defence)
    nothing(w)
    c.assert_none()


@pytest.mark.parametrize("dst", ["all_nodes", "owner"])
def test_na_for_another_clients_address_dropped(link, peer, dst):
    """Issue 8 (docs/link-rules.md; 3.2.5.2.2 only narrows where such an NA
    goes): an NA whose target another client holds is a claim on that
    client's address; it reaches no one, the owner included, in either
    mode, and is counted ("target_of_another_client")."""
    w = peer(link)
    owner = peer(link)
    p = peer(link)
    assert owner.bind(owner.gua) and p.bind(p.gua)
    c = pl.Counters(link, p, owner, w)
    pkt = pl.na(p.gua, ALL_NODES if dst == "all_nodes" else owner.gua,
                owner.gua, O=1)
    p.send(pkt)
    nothing(p, owner, w)
    c.assert_delta(p, "target_of_another_client")


def test_cert_dad_for_free_target_goes_to_all(cert_server, peer):
    """3.2.5.2.2 (mode Certificates): a DAD NS for an address nobody holds
    is multicast like any other: every other client gets it, and the server
    answers nothing (DAD succeeds)."""
    w1 = peer(cert_server)
    w2 = peer(cert_server)
    p = peer(cert_server)
    c = pl.Counters(cert_server, p, w1, w2)
    pkt = pl.dad_ns(pl.in_prefix(cert_server, 0xf4ee))
    p.send(pkt)
    nothing(p)
    for w in (w1, w2):
        assert pl.raw(one(w, "the DAD NS")) == pl.raw(pkt), w.name
    c.assert_none()


def test_cert_link_local_unicast_switched(cert_server, peer):
    """3.2.5.2.2 (mode Certificates): the link is an ordinary multicast link
    among authenticated clients; link-local unicast between two clients is
    switched, unchanged, to the destination only."""
    w = peer(cert_server)
    x = peer(cert_server)
    p = peer(cert_server)
    c = pl.Counters(cert_server, p, w, x)
    pkt = pl.echo(p.ll, w.ll, data=os.urandom(16))
    p.send(pkt)
    assert pl.raw(one(w, "the packet")) == pl.raw(pkt)
    nothing(p, x)
    c.assert_none()


def test_cert_real_client_answers_multicast_ping(server, peer,
                                                 start_client):
    """3.2.5.2.2 (mode Certificates), with a real Linux peer (the kernel
    behind `iphttps client`): a ping to ff02::1 reaches it and its kernel's
    unicast link-local reply comes back to the test peer."""
    real = start_client(server, "cli2")
    real.wait_linkup()
    p = peer(server)
    p.send(pl.echo(p.ll, ALL_NODES, ident=0x6161, seq=7))
    got = [x for x in p.recv(5.0) if pl.is_echo_reply(x, 0x6161)]
    assert len(got) == 1, pl.describe(got)
    assert ipaddress.ip_address(got[0].src).is_link_local and \
        pl.same_addr(got[0].dst, p.ll), got[0].summary()


# ---- plain HTTP transport ---------------------------------------------------

def test_http_transport_same_rules(start_rules_server, peer):
    """3.2.5.2.2 with --transport http (behind a TLS-terminating balancer):
    the link rules do not depend on the transport: switching between
    clients works and a source bound to another client is dropped."""
    s = start_rules_server("--transport", "http")
    w = peer(s, http=True)
    p = peer(s, http=True)
    assert w.bind(w.gua)
    pkt = pl.echo(p.gua, w.gua)
    p.send(pkt)
    assert pl.raw(one(w, "the packet")) == pl.raw(pkt)
    c = pl.Counters(s, p, w)
    p.send(pl.echo(w.gua, p.gua))
    nothing(p, w)
    c.assert_delta(p, "source_of_another_client")
