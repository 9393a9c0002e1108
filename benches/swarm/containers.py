"""Where a player finds what it needs in an MP4 or MKV: the head, the index
(MP4: the top-level `moov` box, found by walking the boxes; MKV: the Cues,
found through the SeekHead, else the last 2 MiB) and the media data range.

`layout(kind, read_at, size)` only reads through `read_at(offset, n)`, so
the paced player passes Range requests (and pays for each), while the
bench passes a local file to compute the physical limit.
"""
import struct

HEAD = 64 * 1024          # what a player reads first
READ = 256 * 1024         # what it reads at a box it jumps to
MKV_TAIL = 2 * 1024 * 1024


def layout(kind, read_at, size):
    """{head, index_off, index_len, media_start, media_end} in bytes."""
    head = read_at(0, min(HEAD, size))
    if kind == "mp4":
        return _mp4(head, read_at, size)
    return _mkv(head, read_at, size)


def _mp4(head, read_at, size):
    off, buf, buf_off = 0, head, 0
    out = {"head": len(head), "index_off": None, "index_len": 0,
           "media_start": 0, "media_end": size}
    while off + 8 <= size:
        if not (buf_off <= off and off + 16 <= buf_off + len(buf)):
            buf, buf_off = read_at(off, min(READ, size - off)), off
        rel = off - buf_off
        box, kind = struct.unpack(">I4s", buf[rel:rel + 8])
        hdr = 8
        if box == 1:
            box, hdr = struct.unpack(">Q", buf[rel + 8:rel + 16])[0], 16
        elif box == 0:
            box = size - off
        if kind == b"mdat":
            out["media_start"], out["media_end"] = off + hdr, off + box
        elif kind == b"moov":
            out["index_off"], out["index_len"] = off, box
            have = len(buf) - rel
            if have < box:
                read_at(off + have, box - have)
            if out["media_start"]:
                break
        off += box
    return out


def _vint(b, i, keep_marker=False):
    """EBML variable-size integer at b[i]: (value, next index)."""
    first = b[i]
    n = 1
    while n <= 8 and not first & (0x80 >> (n - 1)):
        n += 1
    v = first if keep_marker else first & (0xFF >> n)
    for k in range(1, n):
        v = (v << 8) | b[i + k]
    if not keep_marker and v == (1 << (7 * n)) - 1:
        v = None  # unknown size
    return v, i + n


def _children(b, start, end):
    """(id, element start, data start, data size) of the EBML elements in
    b[start:end] (as far as b goes)."""
    i = start
    while i < min(end, len(b)) - 2:
        eid, j = _vint(b, i, keep_marker=True)
        sz, k = _vint(b, j)
        yield eid, i, k, sz
        if sz is None:
            return
        i = k + sz


def _mkv(head, read_at, size):
    out = {"head": len(head), "index_off": None, "index_len": 0,
           "media_start": 0, "media_end": size}
    seg_start, cues = None, None
    for eid, _, data, sz in _children(head, 0, len(head)):
        if eid == 0x18538067:  # Segment
            seg_start = data
            break
    if seg_start is None:
        raise ValueError("no Segment in the MKV head")
    for eid, elem, data, sz in _children(head, seg_start, len(head)):
        if eid == 0x114D9B74:  # SeekHead
            cues = _seekhead_cues(head, data, data + sz)
        elif eid == 0x1F43B675:  # first Cluster
            out["media_start"] = elem
            break
    if cues is not None:
        off = seg_start + cues
        hdr = read_at(off, min(READ, size - off))
        eid, j = _vint(hdr, 0, keep_marker=True)
        sz, k = _vint(hdr, j)
        if eid == 0x1C53BB6B and sz is not None:
            if k + sz > len(hdr):
                read_at(off + len(hdr), k + sz - len(hdr))
            out.update(index_off=off, index_len=k + sz, media_end=off)
            return out
    off = max(0, size - MKV_TAIL)
    read_at(off, size - off)
    out.update(index_off=off, index_len=size - off)
    return out


def _seekhead_cues(b, start, end):
    for eid, _, data, sz in _children(b, start, end):
        if eid != 0x4DBB:  # Seek
            continue
        sid, pos = None, None
        for cid, _, cdata, csz in _children(b, data, data + sz):
            if cid == 0x53AB:
                sid = b[cdata:cdata + csz]
            elif cid == 0x53AC:
                pos = int.from_bytes(b[cdata:cdata + csz], "big")
        if sid == b"\x1c\x53\xbb\x6b":
            return pos
    return None


def from_file(path, kind):
    """layout() of a local file (for the physical limit)."""
    import os
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        def read_at(off, n):
            f.seek(off)
            return f.read(n)
        return layout(kind, read_at, size)
