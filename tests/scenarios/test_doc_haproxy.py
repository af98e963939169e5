"""docs/deploy-haproxy.md, then docs/deploy-cluster.md, run as written
(tests/scenarios/docpage.py) on the machines of cluster.py: the balancer's
small PKI, node1 with its check from the balancer, HAProxy with
docs/haproxy.cfg (one node), laptop1; then node2, the two-node
configuration reloaded, the inside routes, three more laptops. The output
the pages show must come. Then, in file order, what their prose promises:
the node sees the balancer, the generated certificate carries the public
name, the clients spread over both nodes and reach the inside network both
ways, HAProxy refuses clients without a good certificate with the codes the
table gives, a client offering the null suites gets one, and when node1 is
killed its clients come back on node2 with node2's prefix, node1's address
and route gone.
"""
import ipaddress
import json
import os
import signal
import time

import pytest

import cluster
import docpage
import netns

LAPTOPS = {"cli2": "laptop2", "cli3": "laptop3", "cli4": "laptop4"}
MACHINES = {"balancer": "lb", "node1": "n1", "node2": "n2", "inside": "ins",
            "laptop1": "cli1", "laptop": LAPTOPS,
            # clients of this test only (refused, null suites)
            "nocert": "cli5", "stranger": "cli6", "nullc": "cli7"}
CLIENT_HOSTS = ["cli%d" % i for i in range(1, 8)]
WAIT = 45               # ASan build, loaded machine
N1, N2 = cluster.NODES


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    yield from docpage.pages_fixture(
        tmp_path_factory, "haproxy", MACHINES,
        ["docs/deploy-haproxy.md", "docs/deploy-cluster.md"],
        topology=cluster.ClusterTopology, clients=CLIENT_HOSTS)


def _json(m, cmd):
    rc, out = m.run(cmd, timeout=15)
    assert rc == 0, out
    return json.loads(out)


def _state(m):
    return _json(m, "iphttps state --json iphttps0")


def _clients(m):
    """`iphttps clients --json` of a node: its records (list of dicts)."""
    recs = _json(m, "iphttps clients --json iphttps0")
    return recs[0] if recs and isinstance(recs[0], list) else recs


def _addresses(m):
    rc, out = m.run("ip -j -6 addr show dev iphttps0 scope global")
    return [a["local"] for l in json.loads(out or "[]")
            for a in l["addr_info"] if "local" in a]


def _addr_in(m, net):
    return next((a for a in _addresses(m)
                 if ipaddress.ip_address(a) in net), None)


def _laptops(cl):
    return cl.emu.machines["laptop1"] + cl.emu.machines["laptop"]


def _node_of(cl, m):
    a = _addr_in(m, cluster.CLUSTER_PREFIX)
    for spec in cluster.NODES:
        if a and ipaddress.ip_address(a) in spec.prefix:
            return spec
    return None


def _wait(what, pred, timeout=WAIT):
    return netns.wait_for(pred, timeout, 0.3, what)


def _daemon(cl, host, text):
    """The Proc of the page block on host whose script holds text."""
    for r in cl.runs:
        for h, m, b, proc in r.daemons:
            if h == host and text in b.script:
                return proc
    raise AssertionError("no daemon %r on %s" % (text, host))


def test_a_node_sees_the_balancer_and_has_the_public_name(cl):
    n1 = cl.emu.one("node1")
    recs = _clients(n1)
    assert recs, "node1 has no client"
    for rec in recs:
        assert rec["Peer"].startswith(cluster.LB_BACKEND + ":"), rec
        assert rec["TLS"] == "none (plain HTTP)", rec
    # The generated-CA path of deploy-haproxy.md: --hostname at the first
    # start put the public name in the node's generated certificate.
    rc, out = n1.run("openssl x509 -in /var/lib/iphttps/server.pem -noout "
                     "-ext subjectAltName")
    assert "DNS:iphttps.test" in out, out


def test_a2_a_later_hostname_keeps_the_certificate_with_a_warning(cl):
    """deploy-haproxy.md: --hostname at a later start does not change the
    generated certificate; the node says so. (On a spare machine.)"""
    m = cl.emu.one("nocert")
    cmd = ("iphttps server --transport http --listen 127.0.0.1:8080 "
           "--prefix 2001:db8:200::/64")
    for extra, want in (("", "listening on 127.0.0.1:8080"),
                        (" --hostname iphttps.test",
                         "/var/lib/iphttps/server.pem does not cover the name "
                         "iphttps.test; it is kept")):
        p = m.start(cmd + extra, "spare-server")
        try:
            _wait("spare server: %s" % want, lambda: want in p.stdout()
                  or not p.alive())
            assert want in p.stdout(), p.describe()
        finally:
            p.stop()
        assert not docpage.netns_sanitizer(p.stdout()), p.stdout()
    rc, out = m.run("openssl x509 -in /var/lib/iphttps/server.pem -noout "
                    "-ext subjectAltName")
    assert "DNS:nocert" in out and "iphttps.test" not in out, out


def test_b_clients_spread_over_both_nodes(cl):
    for m in _laptops(cl):
        _wait("%s LinkUp" % m.name,
              lambda: _state(m).get("State") == "LinkUp")
        _wait("%s: an address from a node's /64" % m.name,
              lambda: _node_of(cl, m))
    counts = {}
    for spec in cluster.NODES:
        st = _state(cl.emu.one("node%d" % spec.i))
        assert st["Transport"] == "http" and st["Prefix"] == str(spec.prefix)
        counts[spec.i] = st["Clients"]
    print("clients per node after the reload: %s" % counts)
    assert all(c >= 1 for c in counts.values()), \
        "a node got no client: %s" % counts
    assert sum(counts.values()) == 4, counts
    for m in _laptops(cl):
        st = _state(m)
        assert st["LastErrorCode"] == "0x0", st
        assert st["TLS"] == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256", st


def test_c_inside_and_clients_reach_each_other(cl):
    ins = cl.emu.one("inside")
    for m in _laptops(cl):
        a = _addr_in(m, cluster.CLUSTER_PREFIX)
        spec = _node_of(cl, m)
        rc, out = m.run("ping -c 2 -i 0.2 -W 5 %s" % cluster.INSIDE_HOST)
        assert rc == 0, "%s cannot reach the inside host: %s" % (m.name, out)
        rc, out = ins.run("ping -c 2 -i 0.2 -W 5 %s" % a)
        assert rc == 0, "inside cannot reach %s at %s: %s" % (m.name, a, out)
        bound = set()
        for rec in _clients(cl.emu.one("node%d" % spec.i)):
            bound.update(rec.get("Addresses", []))
        assert a in bound, "%s not bound on node%d" % (a, spec.i)


def _give_ca(cl, m):
    m.write("ca.pem", cl.emu.one("balancer").read("ca.pem"))
    rc, out = m.run("echo '203.0.113.2 iphttps.test' >> /etc/hosts")
    assert rc == 0, out


def test_d_haproxy_refuses_clients_without_a_good_certificate(cl):
    """The table of deploy-haproxy.md: no certificate 0x90320, one from
    another CA 0x80090326; no node sees either."""
    before = sum(_state(cl.emu.one(n))["Clients"] for n in ("node1", "node2"))
    nocert, stranger = cl.emu.one("nocert"), cl.emu.one("stranger")
    for m in (nocert, stranger):
        _give_ca(cl, m)
    rc, out = stranger.run(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 30 -subj '/CN=other CA' -keyout oca.key -out oca.pem "
        "&& openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
        " -nodes -subj /CN=stranger -keyout s.key -out s.csr && openssl x509 "
        "-req -in s.csr -CA oca.pem -CAkey oca.key -CAcreateserial -days 30 "
        "-out s.pem")
    assert rc == 0, out
    url = "iphttps client https://iphttps.test/IPHTTPS --ca ca.pem"
    nocert.start(url, "nocert-client")
    stranger.start(url + " --cert s.pem --key s.key", "stranger-client")
    for m, code in ((nocert, "0x90320"), (stranger, "0x80090326")):
        st = _wait("%s: LastErrorCode %s" % (m.name, code),
                   lambda: (lambda s: s if s.get("LastErrorCode") == code
                            else None)(_state(m)))
        assert st["State"] != "LinkUp", st
        print("%s: %s %s" % (m.name, code, st["LastError"]))
    log = _daemon(cl, "balancer", "haproxy -W").stdout()
    assert "SSL handshake failure" in log, log
    assert "SSL client certificate not trusted" in log, log
    after = sum(_state(cl.emu.one(n))["Clients"] for n in ("node1", "node2"))
    assert after == before


def test_e_null_suites_at_the_balancer(cl):
    m = cl.emu.one("nullc")
    _give_ca(cl, m)
    bal = cl.emu.one("balancer")
    for f in ("laptop1.pem", "laptop1.key"):
        m.write(f, *bal.read_with_mode(f))
    proc = m.start("iphttps client https://iphttps.test/IPHTTPS "
                   "--null-encryption on --ca ca.pem --cert laptop1.pem "
                   "--key laptop1.key", "null-client")
    st = _wait("null client LinkUp",
               lambda: (lambda s: s if s.get("State") == "LinkUp" else None)(
                   _state(m)))
    assert st["TLS"] == "TLSv1.2 NULL-SHA256", st
    rc, out = m.run("ping -c 2 -i 0.2 -W 5 %s" % cluster.INSIDE_HOST)
    assert rc == 0, out
    proc.stop()
    assert not docpage.netns_sanitizer(proc.stdout()), proc.stdout()
    _wait("the null client's connection gone", lambda: sum(
        _state(cl.emu.one(n))["Clients"] for n in ("node1", "node2")) == 4)


def test_f_node1_killed_its_clients_move_to_node2(cl):
    """deploy-cluster.md, "What happens when a node fails", and the
    client's forgetting of the old prefix (address and route)."""
    laptops = _laptops(cl)
    moved = [m for m in laptops if _node_of(cl, m) is N1]
    stayed = [m for m in laptops if m not in moved]
    assert moved, "no client on node1"
    losses = {m.name: _state(m)["LinkLosses"] for m in laptops}
    node1 = _daemon(cl, "node1", "iphttps server")
    t0 = time.monotonic()
    os.killpg(node1.pid, signal.SIGKILL)
    node1.popen.wait(10)
    ins = cl.emu.one("inside")
    old = str(N1.prefix)
    for m in moved:
        _wait("%s LinkUp again" % m.name, lambda: (lambda s: s.get(
            "State") == "LinkUp" and s["LinkLosses"] > losses[m.name])(
                _state(m)), 90)
        new = _wait("%s: an address from node2's %s" % (m.name, N2.prefix),
                    lambda: _addr_in(m, N2.prefix), 90)
        print("%s moved to node2 (%s) %.1f s after node1 was killed"
              % (m.name, new, time.monotonic() - t0))
        # node1's /64: address and route gone, and not in the state.
        _wait("%s: node1's address gone" % m.name,
              lambda: not _addr_in(m, N1.prefix))
        rc, routes = m.run("ip -6 route show dev iphttps0")
        assert old not in routes, "%s keeps %s:\n%s" % (m.name, old, routes)
        st = _state(m)
        assert old not in json.dumps(st.get("Routes")), st
        assert str(N2.prefix) in json.dumps(st.get("Routes")), st
        rc, out = m.run("ping -c 2 -i 0.2 -W 5 %s" % cluster.INSIDE_HOST)
        assert rc == 0, "%s after failover: %s" % (m.name, out)
        rc, out = ins.run("ping -c 2 -i 0.2 -W 5 %s" % new)
        assert rc == 0, "inside cannot reach %s at %s" % (m.name, new)
    for m in stayed:
        st = _state(m)
        assert st["State"] == "LinkUp" and \
            st["LinkLosses"] == losses[m.name], \
            "%s on node2 was disturbed: %s" % (m.name, st)
    assert _state(cl.emu.one("node2"))["Clients"] == 4
    # HAProxy's log line of each connection that ended (deploy-haproxy.md):
    # the client's address, the frontend and the node.
    log = _daemon(cl, "balancer", "haproxy -W").stdout()
    assert "iphttps~ iphttps_nodes/node1 " in log, log
