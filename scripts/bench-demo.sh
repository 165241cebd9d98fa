#!/usr/bin/env bash
# The demo benchmark of issue 9: on the embedded demo pair (CPU), AISP n=32 x K=8 against BoN
# n=256 — the same 256 scored samples per prompt — over the first 20 KJV verse starts. Prints mean
# proxy reward (demo RM) and gold reward (AFINN lexicon) of the returned answers and wall-clock.
#   scripts/bench-demo.sh [--db FILE] [extra rudder-cli compare options]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/app/cli/rudder-cli ] || scripts/setup.sh --no-gui
DB=$(mktemp -u /tmp/rudder-bench-demo-XXXX.sqlite)
if [ "${1:-}" = "--db" ]; then DB=$2; shift 2; fi
echo "==> rudder-cli compare (session: $DB)"
build/app/cli/rudder-cli compare --methods aisp,bon --budget-axis samples --budget 256 \
  --set aisp.n=32 --set max_new_tokens=32 --seed 1 \
  --dataset resources/prompts/kjv-starts.jsonl --limit 20 --db "$DB" "$@"
