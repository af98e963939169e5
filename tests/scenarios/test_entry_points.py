"""Several entry points (issue 4 item 6): the client tries them all at once
and keeps the first to answer, as Windows 10 chooses the nearest site; when
that one fails it moves to another that works without waiting out the
reconnect timer.  Two servers at different added delays: this kernel has no
netem (CONFIG_NET_SCH_NETEM is not set), so the far site is reached through
a relay that delays every byte (delay_relay.py)."""
import ipaddress
import os
import re
import shutil
import time

import netns

SITE2 = "site2.test"
SITE2_V4 = "192.0.2.2"
RELAY_V4 = "198.51.100.250"   # the far way to site 1, on the internet router
HERE = os.path.dirname(os.path.abspath(__file__))


def add_site2(topo, server, delay1_ms):
    """A second server host srv2 on the internet, 192.0.2.2, and a relay on
    the internet router that makes site 1 delay1_ms further away."""
    topo._add_ns("srv2")
    topo._veth("net", "eth2", "srv2", "eth0")
    topo.run("net", ["ip", "addr", "add", "192.0.2.1/24", "dev", "eth2"])
    topo.run("net", ["ip", "link", "set", "eth2", "up"])
    topo.run("srv2", ["ip", "addr", "add", SITE2_V4 + "/24", "dev", "eth0"])
    topo.run("srv2", ["ip", "link", "set", "eth0", "up"])
    topo.run("srv2", ["ip", "route", "add", "default", "via", "192.0.2.1"])
    topo.sysctl("srv2", "net.ipv6.conf.all.forwarding", 1)
    topo.run("net", ["ip", "addr", "add", RELAY_V4 + "/32", "dev", "br0"])
    relay = topo.popen("net", ["/usr/bin/python3", os.path.join(HERE, "delay_relay.py"),
                               "--listen", RELAY_V4 + ":443", "--to", netns.SERVER_V4 + ":443",
                               "--delay-ms", str(delay1_ms)], name="relay")
    netns.wait_for(lambda: "listening" in relay.stdout(), 10, 0.1, "the relay")
    hosts = os.path.join("/etc/netns", topo.ns("cli"), "hosts")
    with open(hosts) as f:
        text = re.sub(r"^%s(\s)" % re.escape(netns.SERVER_V4), RELAY_V4 + r"\1", f.read(), flags=re.M)
    assert RELAY_V4 in text, text
    with open(hosts, "w") as f:
        f.write(text + "%s %s\n" % (SITE2_V4, SITE2))
    # The same generated authority and certificate (it names both sites).
    base = server.base + "-site2"
    shutil.copytree(server.state_dir, base + "/state")
    os.makedirs(base + "/run")
    args = [server.binary, "server", "--state-dir", base + "/state", "--run-dir", base + "/run",
            "--hostname", netns.SERVER_NAME, "--hostname", SITE2, "--tun", server.tun + "b",
            "--prefix", "fd00:5172::/64"]
    proc = topo.popen("srv2", args, name="server-site2")
    netns.wait_for(lambda: "To connect a client:" in proc.stdout(), 30, 0.1, "site 2 to start")
    return proc, base


def test_nearest_first_then_failover(topo, start_server, start_client):
    server = start_server("--hostname", SITE2)  # its certificate names both sites
    site2, base = add_site2(topo, server, delay1_ms=80)
    try:
        client = start_client(server, extra_args=(
            "--reconnect-initial", "60", "--reconnect-max", "120",
            "https://%s/IPHTTPS" % SITE2))
        st = client.wait_linkup()
        assert SITE2 in st["EntryPointInUse"] and "first of 2" in st["EntryPointInUse"], st
        assert st["Peer"].startswith(SITE2_V4)
        eps = st["EntryPoints"]
        assert len(eps) == 2 and any("in use" in e and SITE2 in e for e in eps), eps
        # The nearer site goes away: the client takes the other at once,
        # long before the 60 s reconnect timer would have let it try again.
        t0 = time.monotonic()
        site2.stop()
        def moved():
            s = client.state()
            return s if s["State"] == "LinkUp" and s["Peer"].startswith(RELAY_V4) else None
        st = netns.wait_for(moved, 20, 0.1, "the client to move to the other site")
        assert time.monotonic() - t0 < 20
        assert netns.SERVER_NAME in st["EntryPointInUse"]
        assert st["LinkLosses"] == 1
        # The kernel configures an address from site 1's prefix; the one from
        # site 2's is removed (site 1 would drop it as a source).
        prefix1 = ipaddress.ip_network(server.state()["Prefix"])
        try:
            netns.wait_for(lambda: any(ipaddress.ip_address(a) in prefix1 for a in client.global_addresses()),
                           10, 0.1, "an address from site 1's prefix")
        except TimeoutError:
            raise AssertionError("no address in %s: %s\n%s\n%s\n%s" % (
                prefix1, client.global_addresses(), topo.run("cli", ["ip", "-6", "addr"]).stdout,
                topo.run("cli", ["ip", "-6", "route"]).stdout,
                topo.run("cli", ["grep", "-E", "RouterAdv|InErrors|InDiscards|InReceives|NoRoutes|InHdr|InAddr|InMcast|InTruncated", "/proc/net/snmp6"]).stdout
                + topo.run("cli", ["ip", "-s", "-s", "link", "show", "dev", "iphttps0"]).stdout
                + client.proc.stderr()[-1500:]))
        assert not any(a.startswith("fd00:5172:") for a in client.global_addresses())
        assert netns.wait_for(lambda: topo.ping("cli", netns.INSIDE_HOST), 10, 0.2,
                              "a ping through site 1")
    finally:
        site2.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_timer_applies_only_when_none_works(topo, start_server, start_client):
    """Both entry points down: the round fails, LastErrorCode says why, and
    the next attempt waits for the reconnect timer."""
    server = start_server()
    client = start_client(server, extra_args=("--reconnect-initial", "30",
                                               "https://%s:8443/IPHTTPS" % netns.SERVER_NAME))
    client.wait_linkup()  # the first URL works
    server.proc.stop()
    st = netns.wait_for(lambda: (lambda s: s if s["State"] == "LinkDown" and s["NextAttempt"] not in ("-", "in progress") else None)(client.state()),
                        20, 0.1, "the round to fail")
    assert st["LastErrorCode"] == "0x274d", st
    assert st["Failures"] >= 1
    assert len(st["EntryPoints"]) == 2 and all("0x274d" in e for e in st["EntryPoints"]), st["EntryPoints"]
