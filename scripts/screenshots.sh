#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/*.png): the real window on the demo models, drawn
# by an X server (Xvfb), at each stage of a session.
#   scripts/screenshots.sh [OUTDIR] [remote|sweep|recontrol|accuracy|laptop|wide]   (default: docs; one of those: only that shot;
#   laptop and wide: the window at 1280×800 and 1920×1080 after a short AISP run)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs}
command -v Xvfb >/dev/null || { echo "screenshots: Xvfb not found: apt-get install xvfb" >&2; exit 1; }
cmake --build build --target rudder-screenshots
Xvfb :97 -screen 0 1920x1080x24 >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID' EXIT
sleep 1
DISPLAY=:97 build/tools/screenshots/rudder-screenshots "$OUT" "${2:-}"
