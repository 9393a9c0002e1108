#!/usr/bin/env python3
"""OpenSubtitles' movie hash, written from its published description and
independent of swarmcast's Rust code: the file size plus the sums of the
first and last 64 KiB read as little-endian unsigned 64-bit words, modulo
2^64, as 16 hex digits.

  moviehash.py FILE                 -> prints the hash of FILE
  moviehash.py --generate N SEED F  -> writes N pseudo-random bytes to F
                                       (xorshift64 from SEED) and prints
                                       their hash
"""
import struct
import sys

CHUNK = 65536


def moviehash(path):
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        if size < CHUNK:
            raise SystemExit(f"{path}: {size} bytes, shorter than 64 KiB")
        total = size
        for offset in (0, size - CHUNK):
            f.seek(offset)
            for (word,) in struct.iter_unpack("<Q", f.read(CHUNK)):
                total = (total + word) & 0xFFFFFFFFFFFFFFFF
    return f"{total:016x}"


def generate(n, seed, path):
    x = seed | 1
    out = bytearray()
    mask = 0xFFFFFFFFFFFFFFFF
    while len(out) < n:
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out += struct.pack("<Q", x)
    with open(path, "wb") as f:
        f.write(out[:n])


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--generate":
        n, seed, path = int(args[1]), int(args[2]), args[3]
        generate(n, seed, path)
        print(moviehash(path))
    else:
        print(moviehash(args[0]))
