"""Who is connected (issue 12 item 2): each client's certificate subject
and serial in `clients` (text and --json) and in the connect and close log
lines (with the duration and the byte totals); `iphttps disconnect` by
subject, CN or Id; `revoke-client` puts the serial in the generated CA's
CRL, which the server reads again on reload and uses at every handshake,
ending a revoked client that is still connected; a CRL that cannot be read
at reload keeps the one in use."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import netns

FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


def run(server, *args):
    return subprocess.run([server.binary] + list(args) + ["--run-dir", server.run_dir],
                          capture_output=True, text=True, timeout=30)


def clients(server):
    p = run(server, "clients", "--json", server.tun)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def by_subject(server, subject):
    return [c for c in clients(server) if c.get("Subject") == subject and c["State"] == "LinkUp"]


def test_identity_disconnect_and_revocation(topo, server, start_client):
    p = subprocess.run([server.binary, "issue-client", "bob", "--state-dir", server.state_dir],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # bob keeps his own copy (revoke-client moves the server's aside).
    d = tempfile.mkdtemp(prefix="iph-bob-", dir="/tmp")
    bob_cert, bob_key = os.path.join(d, "bob.pem"), os.path.join(d, "bob.key")
    shutil.copy(os.path.join(server.state_dir, "clients", "bob.pem"), bob_cert)
    shutil.copy(os.path.join(server.state_dir, "clients", "bob.key"), bob_key)
    first = start_client(server, extra_args=FAST)
    bob = start_client(server, host="cli2", extra_args=FAST + ("--cert", bob_cert, "--key", bob_key))
    first.wait_linkup()
    bob.wait_linkup()
    netns.wait_for(lambda: by_subject(server, "CN=bob"), 10, 0.1, "bob in clients")
    rec = by_subject(server, "CN=bob")[0]
    serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", bob_cert],
                            capture_output=True, text=True).stdout.strip().split("=")[1]
    assert rec["Serial"].lstrip("0") == serial.lstrip("0"), (rec, serial)
    assert re.match(r"\d{4}-\d\d-\d\dT", rec["CertificateExpires"])
    text = run(server, "clients", server.tun).stdout
    assert "CN=bob" in text and "CN=client1" in text, text
    log = server.proc.stderr()
    assert re.search(r"client #%d \S+: POST /IPHTTPS accepted, TLS\S+ \S+, CN=bob serial %s"
                     % (rec["Id"], rec["Serial"]), log), log
    # disconnect by CN: that connection ends, logged with duration and bytes.
    p = run(server, "disconnect", server.tun, "bob")
    assert p.returncode == 0 and "disconnected 1 connection" in p.stdout, p.stdout + p.stderr
    assert re.search(r"client #%d \S+ CN=bob: closed: disconnected by the administrator \(bob\) "
                     r"after \d+s \(rx \d+ packets \d+ bytes, tx \d+ packets \d+ bytes\)"
                     % rec["Id"], server.proc.stderr()), server.proc.stderr()
    assert not [c for c in clients(server) if c["Id"] == rec["Id"]]
    netns.wait_for(lambda: bob.state()["LinkLosses"] >= 1, 10, 0.1, "bob's link lost")
    p = run(server, "disconnect", "999999")
    assert p.returncode == 1 and "no connected client with Id" in p.stderr, p.stderr
    # bob comes back (the timer), then is revoked: refused from the reload on.
    bob.wait_linkup()
    p = subprocess.run([server.binary, "revoke-client", "--state-dir", server.state_dir, "bob"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "(1 revoked)" in p.stdout, p.stdout + p.stderr
    assert not os.path.exists(os.path.join(server.state_dir, "clients", "bob.key"))
    assert by_subject(server, "CN=bob"), "still connected before the reload"
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: not by_subject(server, "CN=bob"), 10, 0.1, "bob ended at reload")
    log = server.proc.stderr()
    assert "is revoked by the CRL read at reload" in log and "closed: certificate revoked" in log
    assert server.state()["Counters"]["RevokedAtReload"] == 1
    # bob's client tries again: its handshakes are refused.
    try:
        netns.wait_for(lambda: re.search(r"TLS handshake failed: .*certificate revoked",
                                         server.proc.stderr()), 20, 0.2, "bob refused")
    except TimeoutError as e:
        raise AssertionError("%s\n%s\n%s" % (e, server.proc.stderr()[-3000:],
                                             bob.proc.stderr()[-2000:]))
    # A CRL that cannot be read at reload: the one in use stays.
    crl = os.path.join(server.state_dir, "crl.pem")
    with open(crl, "w") as f:
        f.write("not a CRL\n")
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: "keeping the CRL read at" in server.proc.stderr(), 10, 0.1,
                   "the old CRL kept")
    assert server.state()["CRL"].endswith("1 revoked")
    assert bob.state()["State"] != "LinkUp"
    assert first.state()["State"] == "LinkUp" and first.state()["LinkLosses"] == 0
