// The alignment methods' names, hyper-parameters and presets — torch-free, so the GUI can build
// its sliders and the CLI its --set keys from the same table the engine validates against.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

struct ParamSpec {
    std::string key;        // config key, also the CLI's --set key
    std::string label;      // GUI label, with the paper's symbol ("σ (noise std)")
    double min = 0, max = 1, def = 0;
    bool integer = false;
    bool logScale = false;  // slider is logarithmic (ranges spanning decades: λ, β, σ)
    std::string help;
    std::string scaledLabel;  // GUI label while the method's "scale" parameter is 1 (empty: label)
};

struct Preset {
    std::string name;       // "Llama-3 & UltraRM (AISP Table 4)"
    nlohmann::json values;  // subset of the config
};

struct MethodInfo {
    std::string id;         // "bon", "aisp", "aisp-batched", "qalign", "wmv", "args"
    std::string title;      // "Best-of-n"
    std::vector<ParamSpec> params;
    std::vector<Preset> presets;
};

const std::vector<MethodInfo>& allMethods();
// Throws rudder::UsageError naming the method and listing the known ones.
const MethodInfo& methodInfo(const std::string& id);
nlohmann::json defaultConfig(const std::string& id);
// Fills defaults; throws UsageError naming the key for unknown keys, non-numbers, out-of-range.
// Complete responses one prompt costs under `config` (missing keys: the defaults), for progress
// estimates and budget matching: bon, wmv n; aisp n·K; qalign chains·(steps+1) plus the extra
// pilot samples of a scale-free β; args 1.
int64_t plannedSamplesPerPrompt(const std::string& id, const nlohmann::json& config);
// The extra pilot samples of QAlign's scale-free β (0 when absolute).
int64_t qalignPilotExtra(const nlohmann::json& config);

// A config read back from a session for resuming: fills what older versions did not record
// ("scale": runs from before scale-free units were absolute).
nlohmann::json storedConfig(const std::string& id, nlohmann::json config);
nlohmann::json validateConfig(const std::string& id, const nlohmann::json& config);

} // namespace rudder
