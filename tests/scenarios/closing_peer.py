#!/usr/bin/python3
"""A peer that makes the server answer an error and then takes nothing.

Run in a client namespace by test_closing.py: TCP to HOST:PORT, the TLS
handshake (with a client certificate when given) and the server's session
ticket when it sends one, prints "handshaken" and
waits for a line on stdin; then sends a request for a path the server does
not serve (it answers 404 and closes once the answer is taken), prints
"sent", and holds the connection without reading until stdin ends or 60 s
pass.  Standard library only; exits 0 whatever the server does."""
import argparse
import select
import socket
import ssl
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("host")
ap.add_argument("port", type=int)
ap.add_argument("--ca")
ap.add_argument("--cert")
ap.add_argument("--key")
a = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if a.cert:
    ctx.load_cert_chain(a.cert, a.key)
s = socket.create_connection((a.host, a.port), timeout=30)
t = ctx.wrap_socket(s, server_hostname=a.host)
# The server's session ticket (--tls-resumption on, the default) comes
# right after the handshake: take it first, or it would be what stays
# stuck behind the dropped segments instead of the answer (bounded: 10 s).
t.settimeout(0.2)
end = time.monotonic() + 10
while time.monotonic() < end and not (t.session and t.session.has_ticket):
    try:
        t.recv(1)
    except (TimeoutError, socket.timeout, ssl.SSLWantReadError):
        pass
t.settimeout(30)
print("handshaken", flush=True)
sys.stdin.readline()
t.sendall(b"POST /not-served HTTP/1.1\r\nHost: iphttps.test\r\nContent-Length: 0\r\n\r\n")
print("sent", flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    r, _, _ = select.select([sys.stdin], [], [], 1)
    if r and not sys.stdin.readline():
        break
t.close()
