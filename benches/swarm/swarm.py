#!/usr/bin/env python3
"""Swarm benchmark: one trial of one configuration per command (< 10 min).

Four seeders of different software (rqbit, aria2c, transmission,
qbittorrent-nox), each in its own network namespace behind tc tbf at 8, 4,
2 and 1 Mbit/s and a delaying relay (relay.py); the 4 Mbit/s one drops to
50 kbit/s 20 s after each add. The client namespace runs, one after the
other and each fresh: swarmcast's stream, rqbit's own HTTP stream, and a
raw full download by rqbit (the throughput baseline), played by the paced
TV-like reader (player.py) and/or mpv (mpvplay.py). One JSON line per
(server, player) is appended to --out; summarize.py makes the table.

This file owns the trial's order and bookkeeping; netns.py the network,
seeders.py / clients.py the programs, media.py the clip, limits.py the
physical limits. Needs root. See README.md for the commands.
"""
import argparse
import datetime
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

import clients
import common
import limits
import media
import mpvplay
import netns
import player
import seeders

RATES_MBIT = [8, 4, 2, 1]
DROP_INDEX = 1  # the second fastest
TOOLS = ["ip", "tc", "ffmpeg", "ffprobe", "mktorrent", "aria2c", "transmission-daemon",
         "transmission-remote", "qbittorrent-nox"]
PHASE_BUDGET = {"paced": 150, "mpv": 130, "download": 180}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--container", choices=["mp4", "mkv"], default="mp4")
    ap.add_argument("--load", type=int, choices=[50, 80], default=50,
                    help="clip bitrate as %% of the swarm's total rate before the drop")
    ap.add_argument("--server", default="ours,rqbit,raw",
                    help="comma list of ours, rqbit, raw (rqbit downloading the whole "
                         "file), ours-raw (ours downloading it; run in this order)")
    ap.add_argument("--player", default="paced", help="comma list of paced, mpv")
    ap.add_argument("--out", required=True, help="JSON lines file to append to")
    ap.add_argument("--swarmcast", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "target", "release", "swarmcast")),
                    help="the release binary (a copy is run; default: this repo's)")
    ap.add_argument("--rqbit", default="/opt/rqbit-bench/bin/rqbit")
    ap.add_argument("--seeders", default=",".join(seeders.NAMES),
                    help="software for the 8,4,2,1 Mbit/s seeders, in that order")
    ap.add_argument("--rtt-ms", type=float, default=30)
    ap.add_argument("--clip-s", type=int, default=100)
    ap.add_argument("--drop-after-s", type=float, default=20)
    ap.add_argument("--drop-kbit", type=int, default=50)
    ap.add_argument("--mpv-length-s", type=int, default=60)
    ap.add_argument("--max-buffer-mib", type=float, default=16,
                    help="the paced reader's buffer (a TV's is small)")
    ap.add_argument("--budget-s", type=float, default=570,
                    help="wall-clock bound of the whole command; phases that no "
                         "longer fit are recorded as skipped")
    ap.add_argument("--cache", default="/var/tmp/scsw-media",
                    help="where the generated clips are kept between runs")
    ap.add_argument("--distinct-source-ips", action="store_true",
                    help="each relay connection to a seeder from a new client address: "
                         "works around transmission refusing librqbit's reconnect after "
                         "the metadata connection (README)")
    ap.add_argument("--keep-work", action="store_true", help="keep logs (printed path)")
    args = ap.parse_args()
    args.server = [s for s in args.server.split(",") if s]
    args.player = [p for p in args.player.split(",") if p]
    args.seeders = args.seeders.split(",")
    servers = {"ours", "rqbit", "raw", "ours-raw"}
    bad = (set(args.server) - servers) | (set(args.player) - {"paced", "mpv"})
    if bad or sorted(args.seeders) != sorted(seeders.NAMES):
        ap.error(f"bad --server/--player/--seeders: {bad or args.seeders}")
    missing = missing_tools(args)
    if missing:
        ap.error(f"missing: {', '.join(missing)} (README.md: the install commands)")
    return args


def missing_tools(args):
    tools = TOOLS + (["mpv"] if "mpv" in args.player else [])
    return ([t for t in tools if not shutil.which(t)] +
            [p for p in (args.swarmcast, args.rqbit) if not os.access(p, os.X_OK)])


def phases(args):
    for server in args.server:
        if server in ("raw", "ours-raw"):
            yield server, "download"
        else:
            yield from ((server, p) for p in args.player)


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, tc)")
    signal.signal(signal.SIGTERM, on_sigterm)
    work = tempfile.mkdtemp(prefix=f"scsw-{os.getpid()}-")
    procs, net = common.Procs(), netns.Net(len(RATES_MBIT))
    try:
        Trial(args, work, procs, net).run()
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        sys.exit(130)
    finally:
        procs.stop_all()
        net.down()
        if args.keep_work:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def on_sigterm(*_):
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


class Trial:
    """One trial: the network, the seeders, then each phase in turn."""

    def __init__(self, args, work, procs, net):
        self.args, self.work, self.procs, self.net = args, work, procs, net
        self.started = time.monotonic()

    def run(self):
        args = self.args
        self.bins = copy_binaries(args, self.work)
        self.clip = clip = media.make(args.cache, args.container, args.load / 100,
                                      sum(RATES_MBIT) * 1e6, args.clip_s)
        print(f"clip: {clip['name']} {clip['size'] / 1e6:.1f} MB, "
              f"{clip['byte_rate'] * 8 / 1e6:.2f} Mbit/s, {clip['duration']:.0f} s, "
              f"{clip['pieces']} pieces of {clip['piece_length'] >> 10} KiB")
        self.start_swarm()
        qbt = seeders.qbittorrent_prefs(self.net,
                                        self.net.seeder_ns[args.seeders.index("qbittorrent")])
        lim = limits.compute(clip, RATES_MBIT, DROP_INDEX, args.drop_kbit, args.drop_after_s,
                             args.rtt_ms / 1000, [f for k, f, _ in player.SCRIPT if k == "seek"])
        base = base_record(args, clip, self.bins, lim, qbt)
        for server, kind in phases(args):
            left = args.budget_s - (time.monotonic() - self.started)
            if left < PHASE_BUDGET[kind] + 15:
                m = {"skipped": f"{left:.0f} s left of the budget"}
            else:
                m = self.phase(server, kind)
            rec = dict(base, server=server, player=kind, metrics=m)
            with open(args.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(human(rec))
        print(f"limits: {json.dumps(lim)}")
        print(f"wall {time.monotonic() - self.started:.0f} s; appended to {args.out}")

    def start_swarm(self):
        """Namespaces, shaping, seeders and relays; then this process moves
        into the client namespace and checks every seeder through its relay."""
        net, args = self.net, self.args
        net.up()
        for i, rate in enumerate(RATES_MBIT):
            net.shape(i, f"{rate}mbit")
        pool = None
        if args.distinct_source_ips:
            ips = net.client_aliases(16 * len(RATES_MBIT))
            pool = [ips[16 * i:16 * (i + 1)] for i in range(len(RATES_MBIT))]
        self.peers = seeders.start_all(self.procs, net, args.seeders, self.clip, self.work,
                                       self.bins["rqbit"], args.rtt_ms, pool)
        net.move_into(net.client_ns)
        ready = seeders.wait_seeding(self.peers, self.clip)
        print(f"seeding (s to ready): {ready}")
        time.sleep(2)  # transmission keys peers by IP: let it forget the probes

    def phase(self, server, kind):
        """One fresh client, one add, one player; returns the metrics."""
        d = tempfile.mkdtemp(prefix=f"{server}-{kind}-", dir=self.work)
        self.net.shape(DROP_INDEX, f"{RATES_MBIT[DROP_INDEX]}mbit", change=True)
        time.sleep(1)  # the last client's connections are gone
        before = seeders.relay_counts(self.peers)
        before["_link_rx"] = self.net.client_rx_bytes()
        ours = server.startswith("ours")
        cls = clients.Swarmcast if ours else clients.Rqbit
        try:
            client = cls(self.procs, self.net, d, self.bins["swarmcast" if ours else "rqbit"],
                         self.clip["info_hash"])
        except Exception as e:
            return {"error": f"client did not start: {type(e).__name__}: {e}"}
        m = self.add_and_play(client, kind, d)
        m.update(self.counts(client, kind, before))
        return m

    def add_and_play(self, client, kind, d):
        args, net = self.args, self.net
        sampler = Sampler(client, self.peers)
        t0 = time.monotonic()
        drop = threading.Timer(args.drop_after_s, lambda: net.shape(
            DROP_INDEX, f"{args.drop_kbit}kbit", change=True))
        drop.daemon = True
        drop.start()
        m = {}
        try:
            url = client.add([addr for _, addr, _ in self.peers])
            m["add_s"] = round(time.monotonic() - t0, 3)
            sampler.start(t0)
            m.update(self.play(client, url, kind, t0, d))
        except Exception as e:
            m["error"] = f"{type(e).__name__}: {e}"
        finally:
            drop.cancel()
            sampler.stop()
        m["timeline"] = sampler.timeline
        return m

    def play(self, client, url, kind, t0, d):
        clip, deadline = self.clip, t0 + PHASE_BUDGET[kind]
        if kind == "paced":
            return player.Player(url, clip["container"], clip["size"], clip["byte_rate"], t0,
                                 deadline, int(self.args.max_buffer_mib * 2**20)).run()
        if kind == "mpv":
            return mpvplay.run(self.procs, self.net.exec_prefix(self.net.client_ns), url,
                               self.args.mpv_length_s, t0, deadline,
                               os.path.join(d, "mpv.log"))

        def finished():
            try:
                return client.progress()["finished"]
            except OSError:
                return False
        common.wait_until("full download", finished, deadline - time.monotonic(), 0.1)
        return {"download_s": round(time.monotonic() - t0, 3), "completed": True}

    def counts(self, client, kind, before):
        """The engine's figures, then (client stopped) the relays' bytes."""
        out = {}
        try:
            p = client.progress()
            out.update(verified_bytes=p["verified"], engine_fetched_bytes=p["fetched"],
                       peers_at_end=p["peers"])
            if p["fetched"] is not None:
                out["engine_wasted_bytes"] = p["fetched"] - p["verified"]
            out["server_metrics"] = client.metrics()
        except Exception as e:
            out["stats_error"] = f"{type(e).__name__}: {e}"
        self.procs.stop(client.proc)
        time.sleep(1)
        after = seeders.relay_counts(self.peers)
        out["client_link_rx_bytes"] = self.net.client_rx_bytes() - before["_link_rx"]
        out["per_seeder_down"] = {n: after[n]["down"] - before[n]["down"] for n in after}
        out["received_bytes"] = sum(out["per_seeder_down"].values())
        out["wasted_bytes"] = out["received_bytes"] - (
            self.clip["size"] if kind == "download" else out.get("verified_bytes", 0))
        return out


def copy_binaries(args, work):
    """The release binary may be rebuilt at any time: run a private copy."""
    d = os.path.join(work, "bin")
    os.makedirs(d)
    out = {}
    for name, src in (("swarmcast", args.swarmcast), ("rqbit", args.rqbit)):
        dst = os.path.join(d, name)
        shutil.copy2(src, dst)
        out[name] = dst
        out[name + "_sha256"] = hashlib.sha256(open(dst, "rb").read()).hexdigest()[:16]
        out[name + "_mtime"] = datetime.datetime.fromtimestamp(
            os.path.getmtime(src), datetime.timezone.utc).isoformat(timespec="seconds")
    return out


def base_record(args, clip, bins, lim, qbt):
    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "run": now.strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}",
        "config": {"container": args.container, "load": args.load, "clip_s": args.clip_s,
                   "rtt_ms": args.rtt_ms, "rates_mbit": RATES_MBIT, "seeders": args.seeders,
                   "drop": {"seeder": args.seeders[DROP_INDEX], "to_kbit": args.drop_kbit,
                            "after_s": args.drop_after_s},
                   "piece_kib": clip["piece_length"] >> 10, "size": clip["size"],
                   "bitrate_mbit": round(clip["byte_rate"] * 8 / 1e6, 3),
                   "max_buffer_mib": args.max_buffer_mib,
                   "distinct_source_ips": args.distinct_source_ips},
        "binaries": {k: v for k, v in bins.items() if k.endswith(("sha256", "mtime"))},
        "qbittorrent_prefs": qbt,
        "limit": lim,
    }


class Sampler:
    """Every second: [s since add, verified MB, [MB read from each seeder
    since the phase began, in --seeders order]]."""

    def __init__(self, client, peers):
        self.client, self.peers, self.timeline = client, peers, []
        self.halt = threading.Event()
        self.thread = None

    def start(self, t0):
        base = seeders.relay_counts(self.peers)

        def loop():
            while not self.halt.wait(1.0):
                try:
                    v = self.client.progress()["verified"]
                except Exception:
                    continue
                now = seeders.relay_counts(self.peers)
                per = [round((now[n]["down"] - base[n]["down"]) / 1e6, 2) for n in now]
                self.timeline.append([round(time.monotonic() - t0, 1), round(v / 1e6, 2), per])
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.halt.set()
        if self.thread:
            self.thread.join(timeout=15)


def human(rec):
    m, lim = rec["metrics"], rec["limit"]
    head = f"{rec['server']:5s} {rec['player']:8s}"
    if "skipped" in m:
        return f"{head} skipped: {m['skipped']}"
    parts = []
    if "startup_s" in m:
        parts.append(f"start-up {m['startup_s']} s (limit {lim['startup_s']})")
    if "stall_count" in m:
        parts.append(f"stalls {m['stall_count']} / {m['stall_s']} s")
    if m.get("seeks"):
        parts.append("seek→resume " + ", ".join(
            f"{s['to']:.0%}: {s['resume_s']}" for s in m["seeks"]))
    if "download_s" in m:
        parts.append(f"download {m['download_s']} s (limit {lim['download_s']})")
    if "counts" in m:
        parts.append(f"mpv counts {m['counts']}")
    parts.append(f"received {m.get('received_bytes', 0) / 1e6:.1f} MB, "
                 f"wasted {m.get('wasted_bytes', 0) / 1e6:.1f} MB")
    if m.get("error"):
        parts.append(f"ERROR {m['error']}")
    return head + " " + "; ".join(parts)


if __name__ == "__main__":
    main()
