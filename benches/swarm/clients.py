"""The leechers under test, each started fresh (empty state and download
folders) in the client namespace, reached on its loopback:

  Swarmcast  the release binary, `serve` with a config that turns off DHT,
             LSD, port forwarding, Internet Archive search and subtitle
             providers, SSDP on `lo` only; add = POST /api/torrents with a
             magnet whose `x.pe` are the relays; progress from GET
             /api/torrents, server figures from GET /metrics.
  Rqbit      `rqbit server start` with DHT/LSD/UPnP/trackers off; add =
             POST /torrents?initial_peers=… with the magnet; stream at
             /torrents/{id}/stream/0; progress from /torrents/{ih}/stats/v1.

Both answer `add(peers)` with the stream URL once the metadata is in.
"""
import json
import os
import urllib.parse

import common

HTTP_PORT = 8740
PEER_PORT = 4240

SWARMCAST_CONFIG = """[server]
listen = "127.0.0.1:{http}"
ssdp-interfaces = ["lo"]
[storage]
state-dir = "{work}/state"
download-dir = "{work}/dl"
max-disk-usage = "20 GiB"
[torrent]
listen-port = {peer}
dht = false
local-peer-discovery = false
port-forwarding = false
[search.internet-archive]
enabled = false
[subtitles.podnapisi]
enabled = false
"""


class Swarmcast:
    name = "ours"

    def __init__(self, procs, net, work, binary, info_hash):
        self.base = f"http://127.0.0.1:{HTTP_PORT}"
        self.ih = info_hash
        cfg = os.path.join(work, "swarmcast.toml")
        with open(cfg, "w") as f:
            f.write(SWARMCAST_CONFIG.format(http=HTTP_PORT, work=work, peer=PEER_PORT))
        # swarmcast reads its log filter from SWARMCAST_LOG (e.g.
        # "info,librqbit=warn,librqbit::torrent_state::live=trace" shows
        # each piece reserved and taken over; with --keep-work).
        env = dict(os.environ, HOME=work,
                   SWARMCAST_LOG=os.environ.get("SWARMCAST_LOG", "info,librqbit=warn"))
        self.proc = procs.start(net.exec_prefix(net.client_ns) + [binary, "serve", "--config", cfg],
                                os.path.join(work, "swarmcast.log"), env=env)
        common.wait_port("127.0.0.1", HTTP_PORT, 30, self.proc)

    def add(self, peers):
        magnet = f"magnet:?xt=urn:btih:{self.ih}" + "".join(f"&x.pe={p}" for p in peers)
        body = common.http_json("POST", self.base + "/api/torrents",
                                json.dumps({"uri": magnet}).encode(),
                                {"content-type": "application/json"}, timeout=90)
        return self.base + body["files"][0]["url"]

    def progress(self):
        for t in common.http_json("GET", self.base + "/api/torrents", timeout=10):
            if t["info_hash"] == self.ih and t.get("progress"):
                p = t["progress"]
                return {"verified": p["bytes_done"], "fetched": None, "peers": p["peers"],
                        "finished": p["finished"]}
        return {"verified": 0, "fetched": None, "peers": 0, "finished": False}

    def metrics(self):
        """The server's own view: swarmcast_* samples without labels (builds
        without GET /metrics answer 404: noted, not an error)."""
        try:
            text = common.http("GET", self.base + "/metrics", timeout=10)[1].decode()
        except RuntimeError as e:
            if "HTTP 404" in str(e):
                return {"unavailable": "GET /metrics: 404 in this build"}
            raise
        out = {}
        for line in text.splitlines():
            if line.startswith("swarmcast_") and "{" not in line:
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out


class Rqbit:
    name = "rqbit"

    def __init__(self, procs, net, work, binary, info_hash):
        self.base = f"http://127.0.0.1:{HTTP_PORT}"
        self.ih = info_hash
        env = dict(os.environ, HOME=work, XDG_CACHE_HOME=work, XDG_CONFIG_HOME=work,
                   XDG_DATA_HOME=work)
        self.proc = procs.start(net.exec_prefix(net.client_ns) + [
            binary, "--disable-dht", "--disable-dht-persistence", "--disable-lsd",
            "--disable-upnp-port-forward", "--disable-trackers",
            "--http-api-listen-addr", f"127.0.0.1:{HTTP_PORT}", "--listen-port", str(PEER_PORT),
            "server", "start", "--disable-persistence", os.path.join(work, "dl")],
            os.path.join(work, "rqbit.log"), env=env)
        common.wait_port("127.0.0.1", HTTP_PORT, 30, self.proc)

    def add(self, peers):
        q = urllib.parse.urlencode({"initial_peers": ",".join(peers), "overwrite": "true"})
        body = common.http_json("POST", f"{self.base}/torrents?{q}",
                                f"magnet:?xt=urn:btih:{self.ih}".encode(), timeout=90)
        return f"{self.base}/torrents/{body.get('id', self.ih)}/stream/0"

    def progress(self):
        s = common.http_json("GET", f"{self.base}/torrents/{self.ih}/stats/v1", timeout=10)
        live = s.get("live") or {}
        snap = live.get("snapshot") or {}
        return {"verified": s.get("progress_bytes", 0), "fetched": snap.get("fetched_bytes"),
                "peers": (snap.get("peer_stats") or {}).get("live"),
                "finished": bool(s.get("finished"))}

    def metrics(self):
        return {}
