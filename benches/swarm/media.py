"""The bench's media and torrent, made with ffmpeg and mktorrent and cached
outside the repository (never committed): a constant-bitrate H.264 + AAC
clip from `testsrc2` + `sine`, MP4 with the moov at the END (no faststart)
or MKV (Cues at the end, found through the SeekHead), and a single-file
.torrent with 1 MiB pieces and no trackers.

The video bitrate is `load` (0.5 or 0.8) of the swarm's total rate before
the drop; what the player paces at is the file's real rate (size ÷
duration), measured after encoding.
"""
import json
import os
import shutil
import subprocess

import common
import containers

AUDIO_BPS = 128_000


def make(cache_dir, container, load, swarm_bps, seconds, size="1280x720"):
    """Build (or reuse) the clip; returns a dict describing it."""
    total = load * swarm_bps
    video = int(total * 0.985) - AUDIO_BPS
    key = f"{container}-{int(load * 100)}-{seconds}s-{video // 1000}k-{size}"
    d = os.path.join(cache_dir, key)
    meta = os.path.join(d, "media.json")
    if os.path.exists(meta):
        return json.load(open(meta))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "data"))
    name = f"swarm-clip-{key}.{container}"
    clip = os.path.join(d, "data", name)
    encode(clip, container, video, seconds, size)
    torrent = os.path.join(d, name + ".torrent")
    subprocess.run(["mktorrent", "-l", "20", "-n", name, "-o", torrent, clip], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    ih, piece, pieces = common.torrent_info(torrent)
    nbytes = os.path.getsize(clip)
    info = {"container": container, "load": load, "path": clip, "data_dir": os.path.dirname(clip),
            "name": name, "torrent": torrent, "info_hash": ih, "piece_length": piece,
            "pieces": pieces, "size": nbytes, "duration": probe_duration(clip),
            "target_video_bps": video}
    info["byte_rate"] = nbytes / info["duration"]
    info["layout"] = lay = containers.from_file(clip, container)
    if container == "mp4" and not lay["index_off"] >= lay["media_end"]:
        raise RuntimeError(f"{clip}: the moov is not after the mdat: {lay}")
    json.dump(info, open(meta + ".tmp", "w"), indent=1)
    os.replace(meta + ".tmp", meta)
    return info


def encode(out, container, video_bps, seconds, size):
    k = f"{video_bps // 1000}k"
    args = ["ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=duration={seconds}:size={size}:rate=25",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
            # noise keeps the encoder busy enough to reach the bitrate; CBR
            # with filler keeps it there.
            "-vf", "noise=alls=20:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
            "-b:v", k, "-minrate", k, "-maxrate", k, "-bufsize", f"{video_bps // 2000}k",
            "-x264-params", "nal-hrd=cbr", "-g", "50", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", str(AUDIO_BPS), "-shortest"]
    if container == "mkv":
        args += ["-f", "matroska"]
    subprocess.run(args + [out], check=True, timeout=480)


def probe_duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", path], capture_output=True, text=True,
                         check=True, timeout=60)
    return float(out.stdout.strip())
