#!/usr/bin/env bash
# Installs everything funneld's build and tests need; safe to run again and
# quick when all is present:
#   - Debian packages (apt-get, only when one is missing; needs root or sudo)
#   - a Python venv at .venv with the integration tests' clients
#   - the Kafka broker's jars in .cache/kafka-libs (Maven, Kafka 3.9.x)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev libavro-dev libhiredis-dev libinih-dev libjansson-dev libmicrohttpd-dev
  redis-server tzdata clang-format valgrind
  clang libclang-rt-14-dev # libFuzzer + sanitizer runtimes (scripts/fuzz.sh)
  python3 python3-venv openjdk-17-jre-headless maven
  chromium # headless browser of tests/integration/test_dashboard.py
)
PIP_PACKAGES=(confluent-kafka==2.16.1 fastavro==1.13.1 redis==8.1.0)
KAFKA_LIBS="$ROOT/.cache/kafka-libs"
KAFKA_POM="$ROOT/tests/integration/kafka/pom.xml"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: install ${DEB_PACKAGES[*]} by hand"
  SUDO=(sudo)
fi

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      || die "apt-get update failed; check the network and /etc/apt/sources.list"
    APT_UPDATED=1
  fi
  say "installing Debian packages: $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed; run it by hand to see why"
}

deb_missing() {
  local p missing=()
  for p in "$@"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
  done
  echo "${missing[*]:-}"
}

# --- Debian packages ----------------------------------------------------
missing="$(deb_missing "${DEB_PACKAGES[@]}")"
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086 # word splitting of the package list is wanted
  apt_install $missing
fi

# --- Python venv --------------------------------------------------------
VENV="$ROOT/.venv"
STAMP="$VENV/.funneld-requirements"
want="${PIP_PACKAGES[*]}"
venv_ok() {
  [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
    "$VENV/bin/python" -c 'import confluent_kafka, fastavro, redis' 2>/dev/null
}
if ! venv_ok; then
  PY="$(command -v python3 || true)"
  [ -n "$PY" ] || die "python3 not found after installing it"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$VENV"
    say "creating Python venv $VENV with $("$PY" --version 2>&1)"
    if ! "$PY" -m venv "$VENV" 2>/tmp/funneld-venv.err; then
      # Debian's python3 needs python3-venv (ensurepip) to make venvs.
      rm -rf "$VENV"
      apt_install python3-venv
      "$PY" -m venv "$VENV" || die "python3 -m venv failed: $(cat /tmp/funneld-venv.err)"
    fi
  fi
  say "installing Python packages: $want"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "${PIP_PACKAGES[@]}" || die "pip install ${PIP_PACKAGES[*]} failed"
  "$VENV/bin/python" -c 'import confluent_kafka, fastavro, redis' \
    || die "the venv cannot import confluent_kafka, fastavro and redis"
  echo "$want" >"$STAMP"
fi

# --- Kafka broker jars --------------------------------------------------
# Complete = the jars this pom resolves were copied (stamp = pom's checksum).
KSTAMP="$KAFKA_LIBS/.pom.sha256"
pom_sum="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
if [ ! -f "$KSTAMP" ] || [ "$(cat "$KSTAMP")" != "$pom_sum" ] ||
  ! ls "$KAFKA_LIBS"/kafka_2.13-3.9.*.jar >/dev/null 2>&1; then
  say "resolving the Kafka broker jars with Maven into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$ROOT/.cache"
  MVN_LOG="$ROOT/.cache/maven.log"
  : >"$MVN_LOG"
  resolved=""
  for kv in 3.9.1 3.9.0; do # the pom's version first, then the fallback
    if mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" -Dkafka.version="$kv" \
      dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" >>"$MVN_LOG" 2>&1; then
      resolved="$kv"
      break
    fi
    say "Kafka $kv did not resolve; trying the next version"
    rm -rf "$KAFKA_LIBS"
  done
  if [ -z "$resolved" ]; then
    tail -n 40 "$MVN_LOG" >&2
    die "Maven could not resolve the Kafka broker jars ($KAFKA_POM); full log: $MVN_LOG"
  fi
  ls "$KAFKA_LIBS"/kafka_2.13-3.9.*.jar >/dev/null 2>&1 ||
    die "Maven ran but $KAFKA_LIBS holds no kafka_2.13 jar; see $MVN_LOG"
  echo "$pom_sum" >"$KSTAMP"
fi

say "ok: Debian packages, .venv ($("$VENV/bin/python" --version 2>&1)), Kafka jars ($(ls "$KAFKA_LIBS" | grep -c '\.jar$') in .cache/kafka-libs)"
