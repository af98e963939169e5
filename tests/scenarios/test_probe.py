"""`iphttps probe URL` (issue 5, items 1, 2 and 6) against real components
set up wrongly in each way it must tell apart, in network namespaces:

  cli --(IPv4)-- net (Squid) --(IPv4)-- srv (our server, openssl s_server,
                                             nginx, listeners that reset)

Each test checks the verdict code (the Windows LastErrorCode a client would
report), the exit status (0 a client would connect, 1 not, 2 usage) and the
evidence; where tests/data/captures/ holds a capture of the same fault made
by tests/data/make_captures.sh, the probe's code must equal the one the
trace gives for it (NAME.expect).  Every wait is bounded: the probe runs
with --timeout and under a subprocess timeout.
"""
import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

import faults
import netns

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CAPTURES = os.path.join(REPO, "tests", "data", "captures")
URL = "https://%s/IPHTTPS" % netns.SERVER_NAME
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                          r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")
NULL_SENTENCE = ("the server or the ADC in front of it refuses the null suites, so Windows "
                 "8/10/11 DirectAccess clients, which negotiate null encryption, fail with "
                 "0x80090326 right after the ClientHello")
STEP_TIMEOUT = "2"          # seconds per probe step


@pytest.fixture(scope="module")
def pki():
    """A CA and server certificates for iphttps.test: a good one, one for
    another name, an expired one, one from another CA, a self-signed one."""
    p = faults.Pki()
    p.ca_pair = p.ca("ca", "Test Root CA")
    p.server = p.leaf("server", p.ca_pair, netns.SERVER_NAME)
    p.other_name = p.leaf("other-name", p.ca_pair, "www.other.test")
    p.expired = p.expired_leaf("expired", p.ca_pair, netns.SERVER_NAME)
    p.other_ca = p.ca("other-ca", "Other Root CA")
    p.other_server = p.leaf("other-server", p.other_ca, netns.SERVER_NAME)
    p.other_client = p.leaf("other-client", p.other_ca, "client1")
    crt, key = p.path("self.pem"), p.path("self.key")
    faults.sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
               "-out", crt, "-days", "400", "-subj", "/CN=" + netns.SERVER_NAME,
               "-addext", "subjectAltName=DNS:" + netns.SERVER_NAME,
               "-addext", "keyUsage=digitalSignature,keyEncipherment",
               "-addext", "extendedKeyUsage=serverAuth"])
    p.self_signed = (crt, key)
    yield p
    p.cleanup()


# ---- running the probe ------------------------------------------------------

class Result:
    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.doc = None
        if self.out.lstrip().startswith("{"):
            self.doc = json.loads(self.out)

    @property
    def verdict(self):
        return self.doc["verdict"]

    def text(self):
        v = self.verdict
        return " ".join((v["summary"], v["cause"], v["evidence"], v["notes"]))

    def step(self, name):
        """The JSON step called name (the first), or None."""
        return next((s for s in self.doc["steps"] if s["step"] == name), None)

    def __repr__(self):
        return "rc %s\n%s\n%s" % (self.rc, self.out[-6000:], self.err[-3000:])


def run_probe(topo, binary, *args, host="cli", json_out=True, timeout=90):
    """Run `iphttps probe` in host with NO_COLOR; returns a Result.  Fails
    on a sanitizer report."""
    argv = [binary, "probe", "--timeout", STEP_TIMEOUT] + (["--json"] if json_out else []) + list(args)
    env = dict(os.environ, NO_COLOR="1")
    p = topo.run(host, argv, check=False, timeout=timeout, env=env)
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return Result(p)


def expect_code(name):
    """The code `iphttps trace` gives for tests/data/captures/NAME, or None
    when that capture is not there."""
    path = os.path.join(CAPTURES, name + ".expect")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if line.startswith("code "):
                return line.split()[1]
    return None


def check(res, code, rc=1, *evidence, trace=None):
    """The verdict's code and the exit status; every evidence text appears
    in the verdict (summary, cause, evidence or notes); the code equals the
    trace's for the capture `trace` when there is one."""
    assert res.doc is not None, res
    assert res.verdict["code"] == code, res
    assert res.rc == rc, res
    text = res.text()
    for e in evidence:
        assert e in text, "%r not in the verdict: %r" % (e, text)
    if trace:
        tc = expect_code(trace)
        if tc is not None:
            assert tc == code, "trace of %s says %s, the probe %s" % (trace, tc, code)


def s_server(topo, pki, pair, *extra):
    return faults.s_server(topo, "srv", 443, pair[0], pair[1], *extra)


# ---- our own server ------------------------------------------------------------

def test_own_server_ok(topo, start_server, iphttps_bin):
    """Our server with the null suites allowed: every step passes under the
    default profile (windows10); the RA's prefix is reported; JSON keys."""
    srv = start_server("--null-encryption", "allow")
    res = run_probe(topo, iphttps_bin, "--ca", srv.ca, "--cert", srv.cert, "--key", srv.key, srv.url)
    check(res, "0x0", 0, "link up", trace="success_null")
    d = res.doc
    for k in ("url", "host", "port", "path", "profile", "time", "steps", "resolve", "tcp", "tls",
              "suites", "chain", "http", "link", "verdict"):
        assert k in d, k
    assert d["profile"] == "windows10"
    assert [s["step"] for s in d["steps"]][:3] == ["resolve", "tcp", "tls"]
    assert all(s["status"] == "ok" for s in d["steps"] if s["step"] != "cert 0"), d["steps"]
    assert d["tls"]["version"] == "TLS 1.2" and d["tls"]["client_certificate_requested"]
    assert d["tls"]["client_certificate_sent"] == "present"
    assert d["suites"]["null"] == "accepted" and d["suites"]["encrypted"] == "accepted"
    assert d["chain"]["trusted"] and d["chain"]["name_match"]
    assert d["http"]["status"] == 200 and d["http"]["server"] == "Microsoft-HTTPAPI/2.0"
    link = d["link"]
    assert link["rs_sent"] and link["router_advertisement"], link
    assert link["prefix"] and link["prefix_len"] == 64, link
    assert link["mtu"] == 1280
    assert any(r["prefix"] == netns.INSIDE_PREFIX for r in link["routes"]), link
    assert link["prefix"] in res.verdict["evidence"]
    for k in ("result", "code", "symbol", "interface_status", "summary", "cause", "evidence",
              "fix", "notes"):
        assert k in res.verdict
    assert res.verdict["interface_status"] == "IPHTTPS interface active"


def test_own_server_human_output(topo, start_server, iphttps_bin):
    """The human form: one aligned line per step, the verdict last, no
    colour (NO_COLOR, and not a terminal)."""
    srv = start_server("--null-encryption", "allow")
    res = run_probe(topo, iphttps_bin, "--ca", srv.ca, "--cert", srv.cert, "--key", srv.key,
                srv.url, json_out=False)
    assert res.rc == 0, res
    assert "\033[" not in res.out
    lines = res.out.rstrip("\n").splitlines()
    assert lines[0].startswith("probe %s" % srv.url)
    heads = [l for l in lines if re.match(r"  \S", l)]
    names = [l.split()[0] for l in heads]
    assert names[:3] == ["resolve", "tcp", "tls"] and "link" in names and "verdict" in names
    steps = lines[2:lines.index(next(h for h in heads if h.startswith("  verdict"))) - 1]
    for l in steps:     # status at column 12, text (and wrapped text) at column 29
        if re.match(r"  \S", l):
            assert l[12:16].strip() in ("ok", "warn", "FAIL", "skip"), "status column:\n" + res.out
        assert l[27:29] == "  " and l[29] != " ", "text column:\n" + res.out
    verdict = [l for l in lines if l.startswith("  verdict")]
    assert verdict and "OK" in verdict[0] and "0x0" in verdict[0]
    assert lines.index(verdict[0]) > max(lines.index(h) for h in heads if not h.startswith(
        ("  verdict", "  cause", "  evidence", "  fix", "  notes")))
    assert re.search(r"link\s+ok\s+[\d.]+ ms\s+Router Advertisement from fe80::", res.out), res


def test_own_server_linux_profile_tls13(topo, start_server, iphttps_bin):
    """The linux profile (our client's TLS 1.3) against our server."""
    srv = start_server()
    res = run_probe(topo, iphttps_bin, "--profile", "linux", "--ca", srv.ca, "--cert", srv.cert,
                "--key", srv.key, srv.url)
    check(res, "0x0", 0)
    assert res.doc["tls"]["version"] == "TLS 1.3", res
    assert res.doc["link"]["router_advertisement"]


def test_default_server_windows10_windows7(topo, start_server, iphttps_bin):
    """Our server on defaults (--auth certificates, no null suites): it
    resets the null-only first attempt of a Windows 8/10/11 client, which
    then retries at once with its encrypted suites and connects
    (iphlpsvc.dll WebSendRequestCompletion: 10054); the TLS step and the
    verdict agree.  A stock Windows 7 (TLS 1.0) is refused; with TLS 1.2
    enabled it connects: the verdict says which and why."""
    srv = start_server()
    common = ("--ca", srv.ca, "--cert", srv.cert, "--key", srv.key, srv.url)
    w10 = run_probe(topo, iphttps_bin, *common)
    check(w10, "0x0", 0, "link up", "0x2746 WSAECONNRESET", "retries at once with its encrypted suites")
    assert w10.doc["tls_first"]["code"] == "0x2746", w10.doc["tls_first"]
    assert w10.step("tls first")["status"] == "warn" and w10.step("tls")["status"] == "ok"
    assert w10.doc["tls"]["ok"] and not w10.doc["tls"]["null_encryption"]
    assert w10.doc["suites"]["null"] == "reset" and w10.step("suites")["status"] == "ok"
    assert w10.doc["http"]["status"] == 200 and w10.doc["link"]["router_advertisement"]
    w7 = run_probe(topo, iphttps_bin, "--profile", "windows7", *common)
    check(w7, "0x80090326", 1, "a stock Windows 7 client (TLS 1.0) is refused", "protocol_version",
          "With TLS 1.2 enabled, a Windows 7 client connects")
    assert "--tls-min 1.0" in w7.verdict["fix"] and "TLS 1.2" in w7.verdict["fix"], w7.verdict
    assert w7.step("tls first")["status"] == "FAIL" and w7.step("tls")["status"] == "ok"
    w7b = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", *common)
    check(w7b, "0x0", 0)
    assert w7b.doc["suites"]["encrypted"] == "accepted"


def test_client_certificate_required_own_server(topo, start_server, iphttps_bin):
    """Authentication mode Certificates and no --cert: 0x90320, in TLS 1.2
    (windows7) and in TLS 1.3 (linux: the refusal comes after Finished)."""
    srv = start_server("--null-encryption", "allow")
    for profile in ("windows10", "windows7-tls12", "linux"):
        res = run_probe(topo, iphttps_bin, "--profile", profile, "--ca", srv.ca, srv.url)
        check(res, "0x90320", 1, "client certificate required", trace="client_cert_required")
        assert res.doc["tls"]["client_certificate_requested"], res
        assert res.doc["tls"]["client_ca_names"], res
        assert res.step("tls")["status"] == "FAIL", res


def test_expect_issuer(topo, start_server, iphttps_bin):
    """--expect-issuer: the right authority passes; another one is called
    TLS inspection."""
    srv = start_server("--null-encryption", "allow")
    issuer = faults.subject(srv.ca)
    cn = issuer.split("CN=", 1)[1].split(",")[0]
    common = ("--ca", srv.ca, "--cert", srv.cert, "--key", srv.key)
    ok = run_probe(topo, iphttps_bin, "--expect-issuer", cn, *common, srv.url)
    check(ok, "0x0", 0)
    assert ok.doc["chain"]["issuer_match"] is True
    bad = run_probe(topo, iphttps_bin, "--expect-issuer", "Contoso Corporate Root", *common, srv.url)
    check(bad, "0x80090326", 1, "TLS inspection", "Contoso Corporate Root", cn)
    assert bad.doc["chain"]["issuer_match"] is False


def test_through_squid(topo, start_server, iphttps_bin):
    """Through a real Squid: the CONNECT step, then the same link."""
    srv = start_server("--null-encryption", "allow")
    squid = faults.Squid(topo)
    try:
        res = run_probe(topo, iphttps_bin, "--proxy", squid.url, "--ca", srv.ca, "--cert", srv.cert,
                    "--key", srv.key, srv.url)
        check(res, "0x0", 0)
        st = res.step("proxy")
        assert st and st["status"] == "ok" and "tunnel open" in st["text"], res
        assert res.step("resolve")["status"] == "skip"
        assert res.doc["link"]["router_advertisement"]
        faults.wait_log(squid.access_log, "CONNECT %s:443" % netns.SERVER_NAME)
    finally:
        squid.stop()


def test_squid_refuses_connect(topo, start_server, iphttps_bin):
    srv = start_server()
    squid = faults.Squid(topo, deny_connect_to=netns.SERVER_NAME)
    try:
        res = run_probe(topo, iphttps_bin, "--proxy", squid.url, "--ca", srv.ca, srv.url)
        check(res, "0xa0000003", 1, "proxy refused CONNECT", "403")
    finally:
        squid.stop()


def test_self_signed_trusted(topo, start_server, iphttps_bin, pki):
    """Our server with a self-signed certificate the probe is given: the
    link works, and the fragility is noted."""
    crt, key = pki.self_signed
    srv = start_server("--cert", crt, "--key", key, "--auth", "none", "--null-encryption", "allow")
    res = run_probe(topo, iphttps_bin, "--ca", crt, URL)
    check(res, "0x0", 0, "self-signed")
    assert res.doc["chain"]["certificates"][0]["self_signed"]
    assert srv.proc.alive()


# ---- certificates and suites: openssl s_server -------------------------------------

def test_untrusted_root(topo, iphttps_bin, pki):
    s_server(topo, pki, pki.other_server)
    res = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0], URL)
    check(res, "0x800b0109", 1, "not trusted", "unknown_ca (48)", "Other Root CA",
          trace="untrusted_root")
    assert res.doc["chain"]["trusted"] is False
    assert res.step("tls again")["status"] == "ok"      # continued without the check


def test_self_signed_untrusted(topo, iphttps_bin, pki):
    s_server(topo, pki, pki.self_signed)
    res = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0], URL)
    check(res, "0x800b0109", 1, "self-signed server certificate not trusted")


def test_expired(topo, iphttps_bin, pki):
    s_server(topo, pki, pki.expired)
    res = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0], URL)
    check(res, "0x800b0101", 1, "expired", "certificate_expired (45)", "2021-01-01",
          trace="expired_cert")
    assert res.doc["chain"]["certificates"][0]["days_left"] < 0


def test_expiring_within_30_days(topo, start_server, iphttps_bin, pki):
    """A certificate valid for 30 days: the link works, the expiry is
    noted."""
    srv = start_server("--cert", pki.server[0], "--key", pki.server[1], "--auth", "none",
                       "--null-encryption", "allow")
    res = run_probe(topo, iphttps_bin, "--ca", pki.ca_pair[0], URL)
    check(res, "0x0", 0, "within 30 days")
    assert res.step("cert 0")["status"] == "warn"
    assert srv.proc.alive()


def test_name_mismatch(topo, iphttps_bin, pki):
    s_server(topo, pki, pki.other_name)
    res = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0], URL)
    check(res, "0x103", 1, "name mismatch", "www.other.test", netns.SERVER_NAME)
    assert res.verdict["interface_status"] == "No usable certificate found"
    assert res.doc["chain"]["name_match"] is False


def test_client_certificate_required_s_server(topo, iphttps_bin, pki):
    s_server(topo, pki, pki.server, "-Verify", "1", "-CAfile", pki.ca_pair[0])
    res = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0], URL)
    check(res, "0x90320", 1, "CertificateRequest", "Test Root CA", trace="client_cert_required")
    assert res.doc["tls"]["client_ca_names"] == ["CN=Test Root CA"], res


def test_client_certificate_refused_s_server(topo, iphttps_bin, pki):
    """A client certificate from a CA the server does not trust."""
    s_server(topo, pki, pki.server, "-Verify", "1", "-verify_return_error", "-CAfile", pki.ca_pair[0])
    res = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0],
                "--cert", pki.other_client[0], "--key", pki.other_client[1], URL)
    check(res, "0x80090326", 1, "refused the client certificate", "unknown_ca (48)",
          trace="client_cert_wrong_ca")
    assert res.doc["tls"]["client_certificate_sent"] == "present"


def test_no_null_suites_s_server(topo, iphttps_bin, pki):
    """s_server without the null suites: the windows10 profile is refused
    right after the ClientHello; for windows7 the encrypted suites are
    accepted, so the suites are no fault of that profile."""
    s_server(topo, pki, pki.server, "-no_tls1_3")
    w10 = run_probe(topo, iphttps_bin, "--ca", pki.ca_pair[0], URL)
    check(w10, "0x80090326", 1, "no common cipher suite", "handshake_failure (40)",
          "right after the ClientHello", trace="no_common_suite")
    assert NULL_SENTENCE in w10.doc["suites"]["left_out"]
    assert NULL_SENTENCE in w10.step("suites")["text"]
    w7 = run_probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", pki.ca_pair[0], URL)
    assert w7.doc["tls"]["ok"] and w7.doc["suites"]["encrypted"] == "accepted", w7
    assert w7.step("suites")["status"] == "warn"
    assert w7.verdict["code"] != "0x80090326", w7       # s_server just never answers the POST


# ---- the wrong server answering: nginx ------------------------------------------------

@pytest.mark.parametrize("status,map_400", [(400, False), (404, True)])
def test_nginx_answers(topo, iphttps_bin, pki, status, map_400):
    ng = faults.Nginx(topo, "srv", netns.SERVER_V4, 443, pki.server[0], pki.server[1],
                      return_status=404, map_400=map_400)
    try:
        res = run_probe(topo, iphttps_bin, "--profile", "linux", "--ca", pki.ca_pair[0], URL)
        # Windows' code for a status other than 200: 0x80190000 | status
        # (iphlpsvc WebReceiveResponseCompletion); the capture holds the 400.
        check(res, "0x%x" % (0x80190000 | status), 1, "wrong server answers",
              "POST /IPHTTPS answered %d" % status, "Server: nginx",
              trace="nginx_on_443" if status == 400 else None)
        assert res.doc["http"]["status"] == status
        assert "web server" in res.doc["http"]["looks_like"]
    finally:
        ng.stop()


def test_redirect_to_a_login_page(topo, iphttps_bin, pki):
    """A web server that redirects every request (a captive or login page)
    answers on 443: the wrong server, with the Location quoted."""
    ng = faults.Nginx(topo, "srv", netns.SERVER_V4, 443, pki.server[0], pki.server[1],
                      return_status="302 https://login.example.test/portal", map_400=True)
    try:
        res = run_probe(topo, iphttps_bin, "--profile", "linux", "--ca", pki.ca_pair[0], URL)
        check(res, "0x8019012e", 1, "wrong server answers", "302", "login.example.test")
        assert res.doc["http"]["status"] == 302
    finally:
        ng.stop()


# ---- TCP -----------------------------------------------------------------------------

def test_refused(topo, iphttps_bin):
    res = run_probe(topo, iphttps_bin, URL)
    check(res, "0x274d", 1, "connection refused", "RST", trace="refused")
    assert res.doc["tcp"][0]["result"] == "refused"


def test_reset(topo, iphttps_bin):
    faults.tcp_listener(topo, "srv", "0.0.0.0", 443, "reset")
    res = run_probe(topo, iphttps_bin, URL)
    check(res, "0x2746", 1, "RST right after the ClientHello", trace="reset_after_hello")


def test_blackholed(topo, iphttps_bin):
    """SYN-ACKs never come back: a timeout, within the --timeout bound."""
    undo = faults.blackhole(topo, "srv", topo.client_addr["cli"])
    try:
        t0 = time.monotonic()
        res = run_probe(topo, iphttps_bin, URL)
        took = faults.elapsed(t0)
    finally:
        undo()
    check(res, "0x274c", 1, "no SYN-ACK", trace="filtered")
    assert res.doc["tcp"][0]["result"] == "timeout"
    assert took < 15, took


def test_unreachable(topo, iphttps_bin):
    """No route to the server: an ICMP-style failure, not a timeout."""
    topo.run("cli", ["ip", "route", "add", "unreachable", netns.SERVER_V4 + "/32"])
    res = run_probe(topo, iphttps_bin, URL)
    check(res, "0x274c", 1, "no route to the server", "No route to host")
    assert res.doc["tcp"][0]["result"] == "unreachable"


def test_every_address(topo, start_server, iphttps_bin):
    """A name with two addresses, one of which does not answer: both are
    shown, the one that works carries the steps, the other is noted."""
    srv = start_server("--null-encryption", "allow")
    undo = faults.etc_netns_file(topo, "cli", "hosts", "203.0.113.99\t%s\n" % netns.SERVER_NAME,
                                 append=True)
    try:
        res = run_probe(topo, iphttps_bin, "--ca", srv.ca, "--cert", srv.cert, "--key", srv.key, srv.url)
    finally:
        undo()
    check(res, "0x0", 0, "1 of the 2 addresses")
    tcp = {t["address"]: t for t in res.doc["tcp"]}
    assert tcp["203.0.113.2:443"]["result"] == "accepted" and tcp["203.0.113.2:443"]["used"]
    assert tcp["203.0.113.99:443"]["result"] in ("timeout", "unreachable"), tcp
    assert res.step("tcp")["status"] == "warn"
    assert "203.0.113.99" in res.step("resolve")["text"]


def test_plain_http_on_443(topo, iphttps_bin):
    """A plain HTTP server where TLS is expected."""
    p = topo.popen("srv", [faults.PY, "-m", "http.server", "443", "--bind", netns.SERVER_V4],
                   name="http-server")
    faults.wait_listening(topo, "srv", 443, proc=p)
    res = run_probe(topo, iphttps_bin, "--profile", "windows7", URL)
    check(res, "0x80090326", 1, "does not speak TLS", "<!DOC", trace="plain_http_on_443")
    assert res.doc["tls"]["ok"] is False


def test_plain_http_url(topo, iphttps_bin):
    """An http:// URL (a --transport http server seen from its balancer):
    no TLS steps; a web server's 501 to the POST is the wrong server."""
    p = topo.popen("srv", [faults.PY, "-m", "http.server", "8080", "--bind", netns.SERVER_V4],
                   name="http-server")
    faults.wait_listening(topo, "srv", 8080, proc=p)
    res = run_probe(topo, iphttps_bin, "http://%s:8080/IPHTTPS" % netns.SERVER_NAME)
    check(res, "0x801901f5", 1, "wrong server answers", "POST /IPHTTPS answered 501")
    assert res.step("tls") is None and res.doc["suites"] is None
    assert res.doc["http"]["status"] == 501


def test_name_does_not_resolve(topo, iphttps_bin):
    undo = faults.etc_netns_file(topo, "cli", "resolv.conf",
                                 "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    try:
        res = run_probe(topo, iphttps_bin, "https://nowhere.iphttps.test/IPHTTPS")
    finally:
        undo()
    check(res, "0x2af9", 1, "nowhere.iphttps.test")
    assert res.step("resolve")["status"] == "FAIL"


# ---- usage, colour -----------------------------------------------------------------------

def run_local(binary, *args, env=None):
    p = subprocess.run([binary, "probe"] + list(args), capture_output=True, text=True,
                       timeout=60, env=env or dict(os.environ, NO_COLOR="1"))
    assert not SANITIZER_RE.search(p.stderr), p.stderr
    return p


def test_usage_errors(iphttps_bin, tmp_path):
    p = run_local(iphttps_bin, "ftp://x/")
    assert p.returncode == 2 and "not an https:// URL" in p.stderr
    p = run_local(iphttps_bin, "https://:443/")
    assert p.returncode == 2 and "no host" in p.stderr
    p = run_local(iphttps_bin, "--ca", str(tmp_path / "missing.pem"), URL)
    assert p.returncode == 2 and "--ca" in p.stderr and "missing.pem" in p.stderr
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    p = run_local(iphttps_bin, "--ca", str(bad), URL)
    assert p.returncode == 2 and "bad.pem" in p.stderr
    p = run_local(iphttps_bin, "--cert", str(bad), URL)
    assert p.returncode == 2 and "--key" in p.stderr
    assert run_local(iphttps_bin, "--profile", "windows95", URL).returncode == 2
    assert run_local(iphttps_bin, "--timeout", "0", URL).returncode == 2
    assert run_local(iphttps_bin, "--proxy", "http://", URL).returncode == 2
    assert run_local(iphttps_bin).returncode == 2
    assert run_local(iphttps_bin, URL, URL).returncode == 2
    p = run_local(iphttps_bin, "--help")
    assert p.returncode == 0 and "usage: iphttps probe" in p.stdout
    p = subprocess.run([iphttps_bin, "--help"], capture_output=True, text=True, timeout=10)
    assert "iphttps probe" in p.stdout


def run_tty(binary, args, env):
    """Run binary with stdout on a pseudo-terminal; returns (rc, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([binary] + args, stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(timeout=10), out.decode(errors="replace")


def test_colour_on_terminal_and_no_color(iphttps_bin):
    """Colour on a terminal; none with NO_COLOR set.  (Loopback, port 1:
    refused.)"""
    args = ["probe", "--profile", "linux", "--timeout", "2", "https://localhost:1/IPHTTPS"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm"
    rc, out = run_tty(iphttps_bin, args, env)
    assert rc == 1 and "\033[" in out and "0x274d" in out, out
    rc, out = run_tty(iphttps_bin, args, dict(env, NO_COLOR="1"))
    assert rc == 1 and "\033[" not in out and "0x274d" in out, out


def test_expect_chain_inspection(topo, start_server, iphttps_bin, pki):
    """--expect-chain: the chain the server presents from inside.  The same
    certificate outside passes; a device that answers with another one
    (here an s_server with a certificate the client even trusts) is called
    TLS inspection, quoting both certificates."""
    srv = start_server("--null-encryption", "allow")
    inside = os.path.join(srv.state_dir, "server.pem")
    ok = run_probe(topo, iphttps_bin, "--expect-chain", inside, "--ca", srv.ca, "--cert", srv.cert,
                   "--key", srv.key, srv.url)
    check(ok, "0x0", 0)
    assert ok.doc["chain"]["inside_match"] is True
    srv.proc.stop()
    # a device with the null suites too: a Windows 8+ client's null-only
    # first attempt gets through to the certificate
    interceptor = s_server(topo, pki, pki.server, "-cipher", "ALL:NULL-SHA256:NULL-SHA:@SECLEVEL=0")
    try:
        bad = run_probe(topo, iphttps_bin, "--expect-chain", inside, "--ca", pki.ca_pair[0],
                        "--no-link", "https://%s/IPHTTPS" % netns.SERVER_NAME)
    finally:
        interceptor.stop()
    assert bad.doc["chain"]["inside_match"] is False
    check(bad, "0x80090326", 1, "not the certificate the server presents from inside",
          "Test Root CA", "iphttps generated CA")


def test_expect_chain_unreadable_exit_2(topo, iphttps_bin):
    res = run_probe(topo, iphttps_bin, "--expect-chain", "/nonexistent/chain.pem",
                    "https://%s/IPHTTPS" % netns.SERVER_NAME, json_out=False)
    assert res.rc == 2
