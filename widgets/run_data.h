// RunData: every event of one run, kept on the GUI thread, and the series the plots draw from it.
// Plain C++ (no Qt, no torch) so plots, the sample table, CSV export and tests share one source.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rudder/analysis.h"
#include "rudder/events.h"

namespace rudder {
struct StoredRun;
}

namespace rudder::widgets {

enum class XAxis { Samples, Tokens, Flops, Seconds };
const char* axisTitle(XAxis a);

// The statistics are computed by rudder/analysis.h (one implementation for the plots, the
// figures and the tests); these are its types under the names the plots use.
using SampleRef = analysis::SampleAt;          // events()[event].samples[sample]
using RewardCurves = analysis::RunCurves;      // one point per iteration, x on the chosen axis
using AcceptanceSeries = analysis::AcceptanceSeries;

// A histogram as the plots draw it: bar centres and counts (a density when asked).
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
    std::vector<std::string> objectiveNames;   // the reward's components (ArmoRM), when named
    // Overlays with a group are drawn as their group's mean ± se (runGroupLabel), not one by one.
    std::string group;
};

// A run's events on the GUI thread, and the plots' series computed from them by rudder/analysis.h.
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
    // withTraining: x shifted by what training the method's model cost (RE-Control's value
    // model: the events' stats.training.budget), so trained and training-free methods share axes.
    RewardCurves rewardCurves(XAxis axis, int promptIndex = -1, bool withTraining = false) const;
    bool hasTrainingCost() const;   // some event carries stats.training.budget
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

// analysis::histogram's Freedman–Diaconis bins (at least 1, at most maxBins) as bars.
Histogram histogram(const std::vector<double>& v, bool density, int maxBins = 60);

// A run read back from a session (reopen, overlays, figures): meta, events and result.
std::unique_ptr<RunData> runFromStore(const StoredRun& s);
// The objective names a reward's recorded identity lists ({} when it has none).
std::vector<std::string> objectiveNamesOf(const nlohmann::json& rewardIdentity);

} // namespace rudder::widgets
