// Loading Hugging Face model directories (internal torch header): the causal LM factory, the
// config reader and a header-only inspection that loads no weights.
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "model/causal_lm.h"

namespace rudder {

// device: "auto" (CUDA when available, else CPU) | "cpu" | "cuda" | "cuda:N".
// dtype : "auto" (CPU fp32, CUDA bf16) | "fp32" | "bf16" | "fp16" (CUDA only) | "fp64" (tests).
// Throws rudder::UsageError for a bad device/dtype or an unsupported architecture, rudder::Error
// naming the file and tensor for a malformed checkpoint.
std::unique_ptr<CausalLM> loadCausalLM(const std::string& dir, const std::string& device = "auto",
                                       const std::string& dtype = "auto");

// config.json (+ generation_config.json) of an LM or reward model; num_parameters is counted
// from the safetensors headers (no weights read).
ModelConfig readModelConfig(const std::string& dir);

struct ModelInfo {
    ModelConfig config;
    std::string family;          // llama | qwen2 | qwen3 | gpt2 | gemma2 | gemma3
    std::string stored_dtype;    // most common dtype in the checkpoint ("BF16", "F32", ...)
    std::string weights;         // model.safetensors or the index file
    std::string reward_head;     // "" (plain LM) | score | regression_head | v_head | v_head_mlp
    int64_t tensors = 0;
};
// (Named apart from rudder::inspectModel in rudder/workbench.h, which builds on it.)
ModelInfo inspectCheckpoint(const std::string& dir);

at::Device parseDevice(const std::string& device);
at::ScalarType parseDtype(const std::string& dtype, at::Device device);

} // namespace rudder
