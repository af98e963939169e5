#!/usr/bin/python3
"""Open many idle IP-HTTPS connections at once and hold them.

Run inside a client namespace by test_idle.py. Standard library only
(ssl + selectors, non-blocking handshakes). Each connection: TCP connect,
TLS handshake with the client certificate, the POST with the endless
Content-Length, then read the response header and require `200`. Then all
are held open; data the server sends (e.g. a Router Advertisement) is read
and dropped, and a close counts as a drop.

Protocol with the caller, on stdout:
  READY <established> <failed> <errors as JSON>
                                 once every connection finished its setup
                                 (or --setup-timeout passed)
  {json}                         at the end, the result
The hold ends when stdin reaches EOF (or a line arrives) and at least
--min-hold seconds passed since READY, or after --max-hold seconds.

JSON result: established, failed, errors {reason: count}, dropped (closed
during the hold), setup_seconds, hold_seconds, nofile (the limit in force).
"""

import argparse
import errno
import json
import resource
import selectors
import socket
import ssl
import sys
import time

REQUEST = ("POST /IPHTTPS HTTP/1.1\r\nHost: {host}\r\n"
           "Content-Length: 18446744073709551615\r\n\r\n")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connect", required=True, help="IPv4:PORT")
    p.add_argument("--servername", default="iphttps.test")
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=100,
                   help="connections being set up at one time")
    p.add_argument("--setup-timeout", type=float, default=90)
    p.add_argument("--min-hold", type=float, default=5)
    p.add_argument("--max-hold", type=float, default=60)
    p.add_argument("--no-read", action="store_true",
                   help="read nothing during the hold (slow readers: the "
                   "server's queues toward them fill)")
    return p.parse_args(argv)


def raise_nofile(need):
    """Raise RLIMIT_NOFILE's soft limit to cover `need` (up to the hard
    limit, or higher when root may). Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    want = need if hard == resource.RLIM_INFINITY else max(need, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want, max(want, hard)
                            if hard != resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Conn:
    """One connection's state: connect -> tls -> send -> head -> idle."""

    def __init__(self, idx):
        self.idx = idx
        self.sock = None
        self.step = "connect"
        self.out = b""
        self.buf = b""
        self.started = time.monotonic()


class Pool:
    """All connections, driven by one selector."""

    def __init__(self, a):
        self.a = a
        host, _, port = a.connect.rpartition(":")
        self.addr = (host, int(port))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.load_verify_locations(a.ca)
        self.ctx.load_cert_chain(a.cert, a.key)
        self.req = REQUEST.format(host=a.servername).encode()
        self.sel = selectors.DefaultSelector()
        self.next_idx = 0
        self.pending = 0           # connections being set up
        self.established = []
        self.failed = 0
        self.errors = {}
        self.dropped = 0

    def fail(self, c, reason):
        """Count c as failed (during setup) or dropped (once idle)."""
        if c.sock is not None:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        if c.step == "idle":
            self.dropped += 1
            self.established.remove(c)
        else:
            self.pending -= 1
            self.failed += 1
        self.errors[reason] = self.errors.get(reason, 0) + 1
        c.step = "dead"

    def start_one(self):
        """Begin one non-blocking TCP connect."""
        c = Conn(self.next_idx)
        self.next_idx += 1
        self.pending += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        c.sock = s
        rc = s.connect_ex(self.addr)
        if rc not in (0, errno.EINPROGRESS):
            self.fail(c, "connect: " + errno.errorcode.get(rc, str(rc)))
            return
        self.sel.register(s, selectors.EVENT_WRITE, c)

    def want(self, c, events):
        self.sel.modify(c.sock, events, c)

    def advance(self, c):
        """Move c forward as far as it can go without blocking."""
        try:
            if c.step == "connect":
                rc = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if rc:
                    return self.fail(c, "connect: "
                                     + errno.errorcode.get(rc, str(rc)))
                self.sel.unregister(c.sock)
                c.sock = self.ctx.wrap_socket(
                    c.sock, server_hostname=self.a.servername,
                    do_handshake_on_connect=False)
                self.sel.register(c.sock, selectors.EVENT_READ, c)
                c.step = "tls"
            if c.step == "tls":
                c.sock.do_handshake()
                c.step, c.out = "send", self.req
            if c.step == "send":
                while c.out:
                    n = c.sock.send(c.out)
                    c.out = c.out[n:]
                c.step = "head"
                self.want(c, selectors.EVENT_READ)
            if c.step in ("head", "idle"):
                self.read(c)
        except ssl.SSLWantReadError:
            self.want(c, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self.want(c, selectors.EVENT_WRITE)
        except ssl.SSLError as e:
            self.fail(c, "%s: %s" % (c.step, e.reason or e))
        except OSError as e:
            self.fail(c, "%s: %s" % (c.step, errno.errorcode.get(
                e.errno, str(e))))

    def read(self, c):
        """Drain what c can read; check the header; detect a close."""
        while True:
            try:
                data = c.sock.recv(65536)
            except ssl.SSLZeroReturnError:
                data = b""
            if not data:
                return self.fail(c, "%s: closed by server" % c.step)
            if c.step == "head":
                c.buf += data
                end = c.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(c.buf) > 16384:
                        return self.fail(c, "head: too long")
                    continue
                status = c.buf.split(b"\r\n", 1)[0]
                if not status.startswith(b"HTTP/1.1 200 "):
                    return self.fail(c, "head: status %r"
                                     % status[:40].decode("latin-1"))
                c.buf = b""
                c.step = "idle"
                self.pending -= 1
                self.established.append(c)

    def setup(self):
        """Open all connections, --concurrency at a time; bounded by
        --setup-timeout. Returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + self.a.setup_timeout
        while self.next_idx < self.a.count or self.pending > 0:
            while self.next_idx < self.a.count and \
                    self.pending < self.a.concurrency:
                self.start_one()
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in self.sel.select(min(left, 1.0)):
                self.advance(key.data)
        for key in list(self.sel.get_map().values()):
            c = key.data
            if c.step not in ("idle", "dead"):
                self.fail(c, "%s: timed out" % c.step)
        self.failed += self.a.count - self.next_idx
        return time.monotonic() - t0

    def hold(self):
        """Keep every connection open; returns the seconds held."""
        t0 = time.monotonic()
        released = False
        try:
            self.sel.register(sys.stdin, selectors.EVENT_READ, None)
        except (PermissionError, ValueError):
            released = True        # stdin cannot be polled (/dev/null)
        while True:
            now = time.monotonic()
            if now - t0 >= self.a.max_hold or \
                    (released and now - t0 >= self.a.min_hold):
                break
            for key, _ in self.sel.select(0.5):
                if key.data is None:
                    released = True
                    self.sel.unregister(sys.stdin)
                elif self.a.no_read:
                    self.sel.unregister(key.fileobj)
                else:
                    self.advance(key.data)
        return time.monotonic() - t0


def main():
    a = parse_args(sys.argv[1:])
    nofile = raise_nofile(a.count + 64)
    pool = Pool(a)
    setup_s = pool.setup()
    print("READY %d %d %s" % (len(pool.established), pool.failed,
                              json.dumps(pool.errors)), flush=True)
    hold_s = pool.hold()
    print(json.dumps({"established": len(pool.established) + pool.dropped,
                      "held": len(pool.established),
                      "failed": pool.failed, "errors": pool.errors,
                      "dropped": pool.dropped, "setup_seconds": setup_s,
                      "hold_seconds": hold_s, "nofile": nofile}), flush=True)
    for c in pool.established:
        c.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
