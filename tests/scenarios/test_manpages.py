"""Man pages and docs (issue 12 item 10): every option each subcommand's
--help lists is in that subcommand's section of iphttps(1) (the options of
server and client are also the keys of iphttps.conf(5)); the pages render
without a warning from man; and no page points at a file the project does
not ship."""
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MAN1 = os.path.join(REPO, "man", "iphttps.1")


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def sections(roff):
    """Subsection title -> its text, from the .SS lines of a roff page."""
    out, title = {}, None
    for line in roff.splitlines():
        if line.startswith((".SS", ".SH")):
            title = line.split(None, 1)[1].strip('"') if line.startswith(".SS") else None
            if title:
                out[title] = ""
            continue
        if title:
            out[title] += line + "\n"
    return out


def subcommands(binary):
    out = run([binary, "--help"]).stdout
    return re.findall(r"^  iphttps ([a-z-]+)", out, re.M)


def test_every_help_option_in_its_man_section(iphttps_bin):
    with open(MAN1) as f:
        secs = sections(f.read())
    missing = []
    subs = [s for s in subcommands(iphttps_bin) if s not in ("--version",)]
    assert "disconnect" in subs and "renew-server-cert" in subs, subs
    for sub in subs:
        sec = [t for t in secs if sub in [w.strip() for w in t.split(",")]]
        assert len(sec) == 1, (sub, list(secs))
        text = secs[sec[0]].replace("\\-", "-")
        for opt in sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)",
                                         run([iphttps_bin, sub, "--help"]).stdout))):
            if opt != "--help" and not re.search(re.escape(opt) + r"(?![a-z0-9-])", text):
                missing.append("%s %s" % (sub, opt))
    assert not missing, "in --help but not in its section of man/iphttps.1: %s" % missing


def test_pages_render_without_warnings():
    for page in ("iphttps.1", "iphttps.conf.5"):
        p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z",
                            os.path.join(REPO, "man", page)], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80",
                                                MANROFFSEQ=""))
        assert p.returncode == 0 and not p.stderr.strip(), (page, p.stderr)


# A path in a page: one of the project's directories, a ../ path, or an
# all-capitals NAME.md.
PATH_RE = re.compile(r"(?<![\w./-])((?:\.\./|(?:docs|man|contrib|scripts|debian|tests|src|"
                     r"fuzz|bench)/)[\w./@-]*[\w/]|[A-Z][A-Z_-]+\.md)")


def test_no_reference_to_files_not_shipped():
    pages = [os.path.join(REPO, "README.md")] + \
        [os.path.join(d, f) for d in (os.path.join(REPO, "docs"), os.path.join(REPO, "man"))
         for f in sorted(os.listdir(d)) if f.endswith((".md", ".1", ".5"))]
    bad = []
    for page in pages:
        with open(page) as f:
            text = f.read().replace("\\-", "-")
        for m in PATH_RE.finditer(text):
            ref = m.group(1).rstrip("/.")
            word = re.match(r"[^\s`'\",)]*", text[m.start():]).group(0)
            if "NAME" in ref or "*" in word or "{" in word:
                continue     # a pattern, not a file (clients/NAME.pem, test_*.c)
            if ref.startswith("../") or not any(
                    os.path.exists(os.path.join(root, ref))
                    for root in (REPO, os.path.join(REPO, "docs"))):
                bad.append("%s: %s" % (os.path.relpath(page, REPO), ref))
    assert not bad, bad
