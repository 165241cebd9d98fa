// The shared decoder every family runs: pre-norm blocks with attention over a position-indexed
// KV cache (per-row positions, causal mask by position, optional sliding window), RoPE with
// linear/llama3 scaling or learned positions, GQA, gated or plain MLP, RMS/(1+w)/LayerNorm,
// Gemma's sandwich norms and soft-capping.  Internal torch header.
#pragma once
#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/causal_lm.h"
#include "model/model_config.h"

namespace rudder {

class WeightStore;

class TransformerLM : public CausalLM {
public:
    // Loads the weights named by cfg.family's table from `store`, converted to dtype on device.
    // withLmHead=false: backbone only (reward models).
    TransformerLM(const LoadedConfig& cfg, const WeightStore& store, at::Device device, at::ScalarType dtype,
                  bool withLmHead = true);

    const ModelConfig& config() const override { return cfg_; }
    at::Device device() const override { return device_; }
    at::ScalarType dtype() const override { return dtype_; }
    KVCache newCache(int64_t rows, int64_t capacity) const override;
    at::Tensor forward(KVCache& cache, const at::Tensor& tokens) override;
    at::Tensor forwardRows(KVCache& cache, const at::Tensor& tokens, const at::Tensor& rowIndex) override;
    at::Tensor lmHead(const at::Tensor& preLogits) const override;

    const ArchSpec& spec() const { return spec_; }
    const std::string& backbonePrefix() const { return prefix_; }
    // The linear layers' weights in call order (bench: the matmul-only bound).
    std::vector<at::Tensor> linearWeights() const;
    // Multiply-adds per token of the decoder's linear layers (lm_head apart): what SerialScope weighs.
    int64_t macsPerToken() const { return macsPerToken_; }
    const at::Tensor& lmHeadWeight() const { return lm_head_; }

private:
    struct Layer {
        at::Tensor attn_norm, attn_norm_b, wqkv, bqkv, wo, bo, q_norm, k_norm, post_attn_norm;
        at::Tensor mlp_norm, mlp_norm_b, w_up, b_up, w_down, b_down, post_mlp_norm;   // w_up = [gate; up] when gated
        bool sliding = false;
    };
    at::Tensor run(KVCache& cache, const at::Tensor& tokens, const at::Tensor& rowIndex);
    at::Tensor norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const;
    at::Tensor headNorm(const at::Tensor& x, const at::Tensor& w) const;   // q/k norm over head_dim
    at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) const;
    double attnScale() const { return spec_.attn_scale > 0 ? spec_.attn_scale : 1.0 / std::sqrt(static_cast<double>(cfg_.head_dim)); }

    ModelConfig cfg_;
    ArchSpec spec_;
    at::Device device_;
    at::ScalarType dtype_;
    at::ScalarType acc_;   // norms / softmax precision: fp32, or fp64 for an fp64 model
    std::string prefix_;
    at::Tensor embed_, pos_embed_, final_norm_, final_norm_b_, lm_head_;
    at::Tensor inv_freq_, inv_freq_local_;   // RoPE [head_dim/2] fp32
    // cos/sin of every position below ropeLen_ [ropeLen_, head_dim] in the model dtype, grown on
    // demand (a 128k-position table would cost hundreds of MB); a forward gathers its rows.
    struct RopeTable {
        at::Tensor cos, sin;
    };
    RopeTable rope_, ropeLocal_;
    int64_t ropeLen_ = 0;
    bool anySliding_ = false;   // some layer uses the local RoPE base / window
    int64_t macsPerToken_ = 0;  // the linear layers' multiply-adds per token (lm_head apart)
    void ensureRope(int64_t positions);
    std::vector<Layer> layers_;
};

// RoPE inverse frequencies as HF computes them (fp32), with linear / llama3 scaling.
at::Tensor ropeInvFreq(const RopeSpec& rope, int64_t headDim);

// x @ w^T + b for x [..., in].  With a single row on the CPU this is a matrix-vector product:
// OpenBLAS's gemm with M = 1 packs the whole weight first and ran 2-4x slower than gemv
// (SmolLM-135M shapes, 2 cores: lm_head 14.6 -> 6.5 ms, MLP 0.32 -> 0.09 ms), and batch-1 decode
// is exactly that case; in fp32 it is cpu::gemv, 2-3x faster again than OpenBLAS's sgemv.
at::Tensor linearRows(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {});

// Threads follow the work: a forward (or lm_head call) below threshold() multiply-adds, 32M by
// default (env RUDDER_SERIAL_MACS; 0 = never), runs on the calling thread alone.  With passive
// OpenMP waits (rudder's default, see process_env.cpp) every parallel region wakes a sleeping
// thread, which costs more than a small step's matmuls: on 2 cores the demo LM (2.4M parameters)
// decoded ~2x faster on one thread at batch 1, ~1.3x at batch 8, and no slower up to batch 32,
// while a SmolLM-135M-shaped step (107M multiply-adds per token) still gains ~1.3x from two.
// Sets the calling thread's OpenMP thread count (found at run time, so whichever OpenMP runtime
// libtorch brought is the one set) and restores it; no effect without one.
class SerialScope {
public:
    explicit SerialScope(int64_t macs);
    ~SerialScope();
    SerialScope(const SerialScope&) = delete;
    SerialScope& operator=(const SerialScope&) = delete;
    static int64_t threshold();

private:
    int saved_ = 0;
};

} // namespace rudder
