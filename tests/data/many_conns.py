#!/usr/bin/python3
"""Write a synthetic capture: N one-packet TLS connections to port 443 (a
ClientHello record whose handshake header claims 65,535 bytes, cut short),
from N different client ports and addresses, 1 ms apart, raw IPv4
(LINKTYPE_RAW).  200,000 connections make a file of about 19 MB.
    many_conns.py FILE [N]"""
import struct
import sys


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    path, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    tls = bytes([0x16, 0x03, 0x01, 0x40, 0x00,          # record: 16 KiB claimed
                 0x01, 0x00, 0xff, 0xff,                 # ClientHello: 65535 claimed
                 0x03, 0x03]) + bytes(32)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        for i in range(n):
            src = bytes([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff])
            dst = bytes([192, 0, 2, 1])
            sport = 1024 + i % 60000
            tcp = struct.pack("!HHIIBBHHH", sport, 443, 1000 + i, 0, 5 << 4, 0x18,
                              65535, 0, 0) + tls
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0,
                             64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            pkt = ip + tcp
            t = 1700000000 * 1000 + i        # 1 ms apart
            f.write(struct.pack("<IIII", t // 1000, (t % 1000) * 1000, len(pkt), len(pkt)))
            f.write(pkt)


if __name__ == "__main__":
    main()
