"""The server as a supervisor and worker processes (--workers N, issue 11).

Real clients in their own namespaces, the real kernel on both ends: with
--workers 3 the supervisor hands each connection to the least-loaded
worker, so three clients land on three workers; packets between them cross
workers through the shared-memory rings (never through the kernel, which
would decrement the hop limit: ND from another client would arrive invalid),
the inside reaches every client through the steering program, and a killed
worker is replaced on its queue while its clients reconnect elsewhere.
"""

import errno
import fcntl
import json
import os
import signal
import struct
import subprocess
import tempfile
import time

import pytest

import netns
from conftest import HERE, PYTHON

HOSTS = ("cli", "cli2", "cli3")


def ll_addresses(client):
    p = client.topo.run(client.host, ["ip", "-j", "-6", "addr", "show", "dev",
                                      "iphttps0", "scope", "link"])
    return [a["local"] for l in json.loads(p.stdout or "[]")
            for a in l.get("addr_info", []) if "local" in a]


def workers_of(server):
    st = server.state()
    assert "Workers" in st, st
    return st["Workers"]


def clients_json(server):
    p = server.topo.run("srv", [server.binary, "clients", "--json", "--run-dir",
                                server.run_dir, server.tun])
    return json.loads(p.stdout)


FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


def start_three(start_server, start_client, *args):
    server = start_server("--workers", "3", *args)
    netns.wait_for(lambda: all(w["State"] == "running"
                               for w in workers_of(server)), 20, 0.2,
                   "three workers running")
    clients = []
    for h in HOSTS:
        c = start_client(server, host=h, extra_args=FAST)
        c.wait_linkup()
        clients.append(c)
    addrs = [c.wait_address() for c in clients]
    return server, clients, addrs


def tcp_echo(topo, srv_host, cli_host, addr, port=5555):
    """A TCP connection from cli_host to addr (in srv_host) and back."""
    server = topo.popen(srv_host, ["python3", "-c", (
        "import socket;s=socket.socket(socket.AF_INET6);"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
        "s.bind(('::',%d));s.listen(1);c,_=s.accept();"
        "c.sendall(c.recv(100)[::-1]);c.close()") % port], name="echo")
    try:
        def attempt():
            p = topo.run(cli_host, ["python3", "-c", (
                "import socket,sys;c=socket.create_connection(('%s',%d),3);"
                "c.sendall(b'across workers');print(c.recv(100).decode())")
                % (addr, port)], check=False, timeout=10)
            return p.returncode == 0 and "srekrow ssorca" in p.stdout
        netns.wait_for(attempt, 20, 0.5, "TCP %s -> %s" % (cli_host, addr))
    finally:
        server.stop()


def test_spread_ping_tcp_and_ll_across_workers(topo, start_server, start_client):
    server, clients, addrs = start_three(start_server, start_client)
    ws = workers_of(server)
    # The acceptor gives each new client to the least-loaded worker.
    assert sorted(w["Clients"] for w in ws) == [1, 1, 1], ws
    assert len({w["PID"] for w in ws}) == 3 and server.proc.pid not in \
        [w["PID"] for w in ws], ws
    # Workers hold no capability (the supervisor keeps CAP_NET_ADMIN).
    for w in ws:
        with open("/proc/%d/status" % w["PID"]) as f:
            caps = dict(l.split(":\t", 1) for l in f if l.startswith("Cap"))
        assert int(caps["CapEff"], 16) == 0 and int(caps["CapPrm"], 16) == 0, caps
        assert open("/proc/%d/status" % w["PID"]).read().count(
            "Seccomp:\t2") == 1
    # Every client and its worker, from clients (gathered from each worker).
    recs = clients_json(server)
    assert len([r for r in recs if r.get("State") == "LinkUp"]) == 3, recs
    assert len({r["Id"] for r in recs}) == 3, recs
    # Inside to every client (the steering program picks each one's queue).
    for a in addrs:
        netns.wait_for(lambda: topo.ping("ins", a), 20, 0.5,
                       "inside to %s" % a)
    # Client to client, global, both ways, between every pair of workers.
    for i, c in enumerate(clients):
        for j, a in enumerate(addrs):
            if i != j:
                netns.wait_for(lambda: topo.ping(c.host, a), 20, 0.5,
                               "%s to %s" % (c.host, a))
    # Link-local between clients (mode Certificates), the hop limit intact:
    # ND from another worker's client is accepted by the kernel only at 255.
    ll = [ll_addresses(c) for c in clients]
    assert all(ll), ll
    for i, c in enumerate(clients):
        j = (i + 1) % 3
        target = "%s%%iphttps0" % ll[j][0]
        netns.wait_for(lambda: topo.ping(c.host, target), 20, 0.5,
                       "%s to %s" % (c.host, target))
    # TCP both ways between clients on different workers.
    tcp_echo(topo, "cli2", "cli", addrs[1])
    tcp_echo(topo, "cli", "cli2", addrs[0], port=5556)
    st = server.state()
    assert st["Clients"] == 3, st
    assert st["Counters"]["ClientToClient"] > 0, st["Counters"]
    # Nothing went through the kernel between clients: no Redirect.
    for c in clients:
        out = topo.run(c.host, ["nstat", "-az", "Icmp6InRedirects"]).stdout
        assert " 0 " in out or out.split()[-2] == "0", out


def test_killed_worker_replaced_clients_reconnect(topo, start_server, start_client):
    server, clients, addrs = start_three(start_server, start_client)
    ws = workers_of(server)
    victim = ws[1]
    os.kill(victim["PID"], signal.SIGKILL)

    def restarted():
        w = workers_of(server)[1]
        return w if w["Restarts"] == 1 and w["State"] == "running" and \
            w["PID"] != victim["PID"] else None
    w = netns.wait_for(restarted, 30, 0.2, "a successor on queue 1")
    # Every client is linked up again (the dropped one reconnected) and
    # keeps its address: the dead worker's claims were swept.
    netns.wait_for(lambda: server.state()["Clients"] == 3, 60, 0.5,
                   "three clients again")
    for a in addrs:
        netns.wait_for(lambda: topo.ping("ins", a), 30, 0.5,
                       "inside to %s after the restart" % a)
    netns.wait_for(lambda: topo.ping("cli", addrs[2]) and
                   topo.ping("cli3", addrs[0]), 30, 0.5,
                   "client to client after the restart")
    assert server.proc.alive()


def test_full_workers_skipped_then_refused(topo, start_server, start_client):
    # 130 descriptors a process: 128 kept for the daemon's own, so each
    # worker holds one client and one handshake, two connections; no
    # CAP_SYS_RESOURCE is needed to lower a limit.
    server = start_server("--workers", "3",
                          wrap=("prlimit", "--nofile=130:130", "--"))
    netns.wait_for(lambda: all(w["State"] == "running" and w["Capacity"] == 2
                               for w in workers_of(server)), 20, 0.2,
                   "three workers of capacity 2")
    clients = []
    for h in HOSTS:
        c = start_client(server, host=h)
        c.wait_linkup()
        clients.append(c)
    # A full worker is skipped, never handed a connection it cannot hold.
    ws = workers_of(server)
    assert [w["Clients"] for w in ws] == [1, 1, 1], ws
    # All full: the next client is refused cleanly and counted, the
    # control socket still answers, the others stay served.
    before = server.state()["Counters"]["RefusedFull"]
    c4 = start_client(server, host="cli4")
    netns.wait_for(lambda: server.state()["Counters"]["RefusedFull"] > before,
                   30, 0.5, "a refusal counted")
    assert c4.state().get("State") != "LinkUp"
    assert server.state()["Clients"] == 3
    a = clients[0].wait_address()
    netns.wait_for(lambda: topo.ping("ins", a), 20, 0.5, "inside to %s" % a)


def test_unprivileged_user_cannot_attach_a_queue(topo, start_server):
    server = start_server("--workers", "2")
    code = ("import fcntl,os,struct,sys\n"
            "os.setgid(65534);os.setuid(65534)\n"
            "fd=os.open('/dev/net/tun',os.O_RDWR)\n"
            "ifr=struct.pack('16sH22x',%r.encode(),0x0001|0x1000|0x0100)\n"
            "try:\n fcntl.ioctl(fd,0x400454ca,ifr);print('attached')\n"
            "except OSError as e:\n print('refused',e.errno)\n") % server.tun
    p = topo.run("srv", ["python3", "-c", code])
    assert p.stdout.strip() == "refused %d" % errno.EPERM, p.stdout + p.stderr


def test_clients_disconnect_reload_and_a_silent_worker(topo, start_server,
                                                       start_client, tmp_path):
    confdir = tempfile.mkdtemp(prefix="iph-wconf-", dir="/tmp")
    os.chmod(confdir, 0o755)
    conf = os.path.join(confdir, "server.conf")
    with open(conf, "w") as f:
        f.write("[server]\nauth = certificates\n")
    os.chmod(conf, 0o644)
    server, clients, addrs = start_three(start_server, start_client,
                                         "-c", conf)
    recs = clients_json(server)
    # disconnect reaches the worker holding that client, and only it.
    victim = recs[2]["Id"]
    p = topo.run("srv", [server.binary, "disconnect", "--run-dir",
                         server.run_dir, server.tun, str(victim)], check=False)
    assert p.returncode == 0 and "disconnected 1 connection" in p.stdout, \
        p.stdout + p.stderr
    assert "client #%d " % victim in server.proc.stderr() and \
        "disconnected by the administrator (%d)" % victim in \
        server.proc.stderr()
    netns.wait_for(lambda: server.state()["Counters"]["Disconnected"] == 1,
                   10, 0.2, "the disconnect counted")
    p = topo.run("srv", [server.binary, "disconnect", "--run-dir",
                         server.run_dir, server.tun, "999999999"], check=False)
    assert p.returncode == 1 and "no connected client with Id" in p.stderr, \
        p.stdout + p.stderr
    netns.wait_for(lambda: server.state()["Clients"] == 3, 60, 0.5,
                   "the disconnected client back")
    # A worker that does not answer is named; the others' clients are
    # listed, and state (shared memory) does not wait for it at all.
    w0 = workers_of(server)[0]
    stopped = w0["PID"]
    os.kill(stopped, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        recs = clients_json(server)
        took = time.monotonic() - t0
        named = [r for r in recs if "did not answer" in r.get("Worker", "")]
        assert len(named) == 1 and str(stopped) in named[0]["Worker"], recs
        # (the client that came back went to any worker)
        assert len([r for r in recs if r.get("State") == "LinkUp"]) == \
            3 - w0["Clients"], (recs, w0)
        assert server.state()["Clients"] == 3
    finally:
        os.kill(stopped, signal.SIGCONT)
    assert took < 10, took       # about its one second, not for ever
    # Reload: checked by the supervisor, applied by every worker; a change
    # of the authentication mode ends every connection on every worker
    # (3.2.7.1), and they come back in mode None.
    losses = [c.state()["LinkLosses"] for c in clients]
    with open(conf, "w") as f:
        f.write("[server]\nauth = none\n")
    before = len(server.proc.stderr())
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: server.proc.stderr()[before:].count(
        "closed: authentication mode changed") == 3, 20, 0.2,
        "every worker ending its connections")
    netns.wait_for(lambda: all(c.state()["LinkLosses"] > l
                               for c, l in zip(clients, losses)), 30, 0.2,
                   "every client losing its link")
    netns.wait_for(lambda: server.state()["Clients"] == 3 and
                   server.state()["Authentication"] == "none", 60, 0.5,
                   "the clients back in mode None")
    assert [w["Restarts"] for w in workers_of(server)] == [0, 0, 0]


def test_thousand_idle_clients_over_three_workers(topo, start_server, probe):
    """1,000 idle clients spread over three workers; state and a new client
    served while they are held (the 50,000 run is the bench's)."""
    server = start_server("--workers", "3")
    argv = [PYTHON, os.path.join(HERE, "idle_clients.py"),
            "--connect", netns.SERVER_V4 + ":443",
            "--servername", netns.SERVER_NAME,
            "--ca", server.ca, "--cert", server.cert, "--key", server.key,
            "--count", "1000", "--min-hold", "2",
            "--max-hold", "60", "--setup-timeout", "120"]
    idle = topo.popen("cli", argv, name="idle", stdin=subprocess.PIPE)
    try:
        def ready_line():
            if not idle.alive():
                raise AssertionError("idle_clients.py exited:\n"
                                     + idle.describe())
            return next((l for l in idle.stdout().splitlines()
                         if l.startswith("READY ")), None)
        line = netns.wait_for(ready_line, 150, 0.5, "all idle connections")
        assert line.split(" ")[1:3] == ["1000", "0"], line
        st = server.state()
        assert st["Clients"] == 1000, st
        # The acceptor balances exactly (least connections first): a worker
        # is never seen lighter than it is, even while it takes a batch of
        # connections in one turn (it was: 349/326/325 happened).  A margin
        # of 2 for a connection counted twice for a moment.
        n = [w["Clients"] for w in st["Workers"]]
        assert sum(n) == 1000 and max(n) - min(n) <= 2, st["Workers"]
        r = probe(connect=netns.SERVER_V4 + ":443", ca=server.ca,
                  cert=server.cert, key=server.key)
        assert r["status"] == "HTTP/1.1 200 OK", r
        assert server.state()["Clients"] >= 1000
    finally:
        idle.popen.stdin.close()
        idle.stop()


def test_revoked_at_reload_on_every_worker(topo, start_server, start_client):
    """A CRL read again at SIGHUP ends the revoked certificate's connections
    on every worker, and none of them gets back in."""
    server, clients, addrs = start_three(start_server, start_client)
    assert sorted(w["Clients"] for w in workers_of(server)) == [1, 1, 1]
    p = subprocess.run([server.binary, "revoke-client", "--state-dir",
                        server.state_dir, "client1"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: server.state()["Counters"]["RevokedAtReload"] == 3,
                   20, 0.2, "the three revoked connections ended")
    assert server.state()["Clients"] == 0
    assert [w["Restarts"] for w in workers_of(server)] == [0, 0, 0]
