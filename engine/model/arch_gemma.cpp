// Gemma family, text models: Gemma2ForCausalLM and Gemma3ForCausalLM, plus the text part of
// Gemma3ForConditionalGeneration (weights under language_model.).  Quirks: embeddings scaled by
// sqrt(hidden), RMSNorm as x̂·(1+w), sandwich norms around attention and MLP, attention scale
// query_pre_attn_scalar^-1/2, sliding-window layers; Gemma2 soft-caps attention scores and
// logits; Gemma3 normalises q/k per head and gives sliding layers their own RoPE base.
#include "model/model_config.h"
#include "rudder/error.h"

#include <cmath>

namespace rudder {

static void configureGemma(const nlohmann::json& cfgIn, const std::string& file, ModelConfig& mc, ArchSpec& spec)
{
    const std::string type = jsonString(cfgIn, "model_type", "", file);
    const bool gemma3 = type == "gemma3_text" || type == "gemma3" || mc.architecture.rfind("Gemma3", 0) == 0;
    nlohmann::json cfg = cfgIn;
    // Gemma3TextConfig's defaults: multimodal configs often omit fields equal to them.
    auto dflt = [&](const char* k, nlohmann::json v) {
        if (!cfg.contains(k) || cfg[k].is_null()) cfg[k] = v;
    };
    dflt("head_dim", 256);
    if (gemma3) {
        dflt("hidden_size", 2304);
        dflt("intermediate_size", 9216);
        dflt("num_hidden_layers", 26);
        dflt("num_attention_heads", 8);
        dflt("num_key_value_heads", 4);
        dflt("vocab_size", 262208);
        dflt("max_position_embeddings", 131072);
        dflt("rope_theta", 1000000.0);
        dflt("sliding_window", 4096);
    }
    spec.family = gemma3 ? "gemma3" : "gemma2";
    readCommonSizes(cfg, file, mc, spec);
    spec.norm = NormKind::RMSPlusOne;
    spec.sandwich_norms = true;
    spec.tie_word_embeddings = jsonBool(cfg, "tie_word_embeddings", true, file);
    const std::string act = cfg.contains("hidden_activation") && cfg["hidden_activation"].is_string()
                                ? cfg["hidden_activation"].get<std::string>()
                                : jsonString(cfg, "hidden_act", "gelu_pytorch_tanh", file);
    spec.activation = parseActivation(act, file, "hidden_activation");
    spec.embed_scale = std::sqrt(static_cast<double>(mc.hidden_size));
    spec.attn_scale = 1.0 / std::sqrt(jsonNumber(cfg, "query_pre_attn_scalar", 256.0, file));
    spec.attn_softcap = jsonNumber(cfg, "attn_logit_softcapping", gemma3 ? 0.0 : 50.0, file);
    spec.final_softcap = jsonNumber(cfg, "final_logit_softcapping", gemma3 ? 0.0 : 30.0, file);
    spec.sliding_window = jsonInt(cfg, "sliding_window", 4096, file);
    if (gemma3) {
        spec.qk_norm = true;
        spec.rope_local = RopeSpec{};
        spec.rope_local.theta = jsonNumber(cfg, "rope_local_base_freq", 10000.0, file);
        const int64_t pattern = jsonInt(cfg, "sliding_window_pattern", 6, file);
        if (pattern < 1) throw Error(file, "sliding_window_pattern", "must be at least 1, not " + std::to_string(pattern));
        readSlidingLayers(cfg, file, mc.num_layers, spec, [pattern](int64_t i, const nlohmann::json&) {
            return (i + 1) % pattern != 0;
        });
    } else {
        spec.rope_local = spec.rope;
        readSlidingLayers(cfg, file, mc.num_layers, spec, [](int64_t i, const nlohmann::json&) { return i % 2 == 0; });
    }
}

const ArchFamily& gemmaFamily()
{
    static const ArchFamily f{
        "gemma",
        {"Gemma2ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"},
        {"gemma2", "gemma3", "gemma3_text"},
        &configureGemma,
        TensorNames{
            {"model.", "language_model.model.", "model.language_model.", ""},
            "layers.{i}.",
            {{Slot::Embed, "embed_tokens.weight"}, {Slot::FinalNorm, "norm.weight"}},
            {
                {Slot::AttnNorm, "input_layernorm.weight"},
                {Slot::Q, "self_attn.q_proj.weight"}, {Slot::K, "self_attn.k_proj.weight"},
                {Slot::V, "self_attn.v_proj.weight"}, {Slot::O, "self_attn.o_proj.weight"},
                {Slot::QNorm, "self_attn.q_norm.weight"}, {Slot::KNorm, "self_attn.k_norm.weight"},
                {Slot::PostAttnNorm, "post_attention_layernorm.weight"},
                {Slot::MlpNorm, "pre_feedforward_layernorm.weight"},
                {Slot::PostMlpNorm, "post_feedforward_layernorm.weight"},
                {Slot::Gate, "mlp.gate_proj.weight"}, {Slot::Up, "mlp.up_proj.weight"},
                {Slot::Down, "mlp.down_proj.weight"},
            },
            {"lm_head.weight", "language_model.lm_head.weight"},
        },
    };
    return f;
}

} // namespace rudder
