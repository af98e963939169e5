#!/usr/bin/python3
"""Bulk TCP transfer with SHA-256 at both ends (standard library only).

  bulk.py recv --port P [--timeout S]         accept one connection, read to
                                              EOF, print {"bytes", "sha256"}
  bulk.py send --to ADDR --port P --mb N      send N MiB of seeded pseudo-random
          [--seed S] [--timeout S]            data, print {"bytes", "sha256"}
  bulk.py serve --port P --mb N               accept one connection and send
                                              N MiB to it (the reverse direction)
  bulk.py fetch --to ADDR --port P            connect and read to EOF

Every operation is bounded by --timeout (default 120 s).
"""
import argparse
import hashlib
import json
import random
import socket
import sys
import time

CHUNK = 65536


def chunks(mb, seed):
    """mb MiB of deterministic pseudo-random bytes, in 64 KiB chunks."""
    rnd = random.Random(seed)
    for _ in range(mb * 1024 * 1024 // CHUNK):
        yield rnd.randbytes(CHUNK)


def send_all(sock, mb, seed, deadline):
    h = hashlib.sha256()
    n = 0
    for c in chunks(mb, seed):
        if time.monotonic() > deadline:
            raise TimeoutError("send: time is up after %d bytes" % n)
        sock.sendall(c)
        h.update(c)
        n += len(c)
    sock.shutdown(socket.SHUT_WR)
    return n, h.hexdigest()


def recv_all(sock, deadline):
    h = hashlib.sha256()
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("recv: time is up after %d bytes" % n)
        sock.settimeout(left)
        b = sock.recv(CHUNK)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


def listener(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(1)
    return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["recv", "send", "serve", "fetch"])
    p.add_argument("--to")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mb", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args()
    deadline = time.monotonic() + a.timeout
    t0 = time.monotonic()
    if a.mode in ("recv", "serve"):
        ls = listener(a.port)
        ls.settimeout(a.timeout)
        print(json.dumps({"listening": a.port}), flush=True)
        conn, _ = ls.accept()
        n, d = recv_all(conn, deadline) if a.mode == "recv" else send_all(conn, a.mb, a.seed, deadline)
        if a.mode == "serve":
            recv_all(conn, deadline)  # wait for the peer to finish reading
    else:
        conn = socket.create_connection((a.to, a.port), timeout=a.timeout)
        n, d = send_all(conn, a.mb, a.seed, deadline) if a.mode == "send" else recv_all(conn, deadline)
    conn.close()
    print(json.dumps({"bytes": n, "sha256": d, "seconds": round(time.monotonic() - t0, 3)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
