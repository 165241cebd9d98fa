// Direct access to the model runtime for measurement and reference checks (`rudder-cli bench`,
// `rudder-cli logprobs`), behind a torch-free facade so the CLI compiles no libtorch header and
// needs no engine-internal one.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

class RuntimeProbe {
public:
    // Loads a causal LM directory (device: auto|cpu|cuda[:N]; dtype: auto|fp32|fp64|bf16|fp16).
    RuntimeProbe(const std::string& dir, const std::string& device, const std::string& dtype);
    ~RuntimeProbe();
    RuntimeProbe(const RuntimeProbe&) = delete;
    RuntimeProbe& operator=(const RuntimeProbe&) = delete;

    std::string architecture() const;
    std::string device() const;   // "cpu", "cuda:0"
    std::string dtype() const;    // torch's name: "Float", "BFloat16"
    int64_t parameters() const;
    int64_t vocabSize() const;

    // A random prompt of `promptTokens` prefilled for `batch` rows, then `steps` greedy decode steps
    // (forward + lm_head + argmax): the runtime's whole step.  Tokens per second of each phase.
    struct Throughput {
        double prefill_tok_s = 0, decode_tok_s = 0;
    };
    Throughput prefillAndDecode(int64_t batch, int64_t promptTokens, int64_t steps);
    // Seconds for the model's linear layers alone on `tokens` input rows (the bound a step can reach).
    double matmulSeconds(int64_t tokens, int reps);

    // Next-token log-probabilities (fp64 log_softmax of the logits) at every position of `ids` from
    // one prefill, [ids.size()][vocab]; then `greedy` tokens decoded one at a time through the KV
    // cache (EOS ignored).  Throws UsageError for an id outside the vocabulary.
    struct Logprobs {
        std::vector<std::vector<double>> rows;
        std::vector<int64_t> greedy;
    };
    Logprobs logprobs(const std::vector<int64_t>& ids, int64_t greedy);

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// A random-weight model directory (config.json + model.safetensors) from a config; tinyConfig()
// gives small ones of every family ("llama", "llama3", "mistral", "qwen2", "qwen3", "gpt2",
// "gemma2", "gemma3").
void writeRandomModel(const std::string& dir, const nlohmann::json& config, uint64_t seed, double std = 0.1,
                      const std::string& rewardHead = "");
nlohmann::json tinyConfig(const std::string& kind, int64_t hidden = 64, int64_t layers = 2, int64_t vocab = 256);

} // namespace rudder
