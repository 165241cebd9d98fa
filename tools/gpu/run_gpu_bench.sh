#!/usr/bin/env bash
# Rudder vs Hugging Face transformers on one GPU: random-weight Llama-3-8B (bf16) and,
# when it fits, a 13B reward model; decode step time at batch 1/32/256 against the bandwidth and
# FLOP bounds; BoN n=1024, AISP n=32 x K=32, QAlign 64 chains x 128 steps, 128 new tokens each.
# Writes docs/gpu-benchmark-results.md.  See docs/gpu-benchmark.md.
#
#   tools/gpu/run_gpu_bench.sh            # everything: check build models rudder hf report
#   tools/gpu/run_gpu_bench.sh PHASE ...  # some phases, in the order given
#
# Phases (each resumable; split them when one command may only run ~10 minutes):
#   check   what the machine has (GPU, python packages, CMake, ninja, the C/C++ dev packages)
#   build   Rudder's engine + rudder-cli against the PyTorch libtorch, CUDA on (incremental)
#   models  the random models as HF directories in $WORK (bf16 safetensors + tokenizer, prompt)
#   rudder  rudder-cli bench (decode step) and rudder-cli run for bon, aisp, qalign
#   rudder:W,W  some of them, e.g. rudder:decode,bon  rudder:qalign
#   hf      tools/gpu/bench_vs_hf.py: the same workloads with transformers ($HF_WORKLOADS)
#   hf:W,W  the hf phase for some workloads only, e.g. hf:decode,bon  hf:aisp  hf:qalign
#   report  both sides' JSON -> docs/gpu-benchmark-results.md (and $OUT/ when set)
#
# Knobs (environment): DEVICE (cuda) and DTYPE (bf16) of Rudder's side, MD (the report's path), BUILD_DIR (build-cuda), RESULTS ($BUILD_DIR/gpu-bench), WORK (where the
# models go, /tmp/rudder-gpu-bench: ~16 GB for the LM, ~27 GB more for the RM), RM (auto|on|off),
# PYTHON (python3), JOBS (nproc), RUDDER_SOURCE (saved | random-config), sizes: PROMPT_TOKENS 64,
# NEW_TOKENS 128, BON_N 1024, BON_BATCH 1024, AISP_N 32, AISP_K 32, QALIGN_CHAINS 64,
# QALIGN_STEPS 128, DECODE_BATCHES 1,32,256, DECODE_STEPS 32.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
PY=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-build-cuda}
RESULTS=${RESULTS:-$BUILD_DIR/gpu-bench}
WORK=${WORK:-/tmp/rudder-gpu-bench}
RM=${RM:-auto}
JOBS=${JOBS:-$(nproc)}
RUDDER_SOURCE=${RUDDER_SOURCE:-saved}
PROMPT_TOKENS=${PROMPT_TOKENS:-64}
NEW_TOKENS=${NEW_TOKENS:-128}
BON_N=${BON_N:-1024}
BON_BATCH=${BON_BATCH:-1024}
AISP_N=${AISP_N:-32}
AISP_K=${AISP_K:-32}
QALIGN_CHAINS=${QALIGN_CHAINS:-64}
QALIGN_STEPS=${QALIGN_STEPS:-128}
DECODE_BATCHES=${DECODE_BATCHES:-1,32,256}
DECODE_STEPS=${DECODE_STEPS:-32}
HF_WORKLOADS=${HF_WORKLOADS:-decode,bon,aisp,qalign}
CLI=$BUILD_DIR/app/cli/rudder-cli
BENCH_PY=tools/gpu/bench_vs_hf.py
MD=${MD:-docs/gpu-benchmark-results.md}
DEVICE=${DEVICE:-cuda}
DTYPE=${DTYPE:-bf16}

say() { printf '\n==> %s\n' "$*"; }
warn() { printf 'run_gpu_bench: %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }   # seconds since $1
mkdir -p "$RESULTS" "$WORK"

# The reward model is used on both sides exactly when the models phase saved one.
have_rm() { [ "$RM" != off ] && [ -f "$WORK/rm/config.json" ]; }

phase_check() {
  say "check"
  local ok=0
  if ! nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; then
    warn "nvidia-smi failed or is missing"; ok=1
  fi
  "$PY" - <<'EOF' || ok=1
import importlib, sys
bad = 0
for m in ("torch", "transformers", "tokenizers", "safetensors"):
    try:
        mod = importlib.import_module(m)
        print("%-13s %s" % (m, getattr(mod, "__version__", "?")))
    except Exception as e:
        print("%-13s MISSING (%s)" % (m, e)); bad = 1
try:
    import torch
    print("cuda available %s, torch CUDA %s, cxx11 abi %s" % (torch.cuda.is_available(), torch.version.cuda,
                                                               torch._C._GLIBCXX_USE_CXX11_ABI))
    print("cmake prefix  %s" % torch.utils.cmake_prefix_path)
    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        print("gpu memory    %.1f GiB free of %.1f GiB" % (free / 2**30, total / 2**30))
except Exception as e:
    print("torch check failed: %s" % e); bad = 1
sys.exit(bad)
EOF
  for t in cmake ninja pkg-config c++; do command -v "$t" >/dev/null || { warn "missing tool: $t"; ok=1; }; done
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || warn "nvcc not found (the Torch CMake config of a CUDA build may want the CUDA toolkit)"
  # Rudder's other dependencies (cmake/RudderDeps.cmake); there is no network to install them.
  pkg-config --exists libpcre2-8 || { warn "missing: libpcre2-8 (pkg-config)"; ok=1; }
  pkg-config --exists libutf8proc || { warn "missing: libutf8proc (pkg-config)"; ok=1; }
  for h in nlohmann/json.hpp CLI/CLI.hpp sqlite3.h; do
    echo "#include <$h>" | c++ -x c++ -fsyntax-only - 2>/dev/null || { warn "missing header: $h"; ok=1; }
  done
  df -h "$WORK" | tail -1
  return $ok
}

phase_build() {
  say "build ($BUILD_DIR, CUDA, sm_90)"
  local prefix
  prefix=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)') || { warn "python cannot import torch"; return 1; }
  [ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
  # RUDDER_TORCH_JOBS: cmake/RudderDeps.cmake caps torch translation units at 2 at a time (for
  # 2-core machines); where that option exists it lifts the cap, elsewhere CMake ignores it.
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DRUDDER_GUI=OFF -DRUDDER_TESTS=OFF -DRUDDER_TOOLS=OFF -DRUDDER_CUDA=ON \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 \
    -DRUDDER_TORCH_JOBS="$JOBS" || return 1
  cmake --build "$BUILD_DIR" --target rudder-cli -j "$JOBS" || return 1
  "$CLI" --help >/dev/null || return 1
}

phase_models() {
  say "models ($WORK)"
  if [ -f "$WORK/lm/config.json" ] && [ -f "$WORK/prompt.txt" ] && [ -z "${FORCE:-}" ]; then
    echo "already there (FORCE=1 rewrites them)"
    return 0
  fi
  rm -rf "$WORK/lm" "$WORK/rm"
  local rmargs=(--rm "$RM")
  [ "$RM" != off ] && rmargs+=(--save-rm "$WORK/rm")
  "$PY" "$BENCH_PY" --workloads none --out "$RESULTS/models.json" --save "$WORK/lm" "${rmargs[@]}" \
    --prompt-tokens "$PROMPT_TOKENS" --prompt-out "$WORK/prompt.txt" || return 1
  "$PY" "$BENCH_PY" config llama3-8b > "$WORK/llama3-8b.config.json"
  du -sh "$WORK"/*/ 2>/dev/null
}

# One rudder-cli run per method, each with its own --set values (a --set reaches every method that
# has the key).  budget.seconds in the JSON is the method's own wall-clock, models loaded.
rudder_method() {
  local m=$1; shift
  local reward=lexicon
  have_rm && reward=$WORK/rm
  say "rudder $m ($*; reward $reward)"
  local t0 secs rc
  t0=$(now)
  rm -f "$RESULTS/rudder-$m.sqlite"*
  "$CLI" run --method "$m" --model "$WORK/lm" --reward "$reward" --gold none --template none \
    --device "$DEVICE" --dtype "$DTYPE" --prompt "$PROMPT" --seed 1 --db "$RESULTS/rudder-$m.sqlite" --json \
    --set max_new_tokens="$NEW_TOKENS" "$@" > "$RESULTS/rudder-$m.json"
  rc=$?
  secs=$(since "$t0")
  local batch=null
  [ "$m" = bon ] && batch=$BON_BATCH
  printf '{"method": "%s", "exit": %d, "process_seconds": %s, "reward": "%s", "batch": %s}\n' \
    "$m" "$rc" "$secs" "$(basename "$reward")" "$batch" > "$RESULTS/rudder-$m.meta.json"
  [ $rc -eq 0 ] || warn "rudder $m exited $rc (the report keeps going without it)"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("status", d.get("status"), "budget", d.get("budget"))' \
    "$RESULTS/rudder-$m.json" 2>/dev/null
  return 0
}

phase_rudder() {
  local what=",${1:-decode,bon,aisp,qalign},"
  [ -x "$CLI" ] || { warn "$CLI is missing: run the build phase"; return 1; }
  [ -f "$WORK/lm/config.json" ] || { warn "$WORK/lm is missing: run the models phase"; return 1; }
  PROMPT=$(cat "$WORK/prompt.txt")
  # The prompt as Rudder's tokenizer sees it (the same tokenizer.json as the HF side).
  local n
  n=$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$WORK/prompt.txt" \
      | "$CLI" tokenize --tokenizer "$WORK/lm" --add-special \
      | "$PY" -c 'import json,sys; print(len(json.loads(sys.stdin.readline())))')
  echo "prompt: $n tokens under Rudder's tokenizer"

  if [[ $what == *,decode,* ]]; then
  say "rudder bench: decode step at batch $DECODE_BATCHES"
  local src=(--model "$WORK/lm")
  # --random-config makes Rudder write its own random model first: all tensors fp32 on the CPU,
  # 32 GB in memory and on disk for an 8B model, every invocation; the saved bf16 one is reused.
  [ "$RUDDER_SOURCE" = random-config ] && src=(--random-config "$WORK/llama3-8b.config.json" --tokenizer "$WORK/lm")
  "$CLI" bench "${src[@]}" --device "$DEVICE" --dtype "$DTYPE" --batches "$DECODE_BATCHES" \
    --prompt-tokens "$PROMPT_TOKENS" --decode-tokens "$DECODE_STEPS" --json > "$RESULTS/rudder-decode.json" \
    || warn "rudder bench exited $?"
  cat "$RESULTS/rudder-decode.json"
  fi
  [[ $what == *,bon,* ]] &&
    rudder_method bon --set n="$BON_N" --set batch="$BON_BATCH" --set temperature=1 --set top_p=1 --set top_k=0
  [[ $what == *,aisp,* ]] &&
    rudder_method aisp --set n="$AISP_N" --set iterations="$AISP_K" --set tau="$NEW_TOKENS" \
      --set sigma=0.5 --set lambda=0.3 --set alpha=0.9999
  [[ $what == *,qalign,* ]] &&
    rudder_method qalign --set chains="$QALIGN_CHAINS" --set steps="$QALIGN_STEPS" --set beta=1 --set temperature=1
  return 0
}

phase_hf() {
  local workloads=${1:-$HF_WORKLOADS}
  say "hf: $workloads"
  local rm=off tok=synth prompt=()
  have_rm && rm=on
  [ -f "$WORK/lm/tokenizer.json" ] && tok=$WORK/lm
  [ -f "$WORK/prompt.txt" ] && prompt=(--prompt-file "$WORK/prompt.txt")
  "$PY" "$BENCH_PY" --workloads "$workloads" --out "$RESULTS/hf.json" --rm "$rm" --tokenizer "$tok" "${prompt[@]}" \
    --prompt-tokens "$PROMPT_TOKENS" --new-tokens "$NEW_TOKENS" --bon-n "$BON_N" --bon-batch "$BON_BATCH" \
    --aisp-n "$AISP_N" --aisp-k "$AISP_K" --aisp-tau "$NEW_TOKENS" --qalign-chains "$QALIGN_CHAINS" \
    --qalign-steps "$QALIGN_STEPS" --decode-batches "$DECODE_BATCHES" --decode-prefill "$PROMPT_TOKENS" \
    --decode-steps "$DECODE_STEPS"
}

phase_report() {
  say "report -> $MD"
  local commit
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  [ -n "$(git status --porcelain 2>/dev/null)" ] && commit="$commit (+ uncommitted changes)"
  "$PY" "$BENCH_PY" report --results "$RESULTS" --md "$MD" --commit "$commit" || return 1
  [ "$(cd "$(dirname "$MD")" && pwd)" = "$(cd "$RESULTS" && pwd)" ] || cp "$MD" "$RESULTS/"
  if [ -n "${OUT:-}" ]; then   # the GPU machine's hand-back folder
    mkdir -p "$OUT/gpu-bench" && cp "$RESULTS"/*.json "$RESULTS"/*.md "$OUT/gpu-bench/" 2>/dev/null
    cp "$MD" "$OUT/"
  fi
}

phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(check build models rudder hf report)
status=0
for p in "${phases[@]}"; do
  t0=$(now)
  case $p in
    check) phase_check || { warn "check found problems (continuing)"; } ;;
    build) phase_build || { warn "build failed"; exit 1; } ;;
    models) phase_models || { warn "models failed"; exit 1; } ;;
    rudder) phase_rudder || status=1 ;;
    rudder:*) phase_rudder "${p#rudder:}" || status=1 ;;
    hf) phase_hf || status=1 ;;
    hf:*) phase_hf "${p#hf:}" || status=1 ;;
    report) phase_report || status=1 ;;
    *) warn "unknown phase '$p' (check build models rudder rudder:W,W hf hf:W,W report)"; exit 2 ;;
  esac
  printf '[%s: %s s]\n' "$p" "$(since "$t0")"
done
exit $status
