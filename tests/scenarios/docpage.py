"""Executable documentation: run a docs page's commands on emulated machines.

A page tells an administrator what to run, on which machine, and what they
will see. This module reads those commands from the page itself (never a
copy of them) and runs them, in order, on machines emulated with network
namespaces, then compares the output the page shows with what really came.
The convention (docs/design.md, "Executable documentation"):

  ```sh                     a block to run: its first line says where
  # on server               (`# on HOST`), the rest is run with bash -e
  iphttps state             (every command must succeed)
  ```

  ```sh
  # on server, keeps running    a daemon in the foreground: started, left
  iphttps server ...            running, stopped at the end
  ```

  ```sh
  # on client, exits 1          a command shown failing on purpose (a probe
  iphttps probe URL             that finds a fault): its exit status
  ```

  ```text output            output the test compares: the lines must come,
  State : LinkUp            in this order, from the run block above it
  ```                       (other ```text blocks are illustrations only)

  <!-- test: copy server:/var/lib/iphttps/ca.pem client:. -->
  <!-- test: stop server -->
                            what the administrator does by hand: copy files
                            between machines, keeping the permission bits
                            as scp does ({host} in a source path: the name
                            of each destination machine), press Ctrl-C on a
                            daemon

  | host | addresses |      the machines of the page; the test checks that
  | `server` | 203.0.113.2 |  each emulated one has the addresses listed

A ```sh block whose first line is not `# on HOST` is an illustration and is
not run. Output comparison: whitespace runs count as one space; `...`
stands for any text (a line of its own: any lines); a date (2026-11-22,
with or without a time) for any date; addresses that differ on
every run match any of their kind, consistently across the page: a /64 in
fd00::/8 (a generated ULA prefix) stands for whichever the run generated,
and an interface identifier above ::ffff (SLAAC) for any such identifier.
A one-shot block followed by output is run again until its output matches
(a person re-running `iphttps state` until the link is up), so only
commands that can be repeated (status, ping) get an output block.

Each machine has its own network namespace, UTS namespace (host name =
the page's name for it) and mount namespace, with private /etc and
/var/lib (overlays of the real ones: writes stay private), an empty /run,
and an empty home directory (/root, the working directory of every block):
a page's /etc/hosts, /var/lib/iphttps or /run/iphttps are the machine's own,
as on real machines. `iphttps` in PATH is the binary under test
($IPHTTPS_BIN, the ASan build in `make check`).
"""

import ipaddress
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

RUN_TIMEOUT = 120        # one block, run once
OUTPUT_TIMEOUT = 45      # until a block's output matches (an ASan build)
HOST_RE = re.compile(r"^#\s*on\s+([a-z][a-z0-9-]*)\s*"
                     r"(?:(,\s*keeps running)|,\s*exits (\d+))?\s*$")
ON_RE = re.compile(r"^#\s*on\s+\S")
DIRECTIVE_RE = re.compile(r"^\s*<!--\s*test:\s*(.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^(\s*)(`{3,})\s*([^`]*)$")


class PageError(AssertionError):
    """The page does not hold what it promises (or breaks the convention)."""


# ---- reading a page --------------------------------------------------------

class Block:
    """A fenced block: lang ('sh', 'text', ...), attrs (words after it),
    lines (indentation of the fence removed), line (1-based, the fence)."""

    def __init__(self, path, line, lang, attrs, lines):
        self.path, self.line, self.lang, self.attrs = path, line, lang, attrs
        self.lines = lines
        self.host = None            # for a run block
        self.keeps_running = False
        self.exits = 0              # the exit status the page announces
        self.outputs = []           # output blocks that follow it

    @property
    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, REPO), self.line)

    @property
    def script(self):
        return "\n".join(self.lines[1:]) + "\n"

    def is_run(self):
        return self.host is not None

    def is_output(self):
        return self.lang == "text" and "output" in self.attrs


class Directive:
    """<!-- test: VERB ARGS --> at line."""

    def __init__(self, path, line, words):
        self.path, self.line = path, line
        self.verb, self.args = words[0], words[1:]

    @property
    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, REPO), self.line)


def _section(lines, heading):
    """(first index, lines) of the section under heading (## level): from the
    heading to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = None
    for i, l in enumerate(lines):
        if start is None:
            if l.rstrip() == heading:
                start = i
            continue
        m = re.match(r"^(#+)\s", l)
        if m and len(m.group(1)) <= level and not _in_fence(lines, i):
            return start, lines[start:i]
    if start is None:
        raise PageError("no section %r" % heading)
    return start, lines[start:]


def _in_fence(lines, i):
    """True when line i is inside a fenced block."""
    inside = False
    for l in lines[:i]:
        if FENCE_RE.match(l):
            inside = not inside
    return inside


class Page:
    """A docs page read for its run blocks, outputs, directives and table.

    path: the page (relative to the repository or absolute); section: only
    that heading's section ("## Use" of README.md), or the whole page."""

    def __init__(self, path, section=None):
        self.path = path if os.path.isabs(path) else os.path.join(REPO, path)
        with open(self.path) as f:
            lines = f.read().split("\n")
        first = 0
        if section:
            first, lines = _section(lines, section)
        self.items = []             # Blocks and Directives, in page order
        self.table_rows = []        # (host, [addresses]) of the host table
        self._parse(lines, first)
        self._link()

    def _parse(self, lines, first):
        i = 0
        while i < len(lines):
            m = FENCE_RE.match(lines[i])
            d = DIRECTIVE_RE.match(lines[i])
            if m:
                indent, fence, info = m.group(1), m.group(2), m.group(3).split()
                body, j = [], i + 1
                while j < len(lines) and not re.match(
                        r"^\s*" + fence + r"\s*$", lines[j]):
                    body.append(lines[j][len(indent):]
                                if lines[j].startswith(indent) else
                                lines[j].lstrip())
                    j += 1
                if j == len(lines):
                    raise PageError("%s:%d: unterminated code block"
                                    % (self.path, first + i + 1))
                self.items.append(Block(self.path, first + i + 1,
                                        info[0] if info else "",
                                        info[1:], body))
                i = j + 1
                continue
            if d:
                self.items.append(Directive(self.path, first + i + 1,
                                            d.group(1).split()))
            elif self._table_header(lines, i):
                i = self._table(lines, i)
                continue
            i += 1

    @staticmethod
    def _cells(line):
        return [c.strip().strip("`").strip() for c in
                line.strip().strip("|").split("|")]

    def _table_header(self, lines, i):
        if not lines[i].lstrip().startswith("|") or i + 1 >= len(lines):
            return False
        cells = [c.lower() for c in self._cells(lines[i])]
        return cells[:1] == ["host"] and "addresses" in cells

    def _table(self, lines, i):
        """Read the host table starting at line i; returns the next line."""
        col = [c.lower() for c in self._cells(lines[i])].index("addresses")
        i += 2                      # header and |---| line
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            cells = self._cells(lines[i])
            addrs = re.split(r"[,\s]+", cells[col]) if col < len(cells) else []
            self.table_rows.append((cells[0], [a for a in addrs if a]))
            i += 1
        return i

    def _link(self):
        """Mark run blocks and attach each output block to its run block."""
        last = None
        for it in self.items:
            if not isinstance(it, Block):
                continue
            if it.lang in ("sh", "bash", "shell") and it.lines:
                m = HOST_RE.match(it.lines[0].strip())
                if m:
                    it.host = m.group(1)
                    it.keeps_running = bool(m.group(2))
                    it.exits = int(m.group(3) or 0)
                    last = it
                elif ON_RE.match(it.lines[0].strip()):
                    raise PageError("%s: %r: write `# on HOST`, `# on HOST, "
                                    "keeps running` or `# on HOST, exits N`"
                                    % (it.where, it.lines[0]))
            elif it.is_output():
                if last is None:
                    raise PageError("%s: output block before any run block"
                                    % it.where)
                last.outputs.append(it)

    def run_blocks(self):
        return [it for it in self.items if isinstance(it, Block) and it.is_run()]

    def hosts(self):
        """Every host named by a run block or a directive."""
        out = {b.host for b in self.run_blocks()}
        for it in self.items:
            if isinstance(it, Directive):
                out.update(a.split(":", 1)[0] for a in it.args
                           if ":" in a and it.verb == "copy")
                if it.verb == "stop":
                    out.update(it.args)
        out.discard("repo")
        return out


# ---- comparing output ------------------------------------------------------

V6_RE = re.compile(r"(?<![0-9A-Za-z_.:])(?=[0-9A-Fa-f]*:[0-9A-Fa-f]*:)"
                   r"[0-9A-Fa-f:]{2,39}(?:/\d{1,3})?(?![0-9A-Za-z_:])")
ULA = ipaddress.ip_network("fd00::/8")
V6_SLOT = r"([0-9A-Fa-f:]{2,39}(?:/\d{1,3})?)"
TIME_RE = re.compile(r"\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z?)?")


def _norm(line):
    return " ".join(line.split())


def _v6(text):
    """(address, prefix length or None) of an IPv6 literal, or None."""
    addr, _, plen = text.partition("/")
    try:
        a = ipaddress.IPv6Address(addr)
    except ValueError:
        return None
    if plen and int(plen) > 128:
        return None
    return a, (int(plen) if plen else None)


class Pattern:
    """One expected line as a regular expression plus address slots."""

    def __init__(self, line):
        self.text = _norm(line)
        parts, self.slots, pos = [], [], 0
        for m in V6_RE.finditer(self.text):
            v = _v6(m.group(0))
            if v is None:
                continue
            parts.append(self._literal(self.text[pos:m.start()]))
            parts.append(V6_SLOT)
            self.slots.append(v)
            pos = m.end()
        parts.append(self._literal(self.text[pos:]))
        self.regex = re.compile("".join(parts))

    @staticmethod
    def _literal(s):
        """s as a regex: `...` any text, dates and times any date or time."""
        out = []
        for piece in s.split("..."):
            pos, sub = 0, []
            for m in TIME_RE.finditer(piece):
                sub.append(re.escape(piece[pos:m.start()]))
                sub.append(TIME_RE.pattern)
                pos = m.end()
            sub.append(re.escape(piece[pos:]))
            out.append("".join(sub))
        return ".*?".join(out)

    def match(self, actual, bind):
        """True when the normalised actual line matches; bind (expected /64
        -> actual /64 of generated prefixes) is extended on success."""
        m = self.regex.fullmatch(_norm(actual))
        if not m:
            return False
        trial = dict(bind)
        for (ea, eplen), got in zip(self.slots, m.groups()):
            v = _v6(got)
            if v is None or v[1] != eplen or not _addr_ok(ea, v[0], trial):
                return False
        bind.update(trial)
        return True


def _addr_ok(exp, act, bind):
    """An expected address against an actual one (see the module's text)."""
    eu, al = int(exp) >> 64, int(act)
    el, au, aw = int(exp) & (2**64 - 1), al >> 64, al & (2**64 - 1)
    if exp in ULA:
        if act not in ULA:
            return False
        if bind.get(eu, au) != au:
            return False
        if au in bind.values() and bind.get(eu) != au:
            return False
        bind[eu] = au
    elif eu != au:
        return False
    if el <= 0xffff:
        return el == aw
    return aw > 0xffff


def match_output(expected, actual, bind):
    """'' when every line of expected (a list) is found in actual (text), in
    order; otherwise a description of the first line that is not."""
    lines = actual.splitlines()
    pos = 0
    trial = dict(bind)
    for e in expected:
        if not e.strip() or e.strip() == "...":
            continue
        p = Pattern(e)
        for i in range(pos, len(lines)):
            if p.match(lines[i], trial):
                pos = i + 1
                break
        else:
            return ("expected line not found (in order): %r\n--- actual "
                    "output ---\n%s" % (e, actual[-4000:]))
    bind.update(trial)
    return ""


# ---- the machines ----------------------------------------------------------

class Machine:
    """One emulated machine: a namespace of topo with its own UTS and mount
    namespaces held by a sleeping process; commands enter them."""

    PRIVATE = ("/etc", "/var/lib")      # overlays of the real directories
    HIDE = ("/etc/iphttps", "/var/lib/iphttps")

    def __init__(self, topo, ns_host, name, base, env):
        self.topo, self.ns_host, self.name = topo, ns_host, name
        self.env = env
        self.dir = os.path.join(base, ns_host)
        self.home = os.path.join(self.dir, "root")
        os.makedirs(self.home)
        mounts = []
        for d in self.PRIVATE:
            up = os.path.join(self.dir, d.strip("/").replace("/", "-"))
            os.makedirs(up + "/u")
            os.makedirs(up + "/w")
            mounts.append("mount -t overlay overlay -o lowerdir=%s,upperdir=%s"
                          "/u,workdir=%s/w %s" % (d, up, up, d))
        mounts.append("mount -t tmpfs -o mode=0755 tmpfs /run")
        mounts.append("mount --bind %s /root" % self.home)
        mounts.append("rm -rf %s" % " ".join(self.HIDE))
        mounts.append("hostname %s" % name)
        setup = "set -e; %s; echo ready; exec sleep 100000" % "; ".join(mounts)
        self.holder = topo.popen(ns_host, [
            "unshare", "--mount", "--uts", "--propagation", "private", "--",
            "/bin/sh", "-c", setup], name="holder-" + ns_host)
        netns.wait_for(lambda: self._ready(), 20, 0.05,
                       "machine %s set up" % name)

    def _ready(self):
        if not self.holder.alive():
            raise PageError("machine %s: setup failed:\n%s"
                            % (self.name, self.holder.describe()))
        return self.holder.stdout().startswith("ready")

    def argv(self, script):
        """The argv that runs script (bash -e) inside this machine."""
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "-u", "--",
                "/bin/bash", "-e", "-o", "pipefail", "-c",
                'cd "$HOME"\n' + script]

    def run(self, script, timeout=RUN_TIMEOUT, input=None):
        """Run script here; returns (exit status, stdout+stderr)."""
        try:
            p = subprocess.run(self.argv(script), input=input,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout,
                               env=self.env)
        except subprocess.TimeoutExpired as e:
            out = e.output or b""
            return 124, out.decode(errors="replace") + \
                "\n[timed out after %d s]" % timeout
        return p.returncode, p.stdout.decode(errors="replace")

    def start(self, script, name):
        """Start script here in the background (its own process group);
        output (stdout and stderr together) in a file. Returns a netns.Proc
        that topo's teardown stops."""
        path = os.path.join(self.topo.workdir, name + ".out")
        n = 1
        while os.path.exists(path):
            n += 1
            path = os.path.join(self.topo.workdir, "%s-%d.out" % (name, n))
        with open(path, "wb") as out:
            p = subprocess.Popen(self.argv(script), stdout=out,
                                 stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=self.env,
                                 start_new_session=True)
        proc = netns.Proc(self.topo.ns(self.ns_host), name,
                          ["bash", "-c", script], p, path, path)
        self.topo.procs.append(proc)
        return proc

    def read(self, path):
        """Bytes of a file of this machine (relative paths: from /root)."""
        return self.read_with_mode(path)[0]

    def read_with_mode(self, path):
        """(bytes, permission bits) of a file of this machine."""
        rc, mode = self.run("stat -c %%a %s" % _q(path), timeout=10)
        if rc != 0:
            raise PageError("machine %s has no file %s" % (self.name, path))
        p = subprocess.run(self.argv("cat %s" % _q(path)), env=self.env,
                           capture_output=True, timeout=30)
        return p.stdout, int(mode.strip(), 8)

    def write(self, path, data, mode=0o644):
        """Write bytes to a file of this machine, with mode (as scp makes a
        new file: the source's permission bits)."""
        p = subprocess.run(self.argv("umask 077; cat > %s && chmod %o %s"
                                     % (_q(path), mode, _q(path))),
                           input=data, env=self.env, capture_output=True,
                           timeout=30)
        if p.returncode != 0:
            raise PageError("cannot write %s on %s: %s"
                            % (path, self.name, p.stderr.decode()))

    def addresses(self):
        """Every address configured in this machine (set of str)."""
        _, out = self.run("ip -o addr show", timeout=10)
        return {m.group(1) for m in re.finditer(r"inet6? (\S+?)/", out)}


def _q(s):
    return "'" + s.replace("'", "'\\''") + "'"


def _env(bindir):
    """The environment of every command: PATH with the binary under test
    first, sanitizer options passed on, HOME=/root."""
    env = {k: v for k, v in os.environ.items()
           if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TERM")}
    env.update(PATH=bindir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:"
               "/usr/bin:/sbin:/bin", HOME="/root", LANG="C.UTF-8",
               LC_ALL="C.UTF-8", NO_COLOR="1")
    return env


def iphttps_binary():
    """Absolute path of the binary under test ($IPHTTPS_BIN or ./iphttps)."""
    path = os.environ.get("IPHTTPS_BIN") or os.path.join(REPO, "iphttps")
    return path if os.path.isabs(path) else os.path.join(REPO, path)


class Emulation:
    """The machines of a page on a built topology.

    machines: page host name -> namespace host of topo, or a list of them
    (the page's blocks for that host then run on each), or a dict
    {namespace host: host name} to give each of them its own host name."""

    def __init__(self, topo, machines):
        self.topo = topo
        self.base = tempfile.mkdtemp(prefix="iph-doc-", dir="/tmp")
        self.binary = iphttps_binary()
        if not os.access(self.binary, os.X_OK):
            raise PageError("no executable iphttps at %s (build it, or set "
                            "IPHTTPS_BIN)" % self.binary)
        bindir = os.path.join(self.base, "bin")
        os.makedirs(bindir)
        os.symlink(self.binary, os.path.join(bindir, "iphttps"))
        self.env = _env(bindir)
        self.machines = {}
        for name, ns_hosts in machines.items():
            if isinstance(ns_hosts, str):
                ns_hosts = [ns_hosts]
            if not isinstance(ns_hosts, dict):
                ns_hosts = {h: name for h in ns_hosts}
            self.machines[name] = [Machine(topo, h, hn, self.base, self.env)
                                   for h, hn in ns_hosts.items()]

    def one(self, name):
        """The (single) machine the page calls name."""
        ms = self.machines[name]
        assert len(ms) == 1, "%s is %d machines" % (name, len(ms))
        return ms[0]

    def close(self):
        """Remove the directories (after topo's teardown)."""
        shutil.rmtree(self.base, ignore_errors=True)


# ---- running a page --------------------------------------------------------

class Run:
    """A page run on an emulation: what it started and what it printed.

    daemons: (page host, machine, Block, Proc) of the `keeps running`
    blocks; outputs: Block -> [output per machine] of the one-shot blocks."""

    def __init__(self, page, emu, output_timeout=OUTPUT_TIMEOUT):
        self.page, self.emu = page, emu
        self.output_timeout = output_timeout
        self.daemons = []
        self.outputs = {}
        self.bind = {}
        self.log = []               # what was run, for the test's output
        self._check_hosts()

    def _check_hosts(self):
        """Every host of the page is emulated, every address of the page's
        host table is configured on its machine(s)."""
        missing = self.page.hosts() - set(self.emu.machines)
        if missing:
            raise PageError("%s names machines %s that the test does not "
                            "emulate (it has %s)" % (
                                os.path.relpath(self.page.path, REPO),
                                sorted(missing), sorted(self.emu.machines)))
        for host, addrs in self.page.table_rows:
            if host not in self.emu.machines:
                raise PageError("%s: host table names %r, not emulated"
                                % (self.page.path, host))
            have = set()            # a group of machines: among them
            for m in self.emu.machines[host]:
                have |= m.addresses()
            for a in addrs:
                if a.split("/")[0] not in have:
                    raise PageError(
                        "%s: the host table gives %s address %s; the "
                        "emulated machine has %s" % (
                            os.path.relpath(self.page.path, REPO), host,
                            a, sorted(have)))

    def run(self, until=None):
        """Run the page's items in order (up to the Block or Directive
        `until`, exclusive, when given). Raises PageError on the first
        block that fails or output that does not come."""
        for it in self.page.items:
            if it is until:
                return
            if isinstance(it, Directive):
                self._directive(it)
            elif it.is_run():
                self._block(it)
            self.check_daemons()

    def _block(self, b):
        for m in self.emu.machines[b.host]:
            self.log.append("[%s %s] %s" % (b.where, m.ns_host,
                                            b.script.strip()))
            if b.keeps_running:
                proc = m.start(b.script, "%s-%d" % (b.host, b.line))
                self.daemons.append((b.host, m, b, proc))
                self._wait_daemon_output(b, m, proc)
            else:
                self.outputs.setdefault(b, []).append(self._oneshot(b, m))

    def _oneshot(self, b, m):
        """Run b on m (again, until its output blocks match)."""
        deadline = time.monotonic() + self.output_timeout
        while True:
            rc, out = m.run(b.script)
            why = ("exit status %d (the page says %d)" % (rc, b.exits)
                   if rc != b.exits else self._compare(b, out))
            if not why:
                return out
            if not b.outputs or time.monotonic() > deadline:
                raise PageError("%s (on %s, machine %s): %s\n--- block ---\n%s"
                                "--- output ---\n%s" % (
                                    b.where, b.host, m.ns_host, why, b.script,
                                    out[-4000:]))
            time.sleep(0.5)

    def _compare(self, b, out):
        for o in b.outputs:
            why = match_output(o.lines, out, self.bind)
            if why:
                return "the output shown at %s did not come: %s" % (o.where,
                                                                   why)
        return ""

    def _wait_daemon_output(self, b, m, proc):
        if not b.outputs:
            return
        state = {}

        def ready():
            if not proc.alive():
                raise _Exited()
            state["why"] = self._compare(b, proc.stdout())
            return not state["why"]
        try:
            netns.wait_for(ready, self.output_timeout, 0.1,
                           "output of %s" % b.where)
        except (TimeoutError, _Exited) as e:
            raise PageError("%s (on %s, machine %s): %s%s\n%s" % (
                b.where, b.host, m.ns_host,
                "exited" if isinstance(e, _Exited) else "",
                state.get("why", ""), proc.describe()))

    def _directive(self, d):
        self.log.append("[%s] test: %s %s" % (d.where, d.verb,
                                              " ".join(d.args)))
        if d.verb == "copy":
            self._copy(d)
        elif d.verb == "stop":
            for host in d.args:
                self.stop(host)
        else:
            raise PageError("%s: unknown directive %r" % (d.where, d.verb))

    def _copy(self, d):
        """copy HOST:PATH... HOST:DIR (HOST repo: the source tree); {host}
        in a source path is the host name of each destination machine."""
        if len(d.args) < 2 or any(":" not in a for a in d.args):
            raise PageError("%s: copy HOST:PATH... HOST:DIR" % d.where)
        dhost, ddir = d.args[-1].split(":", 1)
        for m in self.emu.machines[dhost]:
            for src in d.args[:-1]:
                shost, spath = src.replace("{host}", m.name).split(":", 1)
                if shost == "repo":
                    with open(os.path.join(REPO, spath), "rb") as f:
                        data = f.read()
                    mode = os.stat(os.path.join(REPO, spath)).st_mode & 0o777
                else:
                    data, mode = self.emu.one(shost).read_with_mode(spath)
                m.write(os.path.join(ddir, os.path.basename(spath)), data,
                        mode)

    def stop(self, host, sig=signal.SIGINT):
        """Ctrl-C (SIGINT) to the daemons of host; wait for their exit."""
        for h, m, b, proc in self.daemons:
            if h == host and proc.alive():
                os.killpg(proc.pid, sig)
                try:
                    proc.popen.wait(15)
                except subprocess.TimeoutExpired:
                    raise PageError("%s on %s did not stop on signal %d\n%s"
                                    % (b.where, m.ns_host, sig,
                                       proc.describe()))

    def check_daemons(self):
        """Fail when a `keeps running` daemon exited without being stopped."""
        for h, m, b, proc in self.daemons:
            if not proc.alive() and proc.popen.returncode not in (0, -2, 130):
                raise PageError("%s (on %s, machine %s) exited (status %s)\n%s"
                                % (b.where, h, m.ns_host,
                                   proc.popen.returncode, proc.describe()))

    def daemon(self, host, index=0):
        """The Proc of host's index-th `keeps running` block."""
        procs = [d[3] for d in self.daemons if d[0] == host]
        return procs[index]

    def sanitizer_reports(self):
        """Sanitizer reports in the output of everything the page ran."""
        texts = [d[3].stdout() for d in self.daemons]
        for outs in self.outputs.values():
            texts.extend(outs)
        return "\n".join(r for r in (netns_sanitizer(t) for t in texts) if r)


class _Exited(Exception):
    pass


SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


def netns_sanitizer(text):
    """The sanitizer report lines in text, or ''."""
    return "\n".join([l for l in text.splitlines()
                      if SANITIZER_RE.search(l)][:20])


def stop_all(run):
    """Stop every daemon the page started (SIGTERM), newest first; returns
    their sanitizer reports."""
    for h, m, b, proc in reversed(run.daemons):
        proc.stop()
    return run.sanitizer_reports()


class PageTopology(netns.Topology):
    """netns.Topology whose client hosts get no /etc/netns hosts file: a
    page's machines resolve names only as the page makes them."""

    def _write_hosts(self, name):
        return None


class Session:
    """A topology, its emulated machines and the runs of pages on them;
    close() stops everything and returns the sanitizer reports.

    topology: a netns.Topology class (PageTopology: cli, net, srv, ins);
    clients: client hosts to add to it first; machines: as for Emulation."""

    def __init__(self, workdir, machines, topology=PageTopology, clients=()):
        self.runs = []
        self.topo = topology(os.path.join(str(workdir), "logs"))
        self.emu = None
        try:
            for c in clients:
                self.topo.add_client(c)
            self.emu = Emulation(self.topo, machines)
        except BaseException:
            self.close()
            raise

    def page(self, path, section=None, **kw):
        """Run a page (or a section of it) on the machines; returns the Run
        (kept, so that close() stops its daemons)."""
        r = Run(Page(path, section), self.emu, **kw)
        self.runs.append(r)
        r.run()
        return r

    def close(self):
        reports = []
        try:
            for r in reversed(self.runs):
                rep = stop_all(r)
                if rep:
                    reports.append(rep)
        finally:
            self.topo.teardown()
            if self.emu:
                self.emu.close()
        return "\n".join(reports)


def pages_fixture(tmp_path_factory, tag, machines, pages, **kw):
    """The body of a test module's fixture: skip without root, run pages
    (paths, or (path, section)) in order on one Session, yield it, close it
    and fail on sanitizer reports. kw: Session's topology and clients."""
    import pytest   # only the fixtures need it
    if not netns.is_root():
        pytest.skip("needs root (network namespaces)")
    s = Session(tmp_path_factory.mktemp(tag), machines, **kw)
    reports = ""
    try:
        for p in pages:
            s.page(*(p if isinstance(p, tuple) else (p,)))
        yield s
    finally:
        reports = s.close()
    assert not reports, "sanitizer reports:\n" + reports
