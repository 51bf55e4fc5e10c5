#!/usr/bin/env bash
# Comet's one entry script.
#
#   ./build.sh         set up, build and install the wheel, run the demo
#   ./build.sh test    set up, build and install the wheel, run every test
#
# Setup installs only what is missing, so a second run goes straight to the
# (incremental) build. Environment:
#   PYTHON               interpreter to build for and install into (python3)
#   COMET_BAZEL          Bazel command (bazel); also read by the wheel backend
#   COMET_TEST_TIMEOUT   per-test timeout for pytest, in seconds (300)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
PYTHON=${PYTHON:-python3}
BAZEL=${COMET_BAZEL:-bazel}
# The wheel backend (build_backend/comet_build.py) builds with the same flags.
# --incompatible_strict_action_env: actions see a fixed PATH, so this script's
# build and the backend's (run under pip, maybe via a pyenv shim) share a cache.
# --nosandbox_debug undoes Debian's /etc/bazel/bazelrc, which floods the log.
BAZEL_FLAGS=(-c opt --incompatible_strict_action_env --nosandbox_debug)
TEST_TIMEOUT=${COMET_TEST_TIMEOUT:-300}

APT_PACKAGES=(
  bazel-bootstrap libgrpc++-dev protobuf-compiler-grpc libabsl-dev libboost-dev
  libflatbuffers-dev flatbuffers-compiler pybind11-dev libgtest-dev pkg-config libssl-dev
  libsqlite3-dev # the head's GCS tables (src/comet/gcs/sqlite_store_client.cc)
  libhiredis-dev redis-server # --gcs-storage=redis://; the tests start their own redis-server
  iproute2
  chromium # tests/test_dashboard_ui.py drives it (through playwright-core)
)
# Distribution names as pip knows them.
PIP_PACKAGES=(pytest pytest-timeout numpy cloudpickle click psutil aiohttp setuptools wheel
  cryptography joblib croniter)

log() { echo "[build.sh] $*"; }
die() { echo "[build.sh] ERROR: $*" >&2; exit 1; }

PHASE_TIMES=()
print_times() {
  if ((${#PHASE_TIMES[@]})); then
    log "phase times:"
    printf '[build.sh]   %s\n' "${PHASE_TIMES[@]}"
  fi
}
trap print_times EXIT

# phase NAME FUNCTION: runs FUNCTION and records how long it took.
phase() {
  local name=$1 start=$EPOCHREALTIME
  log "=== $name ==="
  "$2"
  local took
  took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  PHASE_TIMES+=("$(printf '%-8s %7ss' "$name" "$took")")
  log "$name took ${took}s"
}

setup_system() {
  local missing=() pkg sudo=()
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "system packages present"
    return
  fi
  if ((EUID != 0)); then sudo=(sudo); fi
  log "installing system packages: ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

setup_python() {
  local missing
  missing=$("$PYTHON" - "${PIP_PACKAGES[@]}" <<'EOF'
import sys
from importlib import metadata
for name in sys.argv[1:]:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        print(name)
EOF
)
  if [[ -z "$missing" ]]; then
    log "python packages present"
  else
    # shellcheck disable=SC2086 # one name per word
    log "installing python packages: "$missing
    # shellcheck disable=SC2086
    "$PYTHON" -m pip install $missing
  fi
}

# The web UI (dashboard/, TypeScript built with npm) goes into the package's
# comet/dashboard/static; it needs Node.js >= 20.19 with npm on PATH.
UI_DIR=dashboard
UI_OUT=python/comet/dashboard/static

need_npm() {
  command -v npm >/dev/null 2>&1 ||
    die "npm not found: building the dashboard UI ($UI_DIR/) needs Node.js >= 20.19 with npm on PATH"
}

# npm install of the locked versions, unless node_modules is already at least
# as new as package-lock.json. Not `npm ci`: npm leaves other platforms'
# optional packages (rollup's native builds) out of the lock file, which
# `npm ci` then rejects as out of sync. --no-save keeps the lock file as is.
setup_dashboard() {
  local installed=$UI_DIR/node_modules/.package-lock.json
  if [[ -f $installed && ! $UI_DIR/package-lock.json -nt $installed ]]; then
    log "dashboard npm packages present"
    return
  fi
  need_npm
  log "installing the dashboard's npm packages (npm install --no-save)"
  (cd "$UI_DIR" && npm install --no-save --no-audit --no-fund)
}

setup() {
  setup_system
  setup_python
  setup_dashboard
}

# npm run build, unless its output is newer than every source file.
build_dashboard() {
  local index=$UI_OUT/index.html newer
  if [[ -f $index ]]; then
    newer=$(find "$UI_DIR" \( -name node_modules -o -name tests \) -prune -o -type f \
      -newer "$index" -print -quit)
    if [[ -z $newer ]]; then
      log "dashboard UI up to date ($index)"
      return
    fi
  fi
  need_npm
  (cd "$UI_DIR" && npm run build)
}

# Bazel first, in the foreground, so its progress shows; the wheel backend runs
# the same build again, which is then a no-op.
build_native() {
  # The backend gives Bazel the same COMET_PYTHON; a different value would make
  # Bazel refetch the Python headers between the two builds.
  COMET_PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
  export COMET_PYTHON
  # shellcheck disable=SC2086 # COMET_BAZEL may carry startup options
  $BAZEL build "${BAZEL_FLAGS[@]}" //:wheel_files
}

build_wheel() {
  rm -f dist/comet-*.whl
  "$PYTHON" -m pip wheel . --no-deps -w dist/
}

install_wheel() {
  local wheels=(dist/comet-*.whl)
  [[ -f "${wheels[0]}" ]] || die "no wheel in dist/"
  ((${#wheels[@]} == 1)) || die "more than one wheel in dist/: ${wheels[*]}"
  "$PYTHON" -m pip install --force-reinstall --no-deps "${wheels[0]}"
  # Now the dependencies (already satisfied after setup, unless new ones were added).
  "$PYTHON" -m pip install "${wheels[0]}"
  # pyenv only exposes new console scripts (comet) after a rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
}

build() {
  phase bazel build_native
  phase ui build_dashboard
  phase wheel build_wheel
  phase install install_wheel
}

run_demo() {
  # Run from /tmp so that the installed wheel, not the source tree, is imported.
  (cd /tmp && "$PYTHON" "$OLDPWD/examples/quickstart.py" && "$PYTHON" "$OLDPWD/examples/plasma_demo.py")
}

test_cpp() {
  local rc=0
  # shellcheck disable=SC2086
  $BAZEL test "${BAZEL_FLAGS[@]}" //src/... || rc=$?
  case $rc in
    0) ;;
    4) log "WARNING: Bazel found no C++ tests under //src/..." ;;
    *) die "C++ tests failed (bazel exit code $rc)" ;;
  esac
}

test_python() {
  local rc=0
  "$PYTHON" -m pytest tests/ -v --timeout="$TEST_TIMEOUT" || rc=$?
  case $rc in
    0) ;;
    5) die "pytest collected no tests" ;;
    *) die "pytest failed (exit code $rc)" ;;
  esac
}

main() {
  local mode=${1:-demo}
  case $mode in
    demo | test) ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      return
      ;;
    *) die "unknown command '$mode' (expected nothing or 'test')" ;;
  esac
  phase setup setup
  build
  if [[ $mode == test ]]; then
    phase cpp-test test_cpp
    phase pytest test_python
  else
    phase demo run_demo
  fi
}

main "$@"
