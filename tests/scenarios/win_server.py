#!/usr/bin/python3
"""A scripted IP-HTTPS server, to make the client meet what Windows' client
meets (issue 10): TLS with Python's ssl module, an answer to the POST chosen
per client certificate, and ways to fail a ClientHello that offers only the
null suites (the first attempt of a Windows 8+ client).

  --answer CN=STATUS   the answer to a client whose certificate's CN is CN
                       (repeatable; "*" for the others; default 200)
  --ca FILE            ask for a client certificate from these CAs
  --interim            send "100 Continue" before the answer
  --page               answer 200 with a web page (Content-Length, text/html)
  --null-hello MODE    a null-only ClientHello gets: "mismatch", a ServerHello
                       with a suite it did not offer (the client's TLS stack
                       says SEC_E_ALGORITHM_MISMATCH); default: TLS as usual

Prints one line per connection: "conn N hello=null|other cn=CN answer=S".
A 200 keeps the connection open (at most 30 s); other answers close it.
Runs until killed."""
import argparse
import os
import socket
import ssl
import struct
import threading
import time

NULL_SUITES = {0x0001, 0x0002, 0x003b}
SIGNALLING = {0x00ff, 0x5600}


def peek_hello(raw):
    """The suites of the ClientHello waiting on raw (peeked, not read), or
    None when what comes is not a ClientHello."""
    raw.settimeout(5)
    data = b""
    for _ in range(50):
        data = raw.recv(16384, socket.MSG_PEEK)
        if len(data) >= 5 and len(data) >= 5 + struct.unpack(">H", data[3:5])[0]:
            break
        time.sleep(0.05)
    if len(data) < 44 or data[0] != 0x16 or data[5] != 1:
        return None
    p = 5 + 4 + 2 + 32
    p += 1 + data[p]
    n = struct.unpack(">H", data[p:p + 2])[0]
    return [struct.unpack(">H", data[p + 2 + i:p + 4 + i])[0] for i in range(0, n, 2)]


def mismatch(raw):
    """A ServerHello choosing TLS_RSA_WITH_AES_128_GCM_SHA256 (0x009c),
    which a null-only ClientHello did not offer."""
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack(">H", 0x009c) + b"\x00"
            + b"\x00\x05\xff\x01\x00\x01\x00")
    hs = b"\x02" + struct.pack(">I", len(body))[1:] + body
    raw.recv(16384)
    raw.sendall(b"\x16\x03\x03" + struct.pack(">H", len(hs)) + hs)
    time.sleep(1)


def serve(conn, a, n, hello):
    cn = "-"
    try:
        cert = conn.getpeercert()
        if cert:
            cn = dict(x[0] for x in cert["subject"]).get("commonName", "-")
        answers = dict(x.split("=", 1) for x in a.answer)
        status = answers.get(cn, answers.get("*", "200"))
        print("conn %d hello=%s cn=%s answer=%s" % (n, hello, cn, status), flush=True)
        conn.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            b = conn.recv(4096)
            if not b:
                return
            head += b
        out = b"HTTP/1.1 100 Continue\r\n\r\n" if a.interim else b""
        if a.page:
            page = b"<html><body>Welcome</body></html>\n"
            out += (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                    % len(page)) + page
        else:
            out += b"HTTP/1.1 %s\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n" % status.encode()
        conn.sendall(out)
        if status == "200" and not a.page:
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
    p.add_argument("--ca")
    p.add_argument("--answer", action="append", default=[])
    p.add_argument("--interim", action="store_true")
    p.add_argument("--page", action="store_true")
    p.add_argument("--null-hello", choices=["mismatch"])
    a = p.parse_args()
    host, port = a.listen.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.ca:
        ctx.load_verify_locations(a.ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(16)
    print("listening", flush=True)
    n = 0
    while True:
        raw, _ = ls.accept()
        n += 1
        try:
            suites = peek_hello(raw) or []
            real = [s for s in suites if s not in SIGNALLING and (s & 0x0f0f) != 0x0a0a]
            null_only = bool(real) and all(s in NULL_SUITES for s in real)
            hello = "null" if null_only else "other"
            if null_only and a.null_hello == "mismatch":
                print("conn %d hello=null cn=- answer=mismatch" % n, flush=True)
                mismatch(raw)
                raw.close()
                continue
            raw.settimeout(10)
            conn = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("conn %d failed: %s" % (n, e), flush=True)
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn, a, n, hello), daemon=True).start()


if __name__ == "__main__":
    main()
