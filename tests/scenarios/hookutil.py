"""Scripts for the hook tests: write one, read what it recorded."""
import os


def script(d, name, body):
    """An executable /bin/sh script d/name running body; returns its path."""
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def env_file(path):
    """KEY=VALUE lines (as `env` prints them) as a dict."""
    with open(path) as f:
        return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
