"""The Debian package (issue 12 item 1): `make deb` builds it from the tree
and lintian passes it at the default level; it installs on this machine
with apt (the iphttps system user, /etc/iphttps conffiles, units with the
right paths that systemd-analyze verifies, man pages, bash completion); the
server runs from the installed unit's ExecStart on a configured
/etc/iphttps/server.conf and shows its client in `iphttps clients` and in
the metrics; a purge leaves the machine as it was.

Machine-wide: serialized with a lock, as other runs of this test may share
the machine, and it purges in any case.  The iphttps user stays after a
purge, as Debian leaves system users; the test removes it when it made it."""
import fcntl
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile

import netns

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOCK = "/run/lock/iphttps-package-test.lock"
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"]
PORT = 9111


def sh(argv, timeout=600, check=True, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    assert not check or p.returncode == 0, (argv, p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return p


def installed():
    p = sh(["dpkg-query", "-W", "-f", "${db:Status-Status}", "iphttps"], check=False)
    return p.returncode == 0 and p.stdout not in ("", "not-installed", "config-files")


def has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def footprint():
    """What the package may leave behind."""
    return {"user": has_user("iphttps"), "group": has_group("iphttps"),
            "etc": os.path.exists("/etc/iphttps"), "state": os.path.exists("/var/lib/iphttps"),
            "bin": os.path.exists("/usr/bin/iphttps"),
            "unit": os.path.exists("/lib/systemd/system/iphttps-server.service"),
            "dpkg": sh(["dpkg-query", "-W", "iphttps"], check=False).returncode == 0}


def purge():
    sh(APT + ["purge", "iphttps"], check=False)


def test_package_builds_installs_runs_and_purges(topo, tmp_path):
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed() or footprint()["dpkg"]:
            purge()                 # a run that died half-way
        before = footprint()
        run_existed = os.path.exists("/run/iphttps")
        try:
            run_package(topo, str(tmp_path))
        finally:
            purge()
            if not run_existed:
                shutil.rmtree("/run/iphttps", ignore_errors=True)
            # Debian leaves system users at purge; one the package made goes
            # here (other tests on this machine may have made it before).
            if not before["user"] and has_user("iphttps"):
                sh(["userdel", "iphttps"], check=False)
            if not before["group"] and has_group("iphttps"):
                sh(["groupdel", "iphttps"], check=False)
        assert footprint() == before, (before, footprint())
        assert not before["etc"] and not before["bin"] and not before["state"], before


def run_package(topo, work):
    out = os.path.join(work, "o")
    p = sh(["make", "-C", REPO, "deb", "O=" + out], timeout=900)
    assert "lintian --fail-on error,warning" in p.stdout
    debs = [f for f in os.listdir(os.path.join(out, "deb"))
            if re.match(r"iphttps_[0-9.]+_\w+\.deb$", f)]
    assert len(debs) == 1, debs
    deb = os.path.join(out, "deb", debs[0])
    # `make install` puts the same files in place (the package adds its
    # changelog and copyright; man pages are compressed there).
    dest = os.path.join(work, "dest")
    sh(["make", "-C", REPO, "install", "DESTDIR=" + dest, "PREFIX=/usr", "SYSCONFDIR=/etc",
        "UNITDIR=/lib/systemd/system"], timeout=900)
    made = sorted("/" + os.path.relpath(os.path.join(r, f), dest)
                  for r, _, fs in os.walk(dest) for f in fs)
    packed = sorted(re.sub(r"\.gz$", "", l.split()[-1][1:]) for l in
                    sh(["dpkg-deb", "-c", deb]).stdout.splitlines()
                    if not l.startswith("d") and "/usr/share/doc/" not in l)
    assert made == packed, (made, packed)
    sh(APT + ["install", deb])
    assert installed()
    # The system user the daemons drop to, the conffiles, the files.
    u = pwd.getpwnam("iphttps")
    assert u.pw_uid < 1000 and u.pw_shell == "/usr/sbin/nologin", u
    conffiles = sh(["dpkg-query", "-W", "-f", "${Conffiles}", "iphttps"]).stdout
    assert "/etc/iphttps/server.conf" in conffiles and "/etc/iphttps/client.conf" in conffiles
    assert os.path.exists("/usr/share/bash-completion/completions/iphttps")
    assert sh(["man", "-w", "iphttps"]).stdout.strip().startswith("/usr/share/man/man1/")
    assert sh(["man", "-w", "5", "iphttps.conf"]).stdout.strip()
    # The units name the installed binary; systemd itself finds nothing wrong.
    unit = "/lib/systemd/system/iphttps-server.service"
    sh(["systemd-analyze", "verify", unit, "/lib/systemd/system/iphttps-client@.service",
        "/lib/systemd/system/iphttps-server.socket"])
    with open(unit) as f:
        text = f.read()
    exec_start = shlex.split(re.search(r"^ExecStart=(.*)$", text, re.M).group(1))
    assert exec_start == ["/usr/bin/iphttps", "server", "-c", "/etc/iphttps/server.conf"]
    assert re.search(r"^Type=notify$", text, re.M)
    # The administrator configures the server, checks it, starts it.
    tun = "iphpkg%d" % (os.getpid() % 10000)
    with open("/etc/iphttps/server.conf", "a") as f:
        f.write("hostname = %s\nroute = %s\ntun = %s\nmetrics = 127.0.0.1:%d\n"
                % (netns.SERVER_NAME, netns.INSIDE_PREFIX, tun, PORT))
    p = topo.run("srv", ["/usr/bin/iphttps", "server", "--check", "-c", "/etc/iphttps/server.conf"])
    assert "configuration OK: /etc/iphttps/server.conf" in p.stdout
    # As systemd would run it: the unit's capability bounding set and no new
    # privileges (setpriv), the rest of its sandbox needs systemd itself.
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()
    assert re.search(r"^NoNewPrivileges=yes$", text, re.M)
    sandbox = ["setpriv", "--no-new-privs", "--bounding-set",
               ",".join(["-all"] + ["+" + c[4:].lower() for c in caps]), "--"]
    server = topo.popen("srv", sandbox + exec_start, name="installed-server")
    try:
        line = netns.wait_for(lambda: (lambda t: t.split("To connect a client:\n", 1)[1]
                                       .split("\n", 1)[0] if "To connect a client:\n" in t
                                       and t.count("\n") >= 2 else None)(server.stdout()), 60, 0.2,
                              "the installed server's banner")
        argv = shlex.split(line)
        assert argv[:2] == ["iphttps", "client"], argv
        argv[0] = "/usr/bin/iphttps"
        run = tempfile.mkdtemp(prefix="iph-pkgcli-", dir="/tmp")
        client = topo.popen("cli", argv + ["--run-dir", run], name="installed-client")
        netns.wait_for(lambda: json.loads(topo.run("cli", ["/usr/bin/iphttps", "state", "--json",
                                                           "--run-dir", run, "iphttps0"],
                                                   check=False).stdout or "{}")
                       .get("State") == "LinkUp", 30, 0.2, "the client LinkUp")
        p = topo.run("srv", ["/usr/bin/iphttps", "clients", tun])
        assert "CN=client1" in p.stdout, p.stdout
        # It dropped to the package's user, with CAP_NET_ADMIN alone.
        with open("/proc/%d/status" % server.pid) as f:
            st = dict(l.split(":", 1) for l in f)
        assert st["Uid"].split()[1] == str(pwd.getpwnam("iphttps").pw_uid), st["Uid"]
        assert st["CapEff"].strip() == "0000000000001000", st["CapEff"]
        p = topo.run("srv", ["curl", "-sS", "http://127.0.0.1:%d/metrics" % PORT])
        assert 'subject="CN=client1"' in p.stdout
        assert os.path.exists("/var/lib/iphttps/ca.pem")
        client_rc = topo.procs[-1].stop()
        assert client_rc == 0
        shutil.rmtree(run, ignore_errors=True)
    finally:
        assert server.stop() == 0, server.describe()
