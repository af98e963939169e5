"""docs/deploy-single.md, run as written (tests/scenarios/docpage.py) on
client, server and inside machines: the server on embedded defaults, its
state directory, a firewall made with nftables, the files copied to the
client, the client's hosts entry, the client; then the DirectAccess
settings (a certificate from the generated CA, --auth none, null suites)
with a Linux client that offers the null suites. Then the promises of the
prose: both ways through the tunnel, the firewall's rules in place, the
DirectAccess server's prefix on the client."""
import ipaddress
import json

import pytest

import docpage

MACHINES = {"server": "srv", "client": "cli", "inside": "ins"}


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    yield from docpage.pages_fixture(
        tmp_path_factory, "single", MACHINES, ["docs/deploy-single.md"])


def _global(m, prefix):
    rc, out = m.run("ip -j -6 addr show dev iphttps0 scope global")
    addrs = [a["local"] for l in json.loads(out) for a in l["addr_info"]
             if "local" in a]
    return [a for a in addrs if ipaddress.ip_address(a) in prefix]


def test_da_client_address_reached_from_inside(single):
    """The DirectAccess server's --prefix on the client, and the inside
    host reaches it (return route: its default via the server)."""
    cli = single.emu.one("client")
    addrs = _global(cli, ipaddress.ip_network("2001:db8:100::/64"))
    assert addrs, "no address from 2001:db8:100::/64 on the client"
    rc, out = single.emu.one("inside").run("ping -c 1 -W 5 %s" % addrs[0])
    assert rc == 0, out
    rc, out = cli.run("ping -c 1 -W 5 2001:db8:1::2")
    assert rc == 0, out


def test_firewall_of_the_page_is_in_place(single):
    """The page's nft commands made the table: a drop policy with 443 let
    in (and the client got through it)."""
    rc, out = single.emu.one("server").run("nft list chain inet filter input")
    assert "policy drop" in out and "tcp dport 443 accept" in out, out


def test_ctrl_c_and_the_null_suite_on_the_server_side(single):
    """The page's Ctrl-C ended the first server cleanly; the DirectAccess
    server picked the null suite the client offered (--null-encryption
    prefer) and logged it."""
    first = single.runs[0].daemon("server", 0)
    assert first.popen.returncode == 0, first.describe()
    assert "signal 2: shutting down" in first.stdout(), first.describe()
    da = single.runs[0].daemon("server", 1).stdout()
    assert "accepted, TLSv1.2 NULL-SHA256" in da, da
