// Reading a Hugging Face model directory's config.json / generation_config.json into the
// architecture description the shared decoder runs (ArchSpec), and the per-family tables that
// map HF tensor names onto the decoder's slots.  Torch-free (nlohmann/json only).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/lm_config.h"

namespace rudder {

enum class NormKind { RMS, RMSPlusOne /* Gemma: x̂·(1+w) */, LayerNorm };
enum class Activation { SiLU, GeluTanh /* gelu_new, gelu_pytorch_tanh */, Gelu, ReLU };

struct RopeSpec {
    bool enabled = true;
    double theta = 10000.0;
    std::string type = "default";   // default | linear | llama3
    double factor = 1.0;
    double low_freq_factor = 1.0, high_freq_factor = 4.0;
    double original_max_positions = 8192;
};

// Everything the shared decoder needs; filled by the family's configure() from config.json.
struct ArchSpec {
    std::string family;              // llama | qwen2 | qwen3 | gpt2 | gemma2 | gemma3
    int64_t intermediate_size = 0;
    double norm_eps = 1e-6;
    NormKind norm = NormKind::RMS;
    Activation activation = Activation::SiLU;
    bool gated_mlp = true;           // act(gate(x)) * up(x); GPT-2: act(fc(x))
    bool qkv_bias = false, o_bias = false, mlp_bias = false;
    bool qk_norm = false;            // Qwen3 / Gemma3: RMSNorm on each head of q and k before RoPE
    bool sandwich_norms = false;     // Gemma2/3: post-attention and post-MLP norms as well
    bool learned_positions = false;  // GPT-2
    bool conv1d_weights = false;     // GPT-2 stores Linear weights [in, out]
    bool tie_word_embeddings = false;
    double embed_scale = 1.0;        // Gemma: sqrt(hidden)
    double attn_scale = 0.0;         // 0 = 1/sqrt(head_dim); Gemma: query_pre_attn_scalar^-1/2
    double attn_softcap = 0.0;       // Gemma2: tanh soft-capping of attention scores
    double final_softcap = 0.0;      // Gemma2: of the logits
    RopeSpec rope;                   // global layers
    RopeSpec rope_local;             // sliding layers (Gemma3 uses its own base, no scaling)
    int64_t sliding_window = 0;      // 0 = none
    std::vector<bool> sliding;       // per layer: uses the sliding window
};

// A slot of the decoder a tensor fills.  Per-layer slots are named relative to the layer prefix.
enum class Slot {
    Embed, PosEmbed, FinalNorm, FinalNormBias, LmHead,
    AttnNorm, AttnNormBias, Q, QBias, K, KBias, V, VBias, QKV, QKVBias, O, OBias, QNorm, KNorm,
    PostAttnNorm, MlpNorm, MlpNormBias, Gate, GateBias, Up, UpBias, Down, DownBias, PostMlpNorm,
};

// HF names of one family.  Model-level names are relative to the backbone prefix (found by
// probing backbone_prefixes for the embedding), lm_head names are absolute; layer names are
// relative to backbone prefix + layer_prefix with {i} replaced by the layer index.
struct TensorNames {
    std::vector<std::string> backbone_prefixes;
    std::string layer_prefix;
    std::vector<std::pair<Slot, std::string>> model;
    std::vector<std::pair<Slot, std::string>> layer;
    std::vector<std::string> lm_head = {"lm_head.weight"};
};

struct ArchFamily {
    std::string name;
    std::vector<std::string> architectures;   // *ForCausalLM names accepted by loadCausalLM
    std::vector<std::string> model_types;     // accepted for reward models whatever their class
    // Reads the family's fields of config.json (cfg = the text config) into cfg/spec.
    void (*configure)(const nlohmann::json& cfg, const std::string& file, ModelConfig& mc, ArchSpec& spec);
    TensorNames names;
};

// Families, one file each (arch_*.cpp).
const ArchFamily& llamaFamily();
const ArchFamily& qwenFamily();      // Qwen2 and Qwen3 (configure tells them apart)
const ArchFamily& gpt2Family();
const ArchFamily& gemmaFamily();     // Gemma2 and Gemma3 text
const std::vector<const ArchFamily*>& allFamilies();
std::string supportedArchitectures();   // "LlamaForCausalLM, MistralForCausalLM, ..."

struct LoadedConfig {
    ModelConfig model;
    ArchSpec spec;
    const ArchFamily* family = nullptr;
    nlohmann::json json;   // the text config
};

// Parses DIR/config.json (+ generation_config.json).  forCausalLM: the architecture must be one
// of the families' *ForCausalLM classes; otherwise (reward models) model_type chooses the family.
LoadedConfig readLoadedConfig(const std::string& dir, bool forCausalLM);
class WeightStore;
// The config's layer count against the layers the weights hold (names "…layers.N." or "…h.N."),
// before a model is built: more layers than weights is refused naming config.json's field.
void checkConfigAgainstWeights(const LoadedConfig& lc, const WeightStore& store, const std::string& dir);

// Helpers for configure(): a field with a default, and a required positive integer.
double jsonNumber(const nlohmann::json& cfg, const std::string& key, double dflt, const std::string& file);
int64_t jsonInt(const nlohmann::json& cfg, const std::string& key, int64_t dflt, const std::string& file);
// Ceilings on sizes read from config.json, far above any published model, checked before anything
// is allocated; checkConfigAgainstWeights() then holds the layer count to the weights.
constexpr int64_t kMaxLayers = 4096, kMaxHeads = 16384, kMaxWidth = int64_t(1) << 20, kMaxVocab = int64_t(1) << 24;
int64_t jsonRequiredInt(const nlohmann::json& cfg, const std::string& key, const std::string& file,
                        int64_t max = int64_t(1) << 40);
// A missing or null key gives dflt; a value of another type is an Error naming file and key
// (nlohmann's value() would throw its own type_error instead).
bool jsonBool(const nlohmann::json& cfg, const std::string& key, bool dflt, const std::string& file);
std::string jsonString(const nlohmann::json& cfg, const std::string& key, const std::string& dflt, const std::string& file);
Activation parseActivation(const std::string& name, const std::string& file, const std::string& field);
RopeSpec parseRope(const nlohmann::json& cfg, double theta, const std::string& file);
// layer_types (["sliding_attention", "full_attention", ...]) when present, else pattern(i).
void readSlidingLayers(const nlohmann::json& cfg, const std::string& file, int64_t layers, ArchSpec& spec,
                       const std::function<bool(int64_t layer, const nlohmann::json& cfg)>& pattern);
// The common Llama-like fields: sizes, heads, head_dim, eps (key), activation (key), rope, tie.
void readCommonSizes(const nlohmann::json& cfg, const std::string& file, ModelConfig& mc, ArchSpec& spec);

} // namespace rudder
