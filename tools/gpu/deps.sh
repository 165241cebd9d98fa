#!/usr/bin/env bash
# The Debian 12 packages a headless Rudder build needs beyond PyTorch, CMake and a compiler,
# unpacked with `dpkg -x` into .gpu-deps/root (git-ignored) so they can travel to a machine that
# has no apt and no network (the GPU device: `carry: [".gpu-deps"]`).  Header-only libraries
# (nlohmann-json, CLI11), three C libraries (PCRE2, utf8proc, SQLite) and GiNaC with CLN (the grader);
# tools/gpu/device-check.sh
# points CMAKE_PREFIX_PATH at the folder.  About 4 MB.  Needs apt-get (this machine, CI).
#
#   tools/gpu/deps.sh [DEST]      # default: .gpu-deps in the repository root
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEST=${1:-$ROOT/.gpu-deps}
PKGS=(nlohmann-json3-dev libcli11-dev libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2 libsqlite3-dev libsqlite3-0
      libginac-dev libginac11 libcln-dev libcln6)
mkdir -p "$DEST/debs"
cd "$DEST/debs"
have_all() { for p in "${PKGS[@]}"; do compgen -G "${p}_*.deb" >/dev/null || return 1; done; }
if ! have_all; then
  # apt-get download needs current package lists; refresh them once if it fails.
  apt-get download "${PKGS[@]}" 2>/dev/null || { apt-get update -qq && apt-get download "${PKGS[@]}"; }
fi
rm -rf "$DEST/root"
for f in *.deb; do dpkg -x "$f" "$DEST/root"; done
echo "deps: ${#PKGS[@]} packages in $DEST/root ($(du -sh "$DEST" | cut -f1))"
