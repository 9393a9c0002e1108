#!/usr/bin/env bash
# Every test swarmcast has: installs the tools the end-to-end suite needs
# (Debian packages; idempotent), checks contrib/Dockerfile with hadolint,
# then unit + integration tests, then the
# end-to-end suite against the freshly built binary, the systemd unit check,
# and each fuzz target for 20 s (RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/e2e/install-deps.sh
# The container image's Dockerfile (no Docker daemon here to build it).
if command -v hadolint >/dev/null 2>&1; then
  hadolint contrib/Dockerfile && echo "PASS: hadolint contrib/Dockerfile"
else
  echo "NOTE: hadolint is not installed (neither Debian nor PyPI gave it): contrib/Dockerfile not checked"
fi
cargo test --locked --all-targets
cargo build --locked --bin swarmcast
bash tests/e2e/run.sh target/debug/swarmcast
bash tests/e2e/renderer.sh target/debug/swarmcast
bash tests/e2e/verify-systemd.sh target/debug/swarmcast
bash fuzz/run.sh 20
echo "all tests passed"
