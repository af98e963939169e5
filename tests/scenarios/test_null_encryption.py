"""Null encryption (issue 3 item 3): TLS_RSA_WITH_NULL_SHA256 and
TLS_RSA_WITH_NULL_SHA, which Windows 8/10/11 DirectAccess clients offer.
prefer: a client that offers one gets one; allow: only when it offers
nothing else acceptable; off: never.  State and logs show the suite."""
import subprocess

import netns

WIN10_OFFER = ("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:"
               "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:NULL-SHA256:NULL-SHA:@SECLEVEL=0")
NULL_ONLY = "NULL-SHA256:NULL-SHA:@SECLEVEL=0"


def s_client(topo, server, ciphers):
    """A TLS 1.2 handshake offering `ciphers`, as a Windows client would;
    returns (negotiated cipher or None, output)."""
    req = "POST /IPHTTPS HTTP/1.1\r\nHost: iphttps.test\r\nContent-Length: 18446744073709551615\r\n\r\n"
    p = topo.run("cli", ["timeout", "5", "openssl", "s_client", "-connect", netns.SERVER_V4 + ":443",
                         "-servername", netns.SERVER_NAME, "-tls1_2", "-cipher", ciphers,
                         "-CAfile", server.ca, "-cert", server.cert, "-key", server.key,
                         "-ign_eof"], input=req, check=False, timeout=20)
    out = p.stdout + p.stderr
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Cipher is ") or line.startswith("Cipher    :"):
            c = line.split()[-1]
            return (None if c in ("(NONE)", "0000") else c), out
    return None, out


def test_prefer_gives_null_to_a_windows_offer(topo, start_server):
    server = start_server("--null-encryption", "prefer")
    cipher, out = s_client(topo, server, WIN10_OFFER)
    assert cipher == "NULL-SHA256", out[-1500:]
    assert "HTTP/1.1 200 OK" in out


def test_allow_keeps_encryption_when_offered(topo, start_server):
    server = start_server("--null-encryption", "allow")
    cipher, out = s_client(topo, server, WIN10_OFFER)
    assert cipher and "NULL" not in cipher, out[-1500:]
    cipher, out = s_client(topo, server, NULL_ONLY)
    assert cipher in ("NULL-SHA256", "NULL-SHA"), out[-1500:]


def test_off_never(topo, start_server):
    server = start_server()  # off is the default
    cipher, out = s_client(topo, server, NULL_ONLY)
    assert cipher is None, out[-1500:]
    st = server.state()
    assert st["Counters"]["TLSFailed"] >= 1


def test_our_client_on_gets_null_and_state_shows_it(topo, start_server, start_client):
    server = start_server("--null-encryption", "prefer")
    c = start_client(server, extra_args=("--null-encryption", "on"))
    st = c.wait_linkup()
    assert "NULL-SHA256" in st["TLS"], st["TLS"]
    p = topo.run("srv", [server.binary, "clients", "--json", "--run-dir", server.run_dir, server.tun])
    assert "NULL-SHA256" in p.stdout
    assert "NULL-SHA256" in server.proc.stderr()  # the log names the suite
    assert topo.ping("cli", netns.INSIDE_HOST)


def test_impossible_configuration_refused_at_start(iphttps_bin, tmp_path):
    key, crt = tmp_path / "ec.key", tmp_path / "ec.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", "/CN=x"],
                   check=True, capture_output=True)
    p = subprocess.run([iphttps_bin, "server", "--cert", str(crt), "--key", str(key), "--auth", "none",
                        "--null-encryption", "prefer", "--state-dir", str(tmp_path / "st"),
                        "--listen", "127.0.0.1:1"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "RSA" in p.stderr, p.stderr
