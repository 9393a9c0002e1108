"""The paced reader: a player that behaves like a TV, over plain HTTP Range.

It reads the head, then the index (MP4: the moov, found by walking the
top-level boxes; MKV: the Cues through the SeekHead), then streams the
media from its start in a new Range request. It starts "playing" once 2 s
of media (2 s × the file's byte rate) are buffered and then consumes at
that rate; an empty buffer is a stall, which ends once 1 s is buffered
again. It holds at most `max_buffer` bytes ahead (then stops reading, as a
TV does). The script: play 30 s, seek forward to 60 %, play 10 s, seek back
to 20 %, play 10 s, seek to 95 % and play to the end. Each seek closes the
connection and opens a new Range request from that offset.

Recorded, against the time of the add request (`t0`): start-up, each stall
(start, length), seek-to-resume per seek (seek → 1 s buffered again).
The playhead is computed from the clock between reads, so a stall that
begins while a read blocks is timed where the buffer really ran dry.
"""
import select
import socket
import time
import urllib.parse

import containers

START_S, RESUME_S = 2.0, 1.0
SCRIPT = [("start", 0.0, 30.0), ("seek", 0.60, 10.0), ("seek", 0.20, 10.0),
          ("seek", 0.95, None)]  # (kind, position as a fraction, seconds to play)


class RangeStream:
    """GET url with Range: bytes=off-[end]; `recv(timeout)` → bytes, b"" at
    the end of the body, None when nothing came within timeout."""

    def __init__(self, url, off, end=None, timeout=60):
        u = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        rng = f"bytes={off}-" + ("" if end is None else str(end))
        path = u.path + (f"?{u.query}" if u.query else "")
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nRange: {rng}\r\n"
                          "User-Agent: swarm-bench-tv\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            got = self.sock.recv(65536)
            if not got:
                raise ConnectionError("closed before the headers")
            head += got
        head, self.pending = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        if self.status not in (200, 206):
            raise RuntimeError(f"GET {rng}: HTTP {self.status}")
        hdrs = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        hdrs = {k.strip().lower(): v.strip() for k, v in hdrs.items()}
        self.left = int(hdrs.get("content-length", 1 << 62)) - len(self.pending)
        if self.status == 200 and off:
            raise RuntimeError("server ignored the Range")

    def recv(self, timeout):
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        if self.left <= 0:
            return b""
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return None
        data = self.sock.recv(min(65536, self.left))
        if not data:
            raise ConnectionError(f"server closed with {self.left} bytes of the body left")
        self.left -= len(data)
        return data

    def read_exact(self, n, deadline):
        buf = b""
        while len(buf) < n:
            got = self.recv(deadline - time.monotonic())
            if got is None:
                raise TimeoutError("read past the deadline")
            if not got:
                break
            buf += got
        return buf

    def close(self):
        self.sock.close()


class Player:
    def __init__(self, url, kind, size, byte_rate, t0, deadline, max_buffer):
        self.url, self.kind, self.size, self.rate = url, kind, size, byte_rate
        self.t0, self.deadline, self.max_buffer = t0, deadline, max_buffer
        self.out = {"startup_s": None, "stalls": [], "seeks": [], "reads": [],
                    "completed": False, "error": None}
        self.playing = False
        self.play = self.fetched = self.play_t = 0.0
        self.stall_from = None
        self.waiting = None  # (kind, fraction, since) while before a start/seek

    def rel(self, t):
        return round(t - self.t0, 3)

    def read_at(self, off, n):
        """One layout read (head, index) as its own Range request; each is
        noted as [offset, length, s since add at the request, at its end]."""
        t = time.monotonic()
        s = RangeStream(self.url, off, off + n - 1)
        try:
            data = s.read_exact(n, self.deadline)
        finally:
            s.close()
        self.out["reads"].append([off, n, self.rel(t), self.rel(time.monotonic())])
        return data

    def run(self):
        try:
            t = time.monotonic()
            lay = containers.layout(self.kind, self.read_at, self.size)
            self.out["index_s"] = round(time.monotonic() - t, 3)
            self.out["index_ready_s"] = self.rel(time.monotonic())
            span = lay["media_end"] - lay["media_start"]
            for kind, frac, secs in SCRIPT:
                start = lay["media_start"] + int(frac * span)
                end = lay["media_end"] if secs is None else min(
                    lay["media_end"], start + int(secs * self.rate))
                self.segment(kind, frac, start, end)
            self.out["completed"] = True
        except Exception as e:  # the record says what went wrong
            self.out["error"] = f"{type(e).__name__}: {e}"
            if self.stall_from is not None:
                self.stall_end(min(time.monotonic(), self.deadline), open_at_end=True)
            if self.waiting and self.waiting[0] == "seek":
                self.out["seeks"].append({"to": self.waiting[1], "resume_s": None,
                                          "at_s": self.rel(self.waiting[2])})
        self.out["stall_count"] = len(self.out["stalls"])
        self.out["stall_s"] = round(sum(s[1] for s in self.out["stalls"]), 3)
        return self.out

    def advance(self, now, seg_end):
        """Move the playhead to `now`; note where the buffer ran dry."""
        if self.playing:
            dry_t = self.play_t + (self.fetched - self.play) / self.rate
            self.play = min(self.play + self.rate * (now - self.play_t), self.fetched, seg_end)
            if self.play >= self.fetched and self.play < seg_end:
                self.playing = False
                self.stall_from = dry_t
        self.play_t = now

    def stall_end(self, now, open_at_end=False):
        self.out["stalls"].append([self.rel(self.stall_from), round(now - self.stall_from, 3)]
                                  + (["unfinished"] if open_at_end else []))
        self.stall_from = None

    def segment(self, kind, frac, start, end):
        """Play [start, end) from a fresh Range request; the start (or a
        seek) waits for its own threshold, which is not counted as a stall."""
        t_seek = time.monotonic()
        s = RangeStream(self.url, start, timeout=max(1, self.deadline - t_seek))
        self.play = self.fetched = float(start)
        self.playing, self.play_t, self.stall_from = False, t_seek, None
        self.waiting = (kind, frac, t_seek)
        try:
            while True:
                now = time.monotonic()
                self.advance(now, end)
                if self.play >= end:
                    return
                if now > self.deadline:
                    raise TimeoutError(f"deadline in {kind} to {frac:.0%}")
                need = START_S if self.waiting and kind == "start" else RESUME_S
                if not self.playing and self.fetched - self.play >= min(need * self.rate,
                                                                        end - self.play):
                    self.resume(now)
                self.fill(s, now, end)
        finally:
            s.close()

    def resume(self, now):
        """Playing again: after the start, a seek, or a stall."""
        if self.waiting is None:
            self.stall_end(now)
        else:
            kind, frac, since = self.waiting
            if kind == "start":
                self.out["startup_s"] = self.rel(now)
            else:
                self.out["seeks"].append({"to": frac, "resume_s": round(now - since, 3),
                                          "at_s": self.rel(since)})
            self.waiting = None
        self.playing, self.play_t = True, now

    def fill(self, s, now, end):
        """Read what is there (bounded by the TV's buffer) or sleep until
        something happens: data, the playhead reaching the data's end or the
        segment's end, or the deadline."""
        wake = self.deadline
        if self.playing:
            wake = min(wake, now + (min(self.fetched, end) - self.play) / self.rate + 0.001)
        if self.fetched - self.play >= self.max_buffer or self.fetched >= self.size:
            if self.playing:
                room = (self.fetched - self.play - self.max_buffer + 65536) / self.rate
                wake = min(wake, now + max(room, 0.001))
            time.sleep(max(0.0, wake - now))
            return
        data = s.recv(max(0.0, wake - now))
        if data == b"" and self.fetched < end:  # the whole body came (to the file's end)
            raise ConnectionError(f"body ended at {self.fetched:.0f}, before {end}")
        if data:
            self.fetched += len(data)
