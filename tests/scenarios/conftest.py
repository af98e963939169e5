"""pytest fixtures for the iphttps scenario tests (network namespaces).

Fixtures:
  needs_root      skips the test when not root (the only reason to skip).
  topo            a fresh netns.Topology (cli, net, srv, ins), torn down after
                  the test; skips the test when not root (namespaces need it).
  iphttps_bin     absolute path of the binary under test: $IPHTTPS_BIN, or
                  ./iphttps at the repository root.
  start_server    factory: start_server(*extra_args) starts `iphttps server`
                  in srv and returns a Server once it printed how to connect.
  server          start_server() with no extra arguments.
  start_client    factory: start_client(server, host="cli", extra_args=())
                  runs the server's printed client command in host.
  client          start_client(server) in cli, waited until State is LinkUp.
  probe           runs tls_probe.py in a namespace and returns its result.

Every process started goes through topo.popen(), so teardown stops it; the
server and client logs are scanned for sanitizer reports when they stop.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netns  # noqa: E402  (needs the path above)

REPO = os.path.dirname(os.path.dirname(HERE))
PYTHON = sys.executable or "/usr/bin/python3"
CONNECT_MARK = "To connect a client:"
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")

# How long a server may take to generate its CA, certificates and prefix on
# first start and to start listening (an ASan build on a slow machine).
SERVER_START_TIMEOUT = 30
LINKUP_TIMEOUT = 30


def _short_tempdir(tag):
    """A short directory under /tmp (control socket paths must stay well
    below the 108-byte sun_path limit, which pytest's tmp_path may not)."""
    return tempfile.mkdtemp(prefix="iph-%s-" % tag, dir="/tmp")


def sanitizer_report(text):
    """The sanitizer report lines in text, or '' when there are none."""
    lines = [l for l in text.splitlines() if SANITIZER_RE.search(l)]
    return "\n".join(lines[:20])


class Server:
    """An `iphttps server` running in srv, and what it printed."""

    def __init__(self, topo, binary, extra_args, env=None, wrap=()):
        self.topo = topo
        self.binary = binary
        self.base = _short_tempdir("srv")
        # Reachable by the daemon's user after the drop (as /var/lib is):
        # reloads re-read the server's key from the state directory.
        os.chmod(self.base, 0o755)
        self.state_dir = os.path.join(self.base, "state")
        self.run_dir = os.path.join(self.base, "run")
        os.makedirs(self.run_dir)
        # A unique TUN name: it also names the control socket.
        self.tun = "iphs%d" % (os.getpid() % 10000000)
        self.args = [binary, "server",
                     "--state-dir", self.state_dir,
                     "--run-dir", self.run_dir,
                     "--hostname", netns.SERVER_NAME,
                     "--route", netns.INSIDE_PREFIX,
                     "--tun", self.tun] + list(extra_args)
        # wrap: a command the server runs under (e.g. a shell that sets
        # its environment); env: the whole environment.
        self.proc = topo.popen("srv", list(wrap) + self.args, name="server",
                               env=env)
        try:
            self.client_line = self._wait_connect_line()
            self.client_argv = shlex.split(self.client_line)
            self._parse_client_argv()
        except BaseException:
            self.proc.stop()
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    def _wait_connect_line(self):
        """Wait for 'To connect a client:' and the command line after it."""
        def ready():
            if not self.proc.alive():
                raise AssertionError("server exited early:\n"
                                     + self.proc.describe())
            lines = self.proc.stdout().split("\n")
            # lines[-1] is the unterminated rest; a line counts once its
            # newline arrived.
            for i in range(len(lines) - 2):
                if lines[i] == CONNECT_MARK:
                    return lines[i + 1]
            return None
        try:
            line = netns.wait_for(ready, SERVER_START_TIMEOUT, 0.1,
                                  "the server's '%s' line" % CONNECT_MARK)
        except TimeoutError as e:
            raise AssertionError("%s\n%s" % (e, self.proc.describe()))
        assert line.startswith("  ") and not line.startswith("   "), \
            "client command must be indented by exactly 2 spaces: %r" % line
        return line.strip()

    def _parse_client_argv(self):
        """Pick --ca/--cert/--key and the URL out of the printed command."""
        argv = self.client_argv
        assert len(argv) >= 3 and os.path.basename(argv[0]) == "iphttps" \
            and argv[1] == "client", "unexpected client command: %r" % argv
        self.ca = self.cert = self.key = None
        urls = []
        i = 2
        while i < len(argv):
            a = argv[i]
            if a in ("--ca", "--cert", "--key") and i + 1 < len(argv):
                setattr(self, a[2:], argv[i + 1])
                i += 2
                continue
            if not a.startswith("-"):
                urls.append(a)
            i += 1
        assert urls, "no URL in client command %r" % argv
        self.url = urls[0]
        # --auth none prints no client certificate, --transport http no CA.
        for f in (self.ca, self.cert, self.key):
            assert f is None or os.path.isfile(f), \
                "printed file %r does not exist (command %r)" % (f, argv)

    def state(self, name=None):
        """`iphttps state --json` of this server (dict), run in srv."""
        p = self.topo.run("srv", [self.binary, "state", "--json",
                                  "--run-dir", self.run_dir,
                                  name or self.tun], timeout=10)
        return json.loads(p.stdout)

    def stop(self):
        """Stop the server; fail when its log holds a sanitizer report."""
        self.proc.stop()
        rep = sanitizer_report(self.proc.stderr() + self.proc.stdout())
        shutil.rmtree(self.base, ignore_errors=True)
        assert not rep, "sanitizer report from the server:\n" + rep


# Client options that take a value: given in extra_args, they replace the
# same option of the printed command.
CLIENT_VALUE_OPTS = ("--ca", "--cert", "--key", "--tun", "--run-dir",
                     "--reconnect-initial", "--reconnect-max", "--proxy",
                     "--pin", "--null-encryption", "-c", "--config")


def _merge_client_args(printed, extra):
    """printed (argv after `client`) with extra's options put first; an
    option of CLIENT_VALUE_OPTS in extra drops its copy from printed."""
    extra = list(extra)
    override = {a.split("=", 1)[0] for a in extra
                if a.split("=", 1)[0] in CLIENT_VALUE_OPTS}
    out, i = [], 0
    while i < len(printed):
        name = printed[i].split("=", 1)[0]
        if name in override:
            i += 1 if "=" in printed[i] else 2
            continue
        out.append(printed[i])
        i += 1
    return extra + out


def _opt_value(argv, name, default):
    """The last value of option name in argv (--opt V or --opt=V)."""
    val = default
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            val = argv[i + 1]
        elif a.startswith(name + "="):
            val = a.split("=", 1)[1]
    return val


class Client:
    """An `iphttps client` started from the server's printed command.

    extra_args go before the printed options; one that takes a value
    (--cert, --key, --tun, ...) replaces the printed one.
    """

    def __init__(self, topo, binary, server, host, extra_args):
        self.topo, self.binary, self.host = topo, binary, host
        self.base = _short_tempdir("cli")
        # Exactly the printed command, with our binary and --run-dir added.
        rest = _merge_client_args(server.client_argv[2:], extra_args)
        self.tun = _opt_value(rest, "--tun", "iphttps0")
        self.run_dir = _opt_value(rest, "--run-dir", None)
        if self.run_dir is None:
            self.run_dir = self.base
            rest = ["--run-dir", self.run_dir] + rest
        self.args = [binary, "client"] + rest
        self.proc = topo.popen(host, self.args, name="client-" + host)

    def state(self):
        """`iphttps state --json` of this client (dict), run in its host."""
        p = self.topo.run(self.host, [self.binary, "state", "--json",
                                      "--run-dir", self.run_dir, self.tun],
                          timeout=10)
        return json.loads(p.stdout)

    def wait_linkup(self, timeout=LINKUP_TIMEOUT):
        """Wait until State is LinkUp; returns the state dict."""
        def up():
            if not self.proc.alive():
                raise AssertionError("client exited:\n" + self.proc.describe())
            st = self.state()
            return st if st.get("State") == "LinkUp" else None
        try:
            return netns.wait_for(up, timeout, 0.2, "client State LinkUp")
        except TimeoutError as e:
            raise AssertionError("%s\n%s" % (e, self.proc.describe()))

    def global_addresses(self):
        """Global IPv6 addresses on the client's TUN (list of str)."""
        p = self.topo.run(self.host, ["ip", "-j", "-6", "addr", "show",
                                      "dev", self.tun, "scope", "global"])
        out = json.loads(p.stdout or "[]")
        return [a["local"] for link in out for a in link.get("addr_info", [])
                if "local" in a]

    def wait_address(self, timeout=LINKUP_TIMEOUT):
        """Wait for a global (SLAAC) address on the TUN; returns it."""
        return netns.wait_for(lambda: (self.global_addresses() or [None])[0],
                              timeout, 0.2, "a global address on the "
                              "client TUN")

    def stop(self):
        """Stop the client; fail when its log holds a sanitizer report."""
        self.proc.stop()
        rep = sanitizer_report(self.proc.stderr() + self.proc.stdout())
        shutil.rmtree(self.base, ignore_errors=True)
        assert not rep, "sanitizer report from the client:\n" + rep


def _resolv_conf_now():
    """This machine's /etc/resolv.conf (what it is, its bytes or target) and
    any file a client keeps beside it."""
    path = "/etc/resolv.conf"
    kept = sorted(f for f in os.listdir("/etc") if f.startswith("resolv.conf.iphttps-"))
    if os.path.islink(path):
        return ("link", os.readlink(path), kept)
    if not os.path.exists(path):
        return ("none", None, kept)
    with open(path, "rb") as f:
        return ("file", f.read(), os.stat(path).st_mode, kept)


@pytest.fixture(autouse=True)
def host_resolv_conf_unchanged():
    """This machine's /etc/resolv.conf must never change: a client applying
    the advertised DNS rewrites a resolv.conf only inside a test's own mount
    namespace (mountns.py).  Checked after every test."""
    before = _resolv_conf_now()
    yield
    assert _resolv_conf_now() == before, \
        "this machine's /etc/resolv.conf changed during the test"
@pytest.fixture(scope="session", autouse=True)
def daemon_user():
    """The unprivileged user the daemons become after setup (--user,
    default iphttps), created as `make install` creates it."""
    if netns.is_root():
        subprocess.run([os.path.join(REPO, "scripts", "adduser.sh")],
                       check=True, timeout=60)


@pytest.fixture
def iphttps_bin():
    """Absolute path of the iphttps binary under test."""
    path = os.environ.get("IPHTTPS_BIN") or os.path.join(REPO, "iphttps")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


@pytest.fixture
def needs_root():
    """Skips the test when not root: network namespaces need root. This is
    the only reason a scenario test is ever skipped."""
    if not netns.is_root():
        pytest.skip("scenario tests need root (they create network "
                    "namespaces); run them as root")


@pytest.fixture
def topo(needs_root, tmp_path):
    """The cli/net/srv/ins namespaces; everything removed afterwards."""
    t = netns.Topology(tmp_path / "logs")
    try:
        yield t
    finally:
        t.teardown()


@pytest.fixture
def start_server(topo, iphttps_bin):
    """Factory: start_server(*extra_args, env=None, wrap=()) -> Server
    (stopped afterwards)."""
    assert os.access(iphttps_bin, os.X_OK), \
        "no executable iphttps at %s (build it, or set IPHTTPS_BIN)" \
        % iphttps_bin
    servers = []

    def start(*extra_args, env=None, wrap=()):
        s = Server(topo, iphttps_bin, extra_args, env=env, wrap=wrap)
        servers.append(s)
        return s
    yield start
    for s in reversed(servers):
        s.stop()


@pytest.fixture
def server(start_server):
    """A server in srv with the standard options."""
    return start_server()


@pytest.fixture
def start_client(topo, iphttps_bin):
    """Factory: start_client(server, host="cli", extra_args=()) -> Client."""
    clients = []

    def start(server, host="cli", extra_args=()):
        if host not in topo.clients:
            topo.add_client(host)
        c = Client(topo, iphttps_bin, server, host, extra_args)
        clients.append(c)
        return c
    yield start
    for c in reversed(clients):
        c.stop()


@pytest.fixture
def client(server, start_client):
    """A client in cli connected to `server`, State LinkUp."""
    c = start_client(server)
    c.wait_linkup()
    return c


class Probe:
    """Runs tls_probe.py inside a namespace (see that file for fields)."""

    def __init__(self, topo):
        self.topo = topo

    def __call__(self, host="cli", timeout=30, **opts):
        """Probe with opts turned into --key value options; returns dict."""
        argv = [PYTHON, os.path.join(HERE, "tls_probe.py")]
        for k, v in opts.items():
            if v is None or v is False:
                continue
            argv.append("--" + k.replace("_", "-"))
            if v is not True:
                argv.append(str(v))
        t0 = time.monotonic()
        p = self.topo.run(host, argv, timeout=timeout, check=False)
        assert p.returncode == 0, "tls_probe failed (%s): %s %s" % (
            p.returncode, p.stdout, p.stderr)
        res = json.loads(p.stdout)
        res["wall"] = time.monotonic() - t0
        return res


@pytest.fixture
def probe(topo):
    """probe(host="cli", connect=..., ...) -> result dict of tls_probe.py."""
    return Probe(topo)
