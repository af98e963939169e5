"""Configuration files and reload: a malformed line is named and the program
exits 2; SIGHUP reads the file again, and a change of the authentication
mode ends every connection (MS-IPHTTPS 3.2.7.1) while a broken file keeps
the running configuration."""
import os
import signal
import subprocess
import tempfile

import netns

FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_malformed_config_line_is_named_exit_2(iphttps_bin, tmp_path):
    conf = tmp_path / "server.conf"
    write(conf, "[server]\nlisten = [::]:8443\nmax-clients = lots\n")
    p = subprocess.run([iphttps_bin, "server", "-c", str(conf)], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2
    assert "%s:3: max-clients: 'lots' is not a whole number" % conf in p.stderr, p.stderr
    write(conf, "[server]\nauth = sometimes\n")
    p = subprocess.run([iphttps_bin, "server", "-c", str(conf)], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "%s:2: auth: 'sometimes' is not one of: none certificates" % conf in p.stderr
    write(conf, "[client]\nurl = https://x/IPHTTPS\nno-such-key = 1\n")
    p = subprocess.run([iphttps_bin, "client", "-c", str(conf)], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "%s:3: unknown key 'no-such-key' in [client]" % conf in p.stderr


def test_bad_options_exit_2(iphttps_bin):
    for argv, msg in ((["server", "--listen"], "--listen needs a value"),
                      (["server", "--bogus"], "unknown option '--bogus'"),
                      (["client", "http://x/IPHTTPS"], "not an https URL"),
                      (["client", "--ca", "/nonexistent/ca.pem", "https://x/IPHTTPS"], "/nonexistent/ca.pem"),
                      (["client"], "no URL given")):
        p = subprocess.run([iphttps_bin] + argv, capture_output=True, text=True, timeout=20)
        assert p.returncode == 2, (argv, p.returncode, p.stderr)
        assert msg in p.stderr, (argv, p.stderr)


def test_reload_auth_change_ends_connections(topo, start_server, start_client):
    d = tempfile.mkdtemp(prefix="iph-conf-", dir="/tmp")
    os.chmod(d, 0o755)      # as /etc/iphttps: the reload reads it as iphttps
    conf = os.path.join(d, "server.conf")
    write(conf, "[server]\nauth = certificates\nroute = 2001:db8:1::/64\n")
    server = start_server("-c", conf)
    client = start_client(server, extra_args=FAST)
    client.wait_linkup()
    # A broken file: the running configuration stays, the client stays up.
    write(conf, "[server]\nauth = certificates\nroute = not-a-prefix\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    # (not any "reload": the helper's start-up line names reloads too)
    netns.wait_for(lambda: "%s:3: route: 'not-a-prefix'" % conf in server.proc.stderr(), 10, 0.1,
                   "the reload's error naming FILE:LINE")
    assert client.state()["LinkLosses"] == 0
    # The mode changes: every connection ends, the client comes back.
    write(conf, "[server]\nauth = none\nroute = 2001:db8:1::/64\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: client.state()["LinkLosses"] == 1, 10, 0.1, "the client to lose its link")
    assert "authentication mode changed from certificates to none" in server.proc.stderr()
    client.wait_linkup()
    assert server.state()["Authentication"] == "none"
    assert topo.ping("cli", netns.INSIDE_HOST)
