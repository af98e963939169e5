"""`iphttps server --check` / `client --check` and the same checks before
every start and reload (issue 12 item 6): every value and file is checked
before anything on the host changes (no TUN, no state directory, no banner),
errors name FILE:LINE or the option and exit 2; a misspelt section is an
error; a start without the privilege says which one is missing."""
import os
import signal
import subprocess
import tempfile

import certs
import netns


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def links(topo):
    return topo.run("srv", ["ip", "-o", "link", "show"]).stdout


def run_server(topo, iphttps_bin, args, conf=None):
    argv = [iphttps_bin, "server"] + (["-c", conf] if conf else []) + list(args)
    return topo.run("srv", argv, check=False, timeout=60)


def test_server_check_and_start_change_nothing_on_error(topo, iphttps_bin, tmp_path):
    ca = certs.Authority(str(tmp_path / "pki"))
    crt, key = ca.issue("iphttps.test", server_names=["iphttps.test"], name="srv")
    soon, soon_key = ca.issue("iphttps.test", days=10, server_names=["iphttps.test"],
                              name="soon")
    old, old_key = ca.issue("iphttps.test", days=-2, start_days=-30,
                            server_names=["iphttps.test"], name="old")
    _, other_key = ca.issue("other", name="other")
    state, run = str(tmp_path / "state"), str(tmp_path / "run")
    tun = "iphck%d" % (os.getpid() % 100000)
    base = ["--state-dir", state, "--run-dir", run, "--tun", tun]
    conf = str(tmp_path / "server.conf")

    def head(extra=""):
        return "[server]\nlisten = [::]:8443\n" + extra

    # A sound configuration: OK, and nothing was created.
    write(conf, head("cert = %s\nkey = %s\nclient-ca = %s\n" % (crt, key, ca.pem)))
    p = run_server(topo, iphttps_bin, base + ["--check"], conf)
    assert p.returncode == 0, p.stderr
    assert "configuration OK: %s" % conf in p.stdout, p.stdout
    assert "  listen [::]:8443" in p.stdout
    # A certificate that expires within 30 days: a warning, still OK.
    write(conf, head("cert = %s\nkey = %s\n" % (soon, soon_key)))
    p = run_server(topo, iphttps_bin, base + ["--check"], conf)
    assert p.returncode == 0, p.stderr
    assert "%s (CN=iphttps.test) expires in" % soon in p.stderr, p.stderr
    cases = [
        ("[sever]\nlisten = [::]:8443\n", "%s:1: unknown section [sever]" % conf),
        (head("cert = /nonexistent/s.pem\nkey = %s\n" % key),
         "%s:3: cert: certificate /nonexistent/s.pem: No such file or directory" % conf),
        (head("cert = %s\nkey = %s\n" % (crt, other_key)),
         "%s:3: cert: key %s does not match the certificate %s" % (conf, other_key, crt)),
        (head("cert = %s\nkey = %s\n" % (old, old_key)),
         "%s:3: cert: %s (CN=iphttps.test) expired on" % (conf, old)),
        (head("client-ca = %s\n" % key),
         "%s:3: client-ca: certificate file %s: no PEM certificate in it" % (conf, key)),
        ("[server]\nlisten = 203.0.113.2:http\n", "%s:2: listen: bad port" % conf),
        ("[server]\nlisten = [::]:8443\nprefix = 2001:db8::/48\n",
         "%s:3: prefix: '2001:db8::/48' is not a unicast IPv6 PREFIX/64" % conf),
    ]
    for text, msg in cases:
        write(conf, text)
        for check in (["--check"], []):
            p = run_server(topo, iphttps_bin, base + check, conf)
            assert p.returncode == 2, (text, check, p.returncode, p.stderr)
            if msg:
                assert msg in p.stderr, (text, p.stderr)
            assert "To connect a client" not in p.stdout, p.stdout
    # A private key others can read is refused (as ssh does).
    os.chmod(key, 0o644)
    write(conf, head("cert = %s\nkey = %s\n" % (crt, key)))
    p = run_server(topo, iphttps_bin, base, conf)
    assert p.returncode == 2 and "key %s: open to other users (mode 0644)" % key \
        in p.stderr, p.stderr
    # An option on the command line is named as such.
    p = run_server(topo, iphttps_bin, base + ["--cert", "/nonexistent/c.pem",
                                              "--key", key])
    assert p.returncode == 2 and "--cert: certificate /nonexistent/c.pem" in p.stderr
    p = run_server(topo, iphttps_bin, base + ["--server-header", "x\r\nSet-Cookie: a"])
    assert p.returncode == 2 and "--server-header: must be printable text" in p.stderr
    p = run_server(topo, iphttps_bin, base + ["--tun", "a/b"])
    assert p.returncode == 2 and "--tun: 'a/b' is not an interface name" in p.stderr
    # None of this touched the host.
    assert tun not in links(topo)
    assert not os.path.exists(state) and not os.path.exists(run)


def test_nonroot_start_names_the_privilege(iphttps_bin, needs_root):
    d = tempfile.mkdtemp(prefix="iph-nonroot-", dir="/tmp")
    state = os.path.join(d, "state")
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        iphttps_bin, "server", "--state-dir", state, "--listen",
                        "127.0.0.1:8443", "--tun", "iphnr0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "needs CAP_NET_ADMIN" in p.stderr and "not root" in p.stderr, p.stderr
    assert " error: " in p.stderr
    assert not os.path.exists(state)
    assert "To connect a client" not in p.stdout
    os.rmdir(d)


def test_client_check(iphttps_bin, tmp_path):
    ca = certs.Authority(str(tmp_path / "pki"))
    crt, key = ca.issue("bob")
    old, old_key = ca.issue("old", days=-1, start_days=-10)
    conf = str(tmp_path / "client.conf")
    write(conf, "[client]\nurl = https://iphttps.test/IPHTTPS\nca = %s\ncert = %s\n"
          "key = %s\n" % (ca.pem, crt, key))
    p = subprocess.run([iphttps_bin, "client", "-c", conf, "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "entry point https://iphttps.test/IPHTTPS" in p.stdout, p.stdout
    for text, msg in (
            ("[client]\nurl = ftp://x/IPHTTPS\n", "%s:2: url: " % conf),
            ("[client]\nurl = https://x/IPHTTPS\ncert = %s\nkey = %s\n" % (old, old_key),
             "%s:3: cert: %s (CN=old) expired on" % (conf, old)),
            ("[client]\nurl = https://x/IPHTTPS\nca = /nonexistent/ca.pem\n",
             "%s:3: ca: certificate file /nonexistent/ca.pem: No such file" % conf),
            ("[clients]\nurl = https://x/IPHTTPS\n", "%s:1: unknown section [clients]" % conf),
            ("[client]\nurl = https://x/IPHTTPS\ntun = bad name\n", "%s:3: tun: " % conf)):
        write(conf, text)
        p = subprocess.run([iphttps_bin, "client", "-c", conf, "--check"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and msg in p.stderr, (text, p.stderr)


def test_reload_runs_the_same_checks(topo, start_server, tmp_path):
    # As /etc/iphttps: the reload reads it as the server's user (iphttps).
    d = tempfile.mkdtemp(prefix="iph-check-", dir="/tmp")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "server.conf")
    write(conf, "[server]\nroute = 2001:db8:1::/64\n")
    server = start_server("-c", conf)
    write(conf, "[server]\nroute = 2001:db8:1::/64\ncert = /nonexistent/s.pem\n"
          "key = /nonexistent/s.key\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: "keeping the running configuration" in server.proc.stderr(),
                   10, 0.1, "the reload to be refused")
    assert "%s:3: cert: certificate /nonexistent/s.pem: No such file" % conf \
        in server.proc.stderr()
    assert server.state()["State"] == "Listen"
