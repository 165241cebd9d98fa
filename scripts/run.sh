#!/usr/bin/env bash
# README command 1: install what is missing, build, start the GUI on the embedded demo models.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> starting build/app/gui/rudder"
exec build/app/gui/rudder "$@"
