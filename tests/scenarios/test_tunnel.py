"""The tunnel end to end (issue 2): real server and client processes in
network namespaces, the Linux kernel's own IPv6 stack at both ends, real TLS.

  cli --(IPv4 "internet")-- srv --(inside IPv6)-- ins
"""
import ipaddress
import json
import os
import time

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
BULK = os.path.join(HERE, "bulk.py")
ROGUE = os.path.join(HERE, "rogue_peer.py")
PY = "/usr/bin/python3"
FAST_RECONNECT = ("--reconnect-initial", "1", "--reconnect-max", "2")


def client_global(client):
    addr = client.wait_address()
    return addr


def test_ping_both_ways(topo, server, client):
    """cli reaches the inside host through the tunnel, and ins the client."""
    assert topo.ping("cli", netns.INSIDE_HOST, count=3), \
        "no answer from the inside host through the tunnel"
    addr = client_global(client)
    assert topo.ping("ins", addr, count=3), \
        "the inside host cannot reach the client's tunnel address %s" % addr
    st = server.state()
    assert st["Clients"] == 1
    assert st["Counters"]["ToTun"] >= 3 and st["Counters"]["FromTun"] >= 3


def test_client_address_from_advertised_prefix(topo, server, client):
    """The client's kernel configured an address from the RA's prefix (SLAAC)
    and a route to the inside prefix from the RA's Route Information."""
    prefix = ipaddress.ip_network(server.state()["Prefix"])
    addr = ipaddress.ip_address(client_global(client))
    assert addr in prefix, "%s is not in the advertised %s" % (addr, prefix)
    routes = topo.run("cli", ["ip", "-6", "route", "show", "dev", "iphttps0"]).stdout
    assert "2001:db8:1::/64 via fe80::1" in routes, routes
    mtu = topo.run("cli", ["cat", "/proc/sys/net/ipv6/conf/iphttps0/mtu"]).stdout.strip()
    assert mtu == "1280"
    st = client.state()
    assert st["State"] == "LinkUp"
    assert st["InterfaceStatus"] == "IPHTTPS interface active"
    assert st["LastErrorCode"] == "0x0"
    assert str(addr) in " ".join(st["Addresses"])


def _transfer(topo, sender_host, receiver_host, receiver_addr, port, mb, reverse=False):
    """mb MiB from sender to receiver over TCP; returns (sent, received)."""
    mode_l, mode_c = ("serve", "fetch") if reverse else ("recv", "send")
    lst = topo.popen(receiver_host, [PY, BULK, mode_l, "--port", str(port), "--mb", str(mb),
                                     "--timeout", "180"], name="bulk-%s-%d" % (receiver_host, port))
    netns.wait_for(lambda: "listening" in lst.stdout(), 10, 0.1, "bulk listener")
    p = topo.run(sender_host, [PY, BULK, mode_c, "--to", receiver_addr, "--port", str(port),
                               "--mb", str(mb), "--timeout", "180"], timeout=200)
    netns.wait_for(lambda: not lst.alive(), 30, 0.1, "bulk listener to finish")
    here = json.loads(p.stdout.strip().splitlines()[-1])
    there = json.loads(lst.stdout().strip().splitlines()[-1])
    return here, there


def test_100mb_tcp_both_directions_sha256(topo, server, client):
    """100 MiB each way through the tunnel arrive whole (SHA-256 at both ends)."""
    addr = client_global(client)
    sent, got = _transfer(topo, "cli", "ins", netns.INSIDE_HOST, 5001, 100)
    assert sent["bytes"] == got["bytes"] == 100 * 1024 * 1024
    assert sent["sha256"] == got["sha256"]
    # inside host -> client
    lst = topo.popen("cli", [PY, BULK, "recv", "--port", "5002", "--timeout", "180"], name="bulk-cli-recv")
    netns.wait_for(lambda: "listening" in lst.stdout(), 10, 0.1, "bulk listener")
    p = topo.run("ins", [PY, BULK, "send", "--to", addr, "--port", "5002", "--mb", "100",
                         "--seed", "7", "--timeout", "180"], timeout=200)
    netns.wait_for(lambda: not lst.alive(), 30, 0.1, "bulk receiver to finish")
    sent = json.loads(p.stdout.strip().splitlines()[-1])
    got = json.loads(lst.stdout().strip().splitlines()[-1])
    assert sent["bytes"] == got["bytes"] == 100 * 1024 * 1024
    assert sent["sha256"] == got["sha256"]
    st = client.state()
    assert st["LinkLosses"] == 0 and st["State"] == "LinkUp"


def test_server_restart_client_comes_back(topo, start_server, start_client):
    """The server restarts on its kept state (same CA, same prefix); the client
    notices, reconnects by itself and traffic flows again."""
    server = start_server()
    client = start_client(server, extra_args=FAST_RECONNECT)
    client.wait_linkup()
    assert topo.ping("cli", netns.INSIDE_HOST, count=2)
    prefix = server.state()["Prefix"]
    rc = server.proc.stop()
    assert rc == 0, "server did not exit cleanly on SIGTERM:\n" + server.proc.describe()
    netns.wait_for(lambda: client.state()["State"] != "LinkUp", 10, 0.1, "client to notice")
    st = client.state()
    assert st["LinkLosses"] == 1
    assert st["LastErrorCode"] != "0x0"
    # Same state directory: the CA and prefix are reused, not regenerated.
    server.proc = topo.popen("srv", server.args, name="server-restarted")
    server.client_line = server._wait_connect_line()
    assert server.state()["Prefix"] == prefix
    client.wait_linkup(timeout=20)
    assert netns.wait_for(lambda: topo.ping("cli", netns.INSIDE_HOST), 15, 0.5,
                          "ping through the tunnel after the restart")


def test_non_ipv6_peer_is_cut_off_others_unharmed(topo, server, client):
    """A peer that sends non-IPv6 bytes loses its own session only: another
    client's transfer running at the same time completes intact."""
    topo.add_client("cli2")
    lst = topo.popen("ins", [PY, BULK, "recv", "--port", "5003", "--timeout", "180"], name="bulk-ins")
    netns.wait_for(lambda: "listening" in lst.stdout(), 10, 0.1, "bulk listener")
    sender = topo.popen("cli", [PY, BULK, "send", "--to", netns.INSIDE_HOST, "--port", "5003",
                                "--mb", "60", "--timeout", "180"], name="bulk-cli")
    time.sleep(0.5)
    rogue = topo.run("cli2", [PY, ROGUE, "--connect", "203.0.113.2:443", "--ca", server.ca,
                              "--cert", server.cert, "--key", server.key,
                              "--timeout", "10"], timeout=30)
    r = json.loads(rogue.stdout)
    assert r["status"] == "HTTP/1.1 200 OK"
    assert r["closed"], "the server kept a peer that sent non-IPv6 bytes: %r" % r
    assert r["closed_after"] < 5
    netns.wait_for(lambda: not sender.alive() and not lst.alive(), 120, 0.2, "transfer to end")
    sent = json.loads(sender.stdout().strip().splitlines()[-1])
    got = json.loads(lst.stdout().strip().splitlines()[-1])
    assert sent["sha256"] == got["sha256"] and got["bytes"] == 60 * 1024 * 1024
    st = server.state()
    assert st["Counters"]["StreamErrors"] == 1
    assert st["Clients"] == 1
    cst = client.state()
    assert cst["State"] == "LinkUp" and cst["LinkLosses"] == 0
    log = server.proc.stderr()
    assert "stream error: not IPv6 (first byte 0x47)" in log, log[-2000:]
    assert "198.51.100." in log  # the log names the peer's address
