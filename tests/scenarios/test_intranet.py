"""The IPv4 intranet reached by name (issue 9): NAT64 and DNS64 on the
server with the real programs, the advertised DNS applied on the client.

    cli (client, own /etc and /run) --IPv4-- net (public DNS 198.51.100.1)
                                              |
    srv: iphttps server --nat64 auto --dns64 10.20.0.2 --dns-search corp.example
         TAYGA + nftables masquerading, unbound (dns64) on LINK::53
         eth1 10.20.0.1/24
                                              |
    ins: IPv4-only web server 10.20.0.2:80, dnsmasq (corp.example, query log)

The public DNS answers web.corp.example with another address than the
intranet's, and the intranet's DNS answers www.outside.example too: which
one a name went to shows in the answer and in the query logs.

Everything a client changes in /etc happens in a mount namespace of its own
(mountns.py); this machine's /etc/resolv.conf is checked after every test
(conftest.py).
"""
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

import conftest
import mountns
import netns
from privs import assert_confined

SRV_V4 = "10.20.0.1"
WEB_V4 = "10.20.0.2"            # the IPv4-only web server and intranet DNS
PUBLIC_DNS = netns.NET_CLIENT_SIDE
PUBLIC_WEB = "198.51.100.99"    # the public DNS's answer for web.corp.example
OUTSIDE_V4 = "198.51.100.80"    # www.outside.example, publicly
WRONG_V4 = "10.20.0.66"         # www.outside.example, from the intranet's DNS
PAGE = "the intranet's web page\n"
OPENRESOLV = "/var/cache/iphttps-test/openresolv"
HERE = os.path.dirname(os.path.abspath(__file__))


def _binary():
    path = os.environ.get("IPHTTPS_BIN") or os.path.join(conftest.REPO, "iphttps")
    return path if os.path.isabs(path) else os.path.join(conftest.REPO, path)


class Lab:
    """The topology, the intranet's servers and one iphttps server."""

    def __init__(self, workdir):
        self.dir = str(workdir)
        self.binary = _binary()
        self.topo = t = netns.Topology(os.path.join(self.dir, "logs"))
        t.run("srv", ["ip", "addr", "add", SRV_V4 + "/24", "dev", "eth1"])
        t.run("ins", ["ip", "addr", "add", WEB_V4 + "/24", "dev", "eth0"])
        self.intranet_log = self._dnsmasq("ins", WEB_V4, "intranet", [
            "host-record=web.corp.example,%s" % WEB_V4,
            "host-record=www.outside.example,%s" % WRONG_V4,
            "local=/corp.example/"])
        self.public_log = self._dnsmasq("net", PUBLIC_DNS, "public", [
            "host-record=web.corp.example,%s" % PUBLIC_WEB,
            "host-record=www.outside.example,%s" % OUTSIDE_V4])
        self.www = os.path.join(self.dir, "www")
        os.makedirs(self.www)
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write(PAGE)
        self.web = t.popen("ins", ["/usr/bin/python3", "-m", "http.server", "80",
                                   "--bind", WEB_V4, "--directory", self.www], name="web")
        netns.wait_for(lambda: t.run("ins", ["curl", "-sf", "-m2", "http://%s/" % WEB_V4],
                                     check=False).returncode == 0, 20, 0.2, "the web server")
        # The intranet options in a configuration file, read again on SIGHUP
        # by the server's user (as /etc/iphttps would be: readable to it).
        self.conf_dir = tempfile.mkdtemp(prefix="iph-conf-", dir="/tmp")
        os.chmod(self.conf_dir, 0o755)
        self.conf = os.path.join(self.conf_dir, "server.conf")
        self.write_conf(WEB_V4, ["corp.example"])
        self.server = conftest.Server(t, self.binary, ["-c", self.conf])
        st = self.server.state()
        self.prefix = ipaddress.ip_network(st["NAT64Prefix"])
        self.dns64 = re.match(r"unbound on \[([0-9a-f:]+)\]:53: ", st["DNS64"]).group(1)

    def write_conf(self, upstream, domains):
        with open(self.conf, "w") as f:
            f.write("[server]\nnat64 = auto\ndns64 = %s\n" % upstream
                    + "".join("dns-search = %s\n" % d for d in domains))

    def _dnsmasq(self, host, addr, name, lines):
        log = os.path.join(self.dir, name + "-queries.log")
        conf = os.path.join(self.dir, name + "-dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("\n".join(["no-resolv", "no-hosts", "bind-interfaces", "listen-address=" + addr,
                               "log-queries", "log-facility=" + log, "pid-file=", "user=root"]
                              + lines) + "\n")
        self.topo.popen(host, ["dnsmasq", "-k", "-C", conf], name="dnsmasq-" + name)
        netns.wait_for(lambda: os.path.exists(log) and "started" in open(log).read(), 10, 0.1,
                       "dnsmasq " + name)
        return log

    def v6(self, v4):
        """The NAT64 address of an IPv4 address (RFC 6052, /96)."""
        return str(self.prefix[int(ipaddress.ip_address(v4))])

    def queries(self, log, name):
        with open(log) as f:
            return [l for l in f if "query[" in l and " %s " % name in l]

    def close(self):
        try:
            self.server.stop()
        finally:
            self.topo.teardown()
            shutil.rmtree(self.conf_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not netns.is_root():
        pytest.skip("scenario tests need root (they create network "
                    "namespaces); run them as root")
    lab = Lab(tmp_path_factory.mktemp("intranet"))
    yield lab
    lab.close()


class Cli:
    """An iphttps client of the lab's server on a host (its own mount
    namespace when machine is given)."""

    def __init__(self, lab, host="cli", machine=None, extra=(), env=None, name="client", tun=None):
        self.lab, self.host, self.machine = lab, host, machine
        if host not in lab.topo.clients:
            lab.topo.add_client(host)
        self.run_dir = tempfile.mkdtemp(prefix="iph-cli-", dir="/tmp")
        self.tun = tun or "iphc%d" % (len(lab.topo.procs) % 1000)
        argv = [lab.binary, "client", "--run-dir", self.run_dir, "--tun", self.tun,
                "--reconnect-initial", "1"] + list(extra) + lab.server.client_argv[2:]
        self.proc = (machine.popen(argv, name, env=env) if machine
                     else lab.topo.popen(host, argv, name=name, env=env))

    def run(self, cmd, check=True, timeout=30):
        return (self.machine.run(cmd, check=check, timeout=timeout) if self.machine
                else self.lab.topo.run(self.host, cmd, check=check, timeout=timeout))

    def state(self):
        return json.loads(self.run([self.lab.binary, "state", "--json", "--run-dir",
                                    self.run_dir, self.tun], timeout=10).stdout)

    def wait(self, pred, what, timeout=30):
        def check():
            if not self.proc.alive():
                raise AssertionError("client exited:\n" + self.proc.describe())
            st = self.state()
            return st if pred(st) else None
        try:
            return netns.wait_for(check, timeout, 0.2, what)
        except TimeoutError as e:
            raise AssertionError("%s\n%s" % (e, self.proc.describe()))

    def wait_dns(self, mode):
        return self.wait(lambda st: st["State"] == "LinkUp" and st["DNSMode"].startswith(mode),
                         "DNSMode %r" % mode)

    def stop(self, sig=signal.SIGTERM):
        if sig == signal.SIGTERM:
            self.proc.stop()
        else:
            os.kill(self.proc.pid, sig)
            self.proc.popen.wait(10)
        rep = conftest.sanitizer_report(self.proc.stderr() + self.proc.stdout())
        shutil.rmtree(self.run_dir, ignore_errors=True)
        assert not rep, "sanitizer report from the client:\n" + rep


@pytest.fixture
def machine(lab, tmp_path):
    """Factory: machine(host, etc=None) -> a mountns.Machine on host, closed
    after the test."""
    made = []

    def make(host, etc=None):
        if host not in lab.topo.clients:
            lab.topo.add_client(host)
        made.append(mountns.Machine(lab.topo, host, tmp_path / ("m%d" % len(made)), etc=etc))
        return made[-1]
    yield make
    for m in reversed(made):
        m.close()


def _fetch(cli, url="http://web.corp.example/"):
    """curl url from the client's host (by name): the page, retried while
    the link settles."""
    def get():
        p = cli.run(["curl", "-sS", "-m", "5", url], check=False, timeout=15)
        return p.stdout if p.returncode == 0 else None
    return netns.wait_for(get, 30, 0.5, "curl " + url)


# ---- the server -------------------------------------------------------------

def test_server_runs_translator_and_resolver(lab):
    """--nat64 auto takes a /96 of the server's ULA space (never
    64:ff9b::/96, RFC 6052 3.1), a pool out of 100.64.0.0/10; `state` shows
    TAYGA and unbound running, the upstreams and the search domains."""
    st = lab.server.state()
    assert lab.prefix.prefixlen == 96
    assert lab.prefix.subnet_of(ipaddress.ip_network("fc00::/7")), st["NAT64Prefix"]
    assert not lab.prefix.overlaps(ipaddress.ip_network("64:ff9b::/96"))
    assert ipaddress.ip_network(st["NAT64Pool4"]).subnet_of(ipaddress.ip_network("100.64.0.0/10"))
    assert st["NAT64Translator"].startswith("tayga: running (pid "), st["NAT64Translator"]
    assert re.match(r"unbound on \[[0-9a-f:]+::53\]:53: running \(pid \d+", st["DNS64"]), st["DNS64"]
    assert ipaddress.ip_address(lab.dns64) in ipaddress.ip_network(st["Prefix"])
    assert st["DNS64Upstreams"] == [WEB_V4]
    assert st["DNSSearch"] == ["corp.example"]
    assert st["NAT64Allow"] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


# ---- the client: resolv.conf, by name -------------------------------------

def test_fetch_by_name_through_resolv_conf(lab, machine):
    """No systemd-resolved, no resolvconf (this machine's resolvconf is
    systemd's, which needs resolved): the client rewrites /etc/resolv.conf,
    where split behaves as full and `state` says so; curl reaches the
    IPv4-only web server by name (DNS64 answer, TCP through NAT64, seen
    from the server's inside address: masqueraded); LinkDown and stopping
    the client put the original back byte for byte."""
    m = machine("cli")
    orig = m.read("/etc/resolv.conf")
    c = Cli(lab, machine=m)
    st = c.wait_dns("split; applied: full through /etc/resolv.conf")
    # The client is its user with CAP_NET_ADMIN and the filter; its helper
    # rewrote resolv.conf (before privilege separation it stayed uid 0).
    assert_confined(c.proc.pid, "client (resolv.conf)")
    assert st["DNSMode"] == ("split; applied: full through /etc/resolv.conf "
                             "(it cannot send only some names to the tunnel)")
    assert st["DNSServers"] == [lab.dns64]
    assert st["DNSDomains"] == ["corp.example"]
    assert st["NAT64Prefix"] == str(lab.prefix)
    assert "%s via fe80::1" % lab.prefix in st["Routes"]
    text = m.read("/etc/resolv.conf").decode()
    assert "nameserver %s\n" % lab.dns64 in text and "search corp.example\n" in text
    assert m.read("/etc/resolv.conf.iphttps-%s" % c.tun) == orig
    assert _fetch(c) == PAGE
    assert re.search(r"^%s - - .*\"GET / HTTP/1.1\" 200" % re.escape(SRV_V4), lab.web.stderr(), re.M), \
        lab.web.stderr()[-2000:]
    # LinkDown (disable) puts the original back at once; LinkUp again
    # applies the servers again.
    c.run([lab.binary, "disable", "--run-dir", c.run_dir, c.tun])
    netns.wait_for(lambda: m.read("/etc/resolv.conf") == orig, 10, 0.1, "resolv.conf back at LinkDown")
    assert m.read("/etc/resolv.conf.iphttps-%s" % c.tun) is None
    c.run([lab.binary, "enable", "--run-dir", c.run_dir, c.tun])
    c.wait_dns("split; applied: full through /etc/resolv.conf")
    assert "nameserver %s\n" % lab.dns64 in m.read("/etc/resolv.conf").decode()
    c.stop()
    assert m.read("/etc/resolv.conf") == orig
    assert m.read("/etc/resolv.conf.iphttps-%s" % c.tun) is None


def _helper_pid(cli):
    m = re.search(r"privileged helper: pid (\d+)", cli.proc.stderr())
    assert m, cli.proc.stderr()
    return int(m.group(1))


def _gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_resolv_conf_repaired_after_sigkill(lab, machine):
    """The client killed with SIGKILL: its privileged helper, which applied
    the DNS, puts the original resolv.conf back at once (here a symlink,
    restored as the symlink) and ends.  Both killed at once (the whole
    process group, as a crash of the unit would): the rewritten resolv.conf
    and the kept original (the marker) stay, and the next start puts the
    original back before anything else."""
    m = machine("cli")
    m.run(["sh", "-c", "printf 'nameserver 192.0.2.53\\n' > /run/resolv-test.conf && "
                       "ln -sf /run/resolv-test.conf /etc/resolv.conf"])
    assert m.lstat_kind("/etc/resolv.conf") == "link -> /run/resolv-test.conf"
    c = Cli(lab, machine=m)
    c.wait_dns("split; applied: full through /etc/resolv.conf")
    assert m.lstat_kind("/etc/resolv.conf") == "file"
    helper = _helper_pid(c)
    c.stop(signal.SIGKILL)
    netns.wait_for(lambda: m.lstat_kind("/etc/resolv.conf") == "link -> /run/resolv-test.conf", 20, 0.1,
                   "the helper's restore")
    assert m.read("/etc/resolv.conf.iphttps-%s" % c.tun) is None
    netns.wait_for(lambda: _gone(helper), 20, 0.1, "the helper's end")
    # Both at once.
    c = Cli(lab, machine=m, tun=c.tun, name="client-2")
    c.wait_dns("split; applied: full through /etc/resolv.conf")
    os.killpg(c.proc.pid, signal.SIGKILL)
    c.proc.popen.wait(10)
    netns.wait_for(lambda: _gone(_helper_pid(c)), 20, 0.1, "the helper killed")
    assert "nameserver %s" % lab.dns64 in m.read("/etc/resolv.conf").decode()
    assert m.lstat_kind("/etc/resolv.conf.iphttps-%s" % c.tun) == "link -> /run/resolv-test.conf"
    shutil.rmtree(c.run_dir, ignore_errors=True)
    # The next start (same TUN name): repaired at once, --dns off applies nothing.
    again = Cli(lab, machine=m, tun=c.tun, extra=("--dns", "off"), name="client-again")
    again.wait(lambda st: st["State"] == "LinkUp", "LinkUp")
    assert m.lstat_kind("/etc/resolv.conf") == "link -> /run/resolv-test.conf"
    assert m.read("/etc/resolv.conf") == b"nameserver 192.0.2.53\n"
    assert m.read("/etc/resolv.conf.iphttps-%s" % c.tun) is None
    assert "left from a run that did not end cleanly" in again.proc.stderr()
    assert again.state()["DNSMode"] == "off; nothing applied"
    again.stop()


# ---- DNS64 and NAT64: dig, UDP, ICMP, TCP -----------------------------------

@pytest.fixture(scope="module")
def plain(lab):
    """A client that applies nothing (--dns off), in cli2's own netns."""
    c = Cli(lab, host="cli2", extra=("--dns", "off"), name="client-plain")
    st = c.wait(lambda st: st["State"] == "LinkUp" and st["NAT64Prefix"], "LinkUp with PREF64")
    assert st["DNSMode"] == "off; nothing applied"
    assert st["DNSServers"] == [lab.dns64] and st["DNSDomains"] == ["corp.example"]
    yield c
    c.stop()


def test_dns64_synthesizes_in_the_prefix(lab, plain):
    """dig AAAA through the DNS64 resolver: an A-only name gets an AAAA
    in the NAT64 prefix (RFC 6147 5.1.7), its IPv4 in the last 32 bits."""
    p = plain.run(["dig", "+short", "+time=3", "+tries=2", "AAAA", "web.corp.example", "@" + lab.dns64])
    got = [ipaddress.ip_address(a) for a in p.stdout.split()]
    assert got == [ipaddress.ip_address(lab.v6(WEB_V4))], p.stdout
    assert got[0] in lab.prefix


def test_udp_icmp_tcp_through_nat64(lab, plain):
    """UDP (a DNS query to the intranet's IPv4 DNS server), ICMP (ping) and
    TCP (HTTP) to IPv4-embedded addresses, all translated."""
    p = plain.run(["dig", "+short", "+time=3", "+tries=2", "A", "web.corp.example",
                   "@" + lab.v6(WEB_V4)])
    assert p.stdout.split() == [WEB_V4], p
    assert any("from %s" % SRV_V4 in l for l in lab.queries(lab.intranet_log, "web.corp.example"))
    assert lab.topo.ping("cli2", lab.v6(WEB_V4), count=2)
    assert _fetch(plain, "http://[%s]/" % lab.v6(WEB_V4)) == PAGE


def _refused(lab, plain, v4, port=None):
    """A client cannot reach v4 through the NAT64 (ICMP and TCP)."""
    assert not lab.topo.ping("cli2", lab.v6(v4), count=1, timeout=2)
    if port:
        p = plain.run(["curl", "-sS", "-m", "3", "http://[%s]:%d/" % (lab.v6(v4), port)], check=False)
        assert p.returncode != 0, p


def _counter(lab, comment):
    """Packets counted by our nftables rule with comment."""
    table = "iphttps_" + lab.server.tun
    out = lab.topo.run("srv", ["nft", "list", "table", "inet", table]).stdout
    m = re.search(r"counter packets (\d+) bytes \d+ (?:drop|reject[^\"]*) comment \"%s\"" % re.escape(comment), out)
    assert m, out
    return int(m.group(1))


def test_nat64_never_reaches_the_server_itself(lab, plain):
    """A hostile client cannot use the NAT64 to reach the server host: not
    its inside address (a listener there stays unreached), not its public
    address, not loopback; nor a network outside the inside ranges (the
    internet router); each refusal counted by nftables."""
    lab.topo.popen("srv", ["/usr/bin/python3", "-m", "http.server", "8081", "--bind", "0.0.0.0",
                           "--directory", lab.www], name="srv-listener")
    netns.wait_for(lambda: lab.topo.run("srv", ["curl", "-sf", "-m2", "http://%s:8081/" % SRV_V4],
                                        check=False).returncode == 0, 20, 0.2, "listener on srv")
    before = _counter(lab, "NAT64: this host or the pool")
    _refused(lab, plain, SRV_V4, 8081)
    _refused(lab, plain, netns.SERVER_V4, 8081)
    _refused(lab, plain, "127.0.0.1", 8081)
    assert _counter(lab, "NAT64: this host or the pool") >= before + 6
    before = _counter(lab, "NAT64: outside the inside network")
    _refused(lab, plain, netns.NET_SERVER_SIDE)
    assert _counter(lab, "NAT64: outside the inside network") > before


def _ping_from(cli, src, dst):
    """Ping dst from cli with source src, an address the client does not
    own, put on its TUN for this one packet.  True when answered."""
    cli.run(["ip", "-6", "addr", "add", src + "/128", "dev", cli.tun, "nodad"])
    try:
        return cli.run(["ping", "-6", "-c", "1", "-W", "2", "-I", src, dst], check=False).returncode == 0
    finally:
        cli.run(["ip", "-6", "addr", "del", src + "/128", "dev", cli.tun], check=False)


def test_nat64_refuses_foreign_sources(lab, plain):
    """Only the link's own sources enter the NAT64: the server drops a
    client's packet from an IPv4-embedded or another client's source
    (link rules, counted per client), and nftables drops what comes to the
    prefix from anywhere else (here the inside IPv6 network)."""
    assert not _ping_from(plain, lab.v6("10.20.0.5"), lab.v6(WEB_V4))
    drops = lab.server.state()["Drops"]
    assert drops["source_outside_link"] >= 1, drops
    # Another client's address (bound to it by its first packet) as the source.
    other = Cli(lab, host="cli", extra=("--dns", "off"), name="client-other")
    other.wait(lambda st: st["State"] == "LinkUp", "LinkUp")
    victim = netns.wait_for(lambda: [a for a in other.run(["ip", "-6", "-o", "addr", "show", "dev", other.tun,
                                                            "scope", "global"]).stdout.split()
                                     if "/64" in a], 20, 0.2, "the other client's address")[0].split("/")[0]
    netns.wait_for(lambda: lab.topo.run("cli", ["ping", "-6", "-c1", "-W1", "-I", victim, lab.v6(WEB_V4)],
                                        check=False).returncode == 0, 20, 0.5, "the other client's address bound")
    before = lab.server.state()["Drops"]["source_of_another_client"]
    assert not _ping_from(plain, victim, lab.v6(WEB_V4))
    assert lab.server.state()["Drops"]["source_of_another_client"] > before
    other.stop()
    before = _counter(lab, "NAT64: source not of the link")
    assert not lab.topo.ping("ins", lab.v6(WEB_V4), count=1, timeout=2)
    assert _counter(lab, "NAT64: source not of the link") > before


# ---- split DNS with a real systemd-resolved --------------------------------

RESOLVED_CONF = "[Resolve]\nDNS=%s\nLLMNR=no\nMulticastDNS=no\nDNSSEC=no\n" % PUBLIC_DNS


@pytest.fixture
def resolved(lab, machine):
    """systemd-resolved with its own D-Bus system bus, in a mount namespace
    of its own on cli3 (private /etc and /run: this machine's resolver and
    bus are untouched); the host's DNS is the public one."""
    m = machine("cli3", etc={
        "resolv.conf": "nameserver 127.0.0.53\noptions timeout:2 attempts:2\n",
        "systemd/resolved.conf.d/iphttps-test.conf": RESOLVED_CONF})
    m.run(["mkdir", "-p", "/run/dbus", "/run/systemd/resolve"])
    m.run(["chown", "systemd-resolve:systemd-resolve", "/run/systemd/resolve"])
    m.popen(["dbus-daemon", "--system", "--nofork", "--nopidfile", "--nosyslog"], name="dbus")
    netns.wait_for(lambda: m.run(["test", "-S", "/run/dbus/system_bus_socket"], check=False)
                   .returncode == 0, 10, 0.1, "dbus-daemon")
    m.popen(["/lib/systemd/systemd-resolved"], name="resolved",
            env=dict(os.environ, SYSTEMD_LOG_TARGET="console"))
    netns.wait_for(lambda: m.run(["resolvectl", "status"], check=False).returncode == 0,
                   15, 0.2, "systemd-resolved on the bus")
    return m


def test_split_dns_through_resolved(lab, resolved):
    """With systemd-resolved the split is real (the NRPT of DirectAccess):
    the advertised domain is a routing domain of the TUN link, which is not
    a DNS default route; web.corp.example is asked through the tunnel
    (synthesized AAAA, fetched by name), www.outside.example is not: it gets
    the public answer and never shows in the intranet DNS's query log.  The
    link going down takes the servers away at once."""
    c = Cli(lab, host="cli3", machine=resolved)
    st = c.wait_dns("split; applied: split through systemd-resolved")
    assert_confined(c.proc.pid, "client (systemd-resolved)")
    assert st["DNSMode"] == "split; applied: split through systemd-resolved"
    link = resolved.run(["resolvectl", "status", c.tun]).stdout
    assert "DNS Servers: %s" % lab.dns64 in link, link
    assert "DNS Domain: ~corp.example" in link, link
    assert "-DefaultRoute" in link and "-LLMNR" in link and "-mDNS" in link, link
    p = resolved.run(["dig", "+short", "+time=3", "AAAA", "web.corp.example", "@127.0.0.53"])
    assert p.stdout.split() == [lab.v6(WEB_V4)], p
    assert _fetch(c) == PAGE
    p = resolved.run(["dig", "+short", "+time=3", "A", "www.outside.example", "@127.0.0.53"])
    assert p.stdout.split() == [OUTSIDE_V4], p
    assert lab.queries(lab.public_log, "www.outside.example")
    assert not lab.queries(lab.intranet_log, "www.outside.example")
    # LinkDown: resolved forgets the link's servers at once.
    c.run([lab.binary, "disable", "--run-dir", c.run_dir, c.tun])
    netns.wait_for(lambda: "DNS Servers" not in resolved.run(["resolvectl", "status", c.tun],
                                                             check=False).stdout,
                   10, 0.1, "the link's DNS servers gone from resolved")
    assert c.state()["DNSMode"] == "split; nothing applied (no DNS servers advertised)"
    c.stop()


def test_full_dns_through_resolved(lab, resolved):
    """--dns full: the TUN link is resolved's default route with "~."; an
    outside name now goes through the tunnel too (the intranet's answer,
    synthesized)."""
    c = Cli(lab, host="cli3", machine=resolved, extra=("--dns", "full"))
    st = c.wait_dns("full; applied: full through systemd-resolved")
    assert_confined(c.proc.pid, "client (systemd-resolved, full)")
    link = resolved.run(["resolvectl", "status", c.tun]).stdout
    assert "+DefaultRoute" in link and "~." in link, link
    resolved.run(["dig", "+short", "+time=3", "AAAA", "www.outside.example", "@127.0.0.53"])
    # (resolved asks its global server too, in parallel: which answer wins
    # is its business; the tunnel was asked)
    netns.wait_for(lambda: lab.queries(lab.intranet_log, "www.outside.example"), 10, 0.2,
                   "www.outside.example asked through the tunnel")
    c.stop()


# ---- resolvconf (Debian's openresolv, unpacked) ----------------------------

def test_resolvconf_openresolv(lab, machine):
    """Without resolved, a real resolvconf: Debian's openresolv package
    unpacked (it conflicts with systemd-resolved, so it is not installed;
    scripts/deps.sh unpacks it), found first in PATH; its libc subscriber
    writes /etc/resolv.conf.  The tunnel's server is exclusive (-x), so
    split behaves as full; stopping the client removes it."""
    if not os.access(os.path.join(OPENRESOLV, "sbin/resolvconf"), os.X_OK):
        pytest.fail("openresolv is not unpacked in %s: run scripts/deps.sh --test" % OPENRESOLV)
    m = machine("cli", etc={
        "resolv.conf": "nameserver 192.0.2.53\n",
        # openresolv reads this as shell: where its subscribers are
        "resolvconf.conf": "LIBEXECDIR=%s/lib/resolvconf\nresolv_conf=/etc/resolv.conf\n" % OPENRESOLV})
    env = dict(os.environ, PATH="%s/sbin:%s" % (OPENRESOLV, os.environ.get("PATH", "/usr/bin:/bin")))
    c = Cli(lab, machine=m, env=env)
    st = c.wait_dns("split; applied: full through resolvconf")
    assert_confined(c.proc.pid, "client (resolvconf)")
    assert st["DNSMode"] == ("split; applied: full through resolvconf "
                             "(it cannot send only some names to the tunnel)")
    text = m.read("/etc/resolv.conf").decode()
    assert "nameserver %s" % lab.dns64 in text and "192.0.2.53" not in text, text
    assert "search corp.example" in text, text
    assert "openresolv" in text or "resolvconf" in text, text
    c.stop()
    text = m.read("/etc/resolv.conf").decode()
    assert "nameserver 192.0.2.53" in text and lab.dns64 not in text, text + c.proc.stderr()


# ---- reload ------------------------------------------------------------------

def test_reload_changes_search_domains_only(lab, plain):
    """SIGHUP: new --dns-search domains go out in an RA to every client at
    once (the client's state follows); a changed --dns64 upstream needs a
    restart: kept, and said so."""
    lab.write_conf("10.20.0.9", ["corp.example", "eu.corp.example"])
    try:
        os.kill(lab.server.proc.pid, signal.SIGHUP)
        plain.wait(lambda st: st["DNSDomains"] == ["corp.example", "eu.corp.example"],
                   "the new domains at the client")
        st = lab.server.state()
        assert st["DNSSearch"] == ["corp.example", "eu.corp.example"]
        assert st["DNS64Upstreams"] == [WEB_V4]
        assert "reload: --nat64 and --dns64 changes need a restart; kept" in lab.server.proc.stderr()
    finally:
        lab.write_conf(WEB_V4, ["corp.example"])
        os.kill(lab.server.proc.pid, signal.SIGHUP)
    plain.wait(lambda st: st["DNSDomains"] == ["corp.example"], "the domains back at the client")


# ---- restarts ----------------------------------------------------------------

def _pid(described):
    return int(re.search(r"running \(pid (\d+)", described).group(1))


def test_translator_and_resolver_restarted(lab, plain):
    """TAYGA and unbound killed with SIGKILL: the server logs it, starts
    them again (`state` says restarted), and NAT64 and DNS64 work again."""
    st = lab.server.state()
    tayga, unbound = _pid(st["NAT64Translator"]), _pid(st["DNS64"])
    os.kill(tayga, signal.SIGKILL)
    os.kill(unbound, signal.SIGKILL)

    def back():
        s = lab.server.state()
        return s if ("1 restarts" in s["NAT64Translator"] and "1 restarts" in s["DNS64"]
                     and "running" in s["NAT64Translator"] and "running" in s["DNS64"]) else None
    st = netns.wait_for(back, 30, 0.2, "TAYGA and unbound running again")
    assert "last exit: killed by signal 9 (KILL)" in st["NAT64Translator"], st
    assert "last exit: killed by signal 9 (KILL)" in st["DNS64"], st
    assert _pid(st["NAT64Translator"]) != tayga and _pid(st["DNS64"]) != unbound
    err = lab.server.proc.stderr()
    assert "tayga: killed by signal 9 (KILL)" in err and "unbound: killed by signal 9 (KILL)" in err
    netns.wait_for(lambda: lab.topo.ping("cli2", lab.v6(WEB_V4)), 20, 0.5, "ping through NAT64 again")
    netns.wait_for(lambda: plain.run(["dig", "+short", "+time=2", "+tries=1", "AAAA", "web.corp.example",
                                      "@" + lab.dns64], check=False).stdout.split() == [lab.v6(WEB_V4)],
                   20, 0.5, "DNS64 answering again")


# ---- bad input ---------------------------------------------------------------

BAD = [
    (("--nat64", "fd00:1:2:3::/64"), "--nat64: 'fd00:1:2:3::/64' is not auto or an IPv6 PREFIX/96"),
    (("--nat64", "64:ff9b::/96"), "--nat64: 64:ff9b::/96 is the well-known prefix, which RFC 6052 forbids"),
    (("--nat64", "auto", "--nat64-pool4", "10.20.0.0/24"),
     "--nat64-pool4: 10.20.0.0/24 overlaps this host's route 10.20.0.0/24 on eth1 (the inside network)"),
    (("--nat64", "auto", "--nat64-pool4", "10.99.0.7/24"), "--nat64-pool4: '10.99.0.7/24' has host bits set"),
    (("--dns64", "dns.corp.example"), "--dns64: 'dns.corp.example' is not an IP address"),
    (("--dns-search", "corp.example"), "--dns-search: needs --dns64 or --dns"),
    (("--dns64", WEB_V4, "--dns-search", "bad domain"), "--dns-search: 'bad domain' is not a domain name"),
    (("--nat64-pool4", "100.64.0.0/24"), "--nat64-pool4: needs --nat64"),
]


def _server_fails(lab, args, path=None):
    """iphttps server with args in srv (PATH path when given): must exit 2
    before changing anything on the host.  Returns its stderr."""
    base = tempfile.mkdtemp(prefix="iph-bad-", dir="/tmp")
    try:
        argv = [lab.binary, "server", "--state-dir", base + "/state", "--run-dir", base,
                "--hostname", netns.SERVER_NAME, "--tun", "iphbad"] + list(args)
        if path:
            argv = ["env", "PATH=" + path] + argv
        before = lab.topo.run("srv", ["ip", "-o", "link"]).stdout
        p = lab.topo.run("srv", argv, check=False, timeout=60)
        assert p.returncode == 2, p
        assert lab.topo.run("srv", ["ip", "-o", "link"]).stdout == before
        assert "iphttps_iphbad" not in lab.topo.run("srv", ["nft", "list", "tables"]).stdout
        assert not os.path.exists(base + "/state"), "the state directory was made"
        return p.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_a_clear_error(lab, args, message):
    err = _server_fails(lab, args)
    assert message in err, err


def test_missing_programs_are_clear_errors(lab, tmp_path):
    """A PATH without tayga, then without unbound: exit 2, naming the
    option, the program and the Debian package."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for prog in ("nft", "tayga"):
        os.symlink(shutil.which(prog), bin_dir / prog)
    path = "%s:/usr/bin:/bin" % bin_dir
    err = _server_fails(lab, ("--dns64", WEB_V4), path=path)
    assert "--dns64: the program unbound is not installed (Debian package unbound)" in err, err
    os.unlink(bin_dir / "tayga")
    err = _server_fails(lab, ("--nat64", "auto"), path=path)
    assert "--nat64: the program tayga is not installed (Debian package tayga)" in err, err


def _jool_why():
    """Why Jool cannot run here, or None when it can (as the server decides)."""
    if shutil.which("jool") is None:
        return "the jool command is not installed (Debian package jool-tools)"
    if os.path.exists("/sys/module/jool"):
        return None
    p = subprocess.run(["modprobe", "-n", "-q", "jool"], capture_output=True)
    return None if p.returncode == 0 else "the jool kernel module is not loaded and cannot be loaded"


def test_jool_asked_where_it_cannot_run(lab):
    """--nat64-translator jool where Jool cannot run: a clear error naming
    why, before anything changes."""
    why = _jool_why()
    if why is None:
        pytest.skip("Jool can run here: test_nat64_through_jool covers it")
    err = _server_fails(lab, ("--nat64", "auto", "--nat64-translator", "jool"))
    assert "--nat64-translator: jool: " + why in err, err


def test_nat64_through_jool(lab, plain):
    """The same translation through Jool's kernel module where it loads."""
    why = _jool_why()
    if why is not None:
        pytest.skip("Jool cannot run on this machine: " + why +
                    " (this kernel loads no modules); TAYGA is tested instead")
    s = conftest.Server(lab.topo, lab.binary, ["--nat64", "auto", "--nat64-translator", "jool"])
    try:
        assert s.state()["NAT64Translator"].startswith("jool: kernel instance")
    finally:
        s.stop()


def test_dns64_in_per_client_mode(topo, start_server, start_client):
    """With a /64 per client, the resolver takes the pool's last /64 (kept
    from the clients): a client reaches it through the pool's route and it
    answers (its own local name: no upstream needed for that)."""
    s = start_server("--prefix-mode", "per-client", "--prefix-pool", "fd00:9:9::/48",
                     "--dns64", "192.0.2.53")
    st = s.state()
    dns64 = re.match(r"unbound on \[([0-9a-f:]+)\]:53: running", st["DNS64"]).group(1)
    assert dns64 == "fd00:9:9:ffff::53", st["DNS64"]
    c = start_client(s, extra_args=("--dns", "off"))
    c.wait_linkup()
    cst = netns.wait_for(lambda: (lambda x: x if x["DNSServers"] else None)(c.state()), 20, 0.2,
                         "the advertised resolver")
    assert cst["DNSServers"] == [dns64]
    mine = [ipaddress.ip_network(a, strict=False) for a in cst["Addresses"] if not a.startswith("fe80")]
    assert mine and all(ipaddress.ip_address(dns64) not in n for n in mine), cst["Addresses"]
    p = topo.run("cli", ["dig", "+short", "+time=3", "+tries=2", "A", "ready.iphttps.invalid", "@" + dns64])
    assert p.stdout.split() == ["127.0.0.1"], p
    # Stopped, the server takes away what it set up for the intranet.
    s.stop()
    assert "iphttps_" not in topo.run("srv", ["nft", "list", "tables"]).stdout
    assert "-n64" not in topo.run("srv", ["ip", "-o", "link"]).stdout


def test_resolver_that_fails_to_start(topo, start_server, iphttps_bin):
    """An unbound that dies at start (here one that says why and exits 1)
    is a start-up error naming it and its last words; what was set up
    already (the translator, its TUN, the rules) is taken away."""
    base = tempfile.mkdtemp(prefix="iph-fail-", dir="/tmp")
    os.chmod(base, 0o755)       # the children run as the server's user
    bin_dir = os.path.join(base, "bin")
    os.mkdir(bin_dir)
    os.chmod(bin_dir, 0o755)
    for prog in ("nft", "tayga", "stdbuf"):
        os.symlink(shutil.which(prog), os.path.join(bin_dir, prog))
    fake = os.path.join(bin_dir, "unbound")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'fatal error: could not open ports' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    try:
        p = topo.run("srv", ["env", "PATH=%s:/usr/bin:/bin" % bin_dir, iphttps_bin, "server",
                             "--state-dir", base + "/state", "--run-dir", base, "--hostname",
                             netns.SERVER_NAME, "--tun", "iphfail", "--dns64", "192.0.2.53"],
                     check=False, timeout=60)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert p.returncode == 1, p
    assert "--dns64: unbound did not start (exited with status 1): fatal error: could not open ports" in p.stderr, p.stderr
    assert "iphttps_" not in topo.run("srv", ["nft", "list", "tables"]).stdout
    assert "-n64" not in topo.run("srv", ["ip", "-o", "link"]).stdout
