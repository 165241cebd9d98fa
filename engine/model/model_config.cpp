#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "rudder/json_file.h"
#include "rudder/error.h"

namespace fs = std::filesystem;

namespace rudder {

const std::vector<const ArchFamily*>& allFamilies()
{
    static const std::vector<const ArchFamily*> f = {&llamaFamily(), &qwenFamily(), &gpt2Family(), &gemmaFamily()};
    return f;
}

std::string supportedArchitectures()
{
    std::string s;
    for (const auto* f : allFamilies())
        for (const auto& a : f->architectures) s += (s.empty() ? "" : ", ") + a;
    return s;
}

double jsonNumber(const nlohmann::json& cfg, const std::string& key, double dflt, const std::string& file)
{
    if (!cfg.contains(key) || cfg[key].is_null()) return dflt;
    if (!cfg[key].is_number()) throw Error(file, key, "must be a number");
    return cfg[key].get<double>();
}

int64_t jsonInt(const nlohmann::json& cfg, const std::string& key, int64_t dflt, const std::string& file)
{
    if (!cfg.contains(key) || cfg[key].is_null()) return dflt;
    if (!cfg[key].is_number_integer()) throw Error(file, key, "must be an integer");
    return cfg[key].get<int64_t>();
}

bool jsonBool(const nlohmann::json& cfg, const std::string& key, bool dflt, const std::string& file)
{
    if (!cfg.contains(key) || cfg[key].is_null()) return dflt;
    if (!cfg[key].is_boolean()) throw Error(file, key, "must be true or false, not " + cfg[key].dump());
    return cfg[key].get<bool>();
}

std::string jsonString(const nlohmann::json& cfg, const std::string& key, const std::string& dflt, const std::string& file)
{
    if (!cfg.contains(key) || cfg[key].is_null()) return dflt;
    if (!cfg[key].is_string()) throw Error(file, key, "must be a string, not " + cfg[key].dump());
    return cfg[key].get<std::string>();
}

int64_t jsonRequiredInt(const nlohmann::json& cfg, const std::string& key, const std::string& file, int64_t max)
{
    if (!cfg.contains(key) || cfg[key].is_null()) throw Error(file, key, "missing");
    const int64_t v = jsonInt(cfg, key, 0, file);
    if (v <= 0) throw Error(file, key, "must be a positive integer");
    // Sizes drive allocations and loops before any weight is read (2^31 layers spun for 36 s, then
    // std::bad_alloc): the ceilings are far above every published model.
    if (v > max) throw Error(file, key, std::to_string(v) + " is larger than " + std::to_string(max) + ", more than any model has");
    return v;
}

Activation parseActivation(const std::string& name, const std::string& file, const std::string& field)
{
    if (name == "silu" || name == "swish") return Activation::SiLU;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::GeluTanh;
    if (name == "gelu") return Activation::Gelu;
    if (name == "relu") return Activation::ReLU;
    throw Error(file, field, "activation '" + name + "' is not supported (silu, gelu, gelu_new, gelu_pytorch_tanh, relu)");
}

RopeSpec parseRope(const nlohmann::json& cfg, double theta, const std::string& file)
{
    RopeSpec r;
    r.theta = theta;
    if (!cfg.contains("rope_scaling") || cfg["rope_scaling"].is_null()) return r;
    const auto& s = cfg["rope_scaling"];
    if (!s.is_object()) throw Error(file, "rope_scaling", "must be an object or null");
    std::string type = jsonString(s, "rope_type", jsonString(s, "type", "default", file), file);
    if (type == "default") return r;
    r.factor = jsonNumber(s, "factor", 1.0, file);
    if (type == "linear") {
        r.type = "linear";
    } else if (type == "llama3") {
        r.type = "llama3";
        r.low_freq_factor = jsonNumber(s, "low_freq_factor", 1.0, file);
        r.high_freq_factor = jsonNumber(s, "high_freq_factor", 4.0, file);
        r.original_max_positions = jsonNumber(s, "original_max_position_embeddings", 8192, file);
        // Each is a divisor in the wavelength bands (transformers' _compute_llama3_parameters):
        // zero or negative gives inf/NaN frequencies, a NaN model that still "runs".
        if (!(r.low_freq_factor > 0) || !std::isfinite(r.low_freq_factor))
            throw Error(file, "rope_scaling.low_freq_factor", "must be a positive number");
        if (!(r.original_max_positions > 0) || !std::isfinite(r.original_max_positions))
            throw Error(file, "rope_scaling.original_max_position_embeddings", "must be a positive number");
        if (!(r.high_freq_factor > r.low_freq_factor) || !std::isfinite(r.high_freq_factor))
            throw Error(file, "rope_scaling.high_freq_factor", "must exceed low_freq_factor");
    } else {
        throw Error(file, "rope_scaling.rope_type", "'" + type + "' is not supported (default, linear, llama3)");
    }
    if (!(r.factor > 0) || !std::isfinite(r.factor)) throw Error(file, "rope_scaling.factor", "must be a positive number");
    return r;
}

void readSlidingLayers(const nlohmann::json& cfg, const std::string& file, int64_t layers, ArchSpec& spec,
                       const std::function<bool(int64_t, const nlohmann::json&)>& pattern)
{
    spec.sliding.assign(static_cast<size_t>(layers), false);
    if (cfg.contains("layer_types") && cfg["layer_types"].is_array()) {
        const auto& lt = cfg["layer_types"];
        if (static_cast<int64_t>(lt.size()) != layers)
            throw Error(file, "layer_types", "has " + std::to_string(lt.size()) + " entries for " + std::to_string(layers) + " layers");
        for (int64_t i = 0; i < layers; ++i) spec.sliding[i] = lt[i] == "sliding_attention";
    } else if (pattern) {
        for (int64_t i = 0; i < layers; ++i) spec.sliding[i] = pattern(i, cfg);
    }
    if (spec.sliding_window <= 0) std::fill(spec.sliding.begin(), spec.sliding.end(), false);
}

void readCommonSizes(const nlohmann::json& cfg, const std::string& file, ModelConfig& mc, ArchSpec& spec)
{
    mc.hidden_size = jsonRequiredInt(cfg, "hidden_size", file, kMaxWidth);
    mc.vocab_size = jsonRequiredInt(cfg, "vocab_size", file, kMaxVocab);
    mc.num_layers = jsonRequiredInt(cfg, "num_hidden_layers", file, kMaxLayers);
    mc.num_heads = jsonRequiredInt(cfg, "num_attention_heads", file, kMaxHeads);
    mc.num_kv_heads = jsonInt(cfg, "num_key_value_heads", mc.num_heads, file);
    mc.head_dim = jsonInt(cfg, "head_dim", mc.hidden_size / mc.num_heads, file);
    mc.max_positions = jsonInt(cfg, "max_position_embeddings", 2048, file);
    // A non-positive length disabled the prompt-length check (a 10 MB prompt then took > 8 GB), and
    // a non-positive eps or θ gives a NaN model that runs to "success".
    if (mc.max_positions < 1 || mc.max_positions > (int64_t(1) << 24))
        throw Error(file, "max_position_embeddings", std::to_string(mc.max_positions) + " is outside [1, 2^24]");
    spec.intermediate_size = jsonRequiredInt(cfg, "intermediate_size", file, kMaxWidth);
    spec.norm_eps = jsonNumber(cfg, "rms_norm_eps", 1e-6, file);
    if (!(spec.norm_eps > 0) || !std::isfinite(spec.norm_eps)) throw Error(file, "rms_norm_eps", "must be a positive number");
    const double theta = jsonNumber(cfg, "rope_theta", 10000.0, file);
    if (!(theta > 0) || !std::isfinite(theta)) throw Error(file, "rope_theta", "must be a positive number");
    spec.rope = parseRope(cfg, theta, file);
    spec.rope_local = spec.rope;
    if (cfg.contains("tie_word_embeddings") && cfg["tie_word_embeddings"].is_boolean())
        spec.tie_word_embeddings = cfg["tie_word_embeddings"].get<bool>();
    if (cfg.contains("hidden_act") && cfg["hidden_act"].is_string())
        spec.activation = parseActivation(cfg["hidden_act"], file, "hidden_act");
}

namespace {

nlohmann::json readJson(const fs::path& p) { return readJsonFile(p.string()); }

// Special ids index the embedding: one outside the vocabulary fails deep inside libtorch, or (an
// EOS that can never be sampled) makes every response run to max_new_tokens.
void checkIdInVocab(int64_t id, const std::string& key, const std::string& file, int64_t vocab)
{
    if (id < 0 || id >= vocab)
        throw Error(file, key, std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

void checkSpecialId(const nlohmann::json& j, const std::string& key, const std::string& file, int64_t vocab)
{
    if (j.contains(key) && j[key].is_number_integer()) checkIdInVocab(j[key].get<int64_t>(), key, file, vocab);
}

void addIds(const nlohmann::json& j, const std::string& key, std::vector<int64_t>& out, const std::string& file, int64_t vocab)
{
    if (!j.contains(key) || j[key].is_null()) return;
    auto add = [&](const nlohmann::json& v) {
        if (!v.is_number_integer()) throw Error(file, key, "must be an integer or a list of integers");
        const int64_t id = v.get<int64_t>();
        checkIdInVocab(id, key, file, vocab);
        if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    };
    if (j[key].is_array())
        for (const auto& v : j[key]) add(v);
    else
        add(j[key]);
}

// Transformers 5 writes RoPE as one `rope_parameters` object (rope_theta inside it) or, for models
// whose layer types differ (Gemma 3), one per layer type; 4.x wrote rope_theta, rope_scaling and
// rope_local_base_freq.  Rewritten to the 4.x keys so every family reads one form; a key the
// config also has in 4.x form wins (it is what 4.x-era loaders, and so the checkpoint's author, saw).
void normaliseRopeParameters(nlohmann::json& cfg, const std::string& file)
{
    if (!cfg.contains("rope_parameters") || cfg["rope_parameters"].is_null()) return;
    const nlohmann::json& rp = cfg["rope_parameters"];
    if (!rp.is_object()) throw Error(file, "rope_parameters", "must be an object or null");
    const bool perLayerType = rp.contains("full_attention") || rp.contains("sliding_attention");
    const nlohmann::json global = perLayerType ? rp.value("full_attention", nlohmann::json::object()) : rp;
    if (!global.is_object()) throw Error(file, "rope_parameters.full_attention", "must be an object");
    auto unset = [&](const char* k) { return !cfg.contains(k) || cfg[k].is_null(); };
    if (global.contains("rope_theta") && unset("rope_theta")) cfg["rope_theta"] = global["rope_theta"];
    if (unset("rope_scaling")) {
        nlohmann::json scaling = global;
        scaling.erase("rope_theta");
        if (jsonString(scaling, "rope_type", "default", file) != "default") cfg["rope_scaling"] = scaling;
    }
    if (perLayerType && rp.contains("sliding_attention")) {
        const nlohmann::json& local = rp["sliding_attention"];
        if (!local.is_object()) throw Error(file, "rope_parameters.sliding_attention", "must be an object");
        if (jsonString(local, "rope_type", "default", file) != "default")
            throw Error(file, "rope_parameters.sliding_attention.rope_type",
                        "'" + local["rope_type"].get<std::string>() + "' is not supported for sliding layers (default)");
        if (local.contains("rope_theta") && unset("rope_local_base_freq")) cfg["rope_local_base_freq"] = local["rope_theta"];
    }
}

} // namespace

LoadedConfig readLoadedConfig(const std::string& dir, bool forCausalLM)
{
    const fs::path cfgPath = fs::path(dir) / "config.json";
    if (!fs::exists(cfgPath)) throw Error(cfgPath.string(), "", "missing (not a Hugging Face model directory?)");
    const std::string file = cfgPath.string();
    nlohmann::json root = readJson(cfgPath);
    if (!root.is_object()) throw Error(file, "", "not a JSON object");

    LoadedConfig lc;
    std::string arch;
    if (root.contains("architectures") && root["architectures"].is_array() && !root["architectures"].empty()
        && root["architectures"][0].is_string())
        arch = root["architectures"][0].get<std::string>();
    std::string modelType = jsonString(root, "model_type", "", file);

    // Multimodal wrappers keep the text model's config under text_config (Gemma3-4B).
    nlohmann::json cfg = root;
    if (arch == "Gemma3ForConditionalGeneration" || modelType == "gemma3") {
        cfg = root.contains("text_config") && root["text_config"].is_object() ? root["text_config"] : nlohmann::json::object();
        if (!cfg.contains("model_type")) cfg["model_type"] = "gemma3_text";
        for (const char* k : {"tie_word_embeddings", "eos_token_id", "bos_token_id", "pad_token_id"})
            if (!cfg.contains(k) && root.contains(k)) cfg[k] = root[k];
        modelType = "gemma3_text";
    }
    if (arch.empty() && modelType.empty()) throw Error(file, "architectures", "missing (and no model_type)");

    for (const auto* f : allFamilies()) {
        if (forCausalLM) {
            if (std::find(f->architectures.begin(), f->architectures.end(), arch) != f->architectures.end()) lc.family = f;
        } else if (std::find(f->model_types.begin(), f->model_types.end(), modelType) != f->model_types.end()) {
            lc.family = f;
        }
    }
    if (!lc.family)
        throw UsageError(file, forCausalLM ? "architectures" : "model_type",
                         "'" + (forCausalLM ? arch : modelType) + "' is not supported; supported: " + supportedArchitectures()
                             + (forCausalLM ? "" : " (reward models: any head on these model types)"));

    lc.model.architecture = arch;
    lc.model.model_type = modelType;
    normaliseRopeParameters(cfg, file);
    lc.family->configure(cfg, file, lc.model, lc.spec);
    const ModelConfig& m = lc.model;
    if (m.num_kv_heads <= 0 || m.num_heads % m.num_kv_heads != 0)
        throw Error(file, "num_key_value_heads", "must divide num_attention_heads (" + std::to_string(m.num_heads) + ")");
    if (m.head_dim <= 0 || (lc.spec.rope.enabled && m.head_dim % 2 != 0))
        throw Error(file, "head_dim", "must be a positive even number");
    if (m.head_dim > kMaxWidth) throw Error(file, "head_dim", std::to_string(m.head_dim) + " is larger than any model has");

    // Special ids: config.json, then generation_config.json (which wins for EOS lists).
    addIds(cfg, "eos_token_id", lc.model.eos_ids, file, m.vocab_size);
    lc.model.bos_id = cfg.contains("bos_token_id") && cfg["bos_token_id"].is_number_integer() ? cfg["bos_token_id"].get<int64_t>() : -1;
    checkSpecialId(cfg, "bos_token_id", file, m.vocab_size);
    int64_t pad = cfg.contains("pad_token_id") && cfg["pad_token_id"].is_number_integer() ? cfg["pad_token_id"].get<int64_t>() : -1;
    const fs::path gen = fs::path(dir) / "generation_config.json";
    if (fs::exists(gen)) {
        nlohmann::json g = readJson(gen);
        if (!g.is_object()) throw Error(gen.string(), "", "not a JSON object");
        addIds(g, "eos_token_id", lc.model.eos_ids, gen.string(), m.vocab_size);
        checkSpecialId(g, "bos_token_id", gen.string(), m.vocab_size);
        if (lc.model.bos_id < 0 && g.contains("bos_token_id") && g["bos_token_id"].is_number_integer())
            lc.model.bos_id = g["bos_token_id"].get<int64_t>();
        if (pad < 0 && g.contains("pad_token_id") && g["pad_token_id"].is_number_integer()) pad = g["pad_token_id"].get<int64_t>();
    }
    // Pad must never be an EOS id: reward scoring finds the last real token by it.
    auto isEos = [&](int64_t id) {
        return std::find(lc.model.eos_ids.begin(), lc.model.eos_ids.end(), id) != lc.model.eos_ids.end();
    };
    if (pad < 0 || pad >= m.vocab_size || isEos(pad)) pad = -1;
    if (pad < 0 && lc.model.bos_id >= 0 && lc.model.bos_id < m.vocab_size && !isEos(lc.model.bos_id)) pad = lc.model.bos_id;
    for (int64_t id = 0; pad < 0 && id < m.vocab_size; ++id)
        if (!isEos(id)) pad = id;
    lc.model.pad_id = pad;
    lc.json = cfg;
    return lc;
}

} // namespace rudder
