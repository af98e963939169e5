"""TUN offloads (net/tunio.c): on the way into the tunnel the kernel's TCP
super-packets are cut into real packets of the link's size (net/gso.c); on
the way out of it consecutive segments of one TCP flow are joined into
super-packets again (net/gro.c), on the server's TUN and on the client's.
Data arrives whole both ways, no packet on the wire is larger than the link
MTU, and a segment with a wrong checksum is never joined (the kernel past
the TUN still sees it wrong and drops it)."""
import json
import os

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
BULK = os.path.join(HERE, "bulk.py")
SEGMENTS = os.path.join(HERE, "tcp_segments.py")
PY = "/usr/bin/python3"


def transfer(topo, src, dst_host, dst_addr, port, mb, seed):
    lst = topo.popen(dst_host, [PY, BULK, "recv", "--port", str(port), "--timeout", "120"],
                     name="bulk-%s-%d" % (dst_host, port))
    netns.wait_for(lambda: "listening" in lst.stdout(), 10, 0.1, "bulk listener")
    p = topo.run(src, [PY, BULK, "send", "--to", dst_addr, "--port", str(port), "--mb", str(mb),
                       "--seed", str(seed), "--timeout", "120"], timeout=150)
    netns.wait_for(lambda: not lst.alive(), 30, 0.1, "the receiver to finish")
    return json.loads(p.stdout.strip().splitlines()[-1]), json.loads(lst.stdout().strip().splitlines()[-1])


def tcp_csum_errors(topo, host):
    """The TCP InCsumErrors counter of host's namespace (/proc/net/snmp)."""
    lines = [l.split() for l in topo.run(host, ["cat", "/proc/net/snmp"]).stdout.splitlines()
             if l.startswith("Tcp:")]
    return int(lines[1][lines[0].index("InCsumErrors")])


def test_offload_both_ways(topo, start_server, start_client):
    # The offload is on by default.  --max-packet 1280: a packet larger
    # than the link MTU from the client would be a stream error and end
    # the connection.
    server = start_server("--max-packet", "1280")
    client = start_client(server)
    client.wait_linkup()
    addr = client.wait_address()
    for host, dst_host, dst, port, seed in (("cli", "ins", netns.INSIDE_HOST, 5101, 3),
                                            ("ins", "cli", addr, 5102, 4)):
        sent, got = transfer(topo, host, dst_host, dst, port, 40, seed)
        assert sent["bytes"] == got["bytes"] == 40 * 1024 * 1024
        assert sent["sha256"] == got["sha256"]
    st, sst = client.state(), server.state()
    assert st["LinkLosses"] == 0 and st["Drops"] == 0, st
    assert sst["Counters"]["StreamErrors"] == 0
    assert sst["Drops"]["malformed"] == 0, sst["Drops"]
    ct, stun = st["Tun"], sst["Tun"]
    assert ct["Offload"] == "on" and stun["Offload"] == "on", (ct, stun)
    # Reading: the client's kernel handed over super-packets, cut here.
    assert ct["SuperPacketsIn"] > 0 and ct["ReadPackets"] > ct["Reads"], ct
    # Writing: both TUNs took super-packets (server: cli -> ins; client:
    # ins -> cli), each standing for several packets.
    for t in (ct, stun):
        assert t["SuperPacketsOut"] > 0 and t["WritePackets"] > t["Writes"], t
        assert t["WriteErrors"] == 0 and t["RefusedType"] + t["RefusedHeader"] + t["RefusedLength"] == 0, t
    # The kernel counted fewer packets than went through the tunnel.
    tun_rx = int(topo.run("cli", ["cat", "/sys/class/net/iphttps0/statistics/rx_packets"]).stdout)
    assert tun_rx < ct["WritePackets"], (tun_rx, ct)

    # A client sends segments of one flow in sequence, every fourth with a
    # wrong checksum: the server joins only the good ones, so the inside
    # host's kernel still finds exactly those ten wrong and drops them.
    before, bad_before = tcp_csum_errors(topo, "ins"), stun["BadChecksums"]
    out = topo.run("cli", [PY, SEGMENTS, "--src", addr, "--dst", netns.INSIDE_HOST, "--dport", "9",
                           "--count", "40", "--payload", "1200", "--bad", "4"], timeout=30)
    assert json.loads(out.stdout)["bad"] == 10
    netns.wait_for(lambda: tcp_csum_errors(topo, "ins") - before >= 10, 10, 0.1,
                   "the inside host to count the wrong checksums")
    assert tcp_csum_errors(topo, "ins") - before == 10
    assert server.state()["Tun"]["BadChecksums"] - bad_before == 10


def test_no_offload(topo, start_server, start_client):
    """--no-offload: both TUNs packet by packet, data still whole."""
    server = start_server("--no-offload")
    client = start_client(server, extra_args=("--no-offload",))
    client.wait_linkup()
    addr = client.wait_address()
    for host, dst_host, dst, port, seed in (("cli", "ins", netns.INSIDE_HOST, 5103, 5),
                                            ("ins", "cli", addr, 5104, 6)):
        sent, got = transfer(topo, host, dst_host, dst, port, 8, seed)
        assert sent["sha256"] == got["sha256"] and got["bytes"] == 8 * 1024 * 1024
    for t in (client.state()["Tun"], server.state()["Tun"]):
        assert t["Offload"] == "off", t
        assert t["SuperPacketsIn"] == t["SuperPacketsOut"] == 0, t
        assert t["ReadPackets"] == t["Reads"] and t["WritePackets"] == t["Writes"], t
