#!/usr/bin/env bash
# Every test swarmcast has: installs the tools the end-to-end suite needs
# (Debian packages; idempotent), checks contrib/Dockerfile with hadolint,
# then unit + integration tests, then the
# end-to-end suite against the freshly built binary, the systemd unit check,
# the Debian package (built from a release build, installed, run, purged),
# and each fuzz target for 10 s (RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/e2e/install-deps.sh
# The container image's Dockerfile (no Docker daemon here to build it).
if command -v hadolint >/dev/null 2>&1; then
  hadolint contrib/Dockerfile && echo "PASS: hadolint contrib/Dockerfile"
else
  echo "NOTE: hadolint is not installed (neither Debian nor PyPI gave it): contrib/Dockerfile not checked"
fi
# The integration tests need the swarmcast binary, so this builds
# target/debug/swarmcast too; the end-to-end suite runs that one (a
# `cargo build` after it would build it again: the test build's dev-
# dependencies unify features differently).
cargo test --locked --all-targets
test -x target/debug/swarmcast
bash tests/e2e/run.sh target/debug/swarmcast
bash tests/e2e/renderer.sh target/debug/swarmcast
bash tests/e2e/verify-systemd.sh target/debug/swarmcast
# The Debian package from the one release build: lintian, dpkg -i, started
# as the unit would in a namespace with only lo, /healthz, Browse, purge.
cargo build --locked --release --bin swarmcast
cargo deb --no-build --output target/debian/swarmcast.deb
bash tests/e2e/deb.sh target/debian/swarmcast.deb
bash fuzz/run.sh 10
echo "all tests passed"
