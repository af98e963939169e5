"""Plain HTTP transport behind a TLS-terminating HAProxy, two nodes with one
/64 each out of a /59 (issue 3, item 4).  Topology and helpers: cluster.py;
HAProxy runs docs/haproxy.cfg itself.

The cases share one cluster (built once for the module, about 5 s) and run
in file order; the failover case kills node1, so it comes last.
"""
import ipaddress
import os
import shutil
import tempfile
import time

import pytest

import cluster
import netns

N_CLIENTS = 4
START_TIMEOUT = 20      # node/HAProxy start (an ASan build is slower)
LINKUP_TIMEOUT = 20
FAILOVER_TIMEOUT = 20   # reconnect timer 1-2 s, HAProxy retry 1 s, checks 2 s


def _binary():
    path = os.environ.get("IPHTTPS_BIN") or os.path.join(cluster.REPO,
                                                           "iphttps")
    return path if os.path.isabs(path) else os.path.join(cluster.REPO, path)


class Cluster:
    """Everything the cases share: topology, PKI, nodes, HAProxy, clients."""

    def __init__(self, workdir):
        self.binary = _binary()
        self.tag = "iphl%d" % (os.getpid() % 100000)
        self.nodes = []
        self.clients = []       # the N_CLIENTS that every case uses
        self.started = []       # every client started (stopped by close)
        self.pki_dir = tempfile.mkdtemp(prefix="iph-lb-pki-", dir="/tmp")
        self.topo = cluster.ClusterTopology(os.path.join(workdir, "logs"))
        try:
            self._start(workdir)
        except BaseException:
            self.close()
            raise

    def _start(self, workdir):
        """Certificates, the two nodes, HAProxy, then the clients."""
        self.pki = cluster.Pki(self.pki_dir)
        for spec in cluster.NODES:
            self.nodes.append(cluster.Node(self.topo, self.binary, spec,
                                           self.tag))
        for n in self.nodes:
            n.wait_ready(START_TIMEOUT)
        self.haproxy = cluster.HAProxy(self.topo, self.pki_dir, workdir)
        self.haproxy.wait_ready(START_TIMEOUT)
        for i in range(1, N_CLIENTS + 1):
            self.clients.append(self.start_client("cli%d" % i, i))

    def start_client(self, host, i, cert=True, extra=()):
        """A client in a new client host; with a fresh certificate unless
        cert is False. Returns the cluster.Client (stopped by close())."""
        self.topo.add_client(host)
        ck = self.pki.issue_client(host) if cert else (None, None)
        c = cluster.Client(self.topo, self.binary, host,
                           "%sc%d" % (self.tag, i), self.pki.ca,
                           ck[0], ck[1], extra)
        self.started.append(c)
        return c

    def watch(self):
        """Processes that must stay up: HAProxy and the nodes not killed."""
        return [self.haproxy.proc] + [n.proc for n in self.nodes
                                      if not n.killed]

    def node_of(self, client):
        """The node whose /64 holds the client's address, or None."""
        for n in self.nodes:
            if client.address_in(n.spec.prefix):
                return n
        return None

    def close(self):
        """Stop everything; returns the sanitizer reports found."""
        reports = []
        try:
            for c in self.started:
                rep = c.stop()
                if rep:
                    reports.append("%s:\n%s" % (c.host, rep))
            for n in self.nodes:
                rep = n.stop()
                if rep:
                    reports.append("node%d:\n%s" % (n.spec.i, rep))
        finally:
            self.topo.teardown()
            shutil.rmtree(self.pki_dir, ignore_errors=True)
        return reports


def _linked(st):
    return st.get("State") == "LinkUp"


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    if not netns.is_root():
        pytest.skip("needs root (network namespaces)")
    # scripts/deps.sh --test installs it: missing is a failure, not a skip.
    assert shutil.which("haproxy"), "no haproxy: run scripts/deps.sh --test"

    binary = _binary()
    assert os.access(binary, os.X_OK), \
        "no executable iphttps at %s (build it, or set IPHTTPS_BIN)" % binary
    c = None
    try:
        c = Cluster(str(tmp_path_factory.mktemp("haproxy")))
        yield c
    finally:
        reports = c.close() if c else []
    assert not reports, "sanitizer reports:\n" + "\n".join(reports)


def _wait_all_up(cl):
    """Every client LinkUp with a global address; returns {client: addr}."""
    addrs = {}
    for c in cl.clients:
        c.wait(_linked, LINKUP_TIMEOUT, "LinkUp", cl.watch())
        addrs[c] = netns.wait_for(
            lambda: (c.global_addresses() or [None])[0], LINKUP_TIMEOUT, 0.2,
            "%s: a global address on its TUN" % c.host)
    return addrs


def test_a_clients_spread_across_both_nodes(cl):
    """Four clients through HAProxy: both nodes get some, and each client's
    SLAAC address comes from its own node's /64."""
    addrs = _wait_all_up(cl)
    total = 0
    for n in cl.nodes:
        st = n.state()
        assert st["Transport"] == "http", st
        assert st["Prefix"] == str(n.spec.prefix), st
        assert st["Clients"] >= 1, \
            "node%d has no client: HAProxy did not spread them (%s)" % (
                n.spec.i, st)
        total += st["Clients"]
    assert total == N_CLIENTS
    for c, a in addrs.items():
        owners = [n for n in cl.nodes
                  if ipaddress.ip_address(a) in n.spec.prefix]
        assert len(owners) == 1, "%s: %s is in no node's /64" % (c.host, a)
        st = c.state()
        assert st["LastErrorCode"] == "0x0", st
        # The balancer's TLS (docs/haproxy.cfg: TLS 1.2 only, the null
        # suites first, then ECDHE AES-GCM), not the node's: it has none.
        assert st["TLS"] == "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256", st
    for n in cl.nodes:
        for rec in n.clients():
            assert rec["State"] == "LinkUp", rec
            assert rec["TLS"] == "none (plain HTTP)", rec
            assert rec["Peer"].startswith(cluster.LB_BACKEND + ":"), rec


def test_b_inside_host_and_clients_reach_each_other(cl):
    """Every client reaches the inside host, and the inside host every
    client: its return routes go by prefix to the right node."""
    addrs = _wait_all_up(cl)
    for c, a in addrs.items():
        assert cl.topo.ping(c.host, cluster.INSIDE_HOST, count=2), \
            "%s (%s) cannot reach the inside host" % (c.host, a)
        assert cl.topo.ping("ins", a, count=2), \
            "the inside host cannot reach %s at %s" % (c.host, a)
        # The node bound the address to that client's connection when the
        # client first sent from it.
        node = cl.node_of(c)
        assert a in node.addresses(), \
            "%s: %s not bound on node%d (%s)" % (c.host, a, node.spec.i,
                                                 node.clients())


def test_c_client_without_certificate_refused_by_haproxy(cl):
    """HAProxy's verify required: a client without certificate never gets
    through (no node sees it) and says why in the Windows code."""
    before = sum(n.state()["Clients"] for n in cl.nodes)
    c = cl.start_client("nocert", 9, cert=False)
    st = c.wait(lambda s: s.get("Failures", 0) >= 2, LINKUP_TIMEOUT,
                "two failed attempts", cl.watch())
    assert st["State"] != "LinkUp", st
    # HAProxy (TLS 1.2 here) sent a CertificateRequest, got an empty
    # Certificate and ended with handshake_failure: the client had no
    # certificate to offer, which Windows reports as 0x90320.
    assert st["LastErrorCode"] == "0x90320", st
    assert "LinkUp" not in c.proc.stderr(), c.proc.describe()
    print("client without certificate: LastErrorCode %s (%s)"
          % (st["LastErrorCode"], st.get("LastError")))
    assert sum(n.state()["Clients"] for n in cl.nodes) == before
    assert "SSL handshake failure" in cl.haproxy.log(), cl.haproxy.log()
    assert not c.stop(), "sanitizer report from the client without certificate"


def test_c2_certificate_from_another_ca_refused_by_haproxy(cl):
    """A certificate HAProxy's ca-file does not vouch for: refused too, with
    the other code (the client sent a certificate and got unknown_ca)."""
    other = cluster.Pki(tempfile.mkdtemp(prefix="iph-lb-pki2-", dir="/tmp"))
    try:
        cert, key = other.issue_client("stranger")
        cl.topo.add_client("stranger")
        c = cluster.Client(cl.topo, cl.binary, "stranger", "%sc7" % cl.tag,
                           cl.pki.ca, cert, key)
        cl.started.append(c)
        st = c.wait(lambda s: s.get("Failures", 0) >= 2, LINKUP_TIMEOUT,
                    "two failed attempts", cl.watch())
        assert st["State"] != "LinkUp", st
        assert st["LastErrorCode"] == "0x80090326", st
        assert "SSL client certificate not trusted" in cl.haproxy.log(), \
            cl.haproxy.log()
        print("client with a certificate from another CA: LastErrorCode %s "
              "(%s)" % (st["LastErrorCode"], st.get("LastError")))
        assert not c.stop(), "sanitizer report from the client"
    finally:
        shutil.rmtree(other.dir, ignore_errors=True)


def test_d_null_encryption_at_the_balancer(cl):
    """docs/haproxy.cfg's cipher line: a client that offers the null suites
    (as Windows 8/10/11 DirectAccess clients do) gets one, and still works."""
    c = cl.start_client("nullc", 8, extra=["--null-encryption", "on"])
    st = c.wait(_linked, LINKUP_TIMEOUT, "LinkUp with null encryption",
                cl.watch())
    assert st["TLS"] == "TLSv1.2 NULL-SHA256", st
    assert cl.topo.ping(c.host, cluster.INSIDE_HOST, count=2)
    assert not c.stop(), "sanitizer report from the null client"
    # Its node noticed the end of the connection: back to the four clients.
    netns.wait_for(lambda: sum(n.state()["Clients"] for n in cl.nodes)
                   == N_CLIENTS, 10, 0.2, "the null client's connection gone")


def test_e_node_killed_clients_fail_over_to_the_other(cl):
    """SIGKILL node1: its clients come back through HAProxy on node2 with an
    address from node2's /64 and reach the inside host (and it them) again;
    node2's own clients do not notice."""
    _wait_all_up(cl)
    node1, node2 = cl.nodes
    moved = [c for c in cl.clients if cl.node_of(c) is node1]
    stayed = [c for c in cl.clients if c not in moved]
    assert moved, "no client on node1"
    losses = {c: c.state()["LinkLosses"] for c in cl.clients}
    t0 = time.monotonic()
    node1.kill()
    for c in moved:
        c.wait(lambda s: _linked(s) and s["LinkLosses"] > losses[c],
               FAILOVER_TIMEOUT, "LinkUp again after node1 died", cl.watch())
        new = netns.wait_for(lambda: c.address_in(node2.spec.prefix),
                             FAILOVER_TIMEOUT, 0.2,
                             "%s: an address from node2's %s"
                             % (c.host, node2.spec.prefix))
        print("%s moved to node2 (%s) %.1f s after node1 was killed"
              % (c.host, new, time.monotonic() - t0))
        assert cl.topo.ping(c.host, cluster.INSIDE_HOST, count=2), \
            "%s cannot reach the inside host after failover (addresses %s)" \
            % (c.host, c.global_addresses())
        assert cl.topo.ping("ins", new, count=2), \
            "the inside host cannot reach %s at %s" % (c.host, new)
        assert new in node2.addresses(), node2.clients()
    for c in stayed:
        st = c.state()
        assert _linked(st) and st["LinkLosses"] == losses[c], \
            "%s on node2 was disturbed: %s" % (c.host, st)
        assert cl.topo.ping(c.host, cluster.INSIDE_HOST)
    assert node2.state()["Clients"] == N_CLIENTS
