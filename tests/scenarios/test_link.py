"""End to end: the real client connects with the command the server
printed, gets an address by SLAAC and the inside route from the RA, and
IPv6 flows both ways through the tunnel (what `make demo` shows)."""

import ipaddress
import json

import netns


def _prefix(server):
    """The server's link prefix from its status (an ip_network)."""
    st = server.state()
    assert st.get("Role") == "server", st
    return ipaddress.ip_network(st["Prefix"])


def _same_url(a, b):
    """URLs equal up to an explicit default port (:443)."""
    return a is not None and a.replace(":443/", "/") == b.replace(":443/", "/")


def _routes(topo, host, dev):
    """IPv6 routes on dev in host, as `ip -j` dicts."""
    p = topo.run(host, ["ip", "-j", "-6", "route", "show", "dev", dev])
    return json.loads(p.stdout or "[]")


def test_client_link_up_and_status(server, client):
    st = client.wait_linkup()
    assert st.get("Role") == "client", st
    assert st.get("Interface") == "iphttps0", st
    assert _same_url(st.get("URL"), server.url), (st, server.url)
    assert st.get("InterfaceStatus") == "IPHTTPS interface active", st
    assert st.get("LastErrorCode") in ("0x0", "0x00000000"), st
    sst = server.state()
    assert sst.get("Interface") == server.tun, sst
    assert sst.get("Clients") == 1, sst


def test_client_gets_address_and_route(topo, server, client):
    prefix = _prefix(server)
    addr = ipaddress.ip_address(client.wait_address())
    assert addr in prefix, (addr, prefix)
    netns.wait_for(lambda: [r for r in _routes(topo, "cli", "iphttps0")
                            if r.get("dst") == netns.INSIDE_PREFIX],
                   10, 0.2, "the route to %s from the RA" %
                   netns.INSIDE_PREFIX)
    p = topo.run("cli", ["ip", "-j", "link", "show", "dev", "iphttps0"])
    assert json.loads(p.stdout)[0]["mtu"] == 1280
    st = client.state()
    assert str(addr) in " ".join(map(str, st.get("Addresses", []))), st
    assert netns.INSIDE_PREFIX in " ".join(map(str, st.get("Routes", []))), \
        st


def test_ping_through_the_tunnel_both_ways(topo, server, client):
    addr = client.wait_address()
    netns.wait_for(lambda: topo.ping("cli", netns.INSIDE_HOST), 15, 0.5,
                   "cli to reach %s through the tunnel" % netns.INSIDE_HOST)
    assert topo.ping("cli", netns.INSIDE_HOST, count=3)
    assert topo.ping("ins", addr, count=3), \
        "ins cannot reach the client's tunnel address %s" % addr


def test_two_clients_get_distinct_addresses(topo, server, client,
                                            start_client):
    c2 = start_client(server, "cli2")
    c2.wait_linkup()
    a1, a2 = client.wait_address(), c2.wait_address()
    assert a1 != a2
    prefix = _prefix(server)
    assert ipaddress.ip_address(a2) in prefix
    assert server.state().get("Clients") == 2
    assert topo.ping("cli2", netns.INSIDE_HOST, count=2)
    netns.wait_for(lambda: topo.ping("cli", a2), 10, 0.5,
                   "cli to reach cli2 through the server")


def test_inside_reaches_a_client_that_has_not_sent_yet(topo, server, client):
    # The Linux kernel does no DAD and sends nothing from a fresh SLAAC
    # address on a TUN (LINUX-TUN.md), so unless the client announces its
    # address the server cannot know which connection owns it. Traffic from
    # the inside must reach a client that has been silent so far.
    addr = client.wait_address()
    netns.wait_for(lambda: topo.ping("ins", addr), 10, 0.5,
                   "ins to reach the silent client at %s" % addr)
