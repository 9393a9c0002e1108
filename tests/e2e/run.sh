#!/usr/bin/env bash
# End-to-end: swarmcast against outside programs only.
#   an MP4 with the moov atom at the end (ffmpeg), seeded by aria2c on
#   127.0.0.1, added to swarmcast by magnet with an x.pe peer hint; ffprobe
#   reads its duration and mpv plays 5 s of it from the stream URL; curl checks
#   byte ranges and a time seek (TimeSeekRange.dlna.org, from ffprobe's
#   keyframe before 10 s; the DIDL then says DLNA.ORG_OP=11); gssdp-discover
#   finds it, also with minidlna answering on the same host;
#   async-upnp-client browses, searches, subscribes; the DIDL res carries the
#   parsed duration and size; a Torznab indexer of our own
#   (fixture.py) answers `swarmcast search` (with the right and a wrong API
#   key) and fills a saved search's folder, which async-upnp-client browses
#   down to an item ffprobe reads; a torrent's own Latin-1 SRT reaches the
#   DIDL (extra res, sec:CaptionInfoEx) as UTF-8 with a BOM, ffprobe reads
#   it as subrip, mpv loads it beside the video, and a media HEAD with
#   getcaptionInfo.sec gets its URL; the web app in chromium (Playwright)
#   adds the film through its form, sees the progress bar reach 100 % and
#   plays it in <video> with its WebVTT track (SCREENSHOTS=DIR keeps
#   screenshots of the pages); SIGTERM stops the server cleanly.
# Usage: bash tests/e2e/run.sh [PATH_TO_SWARMCAST]   (default target/debug/swarmcast)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-target/debug/swarmcast}")
FIX="python3 $(pwd)/tests/e2e/fixture.py"
FIX_PY="$(pwd)/tests/e2e/fixture.py"
[ -x "$BIN" ] || { echo "no swarmcast binary at $BIN (cargo build first)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/swarmcast-e2e.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }; done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

step "make a 20 s MP4 with the moov atom at the end"
mkdir -p "$WORK/seed"
ffmpeg -v error -f lavfi -i testsrc=duration=20:size=640x360:rate=25 \
  -f lavfi -i sine=frequency=440:duration=20 -vf noise=alls=30:allf=t \
  -c:v libx264 -preset ultrafast -b:v 5M -maxrate 5M -bufsize 2M -pix_fmt yuv420p \
  -c:a aac -shortest "$WORK/seed/clip.mp4"
$FIX layout "$WORK/seed/clip.mp4" || fail "moov is not after mdat"
SRC_DURATION=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$WORK/seed/clip.mp4")
pass "clip.mp4: $(stat -c %s "$WORK/seed/clip.mp4") bytes, ${SRC_DURATION}s, moov at the end"

step "seed it with aria2c on 127.0.0.1"
mktorrent -l 18 -o "$WORK/clip.torrent" "$WORK/seed/clip.mp4" >/dev/null
INFO_HASH=$($FIX infohash "$WORK/clip.torrent")
SEED_PORT=$($FIX port)
aria2c --no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
  --enable-peer-exchange=false --bt-exclude-tracker='*' --disable-ipv6=true \
  --bt-external-ip=127.0.0.1 --listen-port="$SEED_PORT" --seed-ratio=0.0 \
  --check-integrity=true --bt-seed-unverified=false --summary-interval=0 \
  --console-log-level=warn -d "$WORK/seed" "$WORK/clip.torrent" >"$WORK/aria2c.log" 2>&1 &
PIDS+=($!)
wait_for 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SEED_PORT" || fail "aria2c does not listen on $SEED_PORT"
pass "aria2c seeds $INFO_HASH on 127.0.0.1:$SEED_PORT"

step "a Torznab indexer of our own on 127.0.0.1"
TZ_PORT=$($FIX port)
python3 "$FIX_PY" torznab "$TZ_PORT" e2e-key "$INFO_HASH" "Clip.2024.1080p.WEB.x264-E2E" &
PIDS+=($!)
wait_for 10 curl -fsS "http://127.0.0.1:$TZ_PORT/api?t=caps" || fail "the fixture indexer did not come up"
pass "indexer at http://127.0.0.1:$TZ_PORT/api"

step "start swarmcast"
HTTP_PORT=$($FIX port)
PEER_PORT=$($FIX port)
cat >"$WORK/config.toml" <<TOML
[server]
listen = "127.0.0.1:$HTTP_PORT"
ssdp-interfaces = ["lo"]
[storage]
state-dir = "$WORK/state"
download-dir = "$WORK/downloads"
[torrent]
listen-port = $PEER_PORT
dht = false
local-peer-discovery = false
port-forwarding = false
[search]
browse-wait = "10s"
[[search.torznab]]
name = "fixture"
url = "http://127.0.0.1:$TZ_PORT/api"
api-key = "e2e-key"
# Tests never reach outside.
[search.internet-archive]
enabled = false
[subtitles.podnapisi]
enabled = false
TOML
"$BIN" check-config --config "$WORK/config.toml" >/dev/null || fail "check-config rejects the test config"
"$BIN" serve --config "$WORK/config.toml" >"$WORK/swarmcast.log" 2>&1 &
SERVER_PID=$!
PIDS+=($SERVER_PID)
BASE="http://127.0.0.1:$HTTP_PORT"
wait_for 30 curl -fsS "$BASE/healthz" || fail "swarmcast did not come up"
pass "swarmcast up at $BASE"

step "add the magnet with swarmcast add"
MAGNET="magnet:?xt=urn:btih:$INFO_HASH&dn=clip.mp4&x.pe=127.0.0.1:$SEED_PORT"
"$BIN" add "$MAGNET" --server "$BASE" >"$WORK/added.json" || fail "swarmcast add failed"
URL="$BASE$($FIX json-get files.0.url <"$WORK/added.json")"
[ "$($FIX json-get info_hash <"$WORK/added.json")" = "$INFO_HASH" ] || fail "wrong info hash"
pass "added; stream at $URL"

step "ffprobe reads the duration from the stream"
DURATION=$(timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$URL") || fail "ffprobe failed"
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(abs(a-b) > 1)" "$DURATION" "$SRC_DURATION" \
  || fail "duration $DURATION, expected $SRC_DURATION"
pass "ffprobe: ${DURATION}s"

step "mpv plays 5 s of the stream"
timeout 90 mpv --no-config --vo=null --ao=null --length=5 --really-quiet "$URL" >"$WORK/mpv.log" 2>&1 \
  || fail "mpv could not play the stream"
pass "mpv played 5 s"

step "byte ranges"
curl -fsS -r 1000-1999 "$URL" -o "$WORK/range.bin"
cmp <(dd if="$WORK/seed/clip.mp4" bs=1000 skip=1 count=1 status=none) "$WORK/range.bin" || fail "bytes 1000-1999 differ"
SIZE=$(stat -c %s "$WORK/seed/clip.mp4")
curl -fsS -H "Range: bytes=-4096" "$URL" -o "$WORK/tail.bin"
cmp <(tail -c 4096 "$WORK/seed/clip.mp4") "$WORK/tail.bin" || fail "suffix range differs"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=$SIZE-" "$URL")
[ "$CODE" = 416 ] || fail "range past the end gave $CODE, expected 416"
curl -fsS "$URL" -o "$WORK/full.bin"
cmp "$WORK/seed/clip.mp4" "$WORK/full.bin" || fail "full body differs"
pass "ranges exact, past-the-end 416, full body identical"

step "a time seek (TimeSeekRange.dlna.org: npt=10.0-) starts at ffprobe's keyframe before 10 s"
KEY=$($FIX keyframe-before "$WORK/seed/clip.mp4" 10.0)
[ -n "$KEY" ] && [ "$KEY" != None ] || fail "ffprobe lists no keyframe before 10 s"
curl -fsS -D "$WORK/seek-head.txt" -H 'TimeSeekRange.dlna.org: npt=10.0-' "$URL" -o "$WORK/seek.bin" \
  || fail "the time seek failed"
ANSWER=$(tr -d '\r' <"$WORK/seek-head.txt" | awk -F': ' 'tolower($1) == "timeseekrange.dlna.org" {print $2}')
case "$ANSWER" in npt=*" bytes=$KEY-$((SIZE - 1))/$SIZE") ;; *) fail "answer '$ANSWER', expected bytes=$KEY-…/$SIZE" ;; esac
cmp <(tail -c +$((KEY + 1)) "$WORK/seed/clip.mp4") "$WORK/seek.bin" || fail "the time seek's bytes differ"
pass "npt=10.0- → $ANSWER"

step "gssdp-discover finds the MediaServer on lo"
DESC="$BASE/upnp/description.xml"
timeout 20 gssdp-discover -i lo -n 3 -t urn:schemas-upnp-org:device:MediaServer:1 >"$WORK/gssdp.log" 2>&1 || true
grep -q "Location: $DESC" "$WORK/gssdp.log" || fail "gssdp-discover did not find $DESC"
pass "gssdp-discover: $(grep -m1 USN "$WORK/gssdp.log" | xargs)"

step "beside minidlna on the same host: both answer on lo"
# minidlna binds UDP 1900 too; both must keep answering (address reuse).
mkdir -p "$WORK/minidlna/media" "$WORK/minidlna/db"
MD_PORT=$($FIX port)
cat >"$WORK/minidlna/minidlna.conf" <<CONF
port=$MD_PORT
network_interface=lo
media_dir=V,$WORK/minidlna/media
db_dir=$WORK/minidlna/db
log_dir=$WORK/minidlna
inotify=no
friendly_name=minidlna-beside
CONF
minidlnad -f "$WORK/minidlna/minidlna.conf" -d -P "$WORK/minidlna/pid" >"$WORK/minidlna.log" 2>&1 &
PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$MD_PORT/rootDesc.xml" || fail "minidlna did not come up"
found_both() {
  timeout 20 gssdp-discover -i lo -n 3 -t urn:schemas-upnp-org:device:MediaServer:1 >"$WORK/gssdp2.log" 2>&1 || true
  grep -q "Location: $DESC" "$WORK/gssdp2.log" \
    && grep -q "Location: http://127.0.0.1:$MD_PORT/rootDesc.xml" "$WORK/gssdp2.log"
}
found_both || found_both || fail "not both found: $(grep Location "$WORK/gssdp2.log" | sort -u | xargs)"
pass "gssdp-discover finds swarmcast and minidlna side by side"

step "async-upnp-client: search, Browse down to the file, subscribe"
timeout 20 upnp-client --timeout 3 search --bind 127.0.0.1 \
  --search_target urn:schemas-upnp-org:device:MediaServer:1 >"$WORK/search.log" 2>&1 || true
grep -q "\"location\": \"$DESC\"" "$WORK/search.log" || fail "upnp-client search did not find $DESC"
browse() {
  timeout 30 upnp-client --timeout 5 call-action "$DESC" ContentDirectory/Browse ObjectID="$1" \
    BrowseFlag=BrowseDirectChildren Filter='*' StartingIndex=0 RequestedCount=0 SortCriteria= \
    | $FIX didl
}
browse 0 >"$WORK/b0.txt"; grep -q "^added" "$WORK/b0.txt" || fail "root has no 'added' container"
browse added >"$WORK/b1.txt"; grep -q "^t/$INFO_HASH" "$WORK/b1.txt" || fail "'added' lacks the torrent"
browse "t/$INFO_HASH" >"$WORK/b2.txt"
RES_URL=$(awk -F'\t' '$2 == "object.item.videoItem" {print $4; exit}' "$WORK/b2.txt")
[ -n "$RES_URL" ] || fail "no video item under t/$INFO_HASH: $(cat "$WORK/b2.txt")"
# ffprobe and mpv played it above, so the container header was read:
# duration and size come from our own MP4 parser, never guessed.
RES_DURATION=$(awk -F'\t' '$2 == "object.item.videoItem" {print $5; exit}' "$WORK/b2.txt")
RES_SIZE=$(awk -F'\t' '$2 == "object.item.videoItem" {print $6; exit}' "$WORK/b2.txt")
case "$RES_DURATION" in 0:00:20.*|0:00:19.9*) ;; *) fail "res@duration '$RES_DURATION', expected about 0:00:20" ;; esac
[ "$RES_SIZE" = 640x360 ] || fail "res@resolution '$RES_SIZE', expected 640x360"
RES_OP=$(awk -F'\t' '$2 == "object.item.videoItem" {print $7; exit}' "$WORK/b2.txt")
[ "$RES_OP" = 11 ] || fail "DLNA.ORG_OP '$RES_OP', expected 11 (time seeks) once the index was read"
timeout 15 upnp-client --timeout 3 subscribe "$DESC" ContentDirectory >"$WORK/subscribe.log" 2>&1 || true
grep -q '"SystemUpdateID"' "$WORK/subscribe.log" || fail "no initial event: $(cat "$WORK/subscribe.log")"
pass "browsed 0 → added → t/$INFO_HASH → $RES_URL ($RES_DURATION, $RES_SIZE); initial event received"

step "a saved search is a folder: async-upnp-client browses Search → the search → a result → its file"
"$BIN" search "clip" --save --server "$BASE" >"$WORK/saved.txt" || fail "swarmcast search --save failed"
browse 0 >"$WORK/s0.txt"; grep -q "^search" "$WORK/s0.txt" || fail "root has no 'search' container: $(cat "$WORK/s0.txt")"
browse search >"$WORK/s1.txt"
SAVED_ID=$(awk -F'\t' '$3 == "clip" {print $1; exit}' "$WORK/s1.txt")
[ -n "$SAVED_ID" ] || fail "the saved search is not under Search: $(cat "$WORK/s1.txt")"
browse "$SAVED_ID" >"$WORK/s2.txt"
RESULT_ID=$(awk -F'\t' -v want="$SAVED_ID/$INFO_HASH" '$1 == want {print $1; exit}' "$WORK/s2.txt")
[ -n "$RESULT_ID" ] || fail "the indexer's result is not in $SAVED_ID: $(cat "$WORK/s2.txt")"
browse "$RESULT_ID" >"$WORK/s3.txt"
SEARCH_RES=$(awk -F'\t' '$2 == "object.item.videoItem" {print $4; exit}' "$WORK/s3.txt")
[ -n "$SEARCH_RES" ] || fail "no video item in $RESULT_ID: $(cat "$WORK/s3.txt")"
SEARCH_DURATION=$(timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$SEARCH_RES") \
  || fail "ffprobe on the search result's item failed"
pass "0 → search → $SAVED_ID → $RESULT_ID → $SEARCH_RES: ${SEARCH_DURATION}s"

step "the TV's search box: async-upnp-client's Search gets live results, kept in Recent searches"
timeout 30 upnp-client --timeout 20 call-action "$DESC" ContentDirectory/Search ContainerID=0 \
  SearchCriteria='upnp:class derivedfrom "object.item.videoItem" and dc:title contains "clip e2e"' \
  Filter='*' StartingIndex=0 RequestedCount=0 SortCriteria= | $FIX didl >"$WORK/live.txt" \
  || fail "Search failed"
# The indexer's release, its files known from the Browse above: a playable item.
LIVE_RES=$(awk -F'\t' -v ih="$INFO_HASH" '$1 ~ ("^search/[0-9]+/" ih "/") && $2 == "object.item.videoItem" {print $4; exit}' "$WORK/live.txt")
[ -n "$LIVE_RES" ] || fail "no live result item: $(cat "$WORK/live.txt")"
browse search/recent >"$WORK/recent.txt"
awk -F'\t' '$3 == "clip e2e"' "$WORK/recent.txt" | grep -q . || fail "not in Recent searches: $(cat "$WORK/recent.txt")"
timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$LIVE_RES" >/dev/null \
  || fail "ffprobe on the live result failed"
pass "Search \"clip e2e\" → $LIVE_RES, in Recent searches"

step "ffprobe plays the res URL taken from the DIDL"
DURATION=$(timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$RES_URL") || fail "ffprobe on the res URL failed"
pass "ffprobe on the DIDL res URL: ${DURATION}s"

step "subtitles in a torrent: in the DIDL, made right, opened by ffprobe and mpv"
mkdir -p "$WORK/film/Film.2024"
cp "$WORK/seed/clip.mp4" "$WORK/film/Film.2024/Film.2024.mp4"
$FIX latin1-srt "$WORK/film/Film.2024/Film.2024.en.srt"
mktorrent -l 18 -o "$WORK/film.torrent" "$WORK/film/Film.2024" >/dev/null
FILM_IH=$($FIX infohash "$WORK/film.torrent")
FILM_PORT=$($FIX port)
aria2c --no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
  --enable-peer-exchange=false --bt-exclude-tracker='*' --disable-ipv6=true \
  --bt-external-ip=127.0.0.1 --listen-port="$FILM_PORT" --seed-ratio=0.0 \
  --check-integrity=true --bt-seed-unverified=false --summary-interval=0 \
  --console-log-level=warn -d "$WORK/film" "$WORK/film.torrent" >"$WORK/aria2c-film.log" 2>&1 &
PIDS+=($!)
wait_for 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$FILM_PORT" || fail "aria2c does not seed the film"
"$BIN" add "magnet:?xt=urn:btih:$FILM_IH&dn=Film.2024&x.pe=127.0.0.1:$FILM_PORT" --server "$BASE" \
  >"$WORK/film.json" || fail "adding the film failed"
FILM_URL=$(python3 -c 'import json,sys; print(next(f["url"] for f in json.load(sys.stdin)["files"] if f["path"].endswith(".mp4")))' <"$WORK/film.json")
FILM_URL="$BASE$FILM_URL"
# The first Browse starts the lookup; the subtitle is in the DIDL once read.
SUB_URL=""
for _ in $(seq 60); do
  timeout 30 upnp-client --timeout 5 call-action "$DESC" ContentDirectory/Browse ObjectID="t/$FILM_IH" \
    BrowseFlag=BrowseDirectChildren Filter='*' StartingIndex=0 RequestedCount=0 SortCriteria= \
    | $FIX captions >"$WORK/captions.txt" || true
  SUB_URL=$(awk -F'\t' '$2 == "res" {print $3; exit}' "$WORK/captions.txt")
  [ -n "$SUB_URL" ] && break
  sleep 0.5
done
[ -n "$SUB_URL" ] || fail "no subtitle in the DIDL within 30 s: $(cat "$WORK/captions.txt")"
grep -q "CaptionInfoEx	$SUB_URL" "$WORK/captions.txt" || fail "no sec:CaptionInfoEx: $(cat "$WORK/captions.txt")"
curl -fsS "$SUB_URL" -o "$WORK/sub.srt"
python3 - "$WORK/sub.srt" <<'PY' || fail "the served SRT is not UTF-8 with a BOM and CRLF"
import sys
b = open(sys.argv[1], "rb").read()
assert b.startswith(b"\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:04,000\r\n"), b[:60]
t = b.decode("utf-8")
assert "Café für Tom & Jerry\r\n" in t and "\n" not in t.replace("\r\n", ""), t
PY
CODEC=$(timeout 30 ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$SUB_URL") || fail "ffprobe cannot open $SUB_URL"
[ "$CODEC" = subrip ] || fail "ffprobe reads $SUB_URL as '$CODEC', expected subrip"
timeout 90 mpv --no-config --vo=null --ao=null --length=3 --sub-file="$SUB_URL" "$FILM_URL" \
  >"$WORK/mpv-subs.log" 2>&1 || fail "mpv could not play the film with its subtitle: $(tail -5 "$WORK/mpv-subs.log")"
grep -Eq "Subs +--sid=1.*subrip.*external" "$WORK/mpv-subs.log" || fail "mpv did not load the subtitle: $(cat "$WORK/mpv-subs.log")"
curl -fsS -I -H 'getcaptionInfo.sec: 1' "$FILM_URL" | tr -d '\r' >"$WORK/caption-head.txt"
grep -qi "^captioninfo.sec: $SUB_URL\$" "$WORK/caption-head.txt" || fail "no CaptionInfo.sec header: $(cat "$WORK/caption-head.txt")"
pass "t/$FILM_IH: $SUB_URL (subrip), mpv loaded it, CaptionInfo.sec answered"

step "the web app in chromium: add the film through the form, progress to 100 %, play it with its subtitle track"
# The film again, from nothing: deleted, then added from the library's form.
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$BASE/api/torrents/$FILM_IH")
[ "$CODE" = 204 ] || fail "deleting the film gave $CODE"
timeout 300 node tests/e2e/web/web.mjs "$BASE" \
  "magnet:?xt=urn:btih:$FILM_IH&dn=Film.2024&x.pe=127.0.0.1:$FILM_PORT" "$FILM_IH" ${SCREENSHOTS:+"$SCREENSHOTS"} \
  || fail "the web app test failed"
pass "added, 100 %, played in <video> with its subtitle track"

step "swarmcast search asks a Torznab indexer and prints the table"
for key in e2e-key wrong; do
  cat >"$WORK/search-$key.toml" <<TOML
[search]
timeout = "5s"
[[search.torznab]]
name = "fixture"
url = "http://127.0.0.1:$TZ_PORT/api"
api-key = "$key"
[search.internet-archive]
enabled = false
TOML
done
"$BIN" search "clip" --config "$WORK/search-e2e-key.toml" >"$WORK/search.txt" || fail "swarmcast search failed"
grep -q "Clip.2024.1080p.WEB.x264-E2E" "$WORK/search.txt" && grep -q "$INFO_HASH" "$WORK/search.txt" \
  && grep -q "fixture: ok (1 results" "$WORK/search.txt" || fail "unexpected table: $(cat "$WORK/search.txt")"
"$BIN" search "clip" --config "$WORK/search-wrong.toml" >"$WORK/search-wrong.txt" || fail "swarmcast search failed"
grep -q "Invalid API Key" "$WORK/search-wrong.txt" || fail "the indexer's error is not shown: $(cat "$WORK/search-wrong.txt")"
grep -q "e2e-key\|wrong" "$WORK/search-wrong.txt" && fail "the table shows an API key"
pass "search table: $(head -2 "$WORK/search.txt" | tail -1 | tr -s ' ')"

step "SIGTERM stops swarmcast cleanly"
kill -TERM "$SERVER_PID"
for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "still running 15 s after SIGTERM"
wait "$SERVER_PID" && RC=0 || RC=$?
[ "$RC" = 0 ] || fail "exit code $RC after SIGTERM"
pass "stopped with exit code 0"
echo "e2e: all passed"
