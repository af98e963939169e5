"""README.md's "Use" section, run as written (tests/scenarios/docpage.py):
a server on embedded defaults, the three files copied to a client, the
server's name put in the client's /etc/hosts, the client started; the
output the section shows must come. Then what its prose promises: the
address from the server's generated prefix through SLAAC, the inside route
from the Router Advertisement, the inside host reachable both ways.
"""
import ipaddress
import json

import pytest

import docpage

MACHINES = {"server": "srv", "client": "cli", "inside": "ins"}


@pytest.fixture(scope="module")
def readme(tmp_path_factory):
    yield from docpage.pages_fixture(
        tmp_path_factory, "readme", MACHINES, [("README.md", "## Use")])


def _prefix(s):
    """The server's generated prefix, from its state directory."""
    text = s.emu.one("server").read("/var/lib/iphttps/prefix").decode()
    return ipaddress.ip_network(text.split()[0])


def test_client_address_comes_from_the_servers_prefix_by_slaac(readme):
    prefix = _prefix(readme)
    assert prefix.subnet_of(ipaddress.ip_network("fd00::/8")), prefix
    cli = readme.emu.one("client")
    rc, out = cli.run("ip -j -6 addr show dev iphttps0 scope global")
    addrs = [a for l in json.loads(out) for a in l["addr_info"] if "local" in a]
    assert [a for a in addrs if ipaddress.ip_address(a["local"]) in prefix
            and a.get("dynamic")], \
        "no SLAAC (dynamic) address from %s on the client: %s" % (prefix, out)
    rc, out = cli.run("ip -6 route show dev iphttps0")
    assert "2001:db8:1::/64 via fe80::1 proto ra" in out, out


def test_inside_host_reaches_the_client(readme):
    cli = readme.emu.one("client")
    rc, out = cli.run("ip -j -6 addr show dev iphttps0 scope global")
    addr = json.loads(out)[0]["addr_info"][0]["local"]
    rc, out = readme.emu.one("inside").run("ping -c 1 -W 5 %s" % addr)
    assert rc == 0, out


def test_server_lists_the_client_by_its_certificate(readme):
    rc, out = readme.emu.one("server").run("iphttps clients --json iphttps0")
    recs = json.loads(out)
    assert len(recs) == 1 and recs[0]["State"] == "LinkUp", out
    assert recs[0]["Peer"].startswith("198.51.100.2:"), out
    assert recs[0]["Subject"] == "CN=client1", out
