"""The TLS records taken over from OpenSSL after the handshake (issue 11,
deliverable 5; --tls-records own, the default; net/stream.c, tls/record.c).

One server per mode (own, and openssl to rule the layer out), real
`openssl s_client` sessions in the client namespace with each suite the
layer takes over: TLS 1.3 AES-128/256-GCM, TLS 1.2 ECDHE-RSA-AES-128/256-GCM,
and the two null suites of Windows' IP-HTTPS (MS-IPHTTPS 3.2.5.1:
TLS_RSA_WITH_NULL_SHA256 and TLS_RSA_WITH_NULL_SHA).  Each session carries
echo requests to the inside host through the server's kernel and their
replies back; a TLS 1.3 session gets s_client's KeyUpdate commands (k: not
requested, K: requested, whose answer the -msgfile shows) mid-tunnel; a
forged record from another session ends that session alone, counted, in
OpenSSL's words, while the s_client session goes on."""
import ipaddress
import os
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import netns  # noqa: E402
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest, ICMPv6EchoReply  # noqa: E402
from scapy.compat import raw  # noqa: E402

POST = (b"POST /IPHTTPS HTTP/1.1\r\nHost: iphttps.test\r\n"
        b"Content-Length: 18446744073709551615\r\n\r\n")
WAIT = 30.0                 # generous: a loaded machine

# (name shown by the server, s_client options)
SUITES = [
    ("TLS_AES_128_GCM_SHA256", ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]),
    ("TLS_AES_256_GCM_SHA384", ["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"]),
    ("ECDHE-RSA-AES128-GCM-SHA256", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]),
    ("ECDHE-RSA-AES256-GCM-SHA384", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"]),
    ("NULL-SHA256", ["-tls1_2", "-cipher", "NULL-SHA256:@SECLEVEL=0"]),
    ("NULL-SHA", ["-tls1_2", "-cipher", "NULL-SHA:@SECLEVEL=0"]),
]

# A session that sends a record that does not authenticate once LinkUp.
FORGER = r'''
import json, os, socket, ssl, sys
ca, host, name = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname=name)
s = socket.create_connection((host, 443), timeout=20)
def pump():
    d = out.read()
    if d:
        s.sendall(d)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        pump()
        inc.write(s.recv(65536))
pump()
tls.write(b"POST /IPHTTPS HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n")
pump()
got = b""
while b"\r\n\r\n" not in got:
    try:
        got += tls.read(65536)
    except ssl.SSLWantReadError:
        inc.write(s.recv(65536))
s.sendall(b"\x17\x03\x03\x00\x40" + os.urandom(64))
err = ""
try:
    while True:
        try:
            if not tls.read(65536):
                break
        except ssl.SSLWantReadError:
            d = s.recv(65536)
            if not d:
                break
            inc.write(d)
except (ssl.SSLError, OSError) as e:
    err = str(e)
print(json.dumps({"status": got.split(b"\r\n")[0].decode(), "error": err}))
'''


class SClient:
    """openssl s_client in cli: -quiet for a clean stdout, -no_ign_eof so
    that its k/K commands work, -msgfile for the protocol messages."""

    def __init__(self, topo, server, opts, tag):
        self.msgfile = os.path.join(topo.workdir, "s_client-%s.msg" % tag)
        self.errfile = os.path.join(topo.workdir, "s_client-%s.err" % tag)
        self.err = open(self.errfile, "wb")
        argv = ["ip", "netns", "exec", topo.ns("cli"), "timeout", "120", "openssl", "s_client",
                "-connect", netns.SERVER_V4 + ":443", "-servername", netns.SERVER_NAME,
                "-CAfile", server.ca, "-quiet", "-no_ign_eof", "-msg", "-msgfile", self.msgfile] + opts
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err)
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.body = None            # offset of the stream after the 200's header

    def _read(self):
        while True:
            d = self.p.stdout.read1(65536)
            if not d:
                return
            with self.lock:
                self.buf += d

    def stderr(self):
        with open(self.errfile, "rb") as f:
            return f.read().decode(errors="replace")

    def write(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def linkup(self):
        self.write(POST)

        def header():
            with self.lock:
                i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                assert self.p.poll() is None, "s_client ended: " + self.stderr()[-1500:]
                return None
            return i + 4
        self.body = netns.wait_for(header, WAIT, 0.05, "the answer to the POST")
        assert self.buf.startswith(b"HTTP/1.1 200"), bytes(self.buf[:200])

    def packets(self):
        """Every whole IPv6 packet the server sent so far."""
        with self.lock:
            data = bytes(self.buf[self.body:])
        pkts, i = [], 0
        while len(data) - i >= 40:
            n = 40 + (data[i + 4] << 8 | data[i + 5])
            if len(data) - i < n:
                break
            pkts.append(data[i:i + n])
            i += n
        return pkts

    def ping(self, src, ident, count, size=1200):
        """count echo requests to the inside host, each answered."""
        for seq in range(count):
            self.write(raw(IPv6(src=src, dst=netns.INSIDE_HOST) /
                           ICMPv6EchoRequest(id=ident, seq=seq, data=bytes(size))))

        def replies():
            got = set()
            for p in self.packets():
                pkt = IPv6(p)
                if pkt.haslayer(ICMPv6EchoReply) and pkt[ICMPv6EchoReply].id == ident:
                    assert len(pkt[ICMPv6EchoReply].data) == size
                    got.add(pkt[ICMPv6EchoReply].seq)
            return len(got) == count or None
        netns.wait_for(replies, WAIT, 0.05, "%d echo replies (id %#x)" % (count, ident))

    def key_update(self, letter):
        """s_client's k or K command, once it said KEYUPDATE."""
        before = self.stderr().count("KEYUPDATE")
        self.write(letter.encode() + b"\n")
        netns.wait_for(lambda: self.stderr().count("KEYUPDATE") > before or None, WAIT, 0.05,
                       "s_client's KEYUPDATE")

    def msgs(self):
        with open(self.msgfile, errors="replace") as f:
            return f.read()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err.close()


def prefix(server):
    st = netns.wait_for(lambda: server.state(), 15, 0.1, "the server's control socket")
    return ipaddress.ip_network(st["Prefix"])


def counters(server):
    return server.state()["Counters"]


@pytest.mark.parametrize("layer", ["own", "openssl"])
def test_every_suite_key_updates_and_a_forged_record(topo, start_server, layer, tmp_path):
    if layer == "own":
        server = start_server("--auth", "none")        # the default
    else:
        conf = tmp_path / "server.conf"             # the option as a configuration key
        conf.write_text("[server]\ntls-records = openssl\n")
        os.chmod(tmp_path, 0o755)
        os.chmod(conf, 0o644)
        server = start_server("--auth", "none", "-c", str(conf))
    net = prefix(server)
    taken = counters(server)["RecordsTakenOver"]
    # Every suite: traffic both ways through the server's kernel.
    for i, (name, opts) in enumerate(SUITES):
        c = SClient(topo, server, opts, "%s-%d" % (layer, i))
        try:
            c.linkup()
            c.ping(str(net[0xa00 + i]), 0x100 + i, 20)
            log = server.proc.stderr()
            assert name in log or name.replace("-", "_") in log, log[-2000:]
        finally:
            c.close()
        want = taken + i + 1 if layer == "own" else 0
        assert counters(server)["RecordsTakenOver"] == want
    # KeyUpdate from OpenSSL's client mid-tunnel, both kinds; the session
    # goes on under the new keys.  With K the server's own KeyUpdate
    # comes back (RFC 8446 4.6.3).
    c = SClient(topo, server, SUITES[0][1], layer + "-ku")
    try:
        c.linkup()
        src = str(net[0xb00])
        c.ping(src, 0x200, 5)
        c.key_update("k")
        c.ping(src, 0x201, 5)
        assert c.msgs().count("<<< TLS 1.3, Handshake [length 0005], KeyUpdate") == 0, c.msgs()[-1500:]
        c.key_update("K")
        c.ping(src, 0x202, 5)
        assert c.msgs().count("<<< TLS 1.3, Handshake [length 0005], KeyUpdate") == 1, c.msgs()[-1500:]
        assert c.msgs().count(">>> TLS 1.3, Handshake [length 0005], KeyUpdate") == 2
        # A forged record on another session: that session ends with
        # bad_record_mac, counted; this one is untouched.
        before = counters(server)
        p = topo.run("cli", ["/usr/bin/python3", "-c", FORGER, server.ca, netns.SERVER_V4, netns.SERVER_NAME],
                     timeout=60)
        assert '"status": "HTTP/1.1 200 OK"' in p.stdout, p.stdout + p.stderr
        assert "BAD_RECORD_MAC" in p.stdout.upper(), p.stdout
        netns.wait_for(lambda: counters(server)["RecordErrors"] == before["RecordErrors"] + 1 or None,
                       WAIT, 0.1, "RecordErrors counted")
        assert "decryption failed or bad record mac" in server.proc.stderr()
        c.ping(src, 0x203, 5)
        assert counters(server)["Closed"] == before["Closed"] + 1
    finally:
        c.close()
