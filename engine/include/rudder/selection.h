// Final-answer selection and importance weights shared by the methods and the plots (curves,
// best-of-k and ESS: rudder/analysis.h).
// Torch-free: the GUI recomputes these from stored samples.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rudder {

// Self-normalised importance weights softmax(r/β) (max subtracted).
std::vector<double> importanceWeights(const std::vector<double>& rewards, double beta);

// Scale-free reward temperatures (README "Scale-free temperatures"): a temperature given "× reward
// std" is multiplied by the rewards' sample standard deviation.  A sample that shows no spread —
// fewer than two rewards, or all equal (a 0/1 verifier whose samples all agree) — has no scale to
// offer: the scale is then 1, so the temperature is read as an absolute one, and `fallback` is set
// for the event stats ("scale_fallback") to say so.  (It used to floor at 1e-9, which silently
// turned β and λ into ~0: a hill-climber instead of a sampler of π_β.)
struct RewardScale {
    double value = 1.0;
    bool fallback = false;
};
RewardScale rewardScaleOf(const std::vector<double>& rewards);
double rewardScale(const std::vector<double>& rewards);   // rewardScaleOf(rewards).value

// For rewards ~ N(μ, s²) the tilted target p·exp(r/β) has mean μ + s²/β, and best-of-n's maximum
// sits at μ + s·c(n) (QAlign eq. 10/17).  The n with c(n) = s/β, i.e. the best-of-n that a
// temperature of `betaOverStd` reward standard deviations matches; nullopt below n = 3, where
// the expansion means nothing.
std::optional<double> bonEquivalentN(double betaOverStd);

// ROUGE-1 F1 on token ids (clipped unigram overlap).  Two empty sequences score 1.
double rouge1F1(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Minimum Bayes risk: argmax_j Σ_i w_i·ROUGE-1(y_j, y_i) (w empty = uniform).  Ties: lowest index.
// Returns -1 for no candidates.
int mbrSelect(const std::vector<std::vector<int32_t>>& candidates, const std::vector<double>& weights = {});

// MBR over a pool with repeats (MCMC chain states): the same selection as mbrSelect over the
// pool, computed once per distinct response weighted by its multiplicity.  Returns the index in
// `pool` of the first copy of the chosen response (-1 for an empty pool) and the distinct count.
struct RepeatedMbr {
    int index = -1;
    size_t distinct = 0;
};
RepeatedMbr mbrSelectRepeated(const std::vector<const std::vector<int32_t>*>& pool);

// The answer in a response: with `pattern` (a PCRE2 regex, Perl syntax) the last match's first group (or whole
// match); by default what it states (the last \boxed{}, "####", "the answer is"), else a final letter
// A–D, else the last number, as the grader's vote key (rudder/grading.h: "\frac12" = "0.5" = "1/2",
// "1,024" = "1024").  nullopt when nothing matches.  Throws UsageError for a bad pattern.
std::optional<std::string> extractAnswer(const std::string& text, const std::string& pattern = {});
// Throws UsageError ("answer_regex", the pattern, why) for a pattern that does not compile.  PCRE2
// syntax; a match that backtracks past PCRE2's limit throws too, instead of hanging.
void checkAnswerRegex(const std::string& pattern);

struct Vote {
    std::string answer;      // winning answer ("" when no sample had one)
    int index = -1;          // first sample carrying it
    double mass = 0.0;       // its share of the total weight of samples with an answer
};
// (Weighted) majority vote over extracted answers; weights empty = unweighted.  Ties: first seen.
Vote majorityVote(const std::vector<std::optional<std::string>>& answers, const std::vector<double>& weights = {});

} // namespace rudder
