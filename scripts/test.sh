#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run):
#   1. scripts/setup.sh (Debian packages, .venv, Kafka jars)
#   2. build/ (RelWithDebInfo) + ctest: unit tests and integration tests
#      against a real Kafka broker and redis-server (started by CTest fixtures)
#   3. unit tests under valgrind (skip with FUNNELD_SKIP_VALGRIND=1)
#   4. the hand-made end-to-end, HTTP and score decay integration tests with funneld under valgrind
#   5. the profile-guided build (scripts/pgo-build.sh into build-pgo/, a
#      100000-event training run) and the unit tests and a set of
#      integration tests on its funneld (skip with FUNNELD_SKIP_PGO=1)
#   6. libFuzzer on the decoder and the config loader, 60 s each (scripts/
#      fuzz.sh; skip with FUNNELD_SKIP_FUZZ=1)
#   7. build-asan/ (AddressSanitizer + UBSan) + the whole ctest suite again
# Stops at the first failing step with a non-zero exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="$(nproc 2>/dev/null || echo 2)"
START=$SECONDS

step() { printf '\n==== test.sh: %s (%ds elapsed)\n' "$*" $((SECONDS - START)); }
fail() {
  printf 'test.sh: FAILED: %s\n' "$*" >&2
  exit 1
}

configure_build() { # dir, extra cmake args...
  local dir="$1"
  shift
  if [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir" # configured with another generator; start over
  fi
  mkdir -p "$dir"
  cmake -S "$ROOT" -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log"
    fail "configuring $dir"
  }
  cmake --build "$dir" -j "$JOBS" || fail "building $dir"
}

step "setup"
bash scripts/setup.sh || fail "scripts/setup.sh"

step "build (build/, RelWithDebInfo)"
configure_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUNNELD_SANITIZE=OFF

step "ctest build/ (unit + integration)"
ctest --test-dir build --output-on-failure -j "$JOBS" || fail "ctest in build/"

if [ "${FUNNELD_SKIP_VALGRIND:-0}" != 1 ]; then
  step "unit tests under valgrind"
  # The unit tests' commands, working directories and environments as CTest
  # has them, each run under valgrind.
  ctest --test-dir build -L unit --show-only=json-v1 >build/unit-tests.json
  python3 - build/unit-tests.json <<'PY' || fail "valgrind found errors in unit tests"
import json, os, subprocess, sys
tests = json.load(open(sys.argv[1]))["tests"]
bad = 0
for t in tests:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = dict(os.environ)
    for kv in props.get("ENVIRONMENT", []):
        k, _, v = kv.partition("=")
        env[k] = v
    if not t.get("command"):
        bad += 1
        print(f"valgrind {t['name']}: FAILED (test executable not built)", flush=True)
        continue
    cmd = ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
           "--error-exitcode=99"] + t["command"]
    r = subprocess.run(cmd, cwd=props.get("WORKING_DIRECTORY"), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ok = r.returncode == 0
    bad += not ok
    print(f"valgrind {t['name']}: {'ok' if ok else f'FAILED (exit {r.returncode})'}", flush=True)
    if not ok:
        print(r.stdout[-6000:], flush=True)
print(f"valgrind: {len(tests) - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
PY
fi

if [ "${FUNNELD_SKIP_VALGRIND:-0}" != 1 ]; then
  step "integration test with funneld under valgrind"
  # The hand-made end-to-end test (cold alerts included), the HTTP test and
  # the score decay/expiry test, with every funneld process they start run
  # under memcheck: definite/indirect leaks or invalid accesses fail them.
  FUNNELD_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
    ctest --test-dir build --output-on-failure -R 'it\.test_(e2e_handmade|http|decay)$' ||
    fail "funneld under valgrind (it.test_e2e_handmade, it.test_http, it.test_decay)"
fi

if [ "${FUNNELD_SKIP_PGO:-0}" != 1 ]; then
  step "profile-guided build (build-pgo/, scripts/pgo-build.sh) and tests on it"
  PGO_EVENTS=100000 bash scripts/pgo-build.sh build-pgo || fail "scripts/pgo-build.sh"
  # The same funneld code, optimised differently: end to end, ordering,
  # crashes, fencing and the key layout on the profile-guided binary.
  ctest --test-dir build-pgo --output-on-failure -j "$JOBS" \
    -R '^(unit\..*|it\.test_(e2e_handmade|e2e_generated|lateness|torture|restart|layout|fence_recovery|decay|catchup|touch_bound))$' ||
    fail "tests on the profile-guided funneld (build-pgo/)"
fi

if [ "${FUNNELD_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzzing (build-fuzz/, libFuzzer: decoder and config loader, 60 s each)"
  bash scripts/fuzz.sh 60 || fail "scripts/fuzz.sh (a fuzz target crashed; see its reproducer above)"
fi

step "build (build-asan/, ASan + UBSan)"
configure_build build-asan -DCMAKE_BUILD_TYPE=Debug -DFUNNELD_SANITIZE=ON

step "ctest build-asan/ (unit + integration under sanitizers)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-asan --output-on-failure -j "$JOBS" || fail "ctest in build-asan/ (sanitizers)"
