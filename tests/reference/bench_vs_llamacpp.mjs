#!/usr/bin/env node
// Rudder against llama.cpp on the same random-weight model (scripts/bench-vs-llamacpp.sh runs this).
// Per size: prefill of 128 tokens; decode at batch 1; what best-of-n does (n sequences sharing a
// 32-token prompt, 64 new tokens each, in one batch).  Rounds are interleaved (Rudder, llama.cpp F32,
// llama.cpp Q8_0, Rudder, ...) and each engine runs in its own process; tok/s is printed as median
// (best) over rounds, with Rudder / llama.cpp F32 and the matmul bound (the model's linear layers
// alone in libtorch at that batch).  --contended repeats the measurement with one competing
// CPU-bound process, as a desktop app never has the CPU to itself.
//
//   node bench_vs_llamacpp.mjs [--sizes demo,smol] [--rounds 3] [--contended-rounds 1]
//                              [--batches 1,8,32,128] [--decode 64] [--rudder-cli PATH] [--md FILE]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { convert } from "./hf_to_gguf.mjs";
import { nodeLlamaCppVersion } from "./llamacpp.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const opt = { sizes: "demo,smol", rounds: "3", "contended-rounds": "1", batches: "1,8,32,128", decode: "64",
              prompt: "32", prefill: "128", "rudder-cli": path.join(here, "../../build/app/cli/rudder-cli"), md: "" };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in opt) || i + 1 >= process.argv.length) {
    console.error(`bench_vs_llamacpp.mjs: unknown or incomplete option '${process.argv[i]}'`);
    process.exit(2);
  }
  opt[k] = process.argv[i + 1];
}
const cli = opt["rudder-cli"];
if (!fs.existsSync(cli)) {
  console.error(`bench_vs_llamacpp.mjs: ${cli} not found (build first, or --rudder-cli PATH)`);
  process.exit(2);
}

// The demo LM's shape, and SmolLM-135M's (a Llama: hidden 576, 30 layers, 9 heads, 3 KV heads).
const demoCfg = JSON.parse(fs.readFileSync(path.join(here, "../../resources/models/demo-lm/config.json"), "utf8"));
const sizes = {
  demo: { ...demoCfg, torch_dtype: "float32" },
  smol: { architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 576, intermediate_size: 1536,
          num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152,
          max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000.0, bos_token_id: 0, eos_token_id: 1,
          tie_word_embeddings: true, hidden_act: "silu" },
};
// llama.cpp's thread count: on this 2-core VM its threadpool costs ~15 ms per llama_decode with 2
// threads (demo size: 60 tok/s against 2,500 with 1 thread), so small models get its best of 1 and 2.
const llamaThreads = { demo: [1, 2], smol: [2] };

const median = (a) => { const s = [...a].sort((x, y) => x - y), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const fmt = (a) => (a.length ? `${median(a).toFixed(1)} (${Math.max(...a).toFixed(1)})` : "-");

function rudder(dir) {
  const env = { ...process.env };
  const run = (args) => JSON.parse(execFileSync(cli, ["bench", "--model", dir, "--json", ...args], { env, maxBuffer: 1 << 26 }).toString());
  const pre = run(["--batches", "1", "--prompt-tokens", opt.prefill, "--decode-tokens", "1"]);
  const dec = run(["--batches", opt.batches, "--prompt-tokens", opt.prompt, "--decode-tokens", opt.decode]);
  return { prefill: pre.rows[0].prefill_tok_s, prefill_bound: pre.rows[0].prefill_matmul_tok_s,
           decode: Object.fromEntries(dec.rows.map((r) => [r.batch, r.decode_tok_s])),
           bound: Object.fromEntries(dec.rows.map((r) => [r.batch, r.decode_matmul_tok_s])) };
}

function llamacpp(gguf, threads) {
  let best = null;
  for (const t of threads) {
    const r = JSON.parse(execFileSync(process.execPath, [path.join(here, "bench_llamacpp.mjs"), "--gguf", gguf, "--threads", String(t),
      "--batches", opt.batches, "--prompt", opt.prompt, "--decode", opt.decode, "--prefill", opt.prefill],
      { maxBuffer: 1 << 26 }).toString());
    const cur = { prefill: r.prefill_tok_s, decode: Object.fromEntries(r.rows.map((x) => [x.batch, x.decode_tok_s])),
                  share: Object.fromEntries(r.rows.map((x) => [x.batch, x.binding_share])), threads: { prefill: t } };
    for (const b of Object.keys(cur.decode)) cur.threads[b] = t;
    if (!best) best = cur;
    else {
      if (cur.prefill > best.prefill) { best.prefill = cur.prefill; best.threads.prefill = t; }
      for (const b of Object.keys(cur.decode))
        if (cur.decode[b] > best.decode[b]) { best.decode[b] = cur.decode[b]; best.share[b] = cur.share[b]; best.threads[b] = t; }
    }
  }
  return best;
}

const lines = [];
const say = (s = "") => { console.log(s); lines.push(s); };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rudder-vs-llamacpp-"));
try {
  say(`# Rudder vs llama.cpp — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${os.cpus()[0]?.model ?? "cpu"}, ` +
      `${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);
  say(`llama.cpp: node-llama-cpp ${nodeLlamaCppVersion()} prebuilt CPU library, F32 KV cache, flash attention off; Rudder: ` +
      `${execFileSync(cli, ["--version"]).toString().trim()}, fp32, OMP_WAIT_POLICY=PASSIVE (its default)`);
  say(`tok/s as median (best) of the rounds; prefill ${opt.prefill} tokens at batch 1; decode: n sequences after a shared ` +
      `${opt.prompt}-token prompt, ${opt.decode} new tokens each, all n in one batch; ratio = Rudder / llama.cpp F32 (medians)`);
  for (const size of opt.sizes.split(",")) {
    const cfg = sizes[size];
    if (!cfg) throw new Error(`unknown size '${size}' (demo, smol)`);
    const dir = path.join(tmp, size);
    fs.writeFileSync(path.join(tmp, `${size}.json`), JSON.stringify(cfg));
    execFileSync(cli, ["random-model", "--config", path.join(tmp, `${size}.json`), "--out", dir, "--std", "0.02"], { stdio: "ignore" });
    const f32 = path.join(tmp, `${size}-f32.gguf`), q8 = path.join(tmp, `${size}-q8_0.gguf`);
    convert(dir, f32, { type: "f32" });
    convert(dir, q8, { type: "q8_0" });
    const params = execFileSync(cli, ["inspect", dir]).toString().match(/([0-9.]+[MK]?) parameters|parameters[^0-9]*([0-9,.]+[MK]?)/);
    for (const contended of [false, true]) {
      const rounds = Number(contended ? opt["contended-rounds"] : opt.rounds);
      if (rounds <= 0) continue;
      const hog = contended ? spawn("yes", [], { stdio: ["ignore", "ignore", "ignore"] }) : null;
      const R = [], F = [], Q = [];
      try {
        for (let r = 0; r < rounds; ++r) {
          R.push(rudder(dir));
          F.push(llamacpp(f32, llamaThreads[size]));
          Q.push(llamacpp(q8, llamaThreads[size]));
        }
      } finally {
        if (hog) hog.kill();
      }
      say();
      say(`## ${size} (${cfg.hidden_size} hidden, ${cfg.num_hidden_layers} layers, vocab ${cfg.vocab_size}${params ? ", " + (params[1] ?? params[2]) + " parameters" : ""})` +
          `${contended ? ", one competing busy process (`yes`)" : ", idle"}, ${rounds} round(s)`);
      say();
      say("| case | Rudder tok/s | llama.cpp F32 | Rudder / llama.cpp F32 | llama.cpp Q8_0 | matmul bound (libtorch) | llama.cpp JS share | llama.cpp threads |");
      say("| --- | --- | --- | --- | --- | --- | --- | --- |");
      const row = (name, rs, fs_, qs, bound, share, thr) =>
        say(`| ${name} | ${fmt(rs)} | ${fmt(fs_)} | ${(median(rs) / median(fs_)).toFixed(2)} | ${fmt(qs)} | ${bound} | ${share} | ${thr} |`);
      row(`prefill ${opt.prefill}`, R.map((x) => x.prefill), F.map((x) => x.prefill), Q.map((x) => x.prefill),
          median(R.map((x) => x.prefill_bound)).toFixed(0), "-", F[0].threads.prefill);
      for (const b of opt.batches.split(",")) {
        row(b === "1" ? "decode, batch 1" : `best-of-${b} decode`, R.map((x) => x.decode[b]), F.map((x) => x.decode[b]),
            Q.map((x) => x.decode[b]), median(R.map((x) => x.bound[b])).toFixed(0),
            `${(100 * median(F.map((x) => x.share[b]))).toFixed(1)}%`, F[0].threads[b]);
      }
    }
  }
  if (opt.md) fs.writeFileSync(opt.md, lines.join("\n") + "\n");
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
