"""Running under systemd (issue 12 item 5): with JOURNAL_STREAM naming its
stderr, every line carries a syslog priority "<N>" and no timestamp, and a
fatal error is logged at err (3); Type=notify readiness, STATUS=, RELOADING,
STOPPING and the watchdog (WatchdogSec) over a NOTIFY_SOCKET this test
listens on, as systemd's would (sd_notify(3))."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

import netns

# A shell that points JOURNAL_STREAM at its own stderr (the file the test
# keeps), as systemd does for StandardError=journal, then runs the command.
JOURNAL_WRAP = ["sh", "-c", 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) '
                'exec "$@"', "sh"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


class NotifySocket:
    """The service manager's end: a datagram socket that collects what
    sd_notify sends."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iph-notify-", dir="/tmp")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        # As systemd's /run/systemd/notify: reachable by the daemon's user
        # once it has dropped root.
        os.chmod(self.dir, 0o755)
        os.chmod(self.path, 0o777)
        self.sock.setblocking(False)
        self.messages = []

    def collect(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def wait(self, pred, timeout, what):
        return netns.wait_for(lambda: pred(self.collect()), timeout, 0.05, what)

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def env_with(**kw):
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    env.pop("NOTIFY_SOCKET", None)
    env.update(kw)
    return env


def test_journal_priorities_notify_and_watchdog(topo, start_server,
                                                iphttps_bin):
    ns = NotifySocket()
    try:
        server = start_server(wrap=JOURNAL_WRAP, env=env_with(
            NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="1000000"))
        # Readiness comes once the server listens, with a status line.
        ns.wait(lambda m: "READY=1" in m, 10, "READY=1")
        status = [m for m in ns.collect() if m.startswith("STATUS=")]
        assert status and "listening on [::]:443" in status[-1], ns.messages
        # WatchdogSec=1: a keep-alive every half second or so.
        n0 = sum(m == "WATCHDOG=1" for m in ns.collect())
        ns.wait(lambda m: sum(x == "WATCHDOG=1" for x in m) >= n0 + 3, 10,
                "three more WATCHDOG=1")
        # A reload says so and is ready again.
        before = len(ns.collect())
        os.kill(server.proc.pid, signal.SIGHUP)
        ns.wait(lambda m: "READY=1" in m[before:], 10, "READY=1 after reload")
        assert any(x.startswith("RELOADING=1") for x in ns.messages[before:])
        # Under the journal: "<N>" first, no timestamp of our own.
        lines = [l for l in server.proc.stderr().splitlines() if l]
        assert lines, "no log lines"
        for l in lines:
            assert re.match(r"^<[3-7]>", l), l
            assert not TIMESTAMP.search(l[3:]), l
        assert any(l.startswith("<6>listening on") for l in lines), lines
        # A second server on the same NAME fails: an error at priority 3.
        p = topo.run("srv", JOURNAL_WRAP + server.args, check=False,
                     timeout=30, env=env_with())
        assert p.returncode == 1, (p.returncode, p.stderr)
        # (the TUN device or the control socket of that NAME is taken)
        assert re.search(r"^<3>.*(busy|another iphttps instance)", p.stderr,
                         re.M), p.stderr
        assert "To connect a client" not in p.stdout, p.stdout
        # JOURNAL_STREAM inherited by a process whose stderr is elsewhere:
        # not the journal, plain lines with their timestamps.
        p = topo.run("srv", server.args, check=False, timeout=30,
                     env=env_with(JOURNAL_STREAM="1:2"))
        assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} iphttps-server "
                         r"error: .*(busy|another iphttps instance)", p.stderr,
                         re.M), p.stderr
        # A configuration error before the daemon runs: at err too.
        bad = os.path.join(ns.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("[sever]\nlisten = [::]:443\n")
        p = topo.run("srv", JOURNAL_WRAP + [iphttps_bin, "server", "-c", bad], check=False,
                     env=env_with())
        assert p.returncode == 2 and p.stderr.startswith(
            "<3>iphttps server: %s:1: unknown section [sever]" % bad), p.stderr
        os.unlink(bad)
        # Stopping is announced.
        server.proc.stop()
        ns.wait(lambda m: "STOPPING=1" in m, 10, "STOPPING=1")
    finally:
        ns.close()
