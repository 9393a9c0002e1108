#!/usr/bin/env bash
# The Debian package, end to end: lintian (tags we keep are explained in
# debian/swarmcast.lintian-overrides, shipped in the package), `dpkg -i`,
# then the service started as its systemd unit would start it — this
# machine's PID 1 is not systemd, so the script does what the unit asks for:
# the ExecStart line read from the installed unit (its bare command found in
# systemd's search path: /usr/local/bin, then /usr/bin), ${STATE_DIRECTORY}
# and ${CACHE_DIRECTORY} made the way DynamicUser=yes makes them
# (/var/lib/private/swarmcast linked from /var/lib/swarmcast, the same for
# /var/cache), an unprivileged uid of systemd's dynamic range, UMask=0027,
# LimitNOFILE, no new privileges, and a NOTIFY_SOCKET that must get READY=1
# (Type=notify). It runs in a network namespace that has only `lo` (it reads
# the packaged /etc/swarmcast/config.toml: it announces on every interface
# and bootstraps the DHT). Then /healthz and a UPnP Browse of the root,
# SIGTERM (STOPPING=1, exit 0), `dpkg -r` (config kept), `dpkg -P` (config,
# state and downloads gone).
# Usage: bash tests/e2e/deb.sh PATH_TO.deb   (needs root: dpkg, ip netns)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEB=$(realpath "${1:?usage: deb.sh PATH_TO.deb}")
FIX="python3 $(pwd)/tests/e2e/fixture.py"
[ -f "$DEB" ] || { echo "no package at $DEB" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "deb.sh needs root for dpkg and ip netns" >&2; exit 1; }

# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

# This machine's own swarmcast, if any, is not ours to touch.
if dpkg-query -W -f='${Status}' swarmcast 2>/dev/null | grep -q installed; then
  fail "a swarmcast package is installed here already; deb.sh installs and purges its own"
fi
for d in /etc/swarmcast /var/lib/swarmcast /var/cache/swarmcast \
         /var/lib/private/swarmcast /var/cache/private/swarmcast; do
  [ ! -e "$d" ] || fail "$d exists already; deb.sh makes and removes its own"
done

NS="swcD$$"
WORK=$(mktemp -d /tmp/swarmcast-deb.XXXXXX)
SERVER_PID=""
NOTIFY_PID=""
INSTALLED=no
MADE_PRIVATE=()
cleanup() {
  local rc=$?
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
  [ -z "$NOTIFY_PID" ] || kill "$NOTIFY_PID" 2>/dev/null || true
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  [ "$INSTALLED" = no ] || dpkg -P swarmcast >/dev/null 2>&1 || true
  rm -rf /var/lib/private/swarmcast /var/lib/swarmcast /var/cache/private/swarmcast /var/cache/swarmcast
  for d in "${MADE_PRIVATE[@]}"; do rmdir "$d" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

step "lintian $(basename "$DEB")"
if command -v lintian >/dev/null 2>&1; then
  # Errors and warnings fail, unless overridden; the overridden tags are
  # listed after (with --show-overrides, lintian would fail on them too).
  lintian --fail-on error,warning "$DEB" || fail "lintian"
  lintian --fail-on none --show-overrides "$DEB" | grep '^O:' || true
  pass "lintian: no error or warning that is not explained"
else
  echo "NOTE: lintian is not installed: the package is not checked by it"
fi

step "dpkg -i"
dpkg -i "$DEB" >"$WORK/dpkg-i.log" 2>&1 || fail "dpkg -i: $(cat "$WORK/dpkg-i.log")"
INSTALLED=yes
UNIT=""
for u in /usr/lib/systemd/system/swarmcast.service /lib/systemd/system/swarmcast.service; do
  [ -f "$u" ] && UNIT=$u && break
done
[ -n "$UNIT" ] || fail "the package has no systemd unit"
cmp -s "$UNIT" systemd/swarmcast.service || fail "$UNIT is not systemd/swarmcast.service as it is"
dpkg-query -W -f='${Conffiles}\n' swarmcast | grep -q '^ /etc/swarmcast/config.toml ' \
  || fail "/etc/swarmcast/config.toml is not a conffile"
cmp -s /etc/swarmcast/config.toml contrib/config.example.toml || fail "the conffile is not the example"
# The postinst enables and starts nothing: the owner does (README).
[ ! -e /etc/systemd/system/multi-user.target.wants/swarmcast.service ] \
  || fail "the package enabled swarmcast.service"
/usr/bin/swarmcast check-config --config /etc/swarmcast/config.toml >/dev/null \
  || fail "the packaged binary rejects the packaged config"
pass "installed: /usr/bin/swarmcast, $UNIT, conffile /etc/swarmcast/config.toml; nothing enabled"

step "started as the unit would, in a namespace with only lo"
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
read -r -a argv <<<"$exec_start"
cmd=""
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin; do
  [ -x "$dir/${argv[0]}" ] && { cmd="$dir/${argv[0]}"; break; }
done
[ "$cmd" = /usr/bin/swarmcast ] || fail "ExecStart's ${argv[0]} resolves to '$cmd', not the package's /usr/bin/swarmcast"
args=()
# The unit's own words, replaced as systemd replaces them.
# shellcheck disable=SC2016
state_var='${STATE_DIRECTORY}' cache_var='${CACHE_DIRECTORY}'
for a in "${argv[@]:1}"; do
  a=${a//"$state_var"/\/var\/lib\/swarmcast}
  a=${a//"$cache_var"/\/var\/cache\/swarmcast}
  args+=("$a")
done
# DynamicUser=yes: a uid from 61184–65519 with no passwd entry, and its
# StateDirectory/CacheDirectory under private/ (0700), linked.
DYN_UID=61184
while getent passwd "$DYN_UID" >/dev/null || getent group "$DYN_UID" >/dev/null; do
  DYN_UID=$((DYN_UID + 1))
done
for base in /var/lib /var/cache; do
  if [ ! -d "$base/private" ]; then
    mkdir -m 0700 "$base/private"
    MADE_PRIVATE+=("$base/private")
  fi
  install -d -m 0750 -o "$DYN_UID" -g "$DYN_UID" "$base/private/swarmcast"
  ln -s private/swarmcast "$base/swarmcast"
done
ip netns add "$NS"
ip -n "$NS" link set lo up
[ "$(ip -n "$NS" -o link show | wc -l)" = 1 ] || fail "namespace $NS has more than lo"
# Type=notify: a socket the unprivileged service can write to.
chmod 0711 "$WORK"
mkdir -m 0755 "$WORK/notify"
python3 - "$WORK/notify/sock" >"$WORK/notify.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
print("listening", flush=True)
while True:
    print(s.recv(4096).decode(errors="replace").replace("\n", " "), flush=True)
PY
NOTIFY_PID=$!
wait_for 10 grep -q listening "$WORK/notify.log" || fail "notify socket"
# LimitNOFILE=65536, or this machine's hard limit when it is lower (a
# container's root may not raise it; systemd as PID 1 would).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
# As systemd does for a DynamicUser service, in the service's own mount
# namespace: a 0755 tmpfs over each private/ (0700 outside, so that no other
# user reaches the data) with only the service's directory bound into it.
# shellcheck disable=SC2016
private_view='set -e
for base in /var/lib /var/cache; do
  mkdir -p "$W/bind$base"
  mount --bind "$base/private/swarmcast" "$W/bind$base"
  mount -t tmpfs -o mode=0755 tmpfs "$base/private"
  mkdir "$base/private/swarmcast"
  mount --bind "$W/bind$base" "$base/private/swarmcast"
done
exec "$@"'
(
  umask 0027
  exec ip netns exec "$NS" unshare --mount --propagation private \
    env W="$WORK" sh -c "$private_view" sh env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
    HOME=/ LANG=C.UTF-8 NOTIFY_SOCKET="$WORK/notify/sock" \
    STATE_DIRECTORY=/var/lib/swarmcast CACHE_DIRECTORY=/var/cache/swarmcast \
    CONFIGURATION_DIRECTORY=/etc/swarmcast \
    prlimit --nofile="$nofile" \
    setpriv --reuid="$DYN_UID" --regid="$DYN_UID" --clear-groups --no-new-privs \
    "$cmd" "${args[@]}"
) >"$WORK/swarmcast.log" 2>&1 &
SERVER_PID=$!
echo "started: $cmd ${args[*]} (uid $DYN_UID, pid $SERVER_PID)"
ready() { grep -q 'READY=1' "$WORK/notify.log" || ! kill -0 "$SERVER_PID" 2>/dev/null; }
wait_for 60 ready || fail "no READY=1 on NOTIFY_SOCKET"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the service exited at start"
pass "READY=1 from the service"
in_ns() { ip netns exec "$NS" "$@"; }
BASE=http://127.0.0.1:8740
in_ns curl -fsS --max-time 10 "$BASE/healthz" >"$WORK/healthz.txt" || fail "/healthz"
pass "/healthz: $(head -c 200 "$WORK/healthz.txt")"
timeout 30 ip netns exec "$NS" upnp-client --timeout 5 call-action "$BASE/upnp/description.xml" \
  ContentDirectory/Browse ObjectID=0 BrowseFlag=BrowseDirectChildren Filter='*' \
  StartingIndex=0 RequestedCount=0 SortCriteria= | $FIX didl >"$WORK/browse.txt" \
  || fail "Browse of the root failed"
grep -q '^added' "$WORK/browse.txt" || fail "the root has no 'added' container: $(cat "$WORK/browse.txt")"
pass "Browse 0: $(cut -f1 "$WORK/browse.txt" | xargs)"
# What it wrote is the service user's, in the unit's directories.
owner=$(stat -c %u /var/lib/private/swarmcast)
[ "$owner" = "$DYN_UID" ] || fail "state directory owned by $owner"
[ -n "$(find /var/lib/private/swarmcast -mindepth 1 -user "$DYN_UID" -print -quit)" ] \
  || fail "nothing written to the state directory"
[ -z "$(find /var/lib/private/swarmcast /var/cache/private/swarmcast ! -user "$DYN_UID" -print -quit)" ] \
  || fail "a file in the state or cache directory is not the service user's"
pass "state written as uid $DYN_UID: $(find /var/lib/private/swarmcast -mindepth 1 -maxdepth 1 -printf '%f ')"

kill -TERM "$SERVER_PID"
for _ in $(seq 1 200); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER_PID" 2>/dev/null && fail "still running 20 s after SIGTERM (TimeoutStopSec=20)"
rc=0; wait "$SERVER_PID" || rc=$?
SERVER_PID=""
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
grep -q 'STOPPING=1' "$WORK/notify.log" || fail "no STOPPING=1"
pass "SIGTERM: STOPPING=1, exit 0"

step "dpkg -r, dpkg -P"
dpkg -r swarmcast >"$WORK/dpkg-r.log" 2>&1 || fail "dpkg -r: $(cat "$WORK/dpkg-r.log")"
[ ! -e /usr/bin/swarmcast ] || fail "/usr/bin/swarmcast left after dpkg -r"
[ -f /etc/swarmcast/config.toml ] || fail "dpkg -r removed the conffile"
[ -d /var/lib/private/swarmcast ] || fail "dpkg -r removed the state"
pass "removed; config and state kept"
dpkg -P swarmcast >"$WORK/dpkg-p.log" 2>&1 || fail "dpkg -P: $(cat "$WORK/dpkg-p.log")"
INSTALLED=no
for d in /etc/swarmcast /var/lib/swarmcast /var/cache/swarmcast \
         /var/lib/private/swarmcast /var/cache/private/swarmcast; do
  if [ -e "$d" ] || [ -L "$d" ]; then fail "$d left after dpkg -P"; fi
done
pass "purged: config, state and downloads gone"
