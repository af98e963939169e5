"""Certificate lifecycle (issue 12 item 9): `renew-server-cert` issues the
server certificate again from the same authority and, by default, on the
same key, so that clients keep trusting it and a --pin on the key holds
(seed 001: a new authority breaks every client, 0x800b0109); from 30 days
before the server's certificate or a client's expires, a warning in the
log, in `state` and in the client's record."""
import base64
import hashlib
import json
import os
import re
import signal
import subprocess

import certs
import netns

FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


def openssl(*args, **kw):
    p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=30, **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout


def served_serial(topo):
    """The serial of the certificate the server presents now (openssl
    s_client from the client host)."""
    p = topo.run("cli", ["sh", "-c", "openssl s_client -connect %s:443 -servername %s "
                         "</dev/null 2>/dev/null | openssl x509 -noout -serial"
                         % (netns.SERVER_V4, netns.SERVER_NAME)], check=False)
    return p.stdout.strip()


def spki_pin(cert):
    der = subprocess.run(["sh", "-c", "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin "
                          "-outform der" % cert], capture_output=True, timeout=30).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_renew_keeps_authority_and_key(topo, server, start_client):
    pem = os.path.join(server.state_dir, "server.pem")
    before = openssl("x509", "-noout", "-serial", "-in", pem).strip()
    pin = spki_pin(pem)
    client = start_client(server, extra_args=FAST + ("--pin", pin))
    client.wait_linkup()
    assert served_serial(topo) == before
    p = subprocess.run([server.binary, "renew-server-cert", "--state-dir", server.state_dir],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "from the same authority" in p.stdout and "with the same key" in p.stdout
    after = openssl("x509", "-noout", "-serial", "-in", pem).strip()
    assert after != before
    # Same names, same issuer, same key: the authority verifies it.
    openssl("verify", "-CAfile", os.path.join(server.state_dir, "ca.pem"), pem)
    assert "DNS:%s" % netns.SERVER_NAME in openssl("x509", "-noout", "-ext", "subjectAltName",
                                                   "-in", pem)
    assert spki_pin(pem) == pin
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: served_serial(topo) == after, 10, 0.2, "the new certificate served")
    # The client (CA and pin unchanged) connects again to the new certificate.
    topo.run("cli", [client.binary, "disable", "--run-dir", client.run_dir, client.tun])
    topo.run("cli", [client.binary, "enable", "--run-dir", client.run_dir, client.tun])
    client.wait_linkup()
    assert client.state()["LastErrorCode"] == "0x0"
    # --new-key: a new key (a pin would then have to change).
    p = subprocess.run([server.binary, "renew-server-cert", "--new-key", "--state-dir",
                        server.state_dir], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and spki_pin(pem) != pin


def test_expiry_warnings_for_server_and_client_certificates(topo, start_server, start_client,
                                                            tmp_path):
    ca = certs.Authority(str(tmp_path / "pki"))
    crt, key = ca.issue(netns.SERVER_NAME, days=12, server_names=[netns.SERVER_NAME], name="srv")
    ccrt, ckey = ca.issue("carol", days=5, name="carol")
    server = start_server("--cert", crt, "--key", key, "--client-ca", ca.pem)
    log = server.proc.stderr()
    assert re.search(r"warning: the server certificate CN=%s \(%s\) expires in 1[0-2] days"
                     % (re.escape(netns.SERVER_NAME), re.escape(crt)), log), log
    st = server.state()
    assert [w for w in st["CertificateWarnings"] if w.startswith("server %s" % crt)], st
    assert st["ServerCertificate"].startswith("CN=%s, expires " % netns.SERVER_NAME)
    client = start_client(server, extra_args=FAST + ("--ca", ca.pem, "--cert", ccrt,
                                                      "--key", ckey))
    client.wait_linkup()
    netns.wait_for(lambda: "CN=carol (serial" in server.proc.stderr(), 10, 0.1,
                   "the warning about carol's certificate")
    assert re.search(r"its certificate CN=carol \(serial \w+\) expires in [3-5] days",
                     server.proc.stderr())
    assert server.state()["Counters"]["ClientCertsExpiring"] == 1
    # The client warns about its own certificate too.
    assert re.search(r"%s \(CN=carol\) expires in [3-5] days" % re.escape(ccrt),
                     client.proc.stderr()), client.proc.stderr()
