"""A read that must write first does not spin the server (issue 11).

With OpenSSL's record layer (`--tls-records openssl`), a KeyUpdate with
update_requested (RFC 8446 4.6.3) makes SSL_read write the server's own
KeyUpdate before it reads on.  When the client does not read, the
server's socket is full and SSL_read says SSL_ERROR_WANT_WRITE; the
connection must then wait for the socket to be writable only.  Waiting
for readable too, while the client goes on sending, woke the server at
once, every time, for nothing: one core at 100 % for one client.

A real `openssl s_client` in the client namespace (its K command): its
stdout is not drained, so it stops reading the socket (s_client reads the
socket only once its last read reached stdout) while it still sends what
comes on stdin; rounds of K and an echo request to the inside host fill
the server's send side until its queue holds bytes, then K and more echo
requests keep the server's socket readable.  The server's CPU time over a few seconds
(utime + stime in /proc/PID/stat) must stay far below a busy loop's; once
the client reads again the server's KeyUpdate comes and the session goes
on.  Failed on the code before the fix: 1.95, 2.89, 2.77 and 1.54 s of the
server's CPU in 3 s (four runs, ASan build); after it 0.00 s.

How the write that finds the socket full is made the KeyUpdate's, every
time: the client's receive buffer and the server's send buffer are made
small (per-namespace tcp_rmem/tcp_wmem), the server's TCP segments small
(the client's route advertises an MSS of 140: 128 bytes of data a
segment) and one segment a buffer (gso_max_segs 1); each round is a
KeyUpdate request and one echo request whose reply's record fills the
segment that the server's 27-byte KeyUpdate record starts.  Once the
socket is full, the next buffer the kernel would need is the KeyUpdate's.
(The server's own record layer answers at read time and its reads never
wait for a write: stream_read_needs_write.)"""
import fcntl
import os
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import netns  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest  # noqa: E402
from scapy.compat import raw  # noqa: E402
from test_records import SClient, SUITES, prefix, WAIT  # noqa: E402

MEASURE_S = 3.0             # the window the server's CPU time is taken over
F_SETPIPE_SZ = 1031
MAX_CPU_S = 0.5             # a busy loop takes the most of a core's share


class StalledSClient(SClient):
    """s_client whose stdout can be left undrained (it then stops reading
    the socket)."""

    def __init__(self, *a, **kw):
        self.go = threading.Event()
        self.go.set()
        super().__init__(*a, **kw)

    def _read(self):
        while True:
            self.go.wait()
            d = self.p.stdout.read1(65536)
            if not d:
                return
            with self.lock:
                self.buf += d

    def send_echoes(self, src, ident, count, size=1200):
        data = b"".join(raw(IPv6(src=src, dst=netns.INSIDE_HOST) /
                            ICMPv6EchoRequest(id=ident, seq=seq, data=bytes(size)))
                        for seq in range(count))
        self.write(data)


def cpu_seconds(pid):
    """utime + stime of pid (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stall(c):
    """The client stops reading: s_client's stdout is left undrained, and
    the pipe is made as small as it goes."""
    fcntl.fcntl(c.p.stdout.fileno(), F_SETPIPE_SZ, 4096)
    c.go.clear()


def test_keyupdate_while_the_client_does_not_read(topo, start_server):
    layer = "openssl"
    # Small socket buffers on both sides: the way back fills in tens of
    # packets, not thousands.
    topo.sysctl("cli", "net.ipv4.tcp_rmem", "4096 4096 4096")
    topo.sysctl("srv", "net.ipv4.tcp_wmem", "4096 4096 4096")
    topo.run("srv", ["ip", "link", "set", "dev", "eth0", "gso_max_segs", "1"])
    topo.run("cli", ["ip", "route", "change", "default", "via", netns.NET_CLIENT_SIDE, "advmss", "140"])
    server = start_server("--auth", "none", "--tls-records", layer)
    net = prefix(server)
    src = str(net[0xc00])
    c = StalledSClient(topo, server, SUITES[0][1], "stall-" + layer)
    try:
        c.linkup()
        c.ping(src, 0x300, 3)
        ss = topo.run("srv", ["ss", "-tnHi", "sport", "= :443"]).stdout
        mss = int(ss.split(" mss:")[1].split()[0])
        size = mss - 27 - 70        # KeyUpdate record, TLS 1.3 overhead and headers
        stall(c)
        # Rounds of a KeyUpdate request and one echo request, until the
        # server's socket is full: OpenSSL 3 answers a KeyUpdate on its
        # next SSL_write, before the data, so the write that finds the
        # socket full is the KeyUpdate's (see above); OpenSSL then holds
        # it, and SSL_read says WANT_WRITE until it is sent.
        rounds = 0

        def full():
            nonlocal rounds
            if server.state()["QueuedBytes"] > 0:
                return True
            rounds += 1
            c.key_update("K")
            c.send_echoes(src, 0x301, 1, size)
            return None
        netns.wait_for(full, 120, 0.05, "the server's socket toward the stalled client to fill")
        # One more request behind it keeps the server's socket readable.
        c.key_update("K")
        c.send_echoes(src, 0x302, 3)
        time.sleep(0.5)                 # let it reach the server; not an assertion
        pid = server.state()["PID"]
        t0 = cpu_seconds(pid)
        w0 = time.monotonic()
        time.sleep(MEASURE_S)
        used = cpu_seconds(pid) - t0
        wall = time.monotonic() - w0
        print("server CPU %.2f s in %.2f s after %d rounds (%s records)" % (used, wall, rounds, layer))
        assert used < MAX_CPU_S, \
            "the server used %.2f s of CPU in %.2f s for a client that does not read" % (used, wall)
        # The client reads again: the server's KeyUpdate comes, the
        # session goes on under the new keys.
        c.go.set()
        netns.wait_for(lambda: "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" in c.msgs() or None,
                       WAIT, 0.1, "the server's KeyUpdate")
        c.ping(src, 0x303, 5)
        assert server.proc.alive()
    finally:
        c.go.set()
        c.close()
