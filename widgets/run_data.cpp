#include "run_data.h"

#include "rudder/methods.h"

#include "rudder/session_db.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace rudder::widgets {

const char* axisTitle(XAxis a)
{
    switch (a) {
    case XAxis::Samples: return "samples";
    case XAxis::Tokens: return "generated tokens";
    case XAxis::Flops: return "FLOPs";
    case XAxis::Seconds: return "seconds";
    }
    return "";
}

double budgetOn(const Budget& b, XAxis a)
{
    switch (a) {
    case XAxis::Samples: return double(b.samples);
    case XAxis::Tokens: return double(b.tokens);
    case XAxis::Flops: return b.flops;
    case XAxis::Seconds: return b.seconds;
    }
    return 0;
}

void RunData::clear()
{
    meta_ = RunMeta{};
    events_.clear();
    flat_.clear();
    result_.reset();
}

void RunData::append(const IterationEvent& e)
{
    events_.push_back(e);
    const int ev = int(events_.size()) - 1;
    for (int s = 0; s < int(e.samples.size()); ++s) flat_.push_back({ev, s});
}

int RunData::promptCount() const
{
    int n = 0;
    for (const auto& r : flat_) n = std::max(n, sample(r).prompt_index + 1);
    return std::max(n, int(meta_.prompts.size()));
}

std::optional<SampleRef> RunData::finalSample(int promptIndex) const
{
    if (!result_) return std::nullopt;
    for (const auto& f : result_->final) {
        if (f.prompt_index != promptIndex) continue;
        // The last sample with the final text and reward is the one returned.
        for (auto it = flat_.rbegin(); it != flat_.rend(); ++it) {
            const Sample& s = sample(*it);
            if (s.prompt_index == promptIndex && s.text == f.text && std::abs(s.reward - f.reward) < 1e-9)
                return *it;
        }
    }
    return std::nullopt;
}

std::vector<double> RunData::rewards(int promptIndex, bool gold) const
{
    std::vector<double> out;
    out.reserve(flat_.size());
    for (const auto& r : flat_) {
        const Sample& s = sample(r);
        if (promptIndex >= 0 && s.prompt_index != promptIndex) continue;
        if (gold) {
            if (s.gold_reward) out.push_back(*s.gold_reward);
        } else {
            out.push_back(s.reward);
        }
    }
    return out;
}

bool RunData::hasTrainingCost() const
{
    for (const auto& e : events_)
        if (e.stats.contains("training") && e.stats["training"].is_object() && e.stats["training"].contains("budget")) return true;
    return false;
}

RewardCurves RunData::rewardCurves(XAxis axis, int promptIndex, bool withTraining) const
{
    // Only the events' budgets shift: a copy of them, not of the run.
    std::vector<IterationEvent> shifted;
    if (withTraining && hasTrainingCost()) {
        shifted = events_;
        for (auto& e : shifted)
            if (e.stats.contains("training") && e.stats["training"].contains("budget"))
                e.budget += e.stats["training"]["budget"].get<Budget>();
    }
    const analysis::Axis a = axis == XAxis::Samples  ? analysis::Axis::Samples
                             : axis == XAxis::Tokens ? analysis::Axis::Tokens
                             : axis == XAxis::Flops  ? analysis::Axis::Flops
                                                     : analysis::Axis::Seconds;
    const MethodInfo* info = findMethod(meta_.method);
    const bool isBon = info && info->drawsFromBase;   // its own best-so-far is the BoN curve
    return analysis::runCurves(shifted.empty() ? events_ : shifted, a, promptIndex, !isBon, meta_.method);
}

AcceptanceSeries RunData::acceptance(int window, int promptIndex) const
{
    return analysis::acceptanceSeries(events_, window, promptIndex);
}

Histogram histogram(const std::vector<double>& v, bool density, int maxBins)
{
    Histogram h;
    if (v.empty()) return h;
    const analysis::Histogram a = analysis::histogram(v, maxBins);
    h.lo = a.lo;
    h.width = a.width;
    double n = 0;
    for (int64_t c : a.counts) n += double(c);
    for (size_t b = 0; b < a.counts.size(); ++b) {
        h.centers.push_back(a.center(b));
        h.counts.push_back(density && n > 0 ? double(a.counts[b]) / (n * a.width) : double(a.counts[b]));
    }
    return h;
}

std::vector<std::string> objectiveNamesOf(const nlohmann::json& rewardIdentity)
{
    std::vector<std::string> names;
    if (rewardIdentity.is_object() && rewardIdentity.contains("objectives") && rewardIdentity["objectives"].is_array())
        for (const auto& n : rewardIdentity["objectives"])
            if (n.is_string()) names.push_back(n.get<std::string>());
    return names;
}

std::unique_ptr<RunData> runFromStore(const StoredRun& s)
{
    auto run = std::make_unique<RunData>();
    RunMeta m;
    m.runId = s.row.id;
    m.method = s.row.method;
    m.config = s.info.config;
    m.seed = s.info.seed;
    m.base = s.row.base_model;
    m.reward = s.row.reward_model;
    if (s.info.gold.is_object()) m.gold = s.info.gold.value("name", std::string());
    m.title = s.row.method + " #" + std::to_string(s.row.id);
    m.objectiveNames = objectiveNamesOf(s.info.reward_model);
    for (const auto& p : s.prompts) m.prompts.push_back(p.text);
    run->setMeta(m);
    for (const auto& e : s.iterations) run->append(e);
    RunResult r;
    r.status = s.row.status;
    r.message = s.row.message;
    r.final = s.final;
    r.budget = s.budget;
    r.summary = s.summary.is_null() ? nlohmann::json::object() : s.summary;
    run->setResult(r);
    return run;
}

} // namespace rudder::widgets
