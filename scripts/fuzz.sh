#!/usr/bin/env bash
# Fuzzes the decoder and the config loader with libFuzzer:
#   scripts/fuzz.sh [SECONDS]   (default 60 s per target)
# Configures build-fuzz/ with clang (-DFUNNELD_FUZZ=ON), builds fuzz_decode
# and fuzz_config (ASan + UBSan + coverage), and runs each for SECONDS on a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>) plus the kept
# crash inputs (tests/fuzz/regressions/<target>), with the dictionary
# tests/fuzz/<target>.dict; the committed corpus is never written. Exits
# non-zero when a target crashes, leaks, trips UBSan or breaks an invariant,
# and prints the reproducer path.
#
# A crash found here: reproduce with build-fuzz/tests/fuzz/fuzz_<t> FILE, fix
# the module, and copy FILE to tests/fuzz/regressions/<t>/ (the unit test
# test_fuzz_regressions replays it in every build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER_TARGET="${1:-60}"
BUILD="$ROOT/build-fuzz"
WORK="$BUILD/fuzz-work"
JOBS="$(nproc 2>/dev/null || echo 2)"

say() { printf 'fuzz: %s\n' "$*"; }
die() {
  printf 'fuzz: ERROR: %s\n' "$*" >&2
  exit 1
}

case "$SECONDS_PER_TARGET" in
'' | *[!0-9]*) die "usage: scripts/fuzz.sh [SECONDS], got '$SECONDS_PER_TARGET'" ;;
esac
command -v clang >/dev/null ||
  die "clang not found; run scripts/setup.sh (Debian packages clang, libclang-rt-14-dev)"

if [ -f "$BUILD/CMakeCache.txt" ] &&
  ! grep -q '^CMAKE_C_COMPILER:.*clang' "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD" # configured with another compiler; start over
fi
mkdir -p "$BUILD"
say "configuring $BUILD with clang"
CC=clang cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFUNNELD_FUZZ=ON >"$BUILD/configure.log" 2>&1 || {
  cat "$BUILD/configure.log"
  die "configuring $BUILD failed"
}
cmake --build "$BUILD" -j "$JOBS" --target fuzz_decode fuzz_config ||
  die "building the fuzz targets failed"

export FUNNELD_SOURCE_DIR="$ROOT"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
for target in decode config; do
  bin="$BUILD/tests/fuzz/fuzz_$target"
  corpus="$WORK/$target/corpus"
  artifacts="$WORK/$target/artifacts"
  log="$WORK/$target/fuzz.log"
  rm -rf "$WORK/$target"
  mkdir -p "$corpus" "$artifacts"
  cp "$ROOT/tests/fuzz/corpus/$target"/* "$corpus"/
  if [ -d "$ROOT/tests/fuzz/regressions/$target" ]; then
    cp "$ROOT/tests/fuzz/regressions/$target"/* "$corpus"/ 2>/dev/null || true
  fi
  say "fuzz_$target: ${SECONDS_PER_TARGET}s from $(ls "$corpus" | wc -l) seed inputs (log: $log)"
  rc=0
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    -dict="$ROOT/tests/fuzz/$target.dict" "$corpus" >"$log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs|stat::number_of_executed_units)' "$log" |
    sed "s/^/fuzz: fuzz_$target: /" || true
  repro="$(ls "$artifacts" 2>/dev/null | head -n 1)"
  if [ "$rc" -ne 0 ] || [ -n "$repro" ]; then
    tail -n 60 "$log" >&2
    say "fuzz_$target FAILED (exit $rc); reproducer: ${repro:+$artifacts/$repro}"
    say "  reproduce: FUNNELD_SOURCE_DIR=$ROOT $bin $artifacts/${repro:-<input>}"
    failed+=("fuzz_$target")
  else
    say "fuzz_$target: ok, no crash in ${SECONDS_PER_TARGET}s"
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  die "${failed[*]} crashed; fix the bug, then keep the reproducer in tests/fuzz/regressions/<target>/"
fi
say "ok: fuzz_decode and fuzz_config ran ${SECONDS_PER_TARGET}s each without a crash"
