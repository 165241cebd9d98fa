#!/usr/bin/env bash
# The demo benchmark: on the embedded demo pair (CPU), AISP with its default,
# scale-free σ, λ and ρ — n=32 × K=8 and n=16 × K=16 — against BoN n=256, the same 256 scored samples
# per prompt, over the first 20 KJV verse starts (the defaults were chosen on
# resources/prompts/kjv-tune.jsonl, never on these).  Prints mean proxy reward (demo RM), gold
# reward (AFINN lexicon) ± standard error over prompts, KL to the base model, wall clock, and
# each AISP run's paired difference to BoN, and the weights' ESS by iteration.  Then the same
# defaults, untouched, on a random-weight Llama of another size (512 hidden, 6 layers, the demo
# tokenizer): there no advantage is expected (its text is noise), only weights that neither
# collapse nor stay uniform.
#   scripts/bench-demo.sh [--db FILE] [--no-other-model] [extra rudder-cli compare options]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/app/cli/rudder-cli ] || scripts/setup.sh --no-gui
DB=$(mktemp -u /tmp/rudder-bench-demo-XXXX.sqlite)
if [ "${1:-}" = "--db" ]; then DB=$2; shift 2; fi
OTHER=1
if [ "${1:-}" = "--no-other-model" ]; then OTHER=0; shift; fi
# Spinning OpenMP threads make a busy machine many times slower (README, Benchmarks).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
for n in 32 16; do
  echo "==> rudder-cli compare: AISP n=$n vs BoN, 256 samples per prompt (session: $DB)"
  build/app/cli/rudder-cli compare --methods aisp,bon --budget-axis samples --budget 256 \
    --set aisp.n=$n --set max_new_tokens=32 --seed 1 \
    --dataset resources/prompts/kjv-starts.jsonl --limit 20 --db "$DB" "$@"
done
[ "$OTHER" = 1 ] || exit 0
RAND=$(mktemp -d /tmp/rudder-bench-demo-model-XXXX)
trap 'rm -rf "$RAND"' EXIT
cat > "$RAND/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 2048, "hidden_size": 512,
 "intermediate_size": 1408, "num_hidden_layers": 6, "num_attention_heads": 8, "num_key_value_heads": 4,
 "head_dim": 64, "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-05,
 "rope_theta": 10000.0, "tie_word_embeddings": false, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2}
JSON
build/app/cli/rudder-cli random-model --config "$RAND/config.json" --out "$RAND/lm" --seed 7 >/dev/null
echo "==> the same defaults on a random-weight Llama (512 hidden, 6 layers): AISP n=32 vs BoN, 256 samples, 5 prompts"
build/app/cli/rudder-cli compare --methods aisp,bon --budget-axis samples --budget 256 \
  --set aisp.n=32 --set max_new_tokens=32 --seed 1 --model "$RAND/lm" \
  --dataset resources/prompts/kjv-starts.jsonl --limit 5 --db "$DB" "$@"
