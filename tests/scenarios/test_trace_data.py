"""`iphttps trace` against the capture library in tests/data/captures/.

Each capture (NAME.pcap or NAME.pcapng) was made by tests/data/make_captures.sh
from real components set up wrongly in one way; NAME.expect holds the verdict
the trace must give: `code 0x...`, `result OK|FAIL|UNKNOWN`, and `evidence
TEXT` lines that must appear in the verdict's cause, evidence or notes.

Also: what the trace does with files that are no capture, captures cut short
or damaged, and captures without a connection to the port.  These tests need
no root.  The binary is $IPHTTPS_BIN, or ./iphttps at the repository root.
"""

import glob
import json
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "tests", "data", "captures")
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                          r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")
CAPTURES = sorted(glob.glob(os.path.join(DATA, "*.pcap")) + glob.glob(os.path.join(DATA, "*.pcapng")))


def iphttps_bin():
    b = os.environ.get("IPHTTPS_BIN") or os.path.join(REPO, "iphttps")
    if not os.path.isabs(b):
        b = os.path.join(REPO, b)
    if not os.access(b, os.X_OK):
        pytest.fail("no iphttps binary at %s (build it, or set IPHTTPS_BIN)" % b)
    return b


def run(*args, timeout=120):
    r = subprocess.run([iphttps_bin()] + list(args), capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, NO_COLOR="1"))
    assert not SANITIZER_RE.search(r.stderr), r.stderr
    return r


def read_expect(capture):
    """The expectations of NAME.pcap[ng]: {'code': str, 'result': str, 'evidence': [str]}."""
    path = os.path.splitext(capture)[0] + ".expect"
    exp = {"code": None, "result": None, "evidence": []}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key == "evidence":
                exp["evidence"].append(value)
            else:
                exp[key] = value
    assert exp["code"], "%s has no code line" % path
    return exp


def test_library_is_there():
    assert len(CAPTURES) >= 10, "the capture library is missing: run tests/data/make_captures.sh"


@pytest.mark.parametrize("capture", CAPTURES, ids=os.path.basename)
def test_capture_verdict(capture):
    exp = read_expect(capture)
    r = run("trace", "--json", capture)
    doc = json.loads(r.stdout)
    conns = doc["connections"]
    assert len(conns) == 1, "one connection per capture, got %d" % len(conns)
    v = conns[0]["verdict"]
    assert v["code"] == exp["code"], "%s: %s (%s)" % (v["code"], v["summary"], v["evidence"])
    if exp["result"]:
        assert v["result"] == exp["result"]
    text = " ".join((v["cause"], v["evidence"], v["notes"]))
    for e in exp["evidence"]:
        assert e in text, "%r not in %r" % (e, text)
    assert r.returncode == (0 if v["result"] == "OK" else 1)
    assert not doc["truncated"]


@pytest.mark.parametrize("capture", CAPTURES, ids=os.path.basename)
def test_capture_human(capture):
    """The human form gives the same verdict, last, with the steps before it."""
    exp = read_expect(capture)
    r = run("trace", capture)
    assert r.returncode in (0, 1), r.stderr
    out = r.stdout
    assert "verdict" in out and "C->S" in out
    verdict_line = [l for l in out.splitlines() if l.strip().startswith("verdict")][0]
    assert exp["code"] in verdict_line
    assert out.rstrip().splitlines()[-1].startswith("Summary")
    assert "\033[" not in out           # NO_COLOR, and not a terminal anyway


def test_all_in_one(tmp_path):
    """The Ethernet captures merged: one block per connection, exit 1 since
    some fail.  (libpcap 1.10 refuses a pcapng whose interfaces have different
    link types, so the Linux cooked one stays out.)"""
    ether = [c for c in CAPTURES if c.endswith(".pcap")]
    merged = tmp_path / "all.pcapng"
    subprocess.run(["mergecap", "-w", str(merged)] + ether, check=True)
    r = run("trace", "--json", str(merged))
    doc = json.loads(r.stdout)
    assert len(doc["connections"]) == len(ether)
    assert doc["summary"]["failed"] >= 1 and doc["summary"]["ok"] >= 1
    assert r.returncode == 1


def test_port_option(tmp_path):
    ok = os.path.join(DATA, "success_null.pcap")
    r = run("trace", "--port", "8443", ok)
    assert r.returncode == 2
    assert "no TLS connection to port 8443" in r.stderr
    assert run("trace", "--port", "443", ok).returncode == 0
    assert run("trace", "--port", "0", ok).returncode == 2
    assert run("trace", "--port", "x", ok).returncode == 2


def test_missing_file():
    r = run("trace", "/nonexistent/capture.pcap")
    assert r.returncode == 2
    assert "/nonexistent/capture.pcap" in r.stderr


def test_not_a_capture(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("this is not a capture\n" * 10)
    r = run("trace", str(f))
    assert r.returncode == 2
    assert "not a readable pcap or pcapng capture" in r.stderr


def test_empty_file(tmp_path):
    f = tmp_path / "empty.pcap"
    f.write_bytes(b"")
    assert run("trace", str(f)).returncode == 2


def test_usage_errors():
    assert run("trace").returncode == 2
    assert run("trace", "--bogus", "x").returncode == 2
    assert run("trace", "a", "b").returncode == 2
    r = run("trace", "--help")
    assert r.returncode == 0 and "usage: iphttps trace" in r.stdout


def test_truncated_capture(tmp_path):
    """A capture cut in the middle of a packet: what was read is judged and
    the file is said to be truncated."""
    src = open(os.path.join(DATA, "success_null.pcap"), "rb").read()
    f = tmp_path / "cut.pcap"
    f.write_bytes(src[:len(src) * 2 // 3 + 7])
    r = run("trace", "--json", str(f))
    assert r.returncode in (0, 1)
    assert "truncated" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["truncated"]
    assert len(doc["connections"]) == 1
    assert "truncated" in doc["connections"][0]["verdict"]["notes"]


def test_damaged_capture(tmp_path):
    """Bytes of the packets overwritten with garbage: still a verdict, no crash."""
    src = bytearray(open(os.path.join(DATA, "client_cert_required.pcap"), "rb").read())
    for i in range(200, len(src), 97):
        src[i] ^= 0x5A
    f = tmp_path / "damaged.pcap"
    f.write_bytes(bytes(src))
    r = run("trace", "--json", str(f))
    assert r.returncode in (0, 1, 2)
    if r.returncode != 2:
        json.loads(r.stdout)


def test_no_tcp_to_port(tmp_path):
    """A valid capture with only UDP: no connection, exit 2."""
    import struct
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)   # LINKTYPE_RAW
    udp = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, bytes([192, 0, 2, 1]),
                      bytes([192, 0, 2, 2])) + struct.pack("!HHHH", 53, 53, 8, 0)
    rec = struct.pack("<IIII", 1, 0, len(udp), len(udp)) + udp
    f = tmp_path / "udp.pcap"
    f.write_bytes(hdr + rec)
    r = run("trace", str(f))
    assert r.returncode == 2
    assert "no TLS connection to port 443" in r.stderr
