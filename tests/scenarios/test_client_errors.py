"""Every failure the client can meet, reproduced with real components, and
what `iphttps state --json` says about it (issue 4, item 4): LastErrorCode
(the Windows code of the catalogue), InterfaceStatus (the Windows string)
and LastError (symbol, plain words and the evidence).

  cli --(IPv4)-- net --(IPv4)-- srv (our server, openssl s_server, nginx,
                                     or a listener that misbehaves)
"""
import pytest

import faults
import netns

FAST = faults.FAST_RECONNECT + ("--timeout", "3")
URL = "https://%s/IPHTTPS" % netns.SERVER_NAME
NO_CERT = "No usable certificate found"


@pytest.fixture(scope="module")
def pki():
    """Certificates made with openssl: a CA and a server certificate for
    iphttps.test, another CA, a client certificate, an expired server
    certificate."""
    p = faults.Pki()
    p.ca_pair = p.ca("ca", "iphttps errors test CA")
    p.server = p.leaf("server", p.ca_pair, netns.SERVER_NAME)
    p.other_ca = p.ca("other-ca", "Some other CA")
    p.client = p.leaf("client", p.ca_pair, "client-1")
    p.expired = p.expired_leaf("expired", p.ca_pair, netns.SERVER_NAME)
    yield p
    p.cleanup()


def _client(start_client, iphttps_bin, url=URL, ca=None, cert=None, key=None, extra=()):
    return start_client(faults.Target(iphttps_bin, url, ca=ca, cert=cert, key=key),
                        extra_args=FAST + tuple(extra))


def _check(st, code, status=faults.STATUS_FAIL, symbol=None, *evidence):
    """Assert the state's code, status, symbol and that LastError holds
    every piece of evidence."""
    assert st["LastErrorCode"] == code, st
    assert st["InterfaceStatus"] == status, st
    if symbol:
        assert st["LastError"].startswith(symbol + ": "), st["LastError"]
    for e in evidence:
        assert e in st["LastError"], "%r not in %r" % (e, st["LastError"])
    assert st["State"] == "LinkDown"
    assert st["Failures"] >= 1


def test_name_does_not_resolve(topo, start_client, iphttps_bin, pki):
    """A name in no hosts file and a resolver where nothing listens."""
    undo = faults.etc_netns_file(topo, "cli", "resolv.conf",
                                 "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    try:
        c = _client(start_client, iphttps_bin, "https://nowhere.iphttps.test/IPHTTPS",
                    ca=pki.ca_pair[0])
        st = faults.wait_error(c, "0x2af9")
    finally:
        undo()
    _check(st, "0x2af9", faults.STATUS_FAIL, "WSAHOST_NOT_FOUND", "nowhere.iphttps.test",
           "cannot resolve")


def test_tcp_dropped(topo, start_client, iphttps_bin, pki):
    """Nothing comes back from the server (SYNs unanswered): a timeout."""
    undo = faults.blackhole(topo, "srv", topo.client_addr["cli"])
    try:
        c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0])
        st = faults.wait_error(c, "0x274c")
    finally:
        undo()
    _check(st, "0x274c", faults.STATUS_FAIL, "WSAETIMEDOUT", "%s:443" % netns.SERVER_V4,
           "no answer")


def test_refused(topo, start_client, iphttps_bin, pki):
    """Nothing listens on the server's port 443: RST to the SYN."""
    c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0])
    st = faults.wait_error(c, "0x274d")
    _check(st, "0x274d", faults.STATUS_FAIL, "WSAECONNREFUSED", "%s:443" % netns.SERVER_V4,
           "refused")


def test_reset_after_accept(topo, start_client, iphttps_bin, pki):
    """A listener that accepts, reads the ClientHello and resets."""
    faults.tcp_listener(topo, "srv", "0.0.0.0", 443, "reset")
    c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0])
    st = faults.wait_error(c, "0x2746")
    _check(st, "0x2746", faults.STATUS_FAIL, "WSAECONNRESET", "reset")


def test_alert_after_client_hello_no_common_suite(topo, start_client, iphttps_bin, pki):
    """A TLS 1.2 server with only the null suite; the client offers none."""
    faults.s_server(topo, "srv", 443, pki.server[0], pki.server[1], "-tls1_2",
                    "-cipher", "NULL-SHA256:@SECLEVEL=0")
    c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0])
    st = faults.wait_error(c, "0x80090326")
    _check(st, "0x80090326", faults.STATUS_FAIL, "SEC_E_ILLEGAL_MESSAGE",
           "handshake_failure", "after our ClientHello", "cipher suites")


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_alert_after_server_hello_client_cert_refused(topo, start_client, iphttps_bin, pki,
                                                      version):
    """A server that asks for a client certificate from another CA: the
    client presents its own, the server answers with a fatal alert."""
    faults.s_server(topo, "srv", 443, pki.server[0], pki.server[1], version,
                    "-Verify", "1", "-verify_return_error",
                    "-CAfile", pki.other_ca[0])
    c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0], cert=pki.client[0],
                key=pki.client[1])
    st = faults.wait_error(c, "0x80090326")
    _check(st, "0x80090326", faults.STATUS_FAIL, "SEC_E_ILLEGAL_MESSAGE",
           "received fatal alert unknown_ca (48) after our", "refused our client certificate")


def test_client_certificate_requested_none_held(topo, server, start_client, iphttps_bin):
    """Our own server (client certificates required) and a client without
    --cert/--key."""
    c = _client(start_client, iphttps_bin, server.url, ca=server.ca)
    st = faults.wait_error(c, "0x90320")
    _check(st, "0x90320", faults.STATUS_FAIL, "SEC_I_INCOMPLETE_CREDENTIALS",
           "received fatal alert", "we sent none")


def test_untrusted_root(topo, server, start_client, iphttps_bin, pki):
    """Our server, and a client that trusts another CA only."""
    c = _client(start_client, iphttps_bin, server.url, ca=pki.other_ca[0], cert=server.cert,
                key=server.key)
    st = faults.wait_error(c, "0x800b0109")
    issuer = faults.subject(server.ca)
    _check(st, "0x800b0109", faults.STATUS_FAIL, "CERT_E_UNTRUSTEDROOT",
           "does not chain to a root we trust", 'issued by "%s"' % issuer)


def test_expired(topo, start_client, iphttps_bin, pki):
    """A server certificate whose validity ended in 2021."""
    faults.s_server(topo, "srv", 443, pki.expired[0], pki.expired[1])
    c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0])
    st = faults.wait_error(c, "0x800b0101")
    _check(st, "0x800b0101", faults.STATUS_FAIL, "CERT_E_EXPIRED",
           "certificate has expired", "CN=%s" % netns.SERVER_NAME,
           "until 2021-01-01 00:00:00 UTC", 'issued by "CN=iphttps errors test CA"')


def test_name_mismatch(topo, server, start_client, iphttps_bin):
    """Our server reached under a name its certificate does not cover (an
    extra hosts entry on the client)."""
    undo = faults.etc_netns_file(topo, "cli", "hosts", "%s\tother.iphttps.test\n"
                                 % netns.SERVER_V4, append=True)
    try:
        c = _client(start_client, iphttps_bin, "https://other.iphttps.test/IPHTTPS",
                    ca=server.ca, cert=server.cert, key=server.key)
        st = faults.wait_error(c, "0x103")
    finally:
        undo()
    _check(st, "0x103", NO_CERT, "ERROR_NO_MORE_ITEMS", "other.iphttps.test",
           "DNS:%s" % netns.SERVER_NAME)


def test_ip_address_in_the_url(topo, server, start_client, iphttps_bin):
    """The server's address instead of its name in the URL (its
    certificate names iphttps.test only): Windows reports 0x4be, "Invalid
    IPHTTPS URL specified" (Microsoft KB 2980627, "DirectAccess clients
    unable to connect with error 0x4BE"), and so does the client, not the
    name mismatch 0x103."""
    c = _client(start_client, iphttps_bin, "https://%s/IPHTTPS" % netns.SERVER_V4,
                ca=server.ca, cert=server.cert, key=server.key)
    st = faults.wait_error(c, "0x4be")
    _check(st, "0x4be", "Invalid IPHTTPS URL specified", "ERROR_INVALID_NETNAME",
           netns.SERVER_V4, "IP address", "DNS:%s" % netns.SERVER_NAME)


# Windows sets LastErrorCode 0x80190000 | status for any answer but exactly
# 200 (iphlpsvc.dll, WebReceiveResponseCompletion); winerror.h names them.
HTTP_CASES = [
    (400, False, "HTTP_E_STATUS_BAD_REQUEST", "400 Bad Request"),
    (404, True, "HTTP_E_STATUS_NOT_FOUND", "404 Not Found"),
    (405, True, "HTTP_E_STATUS_BAD_METHOD", "405 Not Allowed"),
    (503, True, "HTTP_E_STATUS_SERVICE_UNAVAIL", "503 Service Temporarily Unavailable"),
]


@pytest.mark.parametrize("status,map_400,symbol,line", HTTP_CASES,
                         ids=["nginx-%d" % c[0] for c in HTTP_CASES])
def test_http_status_wrong_server_on_443(topo, start_client, iphttps_bin, pki, status, map_400,
                                         symbol, line):
    """nginx on 443: TLS works, and the POST gets a web server's answer.
    A stock nginx rejects the IP-HTTPS POST itself with 400 (its
    Content-Length, 2^64-1, is beyond nginx's limit); one that shows one
    page for every error answers that page's status.  All are the wrong
    server on 443, each with Windows' code for its status."""
    code = "0x%x" % (0x80190000 | status)
    ng = faults.Nginx(topo, "srv", netns.SERVER_V4, 443, pki.server[0], pki.server[1], status,
                      map_400=map_400)
    try:
        c = _client(start_client, iphttps_bin, ca=pki.ca_pair[0])
        st = faults.wait_error(c, code)
        log = ng.access_log()
    finally:
        ng.stop()
    _check(st, code, faults.STATUS_FAIL, symbol, "answered the POST with " + line, "Server: nginx")
    # nginx saw the POST and logged the status the client names.
    assert '"POST /IPHTTPS HTTP/1.1" %d ' % status in log, log
