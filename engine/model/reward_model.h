// Reward models: a decoder backbone (any supported family) + a scalar head, scored at each
// sequence's last real token.  Internal torch header; string-level scoring (templates and the
// tokenizer) is built on scoreIds elsewhere.
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "model/causal_lm.h"

namespace rudder {

class TransformerLM;
class WeightStore;

class RewardModel {
public:
    ~RewardModel();
    // One score per token sequence (unpadded, each non-empty).  Batched internally.
    std::vector<double> scoreIds(const std::vector<std::vector<int32_t>>& seqs);
    // HF-style padded batch [B, T] (left or right padding): real tokens are where
    // attentionMask != 0, or, without a mask, all but the leading/trailing runs of pad_id.
    std::vector<double> scorePadded(const at::Tensor& ids, const at::Tensor& attentionMask = {});
    // Scores sequences that share a long prefix with each other and with the previous call's
    // (ARGS: prompt ⊕ y_<t ⊕ candidate).  The longest common prefix is kept in `state`'s KV
    // cache, extended or rewound as needed; each row then forwards only its own suffix.
    struct PrefixState {
        std::unique_ptr<KVCache> cache;   // row 0: the prefix; rows 1..: candidates
        std::vector<int32_t> ids;         // tokens of row 0 in the cache
        int64_t reusedTokens = 0, computedTokens = 0;   // counters (tests, benchmarks)
    };
    std::vector<double> scoreWithPrefix(PrefixState& state, const std::vector<std::vector<int32_t>>& seqs);
    const ModelConfig& config() const;
    // score (HF *ForSequenceClassification) | regression_head (UltraRM, Eurus-RM) |
    // v_head (trl, one linear) | v_head_mlp (v_head.summary.0/.2: LLaMA-Factory/GRM two-layer) |
    // armo_gating (ArmoRM: objectives at the last token, mixed by a gate read at the assistant header)
    std::string headKind() const { return kind_; }
    // ArmoRM: the token ids whose last occurrence marks where the gate reads the hidden state
    // (the RM's tokenizer's "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n").
    void setGatingPattern(std::vector<int32_t> ids) { gatePattern_ = std::move(ids); }
    int64_t objectives() const { return regression_.defined() ? regression_.size(0) : 0; }
    // ArmoRM: each row's objectives (regression outputs) from the last scoreIds call.
    const std::vector<std::vector<double>>& lastObjectives() const { return lastObjectives_; }
    at::Device device() const;
    int64_t maxBatchTokens = 8192;   // rows x length per forward

private:
    friend std::unique_ptr<RewardModel> loadRewardModel(const std::string&, const std::string&, const std::string&);
    friend void loadArmoHead(RewardModel&, const std::string&, const WeightStore&, at::Device, int64_t);
    RewardModel() = default;
    std::unique_ptr<TransformerLM> backbone_;
    std::string kind_;
    std::vector<at::Tensor> w_, b_;   // head layers (fp32), ReLU between them
    at::Tensor head(at::Tensor h) const;   // [rows, hidden] -> [rows] fp64 on the CPU
    // ArmoRM (Wang et al., 2024, "Interpretable Preferences via Multi-Objective Reward Modeling
    // and Mixture-of-Experts"): w_/b_ hold the gating MLP.
    at::Tensor regression_, transform_;   // [K, hidden], [K, K]
    double gateTemperature_ = 10.0, logitScale_ = 1.0;
    std::vector<int32_t> gatePattern_;
    std::vector<std::vector<double>> lastObjectives_;
    // rewards: the objectives [rows, K] (regression_layer at the last token); gate: the hidden
    // state at the gate position.  -> [rows] fp64 on the CPU.
    at::Tensor armoHead(const at::Tensor& rewards, at::Tensor gate) const;
    int64_t gatePosition(const std::vector<int32_t>& seq, size_t row) const;
};

// Throws rudder::Error naming the directory when no known head tensor is found.
std::unique_ptr<RewardModel> loadRewardModel(const std::string& dir, const std::string& device = "auto",
                                             const std::string& dtype = "auto");

// The head kind from tensor names alone ("" when none), for inspect.
std::string rewardHeadKind(const std::vector<std::string>& tensorNames);

} // namespace rudder
