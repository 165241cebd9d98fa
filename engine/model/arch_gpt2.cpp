// GPT-2: learned positions, LayerNorm with bias, gelu_new MLP, Conv1D weights stored [in, out],
// fused c_attn, LM head tied to wte.
#include "model/model_config.h"

#include "rudder/error.h"

namespace rudder {

static void configureGpt2(const nlohmann::json& cfg, const std::string& file, ModelConfig& mc, ArchSpec& spec)
{
    spec.family = "gpt2";
    mc.hidden_size = jsonRequiredInt(cfg, "n_embd", file, kMaxWidth);
    mc.vocab_size = jsonRequiredInt(cfg, "vocab_size", file, kMaxVocab);
    mc.num_layers = jsonRequiredInt(cfg, "n_layer", file, kMaxLayers);
    mc.num_heads = jsonRequiredInt(cfg, "n_head", file, kMaxHeads);
    mc.num_kv_heads = mc.num_heads;
    mc.head_dim = mc.hidden_size / mc.num_heads;
    mc.max_positions = jsonRequiredInt(cfg, "n_positions", file, int64_t(1) << 24);
    spec.intermediate_size = jsonInt(cfg, "n_inner", 4 * mc.hidden_size, file);
    if (spec.intermediate_size <= 0 || spec.intermediate_size > kMaxWidth)
        throw Error(file, "n_inner", "must be a positive integer no larger than " + std::to_string(kMaxWidth));
    spec.norm = NormKind::LayerNorm;
    spec.norm_eps = jsonNumber(cfg, "layer_norm_epsilon", 1e-5, file);
    spec.activation = parseActivation(jsonString(cfg, "activation_function", "gelu_new", file), file, "activation_function");
    spec.gated_mlp = false;
    spec.qkv_bias = spec.o_bias = spec.mlp_bias = true;
    spec.learned_positions = true;
    spec.conv1d_weights = true;
    spec.rope.enabled = spec.rope_local.enabled = false;
    spec.tie_word_embeddings = jsonBool(cfg, "tie_word_embeddings", true, file);
    if (jsonBool(cfg, "scale_attn_by_inverse_layer_idx", false, file))
        throw Error(file, "scale_attn_by_inverse_layer_idx", "true is not supported");
    if (!jsonBool(cfg, "scale_attn_weights", true, file)) spec.attn_scale = 1.0;
    mc.bos_id = jsonInt(cfg, "bos_token_id", 50256, file);
}

const ArchFamily& gpt2Family()
{
    static const ArchFamily f{
        "gpt2",
        {"GPT2LMHeadModel"},
        {"gpt2"},
        &configureGpt2,
        TensorNames{
            {"transformer.", "", "pretrained_model.transformer."},
            "h.{i}.",
            {{Slot::Embed, "wte.weight"}, {Slot::PosEmbed, "wpe.weight"},
             {Slot::FinalNorm, "ln_f.weight"}, {Slot::FinalNormBias, "ln_f.bias"}},
            {
                {Slot::AttnNorm, "ln_1.weight"}, {Slot::AttnNormBias, "ln_1.bias"},
                {Slot::QKV, "attn.c_attn.weight"}, {Slot::QKVBias, "attn.c_attn.bias"},
                {Slot::O, "attn.c_proj.weight"}, {Slot::OBias, "attn.c_proj.bias"},
                {Slot::MlpNorm, "ln_2.weight"}, {Slot::MlpNormBias, "ln_2.bias"},
                {Slot::Up, "mlp.c_fc.weight"}, {Slot::UpBias, "mlp.c_fc.bias"},
                {Slot::Down, "mlp.c_proj.weight"}, {Slot::DownBias, "mlp.c_proj.bias"},
            },
            {"lm_head.weight"},
        },
    };
    return f;
}

} // namespace rudder
