#!/usr/bin/python3
"""One TLS connection to an IP-HTTPS server, reported as JSON on stdout.

Run inside a client namespace by the scenario tests. Standard library only.
Every step is bounded in time; the program itself exits 0 whatever the peer
does (the verdict is the caller's), 2 on bad usage.

Steps: TCP connect, TLS handshake (optionally with a client certificate and
a maximum TLS version), send the request (all at once, or one byte every
--trickle seconds), read the response header up to the empty line, then
keep reading until --after seconds pass or the peer closes.

Output fields:
  tcp_ok, tcp_error           TCP connect result
  handshake_ok, handshake_error, tls_version, cipher
  sent                        bytes of the request sent
  send_error                  error while sending (e.g. the peer closed)
  head                        the response header text (latin-1), up to and
                              including the empty line, or what came before
                              the connection ended
  status                      the status line, or null
  headers                     list of [name, value] in order
  body_bytes                  bytes received after the header
  eof                         true when the peer closed (FIN or close_notify)
  eof_at                      seconds from TCP connect to the close
  read_error                  TLS alert or socket error while reading
  t_handshake                 seconds from TCP connect to the handshake end
"""

import argparse
import json
import select
import socket
import ssl
import sys
import time

DEFAULT_REQUEST = ("POST /IPHTTPS HTTP/1.1\r\nHost: iphttps.test\r\n"
                   "Content-Length: 18446744073709551615\r\n\r\n")


def parse_args(argv):
    """Command line -> argparse namespace."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connect", required=True, help="HOST:PORT")
    p.add_argument("--servername", default="iphttps.test")
    p.add_argument("--ca", help="CA file to verify the server; without it "
                   "the server certificate is not checked")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tls-max", choices=["1.2", "1.3"])
    p.add_argument("--request", default=DEFAULT_REQUEST,
                   help="request text; \\r \\n escapes understood")
    p.add_argument("--trickle", type=float, default=0.0,
                   help="send one byte every this many seconds")
    p.add_argument("--after", type=float, default=0.0,
                   help="seconds to keep reading after the header")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="overall limit in seconds for connect+send+header")
    return p.parse_args(argv)


def make_context(a):
    """Client SSLContext for the options in a."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.ca:
        ctx.load_verify_locations(a.ca)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    if a.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class Reader:
    """Reads from the non-blocking TLS socket with deadlines, recording the
    outcome (eof, eof_at, read_error) in res and the bytes in buf."""

    def __init__(self, sock, res, t0):
        self.sock, self.res, self.t0 = sock, res, t0
        self.buf = b""

    def _ended(self, err=None):
        if err is not None:
            self.res["read_error"] = err
        self.res["eof"] = True
        self.res["eof_at"] = time.monotonic() - self.t0
        return False

    def poll(self, until, stop_at_head=False):
        """Read what arrives before the monotonic time `until` (earlier
        once the header is complete, when stop_at_head).

        Returns False once the connection ended (EOF or error), else True.
        """
        while True:
            if stop_at_head and b"\r\n\r\n" in self.buf:
                return True
            if self.sock.pending() == 0:
                left = until - time.monotonic()
                if left <= 0:
                    return True
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return True
            try:
                data = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except ssl.SSLZeroReturnError:
                return self._ended()
            except (ssl.SSLError, OSError) as e:
                return self._ended("%s: %s" % (type(e).__name__, e))
            if not data:
                return self._ended()
            self.buf += data


def send_nb(sock, data, deadline):
    """Send all of data on the non-blocking TLS socket before deadline.
    Raises OSError/SSLError on failure, TimeoutError past the deadline."""
    view = memoryview(data)
    while view:
        try:
            n = sock.send(view)
            view = view[n:]
            continue
        except (ssl.SSLWantWriteError, BlockingIOError):
            want = ([], [sock])
        except ssl.SSLWantReadError:
            want = ([sock], [])
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("send timed out")
        select.select(want[0], want[1], [], left)


def split_head(buf, res):
    """Fill head/status/headers/body_bytes of res from the bytes received."""
    end = buf.find(b"\r\n\r\n")
    head = buf if end < 0 else buf[:end + 4]
    res["head"] = head.decode("latin-1")
    res["body_bytes"] = 0 if end < 0 else len(buf) - end - 4
    lines = res["head"].split("\r\n")
    res["status"] = lines[0] if lines and lines[0].startswith("HTTP/") \
        else None
    hdrs = []
    for line in lines[1:]:
        if not line:
            break
        name, sep, value = line.partition(":")
        if sep:
            hdrs.append([name.strip(), value.strip()])
    res["headers"] = hdrs


def send_request(sock, data, trickle, reader, deadline, res):
    """Send data, all at once or a byte per `trickle` seconds, reading in
    between. Stops early when the connection ends or the deadline passes."""
    if trickle <= 0:
        send_nb(sock, data, deadline)
        res["sent"] = len(data)
        return
    for i in range(len(data)):
        if time.monotonic() >= deadline:
            return
        send_nb(sock, data[i:i + 1], deadline)
        res["sent"] = i + 1
        if not reader.poll(min(deadline, time.monotonic() + trickle)):
            return


def probe(a):
    """Run the steps; returns the result dict."""
    res = {"tcp_ok": False, "handshake_ok": False, "sent": 0, "eof": False,
           "eof_at": None, "head": "", "status": None, "headers": [],
           "body_bytes": 0}
    host, _, port = a.connect.rpartition(":")
    host = host.strip("[]")
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    try:
        raw = socket.create_connection((host, int(port)), timeout=5)
        res["tcp_ok"] = True
    except OSError as e:
        res["tcp_error"] = "%s: %s" % (type(e).__name__, e)
        return res
    raw.settimeout(max(0.5, deadline - time.monotonic()))
    try:
        sock = make_context(a).wrap_socket(raw, server_hostname=a.servername)
        res["handshake_ok"] = True
        res["t_handshake"] = time.monotonic() - t0
        res["tls_version"] = sock.version()
        res["cipher"] = sock.cipher()[0]
    except (ssl.SSLError, OSError) as e:
        res["handshake_error"] = "%s: %s" % (type(e).__name__, e)
        raw.close()
        return res
    sock.setblocking(False)
    reader = Reader(sock, res, t0)
    data = a.request.encode("latin-1")
    try:
        send_request(sock, data, a.trickle, reader, deadline, res)
    except (ssl.SSLError, OSError) as e:
        res["send_error"] = "%s: %s" % (type(e).__name__, e)
    if not res["eof"]:
        reader.poll(deadline, stop_at_head=True)
    if not res["eof"] and a.after > 0:
        reader.poll(time.monotonic() + a.after)
    split_head(reader.buf, res)
    try:
        sock.close()
    except OSError:
        pass
    return res


def main():
    a = parse_args(sys.argv[1:])
    a.request = a.request.encode("latin-1").decode("unicode_escape")
    print(json.dumps(probe(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
