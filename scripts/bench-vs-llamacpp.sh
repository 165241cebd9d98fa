#!/usr/bin/env bash
# Rudder against llama.cpp (npm node-llama-cpp 3.21.1, installed by scripts/setup.sh --tests) on the
# same random-weight models: the demo LM's size and a SmolLM-135M-shaped Llama.  Prints markdown
# tables (tok/s, ratio, matmul bound, idle and with one competing busy process).  Takes ~15-25 min
# on 2 cores with the defaults; options pass through (e.g. --sizes demo --rounds 2 --md out.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/app/cli/rudder-cli ] || { echo "bench-vs-llamacpp.sh: build first (scripts/setup.sh --tests)" >&2; exit 2; }
[ -d tests/reference/node_modules/node-llama-cpp ] || { echo "bench-vs-llamacpp.sh: run 'npm ci' in tests/reference (scripts/setup.sh --tests does)" >&2; exit 2; }
exec node tests/reference/bench_vs_llamacpp.mjs "$@"
