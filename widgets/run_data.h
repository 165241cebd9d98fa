// RunData: every event of one run, kept on the GUI thread, and the series the plots draw from it.
// Plain C++ (no Qt, no torch) so plots, the sample table, CSV export and tests share one source.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/events.h"

namespace rudder {
struct StoredRun;
}

namespace rudder::widgets {

enum class XAxis { Samples, Tokens, Flops, Seconds };
const char* axisTitle(XAxis a);

// Where one sample lives: events()[event].samples[sample].
struct SampleRef {
    int event = 0;
    int sample = 0;
    bool operator==(const SampleRef& o) const { return event == o.event && sample == o.sample; }
};

// One point per iteration (event), x on the chosen axis.
struct RewardCurves {
    std::vector<double> x;
    std::vector<double> mean, best, bestSoFar;   // proxy reward: mean@k, best@k, best-so-far
    std::vector<double> bon;                     // expected best-of-N for N = samples so far (empty when unknown)
    std::vector<double> goldMean, goldOfBest;    // gold reward: mean@k, gold of the proxy-best so far
    std::vector<SampleRef> bestRef;              // sample behind best@k
    std::vector<SampleRef> bestSoFarRef;
    bool hasGold() const { return !goldMean.empty(); }
};

struct AcceptanceSeries {
    std::vector<double> step, running, windowed;
    std::vector<std::vector<double>> chainReward;   // reward of each chain's current state, per step
};

struct Histogram {
    double lo = 0, width = 1;
    std::vector<double> centers, counts;   // counts normalised to a density when asked
};

struct RunMeta {
    int64_t runId = -1;            // in the open session, -1 when not stored
    std::string method;            // method id
    std::string title;             // legend label ("AISP #12")
    nlohmann::json config = nlohmann::json::object();
    uint64_t seed = 0;
    std::string base, reward, gold;
    std::vector<std::string> prompts;
};

class RunData {
public:
    void clear();
    void setMeta(const RunMeta& m) { meta_ = m; }
    const RunMeta& meta() const { return meta_; }
    RunMeta& meta() { return meta_; }

    void append(const IterationEvent& e);
    void setResult(const RunResult& r) { result_ = r; }
    const std::optional<RunResult>& result() const { return result_; }

    const std::vector<IterationEvent>& events() const { return events_; }
    const Sample& sample(SampleRef r) const { return events_[r.event].samples[r.sample]; }
    const std::vector<SampleRef>& samples() const { return flat_; }   // in arrival order
    size_t sampleCount() const { return flat_.size(); }
    bool empty() const { return events_.empty(); }

    // The sample the run returned for `promptIndex` (matched by text), if the run has finished.
    std::optional<SampleRef> finalSample(int promptIndex = 0) const;

    // Prompt filter: -1 = every event.  Curves use the events of that prompt only.
    RewardCurves rewardCurves(XAxis axis, int promptIndex = -1) const;
    AcceptanceSeries acceptance(int window, int promptIndex = -1) const;
    std::vector<double> rewards(int promptIndex = -1, bool gold = false) const;
    int promptCount() const;

private:
    RunMeta meta_;
    std::vector<IterationEvent> events_;
    std::vector<SampleRef> flat_;
    std::optional<RunResult> result_;
};

double budgetOn(const Budget& b, XAxis a);

// Kish effective sample size of normalised (or unnormalised) weights: (Σw)² / Σw².
double effectiveSampleSize(const std::vector<double>& w);
// Freedman–Diaconis bins over [min, max] (at least 1, at most maxBins).
Histogram histogram(const std::vector<double>& v, bool density, int maxBins = 60);
// E[max of N draws with replacement] from the empirical distribution of `pool` (order statistics).
double expectedBestOf(std::vector<double> pool, double n);

// A run read back from a session (reopen, overlays, figures): meta, events and result.
std::unique_ptr<RunData> runFromStore(const StoredRun& s);

} // namespace rudder::widgets
