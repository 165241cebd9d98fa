// A minimal Llama (HF LlamaForCausalLM / LlamaForSequenceClassification semantics) for training
// the demo models, with parameters kept under their Hugging Face names so saving is a dump.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace rudder::demo {

struct LlamaShape {
    int64_t vocab = 0, hidden = 192, intermediate = 512, layers = 4, heads = 4, kvHeads = 2;
    int64_t headDim() const { return hidden / heads; }
    double ropeTheta = 10000.0, rmsEps = 1e-5;
};

class TinyLlama {
public:
    // head: "lm_head" (vocab outputs) or "score" (one regression output).
    TinyLlama(const LlamaShape& shape, const std::string& head, uint64_t seed);

    // ids [B, T] -> final-norm hidden states [B, T, hidden].
    torch::Tensor hidden(const torch::Tensor& ids) const;
    // [B, T, hidden] -> lm_head logits [B, T, vocab] or score [B, T].
    torch::Tensor head(const torch::Tensor& h) const;

    std::vector<std::pair<std::string, torch::Tensor>>& params() { return params_; }
    torch::Tensor& param(const std::string& name);
    const torch::Tensor& param(const std::string& name) const;
    const LlamaShape& shape() const { return shape_; }
    int64_t numParameters() const;

    // Writes model.safetensors (bf16) with HF tensor names.
    void saveSafetensors(const std::string& path) const;

private:
    LlamaShape shape_;
    std::string head_;
    std::vector<std::pair<std::string, torch::Tensor>> params_;
};

} // namespace rudder::demo
