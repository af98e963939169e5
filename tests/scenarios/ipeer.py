#!/usr/bin/python3
"""A scriptable IP-HTTPS peer for the link-rule scenario tests.

Run inside a client namespace. Standard library only. It opens one IP-HTTPS
connection (TCP, TLS unless --http, the POST with the endless
Content-Length, the 200), then obeys JSON commands, one per line on stdin,
answering each with one JSON line on stdout:

  {"cmd":"send","hex":"..."}        write these raw bytes into the stream
                                    (IPv6 packets, or garbage) -> {"ok":true}
  {"cmd":"recv","timeout":S,"min":N}
                                    wait until N (default 1) whole IPv6
                                    packets are queued or S seconds pass;
                                    -> {"packets":[hex,...],"closed":bool}
                                    (the queue is emptied)
  {"cmd":"status"}                  -> {"closed":bool,"error":str|null,
                                        "rx_bytes":n,"bad_stream":bool}
  {"cmd":"close"}                   close the connection and exit

The first line printed is the outcome of connecting:
  {"ready":true,"status":"HTTP/1.1 200 OK","head":"..."} or
  {"ready":false,"stage":"tcp|tls|http","error":"...","head":"..."};
after a failure the program exits.

Every wait is bounded: connecting by --timeout, a recv by its timeout
(at most 30 s), the whole run by --lifetime (then it exits by itself), and
it exits when stdin closes.
"""

import argparse
import json
import os
import select
import socket
import ssl
import sys
import time

REQUEST = ("POST {path} HTTP/1.1\r\nHost: {host}\r\n"
           "Content-Length: 18446744073709551615\r\n\r\n")
MAX_RECV_WAIT = 30.0


def parse_args(argv):
    """Command line -> argparse namespace."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connect", required=True, help="HOST:PORT")
    p.add_argument("--servername", default="iphttps.test")
    p.add_argument("--ca", help="CA to verify the server (https)")
    p.add_argument("--cert", help="client certificate (PEM)")
    p.add_argument("--key", help="client key (PEM)")
    p.add_argument("--http", action="store_true",
                   help="plain HTTP transport (no TLS)")
    p.add_argument("--path", default="/IPHTTPS")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="limit in seconds for connect, TLS and the 200")
    p.add_argument("--lifetime", type=float, default=600.0,
                   help="exit after this many seconds whatever happens")
    return p.parse_args(argv)


def emit(obj):
    """Write one JSON line on stdout and flush it."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Deframer:
    """Cuts a byte stream into IPv6 packets (40 + Payload Length bytes)."""

    def __init__(self):
        self.buf = bytearray()
        self.packets = []
        self.bad = False        # a header that is not IPv6 was seen

    def feed(self, data):
        """Add bytes; whole packets move to self.packets."""
        if self.bad:
            return
        self.buf += data
        while len(self.buf) >= 40:
            if self.buf[0] >> 4 != 6:
                self.bad = True
                return
            total = 40 + (self.buf[4] << 8 | self.buf[5])
            if len(self.buf) < total:
                return
            self.packets.append(bytes(self.buf[:total]))
            del self.buf[:total]


def tcp_connect(host, port, timeout):
    """TCP connection to host:port; a refused connection is retried (the
    server may not listen yet) until timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


class Conn:
    """The IP-HTTPS connection: connect() then non-blocking pumping."""

    def __init__(self, a):
        self.a = a
        self.sock = None
        self.closed = False
        self.error = None
        self.rx_bytes = 0
        self.df = Deframer()

    def connect(self):
        """TCP, TLS, POST, response head. Returns the ready dict."""
        a = self.a
        host, port = a.connect.rsplit(":", 1)
        stage = "tcp"
        head = b""
        try:
            raw = tcp_connect(host, int(port), a.timeout)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            stage = "tls"
            if a.http:
                s = raw
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                if a.ca:
                    ctx.load_verify_locations(a.ca)
                else:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                if a.cert:
                    ctx.load_cert_chain(a.cert, a.key)
                s = ctx.wrap_socket(raw, server_hostname=a.servername)
            self.sock = s
            stage = "http"
            s.settimeout(a.timeout)
            s.sendall(REQUEST.format(path=a.path, host=a.servername)
                      .encode())
            deadline = time.monotonic() + a.timeout
            while b"\r\n\r\n" not in head:
                if time.monotonic() >= deadline:
                    raise TimeoutError("no complete response head")
                b = s.recv(4096)
                if not b:
                    raise ConnectionError("closed before the response head")
                head += b
        except (OSError, ssl.SSLError, ValueError) as e:
            return {"ready": False, "stage": stage, "error": str(e) or
                    type(e).__name__, "head": head.decode("latin-1")}
        hdr, _, rest = head.partition(b"\r\n\r\n")
        status = hdr.split(b"\r\n", 1)[0].decode("latin-1")
        if not status.startswith("HTTP/1.1 200"):
            return {"ready": False, "stage": "http", "error": "status " +
                    status, "head": hdr.decode("latin-1")}
        if rest:
            self.rx_bytes += len(rest)
            self.df.feed(rest)
        s.settimeout(0)
        local = s.getsockname()
        return {"ready": True, "status": status,
                "local": "%s:%d" % (local[0], local[1]),
                "head": hdr.decode("latin-1")}

    def fileno(self):
        return self.sock.fileno()

    def pump(self):
        """Read whatever is available without blocking."""
        if self.closed:
            return
        while True:
            try:
                b = self.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                    BlockingIOError, InterruptedError):
                return
            except (OSError, ssl.SSLError) as e:
                self.closed, self.error = True, str(e) or type(e).__name__
                return
            if not b:
                self.closed = True
                return
            self.rx_bytes += len(b)
            self.df.feed(b)

    def send(self, data):
        """Write all of data (bounded by --timeout); returns an error or
        None."""
        if self.closed:
            return "connection closed"
        try:
            self.sock.settimeout(self.a.timeout)
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as e:
            self.closed, self.error = True, str(e) or type(e).__name__
            return self.error
        finally:
            if not self.closed:
                self.sock.settimeout(0)
        return None

    def has_pending(self):
        """True when TLS holds decrypted bytes not read yet."""
        return (not self.closed and isinstance(self.sock, ssl.SSLSocket)
                and self.sock.pending() > 0)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


class Stdin:
    """Line reader on fd 0 that works with select()."""

    def __init__(self):
        self.buf = b""
        self.eof = False

    def lines(self):
        """Read what is available; return the complete lines."""
        try:
            b = os.read(0, 65536)
        except InterruptedError:
            return []
        if not b:
            self.eof = True
        self.buf += b
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                out.append(line.decode())
        return out


def wait_io(conn, timeout):
    """Block until the connection or stdin is readable, or timeout."""
    if conn.has_pending():
        conn.pump()
        return
    fds = [0] if conn.closed else [0, conn.fileno()]
    r, _, _ = select.select(fds, [], [], max(0.0, timeout))
    if not conn.closed and conn.fileno() in r:
        conn.pump()


def do_recv(conn, cmd):
    """The recv command: wait for min packets or the timeout."""
    timeout = min(float(cmd.get("timeout", 1.0)), MAX_RECV_WAIT)
    want = int(cmd.get("min", 1))
    deadline = time.monotonic() + timeout
    conn.pump()
    while len(conn.df.packets) < want and not conn.closed:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        # Only the socket: stdin waits until this command is answered.
        if conn.has_pending():
            conn.pump()
            continue
        r, _, _ = select.select([conn.fileno()], [], [], left)
        if r:
            conn.pump()
    pkts = [p.hex() for p in conn.df.packets]
    conn.df.packets = []
    return {"packets": pkts, "closed": conn.closed}


def handle(conn, line):
    """One command line -> the answer dict, or None to exit."""
    try:
        cmd = json.loads(line)
    except ValueError as e:
        return {"error": "bad command: %s" % e}
    what = cmd.get("cmd")
    if what == "send":
        try:
            data = bytes.fromhex(cmd.get("hex", ""))
        except ValueError as e:
            return {"error": "bad hex: %s" % e}
        err = conn.send(data)
        conn.pump()
        return {"ok": err is None, "error": err}
    if what == "recv":
        return do_recv(conn, cmd)
    if what == "status":
        conn.pump()
        return {"closed": conn.closed, "error": conn.error,
                "rx_bytes": conn.rx_bytes, "bad_stream": conn.df.bad,
                "queued": len(conn.df.packets)}
    if what == "close":
        return None
    return {"error": "unknown command %r" % what}


def main():
    a = parse_args(sys.argv[1:])
    end = time.monotonic() + a.lifetime
    conn = Conn(a)
    ready = conn.connect()
    emit(ready)
    if not ready["ready"]:
        return 0
    stdin = Stdin()
    while not stdin.eof and time.monotonic() < end:
        wait_io(conn, min(1.0, end - time.monotonic()))
        r, _, _ = select.select([0], [], [], 0)
        if not r:
            continue
        for line in stdin.lines():
            ans = handle(conn, line)
            if ans is None:
                emit({"ok": True, "closed": True})
                conn.close()
                return 0
            emit(ans)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
