#!/usr/bin/env python3
"""Browse benchmark: BrowseDirectChildren of a 10 000-item container, 50 per
page, at StartingIndex 0 and 9 950 — p50/p99 latency and server RSS — for
swarmcast and for minidlna serving a folder of the same 10 000 files, in the
same run, each with a new TCP connection per request (as most TVs do) and
over one keep-alive connection. Then Search over the same 10 000 items from
the root (a TV's search box: a title text beside a class; a narrow text
with 10 matches and a broad one matching all, 50 per page), on a new
connection per request.

swarmcast gets the container as a real torrent of those 10 000 files (added
as a .torrent body: no peers needed to browse); minidlna scans the folder.

--lan puts both servers in one network namespace and the client in another,
joined by a veth pair (a two-host LAN on one machine; needs root), instead
of everything on loopback.

What a TV does, beyond the plain case: --agent sends a TV's User-Agent on
every request (its quirks row: DIDL extras, subtitles announced its way);
--downloading BPS adds the torrent as a magnet from an aria2c seeder held
to BPS bytes/s, so it downloads while it is browsed (as a torrent just
added does); --perf FILE records a CPU profile of swarmcast (perf,
cpu-clock) while its new-connection requests run and prints where the
time went.

Needs: ffmpeg, mktorrent, minidlna, aria2c (apt), a release swarmcast.
Usage: python3 benches/browse.py --swarmcast target/release/swarmcast [--requests 300] [--lan]
       [--agent UA] [--downloading BPS] [--perf FILE]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from startup import free_port, info_hash, rss_kb  # noqa: E402

N_FILES = 10_000
PAGE = 50
# The two-host LAN of --lan.
SRV_IP, CLI_IP = "10.201.0.1", "10.201.0.2"


def envelope(object_id, start, count, criteria=None):
    if criteria is None:
        action = "Browse"
        args = (f'<ObjectID>{object_id}</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag>')
    else:
        action = "Search"
        args = (f'<ContainerID>{object_id}</ContainerID>'
                f'<SearchCriteria>{xml_escape(criteria)}</SearchCriteria>')
    return ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            f'<u:{action} xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">{args}'
            f'<Filter>*</Filter><StartingIndex>{start}</StartingIndex>'
            f'<RequestedCount>{count}</RequestedCount><SortCriteria></SortCriteria>'
            f'</u:{action}></s:Body></s:Envelope>').encode()


# The User-Agent the measuring client sends (--agent); urllib's otherwise.
AGENT = None


def headers(action):
    h = {
        "content-type": 'text/xml; charset="utf-8"',
        "soapaction": f'"urn:schemas-upnp-org:service:ContentDirectory:1#{action}"',
    }
    if AGENT:
        h["user-agent"] = AGENT
    return h


# A TV's search box: a title text beside a class restriction. Narrow: 10 of
# the 10 000 ("Clip 00420" … "Clip 00429"); broad: every one, 50 per page.
SEARCHES = (
    ("narrow", 'upnp:class derivedfrom "object.item.videoItem" and dc:title contains "Clip 0042"', 10),
    ("broad", 'upnp:class derivedfrom "object.item.videoItem" and dc:title contains "clip"', N_FILES),
)


def parse(data):
    root = ET.fromstring(data)
    return {el.tag.split("}")[-1]: el.text for el in root.iter()}


class Client:
    """Browse requests, each on a new connection or all on one."""

    def __init__(self, host, port, control, keepalive):
        self.host, self.port, self.control, self.keepalive = host, port, control, keepalive
        self.conn = None

    def browse(self, object_id, start, count=PAGE, criteria=None):
        body = envelope(object_id, start, count, criteria)
        t0 = time.perf_counter()
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        action = "Browse" if criteria is None else "Search"
        self.conn.request("POST", self.control, body=body, headers=headers(action))
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - t0
        if not self.keepalive or resp.will_close:
            self.conn.close()
            self.conn = None
        return elapsed, parse(data)


def measure(host, port, control, object_id, requests, keepalive):
    """p50 and p99 (ms) at StartingIndex 0 and 9 950; whether the server kept
    the connection open."""
    client = Client(host, port, control, keepalive)
    rows = []
    reused = True
    for start in (0, N_FILES - PAGE):
        for _ in range(10):  # warm-up: caches, page cache, lazy init
            client.browse(object_id, start)
        times = []
        for _ in range(requests):
            t, out = client.browse(object_id, start)
            assert out["NumberReturned"] == str(PAGE), out["NumberReturned"]
            assert out["TotalMatches"] == str(N_FILES), out["TotalMatches"]
            times.append(t * 1000)
            reused = reused and (not keepalive or client.conn is not None)
        times.sort()
        rows.append((start, statistics.median(times), times[int(len(times) * 0.99) - 1]))
    return {"rows": rows, "kept_alive": keepalive and reused}


def measure_search(host, port, control, container, requests):
    """p50 and p99 (ms) of each of SEARCHES from `container`, a new
    connection per request."""
    client = Client(host, port, control, False)
    rows = []
    for name, criteria, want in SEARCHES:
        for _ in range(10):
            client.browse(container, 0, PAGE, criteria)
        times = []
        for _ in range(requests):
            t, out = client.browse(container, 0, PAGE, criteria)
            assert out["TotalMatches"] == str(want), (name, out["TotalMatches"])
            assert out["NumberReturned"] == str(min(want, PAGE)), (name, out["NumberReturned"])
            times.append(t * 1000)
        times.sort()
        rows.append((name, statistics.median(times), times[int(len(times) * 0.99) - 1]))
    return {"rows": rows}


def ensure_tools():
    """Installs what the bench needs that the e2e installer does not bring."""
    subprocess.run(["bash", os.path.join(HERE, "..", "tests", "e2e", "install-deps.sh")], check=True)
    if shutil.which("minidlnad") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                               "minidlna"], check=True, env=env)


def client_cmd(args, ns):
    """How to run this script's measuring client (in `ns` with --lan)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--client"]
    return (["ip", "netns", "exec", ns] + cmd) if ns else cmd


def run_client_mode(ns, host, port, control, object_id, requests, keepalive, search=False):
    req = json.dumps({"host": host, "port": port, "control": control, "object": object_id,
                      "requests": requests, "keepalive": keepalive, "search": search,
                      "agent": AGENT})
    out = subprocess.run(client_cmd(None, ns) + [req], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def wait_browsable(ns, host, port, control, object_id, want, secs):
    """Poll (from the client's side) until the container lists `want` items."""
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            req = json.dumps({"host": host, "port": port, "control": control,
                              "object": object_id, "probe": True})
            out = subprocess.run(client_cmd(None, ns) + [req], capture_output=True, text=True,
                                 timeout=30)
            if out.returncode == 0 and json.loads(out.stdout).get("total") == str(want):
                return
        except Exception:
            pass
        time.sleep(1)
    raise RuntimeError(f"{host}:{port} did not list {want} items within {secs} s")


def make_clips(tmp):
    """A folder of N_FILES short clips (hard links of one made by ffmpeg)
    in `tmp` and a torrent of it: (folder, .torrent path, info hash)."""
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
    return media, torrent, info_hash(torrent)


def write_config(tmp, host, port, iface):
    """A swarmcast config for a bench: state in `tmp`, DHT off, SSDP on
    `iface`, no provider that reaches outside. Its path."""
    cfg = os.path.join(tmp, "swarmcast.toml")
    with open(cfg, "w") as f:
        f.write(f'[server]\nlisten = "{host}:{port}"\nssdp-interfaces = ["{iface}"]\n'
                f'[storage]\nstate-dir = "{tmp}/state"\ndownload-dir = "{tmp}/dl"\n'
                '[torrent]\nlisten-port = 0\ndht = false\n'
                '[subtitles.podnapisi]\nenabled = false\n'
                '[search.internet-archive]\nenabled = false\n')
    return cfg


def serve_and_measure(args, host, iface, client_ns):
    tmp = tempfile.mkdtemp(prefix="swarmcast-browse.")
    procs = []
    try:
        media, torrent, ih = make_clips(tmp)
        seeder_port = None
        if args.downloading:
            seeder_port = free_port()
            procs.append(subprocess.Popen(
                ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                 "--enable-peer-exchange=false", f"--listen-port={seeder_port}",
                 "--seed-ratio=0.0", "--bt-seed-unverified=true", "--check-integrity=false",
                 f"--max-overall-upload-limit={args.downloading}", "--console-log-level=warn",
                 "--summary-interval=0", "-d", tmp, torrent],
                stdout=open(os.path.join(tmp, "aria2c.log"), "wb"), stderr=subprocess.STDOUT))

        # swarmcast
        port = free_port()
        cfg = write_config(tmp, host, port, iface)
        sc = subprocess.Popen([os.path.abspath(args.swarmcast), "serve", "--config", cfg],
                              stdout=open(os.path.join(tmp, "swarmcast.log"), "wb"),
                              stderr=subprocess.STDOUT)
        procs.append(sc)
        base = f"http://{host}:{port}"
        deadline = time.time() + 60
        while True:
            try:
                if seeder_port:
                    magnet = f"magnet:?xt=urn:btih:{ih}&x.pe={host}:{seeder_port}"
                    req = urllib.request.Request(base + "/api/torrents",
                                                 data=json.dumps({"uri": magnet}).encode(),
                                                 method="POST",
                                                 headers={"content-type": "application/json"})
                else:
                    req = urllib.request.Request(base + "/api/torrents",
                                                 data=open(torrent, "rb").read(), method="POST",
                                                 headers={"content-type":
                                                          "application/x-bittorrent"})
                urllib.request.urlopen(req, timeout=120).read()
                break
            except (ConnectionError, urllib.error.URLError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        control = "/upnp/ContentDirectory/control"
        wait_browsable(client_ns, host, port, control, f"t/{ih}", N_FILES, 60)

        # minidlna, scanning the same folder
        mport = free_port()
        mconf = os.path.join(tmp, "minidlna.conf")
        with open(mconf, "w") as f:
            f.write(f"port={mport}\nnetwork_interface={iface}\nmedia_dir=V,{media}\n"
                    f"db_dir={tmp}/mdb\nlog_dir={tmp}/mlog\ninotify=no\nfriendly_name=bench\n")
        md = subprocess.Popen(["minidlnad", "-f", mconf, "-d", "-P", os.path.join(tmp, "m.pid")],
                              stdout=open(os.path.join(tmp, "minidlna.log"), "wb"),
                              stderr=subprocess.STDOUT)
        procs.append(md)
        # With a single media_dir, minidlna shows its files straight under
        # "Browse Folders" (object id 64).
        t0 = time.time()
        wait_browsable(client_ns, host, mport, "/ctl/ContentDir", "64", N_FILES, 600)
        where = (f"a two-namespace LAN (veth, client {CLI_IP} → servers {SRV_IP})"
                 if client_ns else "loopback")
        print(f"(issue 7) Browse of a {N_FILES}-item container, {PAGE} per page, "
              f"{args.requests} sequential requests per page after 10 warm-up, on {where} "
              f"(minidlna scanned the folder in {time.time() - t0:.0f} s)")
        if args.agent or args.downloading:
            print(f"  as {args.agent or 'urllib'}; the torrent "
                  + (f"downloading from a seeder at {args.downloading} B/s"
                     if args.downloading else "added as a .torrent, nothing downloading"))
        for keepalive in (False, True):
            mode = "one keep-alive connection" if keepalive else "a new connection per request"
            perf = None
            if args.perf and not keepalive:
                perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-g",
                                         "-p", str(sc.pid), "-o", args.perf],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            ours = run_client_mode(client_ns, host, port, control, f"t/{ih}", args.requests,
                                   keepalive)
            if perf:
                perf.send_signal(signal.SIGINT)
                perf.wait(timeout=60)
            theirs = run_client_mode(client_ns, host, mport, "/ctl/ContentDir", "64",
                                     args.requests, keepalive)
            print(f"  {mode}:")
            for name, res, pid in (("swarmcast", ours, sc.pid), ("minidlna", theirs, md.pid)):
                note = "" if not keepalive or res["kept_alive"] else "  (closed each connection)"
                for start, p50, p99 in res["rows"]:
                    print(f"    {name:9s} StartingIndex {start:5d}: p50 {p50:6.3f} ms  "
                          f"p99 {p99:6.3f} ms   RSS {rss_kb(pid) / 1024:5.1f} MB{note}")
            for (start, p50, _), (_, mp50, _) in zip(ours["rows"], theirs["rows"]):
                target = "<= 0.9x" if start == 0 else "<= 0.3x"
                print(f"    StartingIndex {start:5d}: swarmcast p50 / minidlna p50 = "
                      f"{p50 / mp50:.2f}x (target {target})")
        print(f"(issue 8) Search from the root over the same {N_FILES} items, {PAGE} per page, "
              f"{args.requests} sequential requests each after 10 warm-up, a new connection "
              "per request:")
        ours = run_client_mode(client_ns, host, port, control, "0", args.requests, False, True)
        theirs = run_client_mode(client_ns, host, mport, "/ctl/ContentDir", "0", args.requests,
                                 False, True)
        for name, res, pid in (("swarmcast", ours, sc.pid), ("minidlna", theirs, md.pid)):
            for query, p50, p99 in res["rows"]:
                print(f"    {name:9s} {query:6s}: p50 {p50:6.3f} ms  p99 {p99:6.3f} ms   "
                      f"RSS {rss_kb(pid) / 1024:5.1f} MB")
        for (query, p50, _), (_, mp50, _) in zip(ours["rows"], theirs["rows"]):
            print(f"    {query:6s}: swarmcast p50 / minidlna p50 = {p50 / mp50:.2f}x "
                  "(target <= 1.0x)")
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


def client_main(raw):
    global AGENT
    req = json.loads(raw)
    AGENT = req.get("agent")
    if req.get("probe"):
        c = Client(req["host"], req["port"], req["control"], False)
        _, out = c.browse(req["object"], 0, 1)
        print(json.dumps({"total": out["TotalMatches"]}))
        return
    if req.get("search"):
        print(json.dumps(measure_search(req["host"], req["port"], req["control"], req["object"],
                                        req["requests"])))
        return
    print(json.dumps(measure(req["host"], req["port"], req["control"], req["object"],
                             req["requests"], req["keepalive"])))


def ns_run(*cmd):
    subprocess.run(list(cmd), check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swarmcast", default="target/release/swarmcast")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--lan", action="store_true",
                    help="servers and client in two network namespaces joined by veth (root)")
    ap.add_argument("--agent", help="the User-Agent every request sends (a TV's)")
    ap.add_argument("--downloading", type=int, metavar="BPS",
                    help="add the torrent as a magnet from an aria2c seeder at BPS bytes/s")
    ap.add_argument("--perf", metavar="FILE",
                    help="record a perf profile of swarmcast's new-connection requests")
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global AGENT
    AGENT = args.agent
    if args.client:
        client_main(args.client)
        return
    if not args.lan:
        ensure_tools()
        serve_and_measure(args, "127.0.0.1", "lo", None)
        return
    if args.inside:
        # In the servers' namespace; the client runs in the other one.
        serve_and_measure(args, SRV_IP, "vsrv", os.environ["BROWSE_CLIENT_NS"])
        return
    ensure_tools()
    srv, cli = f"scb-srv-{os.getpid()}", f"scb-cli-{os.getpid()}"
    try:
        ns_run("ip", "netns", "add", srv)
        ns_run("ip", "netns", "add", cli)
        ns_run("ip", "-n", srv, "link", "add", "vsrv", "type", "veth", "peer", "name", "vcli",
               "netns", cli)
        ns_run("ip", "-n", srv, "addr", "add", f"{SRV_IP}/24", "dev", "vsrv")
        ns_run("ip", "-n", cli, "addr", "add", f"{CLI_IP}/24", "dev", "vcli")
        for ns, dev in ((srv, "vsrv"), (cli, "vcli")):
            ns_run("ip", "-n", ns, "link", "set", "lo", "up")
            ns_run("ip", "-n", ns, "link", "set", dev, "up")
            ns_run("ip", "-n", ns, "route", "add", "239.0.0.0/8", "dev", dev)
        env = dict(os.environ, BROWSE_CLIENT_NS=cli)
        extra = (["--agent", args.agent] if args.agent else []) + \
            (["--downloading", str(args.downloading)] if args.downloading else []) + \
            (["--perf", os.path.abspath(args.perf)] if args.perf else [])
        subprocess.run(["ip", "netns", "exec", srv, sys.executable, os.path.abspath(__file__),
                        "--inside", "--lan", "--swarmcast", os.path.abspath(args.swarmcast),
                        "--requests", str(args.requests)] + extra, check=True, env=env)
    finally:
        for ns in (srv, cli):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
