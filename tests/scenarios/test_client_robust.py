"""A client left alone for months meets broken servers: one that answers
200 and then sends garbage loses its connection, the loss is counted, and
the reconnect timer applies (issue 4, bad input) - never a busy loop."""
import os
import time

import faults
import netns

HERE = os.path.dirname(os.path.abspath(__file__))


def test_garbage_after_200_timer_applies(topo, start_client, iphttps_bin):
    pki = faults.Pki()
    try:
        ca = pki.ca("ca", "Test CA")
        cert, key = pki.leaf("server", ca, netns.SERVER_NAME)
        srv = topo.popen("srv", ["/usr/bin/python3", os.path.join(HERE, "garbage_server.py"),
                                 "--listen", netns.SERVER_V4 + ":443", "--cert", cert, "--key", key],
                         name="garbage-server")
        netns.wait_for(lambda: "listening" in srv.stdout(), 10, 0.1, "the broken server")
        c = start_client(faults.Target(iphttps_bin, "https://%s/IPHTTPS" % netns.SERVER_NAME, ca=ca[0]),
                         extra_args=("--reconnect-initial", "3", "--reconnect-max", "6"))
        st = faults.wait_state(c, lambda s: s["LinkLosses"] >= 1 and s["State"] != "LinkUp",
                               "the link to be dropped")
        assert st["LastErrorCode"] == "0xa0000002", st
        assert "not IPv6" in st["LastError"], st["LastError"]
        t0 = time.monotonic()
        time.sleep(4)
        conns = srv.stdout().count("conn ")
        # 4 s after the first loss: at most one more attempt (after 3 s).
        assert conns <= 2, "%d connections in %.1f s: a reconnection loop" % (conns, time.monotonic() - t0)
        st = c.state()
        assert st["Failures"] >= 1 and st["LinkLosses"] <= 2
        assert c.proc.alive()
    finally:
        pki.cleanup()


def spki_pin(cert):
    """sha256//BASE64 of the certificate's public key, computed with openssl."""
    import base64
    import hashlib
    import subprocess
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_pin_matches(topo, server, start_client):
    c = start_client(server, extra_args=("--pin", spki_pin(server.state_dir + "/server.pem")))
    assert c.wait_linkup()["State"] == "LinkUp"


def test_pin_mismatch_refused(topo, server, start_client):
    wrong = spki_pin(server.ca)  # the CA's key, not the server's
    c = start_client(server, extra_args=("--pin", wrong, "--reconnect-initial", "30"))
    st = faults.wait_error(c, "0xa0000005")
    assert "IPHTTPS_E_PIN_MISMATCH" in st["LastError"], st["LastError"]


def test_malformed_pin_exit_2(iphttps_bin):
    import subprocess
    p = subprocess.run([iphttps_bin, "client", "--pin", "md5//xyz", "https://x.test/IPHTTPS"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "pin" in p.stderr, p.stderr


def test_max_clients_refused_and_counted(topo, start_server, start_client, probe):
    """--max-clients N: a connection beyond N is closed at once and counted;
    the clients already there carry on."""
    server = start_server("--max-clients", "2")
    c1 = start_client(server, "cli")
    c2 = start_client(server, "cli2")
    c1.wait_linkup()
    c2.wait_linkup()
    r = probe(connect=netns.SERVER_V4 + ":443", ca=server.ca, cert=server.cert, key=server.key,
              after=1)
    assert not r["head"].startswith("HTTP/1.1 200"), r
    st = server.state()
    assert st["Counters"]["RefusedFull"] >= 1, st["Counters"]
    assert st["Clients"] == 2
    assert "--max-clients 2 reached" in server.proc.stderr()
    assert topo.ping("cli", netns.INSIDE_HOST) and topo.ping("cli2", netns.INSIDE_HOST)


def test_plain_http_client_and_server(topo, start_server, start_client, iphttps_bin):
    """http:// with --allow-http against a --transport http server (as a
    balancer's back end sees it): the link comes up and carries traffic."""
    server = start_server("--transport", "http", "--listen", netns.SERVER_V4 + ":80")
    c = start_client(faults.Target(iphttps_bin, "http://%s/IPHTTPS" % netns.SERVER_NAME),
                     extra_args=("--allow-http",))
    st = c.wait_linkup()
    assert st["TLS"] == "none (plain HTTP)", st
    assert netns.wait_for(lambda: topo.ping("cli", netns.INSIDE_HOST), 10, 0.2, "ping over plain HTTP")
    assert topo.ping("ins", c.wait_address())
