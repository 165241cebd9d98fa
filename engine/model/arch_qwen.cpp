// Qwen family: Qwen2ForCausalLM (bias on q/k/v) and Qwen3ForCausalLM (RMSNorm on each q/k head
// before RoPE, no bias).
#include "model/model_config.h"

namespace rudder {

static void configureQwen(const nlohmann::json& cfg, const std::string& file, ModelConfig& mc, ArchSpec& spec)
{
    readCommonSizes(cfg, file, mc, spec);
    const bool qwen3 = jsonString(cfg, "model_type", "", file) == "qwen3" || mc.architecture == "Qwen3ForCausalLM";
    spec.family = qwen3 ? "qwen3" : "qwen2";
    spec.qkv_bias = qwen3 ? jsonBool(cfg, "attention_bias", false, file) : true;
    spec.o_bias = qwen3 && jsonBool(cfg, "attention_bias", false, file);
    spec.qk_norm = qwen3;
    // Sliding window only when use_sliding_window (off in every released Qwen2/3 config), on the
    // layers from max_window_layers on.
    spec.sliding_window = jsonBool(cfg, "use_sliding_window", false, file) ? jsonInt(cfg, "sliding_window", 0, file) : 0;
    const int64_t firstWindowed = jsonInt(cfg, "max_window_layers", 0, file);
    readSlidingLayers(cfg, file, mc.num_layers, spec, [firstWindowed](int64_t i, const nlohmann::json&) {
        return i >= firstWindowed;
    });
}

const ArchFamily& qwenFamily()
{
    static const ArchFamily f{
        "qwen",
        {"Qwen2ForCausalLM", "Qwen3ForCausalLM"},
        {"qwen2", "qwen3"},
        &configureQwen,
        TensorNames{
            {"model.", "pretrained_model.model.", ""},
            "layers.{i}.",
            {{Slot::Embed, "embed_tokens.weight"}, {Slot::FinalNorm, "norm.weight"}},
            {
                {Slot::AttnNorm, "input_layernorm.weight"},
                {Slot::Q, "self_attn.q_proj.weight"}, {Slot::QBias, "self_attn.q_proj.bias"},
                {Slot::K, "self_attn.k_proj.weight"}, {Slot::KBias, "self_attn.k_proj.bias"},
                {Slot::V, "self_attn.v_proj.weight"}, {Slot::VBias, "self_attn.v_proj.bias"},
                {Slot::O, "self_attn.o_proj.weight"}, {Slot::OBias, "self_attn.o_proj.bias"},
                {Slot::QNorm, "self_attn.q_norm.weight"}, {Slot::KNorm, "self_attn.k_norm.weight"},
                {Slot::MlpNorm, "post_attention_layernorm.weight"},
                {Slot::Gate, "mlp.gate_proj.weight"}, {Slot::Up, "mlp.up_proj.weight"},
                {Slot::Down, "mlp.down_proj.weight"},
            },
            {"lm_head.weight", "pretrained_model.lm_head.weight"},
        },
    };
    return f;
}

} // namespace rudder
