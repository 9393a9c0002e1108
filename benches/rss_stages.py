#!/usr/bin/env python3
"""Where swarmcast's memory goes: RSS, anonymous memory and file mappings
(the binary's pages, the catalog, libraries) from /proc/PID/smaps, idle,
then with a torrent of 10 000 clips added (as a .torrent), then after 60
Browse pages at StartingIndex 0 and 60 at 9 950. Loopback only (SSDP on
lo, DHT off).

Needs: ffmpeg, mktorrent (apt), a release swarmcast.
Usage: python3 benches/rss_stages.py --swarmcast target/release/swarmcast
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from browse import N_FILES, envelope, headers, make_clips, write_config  # noqa: E402
from startup import free_port  # noqa: E402


def mappings(pid):
    """Resident MB of the binary, the catalog and libraries, by mapping."""
    acc, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
            if m:
                name = m.group(1)
                cur = ("binary" if name.endswith("/swarmcast") else
                       "catalog" if "catalog.sqlite" in name else
                       "libraries" if name.startswith("/") else None)
            elif cur and line.startswith("Rss:"):
                acc[cur] = acc.get(cur, 0) + int(line.split()[1])
    return acc


def show(stage, pid):
    rollup = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("Rss:", "Anonymous:"):
                rollup[parts[0][:-1]] = int(parts[1])
    files = "  ".join(f"{k} {v / 1024:5.1f} MB" for k, v in sorted(mappings(pid).items()))
    threads = len(os.listdir(f"/proc/{pid}/task"))
    print(f"  {stage:8s} RSS {rollup['Rss'] / 1024:5.1f} MB  anonymous "
          f"{rollup['Anonymous'] / 1024:5.1f} MB  {files}  threads {threads}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swarmcast", default="target/release/swarmcast")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="swarmcast-rss.")
    proc = None
    try:
        _, torrent, ih = make_clips(tmp)
        port = free_port()
        cfg = write_config(tmp, "127.0.0.1", port, "lo")
        proc = subprocess.Popen([os.path.abspath(args.swarmcast), "serve", "--config", cfg],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        time.sleep(1)
        print(f"RSS of swarmcast by stage (a torrent of {N_FILES} clips):")
        show("idle", proc.pid)
        req = urllib.request.Request(base + "/api/torrents", data=open(torrent, "rb").read(),
                                     method="POST",
                                     headers={"content-type": "application/x-bittorrent"})
        urllib.request.urlopen(req, timeout=120).read()
        time.sleep(2)
        show("added", proc.pid)
        for start in (0, N_FILES - 50):
            for _ in range(60):
                req = urllib.request.Request(base + "/upnp/ContentDirectory/control",
                                             data=envelope(f"t/{ih}", start, 50),
                                             headers=headers("Browse"), method="POST")
                urllib.request.urlopen(req, timeout=30).read()
        time.sleep(1)
        show("browsed", proc.pid)
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
