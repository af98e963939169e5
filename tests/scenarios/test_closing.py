"""The Closing deadline (issue 8 item 7): a connection the server answered
with an error (here a 404) is Closing until the answer is taken, and is cut
after its deadline (5 s, CLOSING_MS in src/server/conn.c) when the peer
never takes it, counted as Refused closing_timeout.

A connection stays in Closing only while the server cannot hand the whole
answer to its kernel.  Here: the server's namespace gives TCP sockets the
smallest send buffer (net.ipv4.tcp_wmem 1 1 1: one segment queued at a
time), the client's route limits its window to 100 bytes (the route's
`window`, so that the server sends segments of at most that size: its MSS
is bounded by half the largest window the peer offered), and once the
handshake is done the client's namespace drops everything the server sends:
the first segment of the ~150-byte answer is never acknowledged, the rest
stays with the server."""
import json
import os
import subprocess
import sys
import time
import urllib.parse

import netns

HERE = os.path.dirname(os.path.abspath(__file__))


def clients(server):
    p = server.topo.run("srv", [server.binary, "clients", "--json", "--run-dir", server.run_dir,
                                server.tun], timeout=10)
    return json.loads(p.stdout)


def test_closing_connection_cut_after_deadline(topo, start_server):
    topo.run("srv", ["sysctl", "-qw", "net.ipv4.tcp_wmem=1 1 1"])
    route = topo.run("cli", ["ip", "-4", "route", "show", "default"]).stdout.split()
    topo.run("cli", ["ip", "route", "change"] + route + ["window", "100"])
    server = start_server()
    u = urllib.parse.urlsplit(server.url)
    peer = topo.popen("cli", [sys.executable, os.path.join(HERE, "closing_peer.py"), u.hostname,
                              str(u.port or 443), "--cert", server.cert, "--key", server.key],
                      name="closing-peer", stdin=subprocess.PIPE)
    try:
        netns.wait_for(lambda: "handshaken" in peer.stdout() or
                       (not peer.alive() and AssertionError(peer.describe())), 30, 0.1, "the handshake")
        assert peer.alive(), peer.describe()
        topo.run("cli", ["nft", "-f", "-"], input="table inet iph_closing {\n"
                 " chain in { type filter hook input priority 0; tcp sport %d drop; }\n}\n"
                 % (u.port or 443))
        peer.popen.stdin.write(b"go\n")
        peer.popen.stdin.flush()
        # The 404 is being sent and cannot all go: Closing.
        c = netns.wait_for(lambda: [c for c in clients(server) if c["State"] == "Closing"], 20, 0.1,
                           "a connection in Closing")[0]
        seen = time.monotonic()
        assert "request rejected with 404" in server.proc.stderr()
        # Cut at its deadline, though the peer still holds it open.
        netns.wait_for(lambda: server.state()["Refused"]["closing_timeout"] == 1, 30, 0.2,
                       "the Closing deadline")
        waited = time.monotonic() - seen
        assert not [x for x in clients(server) if x["Id"] == c["Id"]]
        assert "error answer not taken in time" in server.proc.stderr(), server.proc.stderr()
        assert peer.alive(), "the peer went away first: %s" % peer.describe()
        assert server.proc.alive()
        print("Closing seen, cut %.1f s later" % waited)
    finally:
        peer.popen.stdin.close()
        peer.stop()
