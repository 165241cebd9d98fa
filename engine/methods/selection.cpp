// Final-answer selection (QAlign §3.2: MBR with ROUGE-1, (weighted) majority vote), importance
// weights and the scale-free temperatures.  Curves and ESS live in rudder/analysis.h.
#include "rudder/selection.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unordered_map>

#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/grading.h"

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

RewardScale rewardScaleOf(const std::vector<double>& r)
{
    if (r.size() < 2) return {1.0, true};
    double m = 0;
    for (double x : r) m += x;
    m /= double(r.size());
    double v = 0;
    for (double x : r) v += (x - m) * (x - m);
    const double s = std::sqrt(v / double(r.size() - 1));
    // Rounding noise of equal rewards is no spread.
    if (!(s > 1e-9 * std::max(1.0, std::fabs(m)))) return {1.0, true};
    return {s, false};
}

double rewardScale(const std::vector<double>& r) { return rewardScaleOf(r).value; }

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

// A user's answer_regex, through PCRE2 with a match limit: a pattern that backtracks
// catastrophically ("((.)*)*Z") stops with a message instead of holding the run forever (libstdc++'s
// std::regex has no limit and recurses per character).
class AnswerRegex {
public:
    explicit AnswerRegex(const std::string& pattern) : pattern_(pattern)
    {
        int err = 0;
        PCRE2_SIZE off = 0;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &err, &off, nullptr);
        if (!code_) {
            PCRE2_UCHAR buf[256];
            pcre2_get_error_message(err, buf, sizeof buf);
            throw UsageError("answer_regex", pattern, "invalid regular expression at offset " + std::to_string(off) + ": " +
                                                          reinterpret_cast<char*>(buf));
        }
        md_ = pcre2_match_data_create_from_pattern(code_, nullptr);
        mc_ = pcre2_match_context_create(nullptr);
        pcre2_set_match_limit(mc_, 1000000);   // backtracking steps per match attempt
        pcre2_set_depth_limit(mc_, 10000);
    }
    ~AnswerRegex()
    {
        pcre2_match_context_free(mc_);
        pcre2_match_data_free(md_);
        pcre2_code_free(code_);
    }
    AnswerRegex(const AnswerRegex&) = delete;
    AnswerRegex& operator=(const AnswerRegex&) = delete;

    // The last match's first group (or the whole match).
    std::optional<std::string> last(const std::string& text) const
    {
        std::optional<std::string> out;
        const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
        for (size_t pos = 0; pos <= text.size();) {
            const int rc = pcre2_match(code_, subject, text.size(), pos, 0, md_, mc_);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0)
                throw UsageError("answer_regex", pattern_,
                                 rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT
                                     ? "too expensive on a response (it backtracks past PCRE2's match limit): simplify it"
                                     : "match failed (PCRE2 error " + std::to_string(rc) + ")");
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md_);
            const bool group = rc > 1 && ov[2] != PCRE2_UNSET;
            out = group ? text.substr(ov[2], ov[3] - ov[2]) : text.substr(ov[0], ov[1] - ov[0]);
            pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;   // step over an empty match
        }
        return out;
    }

private:
    std::string pattern_;
    pcre2_code* code_ = nullptr;
    pcre2_match_data* md_ = nullptr;
    pcre2_match_context* mc_ = nullptr;
};

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

void checkAnswerRegex(const std::string& pattern)
{
    if (!pattern.empty()) AnswerRegex check(pattern);
}

std::optional<std::string> extractAnswer(const std::string& text, const std::string& pattern)
{
    if (!pattern.empty()) return AnswerRegex(pattern).last(text);
    // What the response states (\boxed{}, "####", "the answer is"), else a final choice letter, else
    // the last number; keyed as the grader compares them, so "\frac12" and "0.5" vote together.
    if (auto stated = grading::statedAnswer(text)) return grading::voteKey(*stated);
    static const std::regex letter(R"((?:^|[^A-Za-z0-9])\(?([A-D])\)?[\s.\)]*$)");
    std::smatch m;
    const std::string tail = text.size() > 64 ? text.substr(text.size() - 64) : text;   // bounded regex work
    if (std::regex_search(tail, m, letter)) return m[1].str();
    if (auto n = grading::extractAnswer(text, grading::Format::Math)) return grading::voteKey(*n);
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
