// Curves a run is read through: best-of-k from one pool of rewards, reward over the compute axes
// (samples, tokens, FLOPs, seconds) from the event stream, and QAlign's acceptance rate.
#include <algorithm>
#include <cmath>
#include <limits>

#include "rudder/analysis.h"
#include "rudder/error.h"

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

bool keep(const IterationEvent& e, const Sample& s, int promptIndex)
{
    if (promptIndex < 0) return true;
    return e.prompt_index >= 0 ? e.prompt_index == promptIndex : s.prompt_index == promptIndex;
}

} // namespace

RunCurves runCurves(const std::vector<IterationEvent>& events, Axis axis, int promptIndex)
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    constexpr double ninf = -std::numeric_limits<double>::infinity();
    RunCurves c;
    c.axis = axis;
    bool anyGold = false;
    double bestSoFar = ninf, goldBestSoFar = ninf, goldOfSelected = nan;
    for (const auto& e : events) {
        double sum = 0.0, best = ninf, gsum = 0.0, gbest = ninf;
        int cnt = 0, gcnt = 0;
        for (const auto& s : e.samples) {
            if (!keep(e, s, promptIndex)) continue;
            ++cnt;
            sum += s.reward;
            best = std::max(best, s.reward);
            if (s.reward > bestSoFar) {
                bestSoFar = s.reward;
                goldOfSelected = s.gold_reward ? *s.gold_reward : nan;
            }
            if (s.gold_reward) {
                ++gcnt;
                gsum += *s.gold_reward;
                gbest = std::max(gbest, *s.gold_reward);
                goldBestSoFar = std::max(goldBestSoFar, *s.gold_reward);
            }
        }
        if (cnt == 0) continue;
        anyGold |= gcnt > 0;
        c.x.push_back(axisValue(e, axis));
        c.mean.push_back(sum / cnt);
        c.best.push_back(best);
        c.bestSoFar.push_back(bestSoFar);
        c.goldMean.push_back(gcnt ? gsum / gcnt : nan);
        c.goldBest.push_back(gcnt ? gbest : nan);
        c.goldBestSoFar.push_back(goldBestSoFar == ninf ? nan : goldBestSoFar);
        c.goldOfSelected.push_back(goldOfSelected);
    }
    if (!anyGold) {
        c.goldMean.clear();
        c.goldBest.clear();
        c.goldBestSoFar.clear();
        c.goldOfSelected.clear();
    }
    return c;
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

std::vector<double> runningAcceptance(const std::vector<bool>& accepted)
{
    std::vector<double> out(accepted.size());
    size_t a = 0;
    for (size_t i = 0; i < accepted.size(); ++i) {
        a += accepted[i];
        out[i] = double(a) / double(i + 1);
    }
    return out;
}

std::vector<double> windowedAcceptance(const std::vector<bool>& accepted, int window)
{
    if (window < 1) throw Error("windowedAcceptance", "window", "must be at least 1");
    std::vector<double> out(accepted.size());
    const size_t w = size_t(window);
    size_t a = 0;
    for (size_t i = 0; i < accepted.size(); ++i) {
        a += accepted[i];
        if (i >= w) a -= accepted[i - w];
        out[i] = double(a) / double(std::min(i + 1, w));
    }
    return out;
}

std::vector<bool> acceptanceFlags(const std::vector<IterationEvent>& events, int promptIndex)
{
    std::vector<bool> flags;
    for (const auto& e : events)
        for (const auto& s : e.samples)
            if (s.accepted && keep(e, s, promptIndex)) flags.push_back(*s.accepted);
    return flags;
}

} // namespace rudder::analysis
