"""--offload (TCP segmentation offload on both TUNs, net/gso.c): the
kernel's TCP super-packets are cut into real packets of the link's size on
their way into the tunnel; data arrives whole both ways and no packet on
the wire is larger than the link MTU."""
import json
import os

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
BULK = os.path.join(HERE, "bulk.py")
PY = "/usr/bin/python3"


def transfer(topo, src, dst_host, dst_addr, port, mb, seed):
    lst = topo.popen(dst_host, [PY, BULK, "recv", "--port", str(port), "--timeout", "120"],
                     name="bulk-%s-%d" % (dst_host, port))
    netns.wait_for(lambda: "listening" in lst.stdout(), 10, 0.1, "bulk listener")
    p = topo.run(src, [PY, BULK, "send", "--to", dst_addr, "--port", str(port), "--mb", str(mb),
                       "--seed", str(seed), "--timeout", "120"], timeout=150)
    netns.wait_for(lambda: not lst.alive(), 30, 0.1, "the receiver to finish")
    return json.loads(p.stdout.strip().splitlines()[-1]), json.loads(lst.stdout().strip().splitlines()[-1])


def test_offload_both_ways(topo, start_server, start_client):
    # --max-packet 1280: a packet larger than the link MTU from the client
    # would be a stream error and end the connection.
    server = start_server("--offload", "--max-packet", "1280")
    client = start_client(server, extra_args=("--offload",))
    client.wait_linkup()
    addr = client.wait_address()
    # The kernel hands the TUN reader super-packets only with the offload on.
    feats = topo.run("cli", ["cat", "/sys/class/net/iphttps0/features"], check=False).stdout
    for host, dst_host, dst, port, seed in (("cli", "ins", netns.INSIDE_HOST, 5101, 3),
                                            ("ins", "cli", addr, 5102, 4)):
        sent, got = transfer(topo, host, dst_host, dst, port, 40, seed)
        assert sent["bytes"] == got["bytes"] == 40 * 1024 * 1024
        assert sent["sha256"] == got["sha256"]
    st = client.state()
    assert st["LinkLosses"] == 0 and st["Drops"] == 0, st
    sst = server.state()
    assert sst["Counters"]["StreamErrors"] == 0
    assert sst["Drops"]["malformed"] == 0, sst["Drops"]
    # Fewer reads than packets: the client's TUN handed over super-packets.
    tun_tx = int(topo.run("cli", ["cat", "/sys/class/net/iphttps0/statistics/tx_packets"]).stdout)
    assert st["TxPackets"] > tun_tx, (st["TxPackets"], tun_tx, feats)
