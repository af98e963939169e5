"""TLS session resumption on the server (--tls-resumption, issue 11;
src/tls/resume.c, the takeover in src/tls/record.c).

Real `openssl s_client` sessions in the client namespace: one full
handshake saves its session (-sess_out, the ticket the server sent), the
next presents it (-sess_in) and prints `Reused` or `New`.  A resumed
session passes echo requests to the inside host through the server's
kernel beside a fresh one, with both record layers (own: the TLS 1.3
tickets went out under the application key, so the takeover's write
sequence starts after them) and across worker processes.  The security
rules: a client certificate revoked (CRL re-read at reload) or expired
since its full handshake does not resume; a session of mode None does not
resume into mode Certificates after a reload; --tls-resumption off sends
no ticket and resumes nothing.

Windows' Schannel clients keep TLS sessions and offer them again when the
server allows it (SCHANNEL's client cache, ClientCacheTime: Microsoft's
"Schannel SSP" / TLS registry settings documentation); nothing here
depends on a Windows-only behaviour."""
import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from cryptography import x509

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import certs  # noqa: E402
import netns  # noqa: E402
from test_records import SClient, POST, WAIT, counters, prefix  # noqa: E402

V13 = ["-tls1_3"]
V12 = ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]
SERVER_CERT = re.compile(r"<<< TLS 1\.[23], Handshake \[length [0-9a-f]+\], Certificate\b")


def cert_opts(cert, key):
    return ["-cert", cert, "-key", key] if cert else []


def once(topo, server, opts, sess_in):
    """One s_client that presents sess_in, sends the POST and ends:
    its output (with `Reused, ...` or `New, ...`)."""
    p = topo.run("cli", ["timeout", "30", "openssl", "s_client", "-connect",
                         netns.SERVER_V4 + ":443", "-servername", netns.SERVER_NAME,
                         "-CAfile", server.ca, "-sess_in", sess_in] + opts,
                 check=False, timeout=60, input=POST.decode())
    return p.stdout + p.stderr


def full(topo, server, opts, tag, sess_out):
    """A full handshake that saves its session: the s_client, LinkUp."""
    c = SClient(topo, server, opts + ["-sess_out", sess_out], tag)
    c.linkup()
    assert SERVER_CERT.search(c.msgs()), c.msgs()[-1500:]
    netns.wait_for(lambda: os.path.exists(sess_out) and os.path.getsize(sess_out) > 0 or None,
                   WAIT, 0.05, "the session saved by s_client")
    return c


@pytest.fixture
def conf():
    """A configuration file the daemon's user can read again at reload."""
    d = tempfile.mkdtemp(prefix="iph-res-", dir="/tmp")
    os.chmod(d, 0o755)
    path = os.path.join(d, "server.conf")

    def write(text):
        with open(path, "w") as f:
            f.write("[server]\n" + text)
        os.chmod(path, 0o644)
        return path
    yield write
    shutil.rmtree(d, ignore_errors=True)


def clients_json(server):
    p = server.topo.run("srv", [server.binary, "clients", "--json", "--run-dir",
                                server.run_dir, server.tun])
    return json.loads(p.stdout)


def reload(server, mark):
    """SIGHUP, and wait until the reload logged (its count grew)."""
    before = server.proc.stderr().count(mark)
    os.kill(server.proc.pid, signal.SIGHUP)
    try:
        netns.wait_for(lambda: server.proc.stderr().count(mark) > before or None, WAIT, 0.1,
                       "the reload")
    except TimeoutError as e:
        raise AssertionError("%s\n%s" % (e, server.proc.stderr()[-3000:]))


@pytest.mark.parametrize("layer", ["own", "openssl"])
def test_resumed_and_fresh_pass_traffic_tls12_tls13(topo, start_server, layer, tmp_path, conf):
    # the options as configuration keys
    server = start_server("-c", conf("tls-records = %s\ntls-resumption = on\n" % layer))
    net = prefix(server)
    mine = cert_opts(server.cert, server.key)
    for i, (name, v) in enumerate((("tls13", V13), ("tls12", V12))):
        sess = str(tmp_path / ("%s.sess" % name))
        before = counters(server)
        first = full(topo, server, v + mine, "%s-%s-full" % (layer, name), sess)
        again = SClient(topo, server, v + mine + ["-sess_in", sess], "%s-%s-resumed" % (layer, name))
        fresh = SClient(topo, server, v + mine, "%s-%s-fresh" % (layer, name))
        try:
            again.linkup()
            fresh.linkup()
            # The resumed handshake had no server Certificate; the fresh one had.
            assert not SERVER_CERT.search(again.msgs()), again.msgs()[-1500:]
            assert SERVER_CERT.search(fresh.msgs()), fresh.msgs()[-1500:]
            after = counters(server)
            assert after["TLSResumed"] == before["TLSResumed"] + 1, after
            if layer == "own":
                assert after["RecordsTakenOver"] == before["RecordsTakenOver"] + 3, after
            # Traffic through the server's kernel on all three, interleaved.
            for k, c in enumerate((again, fresh, first, again)):
                c.ping(str(net[0xc00 + 16 * i + k]), 0x300 + 16 * i + k, 10)
            # The resumed connection is the same client: subject and serial.
            recs = [c for c in clients_json(server) if c.get("State") == "LinkUp"]
            assert len(recs) == 3, recs
            assert len({(c.get("Subject"), c.get("Serial")) for c in recs}) == 1, recs
            assert recs[0]["Subject"] == "CN=client1", recs
        finally:
            for c in (first, again, fresh):
                c.close()
        netns.wait_for(lambda: not clients_json(server) or None, WAIT, 0.1, "clients gone")
    # A reload that changes nothing TLS depends on keeps the tickets valid;
    # --tls-resumption off (the same certificate, CA and CRL) resumes nothing.
    sess = str(tmp_path / "tls13.sess")
    reload(server, "reload: configuration read again")
    out = once(topo, server, V13 + mine, sess)
    assert "Reused, TLSv1.3" in out, out[-2000:]
    conf("tls-records = %s\ntls-resumption = off\n" % layer)
    reload(server, "reload: configuration read again")
    before = counters(server)["TLSResumed"]
    out = once(topo, server, V13 + mine, sess)
    assert "New, TLSv1.3" in out and "Reused" not in out, out[-2000:]
    c = SClient(topo, server, V13 + mine, layer + "-off")
    try:
        c.linkup()
        c.ping(str(net[0xd00]), 0x3f0, 5)
        assert "NewSessionTicket" not in c.msgs(), c.msgs()[-1500:]
    finally:
        c.close()
    assert counters(server)["TLSResumed"] == before


def test_ticket_of_one_worker_resumes_on_another(topo, start_server, tmp_path):
    server = start_server("--workers", "2")
    netns.wait_for(lambda: all(w["State"] == "running" for w in server.state()["Workers"]) or None,
                   WAIT, 0.2, "two workers running")
    net = prefix(server)
    mine = cert_opts(server.cert, server.key)
    sess = str(tmp_path / "w.sess")
    first = full(topo, server, V13 + mine, "w-full", sess)
    again = None
    try:
        # The first holds its worker: the acceptor gives the next
        # connection to the other one (the least loaded).
        netns.wait_for(lambda: sorted(w["Clients"] for w in server.state()["Workers"]) == [0, 1]
                       or None, WAIT, 0.1, "the first client on one worker")
        again = SClient(topo, server, V13 + mine + ["-sess_in", sess], "w-resumed")
        again.linkup()
        assert not SERVER_CERT.search(again.msgs()), again.msgs()[-1500:]
        netns.wait_for(lambda: sorted(w["Clients"] for w in server.state()["Workers"]) == [1, 1]
                       or None, WAIT, 0.1, "one client on each worker")
        assert counters(server)["TLSResumed"] == 1
        again.ping(str(net[0xe00]), 0x400, 10)
        first.ping(str(net[0xe01]), 0x401, 10)
    finally:
        first.close()
        if again:
            again.close()


def test_revoked_since_does_not_resume(topo, server, tmp_path):
    p = subprocess.run([server.binary, "issue-client", "dave", "--state-dir", server.state_dir],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    d = tempfile.mkdtemp(prefix="iph-dave-", dir="/tmp")
    try:
        crt, key = os.path.join(d, "dave.pem"), os.path.join(d, "dave.key")
        shutil.copy(os.path.join(server.state_dir, "clients", "dave.pem"), crt)
        shutil.copy(os.path.join(server.state_dir, "clients", "dave.key"), key)
        sess = str(tmp_path / "dave.sess")
        c = full(topo, server, V13 + cert_opts(crt, key), "dave", sess)
        try:
            # The session resumes while dave is valid...
            out = once(topo, server, V13 + cert_opts(crt, key), sess)
            assert "Reused, TLSv1.3" in out, out[-2000:]
            resumed = counters(server)["TLSResumed"]
            p = subprocess.run([server.binary, "revoke-client", "--state-dir", server.state_dir, "dave"],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stdout + p.stderr
            reload(server, "reload: CRL")
            netns.wait_for(lambda: not [r for r in clients_json(server) if r.get("Subject") == "CN=dave"]
                           or None, WAIT, 0.1, "dave ended at reload")
        finally:
            c.close()
        # ...and not once the CRL read at reload revokes him: a full
        # handshake, refused.
        out = once(topo, server, V13 + cert_opts(crt, key), sess)
        assert "Reused" not in out, out[-2000:]
        assert counters(server)["TLSResumed"] == resumed
        netns.wait_for(lambda: re.search(r"TLS handshake failed: .*certificate revoked",
                                         server.proc.stderr()) or None, WAIT, 0.1,
                       "the refused handshake logged")
        assert not [r for r in clients_json(server) if r.get("Subject") == "CN=dave"]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_expired_since_does_not_resume(topo, start_server, tmp_path):
    ca = certs.Authority(str(tmp_path / "pki"))
    crt, key = ca.issue(netns.SERVER_NAME, days=30, server_names=[netns.SERVER_NAME], name="srv")
    server = start_server("--cert", crt, "--key", key, "--client-ca", ca.pem)
    server.ca = ca.pem
    # A client certificate valid for 25 seconds from now.
    ecrt, ekey = ca.issue("erin", days=25 / 86400.0, name="erin")
    sess = str(tmp_path / "erin.sess")
    c = full(topo, server, V13 + cert_opts(ecrt, ekey), "erin", sess)
    c.close()
    out = once(topo, server, V13 + cert_opts(ecrt, ekey), sess)
    assert "Reused, TLSv1.3" in out, out[-2000:]      # still valid: resumes
    resumed = counters(server)["TLSResumed"]
    with open(ecrt, "rb") as f:
        end = calendar.timegm(x509.load_pem_x509_certificate(f.read()).not_valid_after.utctimetuple())
    # Nothing reloads: the ticket key is the same; the certificate's date
    # alone must stop the resumption.
    netns.wait_for(lambda: time.time() > end + 1 or None, 60, 0.5, "erin's certificate expired")
    out = once(topo, server, V13 + cert_opts(ecrt, ekey), sess)
    assert "Reused" not in out, out[-2000:]
    assert counters(server)["TLSResumed"] == resumed
    netns.wait_for(lambda: "certificate has expired" in server.proc.stderr() or None, WAIT, 0.1,
                   "the refused handshake logged")


def test_mode_none_session_does_not_resume_into_certificates(topo, start_server, tmp_path, conf):
    server = start_server("-c", conf("auth = none\nnull-encryption = off\n"))
    sess = str(tmp_path / "none.sess")
    c = full(topo, server, V13, "none", sess)
    c.close()
    out = once(topo, server, V13, sess)
    assert "Reused, TLSv1.3" in out, out[-2000:]
    conf("auth = certificates\nnull-encryption = off\n")
    reload(server, "reload: configuration read again")
    assert "authentication certificates" in server.proc.stderr()
    resumed = counters(server)["TLSResumed"]
    # Without a certificate: no resumption into the new mode, refused.
    out = once(topo, server, V13, sess)
    assert "Reused" not in out, out[-2000:]
    assert counters(server)["TLSResumed"] == resumed
    assert not [r for r in clients_json(server) if r.get("State") == "LinkUp"]
