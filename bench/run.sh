#!/bin/sh
# funneld's benchmark in one command: configures and builds build-bench (or
# $BENCH_BUILD), then runs bench/bench.py with the project's venv. Options go
# to bench.py: --events N (1000000), --quick, --phases ..., --bootstrap,
# --redis; see bench/bench.py --help and docs/PERFORMANCE.md.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$repo/build-bench}
py=$repo/.venv/bin/python
export PYTHONDONTWRITEBYTECODE=1
if [ ! -x "$py" ]; then
        echo "bench/run.sh: $py is missing; run scripts/setup.sh first" >&2
        exit 1
fi
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target funneld funneld-gen funneld-naive >/dev/null
exec "$py" "$repo/bench/bench.py" --build "$build" "$@"
