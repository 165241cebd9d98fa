// Llama family: LlamaForCausalLM (Llama 2, Llama 3/3.1 with llama3 RoPE scaling, Vicuna,
// TinyLlama, Tülu) and MistralForCausalLM (Llama + sliding window).
#include "model/model_config.h"

namespace rudder {

static void configureLlama(const nlohmann::json& cfg, const std::string& file, ModelConfig& mc, ArchSpec& spec)
{
    spec.family = "llama";
    readCommonSizes(cfg, file, mc, spec);
    spec.qkv_bias = spec.o_bias = jsonBool(cfg, "attention_bias", false, file);
    spec.mlp_bias = jsonBool(cfg, "mlp_bias", false, file);
    // Mistral 7B v0.1 attends over the last `sliding_window` positions in every layer.
    spec.sliding_window = jsonInt(cfg, "sliding_window", 0, file);
    readSlidingLayers(cfg, file, mc.num_layers, spec, [](int64_t, const nlohmann::json&) { return true; });
    if (spec.sliding_window <= 0) spec.sliding_window = 0;
}

const ArchFamily& llamaFamily()
{
    static const ArchFamily f{
        "llama",
        {"LlamaForCausalLM", "MistralForCausalLM"},
        {"llama", "mistral"},
        &configureLlama,
        TensorNames{
            {"model.", "language_model.model.", "model.language_model.", "pretrained_model.model.", ""},
            "layers.{i}.",
            {{Slot::Embed, "embed_tokens.weight"}, {Slot::FinalNorm, "norm.weight"}},
            {
                {Slot::AttnNorm, "input_layernorm.weight"},
                {Slot::Q, "self_attn.q_proj.weight"}, {Slot::QBias, "self_attn.q_proj.bias"},
                {Slot::K, "self_attn.k_proj.weight"}, {Slot::KBias, "self_attn.k_proj.bias"},
                {Slot::V, "self_attn.v_proj.weight"}, {Slot::VBias, "self_attn.v_proj.bias"},
                {Slot::O, "self_attn.o_proj.weight"}, {Slot::OBias, "self_attn.o_proj.bias"},
                {Slot::MlpNorm, "post_attention_layernorm.weight"},   // Llama's pre-MLP norm
                {Slot::Gate, "mlp.gate_proj.weight"}, {Slot::GateBias, "mlp.gate_proj.bias"},
                {Slot::Up, "mlp.up_proj.weight"}, {Slot::UpBias, "mlp.up_proj.bias"},
                {Slot::Down, "mlp.down_proj.weight"}, {Slot::DownBias, "mlp.down_proj.bias"},
            },
            {"lm_head.weight", "language_model.lm_head.weight", "pretrained_model.lm_head.weight"},
        },
    };
    return f;
}

} // namespace rudder
