#include "model/random_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>

#include "model/model_config.h"
#include "model/safetensors.h"
#include "rudder/error.h"

namespace fs = std::filesystem;

namespace rudder {

nlohmann::json tinyConfig(const std::string& kind, int64_t hidden, int64_t layers, int64_t vocab)
{
    nlohmann::json c = {
        {"hidden_size", hidden}, {"intermediate_size", hidden * 2 + 32}, {"num_hidden_layers", layers},
        {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", vocab},
        {"max_position_embeddings", 512}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
        {"bos_token_id", 1}, {"eos_token_id", 2}, {"tie_word_embeddings", false}, {"hidden_act", "silu"},
    };
    if (kind == "llama" || kind == "llama3") {
        c["architectures"] = {"LlamaForCausalLM"};
        c["model_type"] = "llama";
        if (kind == "llama3") {
            c["rope_theta"] = 500000.0;
            c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                 {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
            c["eos_token_id"] = {2, 3};
        }
    } else if (kind == "mistral") {
        c["architectures"] = {"MistralForCausalLM"};
        c["model_type"] = "mistral";
        c["sliding_window"] = 5;
    } else if (kind == "qwen2") {
        c["architectures"] = {"Qwen2ForCausalLM"};
        c["model_type"] = "qwen2";
        c["tie_word_embeddings"] = true;
    } else if (kind == "qwen3") {
        c["architectures"] = {"Qwen3ForCausalLM"};
        c["model_type"] = "qwen3";
        c["head_dim"] = 32;   // Qwen3 decouples head_dim from hidden/heads
    } else if (kind == "gpt2") {
        c = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"n_embd", hidden}, {"n_layer", layers},
             {"n_head", 4}, {"n_positions", 128}, {"vocab_size", vocab}, {"layer_norm_epsilon", 1e-5},
             {"activation_function", "gelu_new"}, {"bos_token_id", 2}, {"eos_token_id", 2}};
    } else if (kind == "gemma2") {
        c["architectures"] = {"Gemma2ForCausalLM"};
        c["model_type"] = "gemma2";
        c["head_dim"] = 16;
        c["hidden_activation"] = "gelu_pytorch_tanh";
        c["query_pre_attn_scalar"] = 16;
        c["sliding_window"] = 4;
        c["attn_logit_softcapping"] = 50.0;
        c["final_logit_softcapping"] = 30.0;
        c["tie_word_embeddings"] = true;
        c["rms_norm_eps"] = 1e-6;
    } else if (kind == "gemma3") {
        c["architectures"] = {"Gemma3ForCausalLM"};
        c["model_type"] = "gemma3_text";
        c["head_dim"] = 16;
        c["hidden_activation"] = "gelu_pytorch_tanh";
        c["query_pre_attn_scalar"] = 16;
        c["sliding_window"] = 4;
        c["sliding_window_pattern"] = 2;
        c["rope_theta"] = 1000000.0;
        c["rope_local_base_freq"] = 10000.0;
        c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
        c["tie_word_embeddings"] = true;
        c["rms_norm_eps"] = 1e-6;
    } else {
        throw UsageError("", "config", "unknown tiny config '" + kind + "' (llama, llama3, mistral, qwen2, qwen3, gpt2, gemma2, gemma3)");
    }
    return c;
}

void writeRandomModel(const std::string& dir, const nlohmann::json& config, uint64_t seed, double std,
                      const std::string& rewardHead)
{
    fs::create_directories(dir);
    {
        std::ofstream out(fs::path(dir) / "config.json");
        out << config.dump(2);
        if (!out) throw Error(dir + "/config.json", "", "cannot write");
    }
    const bool rm = !rewardHead.empty();
    LoadedConfig lc = readLoadedConfig(dir, !rm);
    const ModelConfig& m = lc.model;
    const ArchSpec& s = lc.spec;
    const TensorNames& names = lc.family->names;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t d = m.hidden_size, hd = m.head_dim, I = s.intermediate_size;
    const int64_t nq = m.num_heads * hd, nkv = m.num_kv_heads * hd;
    const bool plusOne = s.norm == NormKind::RMSPlusOne;
    auto randn = [&](std::vector<int64_t> shape, double sd) { return at::normal(0.0, sd, shape, gen); };
    auto normW = [&](int64_t n) { return plusOne ? randn({n}, 0.1) : 1.0 + randn({n}, 0.1); };

    std::vector<std::pair<std::string, at::Tensor>> out;
    const std::string prefix = names.backbone_prefixes.front();
    auto find = [](const std::vector<std::pair<Slot, std::string>>& t, Slot sl) -> const std::string* {
        for (const auto& [a, b] : t)
            if (a == sl) return &b;
        return nullptr;
    };
    auto add = [&](const std::string& name, at::Tensor t) { out.emplace_back(name, t.contiguous()); };
    add(prefix + *find(names.model, Slot::Embed), randn({m.vocab_size, d}, std * 5));
    if (s.learned_positions) add(prefix + *find(names.model, Slot::PosEmbed), randn({m.max_positions, d}, std * 2));
    for (int64_t i = 0; i < m.num_layers; ++i) {
        std::string lp = names.layer_prefix;
        lp.replace(lp.find("{i}"), 3, std::to_string(i));
        lp = prefix + lp;
        auto slot = [&](Slot sl, at::Tensor t) {
            const std::string* n = find(names.layer, sl);
            if (!n) throw Error(dir, "", "internal: name table lacks a slot");
            add(lp + *n, t);
        };
        // Linear [out, in]; GPT-2's Conv1D stores [in, out].
        auto lin = [&](Slot sl, int64_t o, int64_t in) { slot(sl, s.conv1d_weights ? randn({in, o}, std) : randn({o, in}, std)); };
        slot(Slot::AttnNorm, normW(d));
        if (s.norm == NormKind::LayerNorm) slot(Slot::AttnNormBias, randn({d}, std));
        if (find(names.layer, Slot::QKV)) {
            lin(Slot::QKV, nq + 2 * nkv, d);
            if (s.qkv_bias) slot(Slot::QKVBias, randn({nq + 2 * nkv}, std));
        } else {
            lin(Slot::Q, nq, d);
            lin(Slot::K, nkv, d);
            lin(Slot::V, nkv, d);
            if (s.qkv_bias) {
                slot(Slot::QBias, randn({nq}, std));
                slot(Slot::KBias, randn({nkv}, std));
                slot(Slot::VBias, randn({nkv}, std));
            }
        }
        lin(Slot::O, d, nq);
        if (s.o_bias) slot(Slot::OBias, randn({d}, std));
        if (s.qk_norm) {
            slot(Slot::QNorm, normW(hd));
            slot(Slot::KNorm, normW(hd));
        }
        if (s.sandwich_norms) {
            slot(Slot::PostAttnNorm, normW(d));
            slot(Slot::PostMlpNorm, normW(d));
        }
        slot(Slot::MlpNorm, normW(d));
        if (s.norm == NormKind::LayerNorm) slot(Slot::MlpNormBias, randn({d}, std));
        if (s.gated_mlp) {
            lin(Slot::Gate, I, d);
            if (s.mlp_bias) slot(Slot::GateBias, randn({I}, std));
        }
        lin(Slot::Up, I, d);
        if (s.mlp_bias) slot(Slot::UpBias, randn({I}, std));
        lin(Slot::Down, d, I);
        if (s.mlp_bias) slot(Slot::DownBias, randn({d}, std));
    }
    add(prefix + *find(names.model, Slot::FinalNorm), normW(d));
    if (s.norm == NormKind::LayerNorm) add(prefix + *find(names.model, Slot::FinalNormBias), randn({d}, std));
    if (!s.tie_word_embeddings && !rm) add(names.lm_head.front(), randn({m.vocab_size, d}, std * 5));

    std::vector<std::pair<std::string, at::Tensor>> head;
    if (rewardHead == "score") out.emplace_back("score.weight", randn({1, d}, 0.5));
    else if (rewardHead == "regression_head") out.emplace_back("regression_head.weight", randn({1, d}, 0.5));
    else if (rewardHead == "v_head") {
        head.emplace_back("v_head.summary.weight", randn({1, d}, 0.5));
        head.emplace_back("v_head.summary.bias", randn({1}, 0.5));
    } else if (rewardHead == "v_head_mlp") {
        head.emplace_back("v_head.summary.0.weight", randn({16, d}, 0.5));
        head.emplace_back("v_head.summary.0.bias", randn({16}, 0.5));
        head.emplace_back("v_head.summary.2.weight", randn({1, 16}, 0.5));
        head.emplace_back("v_head.summary.2.bias", randn({1}, 0.5));
    } else if (rewardHead == "armo_gating") {
        // ArmoRM's shapes, sized by the config's own fields (defaults as its modeling code).
        const int64_t K = config.value("num_objectives", 19), H = config.value("gating_hidden_dim", 1024);
        const int64_t n = config.value("gating_n_hidden", 3);
        out.emplace_back("regression_layer.weight", randn({K, d}, 0.5));
        out.emplace_back("reward_transform_matrix", at::eye(K) + randn({K, K}, 0.1));
        out.emplace_back("gating.logit_scale", at::full({1}, 1.5));
        int64_t in = d;
        for (int64_t i = 0; i <= n; ++i) {
            const int64_t o = i == n ? K : H;
            out.emplace_back("gating.layers." + std::to_string(i) + ".weight", randn({o, in}, 0.5));
            out.emplace_back("gating.layers." + std::to_string(i) + ".bias", randn({o}, 0.5));
            in = o;
        }
    } else if (rm) {
        throw UsageError("", "reward head", "'" + rewardHead + "' (score, regression_head, v_head, v_head_mlp, armo_gating)");
    }
    writeSafetensors((fs::path(dir) / "model.safetensors").string(), out, {{"format", "pt"}});
    if (!head.empty()) writeSafetensors((fs::path(dir) / "value_head.safetensors").string(), head, {{"format", "pt"}});
}

} // namespace rudder
