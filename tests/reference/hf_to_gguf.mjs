#!/usr/bin/env node
// Hugging Face directory (as Rudder loads it) -> GGUF v3, so llama.cpp can run the very same model
// as a reference.  Test tooling, written from the GGUF spec and llama.cpp's published names
// (gguf-py constants / tensor mapping); only what Rudder's families need.
//
//   node hf_to_gguf.mjs DIR OUT.gguf [--type f32|q8_0]
//
// Per family, what llama.cpp expects differently from the HF checkpoint:
//   llama/mistral  q/k rows permuted from HF's rotate-half layout back to interleaved pairs;
//                  Llama 3.1 scaling as a rope_freqs tensor (per-frequency divisors).
//   gemma2/3       RMSNorm weights stored as w, HF computes x * (1 + w): +1 here.
//   gpt2           Conv1D stores [in, out]: transposed to [out, in].
// A tied head has no output.weight: llama.cpp then uses token_embd (and Gemma 2 refuses an extra one).
import fs from "node:fs";
import path from "node:path";

// ---------- safetensors ----------
function halfToFloat(h) {
  const s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const base = 8 + n, out = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [a, b] = t.data_offsets;
    const raw = buf.subarray(base + a, base + b);
    const count = t.shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(count);
    if (t.dtype === "F32") {
      for (let i = 0; i < count; ++i) data[i] = raw.readFloatLE(4 * i);
    } else if (t.dtype === "BF16") {
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < count; ++i) u[i] = raw.readUInt16LE(2 * i) << 16;
    } else if (t.dtype === "F16") {
      for (let i = 0; i < count; ++i) data[i] = halfToFloat(raw.readUInt16LE(2 * i));
    } else {
      throw new Error(`${file}: tensor ${name}: dtype ${t.dtype} not supported by the converter`);
    }
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

function readWeights(dir) {
  const index = path.join(dir, "model.safetensors.index.json");
  if (fs.existsSync(index)) {
    const files = new Set(Object.values(JSON.parse(fs.readFileSync(index, "utf8")).weight_map));
    const all = new Map();
    for (const f of files) for (const [k, v] of readSafetensors(path.join(dir, f))) all.set(k, v);
    return all;
  }
  return readSafetensors(path.join(dir, "model.safetensors"));
}

// ---------- tensor helpers ----------
// HF stores q/k rows per head as [first halves | second halves] (rotate_half); llama.cpp's
// "normal" RoPE pairs neighbouring rows: undo the permutation (gguf's LlamaModel.permute).
function unpermuteRows(t, heads) {
  const [rows, cols] = t.shape.length === 2 ? t.shape : [t.shape[0], 1];
  const hd = rows / heads, half = hd / 2, out = new Float32Array(t.data.length);
  for (let h = 0; h < heads; ++h)
    for (let i = 0; i < half; ++i)
      for (let j = 0; j < 2; ++j) {
        const src = h * hd + j * half + i, dst = h * hd + 2 * i + j;
        out.set(t.data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
  return { shape: t.shape, data: out };
}

function transpose2d(t) {
  const [r, c] = t.shape, out = new Float32Array(t.data.length);
  for (let i = 0; i < r; ++i) for (let j = 0; j < c; ++j) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

function plusOne(t) {
  return { shape: t.shape, data: t.data.map((x) => x + 1) };
}

// ---------- family tables ----------
function archOf(cfg) {
  const mt = cfg.model_type;
  if (mt === "llama" || mt === "mistral") return "llama";
  if (mt === "qwen2" || mt === "qwen3" || mt === "gpt2" || mt === "gemma2") return mt;
  if (mt === "gemma3" || mt === "gemma3_text") return "gemma3";
  throw new Error(`config.json: model_type '${mt}' has no GGUF mapping here`);
}

const layerMap = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.o_proj.weight": "attn_output.weight", "self_attn.o_proj.bias": "attn_output.bias",
  "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};
// Gemma 2/3 have four norms per layer: post_attention_layernorm is the *post*-attention norm there.
const gemmaLayerMap = {
  ...layerMap,
  "post_attention_layernorm.weight": "post_attention_norm.weight",
  "pre_feedforward_layernorm.weight": "ffn_norm.weight",
  "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
};
const gpt2LayerMap = {
  "ln_1.weight": "attn_norm.weight", "ln_1.bias": "attn_norm.bias",
  "attn.c_attn.weight": "attn_qkv.weight", "attn.c_attn.bias": "attn_qkv.bias",
  "attn.c_proj.weight": "attn_output.weight", "attn.c_proj.bias": "attn_output.bias",
  "ln_2.weight": "ffn_norm.weight", "ln_2.bias": "ffn_norm.bias",
  "mlp.c_fc.weight": "ffn_up.weight", "mlp.c_fc.bias": "ffn_up.bias",
  "mlp.c_proj.weight": "ffn_down.weight", "mlp.c_proj.bias": "ffn_down.bias",
};

// Llama 3.1 frequency divisors (as Meta's reference and transformers' _compute_llama3_parameters).
function llama3RopeFactors(cfg, headDim) {
  const rs = cfg.rope_scaling, base = cfg.rope_theta ?? 10000;
  const factor = rs.factor ?? 8, lo = rs.low_freq_factor ?? 1, hi = rs.high_freq_factor ?? 4;
  const old = rs.original_max_position_embeddings ?? 8192;
  const loWave = old / lo, hiWave = old / hi, out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; ++i) {
    const freq = 1 / Math.pow(base, (2 * i) / headDim), wave = (2 * Math.PI) / freq;
    if (wave < hiWave) out[i] = 1;
    else if (wave > loWave) out[i] = factor;
    else {
      const smooth = (old / wave - lo) / (hi - lo);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return { shape: [headDim / 2], data: out };
}

function convertTensors(cfg, weights) {
  const arch = archOf(cfg), out = [];
  const get = (n) => {
    for (const p of ["", "model.", "transformer.", "language_model.model.", "model.language_model."])
      if (weights.has(p + n)) return weights.get(p + n);
    return null;
  };
  const need = (n) => {
    const t = get(n);
    if (!t) throw new Error(`model.safetensors: tensor '${n}' missing`);
    return t;
  };
  const gemma = arch === "gemma2" || arch === "gemma3";
  if (arch === "gpt2") {
    const L = cfg.n_layer;
    out.push(["token_embd.weight", need("wte.weight")]);
    out.push(["position_embd.weight", need("wpe.weight")]);
    for (let i = 0; i < L; ++i)
      for (const [hf, gg] of Object.entries(gpt2LayerMap)) {
        let t = need(`h.${i}.${hf}`);
        if (t.shape.length === 2) t = transpose2d(t);   // Conv1D [in, out] -> [out, in]
        out.push([`blk.${i}.${gg}`, t]);
      }
    out.push(["output_norm.weight", need("ln_f.weight")], ["output_norm.bias", need("ln_f.bias")]);
    if (weights.has("lm_head.weight")) out.push(["output.weight", weights.get("lm_head.weight")]);
    return out;
  }
  const L = cfg.num_hidden_layers, H = cfg.num_attention_heads, KV = cfg.num_key_value_heads ?? H;
  const headDim = cfg.head_dim ?? cfg.hidden_size / H;
  out.push(["token_embd.weight", need("embed_tokens.weight")]);
  const map = gemma ? gemmaLayerMap : layerMap;
  for (let i = 0; i < L; ++i)
    for (const [hf, gg] of Object.entries(map)) {
      let t = get(`layers.${i}.${hf}`);
      if (!t) continue;
      if (arch === "llama" && hf.startsWith("self_attn.q_proj")) t = unpermuteRows(t, H);
      if (arch === "llama" && hf.startsWith("self_attn.k_proj")) t = unpermuteRows(t, KV);
      if (gemma && gg.includes("norm")) t = plusOne(t);
      out.push([`blk.${i}.${gg}`, t]);
    }
  const fn = need("norm.weight");
  out.push(["output_norm.weight", gemma ? plusOne(fn) : fn]);
  const head = weights.get("lm_head.weight") ?? weights.get("language_model.lm_head.weight");
  if (head) out.push(["output.weight", head]);
  if (arch === "llama" && cfg.rope_scaling && (cfg.rope_scaling.rope_type ?? cfg.rope_scaling.type) === "llama3")
    out.push(["rope_freqs.weight", llama3RopeFactors(cfg, headDim)]);
  return out;
}

function metadata(cfg, dir) {
  const arch = archOf(cfg), kv = [];
  const u32 = (k, v) => kv.push([k, "u32", v]), f32 = (k, v) => kv.push([k, "f32", v]);
  kv.push(["general.architecture", "str", arch]);
  kv.push(["general.name", "str", path.basename(path.resolve(dir))]);
  u32("general.alignment", 32);
  if (arch === "gpt2") {
    u32(`${arch}.context_length`, cfg.n_positions ?? 1024);
    u32(`${arch}.embedding_length`, cfg.n_embd);
    u32(`${arch}.feed_forward_length`, cfg.n_inner ?? 4 * cfg.n_embd);
    u32(`${arch}.block_count`, cfg.n_layer);
    u32(`${arch}.attention.head_count`, cfg.n_head);
    f32(`${arch}.attention.layer_norm_epsilon`, cfg.layer_norm_epsilon ?? 1e-5);
    return kv;
  }
  const H = cfg.num_attention_heads, headDim = cfg.head_dim ?? cfg.hidden_size / H;
  u32(`${arch}.context_length`, cfg.max_position_embeddings ?? 4096);
  u32(`${arch}.embedding_length`, cfg.hidden_size);
  u32(`${arch}.feed_forward_length`, cfg.intermediate_size);
  u32(`${arch}.block_count`, cfg.num_hidden_layers);
  u32(`${arch}.attention.head_count`, H);
  u32(`${arch}.attention.head_count_kv`, cfg.num_key_value_heads ?? H);
  u32(`${arch}.attention.key_length`, headDim);
  u32(`${arch}.attention.value_length`, headDim);
  u32(`${arch}.rope.dimension_count`, headDim);
  f32(`${arch}.rope.freq_base`, cfg.rope_theta ?? 10000);
  f32(`${arch}.attention.layer_norm_rms_epsilon`, cfg.rms_norm_eps ?? 1e-6);
  const rs = cfg.rope_scaling;
  if (rs && (rs.rope_type ?? rs.type) === "linear") {
    kv.push([`${arch}.rope.scaling.type`, "str", "linear"]);
    f32(`${arch}.rope.scaling.factor`, rs.factor);
  }
  if (arch === "gemma2" || arch === "gemma3") {
    if (cfg.sliding_window) u32(`${arch}.attention.sliding_window`, cfg.sliding_window);
    if (cfg.attn_logit_softcapping) f32(`${arch}.attn_logit_softcapping`, cfg.attn_logit_softcapping);
    if (cfg.final_logit_softcapping) f32(`${arch}.final_logit_softcapping`, cfg.final_logit_softcapping);
  }
  return kv;
}

// The vocabulary from tokenizer.json (byte-level BPE as "gpt2"; padded to the model's rows).
function tokenizerMetadata(dir, vocabSize, cfg) {
  const tj = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const m = tj.model;
  if (m.type !== "BPE") throw new Error(`${dir}/tokenizer.json: model.type ${m.type}: only BPE is converted`);
  const tokens = new Array(vocabSize).fill(null), types = new Int32Array(vocabSize).fill(1);
  for (const [s, id] of Object.entries(m.vocab)) if (id < vocabSize) tokens[id] = s;
  for (const a of tj.added_tokens ?? [])
    if (a.id < vocabSize) {
      tokens[a.id] = a.content;
      if (a.special) types[a.id] = 3;   // CONTROL
    }
  for (let i = 0; i < vocabSize; ++i)
    if (tokens[i] === null) {
      tokens[i] = `[PAD${i}]`;
      types[i] = 5;   // UNUSED
    }
  const merges = (m.merges ?? []).map((x) => (Array.isArray(x) ? x.join(" ") : x));
  const kv = [
    ["tokenizer.ggml.model", "str", "gpt2"],
    ["tokenizer.ggml.pre", "str", "default"],
    ["tokenizer.ggml.tokens", "arr_str", tokens],
    ["tokenizer.ggml.token_type", "arr_i32", types],
    ["tokenizer.ggml.merges", "arr_str", merges],
  ];
  const bos = cfg.bos_token_id, eos = Array.isArray(cfg.eos_token_id) ? cfg.eos_token_id[0] : cfg.eos_token_id;
  if (Number.isInteger(bos)) kv.push(["tokenizer.ggml.bos_token_id", "u32", bos]);
  if (Number.isInteger(eos)) kv.push(["tokenizer.ggml.eos_token_id", "u32", eos]);
  kv.push(["tokenizer.ggml.add_bos_token", "bool", false]);
  return kv;
}

// ---------- GGUF writer ----------
const GGUF_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9 };
const GGML_F32 = 0, GGML_Q8_0 = 8;

function floatToHalf(v) {
  const f = new Float32Array([v]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >> 16) & 0x8000;
  let e = ((u >> 23) & 0xff) - 127 + 15, m = u & 0x7fffff;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m = (m | 0x800000) >> (1 - e);
    if (m & 0x1000) m += 0x2000;   // round to nearest
    return sign | (m >> 13);
  }
  let h = sign | (e << 10) | (m >> 13);
  if (m & 0x1000 && ((m & 0x2fff) || (h & 1))) h += 1;   // round half to even (may carry into the exponent)
  return h;
}

// Q8_0 as ggml's reference quantizer: blocks of 32, d = amax / 127 stored as f16, q = round(x / d).
function quantizeQ8_0(data) {
  const nb = data.length / 32, out = Buffer.alloc(nb * 34);
  for (let b = 0; b < nb; ++b) {
    let amax = 0;
    for (let j = 0; j < 32; ++j) amax = Math.max(amax, Math.abs(data[b * 32 + j]));
    const d = amax / 127, id = d ? 1 / d : 0;
    out.writeUInt16LE(floatToHalf(d), b * 34);
    for (let j = 0; j < 32; ++j) out.writeInt8(Math.round(data[b * 32 + j] * id), b * 34 + 2 + j);
  }
  return out;
}

class Writer {
  constructor() { this.parts = []; this.size = 0; }
  push(b) { this.parts.push(b); this.size += b.length; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(b); }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
  pad(align) { const r = this.size % align; if (r) this.push(Buffer.alloc(align - r)); }
}

function writeValue(w, type, v) {
  switch (type) {
    case "u32": w.u32(GGUF_TYPE.u32); w.u32(v); break;
    case "f32": w.u32(GGUF_TYPE.f32); w.f32(v); break;
    case "bool": w.u32(GGUF_TYPE.bool); w.push(Buffer.from([v ? 1 : 0])); break;
    case "str": w.u32(GGUF_TYPE.str); w.str(v); break;
    case "arr_str": w.u32(GGUF_TYPE.arr); w.u32(GGUF_TYPE.str); w.u64(v.length); for (const s of v) w.str(s); break;
    case "arr_i32": w.u32(GGUF_TYPE.arr); w.u32(GGUF_TYPE.i32); w.u64(v.length); for (const x of v) w.i32(x); break;
    default: throw new Error("internal: gguf value type " + type);
  }
}

export function convert(dir, outFile, { type = "f32" } = {}) {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  const weights = readWeights(dir);
  const tensors = convertTensors(cfg, weights);
  const embd = tensors.find(([n]) => n === "token_embd.weight")[1];
  const kv = [...metadata(cfg, dir), ...tokenizerMetadata(dir, embd.shape[0], cfg)];
  if (type === "q8_0") kv.push(["general.file_type", "u32", 7]);   // LLAMA_FTYPE_MOSTLY_Q8_0
  else kv.push(["general.file_type", "u32", 0]);                  // ALL_F32
  const blobs = tensors.map(([name, t]) => {
    // Matrices go to Q8_0 when asked (rows a multiple of 32); norms, biases and rope factors stay F32.
    const q = type === "q8_0" && t.shape.length === 2 && t.shape[t.shape.length - 1] % 32 === 0;
    const data = q ? quantizeQ8_0(t.data) : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    return { name, dims: [...t.shape].reverse(), ggml: q ? GGML_Q8_0 : GGML_F32, data };
  });
  const w = new Writer();
  w.push(Buffer.from("GGUF"));
  w.u32(3);
  w.u64(blobs.length);
  w.u64(kv.length);
  for (const [k, t, v] of kv) { w.str(k); writeValue(w, t, v); }
  let offset = 0;
  for (const b of blobs) {
    w.str(b.name);
    w.u32(b.dims.length);
    for (const d of b.dims) w.u64(d);
    w.u32(b.ggml);
    w.u64(offset);
    offset += Math.ceil(b.data.length / 32) * 32;
  }
  w.pad(32);
  for (const b of blobs) { w.push(b.data); w.pad(32); }
  fs.writeFileSync(outFile, Buffer.concat(w.parts, w.size));
  return { arch: archOf(cfg), tensors: blobs.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, out, ...rest] = process.argv.slice(2);
  if (!dir || !out) {
    console.error("usage: hf_to_gguf.mjs DIR OUT.gguf [--type f32|q8_0]");
    process.exit(2);
  }
  const type = rest[0] === "--type" ? rest[1] : "f32";
  const r = convert(dir, out, { type });
  console.log(`wrote ${out}: ${r.arch}, ${r.tensors} tensors, ${type}`);
}
