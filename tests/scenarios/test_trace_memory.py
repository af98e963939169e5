"""`iphttps trace` holds a compact summary per connection and grows its
buffers as data arrives (issue 8, item 6): on a synthetic capture of
200,000 one-packet TLS connections (each ClientHello claiming 65,535 bytes
it never sends; tests/data/many_conns.py) it stays within the memory cap
its man page states (512 MiB; it took 2.7 GB before) and still judges
every connection.

Memory is measured on the plain build (./iphttps when it exists): the
sanitizer build's own bookkeeping would be measured otherwise."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CAP_KIB = 512 * 1024

MEASURE = r"""
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stdout.write(p.stdout[-2000:])
"""


def plain_binary(iphttps_bin):
    plain = os.path.join(REPO, "iphttps")
    return plain if os.access(plain, os.X_OK) else iphttps_bin


def test_trace_200000_connections_within_memory_cap(iphttps_bin, tmp_path):
    cap = tmp_path / "many.pcap"
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "data",
                                                 "many_conns.py"),
                    str(cap), "200000"], check=True, timeout=300)
    p = subprocess.run([sys.executable, "-c", MEASURE,
                        plain_binary(iphttps_bin), "trace", str(cap)],
                       capture_output=True, text=True, timeout=600)
    first, _, out = p.stdout.partition("\n")
    rc, maxrss_kib = (int(x) for x in first.split())
    assert "Summary: 200000 connections" in out, out
    assert maxrss_kib < CAP_KIB, "trace used %d KiB" % maxrss_kib
    assert rc in (0, 1), (rc, out)
