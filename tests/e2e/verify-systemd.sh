#!/usr/bin/env bash
# `systemd-analyze verify` of systemd/swarmcast.service. verify wants the
# ExecStart binary to exist, so a copy of the unit points at the built binary.
# Fails on any message about our unit; messages about other units on this
# machine are not ours to fix.
# Usage: bash tests/e2e/verify-systemd.sh [PATH_TO_SWARMCAST]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-target/debug/swarmcast}")
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }
WORK=$(mktemp -d /tmp/swarmcast-unit.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
sed "s#^ExecStart=swarmcast #ExecStart=$BIN #" systemd/swarmcast.service >"$WORK/swarmcast.service"
grep -q "^ExecStart=$BIN " "$WORK/swarmcast.service" || { echo "FAIL: ExecStart line not found" >&2; exit 1; }
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$WORK/swarmcast.service" 2>&1) || {
  echo "$out" >&2; echo "FAIL: systemd-analyze verify exited non-zero" >&2; exit 1; }
ours=$(printf '%s\n' "$out" | grep -F "swarmcast.service" || true)
if [ -n "$ours" ]; then
  printf '%s\n' "$ours" >&2
  echo "FAIL: systemd-analyze verify has something to say about swarmcast.service" >&2
  exit 1
fi
echo "PASS: systemd-analyze verify swarmcast.service"
