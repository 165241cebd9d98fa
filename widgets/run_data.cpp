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

RewardCurves RunData::rewardCurves(XAxis axis, int promptIndex) const
{
    RewardCurves c;
    struct PerPrompt {
        double best = -std::numeric_limits<double>::infinity();
        double goldOfBest = std::numeric_limits<double>::quiet_NaN();
        SampleRef bestRef;
        int64_t seen = 0;
        std::vector<double> pool;   // first iteration's rewards: the base model's distribution
        int firstIteration = -1;
    };
    std::map<int, PerPrompt> pp;
    bool anyGold = false;
    const MethodInfo* info = findMethod(meta_.method);
    const bool isBon = info && info->drawsFromBase;   // its own best-so-far is the BoN curve
    for (int ev = 0; ev < int(events_.size()); ++ev) {
        const IterationEvent& e = events_[ev];
        double sum = 0, gsum = 0, best = -std::numeric_limits<double>::infinity();
        int n = 0, gn = 0;
        SampleRef bestRef{ev, 0};
        for (int si = 0; si < int(e.samples.size()); ++si) {
            const Sample& s = e.samples[si];
            if (promptIndex >= 0 && s.prompt_index != promptIndex) continue;
            ++n;
            sum += s.reward;
            if (s.gold_reward) { gsum += *s.gold_reward; ++gn; anyGold = true; }
            if (s.reward > best) { best = s.reward; bestRef = {ev, si}; }
            PerPrompt& p = pp[s.prompt_index];
            ++p.seen;
            if (p.firstIteration < 0) p.firstIteration = s.iteration;
            if (s.iteration == p.firstIteration) p.pool.push_back(s.reward);
            if (s.reward > p.best) {
                p.best = s.reward;
                p.bestRef = {ev, si};
                p.goldOfBest = s.gold_reward ? *s.gold_reward : std::numeric_limits<double>::quiet_NaN();
            }
        }
        if (n == 0) continue;
        c.x.push_back(budgetOn(e.budget, axis));
        c.mean.push_back(sum / n);
        c.best.push_back(best);
        c.bestRef.push_back(bestRef);
        c.goldMean.push_back(gn ? gsum / gn : std::numeric_limits<double>::quiet_NaN());
        // Several prompts: the average over prompts of each prompt's running best.
        double bsf = 0, gob = 0, bon = 0;
        for (auto& [k, p] : pp) {
            bsf += p.best;
            gob += p.goldOfBest;
            if (!isBon) bon += expectedBestOf(p.pool, double(p.seen));
        }
        const double np = double(pp.size());
        c.bestSoFar.push_back(bsf / np);
        c.goldOfBest.push_back(gob / np);
        if (!isBon) c.bon.push_back(bon / np);
        c.bestSoFarRef.push_back(pp[e.samples[bestRef.sample].prompt_index].bestRef);
    }
    if (!anyGold) {
        c.goldMean.clear();
        c.goldOfBest.clear();
    }
    return c;
}

AcceptanceSeries RunData::acceptance(int window, int promptIndex) const
{
    AcceptanceSeries a;
    window = std::max(window, 1);
    std::vector<int> recent;   // 1 accepted / 0 rejected, per proposal, last `window` steps
    std::vector<int> perStep;  // proposals per step, to drop whole steps from the window
    int64_t acc = 0, total = 0;
    std::vector<double> state;  // current reward of each chain
    for (const IterationEvent& e : events_) {
        int stepAcc = 0, stepN = 0;
        for (const Sample& s : e.samples) {
            if (promptIndex >= 0 && s.prompt_index != promptIndex) continue;
            const size_t chain = size_t(std::max(s.index, 0));
            if (state.size() <= chain) state.resize(chain + 1, std::numeric_limits<double>::quiet_NaN());
            // The initial state of a chain: no flag (sessions before the fix flagged step 0 as accepted).
            if (!s.accepted.has_value() || e.iteration == 0) {
                state[chain] = s.reward;
                continue;
            }
            ++stepN;
            if (*s.accepted) { ++stepAcc; state[chain] = s.reward; }
            recent.push_back(*s.accepted ? 1 : 0);
        }
        if (stepN == 0 && state.empty()) continue;
        acc += stepAcc;
        total += stepN;
        perStep.push_back(stepN);
        if (int(perStep.size()) > window) {
            recent.erase(recent.begin(), recent.begin() + perStep.front());
            perStep.erase(perStep.begin());
        }
        a.step.push_back(double(e.iteration));
        a.running.push_back(total ? double(acc) / double(total) : std::numeric_limits<double>::quiet_NaN());
        a.windowed.push_back(recent.empty() ? std::numeric_limits<double>::quiet_NaN()
                                            : std::accumulate(recent.begin(), recent.end(), 0.0) / recent.size());
        if (a.chainReward.size() < state.size()) a.chainReward.resize(state.size());
        for (size_t k = 0; k < state.size(); ++k) {
            auto& tr = a.chainReward[k];
            tr.resize(a.step.size() - 1, std::numeric_limits<double>::quiet_NaN());
            tr.push_back(state[k]);
        }
    }
    return a;
}

double effectiveSampleSize(const std::vector<double>& w)
{
    double s = 0, s2 = 0;
    for (double x : w) { s += x; s2 += x * x; }
    return s2 > 0 ? s * s / s2 : 0.0;
}

Histogram histogram(const std::vector<double>& v, bool density, int maxBins)
{
    Histogram h;
    if (v.empty()) return h;
    std::vector<double> s(v);
    std::sort(s.begin(), s.end());
    const double lo = s.front(), hi = s.back();
    auto q = [&](double p) {
        const double pos = p * (s.size() - 1);
        const size_t i = size_t(pos);
        const double f = pos - i;
        return i + 1 < s.size() ? s[i] * (1 - f) + s[i + 1] * f : s[i];
    };
    // Freedman–Diaconis: width = 2·IQR·n^(-1/3).
    double width = 2.0 * (q(0.75) - q(0.25)) / std::cbrt(double(s.size()));
    int bins = 1;
    if (hi > lo) {
        if (!(width > 0)) width = (hi - lo) / std::max(1.0, std::sqrt(double(s.size())));
        bins = std::clamp(int(std::ceil((hi - lo) / width)), 1, maxBins);
        width = (hi - lo) / bins;
    } else {
        width = std::max(std::abs(lo) * 0.1, 0.1);
    }
    h.lo = hi > lo ? lo : lo - width / 2;
    h.width = width;
    h.counts.assign(bins, 0.0);
    for (double x : s) {
        int b = int((x - h.lo) / width);
        h.counts[std::clamp(b, 0, bins - 1)] += 1;
    }
    for (int b = 0; b < bins; ++b) {
        h.centers.push_back(h.lo + (b + 0.5) * width);
        if (density) h.counts[b] /= (double(s.size()) * width);
    }
    return h;
}

double expectedBestOf(std::vector<double> pool, double n)
{
    if (pool.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(pool.begin(), pool.end());
    const double m = double(pool.size());
    // P(max = r_(i)) = (i/m)^n - ((i-1)/m)^n for draws with replacement.
    double e = 0, prev = 0;
    for (size_t i = 1; i <= pool.size(); ++i) {
        const double cur = std::pow(double(i) / m, n);
        e += pool[i - 1] * (cur - prev);
        prev = cur;
    }
    return e;
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
