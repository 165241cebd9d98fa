// The alignment methods' names, hyper-parameters and presets — torch-free, so the GUI can build
// its sliders and the CLI its --set keys from the same table the engine validates against.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/events.h"

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

// How `rudder-cli compare` (and the GUI's matched budgets) turn a budget of S complete responses
// per prompt into this method's config; see kBudgetRule in registry.cpp.
enum class BudgetKnob {
    None,        // one decode per prompt (ARGS): no budget knob, refused by compare
    Samples,     // n = S (BoN, WMV)
    Iterations,  // K = S / n, n kept (AISP)
    ChainSteps,  // steps = S / chains (on tokens/FLOPs 1 + 2·(S/chains − 1): a suffix is half a response) (QAlign)
};

// One method's descriptor: everything a front end, a plot or the budget matcher needs to know
// about it, so none of them tests method ids.  The torch side (its run function) is registered
// next to the dispatch in engine/methods/run_method.cpp.  Adding a method: engine/METHODS.md.
struct MethodInfo {
    std::string id;         // "bon", "aisp", "aisp-batched", "qalign", "wmv", "args"
    std::string title;      // "Best-of-n"
    std::string shortTitle; // tab label ("BoN"); the title when empty
    std::vector<ParamSpec> params;
    std::vector<Preset> presets;
    // Settings that are text, not numbers (no slider): QAlign's and WMV's answer_regex,
    // RE-Control's value_model (a file).  validateConfig keeps them as strings.
    std::vector<std::string> textParams;

    // Reward temperature: the config key of its nominal value and the event stats key of the
    // absolute value actually used (scale-free settings are relative).  `temperatureInverse`:
    // the key holds a weight w and the temperature is 1/w (ARGS).  Empty: none (BoN).
    std::string temperatureKey, temperatureStatsKey;
    bool temperatureInverse = false;

    bool hasAcceptance = false;   // events carry MCMC accept flags (QAlign)
    bool hasWeights = false;      // samples carry importance weights (AISP, WMV)
    bool drawsFromBase = false;   // every sample is an independent draw from the base model (BoN):
                                  // its own best-so-far is the best-of-n reference curve
    // Which of a run's samples are genuine draws of the base model, for the analyses of the base
    // distribution (BoN-on-the-same-samples, β(n), the base reward histogram): every sample (BoN,
    // WMV), the pilot of step 0 (QAlign: event stats "pilot_rewards", else its chain starts), only
    // such a pilot (AISP with base_samples > 0; its own samples are greedy decodes of perturbed
    // pre-logits), or none (ARGS, RE-Control steer every token).
    enum class BaseSamples { None, Every, Pilot, PilotOnly };
    BaseSamples baseSamples = BaseSamples::None;
    bool needsPrelogits = false;  // perturbs or reads the final hidden states (AISP)
    bool needsValueModel = false; // needs a trained value function, config["value_model"] (RE-Control);
                                  // Workbench::prepareValueModel trains or finds one
    bool needsLogits = false;     // reads next-token distributions (ARGS: the top-k log-probabilities,
                                  // which a serving engine gives through CompletionBackend::nextTokens)
    // Needs the model in this process; the others take everything from the completion backend
    // (rudder/completion.h), local or a serving engine.
    bool needsLocalModel() const { return needsPrelogits; }

    BudgetKnob budgetKnob = BudgetKnob::None;
    // Complete responses one prompt costs under a validated config (progress, budget matching).
    std::function<int64_t(const nlohmann::json&)> samplesPerPrompt;
    // Sequences decoded side by side (benchmarks compare against plain decode at that width).
    std::function<int64_t(const nlohmann::json&)> batchWidth;
    // The GUI's "live" re-runs cap these keys to stay interactive.
    std::vector<std::pair<std::string, int64_t>> liveCaps;

    const std::string& tabTitle() const { return shortTitle.empty() ? title : shortTitle; }
};

const std::vector<MethodInfo>& allMethods();
// Throws rudder::UsageError naming the method and listing the known ones.
const MethodInfo& methodInfo(const std::string& id);
// nullptr for an unknown id (a stored run of a method this version lacks): plots degrade, not throw.
const MethodInfo* findMethod(const std::string& id);
nlohmann::json defaultConfig(const std::string& id);
// Complete responses one prompt costs under `config` (missing keys: the defaults), for progress
// estimates and budget matching: bon, wmv n; aisp n·K; qalign chains·steps plus the extra
// pilot samples of a scale-free β; args 1.
int64_t plannedSamplesPerPrompt(const std::string& id, const nlohmann::json& config);
// The extra pilot samples of QAlign's scale-free β (0 when absolute).
int64_t qalignPilotExtra(const nlohmann::json& config);

// Budget matching: the rule in words (compare's help) and the config that spends S complete
// responses per prompt on `axis` ("samples", "tokens", "flops"); flopsPerToken is the base model's
// 2·parameters plus the reward's per-token FLOPs.  Throws UsageError for a method without a knob
// or a matched config out of range.
extern const char* const kBudgetRule;
nlohmann::json matchBudget(const std::string& id, nlohmann::json config, const std::string& axis, double budget,
                           double flopsPerToken);
// What a comparison or sweep runs: matchBudget's config for a method with a budget knob; for one
// without (ARGS, RE-Control: one decode per prompt) its own validated config, at its own cost.
nlohmann::json budgetedConfig(const std::string& id, const nlohmann::json& config, const std::string& axis, double budget,
                              double flopsPerToken);
// The method a comparison measures the others against: the first one that draws from the base
// model (best-of-n; the last such, as compare always did), else the last method.
size_t referenceMethod(const std::vector<std::string>& ids);
// The absolute reward temperature a run used: the last event's stats, else the config (1/w for an
// inverse key); nullopt for a method without one.
std::optional<double> usedTemperature(const std::string& id, const nlohmann::json& config,
                                      const std::vector<IterationEvent>& events);

// A config read back from a session for resuming: fills what older versions did not record
// ("scale": runs from before scale-free units were absolute).
nlohmann::json storedConfig(const std::string& id, nlohmann::json config);
// Fills defaults; throws UsageError naming the key for unknown keys, non-numbers, out-of-range.
nlohmann::json validateConfig(const std::string& id, const nlohmann::json& config);

} // namespace rudder
