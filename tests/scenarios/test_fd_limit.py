"""Out of file descriptors: the server stops watching its listener for a
second instead of spinning on it (and logging) in a loop, keeps the clients
it has, and accepts again once descriptors are free."""
import os
import shutil
import subprocess
import tempfile
import time

import conftest
import netns

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def test_out_of_descriptors_pauses_accepts(topo, iphttps_bin, probe):
    base = tempfile.mkdtemp(prefix="iph-fd-", dir="/tmp")
    state, run = base + "/state", base + "/run"
    os.makedirs(run)
    # 48 descriptors in all: a few dozen connections exhaust them.
    srv = topo.popen("srv", ["prlimit", "--nofile=48:48", iphttps_bin, "server", "--state-dir", state,
                             "--run-dir", run, "--hostname", netns.SERVER_NAME, "--tun", "iphfd0"],
                     name="server-fd")
    netns.wait_for(lambda: "To connect a client:" in srv.stdout(), 30, 0.1, "the server")
    ca, cert, key = state + "/ca.pem", state + "/clients/client1.pem", state + "/clients/client1.key"
    idle = topo.popen("cli", [PY, os.path.join(HERE, "idle_clients.py"), "--connect", netns.SERVER_V4 + ":443",
                              "--servername", netns.SERVER_NAME, "--ca", ca, "--cert", cert, "--key", key,
                              "--count", "80", "--concurrency", "80", "--setup-timeout", "6",
                              "--min-hold", "3", "--max-hold", "20"],
                      name="idle-fd", stdin=subprocess.PIPE)
    try:
        netns.wait_for(lambda: "READY" in idle.stdout(), 40, 0.2, "the connections to settle")
        time.sleep(2)   # at the limit: the old code logged on every loop turn
        log = srv.stderr()
        assert "out of file descriptors" in log, log[-2000:]
        assert log.count("out of file descriptors") <= 3, log.count("out of file descriptors")
        assert srv.alive()
        ready = [l for l in idle.stdout().splitlines() if l.startswith("READY")][0]
        established = int(ready.split()[1])
        assert 0 < established < 80, ready
    finally:
        idle.popen.stdin.close()
    netns.wait_for(lambda: not idle.alive(), 30, 0.2, "the idle connections to close")
    # Descriptors are free again: a new client gets its 200.
    def answered():
        r = probe(connect=netns.SERVER_V4 + ":443", ca=ca, cert=cert, key=key)
        return r["status"] == "HTTP/1.1 200 OK"
    try:
        assert netns.wait_for(answered, 15, 0.5, "a new connection to be accepted")
    finally:
        srv.stop()
        shutil.rmtree(base, ignore_errors=True)
    rep = conftest.sanitizer_report(srv.stderr())
    assert not rep, rep
