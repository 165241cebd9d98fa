// Random-weight models written as real Hugging Face directories (config.json + model.safetensors
// with the family's HF tensor names): the tests' tiny models and `rudder-cli bench --random-config`.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace rudder {

// Writes DIR/config.json (= config) and DIR/model.safetensors.  Linear weights ~ N(0, std^2),
// norm weights near 1 (near 0 for Gemma's (1+w)).  rewardHead: "" | score | regression_head |
// v_head | v_head_mlp (the value heads go to value_head.safetensors, as LLaMA-Factory saves them).
void writeRandomModel(const std::string& dir, const nlohmann::json& config, uint64_t seed, double std = 0.1,
                      const std::string& rewardHead = "");

// A small config of each family for tests and benchmarks: llama | llama3 | mistral | qwen2 |
// qwen3 | gpt2 | gemma2 | gemma3.  hidden 64, 2 layers, 4 heads (2 kv), vocab 256 unless overridden.
nlohmann::json tinyConfig(const std::string& kind, int64_t hidden = 64, int64_t layers = 2, int64_t vocab = 256);

} // namespace rudder
