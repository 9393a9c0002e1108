#!/usr/bin/env bash
# Every test swarmcast has: installs the tools the end-to-end suite needs
# (Debian packages; idempotent), checks contrib/Dockerfile with hadolint,
# then unit + integration tests, librqbit's own tests of what we patch,
# then the end-to-end suite against the freshly built binary, the systemd
# unit check, the Debian package (of that build: installed, run, purged),
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
# The one build of the swarmcast binary (besides fuzz/run.sh's instrumented
# parsers). The integration tests need the binary, so this builds
# target/debug/swarmcast too; the end-to-end suite and the Debian package
# use that one (a `cargo build` after it would build it again: the test
# build's dev-dependencies unify features differently). Not --all-targets: that would run the benches,
# in debug (clippy --all-targets compiles them; `cargo bench` runs them).
cargo test --locked --lib --bins --tests
test -x target/debug/swarmcast
# librqbit's own tests of the modules our patches change, on vendor/librqbit.
bash scripts/test-librqbit.sh
bash tests/e2e/run.sh target/debug/swarmcast
bash tests/e2e/renderer.sh target/debug/swarmcast
bash tests/e2e/verify-systemd.sh target/debug/swarmcast
# The Debian package of that build (`--profile dev`: what is checked is the
# packaging, not the compiler's optimisations; a release `cargo deb` packs
# the same files): lintian, dpkg -i, started as the unit would in a
# namespace with only lo, /healthz, Browse, purge.
cargo deb --no-build --profile dev --output target/debian/swarmcast.deb
bash tests/e2e/deb.sh target/debian/swarmcast.deb
bash fuzz/run.sh 10
echo "all tests passed"
