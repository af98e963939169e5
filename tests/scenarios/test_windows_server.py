"""Our server as stock Windows clients meet it (issue 10): Schannel's
ClientHellos replayed with `openssl s_client`, the suite chosen compared
with what a Windows DirectAccess server chooses, the null-cipher first
attempt in each authentication mode, URL paths as http.sys matches them.
The evidence of each fact is named where it is used (windows.py,
docs/windows.md)."""

import re

import netns
import windows

CONNECT = netns.SERVER_V4 + ":443"
# The 200 of Windows' server: status 200, reason "OK", no header of its own;
# http.sys adds Server and Date (iphlpsvc.dll ReceiveRequestCompletion,
# HttpSendHttpResponse).
WINDOWS_200 = re.compile(r"^HTTP/1\.1 200 OK\r\nServer: Microsoft-HTTPAPI/2\.0\r\n"
                         r"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n\r\n$")


def request(path):
    return ("POST %s HTTP/1.1\r\nHost: iphttps.test\r\n"
            "Content-Length: 18446744073709551615\r\n\r\n" % path)


def test_paths_as_http_sys(probe, server):
    """http.sys matches the path of a registered URL prefix in any case
    ("the relativeURI portion is case-insensitive": UrlPrefix Strings, HTTP
    Server API), and a prefix ends with a slash: /iphttps, /IPHTTPS/ and
    the others get exactly the 200 /IPHTTPS gets."""
    creds = dict(connect=CONNECT, ca=server.ca, cert=server.cert, key=server.key)
    for path in ("/IPHTTPS", "/iphttps", "/IPHTTPS/", "/IpHttPs/", "/iptls", "/IPTLS/",
                 "/%49PHTTPS"):
        r = probe(request=request(path), **creds)
        assert WINDOWS_200.match(r["head"]), (path, r)
        assert not r["eof"], (path, r)
    for path in ("/IPHTTPS/x", "/IPHTTPSX", "/"):
        r = probe(request=request(path), after=3, **creds)
        assert r["status"] and r["status"].startswith("HTTP/1.1 404 "), (path, r)
        assert r["eof"], (path, r)


def test_mode_none_defaults_as_a_directaccess_server(topo, start_server):
    """--auth none (the DirectAccess deployment) on defaults: the null-cipher
    first attempt of a Windows 8/10/11 client gets a null suite, as from a
    DirectAccess server (R. Hicks: an ADC without the null suites fails it
    with 0x80090326, seed 000); Schannel's default lists (the fallback of
    Windows 10/Server 2019, and Windows 11/Server 2022 with TLS 1.3) get
    the suite a Windows server with an RSA certificate picks by its own
    order: ECDHE-RSA-AES256-GCM-SHA384, TLS_AES_256_GCM_SHA384 in TLS 1.3."""
    server = start_server("--auth", "none")
    h = windows.s_client(topo, windows.NULL_FIRST_ATTEMPT)
    assert (h.protocol, h.cipher) == ("TLSv1.2", "NULL-SHA256"), h
    assert h.got_200, h
    h = windows.s_client(topo, windows.SCHANNEL_TLS12)
    assert (h.protocol, h.cipher) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"), h
    assert h.got_200, h
    h = windows.s_client(topo, windows.SCHANNEL_TLS12, version=None,
                         ciphersuites=windows.SCHANNEL_TLS13)
    assert (h.protocol, h.cipher) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384"), h
    st = server.state()
    assert st["NullEncryption"] == "prefer", st
    assert "the default with --auth none" in st["TLSPolicy"], st
    assert "; null suites (TLS_RSA_WITH_NULL_SHA256" in server.proc.stderr(), server.proc.stderr()[-2000:]


def test_mode_certificates_resets_a_null_only_hello(topo, server):
    """--auth certificates on defaults: encrypted suites only.  The
    null-only first attempt of a Windows 8+ client is reset without an
    alert, because Windows retries at once with its default suites after a
    reset (WSAECONNRESET) but never after an alert (0x80090326): iphlpsvc.dll
    WebSendRequestCompletion.  Its next ClientHello gets an encrypted suite."""
    creds = ("-cert", server.cert, "-key", server.key, "-CAfile", server.ca)
    h = windows.s_client(topo, windows.NULL_FIRST_ATTEMPT, *creds)
    assert h.cipher is None and h.reset, h
    assert not h.alert, h
    h = windows.s_client(topo, windows.SCHANNEL_TLS12, *creds)
    assert (h.protocol, h.cipher) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"), h
    assert h.got_200, h
    st = server.state()
    assert st["NullEncryption"] == "off", st
    assert "reset without an alert" in st["TLSPolicy"], st
    assert st["Counters"]["NullOnlyReset"] == 1, st
    assert "the ClientHello offered only the null suites" in server.proc.stderr()


def test_explicit_off_in_mode_none(topo, start_server):
    """--null-encryption off given with --auth none: no null suite, and the
    null-only hello is reset (not refused with an alert) there too."""
    server = start_server("--auth", "none", "--null-encryption", "off")
    h = windows.s_client(topo, windows.NULL_FIRST_ATTEMPT)
    assert h.cipher is None and h.reset, h
    h = windows.s_client(topo, windows.SCHANNEL_TLS12 + ":NULL-SHA256:NULL-SHA")
    assert h.cipher == "ECDHE-RSA-AES256-GCM-SHA384", h
    st = server.state()
    assert st["NullEncryption"] == "off" and "reset" in st["TLSPolicy"], st


def test_windows7_tls10_refused_by_default(topo, server):
    """A stock Windows 7 client speaks TLS 1.0 only (TLS 1.1/1.2 must be
    enabled on it by hand: ../shared/WINDOWS-EVIDENCE.md): the default
    server, TLS 1.2 at least, refuses it with protocol_version."""
    creds = ("-cert", server.cert, "-key", server.key, "-CAfile", server.ca)
    h = windows.s_client(topo, windows.WIN7_TLS10, *creds, version="-tls1")
    assert h.cipher is None, h
    assert "protocol version" in h.out, h
    assert server.state()["TLSMin"] == "1.2"


def test_windows7_tls10_with_tls_min(topo, start_server):
    """--tls-min 1.0: the Windows 7 ClientHello (TLS 1.0, its suites) gets
    an ECDHE suite with a SHA-1 handshake signature and the 200; said at
    start-up and in state."""
    server = start_server("--tls-min", "1.0")
    creds = ("-cert", server.cert, "-key", server.key, "-CAfile", server.ca)
    h = windows.s_client(topo, windows.WIN7_TLS10, *creds, version="-tls1")
    assert (h.protocol, h.cipher) == ("TLSv1.0", "ECDHE-RSA-AES256-SHA"), h
    assert h.got_200, h
    # the TLS 1.2 clients of the same server are as before
    h = windows.s_client(topo, windows.SCHANNEL_TLS12, *creds)
    assert (h.protocol, h.cipher) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"), h
    st = server.state()
    assert st["TLSMin"].startswith("1.0 (legacy"), st
    assert "TLS 1.0 to 1.3" in st["TLSPolicy"], st
    assert "--tls-min 1.0: this server accepts TLS 1.0 and 1.1" in server.proc.stderr()
