"""1,000 simultaneous idle clients: the server completes every handshake
and POST, holds them all, counts them, and still serves a newcomer."""

import json
import os
import subprocess
import time

import netns
from conftest import HERE, PYTHON

COUNT = 1000
HOLD = 5.0


def test_thousand_idle_clients(topo, server, probe):
    argv = [PYTHON, os.path.join(HERE, "idle_clients.py"),
            "--connect", netns.SERVER_V4 + ":443",
            "--servername", netns.SERVER_NAME,
            "--ca", server.ca, "--cert", server.cert, "--key", server.key,
            "--count", str(COUNT), "--min-hold", str(HOLD),
            "--max-hold", "60", "--setup-timeout", "120"]
    idle = topo.popen("cli", argv, name="idle", stdin=subprocess.PIPE)

    def ready_line():
        if not idle.alive():
            raise AssertionError("idle_clients.py exited:\n"
                                 + idle.describe())
        for line in idle.stdout().splitlines():
            if line.startswith("READY "):
                return line
        return None
    line = netns.wait_for(ready_line, 150, 0.5, "all idle connections")
    t_ready = time.monotonic()
    _, established, failed, errors = line.split(" ", 3)
    established, failed = int(established), int(failed)
    assert established == COUNT and failed == 0, \
        "%d of %d connections got 200 (%d failed: %s):\n%s" % (
            established, COUNT, failed, errors, idle.describe())

    # While they are all open: the server counts them ...
    st = server.state()
    assert st.get("Role") == "server", st
    assert st.get("Clients", 0) >= COUNT, st
    # ... and answers a new client.
    r = probe(connect=netns.SERVER_V4 + ":443", ca=server.ca,
              cert=server.cert, key=server.key)
    assert r["status"] == "HTTP/1.1 200 OK", r

    time.sleep(max(0.0, HOLD - (time.monotonic() - t_ready)))
    assert server.proc.alive(), server.proc.describe()
    assert server.state().get("Clients", 0) >= COUNT
    idle.popen.stdin.close()

    def result():
        lines = idle.stdout().splitlines()
        return json.loads(lines[-1]) if lines and \
            lines[-1].startswith("{") else None
    res = netns.wait_for(result, 30, 0.2, "idle_clients.py's result")
    assert res["dropped"] == 0 and res["held"] == COUNT, res
    assert res["hold_seconds"] >= HOLD, res
