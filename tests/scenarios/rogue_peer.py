#!/usr/bin/python3
"""A broken IP-HTTPS peer: TLS (with a client certificate), the POST, the
200, then bytes that are not IPv6 packets.  Reports as JSON whether and when
the server closed the connection.  Bounded by --timeout.
"""
import argparse
import json
import socket
import ssl
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--servername", default="iphttps.test")
    p.add_argument("--ca", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--garbage", default="GET / HTTP/1.1\r\n\r\n")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    host, port = a.connect.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=a.ca)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    res = {"status": None, "closed": False}
    raw = socket.create_connection((host, int(port)), timeout=a.timeout)
    s = ctx.wrap_socket(raw, server_hostname=a.servername)
    s.sendall(b"POST /IPHTTPS HTTP/1.1\r\nHost: iphttps.test\r\n"
              b"Content-Length: 18446744073709551615\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(4096)
        if not b:
            break
        head += b
    res["status"] = head.split(b"\r\n", 1)[0].decode("latin-1")
    t0 = time.monotonic()
    s.sendall(a.garbage.encode())
    deadline = t0 + a.timeout
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            b = s.recv(65536)
            if not b:
                res["closed"] = True
                break
    except socket.timeout:
        pass
    except (ssl.SSLError, OSError) as e:
        res["closed"] = True
        res["error"] = str(e)
    res["closed_after"] = round(time.monotonic() - t0, 3)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
