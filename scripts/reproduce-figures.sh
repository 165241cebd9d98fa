#!/usr/bin/env bash
# Regenerates docs/figures/*.pdf and docs/figures/numbers.md from the project's own runs on the
# demo models: AISP's reward vs samples (Fig. 4) and KL vs reward (Table 3 analogue),
# QAlign's gold vs compute against the weak proxy demo-rm-small, and β(n) against BoN.
# ~10 minutes on 2 cores.  A finding that does not reproduce is reported as such (README).
# With --accuracy (or --accuracy-only) it also draws the QAlign paper's Figure 2 at demo scale:
# error rate against FLOPs for QAlign, BoN, MV and WMV on arith-test and arith-shift with the
# reasoning demo (demo-math-lm, demo-math-rm, accuracy as the gold); ~40 more minutes.
#   scripts/reproduce-figures.sh [--accuracy | --accuracy-only] [OUTDIR]      (default: docs/figures)
set -euo pipefail
cd "$(dirname "$0")/.."
ACC=0
case "${1:-}" in
  --accuracy) ACC=1; shift ;;
  --accuracy-only) ACC=2; shift ;;
esac
OUT=${1:-docs/figures}
[ -x build/app/cli/rudder-cli ] && [ -x build/tools/figures/rudder-figures ] || scripts/setup.sh
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
DB=$(mktemp -u /tmp/rudder-figures-XXXX.sqlite)
CLI=build/app/cli/rudder-cli
DATA=(--dataset resources/prompts/kjv-starts.jsonl --set max_new_tokens=32)
# Runs one method and prints its run id.
run() { "$CLI" run --db "$DB" "$@" 2>&1 >/dev/null | sed -n 's/^rudder-cli: run \([0-9]*\) .*/\1/p' | head -1; }

if [ "$ACC" -ge 1 ]; then
  # QAlign Fig. 2 analogue.  BoN's pool of N samples per question gives BoN, MV and WMV at every
  # k <= N (expectations over k-subsets); QAlign runs once per step count (its own final vote).
  Q=${ACC_QUESTIONS:-100}; N=${ACC_SAMPLES:-128}; STEPS=${ACC_STEPS:-"1 3 7 15 31"}
  M=(--model resources/models/demo-math-lm --reward resources/models/demo-math-rm --gold answer --field question
     --limit "$Q" --set max_new_tokens=128)
  SPECS=()
  for SET in test shift; do
    D=(--dataset resources/prompts/arith-$SET.jsonl)
    echo "==> accuracy runs on arith-$SET ($Q questions; BoN pool of $N; QAlign steps $STEPS)"
    IDS=$(run --method bon "${M[@]}" "${D[@]}" --seed 5 --set n="$N" --set batch=64)
    for T in $STEPS; do
      IDS="$IDS:$(run --method qalign "${M[@]}" "${D[@]}" --seed 6 --set chains=4 --set steps="$T" --set burn_in=0)"
    done
    echo "    runs $IDS"
    SPECS+=("arith-$SET:$IDS")
  done
  ACCSPEC=$(IFS=,; echo "${SPECS[*]}")
  build/tools/figures/rudder-figures --db "$DB" --out "$OUT" --accuracy "$ACCSPEC"
  [ "$ACC" -eq 2 ] && exit 0
fi

echo "==> runs (session: $DB)"
# base_samples: 256 plain samples per prompt, so the BoN reference is drawn from the base model
AISP=$(run --method aisp "${DATA[@]}" --limit 8 --seed 1 --set n=32 --set iterations=8 --set base_samples=256)
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
