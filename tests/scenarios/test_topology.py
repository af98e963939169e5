"""The namespace topology itself works, without iphttps, and leaves nothing
behind."""

import os

import pytest

import netns


def test_client_reaches_server_over_ipv4(topo):
    assert topo.ping("cli", netns.SERVER_V4, count=2), \
        "cli cannot ping the server's public address"


def test_inside_host_reaches_server_over_ipv6(topo):
    assert topo.ping("ins", netns.SERVER_INSIDE, count=2), \
        "ins cannot ping6 the server's inside address"


def test_client_has_no_ipv6_path_to_the_inside(topo):
    # Only the tunnel may carry the client to the inside network.
    assert not topo.ping("cli", netns.INSIDE_HOST, count=1, timeout=1)


def test_client_resolves_server_name(topo):
    p = topo.run("cli", ["getent", "hosts", netns.SERVER_NAME])
    assert p.stdout.split()[0] == netns.SERVER_V4
    p = topo.run("cli", ["getent", "hosts", "localhost"])
    assert p.stdout.split()[0] in ("127.0.0.1", "::1")


def test_second_client_host(topo):
    addr = topo.add_client("cli2")
    assert addr == "198.51.100.3"
    assert topo.ping("cli2", netns.SERVER_V4)
    assert topo.ping("cli2", topo.client_addr["cli"])
    p = topo.run("cli2", ["getent", "hosts", netns.SERVER_NAME])
    assert p.stdout.split()[0] == netns.SERVER_V4


def test_loopback_up_everywhere(topo):
    for host in ("cli", "net", "srv", "ins"):
        p = topo.run(host, ["ip", "-o", "link", "show", "lo"])
        assert "UP" in p.stdout.split("<")[1].split(">")[0], (host, p.stdout)


def test_popen_collects_output(topo):
    p = topo.popen("srv", ["sh", "-c", "echo hello; echo oops >&2"],
                   name="hello")
    netns.wait_for(lambda: not p.alive(), 10, what="sh to exit")
    assert p.stdout() == "hello\n"
    assert p.stderr() == "oops\n"


def test_wait_for_times_out():
    with pytest.raises(TimeoutError):
        netns.wait_for(lambda: False, 0.3, 0.05, "nothing")
    assert netns.wait_for(lambda: 42, 1) == 42


def test_teardown_leaves_nothing(needs_root, tmp_path):
    t = netns.Topology(tmp_path)
    t.add_client("cli2")
    # A process that ignores SIGTERM, and one that forks a child.
    stubborn = t.popen("srv", ["sh", "-c", "trap '' TERM; sleep 300"])
    forker = t.popen("cli", ["sh", "-c", "sleep 300 & sleep 300"])
    names = list(t.namespaces)
    etc = list(t.etc_dirs)
    assert len(names) == 5 and len(etc) == 2
    assert all(os.path.isfile(os.path.join(d, "hosts")) for d in etc)
    netns.wait_for(lambda: len(t.pids("cli")) >= 2, 5,
                   what="the forked sleeps")
    inner = t.pids("cli") + t.pids("srv")
    t.teardown()
    assert t.leftovers() == []
    present = netns.list_namespaces()
    assert not [n for n in names if n in present]
    assert not [d for d in etc if os.path.exists(d)]
    assert not stubborn.alive() and not forker.alive()
    for pid in inner:
        assert not _pid_alive(pid), "process %d survived teardown" % pid
    t.teardown()  # a second call is harmless


def test_teardown_after_failed_build(needs_root, tmp_path, monkeypatch):
    made = []

    def failing_build(self):
        self._add_ns("net")
        made.extend(self.namespaces)
        self._add_ns("net")  # the same name again: `ip netns add` fails
    monkeypatch.setattr(netns.Topology, "build", failing_build)
    with pytest.raises(netns.CommandError):
        netns.Topology(tmp_path)
    assert made and not [n for n in made if n in netns.list_namespaces()]


def _pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
