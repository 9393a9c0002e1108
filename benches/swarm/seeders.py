"""The four seeders, each different software, each in its own namespace
with its own copy of the data, DHT/LSD/PEX/port forwarding off and no
trackers: rqbit (`rqbit server start` + POST /torrents?overwrite=true),
aria2c (--check-integrity), transmission-daemon (settings.json +
transmission-remote) and qbittorrent-nox (qBittorrent.conf +
--skip-hash-check). Each listens on SEED_PORT inside its namespace. What
the client dials is a delaying relay (relay.py) per seeder, in the client
namespace: it reads what crossed the seeder's shaped link, so its byte
count is what reached the client's host.

`start_all` starts them and their relays; `wait_seeding` returns once every
seeder, probed through its relay with a BitTorrent handshake, has every
piece; `relay_counts` reads the relays' byte counts.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import common

SEED_PORT = 6881
RELAY_PORT = 7001
API_PORT = 9091
NAMES = ["rqbit", "aria2c", "transmission", "qbittorrent"]


def start_all(procs, net, names, media, work, rqbit_bin, rtt_ms, source_ips=None):
    """Seeder i runs software names[i]; its relay listens in the client
    namespace on 127.0.0.1:RELAY_PORT+i (connecting from `source_ips[i]`, a
    list, when given). Returns [(name, relay "ip:port", relay stats file)]."""
    peers = []
    for i, name in enumerate(names):
        ns = net.seeder_ns[i]
        d = os.path.join(work, f"seed{i + 1}-{name}")
        data = os.path.join(d, "data")
        os.makedirs(os.path.join(d, "home"))
        os.makedirs(data)
        shutil.copy(media["path"], data)
        home = os.path.join(d, "home")
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home,
                   XDG_DATA_HOME=home, RUST_BACKTRACE="0")
        STARTERS[name](procs, net, ns, d, data, media, env, rqbit_bin)
        relay = f"127.0.0.1:{RELAY_PORT + i}"
        stats = os.path.join(d, "relay.json")
        procs.start(net.exec_prefix(net.client_ns) + [
            sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py"),
            "--listen", relay, "--to", f"{net.seeder_ip(i)}:{SEED_PORT}",
            "--delay-ms", str(rtt_ms / 2), "--stats", stats,
            "--source-ips", ",".join(source_ips[i] if source_ips else [])],
            os.path.join(d, "relay.log"))
        peers.append((name, relay, stats))
    return peers


def wait_seeding(peers, media, secs=240):
    """From the client namespace: every relay reached, every seeder has all
    pieces. Returns seconds taken per seeder."""
    took, t0 = {}, time.monotonic()
    for name, addr, _ in peers:
        host, port = addr.split(":")

        def probe():
            try:
                return common.bt_probe(host, int(port), media["info_hash"], media["pieces"])
            except OSError:
                return False
        left = secs - (time.monotonic() - t0)
        common.wait_until(f"{name} seeding all pieces through {addr}", probe, max(left, 1), 1.0)
        took[name] = round(time.monotonic() - t0, 1)
    return took


def relay_counts(peers):
    out = {}
    for name, _, path in peers:
        try:
            out[name] = json.load(open(path))
        except (OSError, ValueError):
            out[name] = {"down": 0, "up": 0, "connections": 0}
    return out


def start_rqbit(procs, net, ns, d, data, media, env, rqbit_bin):
    api = f"127.0.0.1:{API_PORT}"
    p = procs.start(net.exec_prefix(ns) + [
        rqbit_bin, "--disable-dht", "--disable-dht-persistence", "--disable-lsd",
        "--disable-upnp-port-forward", "--disable-trackers", "--http-api-listen-addr", api,
        "--listen-port", str(SEED_PORT), "server", "start", "--disable-persistence",
        os.path.join(d, "out")], os.path.join(d, "seeder.log"), env=env)
    with net.enter(ns):
        common.wait_port("127.0.0.1", API_PORT, 60, p)
        q = urllib.parse.urlencode({"overwrite": "true", "output_folder": data})
        common.http("POST", f"http://{api}/torrents?{q}", open(media["torrent"], "rb").read())


def start_aria2c(procs, net, ns, d, data, media, env, _):
    procs.start(net.exec_prefix(ns) + [
        "aria2c", "--no-conf", "--enable-dht=false", "--enable-dht6=false",
        "--bt-enable-lpd=false", "--enable-peer-exchange=false", "--bt-exclude-tracker=*",
        "--disable-ipv6=true", f"--listen-port={SEED_PORT}", "--seed-ratio=0.0",
        "--check-integrity=true", "--bt-seed-unverified=false", "--file-allocation=none",
        "--summary-interval=0", "--console-log-level=notice", "-d", data, media["torrent"]],
        os.path.join(d, "seeder.log"), env=env)


TRANSMISSION = {
    "dht-enabled": False, "pex-enabled": False, "lpd-enabled": False, "utp-enabled": False,
    "port-forwarding-enabled": False, "peer-port": SEED_PORT,
    "peer-port-random-on-start": False, "rpc-enabled": True, "rpc-bind-address": "127.0.0.1",
    "rpc-port": API_PORT, "rpc-authentication-required": False, "blocklist-enabled": False,
    "encryption": 0, "speed-limit-up-enabled": False, "ratio-limit-enabled": False,
    "idle-seeding-limit-enabled": False, "start-added-torrents": True, "message-level": 2,
}


def start_transmission(procs, net, ns, d, data, media, env, _):
    conf = os.path.join(d, "transmission")
    os.makedirs(conf)
    json.dump(dict(TRANSMISSION, **{"download-dir": data}),
              open(os.path.join(conf, "settings.json"), "w"), indent=1)
    p = procs.start(net.exec_prefix(ns) + ["transmission-daemon", "-f", "-g", conf],
                    os.path.join(d, "seeder.log"), env=env)
    with net.enter(ns):
        common.wait_port("127.0.0.1", API_PORT, 60, p)
    remote = net.exec_prefix(ns) + ["transmission-remote", f"127.0.0.1:{API_PORT}"]
    # Adding a torrent whose data exists makes transmission verify it.
    subprocess.run(remote + ["-a", media["torrent"], "-w", data], check=True, timeout=30,
                   capture_output=True, env=env)


QBITTORRENT = """[LegalNotice]
Accepted=true

[BitTorrent]
Session\\DHTEnabled=false
Session\\LSDEnabled=false
Session\\PeXEnabled=false
Session\\Port={port}
Session\\QueueingSystemEnabled=false
Session\\DefaultSavePath={data}
Session\\Encryption=0

[Network]
PortForwardingEnabled=false

[Preferences]
Connection\\UPnP=false
Connection\\ResolvePeerCountries=false
WebUI\\Address=127.0.0.1
WebUI\\LocalHostAuth=false
WebUI\\UseUPnP=false
"""


def start_qbittorrent(procs, net, ns, d, data, media, env, _):
    prof = os.path.join(d, "qbt")
    os.makedirs(os.path.join(prof, "qBittorrent", "config"))
    with open(os.path.join(prof, "qBittorrent", "config", "qBittorrent.conf"), "w") as f:
        f.write(QBITTORRENT.format(port=SEED_PORT, data=data))
    procs.start(net.exec_prefix(ns) + [
        "qbittorrent-nox", f"--profile={prof}", f"--webui-port={API_PORT}",
        f"--torrenting-port={SEED_PORT}", f"--save-path={data}", "--skip-hash-check",
        media["torrent"]], os.path.join(d, "seeder.log"), env=env)


STARTERS = {"rqbit": start_rqbit, "aria2c": start_aria2c, "transmission": start_transmission,
            "qbittorrent": start_qbittorrent}


def qbittorrent_prefs(net, ns):
    """What qBittorrent says about DHT/PEX/LSD/UPnP (for the log)."""
    with net.enter(ns):
        p = common.http_json("GET", f"http://127.0.0.1:{API_PORT}/api/v2/app/preferences")
    return {k: p.get(k) for k in ("dht", "pex", "lsd", "upnp", "listen_port")}
