#!/usr/bin/env node
// llama.cpp's throughput on a GGUF model, measured the way `rudder-cli bench` measures Rudder's:
// prefill of P tokens at batch 1, then greedy decode for B sequences at once (llama.cpp's own
// batched path: B sequences of one context, evaluated together in each llama_decode).
//
//   node bench_llamacpp.mjs --gguf F [--prefill 128] [--batches 1,8,32,128] [--prompt 32]
//                           [--decode 64] [--threads N]
// Prints one JSON object.  `binding_share` is the fraction of the wall time the JavaScript event
// loop was busy (Node's eventLoopUtilization): the binding's own cost, since llama_decode runs
// on a worker thread.
import os from "node:os";
import { performance } from "node:perf_hooks";
import { lcg, loadLlamaCpp, referenceContextOptions } from "./llamacpp.mjs";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const gguf = args.gguf;
if (!gguf) {
  console.error("usage: bench_llamacpp.mjs --gguf F [--prefill 128] [--batches 1,8,32,128] [--prompt 32] [--decode 64] [--threads N]");
  process.exit(2);
}
const P = Number(args.prefill ?? 128), prompt = Number(args.prompt ?? 32), decode = Number(args.decode ?? 64);
const batches = String(args.batches ?? "1,8,32,128").split(",").map(Number);
const threads = Number(args.threads ?? os.availableParallelism());

const { llama, model } = await loadLlamaCpp(gguf);
const rnd = lcg(7);
const randomTokens = (n) => Array.from({ length: n }, () => 3 + Math.floor(rnd() * 1000));

async function timed(fn) {
  const elu0 = performance.eventLoopUtilization(), t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, binding_share: performance.eventLoopUtilization(elu0).utilization };
}

// Its RAM estimate refuses 128 sequences of a 135M model on 24 GiB (the F32 KV cache is 0.6 GB): checks off.
const common = { ...referenceContextOptions(threads), ignoreMemorySafetyChecks: true };
const result = { gguf, threads, prefill_tokens: P, prompt_tokens: prompt, decode_tokens: decode, rows: [] };

// Prefill at batch 1 (one warm-up first).
{
  const ctx = await model.createContext({ ...common, contextSize: P + 16, batchSize: P, sequences: 1 });
  const seq = ctx.getSequence();
  await seq.evaluateWithoutGeneratingNewTokens(randomTokens(8));
  await seq.clearHistory();
  const toks = randomTokens(P);
  const t = await timed(() => seq.evaluateWithoutGeneratingNewTokens(toks));
  result.prefill_tok_s = P / t.seconds;
  result.prefill_binding_share = t.binding_share;
  await ctx.dispose();
}

for (const B of batches) {
  // contextSize is per sequence in node-llama-cpp (B x contextSize cells are allocated).
  const ctx = await model.createContext({ ...common, contextSize: prompt + decode + 8,
                                          batchSize: Math.max(B, prompt), sequences: B });
  const seqs = Array.from({ length: B }, () => ctx.getSequence());
  const shared = randomTokens(prompt);
  // The shared prompt (all but its last token) into every sequence; not timed, as Rudder's decode.
  await Promise.all(seqs.map((s) => s.evaluateWithoutGeneratingNewTokens(shared.slice(0, -1))));
  const t = await timed(() => Promise.all(seqs.map(async (s) => {
    let n = 0;
    const it = s.evaluate([shared[shared.length - 1]], { temperature: 0 });
    for await (const tok of it) {   // EOS would end a sequence early: random weights, no EOS bias
      void tok;
      if (++n >= decode) break;
    }
    return n;
  })));
  result.rows.push({ batch: B, decode_tok_s: (B * decode) / t.seconds, binding_share: t.binding_share });
  await ctx.dispose();
}
await model.dispose();
await llama.dispose();
console.log(JSON.stringify(result));
