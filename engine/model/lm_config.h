// A causal LM's sizes and special ids as config.json gives them — torch-free, so the files that
// only read configs (the architecture tables, model_config.cpp) do not compile libtorch headers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rudder {

struct ModelConfig {
    std::string architecture;   // config.json architectures[0]
    std::string model_type;
    int64_t hidden_size = 0;
    int64_t vocab_size = 0;
    int64_t num_layers = 0;
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    int64_t head_dim = 0;
    int64_t max_positions = 0;
    std::vector<int64_t> eos_ids;  // from config.json and generation_config.json
    int64_t bos_id = -1;
    int64_t pad_id = -1;           // never equal to an EOS id (see reward scoring)
    int64_t num_parameters = 0;    // for FLOPs = 2 * params * tokens
};

} // namespace rudder
