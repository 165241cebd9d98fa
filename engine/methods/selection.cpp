// Final-answer selection (QAlign §3.2: MBR with ROUGE-1, (weighted) majority vote), importance
// weights and the scale-free temperatures.  Curves and ESS live in rudder/analysis.h.
#include "rudder/selection.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <unordered_map>

#include "rudder/analysis.h"
#include "rudder/error.h"

namespace rudder {

std::vector<double> importanceWeights(const std::vector<double>& rewards, double beta)
{
    std::vector<double> w(rewards.size());
    if (rewards.empty()) return w;
    const double m = *std::max_element(rewards.begin(), rewards.end());
    double z = 0.0;
    for (size_t i = 0; i < w.size(); ++i) z += (w[i] = std::exp((rewards[i] - m) / beta));
    for (double& x : w) x /= z;
    return w;
}

double rewardScale(const std::vector<double>& r)
{
    if (r.size() < 2) return 1e-9 * (r.empty() ? 1.0 : std::max(1.0, std::fabs(r[0])));
    double m = 0;
    for (double x : r) m += x;
    m /= double(r.size());
    double v = 0;
    for (double x : r) v += (x - m) * (x - m);
    const double s = std::sqrt(v / double(r.size() - 1));
    return std::max(s, 1e-9 * std::max(1.0, std::fabs(m)));
}

std::optional<double> bonEquivalentN(double betaOverStd)
{
    if (!(betaOverStd > 0) || !std::isfinite(betaOverStd)) return std::nullopt;
    const double want = 1.0 / betaOverStd;
    // c(n) increases with n: bisect log n over [3, 1e15].
    double lo = std::log(3.0), hi = std::log(1e15);
    auto c = [](double logN) { return analysis::evtFactor(std::exp(logN)).value_or(0.0); };
    if (c(lo) > want || c(hi) < want) return std::nullopt;
    for (int it = 0; it < 100; ++it) {
        const double mid = 0.5 * (lo + hi);
        (c(mid) < want ? lo : hi) = mid;
    }
    return std::exp(0.5 * (lo + hi));
}

double rouge1F1(const std::vector<int32_t>& a, const std::vector<int32_t>& b)
{
    if (a.empty() && b.empty()) return 1.0;
    if (a.empty() || b.empty()) return 0.0;
    std::unordered_map<int32_t, int> ca;
    for (int32_t t : a) ++ca[t];
    int overlap = 0;
    for (int32_t t : b) {
        auto it = ca.find(t);
        if (it != ca.end() && it->second > 0) { --it->second; ++overlap; }
    }
    if (overlap == 0) return 0.0;
    const double p = double(overlap) / double(b.size()), r = double(overlap) / double(a.size());
    return 2 * p * r / (p + r);
}

int mbrSelect(const std::vector<std::vector<int32_t>>& c, const std::vector<double>& w)
{
    const size_t n = c.size();
    if (n == 0) return -1;
    // Symmetric utility: compute each pair once.
    std::vector<double> u(n * n, 0.0);
    for (size_t i = 0; i < n; ++i) {
        u[i * n + i] = rouge1F1(c[i], c[i]);
        for (size_t j = i + 1; j < n; ++j) u[i * n + j] = u[j * n + i] = rouge1F1(c[i], c[j]);
    }
    int best = 0;
    double bestScore = -1.0;
    for (size_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (size_t i = 0; i < n; ++i) s += (w.empty() ? 1.0 : w[i]) * u[j * n + i];
        if (s > bestScore) { bestScore = s; best = static_cast<int>(j); }
    }
    return best;
}

namespace {

std::string canonicalNumber(std::string s)
{
    s.erase(std::remove(s.begin(), s.end(), ','), s.end());
    try {
        size_t pos = 0;
        double v = std::stod(s, &pos);
        if (pos == s.size() && std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 1e15) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
            return buf;
        }
    } catch (...) {
    }
    return s;
}

std::optional<std::string> lastMatch(const std::string& text, const std::regex& re)
{
    std::optional<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        out = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
    }
    return out;
}

} // namespace

RepeatedMbr mbrSelectRepeated(const std::vector<const std::vector<int32_t>*>& pool)
{
    std::map<std::vector<int32_t>, int> slot;
    std::vector<std::vector<int32_t>> cands;
    std::vector<double> mult;
    std::vector<int> firstOf;
    for (size_t j = 0; j < pool.size(); ++j) {
        auto [it, fresh] = slot.emplace(*pool[j], static_cast<int>(cands.size()));
        if (fresh) { cands.push_back(*pool[j]); mult.push_back(0.0); firstOf.push_back(static_cast<int>(j)); }
        mult[it->second] += 1.0;
    }
    RepeatedMbr r;
    r.distinct = cands.size();
    if (!cands.empty()) r.index = firstOf[size_t(mbrSelect(cands, mult))];
    return r;
}

std::optional<std::string> extractAnswer(const std::string& text, const std::string& pattern)
{
    if (!pattern.empty()) {
        std::regex re;
        try {
            re = std::regex(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw UsageError("answer regex", pattern, std::string("invalid regular expression: ") + e.what());
        }
        return lastMatch(text, re);
    }
    static const std::regex boxed(R"(\\boxed\{([^{}]*)\})");
    if (auto b = lastMatch(text, boxed)) {
        // A boxed number is compared as a number.
        static const std::regex num(R"(^\s*-?[0-9][0-9,]*(\.[0-9]+)?\s*$)");
        if (std::regex_match(*b, num)) {
            std::string t = *b;
            t.erase(std::remove_if(t.begin(), t.end(), [](char ch) { return std::isspace((unsigned char)ch); }), t.end());
            return canonicalNumber(t);
        }
        return b;
    }
    static const std::regex letter(R"((?:^|[^A-Za-z0-9])\(?([A-D])\)?[\s.\)]*$)");
    std::smatch m;
    if (std::regex_search(text, m, letter)) return m[1].str();
    static const std::regex number(R"(-?[0-9][0-9,]*(?:\.[0-9]+)?)");
    if (auto n = lastMatch(text, number)) {
        std::string s = *n;
        while (!s.empty() && s.back() == ',') s.pop_back();
        return canonicalNumber(s);
    }
    return std::nullopt;
}

Vote majorityVote(const std::vector<std::optional<std::string>>& answers, const std::vector<double>& weights)
{
    std::map<std::string, double> mass;
    std::map<std::string, int> first;
    std::vector<std::string> order;
    double total = 0.0;
    for (size_t i = 0; i < answers.size(); ++i) {
        if (!answers[i]) continue;
        const double w = weights.empty() ? 1.0 : weights[i];
        if (!first.count(*answers[i])) { first[*answers[i]] = static_cast<int>(i); order.push_back(*answers[i]); }
        mass[*answers[i]] += w;
        total += w;
    }
    Vote v;
    double best = -1.0;
    for (const auto& a : order)
        if (mass[a] > best) { best = mass[a]; v.answer = a; v.index = first[a]; }
    v.mass = total > 0 ? best / total : 0.0;
    return v;
}

} // namespace rudder
