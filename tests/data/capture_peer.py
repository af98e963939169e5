#!/usr/bin/python3
"""Minimal IP-HTTPS peers for tests/data/make_captures.sh, on the real OpenSSL
(Python's ssl module): a server that answers the POST with 200 and a Router
Solicitation with a Router Advertisement, a client that does the reverse,
and a server that resets the connection after the ClientHello.

  capture_peer.py server --addr A --port P --cert C --key K [--null]
  capture_peer.py client --addr A --port P --host H --ca CA [--null]
  capture_peer.py reset-server --addr A --port P
"""
import argparse
import socket
import ssl
import struct
import sys
import time
from email.utils import formatdate

NULL_SUITES = "NULL-SHA256:NULL-SHA:@SECLEVEL=0"


def icmp6_checksum(src, dst, msg):
    pseudo = src + dst + struct.pack("!I3xB", len(msg), 58)
    data = pseudo + msg
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv6_icmp(src, dst, body):
    """An IPv6 packet (hop limit 255) carrying the ICMPv6 message body,
    whose checksum field (bytes 2-3) is filled in."""
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    ck = icmp6_checksum(s, d, body)
    body = body[:2] + struct.pack("!H", ck) + body[4:]
    hdr = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + s + d
    return hdr + body


def router_solicitation():
    return ipv6_icmp("fe80::2", "ff02::2", struct.pack("!BBHI", 133, 0, 0, 0))


def router_advertisement():
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
    pio = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0)
    pio += socket.inet_pton(socket.AF_INET6, "2001:db8:1:2::")
    mtu = struct.pack("!BBHI", 5, 1, 0, 1280)
    return ipv6_icmp("fe80::1", "fe80::2", ra + pio + mtu)


def read_until(conn, marker, limit=16384):
    buf = b""
    while marker not in buf and len(buf) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def read_packet(conn):
    hdr = read_exact(conn, 40)
    if len(hdr) < 40:
        return hdr
    return hdr + read_exact(conn, struct.unpack("!H", hdr[4:6])[0])


def listener(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    print("listening", flush=True)
    return s


def server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.null:
        ctx.set_ciphers(NULL_SUITES)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    lsock = listener(a.addr, a.port)
    raw, _ = lsock.accept()
    conn = ctx.wrap_socket(raw, server_side=True)
    req = read_until(conn, b"\r\n\r\n")
    if not req.startswith(b"POST "):
        conn.close()
        return 1
    conn.sendall(b"HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: "
                 + formatdate(usegmt=True).encode() + b"\r\n\r\n")
    pkt = read_packet(conn)
    if len(pkt) >= 41 and pkt[40] == 133:
        conn.sendall(router_advertisement())
    read_until(conn, b"\0never\0")   # until the client closes
    conn.close()
    return 0


def client(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.ca)
    if a.null:
        ctx.set_ciphers(NULL_SUITES)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection((a.addr, a.port), timeout=5)
    conn = ctx.wrap_socket(raw, server_hostname=a.host)
    conn.sendall(("POST /IPHTTPS HTTP/1.1\r\nHost: %s\r\n"
                  "Content-Length: 18446744073709551615\r\n\r\n" % a.host).encode())
    resp = read_until(conn, b"\r\n\r\n")
    if not resp.startswith(b"HTTP/1.1 200"):
        return 1
    conn.sendall(router_solicitation())
    ra = read_packet(conn)
    time.sleep(0.2)
    conn.close()
    return 0 if len(ra) > 40 and ra[40] == 134 else 1


def reset_server(a):
    lsock = listener(a.addr, a.port)
    conn, _ = lsock.accept()
    conn.recv(4096)                     # the ClientHello
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()                        # RST
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client", "reset-server"])
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--host", default="da.example.test")
    p.add_argument("--null", action="store_true")
    a = p.parse_args()
    return {"server": server, "client": client, "reset-server": reset_server}[a.role](a)


if __name__ == "__main__":
    sys.exit(main())
