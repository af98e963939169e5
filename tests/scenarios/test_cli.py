"""The command line (issue 12 item 7): options anywhere among operands for
every subcommand; a request for the wrong role labelled with the instance
and exit 2; the same exit codes for text and --json; the bash completion
generated from the option tables offers every option --help lists."""
import json
import os
import re
import subprocess
import tempfile

SUBCOMMANDS = ["server", "client", "state", "clients", "reconnect", "enable",
               "disable", "disconnect", "probe", "trace", "explain",
               "issue-client"]


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, **kw)


def complete(script, words):
    """COMPREPLY of the generated completion for the command line words
    (the last one is the word being completed)."""
    line = " ".join(words)
    prog = ("source /usr/share/bash-completion/bash_completion\n"
            "source %s\n"
            "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%s; COMP_POINT=${#COMP_LINE}\n"
            "_iphttps; printf '%%s\\n' \"${COMPREPLY[@]}\"\n"
            % (script, " ".join("'%s'" % w for w in words), len(words) - 1,
               "'%s'" % line))
    p = run(["bash", "-c", prog])
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines() if l]


def test_help_lists_every_subcommand(iphttps_bin):
    out = run([iphttps_bin, "--help"]).stdout
    for sub in SUBCOMMANDS:
        assert re.search(r"^  iphttps %s\b" % re.escape(sub), out, re.M), sub


def test_completion_offers_every_option_of_help(iphttps_bin, tmp_path):
    script = str(tmp_path / "iphttps.bash")
    p = run([iphttps_bin, "completion", "bash"])
    assert p.returncode == 0
    with open(script, "w") as f:
        f.write(p.stdout)
    assert set(SUBCOMMANDS) <= set(complete(script, ["iphttps", ""]))
    for sub in SUBCOMMANDS:
        helptext = run([iphttps_bin, sub, "--help"]).stdout
        wanted = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", helptext))
        offered = set(complete(script, ["iphttps", sub, "--"]))
        assert wanted and wanted <= offered, (sub, wanted - offered)
    assert complete(script, ["iphttps", "server", "--auth", ""]) == ["none", "certificates"]
    assert complete(script, ["iphttps", "client", "--null-encryption", "o"]) == ["off", "on"]
    # Instance names for the control commands come from the run directory.
    d = tempfile.mkdtemp(prefix="iph-compl-", dir="/tmp")
    try:
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(d, "vpn7.sock"))
        env = "IPHTTPS_RUN_DIR=%s " % d
        prog = ("source /usr/share/bash-completion/bash_completion; source %s; "
                "COMP_WORDS=(iphttps state v); COMP_CWORD=2; COMP_LINE='iphttps state v'; "
                "COMP_POINT=15; _iphttps; echo \"${COMPREPLY[@]}\"" % script)
        p = subprocess.run(["bash", "-c", env + prog], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, IPHTTPS_RUN_DIR=d))
        assert p.stdout.split() == ["vpn7"], p.stdout + p.stderr
        s.close()
    finally:
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


def test_options_after_operands(iphttps_bin, tmp_path):
    # issue-client NAME --state-dir DIR (the option after the operand)
    p = run([iphttps_bin, "issue-client", "bob", "--state-dir", str(tmp_path)])
    assert p.returncode == 1 and "no generated authority in %s" % tmp_path in p.stderr, p.stderr
    p = run([iphttps_bin, "explain", "0x80090326", "--help"])
    assert p.returncode == 0 and "usage: iphttps explain" in p.stdout
    p = run([iphttps_bin, "trace", "/nonexistent.pcap", "--port", "8443"])
    assert p.returncode == 2 and "/nonexistent.pcap" in p.stderr, p.stderr
    p = run([iphttps_bin, "state", "nosuch0", "--run-dir", str(tmp_path)])
    assert p.returncode == 1
    assert "iphttps state: nosuch0: no iphttps instance named 'nosuch0'" in p.stderr, p.stderr
    p = run([iphttps_bin, "probe", "https://x.invalid/IPHTTPS", "--timeout", "bad"])
    assert p.returncode == 2 and "--timeout" in p.stderr


def test_nothing_running_same_exit_for_text_and_json(iphttps_bin, tmp_path):
    for sub in ("state", "clients"):
        t = run([iphttps_bin, sub, "--run-dir", str(tmp_path)])
        j = run([iphttps_bin, sub, "--json", "--run-dir", str(tmp_path)])
        assert t.returncode == j.returncode == 1, (sub, t.returncode, j.returncode)
        assert json.loads(j.stdout) == []
        assert "no running" in t.stderr


def test_wrong_role_is_labelled(topo, server, start_client, iphttps_bin):
    client = start_client(server, extra_args=("--run-dir", server.run_dir))
    client.wait_linkup()
    rd = ["--run-dir", server.run_dir]
    # clients without NAME: the server's, the client is not asked to be one.
    p = run([iphttps_bin, "clients"] + rd)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("%s:\n" % server.tun) and "error" not in p.stdout + p.stderr
    j = run([iphttps_bin, "clients", "--json"] + rd)
    doc = json.loads(j.stdout)
    assert j.returncode == 0 and [d["Interface"] for d in doc] == [server.tun], doc
    # clients of a client, reconnect of a server: labelled, exit 2.
    p = run([iphttps_bin, "clients", client.tun] + rd)
    assert p.returncode == 2, p
    assert p.stderr.startswith("iphttps clients: %s: a client instance" % client.tun), p.stderr
    for argv in (["reconnect", server.tun], ["disable", server.tun]):
        p = run([iphttps_bin] + argv + rd)
        assert p.returncode == 2, (argv, p.returncode, p.stderr)
        assert "iphttps %s: %s: a server instance" % (argv[0], server.tun) in p.stderr
    # reconnect without NAME reaches the client only.
    p = run([iphttps_bin, "reconnect"] + rd)
    assert p.returncode == 0 and "error" not in p.stderr, p.stderr
    # state of both, and --json of both, exit 0.
    j = run([iphttps_bin, "state", "--json"] + rd)
    roles = sorted(d["Role"] for d in json.loads(j.stdout))
    assert j.returncode == 0 and roles == ["client", "server"], j.stdout
