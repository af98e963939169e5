"""The harness that runs the docs pages (docpage.py): its reading of a page,
its comparison of output, and that a page that drifted from the software
fails (a command that fails, output that does not come, a daemon that
dies, a machine the page names that does not exist)."""
import os
import textwrap

import pytest

import docpage
import netns


def _page(tmp_path, text, section=None):
    p = tmp_path / "page.md"
    p.write_text(textwrap.dedent(text))
    return docpage.Page(str(p), section)


def test_blocks_hosts_outputs_directives_and_table(tmp_path):
    page = _page(tmp_path, """\
        # A page
        | host | addresses | role |
        | --- | --- | --- |
        | `server` | 203.0.113.2, 2001:db8:1::1 | the server |

        ```sh
        # on server, keeps running
        iphttps server \\
            --route 2001:db8:1::/64
        ```

        ```text output
        To connect a client:
        ```

        ```sh
        # an illustration, not run
        iphttps server --prefix 2001:db8::/64
        ```

        1. In a list:

           ```sh
           # on client
           iphttps state
           ```
        <!-- test: copy server:/var/lib/iphttps/ca.pem client:. -->
        ```text
        an illustration
        ```
        """)
    runs = page.run_blocks()
    assert [(b.host, b.keeps_running) for b in runs] == [
        ("server", True), ("client", False)]
    assert runs[0].script == "iphttps server \\\n    --route 2001:db8:1::/64\n"
    assert runs[1].script == "iphttps state\n"
    assert [o.lines for o in runs[0].outputs] == [["To connect a client:"]]
    assert runs[1].outputs == []
    assert page.table_rows == [("server", ["203.0.113.2", "2001:db8:1::1"])]
    assert page.hosts() == {"server", "client"}
    d = [it for it in page.items if isinstance(it, docpage.Directive)]
    assert d[0].verb == "copy" and d[0].line == 27


def test_a_misspelt_host_line_is_an_error(tmp_path):
    with pytest.raises(docpage.PageError, match="keeps running"):
        _page(tmp_path, "```sh\n# on server keeps running\nx\n```\n")


def test_section_only(tmp_path):
    page = _page(tmp_path, """\
        ## Build
        ```sh
        # on server
        make
        ```
        ## Use
        ```sh
        # on server
        iphttps state
        ```
        ### More use
        ```sh
        # on client
        iphttps state
        ```
        ## Layout
        ```sh
        # on server
        ls
        ```
        """, "## Use")
    assert [(b.host, b.line) for b in page.run_blocks()] == [
        ("server", 7), ("client", 12)]


def test_output_comparison():
    bind = {}
    actual = ("Role : client\n"
              "junk\n"
              "Addresses         : fdb2:ef9c:6863:0:5f9d:946a:b9b6:8e2c/64, "
              "fe80::275a:f1e9:e1d1:888e/64\n"
              "Routes            : 2001:db8:1::/64 via fe80::1, "
              "fdb2:ef9c:6863::/64\n"
              "2026-12-02 13:54:46.252 iphttps-server info: listening\n")
    ok = ["Role   :   client", "...",
          "Addresses : fd73:935e:820b:0:4bd5:c3d1:3f94:95cf/64, "
          "fe80::3fc4:7685:54a:9db6/64",
          "Routes : 2001:db8:1::/64 via fe80::1, fd73:935e:820b::/64",
          "2026-11-22 06:07:44.688 iphttps-server info: listening"]
    assert docpage.match_output(ok, actual, bind) == ""
    assert bind == {0xfd73935e820b0000: 0xfdb2ef9c68630000}
    # Consistency: the same expected prefix is the same actual one.
    assert docpage.match_output(
        ["Routes : 2001:db8:1::/64 via fe80::1, fd73:935e:820b::/64"],
        "Routes : 2001:db8:1::/64 via fe80::1, fd11:2222:3333::/64", bind)
    # Another expected prefix cannot stand for the same actual one.
    assert docpage.match_output(["x fd99::/64"], "x fdb2:ef9c:6863::/64",
                                dict(bind))
    for exp, act in [
            ("Routes : 2001:db8:1::/64 via fe80::1",    # fixed address
             "Routes : 2001:db8:1::/64 via fe80::2"),
            ("State : LinkUp", "State : LinkDown"),
            ("a 2001:db8:1::/64", "a 2001:db8:2::/64"),  # not generated
            ("b fd73:935e:820b::1/64", "b fd73:935e:820b::2/64"),
            ("c 2001:db8:1:0:4bd5:c3d1:3f94:95cf",       # SLAAC, not small
             "c 2001:db8:1::5"),
            ("d 203.0.113.2", "d 203.0.113.3")]:
        assert docpage.match_output([exp], act, {}), (exp, act)
    # In order.
    assert docpage.match_output(["b", "a"], "a\nb\n", {})


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    """One server and one client for the cases below (each runs its own
    small page on them)."""
    if not netns.is_root():
        pytest.skip("needs root (network namespaces)")
    s = docpage.Session(tmp_path_factory.mktemp("drift"),
                        {"server": "srv", "client": "cli"})
    yield s
    assert not s.close()


def _run(s, tmp_path, text):
    p = tmp_path / "drift.md"
    p.write_text(textwrap.dedent(text))
    r = docpage.Run(docpage.Page(str(p)), s.emu, output_timeout=3)
    s.runs.append(r)
    r.run()
    return r


def test_private_etc_var_lib_run_and_home_per_machine(machines, tmp_path):
    r = _run(machines, tmp_path, """\
        | host | addresses |
        | --- | --- |
        | `server` | 203.0.113.2, 2001:db8:1::1 |
        | `client` | 198.51.100.2 |
        ```sh
        # on server
        echo '192.0.2.9 only.server' >> /etc/hosts
        mkdir -p /var/lib/iphttps /run/iphttps
        echo s > /var/lib/iphttps/mine
        echo here > file
        hostname; pwd; getent hosts only.server
        ```
        ```text output
        server
        /root
        192.0.2.9 only.server
        ```
        <!-- test: copy server:file client:. -->
        ```sh
        # on client
        ! grep -q only.server /etc/hosts
        test ! -e /var/lib/iphttps/mine && test ! -e /run/iphttps
        cat file; hostname; command -v iphttps
        ```
        ```text output
        here
        client
        .../bin/iphttps
        ```
        """)
    assert not os.path.exists("/var/lib/iphttps/mine")
    assert "only.server" not in open("/etc/hosts").read()
    assert len(r.log) == 3


def test_a_command_shown_failing(machines, tmp_path):
    r = _run(machines, tmp_path, """\
        ```sh
        # on client, exits 3
        echo it failed; exit 3
        ```
        ```text output
        it failed
        ```
        """)
    assert r.outputs[r.page.run_blocks()[0]] == ["it failed\n"]


@pytest.mark.parametrize("text, why", [
    ("```sh\n# on server\nfalse\n```\n", "exit status 1"),
    ("```sh\n# on server\necho LinkDown\n```\n```text output\nLinkUp\n```\n",
     "expected line not found"),
    ("```sh\n# on server, keeps running\nsleep 0.2; exit 3\n```\n"
     "```sh\n# on client\nsleep 1\n```\n", "exited"),
    ("```sh\n# on router\ntrue\n```\n", "does not emulate"),
    ("```sh\n# on server, exits 1\ntrue\n```\n", r"exit status 0 \(the page says 1\)"),
    ("| host | addresses |\n| - | - |\n| server | 192.0.2.77 |\n", "192.0.2.77"),
])
def test_a_page_that_drifted_fails(machines, tmp_path, text, why):
    with pytest.raises(docpage.PageError, match=why) as e:
        _run(machines, tmp_path, text)
    assert "drift.md" in str(e.value)
