#!/usr/bin/env bash
# The demo: installs what is missing, builds, then runs funneld on its
# embedded defaults (funneld --demo); extra arguments go to funneld.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh >&2
mkdir -p build
if [ -f build/CMakeCache.txt ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' build/CMakeCache.txt; then
  rm -rf build && mkdir -p build
fi
if ! cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/configure.log 2>&1; then
  cat build/configure.log >&2
  echo "demo.sh: configuring build/ failed (log above)" >&2
  exit 1
fi
if ! cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target funneld >build/demo-build.log 2>&1; then
  cat build/demo-build.log >&2
  echo "demo.sh: building funneld failed (log above)" >&2
  exit 1
fi
# The demo model (config/demo.ini) unless the caller passes -c FILE.
case " $* " in
  *" -c "* | *" --config "* | *" --config="*) exec build/funneld --demo "$@" ;;
  *) exec build/funneld --demo -c config/demo.ini "$@" ;;
esac
