#!/usr/bin/python3
"""A TCP relay that delays every byte by a fixed time in both directions: a
far site for tests, since this kernel has no netem (CONFIG_NET_SCH_NETEM is
not set).  Standard library only; runs until killed.

  delay_relay.py --listen ADDR:PORT --to ADDR:PORT --delay-ms N
"""
import argparse
import asyncio


def split(hp):
    h, p = hp.rsplit(":", 1)
    return h.strip("[]"), int(p)


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            loop.call_later(delay, writer.write, data)
    except (ConnectionError, OSError):
        pass
    loop.call_later(delay, lambda: writer.can_write_eof() and not writer.is_closing() and writer.write_eof())


async def handle(cr, cw, to, delay):
    await asyncio.sleep(delay)  # the SYN's way out
    try:
        sr, sw = await asyncio.open_connection(*to)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, sw, delay), pipe(sr, cw, delay))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--delay-ms", type=float, required=True)
    a = p.parse_args()
    delay = a.delay_ms / 1000.0
    to = split(a.to)
    host, port = split(a.listen)
    srv = await asyncio.start_server(lambda r, w: handle(r, w, to, delay), host, port)
    print("listening", flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
