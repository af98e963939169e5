#!/usr/bin/python3
"""Flame graphs of the tunnel's daemons from one `perf record`.

    bench/flame.py KEY.data OUTDIR [--pids KEY.pids] [--pings N] [--top N]

Reads `perf script` of KEY.data (recorded by bench/bench.sh with
BENCH_PERF=DIR during the RTT ping), folds each sample's stack (root to
leaf, one line a stack with its count, the format flame graph tools
read) per process, names each process by its namespace and command
(server iphttps, client iphttps, server ocserv-worker, client
openconnect; from KEY.pids), and writes per process:

    OUTDIR/KEY-ROLE.folded   the folded stacks (--folded-top: the N largest)
    OUTDIR/KEY-ROLE.svg      a flame graph (width: samples; hover: name,
                             samples, share)

and prints, per process, the samples, their split between user space and
the kernel, the CPU per ping when --pings is given (samples times the
sampling period), and the functions with the most samples of their own.
Written for this project; the SVG is drawn here, not by another tool.
"""
import argparse
import collections
import html
import os
import re
import subprocess
import sys

HEAD = re.compile(r"^(\S.*?)\s+(\d+)(?:/\d+)?\s+(?:\[\d+\]\s+)?[\d.]+:\s+(\d+)\s+(\S+):")
FRAME = re.compile(r"^\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)$")


def read_pids(path):
    """pid -> role ('server iphttps') from KEY.pids (pid, S|C, comm)."""
    roles = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split(None, 2)
                if len(parts) == 3:
                    side = {"S": "server", "C": "client"}.get(parts[1], parts[1])
                    roles[int(parts[0])] = "%s %s" % (side, parts[2].strip())
    return roles


def clean(sym, dso):
    """A frame's name: the symbol without its offset, else the library;
    the kernel's marked _[k] (the flame graph convention)."""
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    if sym in ("[unknown]", ""):
        return "[%s]" % os.path.basename(dso) if dso not in ("[unknown]", "") else "[unknown]"
    return sym + "_[k]" if "kernel" in dso else sym


def samples(data):
    """(pid, period, frames leaf first, kernel leaf) for each sample."""
    p = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,time,period,event,ip,sym,dso"],
                       capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        sys.exit("flame.py: perf script: " + p.stderr.strip()[-500:])
    pid = period = None
    frames = []
    kernel = False
    for line in p.stdout.splitlines() + [""]:
        if not line.strip():
            if pid is not None:
                yield pid, period, frames, kernel
            pid, frames = None, []
            continue
        m = HEAD.match(line)
        if m and not line.startswith((" ", "\t")):
            pid, period = int(m.group(2)), int(m.group(3))
            frames, kernel = [], False
            continue
        m = FRAME.match(line)
        if m and pid is not None:
            if not frames:
                kernel = "kernel" in m.group(3)
            frames.append(clean(m.group(2), m.group(3)))


def svg(folded, title):
    """A flame graph of folded ({stack tuple: count}) as SVG text."""
    total = sum(folded.values()) or 1
    tree = {}
    for stack, n in folded.items():
        node = tree
        for fr in stack:
            node = node.setdefault(fr, [0, {}])
            node[0] += n
            node = node[1]
    W, H, top = 1200, 16, 36
    depth = max((len(s) for s in folded), default=1)
    height = top + (depth + 1) * H + 10
    out = ['<?xml version="1.0" standalone="no"?>',
           '<svg version="1.1" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg" '
           'font-family="Verdana" font-size="11">' % (W, height),
           '<rect x="0" y="0" width="%d" height="%d" fill="#f8f8f0"/>' % (W, height),
           '<text x="%d" y="20" text-anchor="middle" font-size="15">%s (%d samples)</text>'
           % (W // 2, html.escape(title), total)]

    def color(name):
        h = sum(map(ord, name)) % 60
        if name.endswith("_[k]"):
            return "rgb(%d,%d,%d)" % (200 + h % 50, 120 + h, 60)
        return "rgb(%d,%d,%d)" % (230, 90 + 2 * h, 40 + h // 2)

    def draw(node, x, level):
        for name, (n, kids) in sorted(node.items()):
            w = (W - 20) * n / total
            y = height - 10 - (level + 1) * H
            if w >= 0.3:
                label = name if len(name) * 7 < w else (name[:int(w / 7) - 2] + ".." if w > 21 else "")
                out.append('<g><title>%s (%d samples, %.1f%%)</title>'
                           '<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" rx="2"/>'
                           '<text x="%.1f" y="%d">%s</text></g>'
                           % (html.escape(name), n, 100.0 * n / total, 10 + x, y, w, H - 1,
                              color(name), 12 + x, y + H - 4, html.escape(label)))
            draw(kids, x, level + 1)
            x += w
    draw(tree, 0.0, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("outdir")
    ap.add_argument("--pids", help="KEY.pids (default: beside the data)")
    ap.add_argument("--pings", type=int, help="pings in the recording: CPU per ping")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--folded-top", type=int, help="write only the N stacks with the most samples")
    a = ap.parse_args()
    key = os.path.basename(a.data).rsplit(".", 1)[0]
    roles = read_pids(a.pids or os.path.splitext(a.data)[0] + ".pids")
    folded = collections.defaultdict(collections.Counter)
    self_ = collections.defaultdict(collections.Counter)
    kern = collections.Counter()
    period = {}
    for pid, per, frames, kernel in samples(a.data):
        role = roles.get(pid, "pid %d" % pid)
        stack = tuple(reversed(frames)) or ("[no stack]",)
        folded[role][(role,) + stack] += 1
        self_[role][frames[0] if frames else "[no stack]"] += 1
        kern[role] += kernel
        period[role] = per
    os.makedirs(a.outdir, exist_ok=True)
    for role in sorted(folded, key=lambda r: -sum(folded[r].values())):
        n = sum(folded[role].values())
        name = "%s-%s" % (key, role.replace(" ", "-"))
        with open(os.path.join(a.outdir, name + ".folded"), "w") as f:
            for stack, c in sorted(folded[role].items(), key=lambda x: -x[1])[:a.folded_top]:
                f.write("%s %d\n" % (";".join(stack), c))
        with open(os.path.join(a.outdir, name + ".svg"), "w") as f:
            f.write(svg(folded[role], "%s: %s" % (key, role)))
        cpu = ""
        if a.pings:
            cpu = ", %.0f us of CPU a ping" % (n * period[role] / 1000.0 / a.pings)
        print("%s: %d samples, %.0f%% in the kernel%s  -> %s.svg"
              % (role, n, 100.0 * kern[role] / n, cpu, name))
        for sym, c in self_[role].most_common(a.top):
            print("  %5.1f%%  %s" % (100.0 * c / n, sym))


if __name__ == "__main__":
    main()
