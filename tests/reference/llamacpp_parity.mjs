#!/usr/bin/env node
// Rudder against llama.cpp (node-llama-cpp's prebuilt CPU library) on the same model: the full
// next-token log-probability vector at every position, and greedy continuations.
//
//   node llamacpp_parity.mjs --model DIR [--json] [--rudder-cli PATH] [--tolerance NATS]
//                            [--config CONFIG.json --seed S]   (write a random model to DIR first)
//
// Prints one JSON object (max_abs_logprob_diff, greedy_identical, llama.cpp version, ...) with
// --json, a short report otherwise; exits 1 above tolerance or when the greedy continuations
// differ, 2 on bad usage.
//
// llama.cpp's side: temperature 0 = its greedy sampler, which does not touch the logits, so the
// probabilities it returns are the softmax of the raw logits over the whole vocabulary; context
// settings from llamacpp.mjs (shared with the benchmark); BOS is not added (the ids are fed as
// given, to both engines).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { convert } from "./hf_to_gguf.mjs";
import { lcg, llamaCppVersion, loadLlamaCpp, referenceContextOptions } from "./llamacpp.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = { json: false, tolerance: 1e-3, seed: 1, greedy: 32, rudderCli: null, model: null, config: null };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i], next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--model") o.model = next();
    else if (a === "--json") o.json = true;
    else if (a === "--rudder-cli") o.rudderCli = next();
    else if (a === "--tolerance") o.tolerance = Number(next());
    else if (a === "--config") o.config = next();
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--greedy") o.greedy = Number(next());
    else usage(`unknown argument '${a}'`);
  }
  if (!o.model) usage("--model DIR is required");
  return o;
}

function usage(msg) {
  console.error(`llamacpp_parity.mjs: ${msg}\nusage: llamacpp_parity.mjs --model DIR [--json] [--rudder-cli PATH] ` +
                "[--tolerance NATS] [--config CONFIG.json --seed S] [--greedy N]");
  process.exit(2);
}

function findRudderCli(given) {
  const candidates = [given, process.env.RUDDER_CLI, path.join(here, "../../build/app/cli/rudder-cli")].filter(Boolean);
  for (const c of candidates) if (fs.existsSync(c)) return c;
  usage("rudder-cli not found (build it, or pass --rudder-cli PATH)");
}

// Deterministic prompts: 1..64 tokens, ids away from the special ones at the start of the vocab.
function prompts(vocab) {
  const rnd = lcg(12345);
  return [1, 2, 7, 16, 33, 64].map((n) => Array.from({ length: n }, () => 3 + Math.floor(rnd() * (vocab - 3))));
}

async function llamaCppSide(gguf, batches, greedyN) {
  const { llama, model } = await loadLlamaCpp(gguf);
  const maxLen = Math.max(...batches.map((b) => b.length)) + greedyN + 8;
  const context = await model.createContext({
    ...referenceContextOptions(), contextSize: Math.max(256, maxLen), batchSize: Math.max(256, maxLen), sequences: 1,
  });
  const seq = context.getSequence();
  const out = [];
  for (const ids of batches) {
    await seq.clearHistory();
    const res = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { probabilities: true } }]));
    const rows = res.map((r) => r.next.probabilities);
    await seq.clearHistory();
    // Greedy one token at a time through its KV cache (its evaluate() would stop at EOS).
    const greedy = [];
    let step = await seq.controlledEvaluate(ids.map((t, i) => (i + 1 < ids.length ? t : [t, { generateNext: { token: true } }])));
    while (greedy.length < greedyN) {
      const tok = step[step.length - 1].next.token;
      greedy.push(tok);
      if (greedy.length < greedyN) step = await seq.controlledEvaluate([[tok, { generateNext: { token: true } }]]);
    }
    out.push({ rows, greedy });
  }
  const version = llamaCppVersion(llama);
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { out, version };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const cli = findRudderCli(o.rudderCli);
  if (o.config)
    execFileSync(cli, ["random-model", "--config", o.config, "--out", o.model, "--seed", String(o.seed)], { stdio: "ignore" });
  const cfg = JSON.parse(fs.readFileSync(path.join(o.model, "config.json"), "utf8"));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rudder-gguf-"));
  const gguf = path.join(tmp, "model.gguf");
  try {
    convert(o.model, gguf);
    const batches = prompts(cfg.vocab_size);
    const rudderOut = execFileSync(cli, ["logprobs", "--model", o.model, "--greedy", String(o.greedy)],
                                   { input: batches.map((b) => JSON.stringify(b)).join("\n") + "\n",
                                     maxBuffer: 1 << 30, env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" } })
                          .toString().trim().split("\n").map((l) => JSON.parse(l));
    const { out: ref, version } = await llamaCppSide(gguf, batches, o.greedy);

    let maxDiff = 0, where = null, positions = 0, greedyIdentical = true;
    const greedyReport = [];
    for (let b = 0; b < batches.length; ++b) {
      const mine = rudderOut[b].logprobs, theirs = ref[b];
      for (let t = 0; t < mine.length; ++t, ++positions) {
        const probs = theirs.rows[t];
        if (!probs || probs.size !== mine[t].length)
          throw new Error(`llama.cpp returned ${probs ? probs.size : 0} probabilities at position ${t}, Rudder ${mine[t].length}`);
        for (const [tok, p] of probs) {
          const a = mine[t][tok];
          // Float32 probabilities underflow below ~1e-38 (~ -87 nats): nothing to compare there.
          if (p <= 1e-37 && a < -80) continue;
          const d = Math.abs(Math.log(p) - a);
          if (!(d <= maxDiff)) { maxDiff = d; where = { prompt_len: batches[b].length, position: t, token: tok }; }
        }
      }
      // Greedy: identical, or the first difference is a near-tie that either engine may break.
      const g1 = rudderOut[b].greedy, g2 = theirs.greedy;
      const same = g1.length === g2.length && g1.every((x, i) => x === g2[i]);
      if (!same) {
        greedyIdentical = false;
        const k = g1.findIndex((x, i) => x !== g2[i]);
        greedyReport.push({ prompt_len: batches[b].length, first_difference: k, rudder: g1.slice(k, k + 4), llamacpp: g2.slice(k, k + 4) });
      }
    }
    const ok = maxDiff <= o.tolerance && greedyIdentical;
    const result = {
      model: o.model, architecture: cfg.architectures?.[0] ?? cfg.model_type, llamacpp: version,
      prompts: batches.map((b) => b.length), positions, vocab: cfg.vocab_size,
      max_abs_logprob_diff: maxDiff, worst: where, tolerance: o.tolerance,
      greedy_tokens: o.greedy, greedy_identical: greedyIdentical, greedy_differences: greedyReport, ok,
    };
    if (o.json) console.log(JSON.stringify(result));
    else
      console.log(`${result.architecture}: max |Δ log p| = ${maxDiff.toExponential(2)} nats over ${positions} positions ` +
                  `× ${cfg.vocab_size} tokens (tolerance ${o.tolerance}); greedy ${o.greedy} tokens identical: ${greedyIdentical}; ` +
                  `llama.cpp ${version}: ${ok ? "OK" : "FAIL"}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`llamacpp_parity.mjs: ${e.message}`);
  process.exit(1);
});
