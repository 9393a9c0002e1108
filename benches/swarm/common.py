"""Shared plumbing: started processes (ended by PID), HTTP, port waits,
the .torrent's info hash, and a BitTorrent handshake probe that proves a
peer really seeds every piece. Standard library only."""
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request


class Procs:
    """Every process the bench starts; `stop_all` ends them by PID only."""

    def __init__(self):
        self.procs = []

    def start(self, args, log, **kw):
        out = open(log, "ab")
        try:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, **kw)
        finally:
            out.close()
        self.procs.append(p)
        return p

    def popen(self, args, **kw):
        """A process whose output the caller reads itself."""
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, grace=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            try:
                self.stop(p)
            except Exception as e:  # keep ending the others
                print(f"could not stop pid {p.pid}: {e}")


def http(method, url, body=None, headers=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        text = e.read()[:500].decode("utf-8", "replace")
        raise RuntimeError(f"{method} {url.split('?')[0]}: HTTP {e.code}: {text}") from None


def http_json(method, url, body=None, headers=None, timeout=60):
    return json.loads(http(method, url, body, headers, timeout)[1])


def wait_port(host, port, secs=30, proc=None):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}) before listening")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {secs} s")


def wait_until(what, check, secs, step=0.2):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(step)
    raise RuntimeError(f"{what}: not within {secs} s")


def _bdecode(data, i):
    """(value, end) of the bencoded value at i; dict keys as bytes."""
    c = data[i:i + 1]
    if c == b"i":
        j = data.index(b"e", i)
        return int(data[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1
        items = []
        while data[i:i + 1] != b"e":
            v, i = _bdecode(data, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2])), i + 1
    j = data.index(b":", i)
    n = int(data[i:j])
    return data[j + 1:j + 1 + n], j + 1 + n


def torrent_info(path):
    """(info hash hex, piece length, piece count) of a single-file .torrent."""
    data = open(path, "rb").read()
    start = data.index(b"4:infod") + 6
    info, end = _bdecode(data, start)
    return (hashlib.sha1(data[start:end]).hexdigest(), info[b"piece length"],
            len(info[b"pieces"]) // 20)


def bt_probe(host, port, info_hash, n_pieces, secs=5):
    """Handshake with a peer and read its bitfield/haves; True when it has
    every piece (i.e. it seeds). Raises on no handshake."""
    s = socket.create_connection((host, port), timeout=secs)
    try:
        s.settimeout(secs)
        peer_id = b"-SW0001-" + os.urandom(6).hex().encode()[:12]
        s.sendall(b"\x13BitTorrent protocol" + bytes(8) + bytes.fromhex(info_hash) + peer_id)
        hs = _recv(s, 68)
        if hs[28:48] != bytes.fromhex(info_hash):
            raise RuntimeError("handshake for another torrent")
        have = set()
        end = time.monotonic() + secs
        while time.monotonic() < end and len(have) < n_pieces:
            try:
                size = struct.unpack(">I", _recv(s, 4))[0]
                msg = _recv(s, size) if size else b""
            except TimeoutError:
                break
            if msg[:1] == b"\x05":  # bitfield
                bits = int.from_bytes(msg[1:], "big")
                total = (len(msg) - 1) * 8
                have |= {i for i in range(n_pieces) if bits >> (total - 1 - i) & 1}
            elif msg[:1] == b"\x04":  # have
                have.add(struct.unpack(">I", msg[1:5])[0])
        return len(have) == n_pieces
    finally:
        s.close()


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        got = s.recv(n - len(buf))
        if not got:
            raise ConnectionError("peer closed")
        buf += got
    return buf
