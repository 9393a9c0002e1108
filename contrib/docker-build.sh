#!/usr/bin/env bash
# Builds the swarmcast container image from contrib/Dockerfile, with the
# repository's root as the build context (the build needs vendor/librqbit).
# Usage: bash contrib/docker-build.sh [TAG]      (default tag: swarmcast)
# Uses docker, or podman when there is no docker ($DOCKER names another).
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${1:-swarmcast}"
ENGINE="${DOCKER:-$(command -v docker || command -v podman || true)}"
[ -n "$ENGINE" ] || { echo "neither docker nor podman is installed" >&2; exit 1; }
"$ENGINE" build -f contrib/Dockerfile -t "$TAG" .
echo "built $TAG; run it with --network host (see the top of contrib/Dockerfile)"
