"""A host of a netns.Topology with a mount namespace of its own.

What a test changes in /etc (the client's /etc/resolv.conf, a resolver's
configuration) must never reach this machine's own files: a Machine mounts
an overlay of the real /etc (writes stay in the overlay's upper directory)
and a fresh tmpfs on /run (dbus-daemon's and systemd-resolved's sockets),
in a mount namespace held by a sleeping process inside the host's network
namespace; commands enter both namespaces with nsenter.

    m = Machine(topo, "cli", workdir, etc={"resolv.conf": "nameserver ..."})
    m.run(["cat", "/etc/resolv.conf"]).stdout
    p = m.popen(["iphttps", "client", ...], name="client")   # a netns.Proc
    m.read("/etc/resolv.conf")                                # bytes

`ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts; that
mount is hidden by the overlay, so the file is copied into it.
"""

import os
import subprocess

import netns


class Machine:
    """A host's network namespace plus a private /etc and /run."""

    def __init__(self, topo, host, workdir, etc=None):
        self.topo, self.host = topo, host
        self.procs = []
        self.dir = os.path.join(str(workdir), "machine-" + host)
        upper, work = os.path.join(self.dir, "u"), os.path.join(self.dir, "w")
        os.makedirs(upper)
        os.makedirs(work)
        files = dict(etc or {})
        hosts = os.path.join("/etc/netns", topo.ns(host), "hosts")
        if os.path.exists(hosts) and "hosts" not in files:
            with open(hosts) as f:
                files["hosts"] = f.read()
        for rel, text in files.items():
            path = os.path.join(upper, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        setup = ("set -e; mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,"
                 "workdir=%s /etc; mount -t tmpfs -o mode=0755 tmpfs /run; "
                 "echo ready; exec sleep 100000" % (upper, work))
        self.holder = topo.popen(host, ["unshare", "--mount", "--propagation",
                                        "private", "--", "/bin/sh", "-c", setup],
                                 name="holder-" + host)
        netns.wait_for(self._ready, 20, 0.05, "mount namespace of " + host)

    def _ready(self):
        if not self.holder.alive():
            raise AssertionError("mount namespace setup failed:\n"
                                 + self.holder.describe())
        return self.holder.stdout().startswith("ready")

    def argv(self, cmd):
        """cmd (argv) entered into this machine's namespaces."""
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--"] + list(cmd)

    def run(self, cmd, check=True, timeout=30, env=None):
        """Run cmd here and wait; CompletedProcess (text)."""
        p = subprocess.run(self.argv(cmd), capture_output=True, text=True,
                           errors="replace", timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise netns.CommandError(self.host, list(cmd), p.returncode,
                                     p.stdout, p.stderr)
        return p

    def popen(self, cmd, name, env=None):
        """Start cmd here in the background; a netns.Proc that the
        topology's teardown stops."""
        out = os.path.join(self.topo.workdir, name + ".out")
        err = os.path.join(self.topo.workdir, name + ".err")
        n = 1
        while os.path.exists(out):
            n += 1
            out = os.path.join(self.topo.workdir, "%s-%d.out" % (name, n))
            err = os.path.join(self.topo.workdir, "%s-%d.err" % (name, n))
        with open(out, "wb") as o, open(err, "wb") as e:
            p = subprocess.Popen(self.argv(cmd), stdout=o, stderr=e,
                                 stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
        proc = netns.Proc(self.topo.ns(self.host), name, list(cmd), p, out, err)
        self.topo.procs.append(proc)
        self.procs.append(proc)
        return proc

    def close(self):
        """Stop what was started here, then the namespace's holder (the
        mounts go with the last process in the namespace)."""
        for proc in reversed(self.procs):
            proc.stop()
        self.holder.stop()

    def read(self, path):
        """The bytes of path as this machine sees it (None if absent)."""
        p = subprocess.run(self.argv(["cat", path]), capture_output=True,
                           timeout=10)
        return p.stdout if p.returncode == 0 else None

    def lstat_kind(self, path):
        """'file', 'link -> TARGET' or None for path here."""
        p = self.run(["sh", "-c", 'if [ -L "$1" ]; then echo "link -> $(readlink "$1")"; '
                      'elif [ -e "$1" ]; then echo file; fi', "sh", path])
        return p.stdout.strip() or None
