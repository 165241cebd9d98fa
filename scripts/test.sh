#!/usr/bin/env bash
# README command 2: install what is missing, build, run the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
echo "==> running the tests (ctest)"
cd build
ctest --output-on-failure --timeout 900 "$@"
