#!/usr/bin/env bash
# Build every fuzz target once, then run each for a bounded time, two at a
# time (the machine's two cores).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]     (default: 20 s, every target)
#
# Up to 60 s a target it builds with the quick profile (fuzz/Cargo.toml:
# under half the build time, about a sixth of the speed), past that release.
#
# The stable toolchain is enough: these are cargo-fuzz's own coverage flags
# without its sanitizer (`cargo fuzz run -s none`). Each run starts from the
# committed corpus (fuzz/corpus/<target>, read only) and writes what it
# finds to a scratch folder. A crash, a timeout (10 s for one input) or
# memory past 2 GiB fails the script; the input is kept in
# fuzz/artifacts/<target>/ and printed (base64) so a CI log is enough to
# turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-20}
shift || true
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
flags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cllvm-args=-sanitizer-coverage-stack-depth
  -Cdebug-assertions
  -Coverflow-checks
  --cfg fuzzing
)
# Short runs (CI's) spend most of their time building: they take the quick
# profile (fuzz/Cargo.toml); longer ones the release build.
profile=release
[ "$secs" -le 60 ] && profile=quick
# --target keeps the flags off build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="${flags[*]}" cargo build --locked --profile "$profile" --target "$triple" --bins

scratch=$(mktemp -d /tmp/swarmcast-fuzz.XXXXXX)
one() {
  local t=$1
  mkdir -p "$scratch/$t" "artifacts/$t"
  if "target/$triple/$profile/$t" "$scratch/$t" "corpus/$t" \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 \
      >"$scratch/$t.log" 2>&1; then
    local runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log")
    echo "fuzz $t: ok, ${runs:-?} executions in ${secs} s, $(ls "$scratch/$t" | wc -l) new inputs"
  else
    echo "fuzz $t: FAILED"
    tail -n 40 "$scratch/$t.log"
    for a in "artifacts/$t"/*; do
      [ -f "$a" ] && { echo "--- $a (base64)"; base64 -w 76 "$a" | head -n 200; }
    done
    return 1
  fi
}

failed=0
pids=()
for t in "${targets[@]}"; do
  one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
echo "fuzz: new inputs (not committed) are in $scratch"
exit $failed
