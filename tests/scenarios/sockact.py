"""What systemd does for a socket-activated service, for the tests: hold a
listening TCP socket and pass it to the program as fd 3 (LISTEN_FDS=1,
LISTEN_PID), and keep it while the program restarts (SIGUSR1: SIGTERM the
program, wait, start it again after --pause seconds).

    sockact.py [--pause S] PORT -- PROGRAM ARGS...
"""
import os
import signal
import socket
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    pause = 0.0
    if args[0] == "--pause":
        pause = float(args[1])
        args = args[2:]
    port, cmd = int(args[0]), args[args.index("--") + 1:]
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(4096)
    os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)
    # LISTEN_PID is the program's own pid: the shell that execs it has it.
    argv = ["sh", "-c", 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$@"', "sh"] + cmd
    state = {"proc": subprocess.Popen(argv, pass_fds=(3,)), "restart": False}

    def on_usr1(*_):
        state["restart"] = True

    def on_term(*_):
        state["proc"].terminate()
        state["proc"].wait(10)
        sys.exit(0)

    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, on_term)
    while True:
        time.sleep(0.05)
        if state["restart"]:
            state["restart"] = False
            state["proc"].terminate()
            state["proc"].wait(10)
            print("sockact: stopped; restarting in %.1f s" % pause, file=sys.stderr, flush=True)
            time.sleep(pause)
            state["proc"] = subprocess.Popen(argv, pass_fds=(3,))
        elif state["proc"].poll() is not None:
            sys.exit(state["proc"].returncode)


if __name__ == "__main__":
    main()
