"""What a confined daemon looks like from outside (issue 8 item 5): its
/proc status, and what a process with exactly its credentials may write."""
import pwd
import subprocess


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def assert_confined(pid, what):
    """uid/gid of iphttps, CAP_NET_ADMIN alone (effective, permitted,
    bounding; nothing inheritable or ambient), no_new_privs, a seccomp
    filter; and a process with exactly its credentials cannot write a
    root-owned file (this machine's /etc/shadow, opened for appending
    only: nothing is written)."""
    u = pwd.getpwnam("iphttps")
    st = status(pid)
    assert st["Uid"].split() == [str(u.pw_uid)] * 4, (what, st["Uid"])
    assert st["Gid"].split() == [str(u.pw_gid)] * 4, (what, st["Gid"])
    for k in ("CapEff", "CapPrm", "CapBnd"):
        assert st[k] == "0000000000001000", (what, k, st[k])
    assert st["CapInh"] == st["CapAmb"] == "0000000000000000", (what, st["CapInh"])
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", (what, st["Seccomp"])
    same = ["setpriv", "--reuid", str(u.pw_uid), "--regid", str(u.pw_gid), "--clear-groups",
            "--inh-caps", "-all", "--bounding-set", "-all,+net_admin",
            "--no-new-privs", "sh", "-c", "exec 3>>/etc/shadow"]
    p = subprocess.run(same, capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and "Permission denied" in p.stderr, (p.returncode, p.stderr)
