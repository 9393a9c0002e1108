"""mpv as the second player: `mpv --vo=null --ao=null --no-config
--msg-level=all=v --length=N URL`, its output read line by line with the
time each line arrived. Reported as mpv says it: the first "playback
restart complete" (first frame) against the add, each "Enter buffering" /
"End buffering (waited X secs)" pair, and the number of lines that mention
"Paused due to cache", "cache" underruns, or "buffering". mpv is ended by
its PID at the deadline.
"""
import os
import re
import subprocess
import threading
import time

PATTERNS = {
    "enter_buffering": re.compile(r"Enter buffering"),
    "end_buffering": re.compile(r"End buffering \(waited ([0-9.]+) secs\)"),
    "paused_for_cache": re.compile(r"Paused due to cache|paused.for.cache", re.I),
    # "audio end or underrun" is also said at every normal end: not counted.
    "underrun": re.compile(r"(?<!end or )underrun", re.I),
    # the status line (one per update) while mpv waits for its cache
    "status_buffering": re.compile(r"^\(Buffering\)|^\(Paused\)"),
}
ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run(procs, exec_prefix, url, seconds, t0, deadline, log):
    args = exec_prefix + ["mpv", "--vo=null", "--ao=null", "--no-config", "--ytdl=no",
                          "--msg-level=all=v", f"--length={seconds}", url]
    lines = []
    p = procs.popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL)

    def reader():
        # mpv rewrites its status line with \r: each rewrite is a line here.
        for raw in p.stdout:
            now = time.monotonic()
            text = ESCAPES.sub("", raw.decode("utf-8", "replace"))
            lines.extend((now, part.strip()) for part in text.split("\r") if part.strip())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    timed_out = False
    try:
        p.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
    procs.stop(p, grace=5)
    t.join(timeout=5)
    with open(log, "w") as f:
        f.writelines(f"{when - t0:9.3f} {line}\n" for when, line in lines)
    out = parse(lines, t0)
    out.update(exit_code=p.returncode, timed_out=timed_out,
               completed=not timed_out and p.returncode == 0,
               wall_s=round(time.monotonic() - t0, 3))
    return out


def parse(lines, t0):
    out = {"startup_s": None, "stalls": [], "counts": {k: 0 for k in PATTERNS}, "said": []}
    entered = None
    for when, line in lines:
        if out["startup_s"] is None and "playback restart complete" in line:
            out["startup_s"] = round(when - t0, 3)
        for key, rx in PATTERNS.items():
            m = rx.search(line)
            if not m:
                continue
            out["counts"][key] += 1
            if len(out["said"]) < 20 and key != "status_buffering":
                out["said"].append(f"{when - t0:.2f} {line[:160]}")
            if key == "enter_buffering":
                entered = when
            elif key == "end_buffering":
                out["stalls"].append([round((entered or when) - t0, 3), float(m.group(1))])
                entered = None
    if entered is not None:
        out["stalls"].append([round(entered - t0, 3), None, "unfinished"])
    # Buffering before the first frame is start-up, not a stall.
    first = out["startup_s"] if out["startup_s"] is not None else float("inf")
    out["startup_buffering"] = [s for s in out["stalls"] if s[0] < first]
    out["stalls"] = [s for s in out["stalls"] if s[0] >= first]
    out["stall_count"] = len(out["stalls"])
    out["stall_s"] = round(sum(s[1] or 0 for s in out["stalls"]), 3)
    return out


def available():
    return any(os.access(os.path.join(d, "mpv"), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep))
