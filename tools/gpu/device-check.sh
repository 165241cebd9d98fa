#!/usr/bin/env bash
# The one prepared command for a lent GPU machine (15 minutes of device time in all, at most 10
# per command): a Qt-free CUDA build, parity with Hugging Face transformers on CUDA (fp32 and
# bf16), and the speed comparison with transformers.  Every phase has its own time limit inside an
# overall budget, stamps its start and end, and leaves what it measured under the output folder at
# once, so a run cut short still returns its results.
#
#   tools/gpu/device-check.sh              # on the GPU machine; results under $OUT
#   tools/gpu/device-check.sh --rehearse   # the same phases on this CPU machine at toy sizes
#
# The device call (from the repository root here, after tools/gpu/deps.sh):
#   run(command: "tools/gpu/device-check.sh", carry: [".gpu-deps"], timeout_s: 560)
#
# Phases: env, deps, build, fixtures, parity, speed, pack.
#   env       what the machine has (GPU, PyTorch and its CMake prefix, transformers, tools)
#   deps      the Debian headers and C libraries carried in .gpu-deps (tools/gpu/deps.sh)
#   build     rudder-cli with RUDDER_GUI=OFF RUDDER_TESTS=OFF (no Qt there), RUDDER_CUDA=ON against
#             the machine's libtorch, -j$(nproc), no ccache; then a one-fixture CUDA smoke check
#   fixtures  tests/reference/make_hf_fixtures.py --bf16 with the machine's transformers
#             (rehearsal without transformers: the committed fixtures are copied)
#   parity    rudder-cli parity on those fixtures and on the committed ones, fp32 and bf16
#   speed     tools/gpu/run_gpu_bench.sh: random Llama-3-8B in bf16, decode at batch 1/32/256
#             against the bandwidth and FLOP bounds, BoN 1024 x 128, AISP 32 x K (K=8 to fit)
#   pack      summary.md, phases.jsonl, the log and details.tar.gz in the output folder
#
# Output folder ($OUT on the device, else $CHECK_DIR/out): at most 8 files come back from the
# device, so the detail goes into details.tar.gz.  Knobs: BUDGET_S (total seconds, 540 on the
# device, 1500 rehearsing), CHECK_DIR (work folder: /tmp/rudder-device-check, or
# build-rehearse when rehearsing), JOBS, PYTHON, ONLY=PHASE (run that one phase alone, for debugging).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
MODE=device
case "${1:-}" in
  --rehearse) MODE=rehearse ;;
  "") ;;
  -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
  *) echo "device-check: unknown argument '$1' (--rehearse | --help)" >&2; exit 2 ;;
esac
PY=${PYTHON:-python3}
JOBS=${JOBS:-$(nproc)}
T_START=$(date +%s)
if [ "$MODE" = device ]; then
  BUDGET_S=${BUDGET_S:-540}
  CHECK_DIR=${CHECK_DIR:-/tmp/rudder-device-check}
  DEV=cuda; LOWP=bf16
else
  BUDGET_S=${BUDGET_S:-1500}
  CHECK_DIR=${CHECK_DIR:-$ROOT/build-rehearse}
  DEV=cpu; LOWP=bf16
fi
OUTDIR=${OUT:-$CHECK_DIR/out}
BUILD=$CHECK_DIR/build
WORK=$CHECK_DIR/work
CLI=$BUILD/app/cli/rudder-cli
DEPS=$ROOT/.gpu-deps/root
mkdir -p "$OUTDIR" "$WORK"
rm -f "$OUTDIR/phases.jsonl" "$OUTDIR/summary.md"
LOG=$OUTDIR/device-check.log
exec > >(tee "$LOG") 2>&1

now() { date +%s; }
left() { echo $((T_START + BUDGET_S - $(now))); }
# Each phase: its own limit, never past the overall budget (PACK_RESERVE_S kept for packing).
PACK_RESERVE_S=15
phase_limit() { local l=$(( $(left) - PACK_RESERVE_S )); [ "$1" -lt "$l" ] && l=$1; echo $l; }
FAILED=()
stamp() {   # name start status note
  local end; end=$(now)
  printf '{"phase": "%s", "mode": "%s", "start": "%s", "seconds": %d, "status": "%s", "note": "%s"}\n' \
    "$1" "$MODE" "$(date -u -d "@$2" +%FT%TZ)" $((end - $2)) "$3" "$4" >> "$OUTDIR/phases.jsonl"
  printf '[%s: %s in %d s%s]\n' "$1" "$3" $((end - $2)) "${4:+; $4}"
  [ "$3" = ok ] || [ "$3" = skipped ] || FAILED+=("$1")
}
# run_phase NAME LIMIT_S FUNCTION: the function runs in a subshell under `timeout`.
run_phase() {
  local name=$1 limit t0 rc
  limit=$(phase_limit "$2")
  t0=$(now)
  printf '\n==> %s (limit %d s, %d s of the budget left) %s\n' "$name" "$limit" "$(left)" "$(date -u +%T)"
  if [ "$limit" -le 5 ]; then stamp "$name" "$t0" "no time" "budget spent"; return 1; fi
  NOTE_FILE=$WORK/.note-$name; rm -f "$NOTE_FILE"; export NOTE_FILE
  timeout --signal=TERM --kill-after=5 "$limit" bash -c "set -uo pipefail; $(declare -f); $3"; rc=$?
  local note=""; [ -f "$NOTE_FILE" ] && note=$(tr '\n"' ' ' < "$NOTE_FILE")
  if [ $rc -eq 0 ]; then stamp "$name" "$t0" ok "$note"
  elif [ $rc -eq 3 ]; then stamp "$name" "$t0" skipped "$note"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then stamp "$name" "$t0" "timed out" "$note"
  else stamp "$name" "$t0" "failed ($rc)" "$note"; fi
  return $rc
}
note() { echo "$*" >> "$NOTE_FILE"; echo "note: $*"; }
export -f note
export ROOT MODE PY JOBS DEV LOWP OUTDIR BUILD WORK CLI DEPS

phase_env() {
  echo "mode $MODE, $(uname -srm), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2 " GiB"}') memory"
  if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  else echo "no nvidia-smi"; [ "$MODE" = device ] && note "no nvidia-smi on the device"; fi
  "$PY" - <<'EOF' || true
import importlib
for m in ("torch", "transformers", "tokenizers", "safetensors", "numpy"):
    try:
        print("%-13s %s" % (m, importlib.import_module(m).__version__))
    except Exception as e:
        print("%-13s absent (%s)" % (m, type(e).__name__))
try:
    import torch
    print("torch cuda   ", torch.cuda.is_available(), torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)
    print("cmake prefix ", torch.utils.cmake_prefix_path)
except Exception:
    pass
EOF
  for t in cmake ninja nvcc c++ pkg-config ccache; do printf '%-13s %s\n' "$t" "$(command -v "$t" >/dev/null && "$t" --version 2>&1 | head -1 || echo absent)"; done
  df -h "$WORK" | tail -1
}

phase_deps() {
  if [ -f "$DEPS/usr/include/nlohmann/json.hpp" ] && [ -f "$DEPS/usr/include/pcre2.h" ]; then
    echo "carried deps: $DEPS ($(du -sh "$DEPS" | cut -f1))"; return 0
  fi
  if [ "$MODE" = device ]; then
    note ".gpu-deps is missing: run tools/gpu/deps.sh here and carry .gpu-deps"; return 1
  fi
  "$ROOT/tools/gpu/deps.sh"
}

phase_build() {
  local prefix=""
  # The machine's libtorch: PyTorch's own CMake files (the device); Debian's libtorch-dev is found
  # without help (the rehearsal).
  if [ "$MODE" = device ] || "$PY" -c 'import torch' 2>/dev/null; then
    prefix=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) || prefix=""
  fi
  local cuda=OFF gen=() extra=()
  [ "$MODE" = device ] && cuda=ON
  command -v ninja >/dev/null && gen=(-G Ninja)
  [ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
  [ "$cuda" = ON ] && extra=(-DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0)
  echo "libtorch prefix: ${prefix:-system}; carried deps: $DEPS"
  # pkg-config is switched off so the carried headers and libraries are what is found, here and there.
  cmake -S "$ROOT" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DRUDDER_GUI=OFF -DRUDDER_TESTS=OFF -DRUDDER_TOOLS=OFF -DRUDDER_CUDA=$cuda \
    -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON -DCMAKE_PREFIX_PATH="$DEPS/usr;$prefix" \
    -DRUDDER_TORCH_JOBS="$JOBS" -DCMAKE_CXX_COMPILER_LAUNCHER= "${extra[@]}" > "$WORK/cmake-configure.log" 2>&1 \
    || { tail -40 "$WORK/cmake-configure.log"; note "configure failed"; return 1; }
  grep -E "Rudder:|Torch|CUDA" "$WORK/cmake-configure.log" | head -20
  cmake --build "$BUILD" --target rudder-cli -j "$JOBS" > "$WORK/cmake-build.log" 2>&1 \
    || { grep -E "error|Error" "$WORK/cmake-build.log" | head -30; tail -20 "$WORK/cmake-build.log"; note "build failed"; return 1; }
  tail -2 "$WORK/cmake-build.log"
  "$CLI" --version || { note "rudder-cli does not start"; return 1; }
  # Smoke: one fixture on the target device, so a CUDA-less link shows here, not in every later phase.
  "$CLI" parity --fixtures "$ROOT/tests/reference/hf/llama" --device "$DEV" --dtype fp32 \
    || { note "rudder-cli cannot run the llama fixture on $DEV"; return 1; }
}

phase_fixtures() {
  rm -rf "$WORK/hf-fixtures"
  if "$PY" -c 'import torch, transformers, safetensors' 2>/dev/null; then
    "$PY" "$ROOT/tests/reference/make_hf_fixtures.py" --out "$WORK/hf-fixtures" --bf16 || { note "make_hf_fixtures.py failed"; return 1; }
    "$PY" -c 'import transformers; print(transformers.__version__)' > "$WORK/hf-fixtures/TRANSFORMERS_VERSION"
    du -sh "$WORK/hf-fixtures"
  elif [ "$MODE" = rehearse ]; then
    cp -r "$ROOT/tests/reference/hf" "$WORK/hf-fixtures"
    note "no transformers here: the committed fixtures stand in (only parsing and reporting are rehearsed)"
  else
    note "transformers cannot be imported on the device"; return 1
  fi
}

phase_parity() {
  local rc=0 src dir dt
  for src in generated committed; do
    dir=$WORK/hf-fixtures; [ $src = committed ] && dir=$ROOT/tests/reference/hf
    # Rehearsing without transformers, "generated" are copies of the committed ones: checked once.
    [ $src = generated ] && [ ! -f "$dir/TRANSFORMERS_VERSION" ] && [ "$MODE" = rehearse ] && continue
    [ -d "$dir" ] || { note "no $src fixtures"; rc=1; continue; }
    for dt in fp32 "$LOWP"; do
      echo "--- $src fixtures, $DEV, $dt"
      "$CLI" parity --fixtures "$dir" --device "$DEV" --dtype "$dt" --json "$WORK/parity-$src-$dt.json" \
        || { rc=1; note "parity $src $dt: mismatch or error"; }
    done
  done
  return $rc
}

phase_speed() {
    # OUT= : the bench must not add files of its own to the device's hand-back folder.
  local bench=(env OUT= MD="$WORK/gpu-bench/gpu-benchmark-results.md" RESULTS="$WORK/gpu-bench" WORK="$WORK/models"
               BUILD_DIR="$BUILD" RM=off PYTHON="$PY")
  if [ "$MODE" = device ]; then
    bench+=(DEVICE=cuda DTYPE=bf16 NEW_TOKENS=128 BON_N=1024 BON_BATCH=1024 AISP_N=32 AISP_K=8
            DECODE_BATCHES=1,32,256 HF_WORKLOADS=decode,bon,aisp)
  else
    # Toy sizes: a random tiny Llama 3 written by Rudder itself (no transformers here).
    bench+=(DEVICE=cpu DTYPE=fp32 PROMPT_TOKENS=16 NEW_TOKENS=8 BON_N=16 BON_BATCH=16 AISP_N=4 AISP_K=2
            DECODE_BATCHES=1,4 DECODE_STEPS=4 HF_WORKLOADS=decode,bon,aisp)
  fi
  mkdir -p "$WORK/models"
  if [ "$MODE" = rehearse ] && ! "$PY" -c 'import torch, transformers' 2>/dev/null; then
    local m=$WORK/models
    rm -rf "$m/lm"; mkdir -p "$m/tok"
    "$PY" "$ROOT/tools/gpu/bench_vs_hf.py" config tiny-lm > "$m/tiny-lm.json" || return 1
    "$PY" "$ROOT/tools/gpu/bench_vs_hf.py" tokenizer "$m/tok" --vocab 512 --specials 8 || return 1
    "$CLI" random-model --config "$m/tiny-lm.json" --out "$m/lm" --tokenizer "$m/tok" || return 1
    "$PY" "$ROOT/tools/gpu/bench_vs_hf.py" prompt --tokens 16 > "$m/prompt.txt" || return 1
    note "no transformers here: Rudder wrote the random model and the HF side is skipped"
    "${bench[@]}" "$ROOT/tools/gpu/run_gpu_bench.sh" rudder:decode,bon,aisp report || return 1
  else
    "${bench[@]}" "$ROOT/tools/gpu/run_gpu_bench.sh" models rudder:decode,bon,aisp hf:decode,bon,aisp report || return 1
  fi
  cp "$WORK/gpu-bench/gpu-benchmark-results.md" "$OUTDIR/speed.md" 2>/dev/null || true
}

[ -n "${ONLY:-}" ] && { run_phase "$ONLY" 1200 "phase_$ONLY"; exit $?; }
run_phase env 30 phase_env
run_phase deps 120 phase_deps || { [ "$MODE" = device ] && echo "no build without the carried deps"; }
if run_phase build $([ "$MODE" = device ] && echo 300 || echo 1200) phase_build; then
  run_phase fixtures 120 phase_fixtures
  run_phase parity 150 phase_parity
  run_phase speed 600 phase_speed
else
  echo "build failed: fixtures, parity and speed are skipped"
fi

# pack: one summary, and the detail in a tarball (the device hands back at most 8 files).
t0=$(now)
{
  echo "# Device check ($MODE), $(date -u +%FT%TZ)"
  echo
  echo "Commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] && echo ' (+ uncommitted changes)'), $(uname -m), $(nproc) cores."
  echo
  echo "| phase | status | seconds | note |"
  echo "| --- | --- | --- | --- |"
  "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    print("| %s | %s | %d | %s |" % (p["phase"], p["status"], p["seconds"], p["note"]))' "$OUTDIR/phases.jsonl"
  for f in "$WORK"/parity-*.json; do
    [ -f "$f" ] || continue
    echo
    "$PY" -c '
import json, sys, os
d = json.load(open(sys.argv[1]))
name = os.path.basename(sys.argv[1])[len("parity-"):-len(".json")]
print("Parity, %s fixtures on %s in %s (tolerance %.0e relative):" % (name.rsplit("-", 1)[0], d["device"], d["dtype"], d["tolerance"]))
print()
print("| fixture | max relative error | result |")
print("| --- | --- | --- |")
for f in d["fixtures"]:
    err = "%.1e" % f["max_rel_error"] if "max_rel_error" in f else f.get("error", "")
    hf = " (transformers bf16: %.1e)" % f["transformers_bf16_rel_error"] if "transformers_bf16_rel_error" in f else ""
    print("| %s | %s%s | %s |" % (f["fixture"], err, hf, "ok" if f["pass"] else "**FAIL**"))' "$f"
  done
  if [ -f "$OUTDIR/speed.md" ]; then echo; sed 's/^#/##/' "$OUTDIR/speed.md"; fi
} > "$OUTDIR/summary.md" 2>&1
tar_items=()
for p in parity-generated-fp32.json parity-generated-$LOWP.json parity-committed-fp32.json parity-committed-$LOWP.json \
         gpu-bench cmake-configure.log cmake-build.log; do
  [ -e "$WORK/$p" ] && tar_items+=("$p")
done
# Fixtures made by the machine's transformers are worth committing; copies of ours are not.
[ -f "$WORK/hf-fixtures/TRANSFORMERS_VERSION" ] && tar_items+=(hf-fixtures)
[ ${#tar_items[@]} -gt 0 ] && tar -C "$WORK" -czf "$OUTDIR/details.tar.gz" "${tar_items[@]}"
stamp pack "$t0" ok ""
echo
cat "$OUTDIR/summary.md"
echo
ls -la "$OUTDIR"
if [ ${#FAILED[@]} -gt 0 ]; then echo "device-check: failed phases: ${FAILED[*]}"; exit 1; fi
echo "device-check: every phase passed ($MODE, $(( $(now) - T_START )) s)"
