"""Per-client prefixes (issue 3 item 5): `--prefix-mode per-client
--prefix-pool P/48` gives every connection a /64 of its own, advertised on its
connection only; the pool is released on disconnect and a client that comes
back gets the same /64 while it is free."""
import ipaddress

import pytest

import netns

POOL = "2001:db8:200::/48"
ARGS = ("--prefix-mode", "per-client", "--prefix-pool", POOL)
FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


@pytest.fixture(params=[1, 3], ids=["1worker", "3workers"])
def start_server(request, start_server):
    """Once in one process, once with three workers (--workers 3): the /64s
    are claimed across workers, the pool's cursor and who had which /64
    shared (workers.h), so the clients below land on different workers."""
    if request.param == 1:
        return start_server
    return lambda *a, **kw: start_server("--workers", "3", *a, **kw)


def own_prefix(client):
    addr = ipaddress.ip_address(client.wait_address())
    return addr, ipaddress.ip_network("%s/64" % addr, strict=False)


def test_each_client_gets_its_own_64(topo, start_server, start_client):
    server = start_server(*ARGS)
    # The inside host routes the pool back to the server.
    topo.run("ins", ["ip", "-6", "route", "add", POOL, "via", netns.SERVER_INSIDE])
    c1 = start_client(server, "cli")
    issued = topo.run("srv", [server.binary, "issue-client", "--state-dir", server.state_dir, "second"]).stdout
    assert "second.pem" in issued
    c2 = start_client(server, "cli2", extra_args=("--cert", server.state_dir + "/clients/second.pem",
                                                   "--key", server.state_dir + "/clients/second.key"))
    c1.wait_linkup()
    c2.wait_linkup()
    a1, p1 = own_prefix(c1)
    a2, p2 = own_prefix(c2)
    pool = ipaddress.ip_network(POOL)
    assert p1 != p2, "two clients share %s" % p1
    assert p1.subnet_of(pool) and p2.subnet_of(pool)
    # Each client's kernel got only its own prefix: no address from the other's.
    assert not any(ipaddress.ip_address(a) in p2 for a in c1.global_addresses())
    assert not any(ipaddress.ip_address(a) in p1 for a in c2.global_addresses())
    st = server.state()
    assert st["PrefixMode"] == "per-client" and st["PrefixPool"] == POOL and st["Clients"] == 2
    clients = {c["Prefix"] for c in json_clients(topo, server)}
    assert clients == {str(p1), str(p2)}
    assert topo.ping("cli", netns.INSIDE_HOST) and topo.ping("cli2", netns.INSIDE_HOST)
    assert topo.ping("ins", str(a1)) and topo.ping("ins", str(a2))
    # Client to client, across their /64s, switched by the server.
    assert topo.ping("cli", str(a2))


def json_clients(topo, server):
    import json
    p = topo.run("srv", [server.binary, "clients", "--json", "--run-dir", server.run_dir, server.tun])
    return json.loads(p.stdout)


def test_spoofing_another_clients_prefix_is_dropped(topo, start_server, start_client):
    """A client cannot send from outside its own /64 (here: the next /64 of the pool)."""
    server = start_server(*ARGS)
    topo.run("ins", ["ip", "-6", "route", "add", POOL, "via", netns.SERVER_INSIDE])
    c1 = start_client(server, "cli")
    c1.wait_linkup()
    _, p1 = own_prefix(c1)
    foreign = str(p1.network_address + (1 << 64) + 0x99)  # the next /64 of the pool
    topo.run("cli", ["ip", "-6", "addr", "add", foreign + "/128", "dev", "iphttps0", "nodad"])
    before = json_clients(topo, server)[0]["Drops"]["source_outside_link"]
    p = topo.run("cli", ["ping", "-6", "-c", "2", "-W", "1", "-I", foreign, netns.INSIDE_HOST], check=False)
    assert p.returncode != 0, "a ping from another client's /64 got through"
    drops = json_clients(topo, server)[0]["Drops"]
    assert drops["source_outside_link"] == before + 2


def test_reconnecting_client_gets_the_same_64_back(topo, start_server, start_client):
    server = start_server(*ARGS)
    c1 = start_client(server, "cli", extra_args=FAST)
    c1.wait_linkup()
    _, p1 = own_prefix(c1)
    # Drop the connection: disable, then enable.
    for cmd in ("disable", "enable"):
        topo.run("cli", [c1.binary, cmd, "--run-dir", c1.run_dir, c1.tun])
    c1.wait_linkup()
    clients = json_clients(topo, server)
    assert len(clients) == 1 and clients[0]["Prefix"] == str(p1)
