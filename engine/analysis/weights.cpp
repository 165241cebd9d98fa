// Importance-weight diagnostics (AISP, importance sampling / WMV): effective sample size
// 1 / sum w^2, its fraction of n, the largest weight and the entropy of the normalised weights.
#include <algorithm>
#include <cmath>
#include <limits>

#include "rudder/analysis.h"

namespace rudder::analysis {

namespace {

WeightStats fromNormalised(const std::vector<double>& w)
{
    WeightStats s;
    s.n = int(w.size());
    double sq = 0.0, h = 0.0, mx = 0.0;
    for (double v : w) {
        sq += v * v;
        if (v > 0.0) h -= v * std::log(v);
        mx = std::max(mx, v);
    }
    s.ess = 1.0 / sq;
    s.essNormalized = s.ess / double(w.size());
    s.maxWeight = mx;
    s.entropy = std::max(0.0, h);
    s.entropyNormalized = w.size() > 1 ? s.entropy / std::log(double(w.size())) : 0.0;
    s.status = Status::Ok;
    return s;
}

} // namespace

WeightStats weightStats(const std::vector<double>& weights)
{
    WeightStats s;
    s.n = int(weights.size());
    if (weights.empty()) {
        s.status = Status::TooFewSamples;
        s.message = "no weights";
        return s;
    }
    double sum = 0.0;
    for (size_t i = 0; i < weights.size(); ++i) {
        if (!std::isfinite(weights[i])) {
            s.status = Status::NonFinite;
            s.message = "weight " + std::to_string(i + 1) + " is not a finite number";
            return s;
        }
        if (weights[i] < 0.0) {
            s.status = Status::Degenerate;
            s.message = "weight " + std::to_string(i + 1) + " is negative";
            return s;
        }
        sum += weights[i];
    }
    if (!(sum > 0.0) || !std::isfinite(sum)) {
        s.status = Status::Degenerate;
        s.message = sum > 0.0 ? "the weights overflow when summed" : "all weights are zero";
        return s;
    }
    std::vector<double> w(weights.size());
    for (size_t i = 0; i < w.size(); ++i) w[i] = weights[i] / sum;
    return fromNormalised(w);
}

WeightStats weightStatsFromLog(const std::vector<double>& logWeights)
{
    WeightStats s;
    s.n = int(logWeights.size());
    if (logWeights.empty()) {
        s.status = Status::TooFewSamples;
        s.message = "no weights";
        return s;
    }
    double m = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < logWeights.size(); ++i) {
        double v = logWeights[i];
        if (std::isnan(v) || v == std::numeric_limits<double>::infinity()) {
            s.status = Status::NonFinite;
            s.message = "log-weight " + std::to_string(i + 1) + " is NaN or +infinity";
            return s;
        }
        m = std::max(m, v);
    }
    if (m == -std::numeric_limits<double>::infinity()) {
        s.status = Status::Degenerate;
        s.message = "all weights are zero";
        return s;
    }
    std::vector<double> w(logWeights.size());
    double sum = 0.0;
    for (size_t i = 0; i < w.size(); ++i) sum += w[i] = std::exp(logWeights[i] - m);
    for (double& v : w) v /= sum;
    return fromNormalised(w);
}

} // namespace rudder::analysis
