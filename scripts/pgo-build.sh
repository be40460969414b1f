#!/usr/bin/env bash
# Builds funneld with profile-guided optimisation (GCC's -fprofile-use on
# the link-time optimised build) into build-pgo/, or the directory given:
#   1. build/ (RelWithDebInfo) for the benchmark's funneld-gen and
#      funneld-naive, which stay uninstrumented
#   2. the PGO directory with FUNNELD_PGO=generate: a funneld that writes the
#      profile of each run to <dir>/pgo-profile when it exits
#   3. the training: bench/bench.py's throughput phase (funneld over
#      PGO_EVENTS generated events, 300000 by default, with and without its
#      configuration variants) and a short latency phase (small batches at
#      20k events/s), on a Kafka broker and redis-server it starts for the
#      run and stops after it (in <dir>/training/state); other streams of
#      the generator's mix than the benchmark measures (--seed-offset 100)
#   4. the PGO directory again with FUNNELD_PGO=use: every target, optimised
#      with that profile; ctest in it runs the tests on that funneld
# The profile is made again from scratch on every call: GCC refuses a
# profile older than the source. Needs scripts/setup.sh's packages and venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/build-pgo}")"
EVENTS="${PGO_EVENTS:-300000}"
JOBS="$(nproc 2>/dev/null || echo 2)"
PY="$ROOT/.venv/bin/python"

say() { printf 'pgo-build: %s\n' "$*"; }
die() {
  printf 'pgo-build: ERROR: %s\n' "$*" >&2
  exit 1
}

[ -x "$PY" ] || die "$PY is missing: run scripts/setup.sh first"
[ "$OUT" != "$ROOT/build" ] || die "build/ holds the benchmark's tools: give another directory"

configure() { # dir, cmake args...
  local dir="$1"
  shift
  mkdir -p "$dir"
  cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log" >&2; die "configuring $dir failed"; }
}

say "build/: funneld-gen and funneld-naive for the training run"
[ -f "$ROOT/build/CMakeCache.txt" ] || configure "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$ROOT/build" -j "$JOBS" --target funneld-gen funneld-naive >/dev/null ||
  die "building funneld-gen and funneld-naive in build/ failed"

if [ -f "$OUT/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$OUT/CMakeCache.txt"; then
  rm -rf "$OUT" # configured with another generator; start over
fi
PROFILE="$OUT/pgo-profile"
rm -rf "$PROFILE"
say "$OUT: the instrumented funneld (FUNNELD_PGO=generate)"
configure "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUNNELD_LTO=ON \
  -DFUNNELD_SANITIZE=OFF -DFUNNELD_PGO=generate "-DFUNNELD_PGO_DIR=$PROFILE"
cmake --build "$OUT" -j "$JOBS" --target funneld || die "building the instrumented funneld failed"

say "training: bench/bench.py on $EVENTS events (throughput and latency phases)"
mkdir -p "$OUT/training"
"$PY" "$ROOT/bench/bench.py" --build "$ROOT/build" --funneld "$OUT/funneld" \
  --phases throughput,latency --events "$EVENTS" --seed-offset 100 --runs 1 --rate 20000 \
  --latency-seconds 5 --latency-runs 1 --state "$OUT/training/state" \
  --results "$OUT/training" \
  >"$OUT/training/bench.log" 2>&1 ||
  { tail -n 40 "$OUT/training/bench.log" >&2; die "the training run failed (its log: $OUT/training/bench.log)"; }
[ -n "$(find "$PROFILE" -name '*.gcda' -print -quit 2>/dev/null)" ] ||
  die "the training run left no profile in $PROFILE"

say "$OUT: every target optimised with the profile (FUNNELD_PGO=use)"
configure "$OUT" -DFUNNELD_PGO=use
cmake --build "$OUT" -j "$JOBS" || die "building with the profile failed"
say "done: $OUT/funneld (ctest --test-dir $OUT runs the tests on it)"
