"""Least privilege (issue 8, item 5): once set up, server and client run as
the dedicated user (--user, default iphttps, created as `make install`
does) with CAP_NET_ADMIN only, no way to gain more and the seccomp filter
on; a running server cannot write a root-owned file (the CA's key), yet a
reload re-reads its certificate and key without regaining root."""
import os
import pwd
import signal
import subprocess

import netns


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def test_dedicated_user_net_admin_only_after_setup(server, start_client):
    """Both daemons: uid and gid of the user iphttps (real, effective,
    saved), its group alone, CAP_NET_ADMIN alone (effective, permitted,
    bounding), no_new_privs, a seccomp filter; and they still work.  (The
    client applying DNS through resolvconf or /etc/resolv.conf stays uid 0
    with CAP_NET_ADMIN only: --dns off here.)"""
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
