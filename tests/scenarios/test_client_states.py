"""The client's state machine (issue 4 items 1 and 3): states and their
transitions in the log, the TUN carrier down whenever the link is not up
(routes through it unused), disable/enable, and reconnect that retries at
once and resets the timer."""
import time

import faults
import netns


def carrier(topo, host="cli", dev="iphttps0"):
    return topo.run(host, ["cat", "/sys/class/net/%s/carrier" % dev]).stdout.strip()


def ctl(topo, client, cmd):
    return topo.run(client.host, [client.binary, cmd, "--run-dir", client.run_dir, client.tun])


def test_transitions_logged_and_carrier_follows(topo, server, start_client):
    c = start_client(server, extra_args=("--reconnect-initial", "30", "--reconnect-max", "60"))
    c.wait_linkup()
    log = c.proc.stderr()
    for t in ("Enabled -> LinkDown", "LinkDown -> Established", "Established -> LinkUp"):
        assert t in log, log
    assert carrier(topo) == "1"
    # Disabled: link closed, carrier down, routes through the TUN unused.
    ctl(topo, c, "disable")
    st = faults.wait_state(c, lambda s: s["State"] == "Disabled", "Disabled")
    assert st["InterfaceStatus"] == "IPHTTPS interface deactivated"
    assert carrier(topo) == "0"
    assert "LinkUp -> Disabled" in c.proc.stderr()
    assert not topo.ping("cli", netns.INSIDE_HOST, timeout=1)
    r = topo.run("cli", ["ip", "-6", "route", "get", netns.INSIDE_HOST], check=False)
    assert "iphttps0" not in r.stdout, r.stdout  # the linkdown route is not chosen
    ctl(topo, c, "enable")
    c.wait_linkup()
    assert carrier(topo) == "1"
    assert netns.wait_for(lambda: topo.ping("cli", netns.INSIDE_HOST), 10, 0.2, "ping after enable")


def test_reconnect_retries_now_and_resets_timer(topo, start_server, start_client):
    server = start_server()
    c = start_client(server, extra_args=("--reconnect-initial", "60", "--reconnect-max", "120"))
    c.wait_linkup()
    server.proc.stop()
    st = faults.wait_state(c, lambda s: s["State"] == "LinkDown" and s["NextAttempt"] not in ("-", "in progress"),
                           "the timer to be armed")
    attempts = st["Attempts"]
    assert st["InterfaceStatus"] == "Failed to connect to the IPHTTPS server; waiting to reconnect"
    assert carrier(topo) == "0"
    # The server comes back; without `reconnect` the client would wait 60 s.
    server.proc = topo.popen("srv", server.args, name="server-again")
    server.client_line = server._wait_connect_line()
    t0 = time.monotonic()
    out = ctl(topo, c, "reconnect").stdout
    assert "reconnecting now" in out, out
    c.wait_linkup(timeout=15)
    assert time.monotonic() - t0 < 15
    assert c.state()["Attempts"] > attempts


def test_state_of_all_instances_and_json(topo, server, client):
    p = topo.run("cli", [client.binary, "state", "--run-dir", client.run_dir])
    assert "Role" in p.stdout and "LinkUp" in p.stdout and "LastErrorCode" in p.stdout
    p = topo.run("cli", [client.binary, "state", "--json", "--run-dir", client.run_dir])
    import json
    arr = json.loads(p.stdout)
    assert isinstance(arr, list) and arr[0]["Interface"] == "iphttps0"
    for k in ("Role", "Interface", "URL", "State", "InterfaceStatus", "LastErrorCode", "LastError",
              "NextAttempt", "ConnectedSince", "TLS", "ServerCertificate", "Addresses", "Routes",
              "RxBytes", "TxBytes", "RxPackets", "TxPackets"):
        assert k in arr[0], k
    p = topo.run("cli", [client.binary, "state", "--run-dir", client.run_dir, "nosuch0"], check=False)
    assert p.returncode == 1 and "no iphttps instance named 'nosuch0'" in p.stderr
