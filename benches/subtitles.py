#!/usr/bin/env python3
"""Subtitle benchmark: how long from a TV's first Browse of a video until
its subtitle is in the DIDL (polled every 20 ms with BrowseMetadata).

(1) From a provider: a fixture OpenSubtitles of our own on loopback that
    answers every request after 100 ms (search, download, the file). The
    torrent is on disk already, so the time is the provider's and ours.
    Baseline, in the same run: the same three requests made straight to
    the fixture from here (the floor any client pays).
(2) From the swarm: a season pack whose episodes each have their own SRT,
    seeded by aria2c limited to 1 MiB/s while the pack downloads. Odd
    episodes are timed Browse -> subtitle in the DIDL; baseline, in the same
    run: a plain GET of an even episode's SRT through swarmcast's /media
    URL (the same swarm, a file of the same size not fetched before).

Needs aria2c and mktorrent (tests/e2e/install-deps.sh) and a release
swarmcast. Usage:
  python3 benches/subtitles.py --swarmcast target/release/swarmcast [--episodes 8]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from browse import headers, parse  # noqa: E402
from startup import Procs, info_hash, seed, start_swarmcast  # noqa: E402

LATENCY_S = 0.1
SRT_CUES = 600  # about 40 KB, a film's worth


def srt(n):
    return "".join(
        f"{i + 1}\r\n00:{i // 60 % 60:02d}:{i % 60:02d},000 --> 00:{i // 60 % 60:02d}:{i % 60:02d},900\r\n"
        f"Line {i} of episode {n}, with some words to make it film-sized.\r\n\r\n"
        for i in range(SRT_CUES)).encode()


def provider():
    """A fixture OpenSubtitles answering after LATENCY_S; returns its base URL."""
    state = {"base": ""}

    class H(BaseHTTPRequestHandler):
        def answer(self, body, ctype="application/json"):
            time.sleep(LATENCY_S)
            self.send_response(200)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.startswith("/api/v1/subtitles"):
                m = re.search(r"moviehash=([0-9a-f]{16})", self.path)
                fid = int(m.group(1), 16) % 10**9 if m else 1
                data = [{"attributes": {"language": "en", "moviehash_match": bool(m),
                                        "release": "Bench", "files": [{"file_id": fid}]}}]
                self.answer(json.dumps({"data": data}).encode())
            elif self.path.startswith("/files/"):
                self.answer(srt(0), "application/x-subrip")
            else:
                self.send_error(404)

        def do_POST(self):
            n = int(self.headers.get("content-length") or 0)
            fid = json.loads(self.rfile.read(n)).get("file_id")
            self.answer(json.dumps({"link": f"{state['base']}/files/{fid}.srt",
                                    "remaining": 1000}).encode())

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state["base"] = f"http://127.0.0.1:{srv.server_address[1]}"
    return state["base"]


def direct(base):
    """The provider's own floor: search, download, the file, from here."""
    t0 = time.perf_counter()
    urllib.request.urlopen(f"{base}/api/v1/subtitles?languages=en&moviehash=0123456789abcdef").read()
    req = urllib.request.Request(f"{base}/api/v1/download", data=b'{"file_id": 1}', method="POST")
    link = json.loads(urllib.request.urlopen(req).read())["link"]
    urllib.request.urlopen(link).read()
    return time.perf_counter() - t0


def browse_metadata(port, object_id):
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
            '<s:Body><u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">'
            f"<ObjectID>{object_id}</ObjectID><BrowseFlag>BrowseMetadata</BrowseFlag>"
            "<Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>0</RequestedCount>"
            "<SortCriteria></SortCriteria></u:Browse></s:Body></s:Envelope>").encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/upnp/ContentDirectory/control",
                                 data=body, method="POST", headers=headers("Browse"))
    return parse(urllib.request.urlopen(req, timeout=30).read())["Result"]


def until_subtitled(port, object_id, limit_s=60):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        if "text/srt" in browse_metadata(port, object_id):
            return time.perf_counter() - t0
        time.sleep(0.02)
    raise RuntimeError(f"no subtitle for {object_id} in {limit_s} s")


def start(procs, binary, work, extra=""):
    _, base = start_swarmcast(procs, binary, work, extra)
    return int(base.rsplit(":", 1)[1])


def pack(work, episodes, with_srt):
    """A season pack of random 'videos' (and their SRTs); its .torrent."""
    root = os.path.join(work, "seed", "Show.S01")
    os.makedirs(root, exist_ok=True)
    for e in range(1, episodes + 1):
        with open(os.path.join(root, f"Show.S01E{e:02d}.mkv"), "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + e * 4099))
        if with_srt:
            with open(os.path.join(root, f"Show.S01E{e:02d}.en.srt"), "wb") as f:
                f.write(srt(e))
    torrent = os.path.join(work, "pack.torrent")
    subprocess.run(["mktorrent", "-l", "18", "-o", torrent, root], check=True,
                   stdout=subprocess.DEVNULL)
    return torrent


def add(port, magnet):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/torrents", method="POST",
                                 data=json.dumps({"uri": magnet}).encode(),
                                 headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=120).read())


def spread(xs):
    return f"p50 {statistics.median(xs) * 1000:.0f} ms [{min(xs) * 1000:.0f}-{max(xs) * 1000:.0f}]"


def provider_trial(args, work):
    procs = Procs()
    try:
        base = provider()
        torrent = pack(work, args.episodes, with_srt=False)
        ih = info_hash(torrent)
        host, sport = seed(procs, work, torrent, os.path.join(work, "seed"), None)
        port = start(procs, args.swarmcast, work,
                     f'[subtitles.opensubtitles]\napi-key = "bench"\nbase-url = "{base}/api/v1"\n')
        t = add(port, f"magnet:?xt=urn:btih:{ih}&dn=pack&x.pe={host}:{sport}")
        end = time.time() + 120
        while not t.get("progress", {}).get("finished"):
            assert time.time() < end, "the pack did not download"
            time.sleep(0.2)
            t = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/torrents/{ih}").read())
        videos = [f["index"] for f in t["files"] if f["path"].endswith(".mkv")]
        ours, floor = [], []
        for i in videos:
            floor.append(direct(base))
            ours.append(until_subtitled(port, f"t/{ih}/{i}"))
        print(f"  (1) provider with {LATENCY_S * 1000:.0f} ms per request, {len(videos)} videos on disk: "
              f"Browse -> subtitle in the DIDL {spread(ours)}; baseline (search, download, file "
              f"straight from here) {spread(floor)}; ratio {statistics.median(ours) / statistics.median(floor):.2f}x")
    finally:
        procs.stop_all()


def swarm_trial(args, work):
    procs = Procs()
    try:
        torrent = pack(work, args.episodes, with_srt=True)
        ih = info_hash(torrent)
        host, sport = seed(procs, work, torrent, os.path.join(work, "seed"), "1M")
        port = start(procs, args.swarmcast, work)
        t = add(port, f"magnet:?xt=urn:btih:{ih}&dn=pack&x.pe={host}:{sport}")
        files = {f["path"].rsplit("/", 1)[-1]: f for f in t["files"]}
        ours, raw = [], []
        for e in range(1, args.episodes + 1):
            video = files[f"Show.S01E{e:02d}.mkv"]
            if e % 2:
                ours.append(until_subtitled(port, f"t/{ih}/{video['index']}"))
            else:
                url = f"http://127.0.0.1:{port}{files[f'Show.S01E{e:02d}.en.srt']['url']}"
                t0 = time.perf_counter()
                urllib.request.urlopen(url, timeout=120).read()
                raw.append(time.perf_counter() - t0)
        print(f"  (2) in the torrent, aria2c at 1 MiB/s while the pack downloads, {len(srt(1))} B SRTs: "
              f"Browse -> subtitle in the DIDL {spread(ours)}; baseline (GET of a sibling SRT's "
              f"/media URL) {spread(raw)}; ratio {statistics.median(ours) / statistics.median(raw):.2f}x")
    finally:
        procs.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swarmcast", default="target/release/swarmcast")
    ap.add_argument("--episodes", type=int, default=8)
    args = ap.parse_args()
    args.swarmcast = os.path.abspath(args.swarmcast)
    print("subtitles: first Browse of a video -> its subtitle in the DIDL")
    for trial in (provider_trial, swarm_trial):
        work = tempfile.mkdtemp(prefix="swarmcast-subs-bench.")
        try:
            trial(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
