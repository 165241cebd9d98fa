// Curves a run is read through — the one implementation the plots (RunData), the figures and the
// tests share: best-of-k from one pool of rewards, reward over the compute axes (samples, tokens,
// FLOPs, seconds) from the event stream, QAlign's acceptance rate, importance-weight ESS.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>

#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/methods.h"

namespace rudder::analysis {

// E[max_k] = sum_{i=k..n} r_(i) C(i-1, k-1) / C(n, k) over ascending r: r_(i) is the maximum of a
// k-subset exactly when the subset holds i and k-1 of the i-1 smaller ones.  The weights grow with
// i, so they are built downward from i = n by the ratio C(i-2,k-1)/C(i-1,k-1) = (i-k)/(i-1) and
// normalised by their computed sum (an exact convex combination: k = 1 gives the mean, k = n the
// maximum).  Terms below e^-50 of the largest are dropped, which makes the whole curve
// O(n log n)-ish instead of O(n^2) for large n.
std::vector<double> bestOfKCurve(const std::vector<double>& rewards)
{
    std::vector<double> r = rewards;
    std::sort(r.begin(), r.end());
    const size_t n = r.size();
    std::vector<double> out(n);
    constexpr double kNegligible = 1.9287498479639178e-22;   // e^-50
    for (size_t k = 1; k <= n; ++k) {
        double w = 1.0, sw = 0.0, swr = 0.0;
        for (size_t i = n; i >= k; --i) {   // 1-based order statistic index
            sw += w;
            swr += w * r[i - 1];
            if (i == k) break;
            w *= double(i - k) / double(i - 1);
            if (w < kNegligible) break;
        }
        out[k - 1] = swr / sw;
    }
    return out;
}

const char* toString(Axis a)
{
    switch (a) {
    case Axis::Iteration: return "iteration";
    case Axis::Samples: return "samples";
    case Axis::Tokens: return "tokens";
    case Axis::Flops: return "flops";
    case Axis::Seconds: return "seconds";
    }
    return "unknown";
}

Axis axisFromString(const std::string& s)
{
    for (Axis a : {Axis::Iteration, Axis::Samples, Axis::Tokens, Axis::Flops, Axis::Seconds})
        if (s == toString(a)) return a;
    throw UsageError("", "axis", "unknown axis '" + s + "' (iteration, samples, tokens, flops or seconds)");
}

namespace {

double axisValue(const IterationEvent& e, Axis a)
{
    switch (a) {
    case Axis::Iteration: return double(e.iteration + 1);
    case Axis::Samples: return double(e.budget.samples);
    case Axis::Tokens: return double(e.budget.tokens);
    case Axis::Flops: return e.budget.flops;
    case Axis::Seconds: return e.budget.seconds;
    }
    return 0.0;
}

// Every prompt's base-model rewards in one pass over the events (baseRewards, for one prompt).
std::map<int, std::vector<double>> baseRewardsByPrompt(const std::vector<IterationEvent>& events, const std::string& method)
{
    std::map<int, std::vector<double>> out;
    const MethodInfo* info = findMethod(method);
    if (!info || info->baseSamples == MethodInfo::BaseSamples::None) return out;
    for (const auto& e : events) {
        if (info->baseSamples != MethodInfo::BaseSamples::Every) {
            // A pilot is drawn at step 0: its rewards in the stats ("pilot_rewards"); without
            // them QAlign's chain starts are its base samples, AISP has none.
            if (e.iteration != 0) continue;
            if (e.stats.contains("pilot_rewards") && e.stats["pilot_rewards"].is_array() && e.prompt_index >= 0) {
                for (const auto& r : e.stats["pilot_rewards"])
                    if (r.is_number()) out[e.prompt_index].push_back(r.get<double>());
                continue;
            }
            if (info->baseSamples == MethodInfo::BaseSamples::PilotOnly) continue;
        }
        for (const auto& s : e.samples) out[s.prompt_index].push_back(s.reward);
    }
    return out;
}

bool keep(const IterationEvent& e, const Sample& s, int promptIndex)
{
    if (promptIndex < 0) return true;
    return e.prompt_index >= 0 ? e.prompt_index == promptIndex : s.prompt_index == promptIndex;
}

} // namespace

RunCurves runCurves(const std::vector<IterationEvent>& events, Axis axis, int promptIndex, bool bonReference,
                    const std::string& method)
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    constexpr double ninf = -std::numeric_limits<double>::infinity();
    struct PerPrompt {
        double best = ninf, goldOfBest = nan, goldBest = ninf;
        SampleAt bestRef;
        int64_t seen = 0;
    };
    std::map<int, PerPrompt> pp;
    RunCurves c;
    c.axis = axis;
    bool anyGold = false, anyBase = false;
    const auto pools = bonReference ? baseRewardsByPrompt(events, method) : std::map<int, std::vector<double>>{};
    const std::vector<double> none;
    for (int ev = 0; ev < int(events.size()); ++ev) {
        const IterationEvent& e = events[size_t(ev)];
        double sum = 0.0, best = ninf, gsum = 0.0, gbest = ninf;
        int cnt = 0, gcnt = 0;
        SampleAt bestRef{ev, 0};
        for (int si = 0; si < int(e.samples.size()); ++si) {
            const Sample& s = e.samples[size_t(si)];
            if (!keep(e, s, promptIndex)) continue;
            ++cnt;
            sum += s.reward;
            if (s.reward > best) { best = s.reward; bestRef = {ev, si}; }
            PerPrompt& p = pp[s.prompt_index];
            ++p.seen;
            if (s.reward > p.best) {
                p.best = s.reward;
                p.bestRef = {ev, si};
                p.goldOfBest = s.gold_reward ? *s.gold_reward : nan;
            }
            if (s.gold_reward) {
                ++gcnt;
                gsum += *s.gold_reward;
                gbest = std::max(gbest, *s.gold_reward);
                p.goldBest = std::max(p.goldBest, *s.gold_reward);
            }
        }
        if (cnt == 0) continue;
        anyGold |= gcnt > 0;
        c.x.push_back(axisValue(e, axis));
        c.mean.push_back(sum / cnt);
        c.best.push_back(best);
        c.bestRef.push_back(bestRef);
        c.goldMean.push_back(gcnt ? gsum / gcnt : nan);
        c.goldBest.push_back(gcnt ? gbest : nan);
        double bsf = 0.0, gos = 0.0, bon = 0.0, gbsf = 0.0;
        int withGold = 0;
        for (const auto& [k, p] : pp) {
            bsf += p.best;
            gos += p.goldOfBest;
            // E[max of N draws] from the prompt's base samples; with fewer than N of them the
            // estimate would be the pool's maximum, biased low: not shown (NaN).
            if (bonReference) {
                const auto it = pools.find(k);
                const std::vector<double>& pool = it == pools.end() ? none : it->second;
                bon += double(pool.size()) >= double(p.seen) ? expectedBestOfWithReplacement(pool, double(p.seen)) : nan;
            }
            if (p.goldBest > ninf) gbsf += p.goldBest, ++withGold;
        }
        const double np = double(pp.size());
        c.bestSoFar.push_back(bsf / np);
        c.goldOfSelected.push_back(gos / np);
        c.goldBestSoFar.push_back(withGold ? gbsf / withGold : nan);
        if (bonReference) {
            c.bon.push_back(bon / np);
            anyBase = anyBase || std::isfinite(c.bon.back());
        }
        c.bestSoFarRef.push_back(pp[e.samples[size_t(bestRef.sample)].prompt_index].bestRef);
    }
    if (!anyBase) c.bon.clear();   // no base-model samples at all: no reference to draw
    if (!anyGold) {
        c.goldMean.clear();
        c.goldBest.clear();
        c.goldBestSoFar.clear();
        c.goldOfSelected.clear();
    }
    return c;
}

std::vector<double> baseRewards(const std::vector<IterationEvent>& events, const std::string& method, int promptIndex)
{
    auto all = baseRewardsByPrompt(events, method);
    if (promptIndex >= 0) {
        const auto it = all.find(promptIndex);
        return it == all.end() ? std::vector<double>{} : std::move(it->second);
    }
    std::vector<double> out;
    for (const auto& [p, r] : all) out.insert(out.end(), r.begin(), r.end());
    return out;
}

double expectedBestOfWithReplacement(std::vector<double> pool, double n)
{
    if (pool.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(pool.begin(), pool.end());
    const double m = double(pool.size());
    double e = 0.0, prev = 0.0;
    for (size_t i = 1; i <= pool.size(); ++i) {
        const double cur = std::pow(double(i) / m, n);
        e += pool[i - 1] * (cur - prev);
        prev = cur;
    }
    return e;
}

double effectiveSampleSize(const std::vector<double>& w)
{
    double s = 0.0, s2 = 0.0;
    for (double x : w) s += x, s2 += x * x;
    return s2 > 0 ? s * s / s2 : 0.0;
}

std::vector<double> resampleStep(const std::vector<double>& x, const std::vector<double>& y,
                                 const std::vector<double>& grid)
{
    if (x.size() != y.size())
        throw Error("resampleStep", "", "x and y differ in length");
    std::vector<double> out(grid.size(), std::numeric_limits<double>::quiet_NaN());
    for (size_t g = 0; g < grid.size(); ++g) {
        // Last x <= grid[g]: upper_bound gives the first x > grid[g].
        auto it = std::upper_bound(x.begin(), x.end(), grid[g]);
        if (it != x.begin()) out[g] = y[size_t(it - x.begin()) - 1];
    }
    return out;
}

CurveBand bandOverCurves(const std::vector<std::pair<std::vector<double>, std::vector<double>>>& curves)
{
    CurveBand b;
    for (const auto& [x, y] : curves) b.x.insert(b.x.end(), x.begin(), x.end());
    std::sort(b.x.begin(), b.x.end());
    b.x.erase(std::unique(b.x.begin(), b.x.end()), b.x.end());
    std::vector<std::vector<double>> at;
    for (const auto& [x, y] : curves) at.push_back(resampleStep(x, y, b.x));
    for (size_t g = 0; g < b.x.size(); ++g) {
        double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
        int n = 0;
        for (const auto& v : at)
            if (std::isfinite(v[g])) {
                sum += v[g];
                lo = std::min(lo, v[g]);
                hi = std::max(hi, v[g]);
                ++n;
            }
        const double m = n ? sum / n : std::numeric_limits<double>::quiet_NaN();
        for (const auto& v : at)
            if (std::isfinite(v[g])) sq += (v[g] - m) * (v[g] - m);
        b.mean.push_back(m);
        b.se.push_back(n > 1 ? std::sqrt(sq / (n - 1) / n) : std::numeric_limits<double>::quiet_NaN());
        b.n.push_back(n);
        b.min.push_back(n ? lo : std::numeric_limits<double>::quiet_NaN());
        b.max.push_back(n ? hi : std::numeric_limits<double>::quiet_NaN());
    }
    return b;
}

AcceptanceSeries acceptanceSeries(const std::vector<IterationEvent>& events, int window, int promptIndex)
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    AcceptanceSeries a;
    window = std::max(window, 1);
    std::deque<int> recent;    // 1 accepted / 0 rejected, per proposal of the last `window` steps
    std::deque<int> perStep;   // proposals per step, to drop whole steps from the window
    int64_t acc = 0, total = 0, recentAcc = 0;
    std::vector<double> state;  // current reward of each chain
    for (const IterationEvent& e : events) {
        int stepAcc = 0, stepN = 0;
        for (const Sample& s : e.samples) {
            if (!keep(e, s, promptIndex)) continue;
            const size_t chain = size_t(std::max(s.index, 0));
            if (state.size() <= chain) state.resize(chain + 1, nan);
            // A chain's starting state: no flag (sessions written before the fix flagged step 0).
            if (!s.accepted.has_value() || e.iteration == 0) {
                state[chain] = s.reward;
                continue;
            }
            ++stepN;
            if (*s.accepted) { ++stepAcc; state[chain] = s.reward; }
            recent.push_back(*s.accepted ? 1 : 0);
            recentAcc += *s.accepted ? 1 : 0;
        }
        if (stepN == 0 && state.empty()) continue;
        acc += stepAcc;
        total += stepN;
        perStep.push_back(stepN);
        if (int(perStep.size()) > window) {
            for (int i = 0; i < perStep.front(); ++i) recentAcc -= recent.front(), recent.pop_front();
            perStep.pop_front();
        }
        a.step.push_back(double(e.iteration));
        a.running.push_back(total ? double(acc) / double(total) : nan);
        a.windowed.push_back(recent.empty() ? nan : double(recentAcc) / double(recent.size()));
        if (a.chainReward.size() < state.size()) a.chainReward.resize(state.size());
        for (size_t k = 0; k < state.size(); ++k) {
            auto& tr = a.chainReward[k];
            tr.resize(a.step.size() - 1, nan);
            tr.push_back(state[k]);
        }
    }
    return a;
}

} // namespace rudder::analysis
