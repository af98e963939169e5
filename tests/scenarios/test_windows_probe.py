"""`iphttps probe` as a Windows client of each profile meets the server
(issue 10): windows10 passes against our server on defaults in mode None,
its verdict agrees with its own steps, and the windows7 profiles check the
server certificate's revocation as Windows 7 does ("CRL checking is
enforced in Windows 7 and cannot be disabled", Windows 8 and later do not
check: Microsoft, Planning the Placement of CRL Distribution Points).
"""
import json
import os
import shutil
import textwrap

import pytest

import faults
import netns

CRL_HOST = "crl.iphttps.test"
CRL_URL = "http://%s/ca.crl" % CRL_HOST
URL = "https://%s/IPHTTPS" % netns.SERVER_NAME


def probe(topo, binary, *args):
    p = topo.run("cli", [binary, "probe", "--json", "--timeout", "2"] + list(args), check=False,
                 timeout=90, env=dict(os.environ, NO_COLOR="1"))
    assert p.stdout.lstrip().startswith("{"), (p.returncode, p.stdout, p.stderr)
    return p.returncode, json.loads(p.stdout)


def step(doc, name):
    return next((s for s in doc["steps"] if s["step"] == name), None)


def agrees(doc):
    """The verdict never contradicts the steps: a link up has no failed TLS
    step; a failure at TLS has its TLS step failed."""
    v, tls = doc["verdict"], step(doc, "tls")
    if v["result"] == "OK":
        assert tls is None or tls["status"] == "ok", doc["steps"]
    elif tls is not None and doc["tls"] and not doc["tls"]["ok"]:
        assert tls["status"] == "FAIL" and v["code"] == doc["tls"]["code"], (v, doc["tls"])


def test_windows10_mode_none_defaults(topo, start_server, iphttps_bin):
    """Our server with --auth none on defaults: a Windows 8/10/11 client's
    null-only first attempt gets a null suite, every step passes."""
    srv = start_server("--auth", "none")
    rc, doc = probe(topo, iphttps_bin, "--ca", srv.ca, srv.url)
    assert rc == 0 and doc["verdict"]["code"] == "0x0", doc["verdict"]
    assert doc["tls"]["suite"] == "TLS_RSA_WITH_NULL_SHA256", doc["tls"]
    assert doc["tls_first"] is None and step(doc, "tls first") is None
    assert all(s["status"] == "ok" for s in doc["steps"] if s["step"] in ("tls", "suites", "http", "link"))
    agrees(doc)


def test_windows10_verdict_agrees_with_its_steps(topo, iphttps_bin):
    """A server without the null suites that refuses the null-only attempt
    with an alert (an ADC, seed 000): the TLS step fails with the very code
    of the verdict, 0x80090326, and says what a Windows 8+ client meets."""
    p = faults.Pki()
    try:
        ca = p.ca("ca", "probe CA")
        leaf = p.leaf("srv", ca, netns.SERVER_NAME)
        faults.s_server(topo, "srv", 443, leaf[0], leaf[1], "-tls1_2")
        rc, doc = probe(topo, iphttps_bin, "--ca", ca[0], URL)
    finally:
        p.cleanup()
    assert rc == 1 and doc["verdict"]["code"] == "0x80090326", doc["verdict"]
    assert step(doc, "tls")["status"] == "FAIL"
    assert "handshake_failure" in step(doc, "tls")["text"]
    agrees(doc)


# ---- revocation, as Windows 7 checks it ------------------------------------------

class CaWithCrl:
    """A CA made with `openssl ca` (so that it can revoke and publish a CRL)
    and server certificates for iphttps.test naming CRL_URL."""

    def __init__(self):
        self.p = faults.Pki()
        self.d = self.p.path("db")
        os.makedirs(os.path.join(self.d, "new"))
        open(os.path.join(self.d, "index.txt"), "w").close()
        with open(os.path.join(self.d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.d, "crlnumber"), "w") as f:
            f.write("01\n")
        self.cnf = os.path.join(self.d, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write(textwrap.dedent("""
                [ca]
                default_ca = here
                [here]
                database = {d}/index.txt
                new_certs_dir = {d}/new
                serial = {d}/serial
                crlnumber = {d}/crlnumber
                default_md = sha256
                default_days = 30
                default_crl_days = 7
                policy = any
                copy_extensions = copy
                unique_subject = no
                [any]
                commonName = supplied
                """).format(d=self.d))
        self.ca = self.p.ca("ca", "iphttps CRL test CA")

    def leaf(self, name, cdp=True):
        key, csr, crt = self.p.path(name + ".key"), self.p.path(name + ".csr"), self.p.path(name + ".pem")
        ext = ["-addext", "subjectAltName=DNS:" + netns.SERVER_NAME,
               "-addext", "extendedKeyUsage=serverAuth"]
        if cdp:
            ext += ["-addext", "crlDistributionPoints=URI:" + CRL_URL]
        faults.sh(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                   "-subj", "/CN=" + netns.SERVER_NAME] + ext)
        faults.sh(["openssl", "ca", "-batch", "-notext", "-config", self.cnf, "-cert", self.ca[0],
                   "-keyfile", self.ca[1], "-in", csr, "-out", crt])
        return crt, key

    def revoke(self, crt):
        faults.sh(["openssl", "ca", "-config", self.cnf, "-cert", self.ca[0], "-keyfile", self.ca[1],
                   "-revoke", crt])

    def crl(self, out_dir):
        faults.sh(["openssl", "ca", "-gencrl", "-config", self.cnf, "-cert", self.ca[0],
                   "-keyfile", self.ca[1], "-out", os.path.join(out_dir, "ca.crl")])

    def cleanup(self):
        self.p.cleanup()


@pytest.fixture
def crl_env(topo):
    """The CA, a web server for CRL_HOST in srv (started by the test), and
    the client's hosts entry for it."""
    ca = CaWithCrl()
    web = faults.tempdir("crlweb")
    os.chmod(web, 0o755)
    undo = faults.etc_netns_file(topo, "cli", "hosts", "%s\t%s\n" % (netns.SERVER_V4, CRL_HOST),
                                 append=True)
    yield ca, web
    undo()
    shutil.rmtree(web, ignore_errors=True)
    ca.cleanup()


def serve_crls(topo, web):
    p = topo.popen("srv", [faults.PY, "-m", "http.server", "80", "--bind", netns.SERVER_V4,
                           "--directory", web], name="crl-web")
    faults.wait_listening(topo, "srv", 80, proc=p)
    return p


def test_windows7_revocation(topo, iphttps_bin, crl_env):
    """Reachable CRL without the certificate: the revocation step passes.
    Revoked: CRYPT_E_REVOKED.  The CRL's server gone: 0x80092013
    CRYPT_E_REVOCATION_OFFLINE, the Windows 7 failure of ../shared/
    TROUBLESHOOTING.md.  windows10 checks nothing (Windows 8+ do not)."""
    ca, web = crl_env
    good, revoked = ca.leaf("good"), ca.leaf("revoked")
    ca.revoke(revoked[0])
    ca.crl(web)
    s = faults.s_server(topo, "srv", 443, good[0], good[1], "-tls1_2")
    crlweb = serve_crls(topo, web)
    rc, doc = probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", ca.ca[0], "--no-link", URL)
    assert step(doc, "revocation")["status"] == "ok", doc["steps"]
    assert doc["revocation"]["url"] == CRL_URL and doc["revocation"]["code"] == "0x0"
    assert doc["verdict"]["code"] != "0x80092013", doc["verdict"]
    s.stop()
    s = faults.s_server(topo, "srv", 443, revoked[0], revoked[1], "-tls1_2", name="s_server-revoked")
    rc, doc = probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", ca.ca[0], "--no-link", URL)
    assert rc == 1 and doc["verdict"]["code"] == "0x80092010", doc["verdict"]
    assert step(doc, "revocation")["status"] == "FAIL"
    # a CRL signed by another authority: revocation cannot be checked
    other = CaWithCrl()
    try:
        other.crl(web)
    finally:
        other.cleanup()
    rc, doc = probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", ca.ca[0], "--no-link", URL)
    assert rc == 1 and doc["verdict"]["code"] == "0x80092012", doc["verdict"]
    crlweb.stop()
    rc, doc = probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", ca.ca[0], "--no-link", URL)
    assert rc == 1 and doc["verdict"]["code"] == "0x80092013", doc["verdict"]
    assert CRL_URL in doc["verdict"]["evidence"], doc["verdict"]
    assert "Windows 8 and later do not check" in doc["verdict"]["cause"], doc["verdict"]
    rc, doc = probe(topo, iphttps_bin, "--ca", ca.ca[0], "--no-link", URL)
    assert doc["revocation"] is None and doc["verdict"]["code"] != "0x80092013", doc
    s.stop()


def test_windows7_no_distribution_point(topo, iphttps_bin, crl_env):
    """A certificate that names no CRL distribution point: Windows 7 checks
    nothing and connects; the step says so."""
    ca, _web = crl_env
    leaf = ca.leaf("nocdp", cdp=False)
    faults.s_server(topo, "srv", 443, leaf[0], leaf[1], "-tls1_2")
    rc, doc = probe(topo, iphttps_bin, "--profile", "windows7-tls12", "--ca", ca.ca[0], "--no-link", URL)
    assert step(doc, "revocation")["status"] == "ok", doc["steps"]
    assert "names no http:// CRL distribution point" in step(doc, "revocation")["text"]
    assert doc["revocation"]["url"] == ""
