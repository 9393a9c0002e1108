#!/usr/bin/env bash
# librqbit's own unit tests of the parts our patches change (vendor/PATCHES.md),
# run on the patched copy in vendor/librqbit: the tests the patches add
# (piece_tracker.rs, chunk_tracker.rs) and upstream's tests of the same
# modules, which must still pass.
#
# In a scratch copy of the crate, built as a package of its own: cargo tests
# a path dependency only when it is a workspace member, and making it one
# would format and lint upstream's code as ours. One upstream test includes a
# torrent file the crates.io package does not ship
# (`session::tests::test_torrent_file_from_info_and_bytes`): the copy gets an
# empty one so the crate compiles, and that test is not among those run.
# Only the modules named below run: upstream's end-to-end tests start
# sessions that announce on the LAN (local service discovery), which our
# tests never do.
#
#   bash scripts/test-librqbit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# The copy sits in target/, at the same path each run, and builds into
# target/ beside ours: what the two builds share (most dependencies) is
# built once, and a second run rebuilds only librqbit.
copy="$root/target/librqbit-tests/librqbit"
rm -rf "$copy"
mkdir -p "$(dirname "$copy")"
cp -r vendor/librqbit "$copy"
# A workspace of its own, and our lock file, which pins every version the
# two builds share (cargo adds librqbit's dev-dependencies: tokio-test,
# pollster).
printf '\n[workspace]\n' >>"$copy/Cargo.toml"
cp Cargo.lock "$copy/Cargo.lock"
mkdir -p "$copy/resources"
: >"$copy/resources/ubuntu-21.04-desktop-amd64.iso.torrent"

cd "$copy"
# Our build's TLS (rustls) and dev profile (Cargo.toml).
CARGO_TARGET_DIR="$root/target" cargo test --lib \
  --no-default-features --features rust-tls \
  --config 'profile.dev.debug="line-tables-only"' \
  --config 'profile.dev.package."*".opt-level=1' \
  -- piece_tracker:: chunk_tracker:: torrent_state::
