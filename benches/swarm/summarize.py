#!/usr/bin/env python3
"""Reads the swarm bench's JSON lines (swarm.py --out) and prints Markdown:
per configuration (container, load, player) one table with, per metric,
the median and the spread (min–max) over trials for ours, rqbit and the
physical limit, and the ratios of the medians ours/rqbit and ours/limit.
The whole file downloaded (rqbit's "raw", the throughput baseline, and
"ours-raw", ours) gets its own table.

Usage: python3 summarize.py results.jsonl [more.jsonl …]
"""
import json
import statistics
import sys
from collections import defaultdict

# (label, how to get it from a record's metrics, the limit key or None)
PLAYER_METRICS = [
    ("start-up (s)", lambda m: m.get("startup_s"), "startup_s"),
    ("the seeders had sent its bytes (s)", lambda m: m.get("sent_by_s"), "startup_s"),
    ("stalls (count)", lambda m: m.get("stall_count"), None),
    ("stalled (s)", lambda m: m.get("stall_s"), None),
    ("seek 60 % → resume (s)", lambda m: seek(m, 0.60), "seek_s"),
    ("seek 20 % → resume (s)", lambda m: seek(m, 0.20), "seek_s"),
    ("seek 95 % → resume (s)", lambda m: seek(m, 0.95), "seek_s"),
    ("received (MB)", lambda m: mb(m.get("received_bytes")), None),
    ("wasted (MB)", lambda m: mb(m.get("wasted_bytes")), None),
]
DOWNLOAD_METRICS = [
    ("full download (s)", lambda m: m.get("download_s"), "download_s"),
    ("received (MB)", lambda m: mb(m.get("received_bytes")), None),
    ("wasted (MB)", lambda m: mb(m.get("wasted_bytes")), None),
]


def seek(m, frac):
    for s in m.get("seeks") or []:
        if abs(s["to"] - frac) < 1e-6:
            return s["resume_s"]
    return None


def mb(v):
    return None if v is None else v / 1e6


def load(paths):
    recs = []
    for path in paths:
        with open(path) as f:
            recs += [json.loads(line) for line in f if line.strip()]
    recs = [r for r in recs if "skipped" not in r["metrics"]]
    for r in recs:
        r["metrics"]["sent_by_s"] = sent_by(r)
    return recs


def sent_by(r):
    """When the seeders had sent the client, together, the start-up's
    bytes (the limit's `startup_bytes`: head, index and 2 s of media): a
    start-up no engine could beat with the bytes the swarm actually sent in
    that trial — its connections, handshakes and first unchokes are in it,
    which the limit leaves out. Interpolated between the timeline's samples
    (one a second, each seeder's bytes through its relay); None without a
    timeline or if it never got there."""
    lim, timeline = r["limit"], r["metrics"].get("timeline") or []
    need = lim["startup_bytes"] / 1e6
    t0, sent0 = 0.0, 0.0
    for t, _, per_seeder in timeline:
        sent = sum(per_seeder)
        if sent >= need:
            return t0 + (t - t0) * (need - sent0) / (sent - sent0)
        t0, sent0 = t, sent
    return None


def stat(values):
    """(median, min, max, n, missing) of the numbers (None: a trial that
    never got there, e.g. a seek that did not resume), or None when no
    trial has a number."""
    values = list(values)
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return (statistics.median(vals), min(vals), max(vals), len(vals),
            len(values) - len(vals))


def cell(s):
    if s is None:
        return "–"
    med, lo, hi, n, missing = s
    text = f"{med:.2f} ({lo:.2f}–{hi:.2f}, n={n})" if n > 1 else f"{med:.2f} (n=1)"
    return text + (f" +{missing} never" if missing else "")


def ratio(a, b):
    """a/b of the medians; "–" when b is about zero (an instant resume, no
    stalls), where a ratio says nothing."""
    if a is None or b is None or abs(b[0]) < 0.05:
        return "–"
    return f"{a[0] / b[0]:.2f}×"


def table(title, recs, metrics, servers):
    by_server = defaultdict(list)
    for r in recs:
        by_server[r["server"]].append(r)
    runs = len({r["run"] for r in recs})
    out = [f"### {title} — {runs} trial(s)", "",
           "| metric | " + " | ".join(servers) + " | limit | " +
           " | ".join(f"{s}/{t}" for s, t in ratio_pairs(servers)) + " |",
           "|---" * (len(servers) + 2 + len(ratio_pairs(servers))) + "|"]
    for label, get, lim_key in metrics:
        stats = {s: stat(get(r["metrics"]) for r in by_server[s]) for s in servers}
        limits = {r["run"]: r["limit"][lim_key] for r in recs} if lim_key else {}
        stats["limit"] = stat(limits.values())
        if all(stats[s] is None for s in servers):
            continue
        row = [label] + [cell(stats[s]) for s in servers] + [cell(stats["limit"])]
        row += [ratio(stats[a], stats[b]) for a, b in ratio_pairs(servers)]
        out.append("| " + " | ".join(row) + " |")
    errors = [f"{r['run']} {r['server']}: {r['metrics']['error']}" for r in recs
              if r["metrics"].get("error")]
    if errors:
        out += ["", "Errors: " + "; ".join(errors)]
    return "\n".join(out) + "\n"


def ratio_pairs(servers):
    pairs = [(a, b) for a, b in (("ours", "rqbit"), ("ours-raw", "raw"))
             if {a, b} <= set(servers)]
    return pairs + [(s, "limit") for s in servers if s in ("ours", "raw", "ours-raw")]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    groups = defaultdict(list)
    for r in load(sys.argv[1:]):
        c = r["config"]
        key = (c["container"], c["load"], r["player"], c.get("distinct_source_ips", False),
               c["rtt_ms"], c["clip_s"])
        groups[key].append(r)
    for (container, load_pct, player, distinct, rtt, clip_s), recs in sorted(groups.items()):
        c = recs[0]["config"]
        title = (f"{container}, {load_pct} % load ({c['bitrate_mbit']} Mbit/s, {clip_s} s), "
                 f"{player}, RTT {rtt:g} ms" + (", distinct source IPs" if distinct else ""))
        if player == "download":
            servers = [s for s in ("ours-raw", "raw") if any(r["server"] == s for r in recs)]
            print(table(title + " (the whole file)", recs, DOWNLOAD_METRICS, servers))
        else:
            servers = [s for s in ("ours", "rqbit") if any(r["server"] == s for r in recs)]
            print(table(title, recs, PLAYER_METRICS, servers))
    print("Medians over trials; (min–max, n). Limits: see limits.py. "
          "Ratios are of medians; < 1 means ours is faster.")


if __name__ == "__main__":
    main()
