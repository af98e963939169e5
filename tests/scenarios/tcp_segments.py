#!/usr/bin/python3
"""Send crafted TCP segments of one flow over IPv6 with a raw socket
(standard library only): what the write-side coalescer (net/gro.c) sees
coming from a client.

  tcp_segments.py --src ADDR --dst ADDR --dport P --count N --payload B
                  [--bad EVERY]     every EVERY-th segment with a wrong checksum

The segments follow each other in sequence (flags ACK), all the same size,
sent back to back; prints {"sent": N, "bad": K}.
"""
import argparse
import json
import socket
import struct


def checksum(src, dst, seg):
    data = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    data += struct.pack("!IxxxB", len(seg), socket.IPPROTO_TCP) + seg
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--payload", type=int, default=1200)
    ap.add_argument("--bad", type=int, default=0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((a.src, 0))
    seq, bad = 1000, 0
    for i in range(a.count):
        payload = bytes((seq + k) & 0xff for k in range(a.payload))
        hdr = struct.pack("!HHIIBBHHH", 40123, a.dport, seq, 1, 5 << 4, 0x10, 512, 0, 0)
        c = checksum(a.src, a.dst, hdr + payload)
        if a.bad and i % a.bad == a.bad - 1:
            c ^= 0x0101
            bad += 1
        seg = hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload
        s.sendto(seg, (a.dst, 0))
        seq += a.payload
    print(json.dumps({"sent": a.count, "bad": bad}))


if __name__ == "__main__":
    main()
