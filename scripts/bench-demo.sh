#!/usr/bin/env bash
# The demo benchmark: on the embedded demo pair (CPU), AISP with its default,
# scale-free σ and λ — n=32 × K=8 and n=16 × K=16 — against BoN n=256, the same 256 scored samples
# per prompt, over the first 20 KJV verse starts (the defaults were chosen on
# resources/prompts/kjv-tune.jsonl, never on these).  Prints mean proxy reward (demo RM), gold
# reward (AFINN lexicon) ± standard error over prompts, KL to the base model, wall clock, and
# each AISP run's paired difference to BoN.
#   scripts/bench-demo.sh [--db FILE] [extra rudder-cli compare options]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/app/cli/rudder-cli ] || scripts/setup.sh --no-gui
DB=$(mktemp -u /tmp/rudder-bench-demo-XXXX.sqlite)
if [ "${1:-}" = "--db" ]; then DB=$2; shift 2; fi
# Spinning OpenMP threads make a busy machine many times slower (README, Benchmarks).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
for n in 32 16; do
  echo "==> rudder-cli compare: AISP n=$n vs BoN, 256 samples per prompt (session: $DB)"
  build/app/cli/rudder-cli compare --methods aisp,bon --budget-axis samples --budget 256 \
    --set aisp.n=$n --set max_new_tokens=32 --seed 1 \
    --dataset resources/prompts/kjv-starts.jsonl --limit 20 --db "$DB" "$@"
done
