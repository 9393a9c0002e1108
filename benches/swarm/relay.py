#!/usr/bin/env python3
"""A TCP relay that adds a fixed one-way delay in each direction.

This kernel has no netem, so the bench runs one of these per seeder in the
client's namespace: the client connects to `--listen`, the relay connects
across the bridge to the seeder at `--to`, and every chunk is held until
`--delay-ms` after it was read before it is written on (so the round trip
gains twice that). What it buffers is bounded (`QUEUE_CHUNKS` chunks per
direction); beyond that it stops reading, so the seeder feels the
back-pressure.

With `--source-ips`, each connection to the seeder comes from the next
address of that list (see README: transmission keys peers by IP).

Byte counts per direction, counted as read (`down`: read from the seeder,
`up`: read from the client), are rewritten to `--stats` (JSON) twice a
second; the bench reads them to see who sent what.
Standard library only; runs until SIGTERM.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import time

CHUNK = 16 * 1024
QUEUE_CHUNKS = 16
COUNTS = {"down": 0, "up": 0, "connections": 0}


async def pump(reader, writer, delay, key):
    """Copy reader → writer, each chunk written `delay` s after it was read."""
    queue = asyncio.Queue(QUEUE_CHUNKS)

    async def read_side():
        try:
            while True:
                data = await reader.read(CHUNK)
                COUNTS[key] += len(data)
                await queue.put((time.monotonic() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((0, b""))

    async def write_side():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    task = asyncio.ensure_future(read_side())
    try:
        await write_side()
    finally:
        task.cancel()


def source_for(n, pool):
    """The local address for connection n: round robin over `pool`."""
    return (pool[n % len(pool)], 0) if pool else None


async def handle(client_r, client_w, target, delay, pool):
    COUNTS["connections"] += 1
    local = source_for(COUNTS["connections"] - 1, pool)
    try:
        seed_r, seed_w = await asyncio.wait_for(
            asyncio.open_connection(*target, local_addr=local), 10)
    except (OSError, asyncio.TimeoutError):
        client_w.close()
        return
    for w in (client_w, seed_w):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await asyncio.gather(pump(client_r, seed_w, delay, "up"),
                             pump(seed_r, client_w, delay, "down"))
    except (ConnectionError, OSError):
        pass
    finally:
        for w in (client_w, seed_w):
            w.close()


def dump(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(COUNTS, f)
    os.replace(tmp, path)


async def write_stats(path):
    last = None
    while True:
        if COUNTS != last:
            dump(path)
            last = dict(COUNTS)
        await asyncio.sleep(0.5)


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=addr, required=True)
    ap.add_argument("--to", type=addr, required=True)
    ap.add_argument("--delay-ms", type=float, default=15)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--source-ips", default="",
                    help="comma list: each connection to the seeder from the next one")
    args = ap.parse_args()
    delay = args.delay_ms / 1000
    pool = [ip for ip in args.source_ips.split(",") if ip]
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.to, delay, pool),
                                        *args.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stats = asyncio.ensure_future(write_stats(args.stats))
    await stop.wait()
    stats.cancel()
    server.close()
    dump(args.stats)
    os._exit(0)  # open connections just drop; no cancelled-task noise


if __name__ == "__main__":
    asyncio.run(main())
