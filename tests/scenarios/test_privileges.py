"""Once set up, server and client keep only CAP_NET_ADMIN (issue 4 item 7:
no root beyond what the TUN and addresses need) and cannot gain more."""


def caps(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def daemon_pid(proc):
    # topo.popen runs `ip netns exec NS cmd`, which execs cmd: same pid.
    return proc.pid


def test_only_net_admin_after_setup(server, client):
    for p in (server.proc, client.proc):
        st = caps(daemon_pid(p))
        assert st["CapEff"] == "0000000000001000", (p.name, st["CapEff"])
        assert st["CapPrm"] == "0000000000001000", (p.name, st["CapPrm"])
        assert st["CapBnd"] == "0000000000001000", (p.name, st["CapBnd"])
        assert st["NoNewPrivs"] == "1", p.name
    # ... and they still work: carrier, addresses, control socket.
    assert client.state()["State"] == "LinkUp"
    assert server.state()["Clients"] == 1
