#!/usr/bin/python3
"""A broken IP-HTTPS server: TLS, reads the POST, answers 200, then sends
bytes that are not IPv6 packets (or, with --send-hex FILE, the bytes that
FILE holds in hex, e.g. hand-made IPv6 packets) and keeps the connection
open.  Prints one
line per accepted connection ("conn N"), so tests can count reconnections.
Runs until killed; every connection is held at most 30 s."""
import argparse
import socket
import ssl
import threading
import time


PAYLOAD = b"\x47ET / HTTP/1.1\r\n\r\n" * 4  # version nibble 4, not 6


def serve(conn, n):
    try:
        conn.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            b = conn.recv(4096)
            if not b:
                return
            head += b
        conn.sendall(b"HTTP/1.1 200 OK\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n")
        conn.sendall(PAYLOAD)
        time.sleep(30)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--send-hex", help="file with the bytes to send after "
                   "the 200, in hex")
    a = p.parse_args()
    if a.send_hex:
        global PAYLOAD
        with open(a.send_hex) as f:
            PAYLOAD = bytes.fromhex(f.read().strip())
    host, port = a.listen.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(16)
    print("listening", flush=True)
    n = 0
    while True:
        raw, _ = ls.accept()
        n += 1
        print("conn %d" % n, flush=True)
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn, n), daemon=True).start()


if __name__ == "__main__":
    main()
