"""`iphttps explain CODE`: the catalogue entry of an error code (no root)."""

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def run(*args):
    b = os.environ.get("IPHTTPS_BIN") or os.path.join(REPO, "iphttps")
    if not os.path.isabs(b):
        b = os.path.join(REPO, b)
    return subprocess.run([b, "explain"] + list(args), capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, NO_COLOR="1"))


@pytest.mark.parametrize("arg", ["0x80090326", "80090326", "0X80090326", "2148074278"])
def test_forms_of_a_code(arg):
    r = run(arg)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("0x80090326 (2148074278)  SEC_E_ILLEGAL_MESSAGE")
    for label in ("InterfaceStatus", "Meaning", "Cause", "Fix"):
        assert label in r.stdout
    assert "Failed to connect to the IPHTTPS server; waiting to reconnect" in r.stdout


@pytest.mark.parametrize("arg,symbol", [
    ("0x274c", "WSAETIMEDOUT"), ("274d", "WSAECONNREFUSED"), ("0x90320", "SEC_I_INCOMPLETE_CREDENTIALS"),
    ("800b0109", "CERT_E_UNTRUSTEDROOT"), ("0x800b0101", "CERT_E_EXPIRED"), ("0x0", "SUCCESS"),
    ("0x103", "ERROR_NO_MORE_ITEMS"), ("0xa0000001", "IPHTTPS_E_HTTP_RESPONSE"),
    # Windows' codes for the answers to the POST (iphlpsvc WebReceiveResponseCompletion:
    # 0x80190000 | status), named as in winerror.h
    ("0x80190190", "HTTP_E_STATUS_BAD_REQUEST"), ("0x80190194", "HTTP_E_STATUS_NOT_FOUND"),
    ("0x80190195", "HTTP_E_STATUS_BAD_METHOD"), ("0x801901f7", "HTTP_E_STATUS_SERVICE_UNAVAIL"),
    ("0x801901a6", "HTTP_STATUS_422"),
    # and those of WebSendRequestCompletion's retry and certificate lists
    ("0x80090331", "SEC_E_ALGORITHM_MISMATCH"), ("0x8009030d", "SEC_E_UNKNOWN_CREDENTIALS"),
    ("0x8009030e", "SEC_E_NO_CREDENTIALS"), ("0x800b0110", "CERT_E_WRONG_USAGE"),
    ("0x800b010a", "CERT_E_CHAINING"), ("0x80092012", "CRYPT_E_NO_REVOCATION_CHECK"),
])
def test_catalogue_codes(arg, symbol):
    r = run(arg)
    assert r.returncode == 0
    assert symbol in r.stdout.splitlines()[0]


def test_success_status():
    assert "IPHTTPS interface active" in run("0").stdout


def test_unknown_code():
    r = run("0x1234")
    assert r.returncode == 2
    assert "0x1234" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("arg", ["xyz", "0x", "", "0x1ffffffff", "-5"])
def test_not_a_code(arg):
    assert run(arg).returncode == 2


def test_list():
    r = run("--list")
    assert r.returncode == 0
    for code in ("0x80090326", "0x274c", "0x90320", "0x800b0109", "0xa0000001", "0x80190194"):
        assert code in r.stdout
    # our own codes are marked, Windows' are not
    lines = {l.split()[0]: l for l in r.stdout.splitlines() if l.startswith("0x")}
    assert lines["0xa0000002"].split()[1] == "ours", lines["0xa0000002"]
    assert lines["0x80090326"].split()[1] != "ours", lines["0x80090326"]


def test_source_of_each_code():
    """Each entry names where the code comes from; ours say so."""
    assert "WebReceiveResponseCompletion" in run("0x80190194").stdout
    assert "Ours:" in run("0xa0000002").stdout
    assert "0x80090326" in run("0x80090326").stdout and "Hicks" in run("0x80090326").stdout


def test_help_and_usage():
    r = run("--help")
    assert r.returncode == 0 and "usage: iphttps explain" in r.stdout
    assert run().returncode == 2
    assert run("1", "2").returncode == 2
