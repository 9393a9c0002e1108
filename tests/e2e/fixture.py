#!/usr/bin/env python3
"""Small helpers for the end-to-end suite, standard library only.

  fixture.py infohash FILE.torrent   -> prints the v1 info hash (hex)
  fixture.py layout FILE.mp4         -> prints the top-level MP4 boxes; exits 1
                                        unless moov comes after mdat
  fixture.py port                    -> prints a free TCP port on 127.0.0.1
  fixture.py json-get KEY.PATH       -> reads JSON on stdin, prints a field
                                        (e.g. files.0.url)
  fixture.py didl                    -> reads `upnp-client call-action` JSON of
                                        a Browse on stdin; prints one line per
                                        object: id, class, title, res URL
  fixture.py captions                -> reads `upnp-client call-action` JSON of
                                        a Browse on stdin; prints one line per
                                        subtitle mechanism: id, kind
                                        (CaptionInfoEx, res, pv), URL
  fixture.py latin1-srt FILE         -> writes an SRT in Windows-1252 (é, ü, &)
  fixture.py torznab PORT KEY IH TITLE [PEER [DEAD_TITLE]]
                                     -> serves a Torznab indexer on 127.0.0.1:PORT
                                        until killed: one result (IH, TITLE) for
                                        apikey=KEY, the indexer's error otherwise;
                                        its magnet names PEER (x.pe) when given;
                                        with DEAD_TITLE, first a better-seeded
                                        result whose only peer refuses
"""
import hashlib
import json
import socket
import struct
import sys


def bdecode_info_span(data: bytes):
    """Return (start, end) of the raw top-level `info` value inside a .torrent."""

    def skip(i):
        c = data[i:i + 1]
        if c == b"i":
            return data.index(b"e", i) + 1
        if c in (b"l", b"d"):
            i += 1
            while data[i:i + 1] != b"e":
                i = skip(i)
            return i + 1
        if c.isdigit():
            colon = data.index(b":", i)
            return colon + 1 + int(data[i:colon])
        raise ValueError(f"bad bencode at {i}")

    if data[:1] != b"d":
        raise ValueError("not a bencoded dict")
    i = 1
    while data[i:i + 1] != b"e":
        key_end = skip(i)
        key = data[data.index(b":", i) + 1:key_end]
        value_end = skip(key_end)
        if key == b"info":
            return key_end, value_end
        i = value_end
    raise ValueError("no info dict")


def infohash(path):
    data = open(path, "rb").read()
    start, end = bdecode_info_span(data)
    print(hashlib.sha1(data[start:end]).hexdigest())


def layout(path):
    boxes = []
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        pos = 0
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            n, kind = struct.unpack(">I4s", head[:8])
            if n == 1:
                n = struct.unpack(">Q", head[8:16])[0]
            elif n == 0:
                n = size - pos
            boxes.append((kind.decode("latin-1"), pos, n))
            pos += n
    print(" ".join(f"{k}@{p}+{n}" for k, p, n in boxes))
    kinds = [k for k, _, _ in boxes]
    ok = "moov" in kinds and "mdat" in kinds and kinds.index("moov") > kinds.index("mdat")
    sys.exit(0 if ok else 1)


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def json_get(path):
    v = json.load(sys.stdin)
    for part in path.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    print(v)


def didl():
    import xml.etree.ElementTree as ET

    out = json.load(sys.stdin)["out_parameters"]
    ns = {
        "d": "urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/",
        "dc": "http://purl.org/dc/elements/1.1/",
        "upnp": "urn:schemas-upnp-org:metadata-1-0/upnp/",
    }
    root = ET.fromstring(out["Result"])
    for obj in list(root):
        res = obj.find("d:res", ns)
        print("\t".join([
            obj.get("id"),
            obj.find("upnp:class", ns).text,
            obj.find("dc:title", ns).text,
            res.text if res is not None else "",
            (res.get("duration") or "") if res is not None else "",
            (res.get("resolution") or "") if res is not None else "",
            op_of(res.get("protocolInfo") or "") if res is not None else "",
        ]))


def op_of(protocol_info):
    """The DLNA.ORG_OP value of a protocolInfo ("" if none)."""
    for part in protocol_info.split(":")[-1].split(";"):
        if part.startswith("DLNA.ORG_OP="):
            return part[len("DLNA.ORG_OP="):]
    return ""


def keyframe_before(path, secs):
    """The byte position of the video keyframe at or before `secs`, by ffprobe."""
    import subprocess
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts_time,pos,flags", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True).stdout
    best = None
    for line in out.splitlines():
        f = line.split(",")
        if len(f) >= 3 and f[2].startswith("K") and float(f[0]) <= float(secs):
            best = f[1]
    print(best)


def captions():
    import xml.etree.ElementTree as ET

    out = json.load(sys.stdin)["out_parameters"]
    d = "{urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/}"
    sec = "{http://www.sec.co.kr/}"
    pv = "{http://www.pv.com/pvns/}"
    root = ET.fromstring(out["Result"])
    for obj in list(root):
        for res in obj.findall(d + "res"):
            if ":text/srt:" in res.get("protocolInfo", ""):
                print(f"{obj.get('id')}\tres\t{res.text}")
            if res.get(pv + "subtitleFileUri"):
                print(f"{obj.get('id')}\tpv\t{res.get(pv + 'subtitleFileUri')}")
        for cap in obj.findall(sec + "CaptionInfoEx"):
            print(f"{obj.get('id')}\tCaptionInfoEx\t{cap.text}")


LATIN1_SRT = (
    "1\r\n00:00:01,000 --> 00:00:04,000\r\nCafé für Tom & Jerry\r\n\r\n"
    "2\r\n00:00:05,000 --> 00:00:09,000\r\nÀ bientôt, répondit l'élève : « Ça déménage ! »\r\n\r\n"
    "3\r\n00:00:10,000 --> 00:00:14,000\r\nGarçon, un café crème et deux croissants.\r\n"
)


def latin1_srt(path):
    with open(path, "wb") as f:
        f.write(LATIN1_SRT.encode("cp1252"))


def torznab(port, key, ih, title, peer=None, dead_title=None):
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlparse
    from xml.sax.saxutils import escape, quoteattr

    magnet = f"magnet:?xt=urn:btih:{ih}" + (f"&x.pe={peer}" if peer else "")

    def item(title, magnet, ih, seeders):
        return (f'<item><title>{escape(title)}</title><size>12345678</size>'
                f'<link>{escape(magnet)}</link>'
                f'<torznab:attr name="seeders" value="{seeders}"/>'
                f'<torznab:attr name="infohash" value={quoteattr(ih)}/></item>')

    items = item(title, magnet, ih, 7)
    if dead_title:
        dead = "de" * 20
        items = item(dead_title, f"magnet:?xt=urn:btih:{dead}&x.pe=127.0.0.1:1", dead, 99) + items

    class Indexer(BaseHTTPRequestHandler):
        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            if q.get("apikey") != [key]:
                body = '<?xml version="1.0"?><error code="100" description="Invalid API Key"/>'
            else:
                body = ('<?xml version="1.0"?><rss version="2.0" '
                        'xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel>'
                        f'{items}</channel></rss>')
            data = body.encode()
            self.send_response(200)
            self.send_header("content-type", "application/rss+xml")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    HTTPServer(("127.0.0.1", int(port)), Indexer).serve_forever()


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"infohash": infohash, "layout": layout, "port": port, "json-get": json_get,
     "didl": didl, "captions": captions, "latin1-srt": latin1_srt,
     "torznab": torznab, "keyframe-before": keyframe_before}[cmd](*args)
