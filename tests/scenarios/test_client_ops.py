"""The client as admins run wg-quick (issue 12 items 3 and 8): --up-script
and --down-script with the link's interface, addresses, routes and DNS in
the environment; SIGHUP (systemctl reload) reads the configuration again
(a new certificate is presented at the next connection, an entry point that
is gone is left at once, a broken file keeps the running configuration);
after a server restart the client is back within seconds with the default
timers, not after the 30 s of the reconnect timer."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import types

import netns
from hookutil import env_file, script

FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


def test_up_and_down_scripts(topo, start_server, start_client):
    d = tempfile.mkdtemp(prefix="iph-updown-", dir="/tmp")
    up = script(d, "up.sh", "env | grep ^IPHTTPS_ > %s/up.env" % d)
    down = script(d, "down.sh", "env | grep ^IPHTTPS_ > %s/down.env" % d)
    server = start_server("--dns", "2001:db8:1::53")
    client = start_client(server, extra_args=FAST + ("--up-script", up, "--down-script", down,
                                                      "--dns", "off"))
    client.wait_linkup()
    addr = client.wait_address()
    e = netns.wait_for(lambda: os.path.exists(d + "/up.env") and env_file(d + "/up.env"), 15,
                       0.1, "the up script")
    assert e["IPHTTPS_EVENT"] == "up" and e["IPHTTPS_INTERFACE"] == client.tun
    assert e["IPHTTPS_URL"] == server.url and e["IPHTTPS_PEER"].startswith(netns.SERVER_V4)
    assert addr in e["IPHTTPS_ADDRESSES"], e
    assert netns.INSIDE_PREFIX in e["IPHTTPS_ROUTES"], e
    assert e["IPHTTPS_DNS"] == "2001:db8:1::53", e
    client.stop()
    e = netns.wait_for(lambda: os.path.exists(d + "/down.env") and env_file(d + "/down.env"), 10,
                       0.1, "the down script")
    assert e["IPHTTPS_EVENT"] == "down" and e["IPHTTPS_REASON"] == "the client stops"
    assert int(e["IPHTTPS_DURATION"]) >= 0 and int(e["IPHTTPS_RX_BYTES"]) > 0
    # --hook-fatal: a failing up script ends the link (a local failure).
    fail = script(d, "fail.sh", "echo no route for you; exit 1")
    bad = start_client(server, host="cli2", extra_args=FAST + ("--up-script", fail,
                                                                "--hook-fatal", "--dns", "off"))
    netns.wait_for(lambda: bad.state()["LastErrorCode"] == "0xa0000007", 30, 0.2,
                   "the link ended by the up script")
    assert "the up script failed (--hook-fatal)" in bad.state()["LastError"]
    assert "up-script: %s exited with status 1: no route for you" % fail in bad.proc.stderr()


def test_sighup_reads_the_configuration_again(topo, server, start_client):
    p = subprocess.run([server.binary, "issue-client", "bob", "--state-dir", server.state_dir],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    d = tempfile.mkdtemp(prefix="iph-cliconf-", dir="/tmp")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "client.conf")

    def write(url, cert):
        with open(conf, "w") as f:
            f.write("[client]\nurl = %s\nca = %s\ncert = %s\nkey = %s\n"
                    "reconnect-initial = 1\nreconnect-max = 2\n"
                    % (url, server.ca, cert, cert[:-4] + ".key"))

    bob = os.path.join(server.state_dir, "clients", "bob.pem")
    write(server.url, server.cert)
    # Everything from the file: nothing of the server's printed command.
    client = start_client(types.SimpleNamespace(client_argv=[server.binary, "client"]),
                          extra_args=("-c", conf))
    client.wait_linkup()

    def hup():
        n = client.proc.stderr().count("reload:")
        os.kill(client.proc.pid, signal.SIGHUP)
        netns.wait_for(lambda: client.proc.stderr().count("reload:") > n, 10, 0.1, "a reload")

    # A broken file: the running configuration stays, so does the link.
    with open(conf, "a") as f:
        f.write("reconnect-max = soon\n")
    hup()
    assert re.search(r"error: reload: %s:8: reconnect-max: 'soon'.*keeping the running "
                     "configuration" % re.escape(conf), client.proc.stderr())
    # Another certificate: the link stays; the next connection presents it.
    write(server.url, bob)
    hup()
    assert client.state()["State"] == "LinkUp" and client.state()["LinkLosses"] == 0
    topo.run("cli", [client.binary, "disable", "--run-dir", client.run_dir, client.tun])
    topo.run("cli", [client.binary, "enable", "--run-dir", client.run_dir, client.tun])
    client.wait_linkup()
    netns.wait_for(lambda: re.search(r"POST /IPHTTPS accepted, .*CN=bob serial",
                                     server.proc.stderr()), 10, 0.1,
                   "bob's certificate:\n%s\n%s" % (server.proc.stderr()[-3000:],
                                                     client.proc.stderr()[-3000:]))
    # The entry point in use is gone: the client leaves it at once.
    write(server.url.replace("/IPHTTPS", "/IPTLS"), bob)
    hup()
    netns.wait_for(lambda: "POST /IPTLS accepted" in server.proc.stderr(), 15, 0.1,
                   "a connection to the new entry point")
    client.wait_linkup()
    assert client.state()["URL"].endswith("/IPTLS")


def test_back_within_seconds_after_a_server_restart(topo, start_server, start_client):
    """Default timers (30 s after a first failure): the immediate retry after
    the loss meets the stopped server; quick retries (1, 2, 4, 8 s) bring the
    client back once the server listens again."""
    server = start_server()
    client = start_client(server)
    client.wait_linkup()
    assert server.proc.stop() == 0
    netns.wait_for(lambda: client.state()["State"] != "LinkUp", 10, 0.1, "the client to notice")
    netns.wait_for(lambda: "next attempt in 1 s" in client.proc.stderr(), 10, 0.1,
                   "the first quick retry")
    server.proc = topo.popen("srv", server.args, name="server-restarted")
    server.client_line = server._wait_connect_line()
    t0 = time.monotonic()
    client.wait_linkup(timeout=25)
    st = client.state()
    assert st["LinkLosses"] == 1 and st["Failures"] >= 1, st
    # Never the 30 s of the specification's first interval.
    assert "next attempt in 30 s" not in client.proc.stderr(), client.proc.stderr()
    assert time.monotonic() - t0 < 25


def test_reload_that_changes_the_ra_reaches_clients_at_once(topo, start_server, start_client):
    """A route added on the server reaches a connected client at the reload,
    not with the next periodic RA (--ra-interval, 600 s by default)."""
    d = tempfile.mkdtemp(prefix="iph-ra-", dir="/tmp")
    os.chmod(d, 0o755)      # as /etc/iphttps: the reload reads it as iphttps
    conf = os.path.join(d, "server.conf")
    with open(conf, "w") as f:
        f.write("[server]\nroute = %s\n" % netns.INSIDE_PREFIX)
    server = start_server("-c", conf)
    client = start_client(server, extra_args=FAST)
    client.wait_linkup()
    client.wait_address()

    def routes():
        return topo.run("cli", ["ip", "-6", "route", "show", "dev", client.tun]).stdout

    netns.wait_for(lambda: netns.INSIDE_PREFIX in routes(), 15, 0.2, "the first route")
    assert "2001:db8:77::/64" not in routes()
    with open(conf, "w") as f:
        f.write("[server]\nroute = %s\nroute = 2001:db8:77::/64\n" % netns.INSIDE_PREFIX)
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: "2001:db8:77::/64" in routes(), 10, 0.2, "the new route at the client")
    assert "the Router Advertisement changed; sent to 1 client" in server.proc.stderr()
    # A reload that changes nothing in the RA sends none.
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: server.proc.stderr().count("reload: configuration read again") == 2,
                   10, 0.1, "the second reload")
    assert server.proc.stderr().count("the Router Advertisement changed") == 1


def test_socket_activation_keeps_clients_across_a_restart(topo, start_server, start_client):
    """With the socket systemd holds (iphttps-server.socket; sockact.py does
    the same here), a server restart refuses nobody: the client's immediate
    retry after the lost link waits in the backlog and is accepted by the
    new server; no attempt fails, so no reconnect timer (Windows' 30 s)."""
    act = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "sockact.py"), "--pause", "2", "443", "--"]
    server = start_server(wrap=act)
    assert "the socket systemd passed (socket activation" in server.proc.stderr()
    assert server.state()["Listen"] == "[::]:443"
    client = start_client(server)
    client.wait_linkup()
    os.kill(server.proc.pid, signal.SIGUSR1)
    netns.wait_for(lambda: client.state()["LinkLosses"] == 1, 15, 0.1, "the link lost")
    client.wait_linkup(timeout=25)
    st = client.state()
    assert st["Failures"] == 0, (st, client.proc.stderr())
    assert "next attempt in" not in client.proc.stderr()
    assert server.proc.stderr().count("socket activation") == 2
