"""The client through HTTP proxies (issue 4, item 5): a real Squid on the
router between the client and the server, without authentication, with
Basic and with Digest authentication, refusing CONNECT by an acl; a proxy
that closes; the https_proxy environment variable.

  cli --- net (squid on 198.51.100.1:3128) --- srv (iphttps server)
"""
import os

import faults
import netns

FAST = faults.FAST_RECONNECT + ("--timeout", "5")


def _via(server, start_client, proxy_url):
    """A client of server going through proxy_url."""
    return start_client(server, extra_args=FAST + ("--proxy", proxy_url))


def test_no_auth_proxy_linkup_and_ping(topo, server, start_client):
    """Through a Squid without authentication: LinkUp, ping through the
    tunnel, and Squid's log shows the CONNECT to the server."""
    squid = faults.Squid(topo)
    try:
        c = _via(server, start_client, squid.url)
        st = c.wait_linkup()
        assert st["Proxy"] == "%s:%d" % (faults.SQUID_ADDR, faults.SQUID_PORT)
        assert "via %s:%d" % (faults.SQUID_ADDR, faults.SQUID_PORT) in st["Peer"], st
        assert st["LastErrorCode"] == "0x0"
        assert topo.ping("cli", netns.INSIDE_HOST, count=3), \
            "no answer from the inside host through the proxied tunnel"
        # Squid logs a tunnel when it ends: end it.
        c.stop()
        faults.wait_log(squid.access_log, "CONNECT iphttps.test:443")
        log = squid.access_log()
        line = [l for l in log.splitlines() if "CONNECT iphttps.test:443" in l][0]
        assert "TCP_TUNNEL/200" in line and "198.51.100.2" in line, line
        assert "HIER_DIRECT/%s" % netns.SERVER_V4 in line, line
    finally:
        squid.stop()


def test_basic_auth_right_password(topo, server, start_client):
    """Squid with Basic authentication (basic_ncsa_auth, apr1 hashes): the
    right user and password give LinkUp; the password never shows."""
    squid = faults.Squid(topo, auth="basic", users={"alice": "c0rrect horse"})
    try:
        c = _via(server, start_client, squid.url_with("alice", "c0rrect%20horse"))
        st = c.wait_linkup()
        assert st["Proxy"] == "%s:%d" % (faults.SQUID_ADDR, faults.SQUID_PORT)
        assert topo.ping("cli", netns.INSIDE_HOST, count=1)
        c.stop()
        faults.wait_log(squid.access_log, "TCP_TUNNEL/200")
        log = squid.access_log()
        assert "TCP_DENIED/407" in log and " alice " in log, log
        assert "c0rrect" not in c.proc.stdout() + c.proc.stderr()
    finally:
        squid.stop()


def test_basic_auth_wrong_password(topo, server, start_client):
    """A wrong password: IPH_E_PROXY_AUTH naming the 407 and the user, the
    password nowhere in the state or the log; the link stays down."""
    squid = faults.Squid(topo, auth="basic", users={"alice": "right"})
    try:
        c = _via(server, start_client, squid.url_with("alice", "Wr0ngPass"))
        st = faults.wait_error(c, "0x80190197")
        assert st["InterfaceStatus"] == faults.STATUS_FAIL
        assert st["LastError"].startswith("HTTP_E_STATUS_PROXY_AUTH_REQ: ")
        assert "407" in st["LastError"] and "wrong user or password" in st["LastError"], st
        assert "alice" in st["LastError"]
        assert "Wr0ngPass" not in repr(st)
        assert "Wr0ngPass" not in c.proc.stdout() + c.proc.stderr()
        assert st["State"] == "LinkDown"
    finally:
        squid.stop()


def test_auth_required_no_credentials(topo, server, start_client):
    """A proxy that wants credentials and a client without any: the error
    names the scheme the proxy offers."""
    squid = faults.Squid(topo, auth="basic", users={"alice": "right"})
    try:
        c = _via(server, start_client, squid.url)
        st = faults.wait_error(c, "0x80190197")
        assert "requires authentication" in st["LastError"], st
        assert "Basic" in st["LastError"] and "407" in st["LastError"], st
    finally:
        squid.stop()


def test_digest_auth(topo, server, start_client):
    """Squid with Digest authentication (digest_file_auth): LinkUp with the
    right password, IPH_E_PROXY_AUTH with a wrong one."""
    squid = faults.Squid(topo, auth="digest", users={"bob": "s3cret"})
    try:
        c = _via(server, start_client, squid.url_with("bob", "s3cret"))
        c.wait_linkup()
        assert topo.ping("cli", netns.INSIDE_HOST, count=1)
        c.stop()
        faults.wait_log(squid.access_log, "TCP_TUNNEL/200")
        assert " bob " in squid.access_log()
        bad = _via(server, start_client, squid.url_with("bob", "nope"))
        st = faults.wait_error(bad, "0x80190197")
        assert "407" in st["LastError"] and "Digest" in st["LastError"], st
        assert "wrong user or password" in st["LastError"]
    finally:
        squid.stop()


def test_connect_refused_by_acl(topo, server, start_client):
    """Squid refusing CONNECT to the server (an acl): IPH_E_PROXY with the
    403 and Squid's own words."""
    squid = faults.Squid(topo, deny_connect_to=netns.SERVER_NAME)
    try:
        c = _via(server, start_client, squid.url)
        st = faults.wait_error(c, "0xa0000003")
        assert st["InterfaceStatus"] == faults.STATUS_FAIL
        assert st["LastError"].startswith("IPHTTPS_E_PROXY: ")
        assert "403 Forbidden" in st["LastError"], st
        assert "squid" in st["LastError"] and "ERR_ACCESS_DENIED" in st["LastError"], st
        assert "TCP_DENIED/403" in squid.access_log()
    finally:
        squid.stop()


def test_proxy_that_closes(topo, server, start_client):
    """A 'proxy' that reads CONNECT and closes without answering."""
    faults.tcp_listener(topo, "net", faults.SQUID_ADDR, 3129, "close-after-request")
    c = _via(server, start_client, "http://%s:3129" % faults.SQUID_ADDR)
    st = faults.wait_error(c, "0xa0000003")
    assert "closed the connection without answering CONNECT" in st["LastError"], st


def test_https_proxy_env(topo, server, start_client, monkeypatch):
    """Without --proxy, https_proxy is used (as curl reads it), and
    no_proxy naming the server's domain turns it off."""
    squid = faults.Squid(topo)
    try:
        monkeypatch.setenv("https_proxy", squid.url)
        monkeypatch.delenv("HTTPS_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        c = start_client(server, extra_args=FAST)
        st = c.wait_linkup()
        assert st["Proxy"] == "%s:%d" % (faults.SQUID_ADDR, faults.SQUID_PORT), st
        c.stop()
        faults.wait_log(squid.access_log, "CONNECT iphttps.test:443")
        # no_proxy covering the server: straight to it, Squid sees nothing new.
        before = squid.access_log().count("CONNECT")
        monkeypatch.setenv("no_proxy", "localhost,.test")
        d = start_client(server, extra_args=FAST)
        st = d.wait_linkup()
        assert "Proxy" not in st, st
        assert "via" not in st["Peer"]
        d.stop()
        assert squid.access_log().count("CONNECT") == before
    finally:
        squid.stop()


def test_bad_proxy_url_exit_2(topo, iphttps_bin):
    """A proxy URL without a host: a message and exit 2 before anything is
    touched (no TUN made)."""
    for bad in ("http://", "http://alice:pw@:3128", "http://host:99999"):
        p = topo.run("cli", [iphttps_bin, "client", "--tun", "iphbad0", "--proxy", bad,
                             "https://iphttps.test/IPHTTPS"], check=False, timeout=10)
        assert p.returncode == 2, (bad, p.stdout, p.stderr)
        assert "proxy" in p.stderr and "pw" not in p.stderr, p.stderr
    links = topo.run("cli", ["ip", "link", "show"]).stdout
    assert "iphbad0" not in links
