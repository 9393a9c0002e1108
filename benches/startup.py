#!/usr/bin/env python3
"""Startup and memory benchmark, all against outside programs on loopback.

(b) From add to "ffprobe has the duration" for a moov-at-end MP4, with an
    aria2c seeder throttled to 1 and 4 MiB/s, for:
      ours       swarmcast: POST /api/torrents, ffprobe on the stream URL
      in-order   the same file served in order from a plain librqbit FileStream
                 (rqbit's stream endpoint read without seeking: ffprobe -seekable 0)
      rqbit      rqbit's own HTTP stream (`rqbit server start`), ffprobe seeking
    Ratios ours / baseline; target <= 0.5 of both.
(d) swarmcast's RSS idle and while streaming a 256 MiB file at full speed
    (rqbit's for reference).

Needs: ffmpeg, ffprobe, aria2c, mktorrent (tests/e2e/install-deps.sh), a
release swarmcast, and rqbit installed with
  cargo install rqbit --no-default-features --features rust-tls --root DIR
Usage: python3 benches/startup.py --swarmcast target/release/swarmcast \
         --rqbit DIR/bin/rqbit [--trials 3] [--seeder rqbit --link shaped]
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from fixture import bdecode_info_span  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, secs=30, host="127.0.0.1"):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {secs}s")


def http(method, url, body=None, headers=None, timeout=120):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def info_hash(torrent):
    data = open(torrent, "rb").read()
    a, b = bdecode_info_span(data)
    return hashlib.sha1(data[a:b]).hexdigest()


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, log):
        p = subprocess.Popen(args, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


class ShapedLink:
    """The seeder's side of a veth pair in a network namespace of our own,
    its egress shaped with tc tbf: a link that carries `limit` bytes/s with
    a small burst, so a seeder with no limiter of its own is throttled by the
    network instead (no token-bucket burst at the start, no unchoke tick)."""

    NS = "scbench-seed"
    HOST_IP, SEED_IP = "10.203.7.1", "10.203.7.2"

    def __init__(self):
        self.up = False

    def run(self, *args):
        subprocess.run(args, check=True)

    def shape(self, limit_bytes, queue_ms=50):
        self.close()
        self.run("ip", "netns", "add", self.NS)
        self.up = True
        self.run("ip", "link", "add", "scbench-host", "type", "veth", "peer", "name", "scbench-s0")
        self.run("ip", "link", "set", "scbench-s0", "netns", self.NS)
        self.run("ip", "addr", "add", f"{self.HOST_IP}/30", "dev", "scbench-host")
        self.run("ip", "link", "set", "scbench-host", "up")
        self.run("ip", "-n", self.NS, "addr", "add", f"{self.SEED_IP}/30", "dev", "scbench-s0")
        self.run("ip", "-n", self.NS, "link", "set", "scbench-s0", "up")
        self.run("ip", "-n", self.NS, "link", "set", "lo", "up")
        self.run("tc", "-n", self.NS, "qdisc", "add", "dev", "scbench-s0", "root", "tbf",
                 "rate", f"{limit_bytes * 8}bit", "burst", "32kb", "latency", f"{queue_ms}ms")

    def prefix(self):
        return ["ip", "netns", "exec", self.NS]

    def close(self):
        # Deleting the host end removes the pair at once; a namespace's own
        # devices go only when the kernel gets round to it.
        subprocess.run(["ip", "link", "del", "scbench-host"], check=False,
                       stderr=subprocess.DEVNULL)
        if os.path.exists(f"/run/netns/{self.NS}"):
            subprocess.run(["ip", "netns", "del", self.NS], check=False)
        self.up = False


def seed(procs, work, torrent, data_dir, limit, seeder="aria2c", rqbit=None, link=None):
    """Start a seeder; returns (host, port) to give leechers as their peer.
    With `link` (a ShapedLink already shaped to `limit`) the seeder runs
    behind it without a limiter of its own."""
    if seeder == "rqbit":
        return seed_rqbit(procs, work, torrent, data_dir, limit, rqbit, link)
    assert link is None, "the shaped link is for the rqbit seeder"
    port = free_port()
    args = ["aria2c", "--no-conf", "--enable-dht=false", "--enable-dht6=false",
            "--bt-enable-lpd=false", "--enable-peer-exchange=false",
            "--bt-exclude-tracker=*", "--disable-ipv6=true", "--bt-external-ip=127.0.0.1",
            f"--listen-port={port}", "--seed-ratio=0.0", "--check-integrity=true",
            "--bt-seed-unverified=false", "--summary-interval=0", "--console-log-level=warn",
            "-d", data_dir, torrent]
    if limit:
        args.insert(1, f"--max-overall-upload-limit={limit}")
    procs.start(args, os.path.join(work, "aria2c.log"))
    wait_port(port, 120)
    return "127.0.0.1", port


def seed_rqbit(procs, work, torrent, data_dir, limit, binary, link=None):
    """rqbit as the seeder: unlike aria2c it unchokes at once, so start-up
    latency is the swarm's transfer time alone."""
    port, api = free_port(), free_port()
    host = link.SEED_IP if link else "127.0.0.1"
    args = [binary, "--disable-dht", "--disable-dht-persistence", "--disable-lsd",
            "--disable-upnp-port-forward", "--disable-trackers",
            "--http-api-listen-addr", f"{host}:{api}", "--listen-port", str(port)]
    if limit and not link:
        args += ["--ratelimit-upload", str(int(limit[:-1]) << 20)]
    args += ["server", "start", "--disable-persistence", os.path.join(work, "seed-out")]
    procs.start((link.prefix() if link else []) + args, os.path.join(work, "rqbit-seeder.log"))
    wait_port(api, host=host)
    ih = info_hash(torrent)
    http("POST", f"http://{host}:{api}/torrents?overwrite=true&output_folder={data_dir}",
         open(torrent, "rb").read())
    end = time.time() + 120
    while time.time() < end:
        _, body = http("GET", f"http://{host}:{api}/torrents/{ih}/stats/v1")
        if json.loads(body).get("finished"):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("rqbit seeder did not verify its data")
    wait_port(port, host=host)
    return host, port


def start_swarmcast(procs, binary, work, extra=""):
    """swarmcast on loopback, nothing reaching outside; `extra`: more
    config (TOML) after the rest."""
    port, peer = free_port(), free_port()
    cfg = os.path.join(work, "config.toml")
    with open(cfg, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nssdp-interfaces = ["lo"]\n'
                f'[storage]\nstate-dir = "{work}/state"\ndownload-dir = "{work}/dl"\n'
                f'[torrent]\nlisten-port = {peer}\ndht = false\nlocal-peer-discovery = false\n'
                'port-forwarding = false\n'
                '[search.internet-archive]\nenabled = false\n[subtitles.podnapisi]\nenabled = false\n'
                + extra)
    p = procs.start([binary, "serve", "--config", cfg], os.path.join(work, "swarmcast.log"))
    wait_port(port)
    return p, f"http://127.0.0.1:{port}"


def start_rqbit(procs, binary, work):
    port, peer = free_port(), free_port()
    p = procs.start([binary, "--disable-dht", "--disable-dht-persistence", "--disable-lsd",
                     "--disable-upnp-port-forward", "--disable-trackers",
                     "--http-api-listen-addr", f"127.0.0.1:{port}", "--listen-port", str(peer),
                     "server", "start", "--disable-persistence", os.path.join(work, "dl")],
                    os.path.join(work, "rqbit.log"))
    wait_port(port)
    return p, f"http://127.0.0.1:{port}"


def add_swarmcast(base, magnet):
    _, body = http("POST", base + "/api/torrents", json.dumps({"uri": magnet}).encode(),
                   {"content-type": "application/json"})
    return base + json.loads(body)["files"][0]["url"]


def add_rqbit(base, ih, seed_peer):
    magnet = f"magnet:?xt=urn:btih:{ih}"
    host, port = seed_peer
    http("POST", f"{base}/torrents?overwrite=true&initial_peers={host}:{port}",
         magnet.encode())
    return f"{base}/torrents/{ih}/stream/0"


def ffprobe_duration(url, seekable=True):
    args = ["ffprobe", "-v", "error"]
    if not seekable:
        args += ["-seekable", "0"]
    args += ["-show_entries", "format=duration", "-of", "csv=p=0", url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"ffprobe failed: {out.stderr.strip()[:300]}")
    return float(out.stdout.strip())


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_startup(args, tmp):
    media = os.path.join(tmp, "media")
    os.makedirs(media)
    clip = os.path.join(media, "clip.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=duration=20:size=640x360:rate=25", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=20", "-vf", "noise=alls=30:allf=t",
                    "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "5M", "-maxrate", "5M",
                    "-bufsize", "2M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip],
                   check=True)
    torrent = os.path.join(tmp, "clip.torrent")
    subprocess.run(["mktorrent", "-l", "18", "-o", torrent, clip], check=True,
                   stdout=subprocess.DEVNULL)
    ih = info_hash(torrent)
    size = os.path.getsize(clip)
    how = (f"behind a tc-shaped veth link queueing at most {args.queue_ms} ms "
           "(no limiter of its own)" if args.link == "shaped"
           else "throttled by its own limiter, on loopback")
    print(f"(b) {size / 1e6:.1f} MB MP4, moov at the end, 256 KiB pieces, {args.seeder} seeder "
          f"{how}, {args.trials} trials per cell, median [min-max] seconds from add to duration")
    results = {}
    link = ShapedLink() if args.link == "shaped" else None
    try:
        for limit in ["1M", "4M"]:
            if link:
                link.shape(int(limit[:-1]) << 20, args.queue_ms)
            for kind in args.kinds.split(","):
                times = []
                for _ in range(args.trials):
                    times.append(startup_trial(args, tmp, torrent, media, ih, limit, kind, link))
                results[(limit, kind)] = times
                print(f"    {limit}iB/s {kind:9s} {statistics.median(times):6.2f} s "
                      f"[{min(times):.2f}-{max(times):.2f}]")
    finally:
        if link:
            link.close()
    for limit in ["1M", "4M"]:
        if (limit, "ours") not in results:
            continue
        ours = statistics.median(results[(limit, "ours")])
        for base in [b for b in ["in-order", "rqbit"] if (limit, b) in results]:
            b = statistics.median(results[(limit, base)])
            print(f"    {limit}iB/s ours / {base}: {ours / b:.2f}x (target <= 0.5x)")


def startup_trial(args, tmp, torrent, media, ih, limit, kind, link):
    """One cell's trial: fresh seeder and leecher; seconds from add to duration."""
    work = tempfile.mkdtemp(dir=tmp)
    procs = Procs()
    try:
        peer = seed(procs, work, torrent, media, limit, args.seeder, args.rqbit, link)
        if kind == "ours":
            _, base = start_swarmcast(procs, args.swarmcast, work)
            t0 = time.monotonic()
            url = add_swarmcast(base, f"magnet:?xt=urn:btih:{ih}&x.pe={peer[0]}:{peer[1]}")
            ffprobe_duration(url)
        else:
            _, base = start_rqbit(procs, args.rqbit, work)
            t0 = time.monotonic()
            url = add_rqbit(base, ih, peer)
            ffprobe_duration(url, seekable=(kind == "rqbit"))
        return time.monotonic() - t0
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def bench_rss(args, tmp):
    media = os.path.join(tmp, "big")
    os.makedirs(media)
    big = os.path.join(media, "big.bin")
    with open(big, "wb") as f:
        for _ in range(256):
            f.write(os.urandom(1 << 20))
    torrent = os.path.join(tmp, "big.torrent")
    subprocess.run(["mktorrent", "-l", "20", "-o", torrent, big], check=True,
                   stdout=subprocess.DEVNULL)
    ih = info_hash(torrent)
    print("(d) RSS of the server process, MB (VmRSS)")
    for kind in ["ours", "rqbit"]:
        work = tempfile.mkdtemp(dir=tmp)
        procs = Procs()
        try:
            seed_peer = seed(procs, work, torrent, media, None)
            if kind == "ours":
                p, base = start_swarmcast(procs, args.swarmcast, work)
            else:
                p, base = start_rqbit(procs, args.rqbit, work)
            time.sleep(2)
            idle = rss_kb(p.pid)
            if kind == "ours":
                url = add_swarmcast(base, f"magnet:?xt=urn:btih:{ih}&x.pe=127.0.0.1:{seed_peer[1]}")
            else:
                url = add_rqbit(base, ih, seed_peer)
            peak = [0]
            done = threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], rss_kb(p.pid))
                    time.sleep(0.02)

            t = threading.Thread(target=sample)
            t.start()
            t0 = time.monotonic()
            got = 0
            with urllib.request.urlopen(url, timeout=300) as r:
                while True:
                    chunk = r.read(1 << 20)
                    if not chunk:
                        break
                    got += len(chunk)
            secs = time.monotonic() - t0
            done.set()
            t.join()
            assert got == 256 << 20, got
            print(f"    {kind:6s} idle {idle / 1024:5.1f}  streaming peak {peak[0] / 1024:6.1f}  "
                  f"(streamed 256 MiB in {secs:.1f} s, {got / secs / 1e6:.0f} MB/s)")
        finally:
            procs.stop_all()
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swarmcast", default="target/release/swarmcast")
    ap.add_argument("--rqbit", default="rqbit")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--only", choices=["startup", "rss"])
    ap.add_argument("--kinds", default="ours,in-order,rqbit",
                    help="which start-up cells to run (comma-separated; default all)")
    ap.add_argument("--seeder", choices=["aria2c", "rqbit"], default="aria2c",
                    help="who seeds in (b); aria2c adds ~1.5 s of its own latency "
                         "(metadata reply, 1 s unchoke tick) to every cell")
    ap.add_argument("--link", choices=["loopback", "shaped"], default="loopback",
                    help="(b): throttle with the seeder's own limiter on loopback, or run "
                         "the seeder (rqbit only) in a network namespace behind a veth "
                         "shaped with tc to the rate (needs root and iproute2)")
    ap.add_argument("--queue-ms", type=int, default=50,
                    help="with --link shaped: how much the link queues (tc tbf latency)")
    args = ap.parse_args()
    args.swarmcast = os.path.abspath(args.swarmcast)
    args.rqbit = shutil.which(args.rqbit) or args.rqbit
    if args.link == "shaped" and args.seeder != "rqbit":
        ap.error("--link shaped needs --seeder rqbit (aria2c's unchoke tick would remain)")
    tmp = tempfile.mkdtemp(prefix="swarmcast-bench.")
    try:
        if args.only in (None, "startup"):
            bench_startup(args, tmp)
        if args.only in (None, "rss"):
            bench_rss(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
