"""The server's HTTPS handshake as other TLS/HTTP tools see it (MS-IPHTTPS
3.2.5.1): the POST with an endless Content-Length gets `200 OK` with the
Windows `Server:` header and an RFC 7231 `Date:`; other requests are refused
and closed; slow or certificate-less peers are cut off."""

import email.utils
import os
import re
import subprocess
import time

import netns

REQUEST = ("POST /IPHTTPS HTTP/1.1\r\nHost: iphttps.test\r\n"
           "Content-Length: 18446744073709551615\r\n\r\n")
CONNECT = netns.SERVER_V4 + ":443"
SERVER_HEADER = "Microsoft-HTTPAPI/2.0"
# RFC 7231 7.1.1.1 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$")


def parse_head(text):
    """HTTP response head text -> (status line, {lower-name: [values]})."""
    lines = text.split("\r\n")
    headers = {}
    for line in lines[1:]:
        if not line:
            break
        name, sep, value = line.partition(":")
        assert sep, "malformed header line %r" % line
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers


def check_date(value):
    """Assert value is an IMF-fixdate within a few minutes of now."""
    assert IMF_FIXDATE.match(value), "Date %r is not an IMF-fixdate" % value
    when = email.utils.parsedate_to_datetime(value).timestamp()
    assert abs(when - time.time()) < 300, "Date %r is not now" % value


def check_200(status, headers):
    """Assert a 200 OK with the Windows Server header and a good Date."""
    assert status == "HTTP/1.1 200 OK", status
    assert headers.get("server") == [SERVER_HEADER], headers
    assert len(headers.get("date", [])) == 1, headers
    check_date(headers["date"][0])


def test_openssl_s_client_post_gets_200(topo, server):
    argv = ["openssl", "s_client", "-connect", CONNECT,
            "-servername", netns.SERVER_NAME,
            "-CAfile", server.ca, "-cert", server.cert, "-key", server.key,
            "-verify_return_error", "-verify_hostname", netns.SERVER_NAME,
            "-quiet", "-ign_eof"]
    proc = topo.popen("cli", argv, name="s_client", stdin=subprocess.PIPE)
    proc.popen.stdin.write(REQUEST.encode())
    proc.popen.stdin.flush()
    try:
        out = netns.wait_for(
            lambda: "\r\n\r\n" in proc.stdout() and proc.stdout(), 10, 0.1,
            "the response header from s_client")
    except TimeoutError as e:
        raise AssertionError("%s\n%s" % (e, proc.describe()))
    head = out[:out.index("\r\n\r\n") + 4]
    assert out.startswith("HTTP/1.1 200 OK\r\n"), \
        "the status line must come first, before any body: %r" % out[:200]
    check_200(*parse_head(head))
    # The link is up: the server keeps the connection open.
    time.sleep(1.0)
    assert proc.alive(), "connection closed after the 200:\n" \
        + proc.describe()
    proc.stop()


def test_curl_post_gets_200(topo, server):
    argv = ["curl", "-sv", "--http1.1", "-X", "POST",
            "--data-binary", "@/dev/null",
            "-H", "Content-Length: 18446744073709551615",
            "--cacert", server.ca, "--cert", server.cert, "--key", server.key,
            "--resolve", "%s:443:%s" % (netns.SERVER_NAME, netns.SERVER_V4),
            "--max-time", "3", "https://%s/IPHTTPS" % netns.SERVER_NAME]
    # curl waits for the endless body until --max-time: its exit status says
    # nothing here; the -v trace holds the status line and headers.
    p = topo.run("cli", argv, check=False, timeout=20)
    got = [l[2:].rstrip("\r") for l in p.stderr.splitlines()
           if l.startswith("< ")]
    assert got, "no response header in curl's trace:\n" + p.stderr
    head = "\r\n".join(got) + "\r\n\r\n"
    check_200(*parse_head(head))
    assert "SSL certificate verify ok" in p.stderr, p.stderr


def test_request_with_iptls_path_gets_200(probe, server):
    r = probe(connect=CONNECT, ca=server.ca, cert=server.cert,
              key=server.key, request=REQUEST.replace("/IPHTTPS", "/IPTLS"),
              after=1)
    check_200(*parse_head(r["head"]))
    assert not r["eof"], r


def _refused(r, code):
    """Assert the probe got status `code` and then a close."""
    assert r["handshake_ok"], r
    status, headers = parse_head(r["head"])
    assert status.startswith("HTTP/1.1 %d " % code), r
    assert r["eof"], "the server did not close after %d: %r" % (code, r)
    assert r["eof_at"] - r["t_handshake"] < 5, r
    if "date" in headers:
        check_date(headers["date"][0])


def test_get_gets_405_and_close(probe, server):
    r = probe(connect=CONNECT, ca=server.ca, cert=server.cert,
              key=server.key, after=6,
              request="GET /IPHTTPS HTTP/1.1\r\nHost: iphttps.test\r\n\r\n")
    _refused(r, 405)


def test_post_elsewhere_gets_404_and_close(probe, server):
    r = probe(connect=CONNECT, ca=server.ca, cert=server.cert,
              key=server.key, after=6,
              request=REQUEST.replace("/IPHTTPS", "/other"))
    _refused(r, 404)


def test_trickled_header_is_cut_off(probe, start_server):
    srv = start_server("--header-timeout", "2")
    # One byte a second: the whole header would take ~80 s.
    r = probe(connect=CONNECT, ca=srv.ca, cert=srv.cert, key=srv.key,
              trickle=1.0, timeout=15, after=0)
    assert r["handshake_ok"], r
    assert r["eof"], "a trickling peer was not cut off in 15 s: %r" % r
    assert 1.5 <= r["eof_at"] <= 5.5, \
        "closed %.1f s after connect, header timeout is 2 s: %r" \
        % (r["eof_at"], r)
    assert r["sent"] < len(REQUEST)
    if r["status"] is not None:
        assert r["status"].startswith("HTTP/1.1 408 "), r
    # And the server still serves a well-behaved client.
    ok = probe(connect=CONNECT, ca=srv.ca, cert=srv.cert, key=srv.key)
    check_200(*parse_head(ok["head"]))


def test_silent_peer_is_cut_off(probe, start_server):
    srv = start_server("--header-timeout", "2")
    r = probe(connect=CONNECT, ca=srv.ca, cert=srv.cert, key=srv.key,
              request="", after=10)
    assert r["handshake_ok"], r
    assert r["eof"] and 1.5 <= r["eof_at"] <= 5.5, r


def _no_200(r):
    """Assert the connection failed in TLS (handshake error, alert or close
    right after it) and never saw an HTTP response."""
    assert r["tcp_ok"], r
    assert r["status"] is None and r["head"] == "", r
    failed = (not r["handshake_ok"]) or r.get("read_error") \
        or r.get("send_error") or r["eof"]
    assert failed, "TLS did not fail: %r" % r


def test_client_without_certificate_fails_tls(probe, server):
    # TLS 1.2: the handshake itself fails.
    r = probe(connect=CONNECT, ca=server.ca, tls_max="1.2", after=3)
    assert not r["handshake_ok"], r
    _no_200(r)
    # TLS 1.3: the client's side of the handshake ends before the server
    # checks the certificate; the server's alert arrives on the first read.
    r = probe(connect=CONNECT, ca=server.ca, after=3)
    _no_200(r)


def test_client_with_foreign_certificate_fails_tls(probe, server, tmp_path):
    d = str(tmp_path / "foreign")
    os.makedirs(d)
    _make_foreign_client_cert(d)
    for tls_max in ("1.2", None):
        r = probe(connect=CONNECT, ca=server.ca, cert=d + "/client.pem",
                  key=d + "/client.key", tls_max=tls_max, after=3)
        _no_200(r)


def test_server_certificate_names_the_host(probe, server):
    # tls_probe checks the chain against the printed CA and the host name.
    r = probe(connect=CONNECT, ca=server.ca, cert=server.cert,
              key=server.key, servername=netns.SERVER_NAME)
    assert r["handshake_ok"], r
    r = probe(connect=CONNECT, ca=server.ca, cert=server.cert,
              key=server.key, servername="wrong.test")
    assert not r["handshake_ok"], r
    assert "hostname" in r["handshake_error"].lower(), r


def _make_foreign_client_cert(d):
    """A CA and a client certificate the server has never seen, in d."""
    def ossl(*args, stdin=None):
        subprocess.run(["openssl"] + list(args), check=True, timeout=30,
                       capture_output=True, input=stdin)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/ca.key",
         "-out", d + "/ca.pem", "-subj", "/CN=foreign CA", "-days", "2")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", d + "/client.key", "-out", d + "/client.csr",
         "-subj", "/CN=client1")
    ossl("x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.pem",
         "-CAkey", d + "/ca.key", "-CAcreateserial", "-out",
         d + "/client.pem", "-days", "2", "-extfile", "/dev/stdin",
         stdin=b"extendedKeyUsage=clientAuth\n")
