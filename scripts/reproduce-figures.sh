#!/usr/bin/env bash
# Regenerates docs/figures/*.pdf and docs/figures/numbers.md from the project's own runs on the
# demo models: AISP's reward vs samples (Fig. 4) and KL vs reward (Table 3 analogue),
# QAlign's gold vs compute against the weak proxy demo-rm-small, and β(n) against BoN.
# ~10 minutes on 2 cores.  A finding that does not reproduce is reported as such (README).
#   scripts/reproduce-figures.sh [OUTDIR]      (default: docs/figures)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/figures}
[ -x build/app/cli/rudder-cli ] && [ -x build/tools/figures/rudder-figures ] || scripts/setup.sh
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
DB=$(mktemp -u /tmp/rudder-figures-XXXX.sqlite)
CLI=build/app/cli/rudder-cli
DATA=(--dataset resources/prompts/kjv-starts.jsonl --set max_new_tokens=32)
# Runs one method and prints its run id.
run() { "$CLI" run --db "$DB" "$@" 2>&1 >/dev/null | sed -n 's/^rudder-cli: run \([0-9]*\) .*/\1/p' | head -1; }

echo "==> runs (session: $DB)"
AISP=$(run --method aisp "${DATA[@]}" --limit 8 --seed 1 --set n=32 --set iterations=8)
KL=()
for la in "0.03 0.9999" "0.1 0.9999" "0.3 0.9999" "1 0.9999" "0.1 0.99" "0.1 0.9"; do
  set -- $la
  KL+=("$(run --method aisp "${DATA[@]}" --limit 4 --seed 1 --set n=16 --set iterations=4 --set lambda=$1 --set alpha=$2)")
done
BON=$(run --method bon "${DATA[@]}" --limit 8 --seed 2 --set n=256 --set batch=64)
BON_SMALL=$(run --method bon --reward demo-rm-small "${DATA[@]}" --limit 8 --seed 2 --set n=1024 --set batch=64)
QALIGN_SMALL=$(run --method qalign --reward demo-rm-small "${DATA[@]}" --limit 8 --seed 2 --set chains=4 --set steps=127)
echo "    aisp $AISP, kl ${KL[*]}, bon $BON, bon-small $BON_SMALL, qalign-small $QALIGN_SMALL"
KLIDS=$(IFS=,; echo "${KL[*]}")
build/tools/figures/rudder-figures --db "$DB" --out "$OUT" --aisp "$AISP" --kl "$KLIDS" --bon "$BON" \
  --bon-small "$BON_SMALL" --qalign-small "$QALIGN_SMALL"
