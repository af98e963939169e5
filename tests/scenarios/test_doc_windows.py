"""docs/windows.md, run as written (tests/scenarios/docpage.py) on a server
and a Linux client: the server in authentication mode None on defaults, its
TLS policy in the log and in `iphttps state`, a client certificate for a
Windows machine converted to PKCS#12, and the probe as Windows 8/10/11 and
as a stock Windows 7 meet the server.  Then the promises of the prose."""
import pytest

import docpage

MACHINES = {"server": "srv", "client": "cli"}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    yield from docpage.pages_fixture(tmp_path_factory, "windows", MACHINES, ["docs/windows.md"])


def test_pkcs12_for_windows_holds_the_client_certificate(page):
    """The .pfx the page makes holds the certificate and its key."""
    rc, out = page.emu.one("server").run(
        "openssl pkcs12 -in laptop7.pfx -passin pass:change-me -nodes -info 2>&1")
    assert rc == 0 and "CN=laptop7" in out.replace(" = ", "=") and "PRIVATE KEY" in out, out


def test_windows7_needs_what_the_page_says(page):
    """The page's Windows 7 fix is the probe's: TLS 1.0 on the server, or
    TLS 1.2 on the clients."""
    rc, out = page.emu.one("client").run(
        "iphttps probe --json --profile windows7 --ca ca.pem https://iphttps.test/IPHTTPS")
    assert rc == 1, out
    assert "--tls-min 1.0" in out and "Client registry key" in out, out
