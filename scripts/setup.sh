#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages; npm packages for test references), then
# configures and builds Rudder in ./build.  Idempotent; prints what it does.
#   scripts/setup.sh [--no-gui] [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GUI=ON
TESTS=OFF
for a in "$@"; do
  case "$a" in
    --no-gui) GUI=OFF ;;
    --tests) TESTS=ON ;;
    *) echo "setup.sh: unknown option '$a' (use --no-gui, --tests)" >&2; exit 2 ;;
  esac
done

PKGS=(cmake ninja-build g++ pkg-config libtorch-dev libopenblas0-openmp nlohmann-json3-dev
      libsqlite3-dev libpcre2-dev libutf8proc-dev libcli11-dev libcpp-httplib-dev libginac-dev)
if [ "$GUI" = ON ]; then
  PKGS+=(qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev libgl-dev)
fi
if [ "$TESTS" = ON ]; then
  PKGS+=(qt6-base-dev qt6-base-dev-tools)
  # Node and npm (for the tokenizer references): any install that provides `npm` will do.
  command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "==> Debian packages: all present"
fi

if [ "$TESTS" = ON ] && [ -f tests/reference/package.json ]; then
  if [ ! -d tests/reference/node_modules ] || [ tests/reference/package-lock.json -nt tests/reference/node_modules ]; then
    echo "==> installing npm test references (tests/reference)"
    (cd tests/reference && npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "==> npm test references: present"
  fi
fi

echo "==> configuring build/ (RUDDER_GUI=$GUI)"
cmake -S . -B build -G Ninja -DRUDDER_GUI=$GUI -DRUDDER_TESTS=$TESTS >/dev/null
echo "==> building (2 jobs: torch translation units need ~1.2 GB each)"
cmake --build build -j 2
