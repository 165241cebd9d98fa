// llama.cpp through node-llama-cpp, set up once for every script that compares with it (parity and
// benchmark), so both measure the same engine configuration.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

// Context settings, each measured here: the KV cache in F32 and flash attention off (its defaults
// compute in F16: 6e-3 nats of difference by themselves, vs 1e-5 without); an explicit thread
// count (its default, 0 = "hardware", ran 7x slower on this 2-core VM).
export function referenceContextOptions(threads = os.availableParallelism()) {
  return { flashAttention: false, threads, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" };
}

// The prebuilt CPU library only: never a GPU, never a source build.
export async function loadLlamaCpp(gguf) {
  let getLlama;
  try {
    ({ getLlama } = await import("node-llama-cpp"));
  } catch (e) {
    throw new Error("node-llama-cpp is not installed: run `npm ci` in tests/reference (scripts/test.sh does): " + e.message);
  }
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
  const model = await llama.loadModel({ modelPath: gguf });
  return { llama, model };
}

export function nodeLlamaCppVersion() {
  return JSON.parse(fs.readFileSync(path.join(here, "node_modules/node-llama-cpp/package.json"), "utf8")).version;
}

export function llamaCppVersion(llama) {
  const release = llama.llamaCppRelease ? `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}` : "unknown";
  return `${release} (node-llama-cpp ${nodeLlamaCppVersion()}, prebuilt CPU)`;
}

// A small seeded generator in [0, 1): the same token ids in every run.
export function lcg(seed) {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}
