"""The client's attempt sequence as Windows' client runs it (issue 10,
deliverable 1), against servers that fail in each of the ways Windows
reacts to (iphlpsvc.dll, iptlsclient.c: WebSendRequestCompletion,
WebReceiveResponseCompletion, IpTlsRestartClient; docs/windows.md):

  - the first attempt with --null-encryption on offers only the null suites;
    a reset (10054) or SEC_E_ALGORITHM_MISMATCH (0x80090331) makes it retry
    at once with the encrypted suites, an alert (0x80090326) does not;
  - client certificates are tried in turn: 0x8009030d, 0x8009030e and
    0x800b0110 drop the certificate and retry at once, an HTTP 403 moves
    on to the next one, and none left is 0x103 "No usable certificate
    found";
  - only exactly 200 is success; an interim 100 is skipped; a 200 that
    carries a web page is no stream; a redirect is 0x80190000 | status.

Servers: our own, `openssl s_server`, and win_server.py (scripted answers).
"""
import os
import shutil
import time

import pytest

import faults
import netns

FAST = faults.FAST_RECONNECT + ("--timeout", "3")
URL = "https://%s/IPHTTPS" % netns.SERVER_NAME
HERE = os.path.dirname(os.path.abspath(__file__))
LISTEN = netns.SERVER_V4 + ":443"


def client_cert(p, name, cn, eku="clientAuth", newkey="rsa:2048"):
    """A client certificate signed by p.ca_pair: (cert path, key path)."""
    key, csr, crt = p.path(name + ".key"), p.path(name + ".csr"), p.path(name + ".pem")
    faults.sh(["openssl", "req", "-new", "-newkey", newkey, "-nodes", "-keyout", key, "-out", csr,
               "-subj", "/CN=" + cn, "-addext", "extendedKeyUsage=" + eku])
    faults.sh(["openssl", "x509", "-req", "-in", csr, "-CA", p.ca_pair[0], "-CAkey", p.ca_pair[1],
               "-CAcreateserial", "-out", crt, "-days", "30", "-copy_extensions", "copy"])
    return crt, key


@pytest.fixture(scope="module")
def pki():
    p = faults.Pki()
    p.ca_pair = p.ca("ca", "iphttps windows test CA")
    p.server = p.leaf("server", p.ca_pair, netns.SERVER_NAME)
    p.a = client_cert(p, "a", "client-a")
    p.b = client_cert(p, "b", "client-b")
    p.server_only = client_cert(p, "server-only", "client-wrong-usage", eku="serverAuth")
    p.ec = client_cert(p, "ec", "client-ec", newkey="ec:" + _ec_params(p))
    yield p
    p.cleanup()


def _ec_params(p):
    path = p.path("p256.pem")
    faults.sh(["openssl", "ecparam", "-name", "prime256v1", "-out", path])
    return path


def certs(*pairs):
    """--cert/--key options for the pairs, in order."""
    out = []
    for crt, key in pairs:
        out += ["--cert", crt, "--key", key]
    return tuple(out)


def target(iphttps_bin, pki):
    return faults.Target(iphttps_bin, URL, ca=pki.ca_pair[0])


def win_server(topo, pki, *args):
    p = topo.popen("srv", [faults.PY, os.path.join(HERE, "win_server.py"), "--listen", LISTEN,
                           "--cert", pki.server[0], "--key", pki.server[1]] + list(args),
                   name="win_server")
    faults.wait_listening(topo, "srv", 443, proc=p)
    return p


def conns(proc):
    return [l for l in proc.stdout().splitlines() if l.startswith("conn ")]


# ---- null suites first, then encrypted ---------------------------------------------

def test_null_first_reset_then_encrypted(topo, start_server, start_client):
    """Our server on defaults (--auth certificates) resets a null-only
    ClientHello; Windows (and our client) then retries at once with the
    encrypted suites (WebSendRequestCompletion: 10054)."""
    server = start_server()
    c = start_client(server, extra_args=FAST + ("--null-encryption", "on"))
    st = c.wait_linkup()
    assert "NULL" not in st["TLS"], st
    assert "0x2746 WSAECONNRESET, then again at once with the encrypted suites" in st["Retries"], st
    assert st["Failures"] == 0 and st["Attempts"] == 1, st
    assert "the next attempt offers the encrypted suites" in st["NullEncryption"], st
    assert server.state()["Counters"]["NullOnlyReset"] == 1


def test_null_first_alert_not_retried(topo, start_client, iphttps_bin, pki):
    """A server without the null suites that answers the null-only hello
    with an alert: 0x80090326, which is not in Windows' retry list, so the
    next attempt waits for the timer and offers the null suites again (the
    seed 000 trouble: an ADC without the null suites)."""
    s = faults.s_server(topo, "srv", 443, pki.server[0], pki.server[1], "-tls1_2")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST + ("--null-encryption", "on"))
    st = faults.wait_state(c, lambda s: s.get("Failures", 0) >= 2, "two failed attempts")
    assert st["LastErrorCode"] == "0x80090326", st
    assert st["Retries"] == "", st
    assert "the next attempt offers only the null suites" in st["NullEncryption"], st
    assert "handshake failure" in s.stdout() + s.stderr() or "no shared cipher" in s.stdout() + s.stderr()


def test_null_first_algorithm_mismatch_then_encrypted(topo, start_client, iphttps_bin, pki):
    """A server that picks a suite the null-only hello did not offer:
    SEC_E_ALGORITHM_MISMATCH in the client, which retries at once with the
    encrypted suites (WebSendRequestCompletion: 0x80090331)."""
    w = win_server(topo, pki, "--null-hello", "mismatch")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST + ("--null-encryption", "on"))
    st = c.wait_linkup()
    assert "0x80090331 SEC_E_ALGORITHM_MISMATCH, then again at once" in st["Retries"], st
    lines = conns(w)
    assert lines[0].endswith("answer=mismatch") and "hello=other" in lines[1], lines


# ---- client certificates in turn ----------------------------------------------------

def test_wrong_usage_dropped_then_next(topo, start_server, start_client, pki):
    """Our server asks for a certificate; the first is not for client
    authentication (0x800b0110): dropped, the next tried at once."""
    server = start_server("--cert", pki.server[0], "--key", pki.server[1],
                          "--client-ca", pki.ca_pair[0])
    c = start_client(server, extra_args=FAST + ("--ca", pki.ca_pair[0]) +
                     certs(pki.server_only, pki.a))
    st = c.wait_linkup()
    assert st["ClientCertificate"] == "a.pem" and st["ClientCertificates"] == 2, st
    assert "0x800b0110 CERT_E_WRONG_USAGE, then at once without this certificate" in st["Retries"], st
    assert "is not for client authentication" in c.proc.stderr()


def test_unknown_credentials_dropped_then_next(topo, start_client, iphttps_bin, pki):
    """openssl s_server asks for an ECDSA-signed certificate: our RSA one
    cannot answer (SEC_E_UNKNOWN_CREDENTIALS 0x8009030d), the ECDSA one is
    tried at once and completes the handshake."""
    s = faults.s_server(topo, "srv", 443, pki.server[0], pki.server[1], "-tls1_2",
                        "-Verify", "1", "-verify_return_error", "-CAfile", pki.ca_pair[0],
                        "-client_sigalgs", "ECDSA+SHA256:ECDSA+SHA384")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST + certs(pki.a, pki.ec))
    # s_server saw no certificate, then the ECDSA one (it does not answer
    # the POST: the attempt ends in a timeout after the handshake)
    faults.wait_log(s.stderr, "peer did not return a certificate", timeout=20)
    faults.wait_log(s.stderr, "depth=0 CN = client-ec", timeout=20)
    st = faults.wait_state(c, lambda s: "0x8009030d" in s.get("Retries", ""), "the drop")
    assert "0x8009030d SEC_E_UNKNOWN_CREDENTIALS, then at once without this certificate" \
        in st["Retries"], st
    assert st["ClientCertificate"] == "ec.pem", st


def test_no_credentials_dropped_then_next(topo, start_server, start_client, iphttps_bin, pki):
    """A key file gone after start-up (SEC_E_NO_CREDENTIALS 0x8009030e):
    that certificate is dropped, the next of the directory tried at once."""
    d = faults.tempdir("certs")
    try:
        for name, pair in (("a", pki.a), ("b", pki.b)):
            shutil.copy(pair[0], os.path.join(d, name + ".pem"))
            shutil.copy(pair[1], os.path.join(d, name + ".key"))
        c = start_client(target(iphttps_bin, pki), extra_args=FAST + ("--cert", d))
        faults.wait_error(c, "0x274d")          # nothing listens yet
        os.unlink(os.path.join(d, "a.key"))
        start_server("--cert", pki.server[0], "--key", pki.server[1],
                     "--client-ca", pki.ca_pair[0])
        st = c.wait_linkup()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert st["ClientCertificate"] == "b.pem", st
    assert "0x8009030e SEC_E_NO_CREDENTIALS, then at once without this certificate" in st["Retries"], st


def test_403_next_certificate(topo, start_client, iphttps_bin, pki):
    """A Windows server answers 403 to a client certificate it refuses;
    Windows' client goes on at once with its next certificate
    (WebReceiveResponseCompletion: "Got 403. Restarting with next cert")."""
    w = win_server(topo, pki, "--ca", pki.ca_pair[0], "--answer", "client-a=403 Forbidden")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST + certs(pki.a, pki.b))
    st = c.wait_linkup()
    assert st["ClientCertificate"] == "b.pem", st
    assert "0x80190193 HTTP_E_STATUS_FORBIDDEN, then at once with the next certificate" in st["Retries"]
    assert [l.split()[3] for l in conns(w)[:2]] == ["cn=client-a", "cn=client-b"], conns(w)


def test_403_none_left_and_no_loop(topo, start_client, iphttps_bin, pki):
    """Every certificate refused: 0x103 "No usable certificate found"
    (IpTlsRestartClient), then the reconnect timer; never faster."""
    w = win_server(topo, pki, "--ca", pki.ca_pair[0], "--answer", "*=403 Forbidden")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST + certs(pki.a, pki.b))
    st = faults.wait_error(c, "0x103")
    assert st["InterfaceStatus"] == "No usable certificate found", st
    assert "no client certificate left to try" in st["LastError"], st
    time.sleep(3)
    st = c.state()
    assert len(conns(w)) <= 2 * st["Attempts"], (conns(w), st)


# ---- answers outside the protocol ----------------------------------------------------

def test_interim_100_then_200(topo, start_client, iphttps_bin, pki):
    """A 100 Continue before the 200 is skipped, as HTTP clients do."""
    win_server(topo, pki, "--interim")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST)
    c.wait_linkup()


def test_200_with_a_web_page(topo, start_client, iphttps_bin, pki):
    """A 200 that carries a page brings the link up as it does for Windows,
    and the page is no IPv6 stream: the link ends with the evidence, and
    the next attempt waits for the timer."""
    w = win_server(topo, pki, "--page")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST)
    st = faults.wait_state(c, lambda s: s.get("LastErrorCode") == "0xa0000002", "the stream error")
    assert "Content-Type: text/html" in st["LastError"] and "a web page" in st["LastError"], st
    time.sleep(3)
    st = c.state()
    assert len(conns(w)) <= st["Attempts"] + 1, (conns(w), st)


def test_redirect(topo, start_client, iphttps_bin, pki):
    """A redirect is not followed: Windows' 0x80190000 | 302."""
    win_server(topo, pki, "--answer", "*=302 Found")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST)
    st = faults.wait_error(c, "0x8019012e")
    assert st["LastError"].startswith("HTTP_E_STATUS_REDIRECT: "), st
    assert "does not follow" in st["LastError"], st


# ---- the server's certificate, in Windows' codes -------------------------------

def _leaf(p, name, issuer, eku="serverAuth", ca=False):
    """A certificate for iphttps.test (or a CA when ca) signed by issuer."""
    key, csr, crt = p.path(name + ".key"), p.path(name + ".csr"), p.path(name + ".pem")
    ext = (["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
           if ca else ["-addext", "subjectAltName=DNS:" + netns.SERVER_NAME, "-addext", "extendedKeyUsage=" + eku])
    faults.sh(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
               "-subj", "/CN=" + (name if ca else netns.SERVER_NAME)] + ext)
    faults.sh(["openssl", "x509", "-req", "-in", csr, "-CA", issuer[0], "-CAkey", issuer[1],
               "-CAcreateserial", "-out", crt, "-days", "30", "-copy_extensions", "copy"])
    return crt, key


def test_server_certificate_wrong_usage_and_chaining(topo, start_client, iphttps_bin, pki):
    """A server certificate that is not for server authentication:
    CERT_E_WRONG_USAGE (0x800b0110), no client certificate dropped for it.
    A chain that stops at an intermediate whose root the client lacks:
    CERT_E_CHAINING (0x800b010a), "a certificate chain could not be built
    to a trusted root authority" (winerror.h)."""
    wrong = _leaf(pki, "srv-client-eku", pki.ca_pair, eku="clientAuth")
    s = faults.s_server(topo, "srv", 443, wrong[0], wrong[1], "-tls1_2")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST + certs(pki.a))
    st = faults.wait_error(c, "0x800b0110")
    assert "not for server authentication" in st["LastError"], st
    assert st["Retries"] == "" and st["ClientCertificate"] == "a.pem", st
    c.stop()
    s.stop()
    other_root = pki.ca("other-root", "Root the client lacks")
    inter = _leaf(pki, "Intermediate CA", other_root, ca=True)
    leaf = _leaf(pki, "srv-behind-inter", inter)
    faults.s_server(topo, "srv", 443, leaf[0], leaf[1], "-tls1_2", "-cert_chain", inter[0],
                    name="s_server-chain")
    c = start_client(target(iphttps_bin, pki), extra_args=FAST)
    st = faults.wait_error(c, "0x800b010a")
    assert st["LastError"].startswith("CERT_E_CHAINING: "), st
    assert "Intermediate CA" in st["LastError"] and "Root the client lacks" in st["LastError"], st
