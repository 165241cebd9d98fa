// Accuracy against the number of samples per question (pass@k, majority@k, best-of-k, weighted
// majority@k): the curves of the QAlign paper's Figures 1-2 computed from a fixed pool of samples.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "rudder/analysis.h"
#include "rudder/grading.h"
#include "rudder/selection.h"
#include <map>

namespace rudder::analysis {

namespace {

double logChoose(int n, int k)
{
    if (k < 0 || k > n) return -INFINITY;
    return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

double passAt(const GradedSamples& s, int k)
{
    const int n = int(s.correct.size());
    const int c = int(std::count(s.correct.begin(), s.correct.end(), true));
    if (n - c < k) return 1.0;
    double none = 1.0;   // C(n−c, k)/C(n, k) as a product: exact where it matters (k = 1: c/n)
    for (int i = 0; i < k; ++i) none *= double(n - c - i) / double(n - i);
    return 1.0 - none;
}

double bestOfAt(const GradedSamples& s, int k)
{
    // Sample i is the subset's best when it is drawn and the other k−1 come from those ranked
    // below it (rank: reward descending, earlier index first among equals).
    const int n = int(s.rewards.size());
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s.rewards[a] > s.rewards[b]; });
    double p = 0.0;
    for (int r = 0; r < n; ++r) {
        const int below = n - 1 - r;
        if (below < k - 1) break;
        if (s.correct[order[r]]) p += std::exp(logChoose(below, k - 1) - logChoose(n, k));
    }
    return p;
}

// Whether the (weighted) vote over `subset` picks a correct answer; a subset without any answer
// counts wrong.
bool voteCorrect(const GradedSamples& s, const std::vector<int>& subset, const std::vector<double>* w)
{
    std::vector<std::optional<std::string>> keys;
    std::vector<double> weights;
    for (int i : subset) {
        keys.push_back(s.keys[i]);
        if (w) weights.push_back((*w)[i]);
    }
    const Vote v = majorityVote(keys, weights);
    return v.index >= 0 && s.correct[subset[size_t(v.index)]];
}

// E over k-subsets of voteCorrect: every subset when there are few, else `subsets` random ones.
double voteAt(const GradedSamples& s, int k, const std::vector<double>* w, int subsets, std::mt19937_64& rng)
{
    const int n = int(s.keys.size());
    if (logChoose(n, k) <= std::log(double(subsets)) + 1e-9) {
        std::vector<int> idx(k);
        std::iota(idx.begin(), idx.end(), 0);
        double hits = 0, count = 0;
        while (true) {
            hits += voteCorrect(s, idx, w);
            ++count;
            int j = k - 1;
            while (j >= 0 && idx[j] == n - k + j) --j;
            if (j < 0) break;
            ++idx[j];
            for (int t = j + 1; t < k; ++t) idx[t] = idx[t - 1] + 1;
        }
        return hits / count;
    }
    std::vector<int> pool(n);
    double hits = 0;
    for (int r = 0; r < subsets; ++r) {
        std::iota(pool.begin(), pool.end(), 0);
        for (int j = 0; j < k; ++j) std::swap(pool[j], pool[j + int(rng() % uint64_t(n - j))]);
        std::vector<int> subset(pool.begin(), pool.begin() + k);
        std::sort(subset.begin(), subset.end());   // ties go to the earlier sample, as in a run
        hits += voteCorrect(s, subset, w);
    }
    return hits / subsets;
}

KPoint summarise(int k, const std::vector<double>& perPrompt)
{
    KPoint p;
    p.k = k;
    const double n = double(perPrompt.size());
    for (double x : perPrompt) p.mean += x / n;
    if (perPrompt.size() < 2) {
        p.se = NAN;
        return p;
    }
    double v = 0;
    for (double x : perPrompt) v += (x - p.mean) * (x - p.mean);
    p.se = std::sqrt(v / (n - 1) / n);
    return p;
}

} // namespace

AccuracyCurves accuracyCurves(const std::vector<GradedSamples>& prompts, double betaRelative, uint64_t seed, int subsets)
{
    AccuracyCurves out;
    if (prompts.empty()) return out;
    int nMin = INT32_MAX;
    bool rewards = true;
    for (const auto& p : prompts) {
        nMin = std::min(nMin, int(p.correct.size()));
        rewards = rewards && p.rewards.size() == p.correct.size() && !p.rewards.empty();
    }
    if (nMin <= 0) return out;
    std::vector<int> ks;
    for (int k = 1; k < nMin; k *= 2) ks.push_back(k);
    ks.push_back(nMin);
    std::mt19937_64 rng(seed);
    std::vector<std::vector<double>> weights;
    if (rewards)
        for (const auto& p : prompts) weights.push_back(importanceWeights(p.rewards, betaRelative * rewardScale(p.rewards)));
    for (int k : ks) {
        std::vector<double> pass, maj, best, wmaj;
        for (size_t i = 0; i < prompts.size(); ++i) {
            const auto& p = prompts[i];
            pass.push_back(passAt(p, k));
            maj.push_back(voteAt(p, k, nullptr, subsets, rng));
            if (rewards) {
                best.push_back(bestOfAt(p, k));
                wmaj.push_back(voteAt(p, k, &weights[i], subsets, rng));
            }
        }
        out.pass.push_back(summarise(k, pass));
        out.majority.push_back(summarise(k, maj));
        if (rewards) {
            out.bestOfN.push_back(summarise(k, best));
            out.weightedMajority.push_back(summarise(k, wmaj));
        }
    }
    return out;
}

AnswerMasses answerMasses(const std::vector<IterationEvent>& events, int promptIndex, bool chains, bool weighted, int burnIn)
{
    struct Acc {
        std::string label;
        double mass = 0;
        std::optional<bool> correct;
    };
    std::map<std::string, Acc> acc;
    double none = 0, total = 0;
    AnswerMasses out;
    auto add = [&](const Sample& s, double w) {
        total += w;
        ++out.votes;
        const auto a = grading::extractAnswer(s.text, grading::Format::Math);
        if (!a) {
            none += w;
            return;
        }
        Acc& x = acc[grading::voteKey(*a)];
        if (x.label.empty()) x.label = *a;
        x.mass += w;
        if (s.gold_reward) x.correct = x.correct.value_or(false) || *s.gold_reward >= 0.5;
    };
    if (chains) {
        // One state per chain and step: the chain's start, then each accepted proposal; a rejected
        // proposal keeps the state, which counts again.
        std::map<int, const Sample*> state;
        for (const auto& e : events) {
            if (e.prompt_index != promptIndex) continue;
            for (const auto& s : e.samples) {
                if (s.prompt_index != promptIndex) continue;
                if (!s.accepted || *s.accepted) state[s.index] = &s;
                if (e.iteration >= burnIn && state.count(s.index)) add(*state[s.index], 1.0);
            }
        }
    } else {
        for (const auto& e : events)
            for (const auto& s : e.samples)
                if (s.prompt_index == promptIndex) add(s, weighted && s.weight ? *s.weight : 1.0);
    }
    const double answered = total - none;
    for (auto& [k, x] : acc) out.answers.push_back({k, x.label, answered > 0 ? x.mass / answered : 0.0, x.correct});
    std::stable_sort(out.answers.begin(), out.answers.end(), [](const AnswerMass& a, const AnswerMass& b) { return a.share > b.share; });
    out.noAnswer = total > 0 ? none / total : 0.0;
    return out;
}

} // namespace rudder::analysis
