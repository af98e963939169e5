"""docs/deploy-intranet.md, run as written (tests/scenarios/docpage.py) on
client, server and inside machines, the inside one with an IPv4 intranet:
dnsmasq and an IPv4-only web server there, the server with --nat64 auto
--dns64 --dns-search, the client fetching http://web.corp.example/ by name.
Then the promises of the prose: the client's /etc/resolv.conf back as it
was once the page stopped the client, the translator's rules in place."""
import pytest

import docpage
import netns

MACHINES = {"server": "srv", "client": "cli", "inside": "ins"}


class IntranetTopology(docpage.PageTopology):
    """The pages' topology plus the IPv4 intranet 10.20.0.0/24 between the
    server and the inside host."""

    def build(self):
        super().build()
        self.run("srv", ["ip", "addr", "add", "10.20.0.1/24", "dev", "eth1"])
        self.run("ins", ["ip", "addr", "add", "10.20.0.2/24", "dev", "eth0"])


@pytest.fixture(scope="module")
def intranet(tmp_path_factory):
    if not netns.is_root():
        pytest.skip("needs root (network namespaces)")
    s = docpage.Session(tmp_path_factory.mktemp("intranet-page"), MACHINES,
                        topology=IntranetTopology)
    reports = ""
    try:
        with open("/etc/resolv.conf", "rb") as f:
            s.original_resolv = f.read()
        s.page("docs/deploy-intranet.md")
        yield s
    finally:
        reports = s.close()
    assert not reports, "sanitizer reports:\n" + reports


def test_client_resolv_conf_back(intranet):
    """The page stopped the client: its /etc/resolv.conf (its machine's
    own, an overlay of this machine's) is the original again, byte for
    byte, and the kept copy is gone."""
    cli = intranet.emu.one("client")
    assert cli.read("/etc/resolv.conf") == intranet.original_resolv
    rc, out = cli.run("ls /etc | grep -c '^resolv.conf.iphttps-' || true")
    assert out.strip() == "0", out


def test_web_server_saw_the_server_inside_address(intranet):
    """The page's curl reached the IPv4-only web server from the server's
    inside address: translated, then masqueraded."""
    web = intranet.runs[0].daemon("inside", 1).stdout()
    assert '10.20.0.1 - - ' in web and '"GET / HTTP/1.1" 200' in web, web
