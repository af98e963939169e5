"""Metrics (issue 12 item 4): the Prometheus text exposition on --metrics,
validated by the real `promtool check metrics` and scraped by a real
`prometheus`; only GET /metrics is answered, at most 8 connections at once,
5 s to send the request, and idle scrapers never block the tunnel."""
import json
import os
import subprocess
import sys
import tempfile
import time

import netns

PORT = 9109
URL = "http://127.0.0.1:%d/metrics" % PORT

# Opens 9 connections to the metrics port and sends nothing: prints when
# the 9th is closed (at once: over the cap) and when the 8 others are
# (at the request deadline).
HOLDER = r"""
import socket, sys, time
t0 = time.monotonic()
socks = [socket.create_connection(("127.0.0.1", %d)) for _ in range(9)]
socks[8].settimeout(3)
print("ninth", repr(socks[8].recv(100)), round(time.monotonic() - t0, 1), flush=True)
for s in socks[:8]:
    s.settimeout(20)
    s.recv(100)
print("others-closed", round(time.monotonic() - t0, 1), flush=True)
""" % PORT


def curl(topo, *args):
    return topo.run("srv", ["curl", "-sS", "-o", "/dev/stdout", "-w", "\n%{http_code}"] +
                    list(args), check=False, timeout=20)


def scrape(topo):
    p = curl(topo, URL)
    body, _, code = p.stdout.rpartition("\n")
    assert code == "200", (code, p.stderr)
    return body


def value(body, prefix):
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no %s in the metrics" % prefix)


def test_metrics(topo, start_server, start_client, tmp_path):
    server = start_server("--metrics", "127.0.0.1:%d" % PORT)
    client = start_client(server)
    client.wait_linkup()
    body = netns.wait_for(lambda: (lambda b: b if "iphttps_client_info{" in b else None)(
        scrape(topo)), 10, 0.2, "the client in the metrics")
    # The real promtool: the exposition parses and passes its lint.
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        (p.returncode, p.stdout, p.stderr)
    assert value(body, "iphttps_clients ") == 1
    rec = json.loads(subprocess.run([server.binary, "clients", "--json", "--run-dir",
                                     server.run_dir, server.tun], capture_output=True,
                                    text=True, timeout=20).stdout)[0]
    assert 'iphttps_client_info{id="%d",subject="CN=client1",serial="%s",peer="%s"} 1' % (
        rec["Id"], rec["Serial"], rec["Peer"]) in body, body
    assert value(body, "iphttps_handshake_duration_seconds_count") >= 1
    assert value(body, 'iphttps_handshake_duration_seconds_bucket{le="+Inf"}') >= 1
    assert value(body, 'iphttps_certificate_expiry_timestamp_seconds{certificate="server"') > time.time()
    assert value(body, 'iphttps_dropped_packets_total{reason=') >= 0
    assert 'iphttps_tls_handshake_failures_total{reason="no_client_certificate",code="0x90320"}' in body
    # Anything but GET /metrics is refused.
    assert curl(topo, "-X", "POST", URL).stdout.endswith("405")
    assert curl(topo, "http://127.0.0.1:%d/" % PORT).stdout.endswith("404")
    assert curl(topo, "-H", "X-Big: " + "a" * 5000, URL).stdout.endswith("431")
    # Idle connections: the cap, the deadline, and the tunnel meanwhile.
    holder = topo.popen("srv", [sys.executable, "-c", HOLDER], name="metrics-holder")
    ninth = netns.wait_for(lambda: [l for l in holder.stdout().splitlines()
                                    if l.startswith("ninth")], 10, 0.1, "the ninth")[0]
    assert ninth.startswith("ninth b''"), ninth
    client.wait_address()
    assert topo.ping("cli", netns.INSIDE_HOST, count=2)
    assert curl(topo, "--max-time", "2", URL).stdout.endswith("000")  # no slot left
    done = netns.wait_for(lambda: [l for l in holder.stdout().splitlines()
                                   if l.startswith("others-closed")], 20, 0.2,
                          "the idle ones closed at the deadline")[0]
    assert 4.0 <= float(done.split()[1]) <= 12.0, done
    body = scrape(topo)
    assert value(body, "iphttps_metrics_requests_refused_total") >= 12


def test_prometheus_scrapes_the_server(topo, start_server, start_client):
    server = start_server("--metrics", "127.0.0.1:%d" % PORT)
    client = start_client(server)
    client.wait_linkup()
    d = tempfile.mkdtemp(prefix="iph-prom-", dir="/tmp")
    conf = os.path.join(d, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                "  - job_name: iphttps\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % PORT)
    topo.popen("srv", ["prometheus", "--config.file", conf, "--storage.tsdb.path",
                       os.path.join(d, "data"), "--web.listen-address", "127.0.0.1:9190"],
               name="prometheus")

    def query(q):
        p = topo.run("srv", ["curl", "-sS", "-G", "http://127.0.0.1:9190/api/v1/query",
                             "--data-urlencode", "query=" + q], check=False, timeout=10)
        res = json.loads(p.stdout)["data"]["result"] if p.returncode == 0 else []
        return res or None

    res = netns.wait_for(lambda: query('iphttps_client_info{subject="CN=client1"}'), 60, 0.5,
                         "prometheus to have scraped the client")
    assert res[0]["metric"]["job"] == "iphttps" and res[0]["value"][1] == "1"
    up = netns.wait_for(lambda: query('up{job="iphttps"}'), 10, 0.5, "the target up")
    assert up[0]["value"][1] == "1"
    assert netns.wait_for(lambda: query("iphttps_clients == 1"), 10, 0.5, "iphttps_clients")
