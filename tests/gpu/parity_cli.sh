#!/usr/bin/env bash
# rudder-cli parity: exit codes and output on a good fixture, a broken one and no fixture at all.
set -uo pipefail
CLI=$1 FIX=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CLI" parity --fixtures "$FIX/gemma3" --json "$tmp/ok.json" > "$tmp/ok.txt" 2>&1 || { cat "$tmp/ok.txt"; fail "good fixture: exit $?"; }
grep -q '^gemma3 .* ok$' "$tmp/ok.txt" || { cat "$tmp/ok.txt"; fail "good fixture: no 'ok' row"; }
grep -q '"pass": true' "$tmp/ok.json" || fail "good fixture: JSON lacks pass: true"

# Negative control: Gemma 3's local RoPE base changed in config.json -> the logits move (2.7e-2).
cp -r "$FIX/gemma3" "$tmp/bad"
sed -i 's/"rope_local_base_freq": [0-9.e+]*/"rope_local_base_freq": 1000000.0/' "$tmp/bad/config.json"
grep -q '"rope_local_base_freq": 1000000.0' "$tmp/bad/config.json" || fail "could not break the fixture"
"$CLI" parity --fixtures "$tmp/bad" > "$tmp/bad.txt" 2>&1; rc=$?
[ $rc -eq 1 ] || { cat "$tmp/bad.txt"; fail "broken fixture: exit $rc, not 1"; }
grep -q 'MISMATCH' "$tmp/bad.txt" || { cat "$tmp/bad.txt"; fail "broken fixture: no MISMATCH row"; }

mkdir "$tmp/empty"
"$CLI" parity --fixtures "$tmp/empty" > "$tmp/empty.txt" 2>&1; rc=$?
[ $rc -eq 2 ] || { cat "$tmp/empty.txt"; fail "no fixtures: exit $rc, not 2"; }
grep -q 'holds no fixture' "$tmp/empty.txt" || fail "no fixtures: message does not say so"
echo "cli_parity: ok (good fixture passes, broken one exits 1, none exits 2)"
