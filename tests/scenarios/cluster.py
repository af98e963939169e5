"""An iphttps cluster behind a real HAProxy, in network namespaces.

Standard library only; builds on netns.Topology (its namespace naming,
process handling, client hosts and teardown).  Documentation ranges only:

    cli1..N eth0 198.51.100.x ---+
                                 +-- br0 198.51.100.1  net (IPv4 "internet")
                                      eth1 203.0.113.1
                                        |
                          lb  eth0 203.0.113.2 (HAProxy, TLS on :443)
                              brb  192.0.2.1/24 (backend network)
                               /                \\
            n1 eth0 192.0.2.11 :80          n2 eth0 192.0.2.12 :80
               iphttps server                  iphttps server
               --transport http                --transport http
               prefix 2001:db8:100::/64        prefix 2001:db8:100:1::/64
               eth1 2001:db8:1::11             eth1 2001:db8:1::12
                               \\                /
                          ins  br0 2001:db8:1::2/64 (inside host, a bridge
                               with one port per node)
                               2001:db8:100::/64   via 2001:db8:1::11
                               2001:db8:100:1::/64 via 2001:db8:1::12

The node prefixes are the first two /64s of the cluster's /59
(2001:db8:100::/59), as Windows load-balanced clusters use one /64 per node.
HAProxy's configuration is docs/haproxy.cfg itself (render_haproxy_cfg).
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HAPROXY_CFG = os.path.join(REPO, "docs", "haproxy.cfg")
HAPROXY_CERT_DIR = "/etc/haproxy/iphttps/"   # in docs/haproxy.cfg

LB_V4 = netns.SERVER_V4                       # 203.0.113.2, iphttps.test
LB_BACKEND = "192.0.2.1"
INSIDE_HOST = netns.INSIDE_HOST               # 2001:db8:1::2
INSIDE_PREFIX = netns.INSIDE_PREFIX           # 2001:db8:1::/64
CLUSTER_PREFIX = ipaddress.ip_network("2001:db8:100::/59")
NODE_PORT = 80
URL = "https://%s/IPHTTPS" % netns.SERVER_NAME
FAST_RECONNECT = ["--reconnect-initial", "1", "--reconnect-max", "2"]

SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


class NodeSpec:
    """Addresses of cluster node i (1-based): backend IPv4, inside IPv6, /64."""

    def __init__(self, i):
        self.i = i
        self.host = "n%d" % i
        self.backend = "192.0.2.%d" % (10 + i)
        self.inside = "2001:db8:1::%d" % (10 + i)
        self.prefix = list(CLUSTER_PREFIX.subnets(new_prefix=64))[i - 1]


NODES = [NodeSpec(1), NodeSpec(2)]


def sanitizer_report(text):
    """The sanitizer report lines in text, or '' when there are none."""
    lines = [l for l in text.splitlines() if SANITIZER_RE.search(l)]
    return "\n".join(lines[:20])


def short_tempdir(tag):
    """A short directory under /tmp (control socket paths stay well below
    the 108-byte sun_path limit)."""
    return tempfile.mkdtemp(prefix="iph-lb-%s-" % tag, dir="/tmp")


# ---- certificates --------------------------------------------------------

PKI_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:{name}
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
"""


def _openssl(d, *args):
    """Run openssl with args in directory d; raise CommandError on failure."""
    p = subprocess.run(["openssl"] + list(args), cwd=d, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise netns.CommandError("root", ["openssl"] + list(args),
                                 p.returncode, p.stdout, p.stderr)


class Pki:
    """A CA, an RSA server certificate for `name` and client certificates,
    made with the openssl commands docs/deploy-haproxy.md shows.

    Files in d: ca.pem ca.key, server.pem (certificate then key, as HAProxy
    reads it), clients/NAME.pem and NAME.key.
    """

    def __init__(self, d, name=netns.SERVER_NAME):
        self.dir = d
        os.makedirs(os.path.join(d, "clients"), exist_ok=True)
        with open(os.path.join(d, "pki.cnf"), "w") as f:
            f.write(PKI_CNF.format(name=name))
        self.ca = os.path.join(d, "ca.pem")
        _openssl(d, "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
                 "-subj", "/CN=iphttps test CA", "-config", "pki.cnf",
                 "-extensions", "ca_ext")
        _openssl(d, "req", "-new", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=" + name, "-config", "pki.cnf")
        _openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                 "-extfile", "pki.cnf", "-extensions", "server_ext",
                 "-out", "server.crt")
        self.server_pem = os.path.join(d, "server.pem")
        with open(self.server_pem, "w") as out:
            for part in ("server.crt", "server.key"):
                with open(os.path.join(d, part)) as f:
                    out.write(f.read())
        os.chmod(self.server_pem, 0o600)

    def issue_client(self, cn):
        """A client certificate CN=cn (EC P-256); returns (cert, key)."""
        c = os.path.join(self.dir, "clients")
        _openssl(c, "req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", cn + ".key", "-out", cn + ".csr",
                 "-subj", "/CN=" + cn, "-config", "../pki.cnf")
        _openssl(c, "x509", "-req", "-in", cn + ".csr", "-CA", "../ca.pem",
                 "-CAkey", "../ca.key", "-CAcreateserial", "-days", "30",
                 "-extfile", "../pki.cnf", "-extensions", "client_ext",
                 "-out", cn + ".pem")
        return os.path.join(c, cn + ".pem"), os.path.join(c, cn + ".key")


# ---- HAProxy configuration -------------------------------------------------

def render_haproxy_cfg(cert_dir, template=HAPROXY_CFG):
    """docs/haproxy.cfg with /etc/haproxy/iphttps/ replaced by cert_dir.

    Checks that the template still names the addresses this topology uses
    (balancer 203.0.113.2:443, nodes 192.0.2.11:80 and 192.0.2.12:80) and
    the two files, so that the documented file and the tested one cannot
    drift apart silently. Returns the text.
    """
    with open(template) as f:
        text = f.read()
    needed = ["bind %s:443 " % LB_V4,
              HAPROXY_CERT_DIR + "server.pem", HAPROXY_CERT_DIR + "ca.pem",
              "verify required"]
    needed += ["server node%d %s:%d check" % (n.i, n.backend, NODE_PORT)
               for n in NODES]
    missing = [s for s in needed if s not in text]
    if missing:
        raise AssertionError("docs/haproxy.cfg no longer holds %r" % missing)
    return text.replace(HAPROXY_CERT_DIR, cert_dir.rstrip("/") + "/")


# ---- topology ------------------------------------------------------------

class ClusterTopology(netns.Topology):
    """net, lb, n1, n2, ins as drawn above; client hosts with add_client()
    (they resolve iphttps.test to the balancer, 203.0.113.2)."""

    def build(self):
        """Create the namespaces and links (no client host yet)."""
        for h in ["net", "lb"] + [n.host for n in NODES] + ["ins"]:
            self._add_ns(h)
        # net: the IPv4 "internet"; client hosts hang off br0.
        self._bridge("net", "br0", "02:00:00:00:01:01")
        self.run("net", ["ip", "addr", "add", netns.NET_CLIENT_SIDE + "/24",
                         "dev", "br0"])
        self.run("net", ["ip", "link", "set", "br0", "up"])
        self.sysctl("net", "net.ipv4.ip_forward", 1)
        # net <-> lb (the balancer's public address)
        self._veth("net", "eth1", "lb", "eth0")
        self._addr_up("net", "eth1", netns.NET_SERVER_SIDE + "/24")
        self._addr_up("lb", "eth0", LB_V4 + "/24")
        self.run("lb", ["ip", "route", "add", "default",
                        "via", netns.NET_SERVER_SIDE])
        # lb: the backend network, a bridge with one port per node.
        self._bridge("lb", "brb", "02:00:00:00:01:02")
        self._addr_up("lb", "brb", LB_BACKEND + "/24")
        # ins: the inside segment, a bridge with one port per node.
        self._bridge("ins", "br0", "02:00:00:00:01:03")
        self._addr_up("ins", "br0", INSIDE_HOST + "/64")
        for n in NODES:
            self._veth("lb", "b%d" % n.i, n.host, "eth0")
            self.run("lb", ["ip", "link", "set", "b%d" % n.i, "master", "brb",
                            "up"])
            self._addr_up(n.host, "eth0", n.backend + "/24")
            self._veth("ins", "p%d" % n.i, n.host, "eth1")
            self.run("ins", ["ip", "link", "set", "p%d" % n.i, "master",
                             "br0", "up"])
            self._addr_up(n.host, "eth1", n.inside + "/64")
            # Return routing by prefix: each node's /64 via that node.
            self.run("ins", ["ip", "-6", "route", "add", str(n.prefix),
                             "via", n.inside, "dev", "br0"])

    def _bridge(self, host, dev, mac):
        """A bridge in host with a fixed MAC address.

        Without one, Linux gives a bridge the lowest MAC of its ports, so
        the bridge's address changes when a client host is added; the hosts
        already attached keep the old address in their ARP cache, and their
        frames to it are then dropped (addressed to a port, not to the
        bridge) until the entry expires, 15 to 45 s later."""
        self.run(host, ["ip", "link", "add", dev, "address", mac,
                        "type", "bridge"])

    def _addr_up(self, host, dev, cidr):
        """Add cidr to dev in host (no DAD for IPv6) and set dev up."""
        extra = ["nodad"] if ":" in cidr else []
        self.run(host, ["ip", "addr", "add", cidr, "dev", dev] + extra)
        self.run(host, ["ip", "link", "set", dev, "up"])

    def listening(self, host, port):
        """True when something in host listens on TCP port."""
        p = self.run(host, ["ss", "-Hltn", "sport = :%d" % port], check=False)
        return p.returncode == 0 and bool(p.stdout.strip())


# ---- processes -----------------------------------------------------------

class _Died(BaseException):
    """The watched process exited.  A BaseException, so that it is not
    retried by netns.wait_for (which retries Exception until its deadline)."""


def wait_alive(procs, predicate, timeout, what, interval=0.1):
    """netns.wait_for(predicate), but fail at once when a process of procs
    (one Proc or a list) exits.

    Returns predicate's value; raises AssertionError with the output of the
    processes when one exits or the timeout passes."""
    procs = procs if isinstance(procs, (list, tuple)) else [procs]

    def check():
        if not all(p.alive() for p in procs):
            raise _Died()
        return predicate()
    try:
        return netns.wait_for(check, timeout, interval, what)
    except TimeoutError as e:
        why = str(e)
    except _Died:
        why = "%s exited while waiting for %s" % (
            ", ".join(p.name for p in procs if not p.alive()), what)
    raise AssertionError("\n".join([why] + [p.describe() for p in procs]))


def _json(topo, host, argv):
    """Run argv in host and parse its stdout as JSON."""
    return json.loads(topo.run(host, argv, timeout=10).stdout)


class Node:
    """`iphttps server --transport http` on cluster node spec."""

    def __init__(self, topo, binary, spec, tag, extra=()):
        self.topo, self.binary, self.spec = topo, binary, spec
        self.base = short_tempdir(spec.host)
        self.run_dir = os.path.join(self.base, "run")
        os.makedirs(self.run_dir)
        self.tun = "%sn%d" % (tag, spec.i)
        self.args = [binary, "server", "--transport", "http",
                     "--listen", "%s:%d" % (spec.backend, NODE_PORT),
                     "--prefix", str(spec.prefix),
                     "--route", INSIDE_PREFIX,
                     "--tun", self.tun,
                     "--state-dir", os.path.join(self.base, "state"),
                     "--run-dir", self.run_dir] + list(extra)
        self.proc = topo.popen(spec.host, self.args, name="node%d" % spec.i)
        self.killed = False

    def wait_ready(self, timeout):
        """Wait until the node listens and answers on its control socket."""
        wait_alive(self.proc, lambda: (
            self.topo.listening(self.spec.host, NODE_PORT)
            and self.state().get("State") == "Listen"),
            timeout, "node%d ready" % self.spec.i)

    def state(self):
        """`iphttps state --json` of the node (dict)."""
        return _json(self.topo, self.spec.host,
                     [self.binary, "state", "--json", "--run-dir",
                      self.run_dir, self.tun])

    def clients(self):
        """`iphttps clients --json` of the node (list of dicts)."""
        return _json(self.topo, self.spec.host,
                     [self.binary, "clients", "--json", "--run-dir",
                      self.run_dir, self.tun])

    def addresses(self):
        """Every address bound to a connected client of this node (set)."""
        out = set()
        for c in self.clients():
            out.update(c.get("Addresses", []))
        return out

    def kill(self):
        """SIGKILL the node (no goodbye to anyone)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.popen.wait(10)
        self.killed = True

    def stop(self):
        """Stop the node, remove its directories; returns its sanitizer
        report ('' when clean). Safe to call twice."""
        self.proc.stop()
        shutil.rmtree(self.base, ignore_errors=True)
        return sanitizer_report(self.proc.stderr() + self.proc.stdout())


class HAProxy:
    """haproxy -f CONF -db in lb, CONF rendered from docs/haproxy.cfg."""

    def __init__(self, topo, cert_dir, workdir):
        self.topo = topo
        self.conf = os.path.join(workdir, "haproxy.cfg")
        with open(self.conf, "w") as f:
            f.write(render_haproxy_cfg(cert_dir))
        p = topo.run("lb", ["haproxy", "-c", "-f", self.conf], check=False)
        if p.returncode != 0:
            raise AssertionError("haproxy -c refuses %s:\n%s%s"
                                 % (self.conf, p.stdout, p.stderr))
        self.proc = topo.popen("lb", ["haproxy", "-f", self.conf, "-db"],
                               name="haproxy")

    def wait_ready(self, timeout):
        """Wait until HAProxy listens on 443."""
        wait_alive(self.proc, lambda: self.topo.listening("lb", 443),
                   timeout, "haproxy on :443")

    def log(self):
        """What HAProxy logged (stdout, one line per connection)."""
        return self.proc.stdout() + self.proc.stderr()


class Client:
    """`iphttps client https://iphttps.test/IPHTTPS` in a client host."""

    def __init__(self, topo, binary, host, tun, ca, cert=None, key=None,
                 extra=()):
        self.topo, self.binary, self.host, self.tun = topo, binary, host, tun
        self.run_dir = short_tempdir(host)
        args = [binary, "client", URL, "--ca", ca, "--tun", tun,
                "--run-dir", self.run_dir] + FAST_RECONNECT
        if cert:
            args += ["--cert", cert, "--key", key]
        self.args = args + list(extra)
        self.proc = topo.popen(host, self.args, name="client-" + host)

    def state(self):
        """`iphttps state --json` of this client (dict)."""
        return _json(self.topo, self.host,
                     [self.binary, "state", "--json", "--run-dir",
                      self.run_dir, self.tun])

    def global_addresses(self):
        """Global IPv6 addresses on the client's TUN (list of str)."""
        p = self.topo.run(self.host, ["ip", "-j", "-6", "addr", "show",
                                      "dev", self.tun, "scope", "global"])
        return [a["local"] for link in json.loads(p.stdout or "[]")
                for a in link.get("addr_info", []) if "local" in a]

    def address_in(self, net):
        """This client's TUN address inside net (ip_network), or None."""
        for a in self.global_addresses():
            if ipaddress.ip_address(a) in net:
                return a
        return None

    def wait(self, predicate, timeout, what, watch=()):
        """Wait until predicate(state dict) holds; returns that state.
        Fails at once when the client or a process in watch exits."""
        def check():
            st = self.state()
            return st if predicate(st) else None
        return wait_alive([self.proc] + list(watch), check, timeout,
                          "%s: %s" % (self.host, what), 0.2)

    def stop(self):
        """Stop the client, remove its run directory; returns its sanitizer
        report ('' when clean). Safe to call twice."""
        self.proc.stop()
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return sanitizer_report(self.proc.stderr() + self.proc.stdout())
