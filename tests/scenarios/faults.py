"""Real components that make the client fail, for test_proxy.py and
test_client_errors.py: a Squid proxy, an nginx web server, openssl
s_server, small TCP listeners that close or reset, certificates made with
the openssl command, and files under /etc/netns/<ns>/.

Standard library only; every process goes through topo.popen() so that the
topology's teardown stops it, and every helper that changes a file or a
namespace gives back a function that undoes it.
"""

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time

import netns

PY = "/usr/bin/python3"
FAST_RECONNECT = ("--reconnect-initial", "1", "--reconnect-max", "2")
SQUID_PORT = 3128
SQUID_ADDR = netns.NET_CLIENT_SIDE      # the router's address on the clients' side
STATUS_FAIL = "Failed to connect to the IPHTTPS server; waiting to reconnect"


def tempdir(tag):
    """A fresh directory under /tmp (short paths: sockets live there)."""
    return tempfile.mkdtemp(prefix="iph-px-%s-" % tag, dir="/tmp")


def sh(cmd, **kw):
    """Run cmd in the root namespace; raise with its output on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode,
                                                    p.stdout, p.stderr))
    return p


# ---- a client aimed at any URL ---------------------------------------------

class Target:
    """What conftest's start_client() needs from a server: the client command
    line (client_argv).  Lets a test aim the client at a URL and trust of
    its own choosing: start_client(Target(bin, url, ca=...), extra_args=...)."""

    def __init__(self, binary, url, ca=None, cert=None, key=None):
        self.url = url
        self.client_argv = [binary, "client"]
        for opt, val in (("--ca", ca), ("--cert", cert), ("--key", key)):
            if val:
                self.client_argv += [opt, val]
        self.client_argv.append(url)


def wait_state(client, pred, what, timeout=20):
    """Poll the client's state until pred(state) holds; returns the state.
    Fails with the last state and the client's log otherwise."""
    last = {}

    def check():
        nonlocal last
        if not client.proc.alive():
            raise AssertionError("client exited:\n" + client.proc.describe())
        last = client.state()
        return last if pred(last) else None
    try:
        return netns.wait_for(check, timeout, 0.2, what)
    except TimeoutError as e:
        raise AssertionError("%s\nlast state: %s\n%s" % (
            e, json.dumps(last, indent=1), client.proc.describe()))


def wait_error(client, code, timeout=20):
    """Wait until the client reports LastErrorCode code (e.g. "0x274d") after
    a failed attempt; returns the state."""
    return wait_state(client, lambda s: s.get("LastErrorCode") == code
                      and s.get("State") != "LinkUp",
                      "LastErrorCode %s" % code, timeout)


# ---- files in /etc/netns/<ns>/ ----------------------------------------------

def etc_netns_file(topo, host, name, text, append=False):
    """Write (or append to) /etc/netns/<ns of host>/<name>, which `ip netns
    exec` mounts over /etc/<name> for processes started afterwards.
    Returns a function that restores what was there before."""
    d = os.path.join("/etc/netns", topo.ns(host))
    path = os.path.join(d, name)
    made_dir = not os.path.isdir(d)
    os.makedirs(d, exist_ok=True)
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    with open(path, "a" if append else "w") as f:
        f.write(text)

    def restore():
        if old is None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            if made_dir:
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        elif os.path.isdir(d):
            with open(path, "w") as f:
                f.write(old)
    return restore


# ---- listeners ----------------------------------------------------------------

def wait_listening(topo, host, port, timeout=15, proc=None):
    """Wait until something listens on TCP port in host's namespace."""
    def up():
        if proc is not None and not proc.alive():
            raise AssertionError("listener exited:\n" + proc.describe())
        out = topo.run(host, ["ss", "-Hltn", "sport = :%d" % port]).stdout
        return "LISTEN" in out
    netns.wait_for(up, timeout, 0.1, "a listener on port %d in %s" % (port, host))


LISTENER = textwrap.dedent("""
    import socket, struct, sys
    addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    for _ in range(1000):
        c, _peer = s.accept()
        c.settimeout(5)
        try:
            if mode == "reset":
                c.recv(1)            # the ClientHello (or CONNECT) arrives
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            elif mode == "close-after-request":
                c.recv(65536)
        except OSError:
            pass
        c.close()
""")


def tcp_listener(topo, host, addr, port, mode, name=None):
    """A TCP listener in host on addr:port that, for every connection:
    "close" accepts and closes at once (FIN), "close-after-request" reads
    what the client sends first and then closes, "reset" reads one byte and
    closes with SO_LINGER 0 (RST).  Returns the Proc once it listens."""
    p = topo.popen(host, [PY, "-c", LISTENER, addr, str(port), mode],
                   name=name or "listener-%s-%d" % (mode, port))
    wait_listening(topo, host, port, proc=p)
    return p


# ---- certificates ---------------------------------------------------------------

class Pki:
    """Certificate authorities and certificates made with the openssl
    command in a temp dir (RSA 2048, so that the RSA key exchange of the
    null suites is possible)."""

    def __init__(self):
        self.dir = tempdir("pki")

    def path(self, name):
        return os.path.join(self.dir, name)

    def ca(self, name, cn):
        """A self-signed CA: returns (cert path, key path)."""
        crt, key = self.path(name + ".pem"), self.path(name + ".key")
        sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        return crt, key

    def _csr(self, name, cn, dns):
        key, csr = self.path(name + ".key"), self.path(name + ".csr")
        sh(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + cn,
            "-addext", "subjectAltName=" + ",".join("DNS:" + d for d in dns),
            "-addext", "extendedKeyUsage=serverAuth,clientAuth"])
        return key, csr

    def leaf(self, name, ca, cn, dns=None):
        """A certificate for cn (and SAN dns names) signed by ca (a pair
        from ca()), valid now: returns (cert path, key path)."""
        key, csr = self._csr(name, cn, dns or [cn])
        crt = self.path(name + ".pem")
        sh(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey",
            ca[1], "-CAcreateserial", "-out", crt, "-days", "30",
            "-copy_extensions", "copy"])
        return crt, key

    def expired_leaf(self, name, ca, cn, start="20200101000000Z",
                     end="20210101000000Z"):
        """A certificate for cn whose validity ended in the past (openssl ca
        with -startdate/-enddate): returns (cert path, key path)."""
        key, csr = self._csr(name, cn, [cn])
        d = self.path("ca-db-" + name)
        os.makedirs(os.path.join(d, "new"))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        cnf = os.path.join(d, "ca.cnf")
        with open(cnf, "w") as f:
            f.write(textwrap.dedent("""
                [ca]
                default_ca = here
                [here]
                database = {d}/index.txt
                new_certs_dir = {d}/new
                serial = {d}/serial
                default_md = sha256
                policy = any
                copy_extensions = copy
                unique_subject = no
                [any]
                commonName = supplied
                """).format(d=d))
        crt = self.path(name + ".pem")
        sh(["openssl", "ca", "-batch", "-notext", "-config", cnf, "-cert",
            ca[0], "-keyfile", ca[1], "-in", csr, "-out", crt,
            "-startdate", start, "-enddate", end])
        return crt, key

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def subject(cert, what="subject"):
    """The certificate's subject (or issuer) in RFC 2253 form, e.g. "CN=x"."""
    out = sh(["openssl", "x509", "-in", cert, "-noout", "-" + what,
              "-nameopt", "RFC2253"]).stdout.strip()
    return out.split("=", 1)[1] if out.startswith(what) else out


# ---- openssl s_server --------------------------------------------------------

def s_server(topo, host, port, cert, key, *extra, name=None):
    """`openssl s_server` in host on port with cert/key and extra options
    (answers HTTP with -www); returns the Proc once it listens."""
    p = topo.popen(host, ["openssl", "s_server", "-accept", str(port),
                          "-cert", cert, "-key", key, "-www"] + list(extra),
                   name=name or "s_server-%d" % port)
    wait_listening(topo, host, port, proc=p)
    return p


# ---- nginx ------------------------------------------------------------------------

class Nginx:
    """An nginx with its own configuration in a temp dir: HTTPS on
    addr:port with cert/key, every request answered `return_status`.
    map_400: also answer requests nginx itself rejects as bad (such as the
    IP-HTTPS POST, whose Content-Length is beyond nginx's limit) with
    `return_status`, as sites that show one error page for everything do."""

    def __init__(self, topo, host, addr, port, cert, key, return_status=404, map_400=False):
        self.dir = tempdir("nginx")
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(textwrap.dedent("""
                worker_processes 1;
                pid {d}/nginx.pid;
                error_log {d}/error.log;
                events {{ worker_connections 64; }}
                http {{
                    access_log {d}/access.log;
                    client_body_temp_path {d}/body;
                    proxy_temp_path {d}/proxy;
                    fastcgi_temp_path {d}/fastcgi;
                    uwsgi_temp_path {d}/uwsgi;
                    scgi_temp_path {d}/scgi;
                    server {{
                        listen {addr}:{port} ssl;
                        ssl_certificate {cert};
                        ssl_certificate_key {key};
                        {ep}
                        location / {{ return {st}; }}
                        location = /error.html {{ internal; return {st}; }}
                    }}
                }}
                """).format(d=self.dir, addr=addr, port=port, cert=cert,
                            key=key, st=return_status,
                            ep="error_page 400 =%s /error.html;" % str(return_status).split()[0]
                            if map_400 else ""))
        os.chmod(self.dir, 0o755)
        self.proc = topo.popen(host, ["nginx", "-e", os.path.join(self.dir, "error.log"),
                                      "-p", self.dir, "-c", conf,
                                      "-g", "daemon off;"], name="nginx")
        wait_listening(topo, host, port, proc=self.proc)

    def access_log(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- Squid ------------------------------------------------------------------------

class Squid:
    """A real Squid in host (default: the router `net`) on addr:port, with
    its own configuration, logs and pid file in a temp dir, no cache.

    auth: None, "basic" (basic_ncsa_auth, an apr1 password file) or "digest"
    (digest_file_auth, a plain-text password file); users: {name: password}.
    deny_connect_to: a domain to which CONNECT is refused (403).
    """

    def __init__(self, topo, host="net", addr=SQUID_ADDR, port=SQUID_PORT,
                 auth=None, users=None, deny_connect_to=None):
        self.topo, self.host, self.addr, self.port = topo, host, addr, port
        self.dir = tempdir("squid")
        d = self.dir
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("%s %s\n" % (netns.SERVER_V4, netns.SERVER_NAME))
        lines = [
            "http_port %s:%d" % (addr, port),
            "pid_filename %s/squid.pid" % d,
            "access_log stdio:%s/access.log" % d,
            "cache_log %s/cache.log" % d,
            "cache_store_log none",
            "cache deny all",
            "coredump_dir %s" % d,
            "hosts_file %s/hosts" % d,
            "dns_nameservers 127.0.0.1",
            "shutdown_lifetime 1 seconds",
            "connect_timeout 5 seconds",
            "acl SSL_ports port 443",
            "acl CONNECT method CONNECT",
            "http_access deny CONNECT !SSL_ports",
        ]
        if deny_connect_to:
            lines += ["acl denied_dst dstdomain %s" % deny_connect_to,
                      "http_access deny CONNECT denied_dst"]
        if auth == "basic":
            pw = os.path.join(d, "basic.passwd")
            with open(pw, "w") as f:
                for u, p in (users or {}).items():
                    h = sh(["openssl", "passwd", "-apr1", p]).stdout.strip()
                    f.write("%s:%s\n" % (u, h))
            lines += ["auth_param basic program /usr/lib/squid/basic_ncsa_auth %s" % pw,
                      "auth_param basic realm iphttps test proxy",
                      "auth_param basic children 2 startup=1 idle=1"]
        elif auth == "digest":
            pw = os.path.join(d, "digest.passwd")
            with open(pw, "w") as f:
                for u, p in (users or {}).items():
                    f.write("%s:%s\n" % (u, p))
            lines += ["auth_param digest program /usr/lib/squid/digest_file_auth %s" % pw,
                      "auth_param digest realm iphttps-digest",
                      "auth_param digest children 2 startup=1 idle=1"]
        if auth:
            lines += ["acl authed proxy_auth REQUIRED",
                      "http_access allow authed",
                      "http_access deny all"]
        else:
            lines.append("http_access allow all")
        self.conf = os.path.join(d, "squid.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        # Squid drops to the proxy user: it and its helpers need the files.
        sh(["chown", "-R", "proxy:proxy", d])
        self.proc = topo.popen(host, ["squid", "-N", "-f", self.conf], name="squid")
        try:
            wait_listening(topo, host, port, timeout=20, proc=self.proc)
        except Exception:
            raise AssertionError("squid did not start:\n%s\ncache.log:\n%s" % (
                self.proc.describe(), self.cache_log()))

    @property
    def url(self):
        return "http://%s:%d" % (self.addr, self.port)

    def url_with(self, user, password):
        return "http://%s:%s@%s:%d" % (user, password, self.addr, self.port)

    def _read(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def access_log(self):
        """Squid's access.log (it is written when a request ends)."""
        return self._read("access.log")

    def cache_log(self):
        return self._read("cache.log")

    def stop(self):
        self.proc.stop(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- paths that drop --------------------------------------------------------------

def blackhole(topo, host, dest):
    """Make host silently discard what it sends to dest (a blackhole route:
    no ICMP, no RST), so that a peer's SYNs never get an answer.  Returns
    a function that removes the route.  (Neither nft nor iptables is
    installed here; iproute2 is.)"""
    topo.run(host, ["ip", "route", "add", "blackhole", dest + "/32"])

    def undo():
        topo.run(host, ["ip", "route", "del", "blackhole", dest + "/32"], check=False)
    return undo


def wait_log(read, needle, timeout=10):
    """Wait until needle appears in read() (a log that lags a little)."""
    return netns.wait_for(lambda: needle in read(), timeout, 0.2,
                          "%r in the log" % needle)


def elapsed(t0):
    return time.monotonic() - t0
