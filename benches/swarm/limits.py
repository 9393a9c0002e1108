"""The physical limits a trial is compared with, from the clip's layout and
the swarm's rates alone (no software in it):

  startup_s         (head + index + 2 s of media) ÷ the swarm's total rate
                    + one RTT: what the paced reader must have before its
                    first frame, at full speed.
  startup_pieces_s  the same with each range rounded out to whole pieces
                    (an engine serves only verified pieces).
  seek_s            1 s of media ÷ the rate after the drop + one RTT.
  seek_pieces_s     the pieces holding that 1 s, per seek target, averaged.
  download_s        the whole file at the full rate until the drop, then at
                    the rate after it, + one RTT.
"""


def compute(media, rates_mbit, drop_index, drop_kbit, drop_after_s, rtt_s, seek_fracs):
    full = sum(rates_mbit) * 1e6 / 8
    after = (sum(rates_mbit) - rates_mbit[drop_index] + drop_kbit / 1000) * 1e6 / 8
    lay, rate, piece = media["layout"], media["byte_rate"], media["piece_length"]
    two_s = 2 * rate
    need = [(0, lay["head"]), (lay["index_off"], lay["index_off"] + lay["index_len"]),
            (lay["media_start"], lay["media_start"] + two_s)]
    startup_bytes = lay["head"] + lay["index_len"] + two_s
    startup_pieces = len(set().union(*(pieces(a, b, piece) for a, b in need)))
    span = lay["media_end"] - lay["media_start"]
    seek_pieces = [len(pieces(lay["media_start"] + f * span,
                              lay["media_start"] + f * span + rate, piece)) for f in seek_fracs]
    size = media["size"]
    if size <= full * drop_after_s:
        download = size / full
    else:
        download = drop_after_s + (size - full * drop_after_s) / after
    return {
        "swarm_bytes_per_s": round(full), "after_drop_bytes_per_s": round(after),
        "rtt_s": rtt_s,
        "startup_bytes": round(startup_bytes),
        "startup_s": round(startup_bytes / full + rtt_s, 3),
        "startup_pieces_s": round(startup_pieces * piece / full + rtt_s, 3),
        "seek_s": round(rate / after + rtt_s, 3),
        "seek_pieces_s": round(sum(seek_pieces) / len(seek_pieces) * piece / after + rtt_s, 3),
        "download_s": round(download + rtt_s, 3),
    }


def pieces(a, b, piece):
    return set(range(int(a) // piece, (int(b) - 1) // piece + 1))
