#!/usr/bin/env bash
# End-to-end with a real UPnP renderer as the "TV": gmediarender in its own
# network namespace, swarmcast in another, joined by a veth pair. swarmcast's
# item is handed to the renderer with SetAVTransportURI + our DIDL metadata,
# then Play; the renderer must reach PLAYING with its position moving, and
# swarmcast must have served it bytes. Then chromium in the TV's namespace
# opens the web app from that LAN address (no secure context), and, at a
# phone's width, from a third host (the phone, on its own link to the
# server's), searches (a Torznab fixture whose magnet names the
# seeder), casts the result to the renderer (found by swarmcast's own
# control point; the torrent, removed first, is added again by the cast),
# sees it PLAYING with the position moving, pauses and stops it; a cast to
# a renderer that answers UPnP error 714 is shown in words
# (SCREENSHOTS=DIR keeps the search and TVs pages).
# HTTPS and mDNS: the TV's namespace finds swarmcast over mDNS
# (python-zeroconf: _http._tcp and _https._tcp, with their ports and
# path=/); the self-signed certificate's fingerprint in the start-up log
# and on the settings page is the certificate's; plain HTTP's settings
# page links to HTTPS; on the phone, chromium trusting only that
# certificate's key opens the app over HTTPS from the LAN address as a
# secure context (service worker, share target, magnet handler); and, last,
# SIGTERM withdraws the mDNS announcement (goodbye) before swarmcast exits.
# Usage: bash tests/e2e/renderer.sh [PATH_TO_SWARMCAST]   (needs root: ip netns)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-target/debug/swarmcast}")
FIX="python3 $(pwd)/tests/e2e/fixture.py"
[ -x "$BIN" ] || { echo "no swarmcast binary at $BIN" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "renderer.sh needs root for ip netns" >&2; exit 1; }

TAG=$(( $$ % 200 + 20 ))
NS_S="swcS$$"; NS_T="swcT$$"; NS_P="swcP$$"
IF_S="vs$$"; IF_T="vt$$"; IF_SP="vsp$$"; IF_P="vp$$"
IP_S="10.199.$TAG.1"; IP_T="10.199.$TAG.2"
# The phone's own link to the server's host.
IP_SP="10.198.$TAG.1"; IP_P="10.198.$TAG.2"
WORK=$(mktemp -d /tmp/swarmcast-renderer.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Whatever still runs in our namespaces is ours too (deleting a namespace
  # does not end its processes).
  for ns in "$NS_S" "$NS_T" "$NS_P"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_T" 2>/dev/null || true
  ip netns del "$NS_P" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
in_s() { ip netns exec "$NS_S" "$@"; }
in_t() { ip netns exec "$NS_T" "$@"; }
in_p() { ip netns exec "$NS_P" "$@"; }

echo "== two hosts: $NS_S ($IP_S, swarmcast) and $NS_T ($IP_T, the TV)"
ip netns add "$NS_S"; ip netns add "$NS_T"
ip -n "$NS_S" link add "$IF_S" type veth peer name "$IF_T" netns "$NS_T"
ip -n "$NS_S" addr add "$IP_S/24" dev "$IF_S"; ip -n "$NS_T" addr add "$IP_T/24" dev "$IF_T"
for ns in "$NS_S" "$NS_T"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set "$IF_S" up multicast on; ip -n "$NS_T" link set "$IF_T" up multicast on
ip -n "$NS_S" route add 239.0.0.0/8 dev "$IF_S"; ip -n "$NS_T" route add 239.0.0.0/8 dev "$IF_T"
# mDNS's group, 224.0.0.251, out of the same veth (no default route here;
# the 239/8 route above is more specific and stays SSDP's).
ip -n "$NS_S" route add 224.0.0.0/4 dev "$IF_S"; ip -n "$NS_T" route add 224.0.0.0/4 dev "$IF_T"
echo "== a third host, the phone: $NS_P ($IP_P), on its own link to $NS_S ($IP_SP)"
ip netns add "$NS_P"
ip -n "$NS_S" link add "$IF_SP" type veth peer name "$IF_P" netns "$NS_P"
ip -n "$NS_S" addr add "$IP_SP/24" dev "$IF_SP"; ip -n "$NS_P" addr add "$IP_P/24" dev "$IF_P"
ip -n "$NS_P" link set lo up; ip -n "$NS_S" link set "$IF_SP" up; ip -n "$NS_P" link set "$IF_P" up

echo "== media, seeder and swarmcast in $NS_S"
mkdir -p "$WORK/seed"
ffmpeg -v error -f lavfi -i testsrc=duration=30:size=640x360:rate=25 \
  -f lavfi -i sine=frequency=440:duration=30 -c:v libx264 -preset ultrafast -b:v 2M \
  -pix_fmt yuv420p -c:a aac -shortest "$WORK/seed/tv.mp4"
mktorrent -l 18 -o "$WORK/tv.torrent" "$WORK/seed/tv.mp4" >/dev/null
INFO_HASH=$($FIX infohash "$WORK/tv.torrent")
ip netns exec "$NS_S" aria2c --no-conf --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
  --enable-peer-exchange=false --bt-exclude-tracker='*' --disable-ipv6=true \
  --bt-external-ip=127.0.0.1 --listen-port=46881 --seed-ratio=0.0 --check-integrity=true \
  --bt-seed-unverified=false --summary-interval=0 --console-log-level=warn \
  -d "$WORK/seed" "$WORK/tv.torrent" >"$WORK/aria2c.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/config.toml" <<TOML
[server]
friendly-name = "swarmcast e2e"
listen = "0.0.0.0:8740"
ssdp-interfaces = ["$IF_S"]
[storage]
state-dir = "$WORK/state"
download-dir = "$WORK/downloads"
# HTTPS beside HTTP; no tls-cert/tls-key: a self-signed certificate, made
# once in state-dir/tls.
[web]
https-listen = "0.0.0.0:8743"
[torrent]
listen-port = 46882
dht = false
local-peer-discovery = false
port-forwarding = false
[[search.torznab]]
name = "e2e"
url = "http://127.0.0.1:47001/api"
api-key = "e2e-key"
# Tests never reach outside.
[search.internet-archive]
enabled = false
[subtitles.podnapisi]
enabled = false
TOML
ip netns exec "$NS_S" "$BIN" serve --config "$WORK/config.toml" >"$WORK/swarmcast.log" 2>&1 &
# ip netns exec execs: this is swarmcast's own pid, SIGTERMed at the end.
SWARMCAST_PID=$!
PIDS+=("$SWARMCAST_PID")
ip netns exec "$NS_S" python3 "$(pwd)/tests/e2e/fixture.py" torznab 47001 e2e-key "$INFO_HASH" \
  "TV.Clip.2024.1080p.WEB.AAC.x264-E2E" 127.0.0.1:46881 "TV.Clip.2024.1080p.WEB.AAC.x264-DEAD" \
  >"$WORK/torznab.log" 2>&1 &
PIDS+=($!)
BASE="http://$IP_S:8740"
for _ in $(seq 150); do in_s curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
in_s curl -fsS "$BASE/healthz" >/dev/null || fail "swarmcast did not come up in $NS_S"
for _ in $(seq 150); do in_s bash -c "exec 3<>/dev/tcp/127.0.0.1/46881" 2>/dev/null && break; sleep 0.2; done
in_s "$BIN" add "magnet:?xt=urn:btih:$INFO_HASH&dn=tv.mp4&x.pe=127.0.0.1:46881" --server "$BASE" >/dev/null \
  || fail "add failed"
pass "swarmcast serves $INFO_HASH at $BASE"

echo "== gmediarender in $NS_T"
ip netns exec "$NS_T" gmediarender -I "$IF_T" -f "e2e TV" -p 49494 -u "e2e-tv-$$" \
  --gstout-videopipe="fakesink sync=true" --gstout-audiopipe="fakesink sync=true" \
  --logfile stdout >"$WORK/gmediarender.log" 2>&1 &
PIDS+=($!)
RDESC=""
for _ in $(seq 20); do
  RDESC=$(in_s timeout 10 upnp-client --timeout 2 search --bind "$IP_S" \
    --search_target urn:schemas-upnp-org:device:MediaRenderer:1 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    try: print(json.loads(l)["location"]); break
    except Exception: pass' || true)
  [ -n "$RDESC" ] && break
  sleep 0.5
done
[ -n "$RDESC" ] || fail "the renderer was not found by M-SEARCH from $NS_S"
pass "renderer at $RDESC"

echo "== the TV finds swarmcast over SSDP from its namespace"
in_t timeout 20 upnp-client --timeout 3 search --bind "$IP_T" \
  --search_target urn:schemas-upnp-org:device:MediaServer:1 >"$WORK/tvsearch.log" 2>&1 || true
grep -q "\"location\": \"$BASE/upnp/description.xml\"" "$WORK/tvsearch.log" \
  || fail "swarmcast not discovered from $NS_T (LOCATION must carry $IP_S)"
pass "discovered from the TV's namespace with LOCATION $BASE/upnp/description.xml"

echo "== the TV finds swarmcast over mDNS from its namespace (python-zeroconf)"
MDNS="$(pwd)/tests/e2e/mdns.py"
in_t timeout 30 python3 "$MDNS" find _http._tcp.local. "swarmcast on " 8740 / 15 \
  || fail "_http._tcp.local. 'swarmcast on …' port 8740 path=/ not found over mDNS from $NS_T"
pass "mDNS from $NS_T: _http._tcp.local. 'swarmcast on …', port 8740, path=/"
in_t timeout 30 python3 "$MDNS" find _https._tcp.local. "swarmcast on " 8743 / 15 \
  || fail "_https._tcp.local. 'swarmcast on …' port 8743 path=/ not found over mDNS from $NS_T"
pass "mDNS from $NS_T: _https._tcp.local. 'swarmcast on …', port 8743, path=/"

echo "== HTTPS: the self-signed certificate, its fingerprint in the log and on the settings page"
CERT="$WORK/state/tls/cert.pem"
# The HTTPS listener may come up a moment after HTTP's healthz answers.
for _ in $(seq 50); do
  grep -q "HTTPS listening" "$WORK/swarmcast.log" && [ -s "$CERT" ] && break
  sleep 0.2
done
[ -s "$CERT" ] || fail "no self-signed certificate at $CERT"
[ -s "$WORK/state/tls/key.pem" ] || fail "no private key at $WORK/state/tls/key.pem"
# Colours never reach a log file, but strip any to read the fields.
HTTPS_LINE=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/swarmcast.log" | grep -m1 "HTTPS listening" || true)
[ -n "$HTTPS_LINE" ] || fail "no 'HTTPS listening' line in swarmcast's start-up log"
LOG_FP=$(printf '%s\n' "$HTTPS_LINE" | grep -oE 'fingerprint="?[0-9A-F]{2}(:[0-9A-F]{2}){31}' | sed 's/^fingerprint="\{0,1\}//' || true)
[ -n "$LOG_FP" ] || fail "no fingerprint=AA:BB:… (32 uppercase hex pairs) on the log line: $HTTPS_LINE"
# SHA-256 of the certificate's DER, as uppercase hex pairs joined by ':'.
CERT_FP=$(openssl x509 -in "$CERT" -outform der | sha256sum | cut -d' ' -f1 | tr a-f A-F | sed 's/../&:/g; s/:$//')
[ "$LOG_FP" = "$CERT_FP" ] || fail "the log's fingerprint $LOG_FP is not the certificate's $CERT_FP"
pass "start-up log: HTTPS listening, fingerprint=$LOG_FP (the certificate's)"
# The names a browser may reach it by: the host's name (and NAME.local),
# localhost, 127.0.0.1 and each of the host's addresses (both links of $NS_S).
HOST=$(in_s hostname)
SANS=$(openssl x509 -in "$CERT" -noout -ext subjectAltName 2>/dev/null | tr -d ' ' || true)
WANT_SANS=("DNS:localhost" "IPAddress:127.0.0.1" "IPAddress:$IP_S" "IPAddress:$IP_SP")
# A dotted host name may be shortened to its first label; only a plain one
# is checked as it is.
case "$HOST" in *.*) ;; *) WANT_SANS+=("DNS:$HOST" "DNS:$HOST.local") ;; esac
for want in "${WANT_SANS[@]}"; do
  printf '%s' "$SANS" | tr ',' '\n' | grep -qxi "$want" \
    || fail "the certificate's subjectAltName lacks $want: $SANS"
done
pass "the certificate names ${WANT_SANS[*]}"
# From the phone, curl trusting that certificate alone checks it names the
# address it is reached by.
in_p curl -fsS --max-time 10 --cacert "$CERT" "https://$IP_SP:8743/healthz" >/dev/null \
  || fail "https://$IP_SP:8743/healthz with the certificate as the only CA"
pass "https://$IP_SP:8743/ verifies against the self-signed certificate"
# Plain HTTP's settings page links to HTTPS at the host the request used.
HTTPS_LINK=$(in_p curl -fsS --max-time 10 "http://$IP_SP:8740/settings" | python3 -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    href = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "https-link" and P.href is None:
            P.href = a.get("href") or ""
P().feed(sys.stdin.read())
print(P.href if P.href is not None else "(no #https-link)")') || fail "GET http://$IP_SP:8740/settings"
[ "$HTTPS_LINK" = "https://$IP_SP:8743/" ] \
  || fail "plain HTTP's settings page: #https-link is $HTTPS_LINK, expected https://$IP_SP:8743/"
pass "plain HTTP's settings page links to https://$IP_SP:8743/"

echo "== hand the item to the renderer: SetAVTransportURI + DIDL metadata, Play"
DESC="$BASE/upnp/description.xml"
ITEM="t/$INFO_HASH/0"
META_JSON=$(in_s timeout 30 upnp-client --timeout 5 call-action "$DESC" ContentDirectory/Browse \
  ObjectID="$ITEM" BrowseFlag=BrowseMetadata Filter='*' StartingIndex=0 RequestedCount=0 SortCriteria=)
RES=$(printf '%s' "$META_JSON" | $FIX didl | cut -f4)
DIDL=$(printf '%s' "$META_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["out_parameters"]["Result"])')
[ -n "$RES" ] || fail "no res URL for $ITEM"
in_s timeout 30 upnp-client --timeout 5 call-action "$RDESC" AVTransport/SetAVTransportURI \
  InstanceID=0 CurrentURI="$RES" CurrentURIMetaData="$DIDL" >/dev/null || fail "SetAVTransportURI failed"
in_s timeout 30 upnp-client --timeout 5 call-action "$RDESC" AVTransport/Play InstanceID=0 Speed=1 >/dev/null \
  || fail "Play failed"
STATE=""; POS=""
for _ in $(seq 60); do
  STATE=$(in_s timeout 10 upnp-client --timeout 3 call-action "$RDESC" AVTransport/GetTransportInfo InstanceID=0 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["out_parameters"]["CurrentTransportState"])' || true)
  POS=$(in_s timeout 10 upnp-client --timeout 3 call-action "$RDESC" AVTransport/GetPositionInfo InstanceID=0 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["out_parameters"]["RelTime"])' || true)
  if [ "$STATE" = PLAYING ] && [ -n "$POS" ] && [ "$POS" != "0:00:00" ] && [ "$POS" != "00:00:00" ]; then break; fi
  sleep 0.5
done
[ "$STATE" = PLAYING ] || fail "renderer state $STATE, expected PLAYING"
[ -n "$POS" ] && [ "$POS" != "0:00:00" ] && [ "$POS" != "00:00:00" ] || fail "renderer position did not move ($POS)"
grep -q "stream opened.*client=$IP_T" "$WORK/swarmcast.log" || fail "swarmcast served nothing to $IP_T"
pass "renderer PLAYING at $POS; swarmcast streamed to $IP_T"
echo "== the web app from the TV's namespace: a phone on the LAN, over plain HTTP"
in_t timeout 120 node tests/e2e/web/lan.mjs "$BASE" \
  "magnet:?xt=urn:btih:$INFO_HASH&dn=tv.mp4&x.pe=127.0.0.1:46881" "$INFO_HASH" \
  || fail "the web app from $IP_T"
pass "the web app works from $IP_T"
echo "== cast from the phone: search, Cast on the result, PLAYING, Pause, Stop"
# A second renderer, one that refuses every video with UPnP error 714.
ip netns exec "$NS_T" python3 "$(pwd)/tests/e2e/fault_renderer.py" "$IP_T" 49500 "Refusing TV" \
  >"$WORK/fault_renderer.log" 2>&1 &
PIDS+=($!)
in_s curl -fsS -X DELETE "$BASE/api/torrents/$INFO_HASH?keep-data=true" >/dev/null \
  || fail "could not remove the torrent before casting it from a search"
in_p timeout 240 node tests/e2e/web/cast.mjs "http://$IP_SP:8740" "tv clip 2024" "e2e TV" "Refusing TV" \
  || fail "casting from the phone"
grep -q "torrent added info_hash=$INFO_HASH" "$WORK/swarmcast.log" || fail "the cast did not add the torrent"
pass "cast from a search result on the phone to gmediarender"

echo "== the phone over HTTPS: chromium trusting the certificate's key only"
# base64 SHA-256 of the SubjectPublicKeyInfo: what
# --ignore-certificate-errors-spki-list takes.
SPKI=$(openssl x509 -in "$CERT" -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)
in_p timeout 120 node tests/e2e/web/https.mjs "https://$IP_SP:8743" "$SPKI" \
  "magnet:?xt=urn:btih:$INFO_HASH&dn=tv.mp4" "$CERT_FP" \
  || fail "the web app over HTTPS from the phone"
pass "the web app over HTTPS from $IP_P: secure context, service worker, share target, magnet handler"

echo "== SIGTERM withdraws the mDNS announcements (goodbyes) before swarmcast exits"
# Last: this stops swarmcast. Each watcher finds its instance first (at
# most 40 s), then waits at most 40 s for its removal (a TTL-0 record).
declare -A WATCHER=()
for svc in http:8740 https:8743; do
  ip netns exec "$NS_T" timeout 100 python3 "$MDNS" watch "_${svc%%:*}._tcp.local." "swarmcast on " "${svc#*:}" 40 \
    >"$WORK/mdns-watch-${svc%%:*}.log" 2>&1 &
  WATCHER[${svc%%:*}]=$!
  PIDS+=($!)
done
for svc in http https; do
  for _ in $(seq 225); do
    grep -q '^found ' "$WORK/mdns-watch-$svc.log" && break
    kill -0 "${WATCHER[$svc]}" 2>/dev/null || break
    sleep 0.2
  done
  grep -q '^found ' "$WORK/mdns-watch-$svc.log" \
    || fail "the mDNS watcher did not find _$svc._tcp: $(cat "$WORK/mdns-watch-$svc.log")"
done
kill -TERM "$SWARMCAST_PID"
for svc in http https; do
  rc=0
  wait "${WATCHER[$svc]}" || rc=$?
  [ "$rc" = 0 ] \
    || fail "_$svc._tcp not withdrawn on SIGTERM (watcher exit $rc): $(cat "$WORK/mdns-watch-$svc.log")"
  pass "mDNS: _$svc._tcp.local. withdrawn on SIGTERM ($(grep -m1 '^removed ' "$WORK/mdns-watch-$svc.log"))"
done
# And it does stop (systemd would SIGKILL it after TimeoutStopSec).
for _ in $(seq 150); do kill -0 "$SWARMCAST_PID" 2>/dev/null || break; sleep 0.2; done
kill -0 "$SWARMCAST_PID" 2>/dev/null && fail "swarmcast still runs 30 s after SIGTERM"
SWARMCAST_RC=0
wait "$SWARMCAST_PID" || SWARMCAST_RC=$?
pass "swarmcast exited after SIGTERM (status $SWARMCAST_RC)"
echo "renderer e2e: all passed"
