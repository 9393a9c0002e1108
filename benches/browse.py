#!/usr/bin/env python3
"""Browse benchmark: BrowseDirectChildren of a 10 000-item container, 50 per
page, at StartingIndex 0 and 9 950 — p50/p99 latency and server RSS — for
swarmcast and for minidlna serving a folder of the same 10 000 files, in the
same run, on loopback.

swarmcast gets the container as a real torrent of those 10 000 files (added
as a .torrent body: no peers needed to browse); minidlna scans the folder.

Needs: ffmpeg, mktorrent, minidlna (apt), a release swarmcast.
Usage: python3 benches/browse.py --swarmcast target/release/swarmcast [--requests 300]
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from startup import free_port, info_hash, rss_kb, wait_port  # noqa: E402

N_FILES = 10_000
PAGE = 50


def browse(base, control, object_id, start, count=PAGE):
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            '<u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">'
            f'<ObjectID>{object_id}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag>'
            f'<Filter>*</Filter><StartingIndex>{start}</StartingIndex>'
            f'<RequestedCount>{count}</RequestedCount><SortCriteria></SortCriteria>'
            '</u:Browse></s:Body></s:Envelope>').encode()
    req = urllib.request.Request(base + control, data=body, method="POST", headers={
        "content-type": 'text/xml; charset="utf-8"',
        "soapaction": '"urn:schemas-upnp-org:service:ContentDirectory:1#Browse"',
    })
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
    elapsed = time.perf_counter() - t0
    root = ET.fromstring(data)
    out = {el.tag.split("}")[-1]: el.text for el in root.iter()}
    return elapsed, out


def measure(name, base, control, object_id, pid, requests):
    rows = []
    for start in (0, N_FILES - PAGE):
        for _ in range(10):  # warm-up: caches, page cache, lazy init
            browse(base, control, object_id, start)
        times = []
        for _ in range(requests):
            t, out = browse(base, control, object_id, start)
            assert out["NumberReturned"] == str(PAGE), (name, out["NumberReturned"])
            assert out["TotalMatches"] == str(N_FILES), (name, out["TotalMatches"])
            times.append(t * 1000)
        times.sort()
        p50 = statistics.median(times)
        p99 = times[int(len(times) * 0.99) - 1]
        rows.append((start, p50, p99))
    rss = rss_kb(pid) / 1024
    for start, p50, p99 in rows:
        print(f"    {name:9s} StartingIndex {start:5d}: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms   RSS {rss:5.1f} MB")
    return rows


def ensure_tools():
    """Installs what the bench needs that the e2e installer does not bring."""
    subprocess.run(["bash", os.path.join(HERE, "..", "tests", "e2e", "install-deps.sh")], check=True)
    if shutil.which("minidlnad") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                               "minidlna"], check=True, env=env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swarmcast", default="target/release/swarmcast")
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    ensure_tools()
    tmp = tempfile.mkdtemp(prefix="swarmcast-browse.")
    procs = []
    try:
        media = os.path.join(tmp, "Clips")
        os.makedirs(media)
        sample = os.path.join(tmp, "sample.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                        "testsrc=duration=0.2:size=64x64:rate=10", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p", sample], check=True)
        for i in range(N_FILES):
            os.link(sample, os.path.join(media, f"Clip {i:05d}.mp4"))
        torrent = os.path.join(tmp, "clips.torrent")
        subprocess.run(["mktorrent", "-l", "18", "-o", torrent, media], check=True,
                       stdout=subprocess.DEVNULL)
        ih = info_hash(torrent)

        # swarmcast
        port = free_port()
        cfg = os.path.join(tmp, "swarmcast.toml")
        with open(cfg, "w") as f:
            f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nssdp-interfaces = ["lo"]\n'
                    f'[storage]\nstate-dir = "{tmp}/state"\ndownload-dir = "{tmp}/dl"\n'
                    '[torrent]\nlisten-port = 0\ndht = false\n')
        sc = subprocess.Popen([os.path.abspath(args.swarmcast), "serve", "--config", cfg],
                              stdout=open(os.path.join(tmp, "swarmcast.log"), "wb"),
                              stderr=subprocess.STDOUT)
        procs.append(sc)
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        req = urllib.request.Request(base + "/api/torrents", data=open(torrent, "rb").read(),
                                     method="POST",
                                     headers={"content-type": "application/x-bittorrent"})
        urllib.request.urlopen(req, timeout=120).read()

        # minidlna, scanning the same folder
        mport = free_port()
        mconf = os.path.join(tmp, "minidlna.conf")
        with open(mconf, "w") as f:
            f.write(f"port={mport}\nnetwork_interface=lo\nmedia_dir=V,{media}\n"
                    f"db_dir={tmp}/mdb\nlog_dir={tmp}/mlog\ninotify=no\nfriendly_name=bench\n")
        md = subprocess.Popen(["minidlnad", "-f", mconf, "-d", "-P", os.path.join(tmp, "m.pid")],
                              stdout=open(os.path.join(tmp, "minidlna.log"), "wb"),
                              stderr=subprocess.STDOUT)
        procs.append(md)
        wait_port(mport)
        mbase = f"http://127.0.0.1:{mport}"
        # With a single media_dir, minidlna shows its files straight under
        # "Browse Folders" (object id 64).
        folder = "64"
        deadline = time.time() + 600
        t0 = time.time()
        while time.time() < deadline:
            try:
                _, out = browse(mbase, "/ctl/ContentDir", folder, 0, 1)
                if out["TotalMatches"] == str(N_FILES):
                    break
            except Exception:
                pass
            time.sleep(1)
        else:
            raise RuntimeError("minidlna did not finish scanning within 10 minutes")
        print(f"(issue 4) Browse of a {N_FILES}-item container, {PAGE} per page, "
              f"{args.requests} sequential requests per page after 10 warm-up, new connection each "
              f"(minidlna scanned the folder in {time.time() - t0:.0f} s)")
        ours = measure("swarmcast", base, "/upnp/ContentDirectory/control", f"t/{ih}", sc.pid, args.requests)
        theirs = measure("minidlna", mbase, "/ctl/ContentDir", folder, md.pid, args.requests)
        for (start, p50, _), (_, mp50, _) in zip(ours, theirs):
            print(f"    StartingIndex {start:5d}: swarmcast p50 / minidlna p50 = {p50 / mp50:.2f}x (target <= 1.0x)")
        print(f"    swarmcast p50 at 9950 / at 0 = {ours[1][1] / ours[0][1]:.2f}x (independent of StartingIndex: ~1.0x)")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
