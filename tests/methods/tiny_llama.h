// Writes a tiny random Llama (config.json + model.safetensors, fp32) to a directory so the methods
// can be run on the real runtime path (loader, KV cache, batched decode).
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace toy {

inline void writeTinyLlama(const std::string& dir, int64_t vocab = 48, int64_t hidden = 32, int64_t layers = 2,
                           uint64_t seed = 1)
{
    const int64_t heads = 4, kvHeads = 2, inter = 64, hd = hidden / heads;
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"hidden_size", hidden}, {"intermediate_size", inter}, {"num_attention_heads", heads},
                          {"num_key_value_heads", kvHeads}, {"num_hidden_layers", layers}, {"vocab_size", vocab},
                          {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"max_position_embeddings", 128},
                          {"bos_token_id", 1}, {"eos_token_id", 2}, {"pad_token_id", 0}, {"tie_word_embeddings", false},
                          {"torch_dtype", "float32"}};
    std::ofstream(dir + "/config.json") << cfg.dump(2);

    at::manual_seed(seed);
    std::vector<std::pair<std::string, at::Tensor>> t;
    auto w = [&](const std::string& name, std::vector<int64_t> shape, double scale) {
        t.emplace_back(name, at::randn(shape, at::kFloat).mul_(scale).contiguous());
    };
    auto ones = [&](const std::string& name, int64_t n) { t.emplace_back(name, at::ones({n}, at::kFloat)); };
    w("model.embed_tokens.weight", {vocab, hidden}, 1.0);
    for (int64_t l = 0; l < layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        ones(p + "input_layernorm.weight", hidden);
        ones(p + "post_attention_layernorm.weight", hidden);
        w(p + "self_attn.q_proj.weight", {heads * hd, hidden}, 0.2);
        w(p + "self_attn.k_proj.weight", {kvHeads * hd, hidden}, 0.2);
        w(p + "self_attn.v_proj.weight", {kvHeads * hd, hidden}, 0.2);
        w(p + "self_attn.o_proj.weight", {hidden, heads * hd}, 0.2);
        w(p + "mlp.gate_proj.weight", {inter, hidden}, 0.2);
        w(p + "mlp.up_proj.weight", {inter, hidden}, 0.2);
        w(p + "mlp.down_proj.weight", {hidden, inter}, 0.2);
    }
    ones("model.norm.weight", hidden);
    w("lm_head.weight", {vocab, hidden}, 0.5);

    nlohmann::json header = nlohmann::json::object();
    size_t offset = 0;
    for (const auto& [name, x] : t) {
        const size_t bytes = x.numel() * sizeof(float);
        header[name] = {{"dtype", "F32"}, {"shape", x.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::ofstream out(dir + "/model.safetensors", std::ios::binary);
    const uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& [name, x] : t)
        out.write(static_cast<const char*>(x.data_ptr()), static_cast<std::streamsize>(x.numel() * sizeof(float)));
}

} // namespace toy
