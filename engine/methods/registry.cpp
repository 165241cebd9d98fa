// The methods' hyper-parameter table: one source for the GUI sliders, the CLI's --set keys and
// the engine's validation.  Presets are the papers' tables (README, References).
#include "rudder/methods.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rudder/error.h"
#include "rudder/selection.h"

namespace rudder {

namespace {

ParamSpec P(std::string key, std::string label, double min, double max, double def, bool integer,
            bool logScale, std::string help, std::string scaledLabel = {})
{
    return ParamSpec{std::move(key), std::move(label), min, max, def, integer, logScale, std::move(help),
                     std::move(scaledLabel)};
}

// The switch between scale-free and absolute temperatures (README "Scale-free temperatures"), shared by AISP, QAlign, WMV.
ParamSpec scaleParam(const std::string& what)
{
    return P("scale", "scale-free units", 0, 1, 1, true, false,
             "1 (default): " + what + " so one setting carries across models and reward models; "
             "0: absolute values, as the papers give them (their presets switch to 0).");
}

// Shared by every method that samples from the base model.
std::vector<ParamSpec> generationParams(double maxNewDefault = 48)
{
    return {
        P("max_new_tokens", "max new tokens", 1, 2048, maxNewDefault, true, true,
          "Longest response, in tokens (the AISP paper, App. C: 128)."),
    };
}

std::vector<ParamSpec> samplerParams()
{
    return {
        P("temperature", "temperature", 0.05, 2.0, 1.0, false, false, "Sampling temperature of the base model."),
        P("top_k", "top-k", 0, 1000, 0, true, false, "Keep the k most likely tokens (0 = off)."),
        P("top_p", "top-p (nucleus)", 0.05, 1.0, 1.0, false, false, "Nucleus sampling mass (1 = off)."),
    };
}

template <class... V>
std::vector<ParamSpec> concat(std::vector<ParamSpec> a, const V&... rest)
{
    (a.insert(a.end(), rest.begin(), rest.end()), ...);
    return a;
}

// AISP Table 4 (σ, λ, α): first block HH-RLHF, second block SHP.
Preset aispPreset(const std::string& name, double sigma, double lambda, double alpha)
{
    return Preset{name, {{"scale", 0}, {"sigma", sigma}, {"lambda", lambda}, {"alpha", alpha}, {"rho", 0}, {"n", 32},
                         {"iterations", 32}, {"max_new_tokens", 128}}};
}

// Scale-free defaults and ρ, chosen on resources/prompts/kjv-tune.jsonl (README, "Scale-free
// temperatures" and "AISP's noise").
constexpr double kAispSigma = 0.3, kAispLambda = 0.3, kAispRho = 0.7, kBeta = 0.5;

std::vector<MethodInfo> buildTable()
{
    std::vector<MethodInfo> t;

    MethodInfo bon{"bon", "Best-of-n", "BoN",
                 concat({P("n", "n (samples)", 1, 4096, 64, true, true, "Number of samples; the best by reward is returned."),
                         P("batch", "batch size", 1, 1024, 16, true, true,
                           "Samples generated per iteration (one event per batch).")},
                        generationParams(), samplerParams()),
                 {{"AISP paper §5.1: BoN n=1024, top-p (0.9 is Rudder's; the paper tuned it, value not given)", {{"n", 1024}, {"top_p", 0.9}, {"temperature", 1.0}, {"max_new_tokens", 128}}}}};
    bon.drawsFromBase = true;
    bon.baseSamples = MethodInfo::BaseSamples::Every;
    bon.budgetKnob = BudgetKnob::Samples;
    bon.samplesPerPrompt = [](const nlohmann::json& c) { return c["n"].get<int64_t>(); };
    bon.batchWidth = [](const nlohmann::json& c) { return std::min(c["n"].get<int64_t>(), c["batch"].get<int64_t>()); };
    bon.liveCaps = {{"n", 8}, {"batch", 8}};
    t.push_back(bon);

    std::vector<ParamSpec> aisp = {
        P("n", "n (samples / iteration)", 1, 512, 16, true, true, "Noise trajectories per iteration."),
        P("iterations", "K (iterations)", 1, 512, 8, true, true, "Adaptive importance sampling iterations."),
        scaleParam("σ in units of the pre-logits' RMS (measured on each prompt) and λ in units of the first "
                   "iteration's reward standard deviation (then fixed),"),
        P("sigma", "σ (noise std)", 0.01, 10.0, kAispSigma, false, true,
          "Std of the Gaussian perturbation on the pre-logits (scale-free: × the pre-logits' RMS).",
          "σ (× pre-logit RMS)"),
        P("lambda", "λ (temperature)", 1e-4, 1000.0, kAispLambda, false, true,
          "Reward temperature in the weights (eq. 19) (scale-free: × the std of the prompt's first-iteration rewards, "
          "then fixed).",
          "λ (× first-iteration reward std)"),
        P("adaptive_lambda", "λ re-estimated each iteration", 0, 1, 0, true, false,
          "Scale-free λ from each iteration's reward std instead of the first's (Rudder before 2026-12-08; every "
          "update then targets a different distribution, README \"AISP's λ\")."),
        P("alpha", "α (relaxation)", 0.0, 1.0, 0.9999, false, false, "MPPI relaxation of the KL term (eq. 19); α=1 drops it."),
        P("tau", "τ (control window, 0 = all)", 0, 2048, 0, true, false, "Perturbed positions from the response start; 0 = max new tokens."),
        P("base_samples", "base-model samples (for the analyses)", 0, 4096, 0, true, false,
          "Plain samples of the base model drawn per prompt at the first iteration, counted in the budget and "
          "not used by AISP itself: the BoN reference, β(n) and the base reward histogram read them (AISP's own "
          "samples are not the base model's)."),
        P("rho", "ρ (noise correlation in time)", 0.0, 0.99, kAispRho, false, false,
          "Correlation of the noise between positions of the window: one shared direction plus per-position "
          "noise, same σ (README, \"AISP's noise\").  0 = the paper's independent noise (Σ = σ²I)."),
    };
    std::vector<Preset> aispPresets = {
        Preset{"Rudder: scale-free defaults",
               {{"scale", 1}, {"sigma", kAispSigma}, {"lambda", kAispLambda}, {"alpha", 0.9999}, {"rho", kAispRho}}},
        aispPreset("Llama-3 & UltraRM, HH-RLHF (Table 4)", 0.5, 0.3, 0.9999),
        aispPreset("Llama-3 & Eurus, HH-RLHF (Table 4)", 0.5, 240, 0.999),
        aispPreset("Vicuna & UltraRM, HH-RLHF (Table 4)", 0.5, 0.3, 0.9999),
        aispPreset("Vicuna & Eurus, HH-RLHF (Table 4)", 0.7, 60, 0.999),
        aispPreset("Gemma3 & UltraRM, HH-RLHF (Table 4)", 0.5, 0.5, 0.999),
        aispPreset("Gemma3 & Eurus, HH-RLHF (Table 4)", 0.7, 480, 0.999),
        aispPreset("Llama-3 & UltraRM, SHP (Table 4)", 0.5, 0.3, 0.999),
        aispPreset("Llama-3 & Eurus, SHP (Table 4)", 0.7, 240, 0.999),
        aispPreset("Vicuna & UltraRM, SHP (Table 4)", 0.5, 0.1, 0.9999),
        aispPreset("Vicuna & Eurus, SHP (Table 4)", 0.7, 480, 0.99),
        aispPreset("Gemma3 & UltraRM, SHP (Table 4)", 0.7, 0.5, 0.999),
        aispPreset("Gemma3 & Eurus, SHP (Table 4)", 0.7, 60, 0.999),
    };
    MethodInfo a{"aisp", "AISP", "", concat(aisp, generationParams()), aispPresets};
    a.temperatureKey = a.temperatureStatsKey = "lambda";
    a.hasWeights = true;
    a.needsPrelogits = true;
    a.budgetKnob = BudgetKnob::Iterations;
    a.samplesPerPrompt = [](const nlohmann::json& c) {
        return c["n"].get<int64_t>() * c["iterations"].get<int64_t>() + c.value("base_samples", int64_t(0));
    };
    a.baseSamples = MethodInfo::BaseSamples::PilotOnly;
    a.batchWidth = [](const nlohmann::json& c) { return c["n"].get<int64_t>(); };
    a.liveCaps = {{"n", 8}, {"iterations", 4}};
    t.push_back(a);

    MethodInfo batched = a;
    batched.id = "aisp-batched";
    batched.title = "Batched AISP";
    batched.params.insert(batched.params.begin(),
                          P("prompts_per_batch", "P (prompts per batch)", 1, 64, 4, true, false,
                            "Prompts processed together, each with its own mean U and weights (§3.6)."));
    batched.batchWidth = [](const nlohmann::json& c) {
        return c["n"].get<int64_t>() * c["prompts_per_batch"].get<int64_t>();
    };
    batched.liveCaps.push_back({"prompts_per_batch", 2});
    t.push_back(batched);

    MethodInfo q{"qalign", "QAlign", "",
                 concat({P("chains", "chains", 1, 256, 4, true, true, "Independent MCMC chains per prompt, batched."),
                         P("steps", "T (steps)", 1, 4096, 64, true, true, "MCMC steps per chain."),
                         scaleParam("β in units of the base model's reward std for the prompt (measured on "
                                    "the pilot samples),"),
                         P("beta", "β (reward temperature)", 1e-3, 100.0, kBeta, false, true,
                           "Target p_LM(y|x)·exp(r/β); smaller β, fewer acceptances (scale-free: × the reward std; "
                           "0.5 ≈ the expected reward of best-of-40 for Gaussian rewards).",
                           "β (× reward std)"),
                         P("pilot", "pilot samples (scale-free β)", 1, 1024, 16, true, true,
                           "Base-model samples per prompt that measure the reward std; the chains' starting states "
                           "count among them, the rest are extra samples in the budget."),
                         P("temperature", "proposal temperature", 0.05, 2.0, 1.0, false, false,
                           "1 targets the model itself; other values target the tempered model."),
                         P("burn_in", "burn-in", 0, 4096, 8, true, false, "Steps dropped before the final selection."),
                         P("window", "acceptance window", 2, 1024, 16, true, true, "Window of the windowed acceptance rate."),
                         P("vote", "answer by vote (0 = MBR ROUGE-1)", 0, 1, 0, true, false,
                           "1: majority vote on the extracted answer (answer_regex; default last \\boxed{}, letter A-D, number); 0: MBR with ROUGE-1.")},
                        generationParams()),
                 {{"Rudder: scale-free default", {{"scale", 1}, {"beta", kBeta}, {"temperature", 1.0}}},
                  {"QAlign paper: β=1, temperature 1 (math)", {{"scale", 0}, {"beta", 1.0}, {"temperature", 1.0}}},
                  {"QAlign paper: β=0.5 (general alignment, Tülu-3 RM)", {{"scale", 0}, {"beta", 0.5}, {"temperature", 1.0}}}}};
    q.temperatureKey = q.temperatureStatsKey = "beta";
    q.textParams = {"answer_regex"};
    q.hasAcceptance = true;
    q.baseSamples = MethodInfo::BaseSamples::Pilot;
    q.budgetKnob = BudgetKnob::ChainSteps;
    q.samplesPerPrompt = [](const nlohmann::json& c) {
        // Step 0 samples each chain's starting state; steps 1..T−1 propose one suffix each.
        return c["chains"].get<int64_t>() * c["steps"].get<int64_t>() + qalignPilotExtra(c);
    };
    q.batchWidth = [](const nlohmann::json& c) { return c["chains"].get<int64_t>(); };
    q.liveCaps = {{"chains", 2}, {"steps", 16}};
    t.push_back(q);

    MethodInfo w{"wmv", "Importance sampling / WMV", "IS / WMV",
                 concat({P("n", "n (samples)", 1, 4096, 64, true, true, "Samples from the base model."),
                         P("batch", "batch size", 1, 1024, 16, true, true, "Samples per iteration."),
                         scaleParam("β in units of the standard deviation of the prompt's rewards"),
                         P("beta", "β (reward temperature)", 1e-3, 100.0, kBeta, false, true,
                           "Self-normalised weights softmax(r/β) (scale-free: × the reward std).", "β (× reward std)"),
                         P("weighted", "weighted (0 = plain MV/MBR)", 0, 1, 1, true, false,
                           "1: weighted vote / MBR; 0: unweighted majority vote / MBR."),
                         P("vote", "answer by vote (0 = MBR ROUGE-1)", 0, 1, 0, true, false,
                           "1: majority vote on the extracted answer (answer_regex; default last \\boxed{}, letter A-D, number); 0: MBR with ROUGE-1.")},
                        generationParams(), samplerParams()),
                 {{"Rudder: scale-free default", {{"scale", 1}, {"beta", kBeta}}},
                  {"QAlign paper: β=1 (absolute)", {{"scale", 0}, {"beta", 1.0}}}}};
    w.temperatureKey = w.temperatureStatsKey = "beta";
    w.textParams = {"answer_regex"};
    w.baseSamples = MethodInfo::BaseSamples::Every;
    w.hasWeights = true;
    w.budgetKnob = BudgetKnob::Samples;
    w.samplesPerPrompt = bon.samplesPerPrompt;
    w.batchWidth = bon.batchWidth;
    w.liveCaps = bon.liveCaps;
    t.push_back(w);

    MethodInfo g{"args", "ARGS", "",
                 concat({P("top_k", "k (candidate tokens)", 1, 256, 32, true, true,
                           "Top-k tokens scored with the reward at every step (the AISP paper's ARGS baseline, App. C.2: 32)."),
                         P("w", "w (reward weight)", 1e-5, 1000.0, 1.0, false, true, "score = logit + w·r(x, y<t ⊕ token)."),
                         P("temperature", "temperature (0 = greedy)", 0.0, 2.0, 0.0, false, false,
                           "0 picks the best score; >0 samples softmax(score/temperature).")},
                        generationParams()),
                 {}};
    g.temperatureKey = "w";
    g.temperatureInverse = true;   // score = logit + w·r: a temperature of 1/w on the reward
    g.needsLogits = true;
    g.samplesPerPrompt = [](const nlohmann::json&) { return int64_t(1); };   // one decode per prompt
    g.batchWidth = g.samplesPerPrompt;
    g.liveCaps = {{"top_k", 8}};
    t.push_back(g);
    // RE-Control (Kong et al. 2024): gradient ascent on a trained value function of the pre-logits.
    // The test-time defaults are their README's (lr 1.0, 30 steps); the value model's training
    // defaults are chosen for a few minutes on 2 cores (their code: Adam lr 1e-4, batch 512,
    // 100 epochs over 349k SHP prompts' rollouts).
    MethodInfo rc{"recontrol", "RE-Control", "",
                  concat({P("lr", "lr (ascent step on V)", 0.0, 20.0, 1.0, false, false,
                            "Step size of the gradient ascent z ← z + lr·∇V(z) at every controlled token (RE-Control "
                            "README: 1.0); 0 = the base model's greedy decode."),
                          P("steps", "steps (ascent iterations)", 0, 1000, 30, true, false,
                            "Gradient-ascent steps per token (RE-Control README: 30)."),
                          P("tau", "τ (control window, 0 = all)", 0, 2048, 0, true, false,
                            "Controlled positions from the response start; 0 = every token."),
                          P("train_samples", "M (training responses / prompt)", 2, 4096, 16, true, true,
                            "Base-model responses per training prompt whose pre-logits and rewards train V."),
                          P("train_epochs", "training epochs", 1, 10000, 40, true, true, "Passes of Adam over the rollouts."),
                          P("value_lr", "value lr (Adam)", 1e-6, 10.0, 1e-3, false, true,
                            "Adam's learning rate for V (RE-Control's code: 1e-4; the AISP paper tunes it in 1e-5…10)."),
                          P("value_hidden", "value width (0 = model's)", 0, 65536, 0, true, false,
                            "Width of V's hidden layers; 0 = the base model's hidden size (RE-Control: 4096 for 7–8B)."),
                          P("value_layers", "value hidden layers", 0, 8, 2, true, false,
                            "Hidden layers of V (RE-Control's training code and the AISP paper's three-layer MLP: 2; 0 = linear)."),
                          P("train_batch", "training batch (responses)", 1, 4096, 32, true, true,
                            "Responses per Adam step (RE-Control's code: 512).")},
                         generationParams()),
                  {{"RE-Control README: lr 1.0, 30 steps", {{"lr", 1.0}, {"steps", 30}, {"value_layers", 2}}},
                   {"RE-Control code: value lr 1e-4, batch 512, 100 epochs",
                    {{"value_lr", 1e-4}, {"train_batch", 512}, {"train_epochs", 100}, {"value_layers", 2}}},
                   {"AISP paper C.2: 128 tokens, three-layer MLP", {{"max_new_tokens", 128}, {"value_layers", 2}}}}};
    rc.needsPrelogits = true;
    rc.needsValueModel = true;
    rc.textParams = {"value_model"};
    rc.samplesPerPrompt = [](const nlohmann::json&) { return int64_t(1); };   // one greedy decode per prompt
    rc.batchWidth = rc.samplesPerPrompt;
    rc.liveCaps = {{"steps", 10}, {"train_epochs", 10}};
    t.push_back(rc);

    for (auto& m : t) m.liveCaps.push_back({"max_new_tokens", 24});
    return t;
}

} // namespace

const std::vector<MethodInfo>& allMethods()
{
    static const std::vector<MethodInfo> table = buildTable();
    return table;
}

const MethodInfo& methodInfo(const std::string& id)
{
    std::ostringstream known;
    for (const auto& m : allMethods()) {
        if (m.id == id) return m;
        known << (known.tellp() > 0 ? ", " : "") << m.id;
    }
    throw UsageError("method", id, "unknown method (known: " + known.str() + ")");
}

const MethodInfo* findMethod(const std::string& id)
{
    for (const auto& m : allMethods())
        if (m.id == id) return &m;
    return nullptr;
}

nlohmann::json defaultConfig(const std::string& id)
{
    nlohmann::json c = nlohmann::json::object();
    for (const auto& p : methodInfo(id).params) {
        if (p.integer) c[p.key] = static_cast<int64_t>(p.def);
        else c[p.key] = p.def;
    }
    return c;
}

int64_t qalignPilotExtra(const nlohmann::json& config)
{
    const nlohmann::json c = validateConfig("qalign", config);
    return c["scale"].get<int64_t>() ? std::max<int64_t>(0, c["pilot"].get<int64_t>() - c["chains"].get<int64_t>()) : 0;
}

int64_t plannedSamplesPerPrompt(const std::string& id, const nlohmann::json& config)
{
    return methodInfo(id).samplesPerPrompt(validateConfig(id, config));
}

const char* const kBudgetRule =
    "Budget matching (N = --budget, per prompt). On every axis N is first turned into S, a number of\n"
    "complete responses: samples: S = N; tokens: S = N / max_new_tokens (each response counted at its\n"
    "maximum length); flops: S = N / ((2 * LM parameters + RM FLOPs per token) * max_new_tokens).\n"
    "Then: bon, wmv: n = S.  aisp, aisp-batched: iterations K = S / n (n kept, e.g. --set aisp.n=32);\n"
    "AISP then decodes once more with the mean control (V = U), so it spends n * K + 1.\n"
    "qalign: step 0 samples one full response per chain and each later step proposes one suffix, so\n"
    "on the samples axis steps = S / chains; a suffix is half a response on average (QAlign §, QUEST),\n"
    "so on the tokens and flops axes steps = 1 + 2 * (S / chains - 1).  With a scale-free beta (scale = 1) the\n"
    "pilot's extra samples (pilot - chains) come off S first.  args has no budget knob and is refused.\n"
    "Values are rounded to the nearest integer (at least 1).";

nlohmann::json matchBudget(const std::string& id, nlohmann::json cfg, const std::string& axis, double budget,
                           double flopsPerToken)
{
    const MethodInfo& m = methodInfo(id);
    auto atLeast1 = [](double v) { return std::max<int64_t>(1, std::llround(v)); };
    cfg = validateConfig(id, cfg);
    const double L = double(cfg["max_new_tokens"].get<int64_t>());
    double S = budget;
    if (axis == "tokens") S = budget / L;
    else if (axis == "flops") S = budget / (flopsPerToken * L);
    switch (m.budgetKnob) {
    case BudgetKnob::Samples: cfg["n"] = atLeast1(S); break;
    case BudgetKnob::Iterations: cfg["iterations"] = atLeast1(S / cfg["n"].get<double>()); break;
    case BudgetKnob::ChainSteps: {
        // Step 0 is a full response per chain; each later step proposes one suffix, half a
        // response on average, so on tokens and FLOPs a step costs half a sample.
        const double perChain = (S - double(qalignPilotExtra(cfg))) / cfg["chains"].get<double>();
        cfg["steps"] = atLeast1(axis == "samples" ? perChain : 1 + 2 * (perChain - 1));
        break;
    }
    case BudgetKnob::None:
        throw UsageError("--methods", id,
                         "has no budget knob (one decode per prompt); run it on its own with `rudder-cli run`");
    }
    try {
        return validateConfig(id, cfg);
    } catch (const UsageError& e) {
        throw UsageError("--budget", id, std::string("the matched config is out of range: ") + e.what());
    }
}

nlohmann::json budgetedConfig(const std::string& id, const nlohmann::json& config, const std::string& axis, double budget,
                              double flopsPerToken)
{
    if (methodInfo(id).budgetKnob == BudgetKnob::None) return validateConfig(id, config);
    return matchBudget(id, config, axis, budget, flopsPerToken);
}

size_t referenceMethod(const std::vector<std::string>& ids)
{
    size_t ref = ids.empty() ? 0 : ids.size() - 1;
    for (size_t i = 0; i < ids.size(); ++i)
        if (methodInfo(ids[i]).drawsFromBase) ref = i;
    return ref;
}

std::optional<double> usedTemperature(const std::string& id, const nlohmann::json& config,
                                      const std::vector<IterationEvent>& events)
{
    const MethodInfo* info = findMethod(id);
    if (!info) return std::nullopt;
    const MethodInfo& m = *info;
    if (!m.temperatureStatsKey.empty())   // the last event's: WMV refines it with every batch
        for (auto e = events.rbegin(); e != events.rend(); ++e)
            if (e->stats.contains(m.temperatureStatsKey) && e->stats[m.temperatureStatsKey].is_number())
                return e->stats[m.temperatureStatsKey].get<double>();
    if (m.temperatureKey.empty() || !config.contains(m.temperatureKey) || !config[m.temperatureKey].is_number())
        return std::nullopt;
    const double v = config[m.temperatureKey].get<double>();
    if (!m.temperatureInverse) return v;
    if (v > 0) return 1.0 / v;
    return std::nullopt;
}

nlohmann::json storedConfig(const std::string& id, nlohmann::json config)
{
    // Runs recorded before scale-free units existed have no "scale" key; they were absolute.
    // Likewise AISP runs from before "rho" drew independent noise.
    if (config.is_object())
        for (const auto& p : methodInfo(id).params) {
            if (p.key == "scale" && !config.contains("scale")) config["scale"] = 0;
            if (p.key == "rho" && !config.contains("rho")) config["rho"] = 0;
            // ... and from before λ was fixed per prompt re-estimated it every iteration.
            if (p.key == "adaptive_lambda" && !config.contains("adaptive_lambda")) config["adaptive_lambda"] = 1;
        }
    return config;
}

nlohmann::json validateConfig(const std::string& id, const nlohmann::json& config)
{
    const MethodInfo& m = methodInfo(id);
    nlohmann::json out = defaultConfig(id);
    if (config.is_null()) return out;
    if (!config.is_object()) throw UsageError("config", id, "must be a JSON object");
    for (auto it = config.begin(); it != config.end(); ++it) {
        const ParamSpec* spec = nullptr;
        for (const auto& p : m.params)
            if (p.key == it.key()) spec = &p;
        if (std::find(m.textParams.begin(), m.textParams.end(), it.key()) != m.textParams.end()) {
            if (!it->is_string()) throw UsageError("config", it.key(), "must be a string");
            if (!it->get_ref<const std::string&>().empty()) out[it.key()] = *it;
            // A bad answer_regex is refused with the settings, even when vote is off (it was
            // accepted silently, then failed the first run that voted).
            if (it.key() == "answer_regex") checkAnswerRegex(it->get<std::string>());
            continue;
        }
        if (!spec) {
            std::string keys;
            for (const auto& p : m.params) keys += (keys.empty() ? "" : ", ") + p.key;
            for (const auto& k : m.textParams) keys += ", " + k;
            throw UsageError("config", it.key(), "not a parameter of " + id + " (parameters: " + keys + ")");
        }
        double v;
        if (it->is_number()) v = it->get<double>();
        else if (it->is_boolean()) {
            // true/false is a switch's value (vote); as a count, "n": true read as 1 silently.
            if (!(spec->integer && spec->min == 0 && spec->max == 1))
                throw UsageError("config", it.key(), std::string("must be a number, not ") + (it->get<bool>() ? "true" : "false"));
            v = it->get<bool>() ? 1 : 0;
        }
        else if (it->is_string()) {
            const std::string& s = it->get_ref<const std::string&>();
            size_t pos = 0;
            try { v = std::stod(s, &pos); } catch (...) { pos = 0; }
            if (pos == 0 || pos != s.size()) throw UsageError("config", it.key(), "'" + s + "' is not a number");
        } else {
            throw UsageError("config", it.key(), "must be a number");
        }
        if (!std::isfinite(v)) throw UsageError("config", it.key(), "must be finite");
        if (spec->integer && std::floor(v) != v)
            throw UsageError("config", it.key(), "must be an integer");
        if (v < spec->min || v > spec->max) {
            std::ostringstream r;
            r << v << " is outside [" << spec->min << ", " << spec->max << "]";
            throw UsageError("config", it.key(), r.str());
        }
        if (spec->integer) out[it.key()] = static_cast<int64_t>(v);
        else out[it.key()] = v;
    }
    return out;
}

} // namespace rudder
