"""What Windows sends and does, for the tests that replay it (issue 10).

Every list here comes from evidence named next to it (see docs/windows.md
and ../shared/WINDOWS-EVIDENCE.md); Windows itself cannot run here.
Standard library only.
"""

import re

import netns

# Schannel's TLS 1.2 cipher-suite order on Windows 10 and Server 2019, in
# OpenSSL's names, up to 3DES (Microsoft, "TLS Cipher Suites in Windows 10
# v22H2"; rgl/tls-dump-clienthello,
# example-clients-output-windows-server-2019-1809.md).  This is the
# ClientHello of a Windows client's attempt with its default suites, the one
# it makes after its null-cipher first attempt was reset
# (iphlpsvc.dll WebSendRequestCompletion).
SCHANNEL_TLS12 = ":".join([
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-SHA",
    "AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES256-SHA256", "AES128-SHA256",
    "AES256-SHA", "AES128-SHA", "DES-CBC3-SHA"]) + ":@SECLEVEL=0"
# Windows 11 and Server 2022 add TLS 1.3 in front of the same TLS 1.2 list
# (rgl/tls-dump-clienthello, example-clients-output-windows-server-2022-21h2.md).
SCHANNEL_TLS13 = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
# The null-cipher configuration of a Windows 8/10/11 client's first attempt
# (iphlpsvc.dll IpTlsStartClient sets it, IpTlsRestartClient applies it):
# TLS_RSA_WITH_NULL_SHA256 and TLS_RSA_WITH_NULL_SHA.  Which other suites it
# carries is not in the evidence; an ADC without the null suites fails it
# right after the ClientHello (R. Hicks, 0x80090326, seed 000), so it offers
# nothing a server without them accepts: null suites alone.
NULL_FIRST_ATTEMPT = "NULL-SHA256:NULL-SHA:@SECLEVEL=0"
# Windows 7's Schannel speaks TLS 1.0 unless TLS 1.1/1.2 were enabled by
# hand; its TLS 1.0 suites (Microsoft, "Cipher Suites in TLS/SSL (Schannel
# SSP)", Windows 7 list, without the TLS 1.2-only ones).
WIN7_TLS10 = ":".join([
    "AES128-SHA", "AES256-SHA", "RC4-SHA", "DES-CBC3-SHA",
    "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
    "DHE-DSS-AES128-SHA", "DHE-DSS-AES256-SHA", "EDH-DSS-DES-CBC3-SHA"]) + ":@SECLEVEL=0"

POST = ("POST /IPHTTPS HTTP/1.1\r\nHost: %s\r\nContent-Length: 18446744073709551615\r\n\r\n"
        % netns.SERVER_NAME)


class Hello:
    """The outcome of one `openssl s_client` handshake."""

    def __init__(self, out):
        self.out = out
        self.protocol = self.cipher = None
        m = re.search(r"New, (TLSv1(?:\.\d)?|SSLv3), Cipher is (\S+)", out)
        if m and m.group(2) not in ("(NONE)", "0000"):
            self.protocol, self.cipher = m.group(1), m.group(2)
        self.reset = "Connection reset by peer" in out or "errno=104" in out
        self.alert = re.search(r"alert ([a-z ]+)", out)
        self.got_200 = "HTTP/1.1 200 OK\r\n" in out or "HTTP/1.1 200 OK\n" in out

    def __repr__(self):
        return "protocol %s cipher %s reset %s\n%s" % (self.protocol, self.cipher, self.reset,
                                                      self.out[-2500:])


def s_client(topo, ciphers, *extra, version="-tls1_2", ciphersuites=None, host="cli",
             hold=1.0):
    """One handshake from host to the server with `openssl s_client`,
    offering `ciphers` (TLS 1.2 and lower) and `ciphersuites` (TLS 1.3),
    then the IP-HTTPS POST, waiting `hold` seconds for the answer; returns
    a Hello."""
    argv = ["openssl", "s_client", "-connect", netns.SERVER_V4 + ":443",
            "-servername", netns.SERVER_NAME, "-cipher", ciphers]
    if version:
        argv.append(version)
    if ciphersuites is not None:
        argv += ["-ciphersuites", ciphersuites]
    argv += list(extra)
    # stdin stays open `hold` seconds after the POST, then s_client ends.
    sh = "{ printf '%%s' \"$1\"; sleep %s; } | timeout 10 \"$@\"" % hold
    sh = sh.replace('"$@"', '"${@:2}"')
    p = topo.run(host, ["bash", "-c", sh, "s_client", POST] + argv, check=False, timeout=30)
    return Hello(p.stdout + p.stderr)
