"""A client that announces a new address the Windows way, by a DAD probe,
owns it from then on: the inside host reaches it before the client has sent
anything from it, and a second client probing for the same address is told
it is taken (the server binds on DAD as on first use)."""
import json

import netns
import peerlib as pl


def test_dad_claims_address_inside_reaches_it(topo, start_server):
    server = start_server("--auth", "none")  # the server answers DAD itself
    a = pl.Peer(topo, server)
    b = pl.Peer(topo, server)
    try:
        target = pl.in_prefix(server, 0xdad1)
        a.send(pl.dad_ns(target))
        a.settle()
        # The inside host pings the address; the client that probed gets it.
        topo.run("ins", ["ping", "-6", "-c", "1", "-W", "1", target], check=False)
        got = a.recv(timeout=3.0)
        assert any(pl.icmp_type(p) == 128 and pl.same_addr(p.dst, target) for p in got), pl.describe(got)
        # A second client probing for it hears that it is taken.
        b.send(pl.dad_ns(target))
        got = b.recv(timeout=3.0)
        assert any(pl.icmp_type(p) == 136 and pl.same_addr(p.src, target) for p in got), pl.describe(got)
        clients = json.loads(topo.run("srv", [server.binary, "clients", "--json", "--run-dir",
                                              server.run_dir, server.tun]).stdout)
        holders = [c for c in clients if target in c["Addresses"]]
        assert len(holders) == 1, clients
    finally:
        a.close()
        b.close()
