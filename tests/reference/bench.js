#!/usr/bin/env node
// Hugging Face `tokenizers` (Rust via Node) on the same text as tools/bench/bench_tokenizer.
//   node bench.js TOKENIZER_DIR TEXT_FILE [REPEATS]
// Run it with RAYON_NUM_THREADS=1 for a one-thread comparison.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [dir, file, rep] = process.argv.slice(2);
  const repeats = Math.max(1, parseInt(rep || '3', 10));
  const text = fs.readFileSync(file, 'utf8');
  const mb = Buffer.byteLength(text, 'utf8') / 1e6;
  // Process CPU time (all threads) beside wall time: on a shared machine wall time mostly
  // measures the neighbours.
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let t0 = process.hrtime.bigint(), c0 = cpu();
  let tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const load = Number(process.hrtime.bigint() - t0) / 1e9, loadCpu = cpu() - c0;
  let best = Infinity, bestCpu = Infinity, ids;
  for (let r = 0; r < repeats; r++) {
    if (r > 0) tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const a = process.hrtime.bigint(), ca = cpu();
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    ids = enc.getIds();
    bestCpu = Math.min(bestCpu, cpu() - ca);
    best = Math.min(best, Number(process.hrtime.bigint() - a) / 1e9);
  }
  const cd = cpu();
  const back = await tok.decode(ids, false);
  const dec = cpu() - cd;
  let check = 0;
  for (const id of ids) check = (Math.imul(check, 31) + id) >>> 0;
  const f = (x) => x.toFixed(3).padStart(6);
  console.log(`hf tokenizers    load ${f(load)} s wall ${f(loadCpu)} s cpu | encode ${f(best)} s wall ` +
              `${f(bestCpu)} s cpu = ${(mb / bestCpu).toFixed(2).padStart(6)} MB/s (cpu) | decode ` +
              `${(mb / Math.max(dec, 1e-9)).toFixed(2).padStart(6)} MB/s (cpu) | ${ids.length} tokens, checksum ` +
              `${check.toString(16).padStart(8, '0')}, roundtrip ${back === text ? 'exact' : 'DIFFERS'}`);
}
main().catch((e) => { console.error('bench.js: ' + (e.stack || e)); process.exit(1); });
