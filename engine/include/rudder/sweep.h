// Sweeps: a grid over one or two method parameters (and seeds), each point a normal run in the
// session tagged {"sweep": {...}}, compared with a reference method (best-of-n) at the same
// budget.  The grid syntax, the tags and the statistics live here, torch-free, so the CLI
// (`rudder-cli sweep`) and the GUI's sweep view read the same things the same way.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rudder {

struct SweepAxis {
    std::string key;                       // a method parameter ("sigma")
    std::vector<nlohmann::json> values;    // numbers (as typed: 2 stays an integer) or strings
};

// "sigma=0.5,1,2,4" (a list), "lambda=log:0.001:1:4" (4 values, log-spaced, ends included),
// "n=lin:8:32:4" (linear).  Throws UsageError naming the spec.
SweepAxis parseSweepAxis(const std::string& spec);
// Every combination of the axes' values, the first axis slowest: [{"sigma": 0.5, "lambda": 0.003}, ...].
std::vector<nlohmann::json> sweepPoints(const std::vector<SweepAxis>& axes);
// A point for display: "sigma=0.5 lambda=0.003", in the order of `keys` (else the params' own).
std::string sweepPointLabel(const nlohmann::json& params, const std::vector<std::string>& keys = {});

// The tag a sweep's run carries (RunInfo::tags["sweep"]): role "point" (params) or "reference".
nlohmann::json sweepTag(const std::string& name, const std::string& role, const std::string& method,
                        const nlohmann::json& params, uint64_t seed, const std::vector<std::string>& keys);

// The runs a sweep makes: for each seed the reference (when there is one) and every grid point,
// each config budget-matched (rudder/methods.h matchBudget) and tagged.  baseConfig and
// referenceConfig are the two methods' configs before the grid (the reference takes the swept
// method's max_new_tokens); a grid key the matched budget overrides (the budget's own knob) is refused.  Throws UsageError naming the point or key.
struct SweepJob {
    std::string method, role;              // role: "point" | "reference"
    nlohmann::json params, config, tags;
    uint64_t seed = 0;
};
struct SweepPlan {
    std::string name;
    std::vector<std::string> keys;
    std::vector<SweepJob> jobs;
};
struct SweepRequest {
    std::string method;
    nlohmann::json baseConfig = nlohmann::json::object();
    std::vector<SweepAxis> axes;
    std::string reference = "bon";         // "" = none
    nlohmann::json referenceConfig = nlohmann::json::object();
    std::string budgetAxis = "samples";
    double budget = 0;
    double flopsPerToken = 0;              // for the flops axis
    uint64_t firstSeed = 0;
    int seeds = 1;
    std::string name;                      // "" = defaultSweepName
};
SweepPlan planSweep(const SweepRequest& r);
// A matched-budget comparison of several methods as a sweep over "method": every method x seed
// with its own config at the same budget, and the reference (best-of-n) per seed, tagged like a
// sweep (params {"method": id}, keys {"method"}) so the Sweep view, the grouped overlays and
// `sweep --report-only` read it.  configs[i] is methods[i]'s config before the budget.
SweepPlan planComparison(const std::vector<std::string>& methods, const std::vector<nlohmann::json>& configs,
                         const std::string& reference, const nlohmann::json& referenceConfig, const std::string& budgetAxis,
                         double budget, double flopsPerToken, uint64_t firstSeed, int seeds, std::string name = "");
// "aisp sigma×lambda samples=256"
std::string defaultSweepName(const std::string& method, const std::vector<std::string>& keys, const std::string& axis,
                             double budget);

// Mean and standard error of the mean (se: NaN below two values).
struct MeanSe {
    double mean = 0, se = 0;
    size_t n = 0;
};
MeanSe meanSe(const std::vector<double>& v);
// a - b paired element by element (same prompt, same seed): mean ± se and z = mean / se.
struct PairedDiff {
    double mean = 0, se = 0, z = 0;
    size_t n = 0;
};
PairedDiff pairedDifference(const std::vector<double>& a, const std::vector<double>& b);

// One grid point (or the reference) pooled over prompts and seeds.  proxy/gold are the final
// answers' rewards in (seed, prompt) order; the differences pair them with the reference's.
struct SweepCell {
    nlohmann::json params;                 // {} for the reference
    std::vector<int64_t> runs;             // run ids, one per seed
    std::vector<double> proxy, gold;       // per (seed, prompt)
    MeanSe proxyStats, goldStats;
    std::optional<PairedDiff> proxyVsRef, goldVsRef;
    // Beyond the noise: the paired difference is more than `z` standard errors above zero.
    bool beatsReference(double z = 2.0) const { return proxyVsRef && proxyVsRef->n > 1 && proxyVsRef->z > z; }
};

// What a sweep's runs say, from the session: runs are given as (id, tags, per-prompt final proxy
// and gold rewards in prompt order, seed).  Points and reference are paired on (seed, prompt).
struct SweepRunData {
    int64_t id = 0;
    nlohmann::json tags;
    std::vector<double> proxy, gold;   // per prompt; gold empty without a gold reward
};
struct SweepSummary {
    std::string name, method, reference;
    std::vector<std::string> keys;
    std::vector<SweepCell> cells;          // in grid order
    std::optional<SweepCell> referenceCell;
};
SweepSummary summarizeSweep(const std::string& name, const std::vector<SweepRunData>& runs);
// The sweeps present in a list of run tags, in order of first appearance.
std::vector<std::string> sweepNames(const std::vector<nlohmann::json>& tags);

} // namespace rudder
