"""Hooks (issue 12 item 3): the server's --connect-script and
--disconnect-script with the client's facts in the environment, able to
change the firewall (a real nft table, as admins use ocserv's
connect-script); a script that hangs never blocks the loop and is stopped
at --hook-timeout; with --hook-fatal a failing connect script refuses the
client with 403 (which a Windows client meets as a refused certificate)."""
import os
import re
import signal
import tempfile

import netns
from hookutil import env_file, script

FAST = ("--reconnect-initial", "1", "--reconnect-max", "2")


def reload_with(server, conf, text, mark):
    with open(conf, "w") as f:
        f.write(text)
    n = server.proc.stderr().count("reload: configuration read again")
    os.kill(server.proc.pid, signal.SIGHUP)
    netns.wait_for(lambda: server.proc.stderr().count("reload: configuration read again") > n,
                   10, 0.1, "reload (%s)" % mark)


def test_connect_disconnect_timeout_and_fatal(topo, start_server, start_client):
    d = tempfile.mkdtemp(prefix="iph-hooks-", dir="/tmp")
    # The scripts run as the server's user (iphttps, CAP_NET_ADMIN): they
    # write their findings here.
    os.chmod(d, 0o777)
    conn = script(d, "connect.sh", 'env | grep ^IPHTTPS_ > %s/connect.$IPHTTPS_ID\n'
                  'nft add table inet iph_client_$IPHTTPS_ID' % d)
    disc = script(d, "disconnect.sh", 'env | grep ^IPHTTPS_ > %s/disconnect.$IPHTTPS_ID\n'
                  'nft delete table inet iph_client_$IPHTTPS_ID' % d)
    hang = script(d, "hang.sh", "echo hanging; sleep 60")
    fail = script(d, "fail.sh", "echo not this one; exit 1")
    conf = os.path.join(d, "server.conf")
    with open(conf, "w") as f:
        f.write("[server]\nconnect-script = %s\ndisconnect-script = %s\n" % (conn, disc))
    server = start_server("-c", conf)
    client = start_client(server, extra_args=FAST)
    client.wait_linkup()
    cid = netns.wait_for(lambda: [f.split(".")[1] for f in os.listdir(d)
                                  if f.startswith("connect.")], 10, 0.1, "the connect script")[0]
    e = env_file(os.path.join(d, "connect." + cid))
    assert e["IPHTTPS_EVENT"] == "connect" and e["IPHTTPS_INTERFACE"] == server.tun
    assert e["IPHTTPS_SUBJECT"] == "CN=client1" and re.match(r"^[0-9A-F]+$", e["IPHTTPS_SERIAL"])
    assert e["IPHTTPS_PEER_ADDRESS"] == "198.51.100.2" and int(e["IPHTTPS_PEER_PORT"]) > 0
    assert e["IPHTTPS_PREFIX"].endswith("::/64") and e["IPHTTPS_TLS"].startswith("TLSv1.")
    # The script changed the firewall in the server's namespace.
    netns.wait_for(lambda: "iph_client_%s" % cid in topo.run("srv", ["nft", "list", "tables"]).stdout,
                   10, 0.1, "the script's nft table")
    addr = client.wait_address()
    assert topo.ping("cli", netns.INSIDE_HOST, count=2)
    client.stop()
    e = netns.wait_for(lambda: os.path.exists(os.path.join(d, "disconnect." + cid)) and
                       env_file(os.path.join(d, "disconnect." + cid)), 10, 0.1,
                       "the disconnect script")
    assert e["IPHTTPS_EVENT"] == "disconnect" and e["IPHTTPS_ID"] == cid
    assert addr in e["IPHTTPS_ADDRESSES"].split(), e
    assert int(e["IPHTTPS_RX_BYTES"]) > 0 and int(e["IPHTTPS_RX_PACKETS"]) >= 2
    assert int(e["IPHTTPS_DURATION"]) >= 0 and e["IPHTTPS_REASON"], e
    netns.wait_for(lambda: "iph_client_%s" % cid not in
                   topo.run("srv", ["nft", "list", "tables"]).stdout, 10, 0.1,
                   "the table removed")
    # A script that hangs: the client links up and its traffic flows while
    # it runs; it is stopped at --hook-timeout and counted.
    reload_with(server, conf, "[server]\nconnect-script = %s\nhook-timeout = 2\n" % hang, "hang")
    second = start_client(server, extra_args=FAST)
    second.wait_linkup()
    second.wait_address()
    assert topo.ping("cli", netns.INSIDE_HOST)
    assert "connect-script #" in server.proc.stderr() and "hanging" in server.proc.stderr()
    netns.wait_for(lambda: server.state()["Counters"]["ScriptsTimedOut"] == 1, 10, 0.2,
                   "the hanging script stopped")
    assert re.search(r"connect-script #\d+: %s did not end within 2000 ms" % hang,
                     server.proc.stderr())
    assert second.state()["State"] == "LinkUp" and second.state()["LinkLosses"] == 0
    second.stop()
    # --hook-fatal: a failing connect script refuses the client (403).
    reload_with(server, conf, "[server]\nconnect-script = %s\nhook-fatal = yes\n" % fail, "fatal")
    third = start_client(server, extra_args=FAST)
    # (a 403 makes a client try its next certificate; with none left it
    # reports 0x103, as Windows does: iptlsclient.c, WINDOWS-EVIDENCE.md)
    try:
        netns.wait_for(lambda: third.state()["LastErrorCode"] == "0x103" and
                       "403 Forbidden" in third.state()["LastError"], 20, 0.2,
                       "the client refused with 403")
    except TimeoutError as e:
        raise AssertionError("%s\n%s" % (e, third.proc.describe()))
    assert server.state()["Counters"]["ScriptRefused"] >= 1
    assert "request rejected with 403: the connect script refused it" in server.proc.stderr()
    # ... and a succeeding one lets it in.
    reload_with(server, conf, "[server]\nconnect-script = %s\nhook-fatal = yes\n" % conn, "ok")
    third.wait_linkup()
    c = server.state()["Counters"]
    assert c["ScriptsFailed"] >= 1 and c["ScriptsSucceeded"] >= 3, c
