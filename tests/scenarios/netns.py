"""Network-namespace topology for the iphttps scenario tests.

Standard library only. Every namespace name starts with a prefix unique to
this process and topology ("iph<pid>x<n>-"), so parallel runs and leftovers of
a crashed run never clash. Interfaces are created directly inside their
namespaces, so their names never touch the root namespace (and stay <= 15
characters).

Topology (documentation address ranges only):

    cli  eth0 198.51.100.2/24 ---+
    cli2 eth0 198.51.100.3/24 ---+-- br0 198.51.100.1/24  net  (IPv4 router,
    ...                               eth1 203.0.113.1/24        "internet")
                                        |
                             srv  eth0 203.0.113.2/24 (default via .1)
                                  eth1 2001:db8:1::1/64  (inside link)
                                        |
                             ins  eth0 2001:db8:1::2/64 (default via ::1)

Client namespaces resolve iphttps.test to 203.0.113.2 through
/etc/netns/<ns>/hosts, which `ip netns exec` bind-mounts over /etc/hosts.

Usage:
    t = Topology(workdir)      # builds cli, net, srv, ins
    t.add_client("cli2")       # another client host on the internet
    t.run("cli", ["ping", "-c1", "203.0.113.2"])
    p = t.popen("srv", ["iphttps", "server", ...], name="server")
    t.teardown()               # always: kills processes, deletes everything
"""

import itertools
import os
import shutil
import signal
import subprocess
import time

SERVER_V4 = "203.0.113.2"
NET_CLIENT_SIDE = "198.51.100.1"
NET_SERVER_SIDE = "203.0.113.1"
SERVER_INSIDE = "2001:db8:1::1"
INSIDE_HOST = "2001:db8:1::2"
INSIDE_PREFIX = "2001:db8:1::/64"
SERVER_NAME = "iphttps.test"

_counter = itertools.count()

HOSTS_TEMPLATE = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
    "{server}\t{name}\n"
)


class CommandError(Exception):
    """A command run in a namespace failed; carries its output."""

    def __init__(self, ns, cmd, rc, out, err):
        self.ns, self.cmd, self.rc, self.out, self.err = ns, cmd, rc, out, err
        super().__init__("[%s] %s: exit %s\nstdout: %s\nstderr: %s"
                         % (ns, " ".join(cmd), rc, out.strip(), err.strip()))


def is_root():
    """True when running as root (namespaces need it)."""
    return os.geteuid() == 0


def wait_for(predicate, timeout, interval=0.1, what="condition"):
    """Call predicate() until it returns a true value or timeout seconds pass.

    Returns that value; raises TimeoutError naming `what` otherwise.
    Exceptions raised by predicate count as "not yet" until the deadline;
    the last one is mentioned in the TimeoutError.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise TimeoutError(msg)
        time.sleep(interval)


def _sh(cmd, check=True, timeout=30):
    """Run cmd (argv list) in the root namespace; return CompletedProcess."""
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise CommandError("root", cmd, p.returncode, p.stdout, p.stderr)
    return p


def list_namespaces():
    """Names of all network namespaces known to `ip netns`."""
    out = _sh(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


class Proc:
    """A background process started in a namespace, output kept in files."""

    def __init__(self, ns, name, cmd, popen, out_path, err_path):
        self.ns, self.name, self.cmd, self.popen = ns, name, cmd, popen
        self.out_path, self.err_path = out_path, err_path

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        """True while the process runs."""
        return self.popen.poll() is None

    def stdout(self):
        """All the process has written to stdout so far."""
        with open(self.out_path, errors="replace", newline="") as f:
            return f.read()

    def stderr(self):
        """All the process has written to stderr so far."""
        with open(self.err_path, errors="replace", newline="") as f:
            return f.read()

    def stop(self, timeout=5.0):
        """SIGTERM the process group, SIGKILL after timeout; returns rc."""
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        for f in (self.popen.stdin,):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        return self.popen.returncode

    def describe(self):
        """A short text with the command, status and the tails of its output."""
        return ("[%s] %s (pid %d, rc %s)\n--- stdout tail ---\n%s\n"
                "--- stderr tail ---\n%s" % (
                    self.ns, " ".join(self.cmd), self.pid,
                    self.popen.poll(), self.stdout()[-3000:],
                    self.stderr()[-3000:]))


def _signal_group(pid, sig):
    """Send sig to the process group led by pid (falls back to the pid)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Topology:
    """The cli/net/srv/ins namespaces, their processes and their cleanup.

    workdir: directory for process output files (created if missing).
    build: build the four standard hosts right away (default True).
    On any failure while building, everything made so far is removed.
    """

    def __init__(self, workdir, build=True):
        self.prefix = "iph%dx%d-" % (os.getpid(), next(_counter))
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.namespaces = []        # full names, in creation order
        self.etc_dirs = []          # /etc/netns/<ns> dirs we created
        self.procs = []
        self.clients = []           # short names of client hosts
        self.client_addr = {}       # short name -> IPv4 address
        self._torn_down = False
        self._made_etc_netns = not os.path.isdir("/etc/netns")
        if build:
            try:
                self.build()
            except BaseException:
                self.teardown()
                raise

    # ---- names -----------------------------------------------------------
    def ns(self, host):
        """Full namespace name of a short host name ("cli" -> "iph..cli")."""
        return self.prefix + host

    # ---- building --------------------------------------------------------
    def _add_ns(self, host):
        """Create namespace for host with lo up; returns its full name."""
        name = self.ns(host)
        _sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        # No DAD on the links made next: a fresh veth's tentative link-local
        # address otherwise delays the first forwarded packets by 1-2 s.
        for scope in ("default", "all"):
            self.sysctl(host, "net.ipv6.conf.%s.accept_dad" % scope, 0)
        self.run(host, ["ip", "link", "set", "lo", "up"])
        return name

    def _veth(self, host_a, if_a, host_b, if_b):
        """A veth pair created inside host_a's namespace, peer moved to b."""
        _sh(["ip", "-n", self.ns(host_a), "link", "add", if_a, "type", "veth",
             "peer", "name", if_b, "netns", self.ns(host_b)])

    def sysctl(self, host, key, value):
        """Set a sysctl inside host's namespace."""
        self.run(host, ["sysctl", "-q", "-w", "%s=%s" % (key, value)])

    def build(self):
        """Create net, srv, ins and the first client host cli."""
        for h in ("net", "srv", "ins"):
            self._add_ns(h)
        # net: the IPv4 "internet" router; clients hang off a bridge.
        # A fixed MAC: otherwise the bridge takes the lowest port MAC, which
        # changes as client hosts are added and strands their ARP caches.
        self.run("net", ["ip", "link", "add", "br0", "address", "02:00:00:00:00:01",
                         "type", "bridge"])
        self.run("net", ["ip", "addr", "add", NET_CLIENT_SIDE + "/24",
                         "dev", "br0"])
        self.run("net", ["ip", "link", "set", "br0", "up"])
        self.sysctl("net", "net.ipv4.ip_forward", 1)
        # net <-> srv
        self._veth("net", "eth1", "srv", "eth0")
        self.run("net", ["ip", "addr", "add", NET_SERVER_SIDE + "/24",
                         "dev", "eth1"])
        self.run("net", ["ip", "link", "set", "eth1", "up"])
        self.run("srv", ["ip", "addr", "add", SERVER_V4 + "/24",
                         "dev", "eth0"])
        self.run("srv", ["ip", "link", "set", "eth0", "up"])
        self.run("srv", ["ip", "route", "add", "default",
                         "via", NET_SERVER_SIDE])
        # srv <-> ins, the inside IPv6 network
        self._veth("srv", "eth1", "ins", "eth0")
        self.run("srv", ["ip", "-6", "addr", "add", SERVER_INSIDE + "/64",
                         "dev", "eth1", "nodad"])
        self.run("srv", ["ip", "link", "set", "eth1", "up"])
        self.run("ins", ["ip", "-6", "addr", "add", INSIDE_HOST + "/64",
                         "dev", "eth0", "nodad"])
        self.run("ins", ["ip", "link", "set", "eth0", "up"])
        self.run("ins", ["ip", "-6", "route", "add", "default",
                         "via", SERVER_INSIDE, "dev", "eth0"])
        self.add_client("cli")

    def add_client(self, host):
        """Add a client host (IPv4 only) on the internet side; returns its
        IPv4 address. Hosts get 198.51.100.2, .3, ... in order of addition.
        """
        if host in self.clients:
            raise ValueError("client host %s exists" % host)
        idx = len(self.clients)
        if idx > 200:
            raise ValueError("too many client hosts")
        addr = "198.51.100.%d" % (2 + idx)
        name = self._add_ns(host)
        self._write_hosts(name)
        peer = "c%d" % idx          # the net-side end, enslaved to br0
        self._veth(host, "eth0", "net", peer)
        self.run("net", ["ip", "link", "set", peer, "master", "br0", "up"])
        self.run(host, ["ip", "addr", "add", addr + "/24", "dev", "eth0"])
        self.run(host, ["ip", "link", "set", "eth0", "up"])
        self.run(host, ["ip", "route", "add", "default",
                        "via", NET_CLIENT_SIDE])
        self.clients.append(host)
        self.client_addr[host] = addr
        return addr

    def _write_hosts(self, name):
        """Create /etc/netns/<name>/hosts mapping iphttps.test to srv."""
        d = os.path.join("/etc/netns", name)
        os.makedirs(d, exist_ok=False)
        self.etc_dirs.append(d)
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write(HOSTS_TEMPLATE.format(server=SERVER_V4, name=SERVER_NAME))

    # ---- running things --------------------------------------------------
    def _argv(self, host, cmd):
        return ["ip", "netns", "exec", self.ns(host)] + list(cmd)

    def run(self, host, cmd, check=True, timeout=30, input=None, env=None):
        """Run cmd (argv list) in host's namespace and wait for it.

        Returns the CompletedProcess (text stdout/stderr). Raises
        CommandError when check and the exit status is not 0, and
        subprocess.TimeoutExpired after timeout seconds (process killed).
        """
        argv = self._argv(host, cmd)
        p = subprocess.run(argv, input=input, capture_output=True, text=True,
                           errors="replace",
                           timeout=timeout, env=env,
                           stdin=None if input is not None
                           else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise CommandError(self.ns(host), list(cmd), p.returncode,
                               p.stdout, p.stderr)
        return p

    def popen(self, host, cmd, name=None, env=None, stdin=None):
        """Start cmd in host's namespace in the background.

        stdout and stderr go to <workdir>/<name>.out and .err (a number
        is added to name when those exist already). stdin is
        /dev/null unless stdin=subprocess.PIPE. The process gets its own
        process group; teardown() stops it. Returns a Proc.
        """
        name = name or "%s-%s" % (host, os.path.basename(cmd[0]))
        base, n = name, 1
        while os.path.exists(os.path.join(self.workdir, name + ".out")):
            n += 1
            name = "%s-%d" % (base, n)
        out_path = os.path.join(self.workdir, name + ".out")
        err_path = os.path.join(self.workdir, name + ".err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(
                self._argv(host, cmd), stdout=out, stderr=err,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                env=env, start_new_session=True)
        proc = Proc(self.ns(host), name, list(cmd), p, out_path, err_path)
        self.procs.append(proc)
        return proc

    def pids(self, host):
        """PIDs of every process in host's network namespace."""
        p = _sh(["ip", "netns", "pids", self.ns(host)], check=False)
        return [int(x) for x in p.stdout.split() if x.isdigit()]

    def ping(self, host, addr, count=1, timeout=2):
        """True when host gets an answer to a ping to addr."""
        fam = "-6" if ":" in addr else "-4"
        p = self.run(host, ["ping", fam, "-n", "-c", str(count), "-W",
                            str(timeout), addr], check=False,
                     timeout=count * timeout + 10)
        return p.returncode == 0

    # ---- teardown --------------------------------------------------------
    def teardown(self):
        """Stop every process, then delete namespaces and /etc/netns dirs.

        Safe to call twice and after a partial build. Errors are collected
        and raised together at the end, after everything was attempted.
        """
        if self._torn_down:
            return
        self._torn_down = True
        errors = []
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as e:  # noqa: BLE001 - keep cleaning
                errors.append("stop %s: %r" % (proc.name, e))
        # Anything still inside our namespaces was started by us (children
        # of our processes, or a process that left its group).
        for name in self.namespaces:
            p = _sh(["ip", "netns", "pids", name], check=False)
            for pid in [int(x) for x in p.stdout.split() if x.isdigit()]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for name in reversed(self.namespaces):
            p = _sh(["ip", "netns", "del", name], check=False)
            if p.returncode != 0 and name in list_namespaces():
                errors.append("netns del %s: %s" % (name, p.stderr.strip()))
        for d in self.etc_dirs:
            try:
                shutil.rmtree(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                errors.append("rm %s: %r" % (d, e))
        if self._made_etc_netns:
            try:
                os.rmdir("/etc/netns")   # only when empty: others may use it
            except OSError:
                pass
        if errors:
            raise RuntimeError("teardown problems:\n" + "\n".join(errors))

    def leftovers(self):
        """Namespaces and /etc/netns dirs of this topology that still exist."""
        left = [n for n in list_namespaces() if n.startswith(self.prefix)]
        if os.path.isdir("/etc/netns"):
            left += [os.path.join("/etc/netns", d)
                     for d in os.listdir("/etc/netns")
                     if d.startswith(self.prefix)]
        return left

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False
