// Fused CPU kernels for the decoder's small fp32 operations.  A small model's decode step is
// ~40 tensor ops per layer, most of them a few hundred floats wide, and each costs a dispatch and
// an allocation (~5 us) — more than its arithmetic.  These kernels do in one pass what the generic
// path (transformer.cpp, used for every other device and dtype) does in several; they compute the
// same expressions per element, so results differ from it by float rounding only (the Hugging
// Face and llama.cpp parity tests run through them).  A fused SiLU·up was tried and dropped: its
// scalar exp lost to ATen's vectorised silu at every size (6.8 vs 4.9 us for one SmolLM row).
// Internal torch header.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace rudder::cpu {

// Whether the fused kernels apply: a contiguous fp32 tensor on the CPU.
bool applies(const at::Tensor& x);

// y = w · x for one row x [in] and w [out, in]: each output a dot product of a contiguous weight
// row, split over threads by output rows.  OpenBLAS 0.3.21's sgemv reached 10-24 GB/s on this
// project's 2-core machines where this loop, compiled for AVX-512 / AVX2+FMA / baseline and picked
// at load time, reads 28-38 GB/s (SmolLM-135M shapes: lm_head 10.5 -> 3.0 ms).  Batch-1 decode is
// bound by exactly this.
at::Tensor gemv(const at::Tensor& w, const at::Tensor& x);

// y = x · rsqrt(mean(x²) + eps) · w over the last dimension (w already holds 1+w for Gemma).
at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& w, double eps);

// In place on qkv [N, T, heads_total·hd]: the same RMS norm over each head's hd values, for heads
// [first, first+count) (Qwen3 / Gemma 3 q_norm and k_norm).
void rmsNormHeads(at::Tensor& qkv, int64_t first, int64_t count, int64_t hd, const at::Tensor& w, double eps);

// In place on qkv [N, T, heads_total·hd]: rotate-half RoPE, x·cos + rotate_half(x)·sin, on heads
// [0, count) (the query and key heads); cos/sin hold [N, T, hd] (the positions' table rows).
void rope(at::Tensor& qkv, int64_t count, int64_t hd, const at::Tensor& cos, const at::Tensor& sin);

// One query per row (a decode step): row n's query heads are qkv[n, 0, :H·hd] (after RoPE); it
// attends over cache row cacheRow[n], positions [max(0, pos[n]-window+1), pos[n]] (window 0 = all),
// with scores q·k·scale, Gemma 2's soft-capping when softcap > 0, and GQA (query head h reads
// kv head h / (H/KV)).  k, v: the layer's cache [rows, KV, capacity, hd].  Returns [N, 1, H·hd],
// the layout o_proj takes.
at::Tensor decodeAttention(const at::Tensor& qkv, const at::Tensor& k, const at::Tensor& v,
                           const int64_t* cacheRow, const int64_t* pos, int64_t heads, int64_t window,
                           double scale, double softcap);

} // namespace rudder::cpu
