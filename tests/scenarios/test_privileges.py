"""Least privilege (issue 8, item 5): once set up, server and client run as
the dedicated user (--user, default iphttps, created as `make install`
does) with CAP_NET_ADMIN only, no way to gain more and the seccomp filter
on; a running server cannot write a root-owned file (the CA's key), yet a
reload re-reads its certificate and key without regaining root."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile

import netns
from hookutil import script
from privs import assert_confined, status


def test_dedicated_user_net_admin_only_after_setup(server, start_client):
    """Both daemons: uid and gid of the user iphttps (real, effective,
    saved), its group alone, CAP_NET_ADMIN alone (effective, permitted,
    bounding), no_new_privs, a seccomp filter; and they still work (here
    with files the user may read; test_client_confined_* without)."""
    # Its certificate and key readable to the user (each attempt reads them).
    grp = pwd.getpwnam("iphttps").pw_gid
    d = os.path.join(server.state_dir, "clients")
    for path, mode in ((d, 0o750), (server.cert, 0o640), (server.key, 0o640)):
        os.chown(path, 0, grp)
        os.chmod(path, mode)
    client = start_client(server, extra_args=("--dns", "off"))
    client.wait_linkup()
    u = pwd.getpwnam("iphttps")
    for p in (server.proc, client.proc):
        st = status(p.pid)      # `ip netns exec` execs the daemon: same pid
        assert st["Uid"].split() == [str(u.pw_uid)] * 4, (p.name, st["Uid"])
        assert st["Gid"].split() == [str(u.pw_gid)] * 4, (p.name, st["Gid"])
        assert st["Groups"].split() == [str(u.pw_gid)], (p.name, st["Groups"])
        for k in ("CapEff", "CapPrm", "CapBnd"):
            assert st[k] == "0000000000001000", (p.name, k, st[k])
        assert st["NoNewPrivs"] == "1", p.name
        assert st["Seccomp"] == "2", (p.name, st["Seccomp"])
    assert client.state()["State"] == "LinkUp"
    assert server.state()["Clients"] == 1


def test_running_server_cannot_write_root_owned_file(server, client):
    """The CA's key is root's (0600): a process with exactly the running
    server's credentials (uid, gid, groups and capabilities read from
    /proc/PID/status) cannot open it for writing, where root can; and the
    server's reload (SIGHUP), which re-reads the server's certificate and
    key, works after the drop."""
    st = status(server.proc.pid)
    uid, gid = st["Uid"].split()[0], st["Gid"].split()[0]
    ca_key = os.path.join(server.state_dir, "ca.key")
    s = os.stat(ca_key)
    assert s.st_uid == 0 and s.st_mode & 0o077 == 0, oct(s.st_mode)
    same = ["setpriv", "--reuid", uid, "--regid", gid, "--clear-groups",
            "--inh-caps", "-all", "--bounding-set", "-all,+net_admin",
            "--no-new-privs", "sh", "-c", "exec 3>>" + ca_key]
    p = subprocess.run(same, capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and "Permission denied" in p.stderr, \
        (p.returncode, p.stderr)
    p = subprocess.run(["sh", "-c", "exec 3>>" + ca_key], timeout=10)
    assert p.returncode == 0     # root can: the file itself is writable
    before = len(server.proc.stderr())
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: "configuration read again" in
                   server.proc.stderr()[before:], 10, 0.1, "the reload")
    assert "warning" not in server.proc.stderr()[before:], \
        server.proc.stderr()[before:]
    assert server.proc.alive() and client.state()["State"] == "LinkUp"
    assert server.state()["Clients"] == 1


def _issue(server, name, d):
    """A client certificate NAME from the server's authority, copied into
    d as root's alone (0600); (cert, key)."""
    p = server.topo.run("srv", [server.binary, "issue-client", "--state-dir", server.state_dir, name])
    argv = p.stdout.split()
    out = []
    for opt, ext in (("--cert", ".pem"), ("--key", ".key")):
        dst = os.path.join(d, name + ext)
        shutil.copyfile(argv[argv.index(opt) + 1], dst)
        os.chmod(dst, 0o600)
        out.append(dst)
    return out


def _subjects(server):
    p = server.topo.run("srv", [server.binary, "clients", "--json", "--run-dir", server.run_dir,
                                server.tun], timeout=10)
    return [c.get("Subject") for c in json.loads(p.stdout) if c["State"] == "LinkUp"]


def test_client_confined_with_root_only_certificates_and_sighup(topo, server, start_client):
    """Two client certificates whose files only root may read (0600 in a
    0700 directory): the client still runs as iphttps with CAP_NET_ADMIN
    alone and the seccomp filter (before privilege separation it stayed
    uid 0 for them), its helper opening them at each attempt, only as the
    configuration names them.  The first is used; its files are replaced
    by another certificate's (a rotation) and the client reloads (SIGHUP,
    which checks them through the helper too): the next connection
    presents the new one.  The helper is root with CAP_NET_ADMIN alone
    (for the DNS and the scripts) and no filter."""
    d = tempfile.mkdtemp(prefix="iph-certs-", dir="/tmp")
    os.chmod(d, 0o700)
    try:
        bob = _issue(server, "bob", d)
        carol = _issue(server, "carol", d)
        c = start_client(server, extra_args=("--cert", bob[0], "--key", bob[1],
                                             "--cert", carol[0], "--key", carol[1]))
        c.wait_linkup()
        assert_confined(c.proc.pid, "client")
        helper = int(re.search(r"privileged helper: pid (\d+)", c.proc.stderr()).group(1))
        hs = status(helper)
        assert hs["Uid"].split()[0] == "0" and hs["CapEff"] == "0000000000001000", hs
        assert hs["CapBnd"] == "0000000000001000" and hs["NoNewPrivs"] == "1", hs
        assert netns.wait_for(lambda: _subjects(server), 10, 0.2, "the client in `clients`") == ["CN=bob"]
        # Rotation: bob's paths now hold dave's certificate and key.
        dave = _issue(server, "dave", d)
        os.replace(dave[0], bob[0])
        os.replace(dave[1], bob[1])
        n = c.proc.stderr().count("reload: configuration read again")
        os.kill(c.proc.pid, signal.SIGHUP)
        netns.wait_for(lambda: c.proc.stderr().count("reload: configuration read again") > n, 20, 0.1,
                       "the client's reload")
        server.topo.run("srv", [server.binary, "disconnect", "--run-dir", server.run_dir, server.tun,
                                "CN=bob"], timeout=10)
        netns.wait_for(lambda: _subjects(server) == ["CN=dave"], 30, 0.2, "the reconnection as dave")
        c.wait_linkup()
        assert_confined(c.proc.pid, "client after the reload")
        assert "keeping the running configuration" not in c.proc.stderr(), c.proc.stderr()
        assert "privileged helper (pid" not in c.proc.stderr(), c.proc.stderr()   # it never ended
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_missing_user_is_a_clear_error(iphttps_bin, tmp_path):
    """--user NAME that does not exist: exit 2 before anything on the host
    changes, naming the fix."""
    p = subprocess.run([iphttps_bin, "server", "--user", "nosuchuser8",
                        "--state-dir", str(tmp_path / "st"),
                        "--listen", "127.0.0.1:1"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "--user nosuchuser8: no such user" in p.stderr and \
        "useradd --system" in p.stderr, p.stderr
    assert not os.path.exists(tmp_path / "st"), "the state dir was made"


def children(pid):
    """The pids of pid's children (/proc/PID/task/*/children)."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            out += [int(x) for x in f.read().split()]
    return out


def test_server_with_intranet_and_hooks_confined(topo, start_server, start_client):
    """With NAT64 (TAYGA), DNS64 (unbound) and connect/disconnect scripts
    the server itself is confined as in the plain case (before privilege
    separation it kept the user but ran without the seccomp filter, which
    its programs would have inherited): its helper runs them.  The helper
    is the same user with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE permitted
    only (nothing effective), and everything still works: the scripts run
    (with CAP_NET_ADMIN: they add an nft table), unbound answers, a reload
    takes new scripts.  Killing the helper stops the server (exit 1);
    stopping the server, the helper takes the translator's TUN and rules
    away and ends."""
    d = tempfile.mkdtemp(prefix="iph-priv-", dir="/tmp")
    os.chmod(d, 0o777)          # the scripts run as iphttps and write here
    conn = script(d, "connect.sh", "grep -E '^(Uid|CapEff|Seccomp)' /proc/self/status > %s/connect.st\n"
                  "nft add table inet iph_priv_$IPHTTPS_ID" % d)
    disc = script(d, "disconnect.sh", "echo $IPHTTPS_ID > %s/disconnect.id\n"
                  "nft delete table inet iph_priv_$IPHTTPS_ID" % d)
    conf = os.path.join(d, "server.conf")
    with open(conf, "w") as f:
        f.write("[server]\nnat64 = auto\ndns64 = 192.0.2.53\nconnect-script = %s\n" % conn)
    try:
        s = start_server("-c", conf)
        assert_confined(s.proc.pid, "server")
        helper = int(re.search(r"privileged helper: pid (\d+)", s.proc.stderr()).group(1))
        assert helper in children(s.proc.pid)
        hs = status(helper)
        assert hs["Uid"].split()[0] == str(pwd.getpwnam("iphttps").pw_uid)
        assert hs["CapEff"] == "0000000000000000" and hs["CapPrm"] == "0000000000001400", hs
        assert hs["NoNewPrivs"] == "1", hs
        # TAYGA and unbound are the helper's children, not the server's.
        names = {open("/proc/%d/comm" % c).read().strip() for c in children(helper)}
        assert {"tayga", "unbound"} <= names, names
        assert s.state()["NAT64Translator"].startswith("tayga")
        dns64 = re.match(r"unbound on \[([0-9a-f:]+)\]:53: running", s.state()["DNS64"]).group(1)
        c = start_client(s, extra_args=("--dns", "off"))
        c.wait_linkup()
        netns.wait_for(lambda: os.path.exists(d + "/connect.st") and
                       "Seccomp" in open(d + "/connect.st").read(), 20, 0.1, "the connect script")
        st = dict((l.split(":", 1)[0], l.split(":", 1)[1].strip())
                  for l in open(d + "/connect.st").read().splitlines())
        assert st["CapEff"] == "0000000000001000" and st["Seccomp"] == "0", st
        netns.wait_for(lambda: "iph_priv_" in topo.run("srv", ["nft", "list", "tables"]).stdout,
                       10, 0.1, "the script's nft table")
        p = topo.run("cli", ["dig", "+short", "+time=3", "+tries=2", "A", "ready.iphttps.invalid",
                             "@" + dns64])
        assert p.stdout.split() == ["127.0.0.1"], p
        # A reload: the helper reads the configuration again, the server
        # takes it; the disconnect script is the new one.
        with open(conf, "a") as f:
            f.write("disconnect-script = %s\n" % disc)
        n = s.proc.stderr().count("configuration read again")
        os.kill(s.proc.pid, signal.SIGHUP)
        netns.wait_for(lambda: s.proc.stderr().count("configuration read again") > n, 10, 0.1, "reload")
        c.stop()
        netns.wait_for(lambda: os.path.exists(d + "/disconnect.id"), 20, 0.1, "the disconnect script")
        netns.wait_for(lambda: "iph_priv_" not in topo.run("srv", ["nft", "list", "tables"]).stdout,
                       10, 0.1, "the script's table removed")
        assert_confined(s.proc.pid, "server after reload")
        # The helper killed: the server stops, status 1, and what the
        # intranet set up is not left behind by the server's own undo.
        os.kill(helper, signal.SIGKILL)
        rc = s.proc.popen.wait(30)
        assert rc == 1, (rc, s.proc.describe())
        assert "privileged helper (pid %d)" % helper in s.proc.stderr(), s.proc.stderr()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_helper_undoes_when_server_dies(topo, start_server):
    """The server killed (SIGKILL: no undo of its own): its helper sees the
    end of the socket, stops TAYGA and unbound and takes the translator's
    TUN and nftables table away, then ends."""
    s = start_server("--nat64", "auto", "--dns64", "192.0.2.53")
    assert_confined(s.proc.pid, "server")
    helper = int(re.search(r"privileged helper: pid (\d+)", s.proc.stderr()).group(1))
    kids = children(helper)
    assert "iphttps_" in topo.run("srv", ["nft", "list", "tables"]).stdout
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.popen.wait(10)
    netns.wait_for(lambda: not os.path.exists("/proc/%d" % helper) or
                   open("/proc/%d/stat" % helper).read().split()[2] == "Z", 20, 0.1, "the helper's end")
    assert all(not os.path.exists("/proc/%d" % k) or
               open("/proc/%d/stat" % k).read().split()[2] == "Z" for k in kids), kids
    assert "iphttps_" not in topo.run("srv", ["nft", "list", "tables"]).stdout
    assert "-n64" not in topo.run("srv", ["ip", "-o", "link"]).stdout
