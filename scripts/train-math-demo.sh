#!/usr/bin/env bash
# Rebuilds the reasoning demo in resources/: the prompt sets (tools/train_demo/make_arith.py), the
# LM demo-math-lm (rudder-train-demo --task arith-lm), its own samples on training questions graded
# by `rudder-cli run --gold answer`, and the outcome RM demo-math-rm trained on one correct and one
# incorrect sample per question with Bradley-Terry (QAlign paper, App. B). About 25 minutes on 2 cores.
#   scripts/train-math-demo.sh [--lm-minutes M] [--rm-minutes M] [--threads N] [--test-steps S] [--out DIR] [--rm-only]
# --rm-only keeps the trained demo-math-lm and redoes its samples and the RM.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=resources/models
LM_MIN=13
RM_MIN=5
THREADS=1
TEST_STEPS=2
RM_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lm-minutes) LM_MIN=$2; shift 2 ;;
    --rm-minutes) RM_MIN=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --test-steps) TEST_STEPS=$2; shift 2 ;;
    --rm-only) RM_ONLY=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "train-math-demo.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "==> prompt sets (resources/prompts/arith-*.jsonl)"
python3 tools/train_demo/make_arith.py resources/prompts "$TEST_STEPS"
echo "==> building rudder-train-demo and rudder-cli"
cmake -S . -B build -G Ninja -DRUDDER_TOOLS=ON >/dev/null
cmake --build build --target rudder-train-demo rudder-cli -j 2
TRAIN=resources/prompts/arith-train.jsonl
if [ "$RM_ONLY" -eq 0 ]; then
  echo "==> LM: $LM_MIN minutes"
  build/tools/train_demo/rudder-train-demo --task arith-lm --train-jsonl "$TRAIN" --out "$OUT" --lm-name demo-math-lm \
    --lm-minutes "$LM_MIN" --threads "$THREADS"
fi
echo "==> the LM's own samples on 2,000 training questions (6 each, temperature 1), graded"
build/app/cli/rudder-cli run --method bon --model "$OUT/demo-math-lm" --reward lexicon --gold answer \
  --dataset "$TRAIN" --field question --limit 2000 --set n=6 --set batch=6 --set max_new_tokens=128 \
  --seed 11 --db "$WORK/samples.sqlite" >/dev/null
python3 - "$WORK/samples.sqlite" "$WORK/pairs.jsonl" <<'PY'
import sqlite3, sys, json, collections
db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
prompts = dict(c.execute("select prompt_index, text from prompts where run_id = 1"))
by = collections.defaultdict(lambda: ([], []))
for p, text, gold in c.execute("select prompt_index, text, gold_reward from samples where run_id = 1 order by iteration_id, pos"):
    by[p][0 if gold == 1 else 1].append(text)
# Every (correct, incorrect) pair of a question, up to 8 a question (distinct texts): one pair a
# question, as the paper's App. B, left a 1.8M-parameter RM at chance on held-out pairs.
n = correct = 0
with open(out, "w") as f:
    for p in sorted(by):
        ok, bad = by[p]
        n += len(ok) + len(bad); correct += len(ok)
        ok, bad = list(dict.fromkeys(ok)), list(dict.fromkeys(bad))
        pairs = [(a, b) for a in ok for b in bad][:8]
        for a, b in pairs:
            f.write(json.dumps({"prompt": prompts[p], "chosen": a, "rejected": b}) + "\n")
npairs = sum(1 for _ in open(out))
print(f"    {correct}/{n} samples correct ({correct / n:.1%}); {npairs} (correct, incorrect) pairs")
PY
echo "==> RM: $RM_MIN minutes, Bradley-Terry on those pairs"
build/tools/train_demo/rudder-train-demo --task arith-rm --train-jsonl "$TRAIN" --out "$OUT" --init-lm "$OUT/demo-math-lm" \
  --rm-name demo-math-rm --rm-pairs "$WORK/pairs.jsonl" --rm-minutes "$RM_MIN" --rm-batch 16 --rm-lr 2e-4 \
  --threads "$THREADS"
