// Statistics behind the plots a researcher reads to understand a run: the reward distribution as a
// two-component Gaussian mixture, the BoN-equivalent beta (QAlign, eq. 10 / Appendix A), importance
// weight diagnostics, histogram binning, text metrics, best-of-k curves and curves over the
// compute axes.  Torch-free and Qt-free: plain std::vector in, plain structs out.
//
// Degenerate input never yields NaN parameters: fits carry a Status and a message instead.
// The curve helpers use NaN for "no value at this x" (plots draw it as a gap); this is stated
// where it happens.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rudder/events.h"

namespace rudder::analysis {

enum class Status {
    Ok,
    TooFewSamples,   // n below what the statistic needs
    NonFinite,       // NaN or infinity in the input
    Degenerate,      // e.g. all values equal (zero variance), all weights zero
};
const char* toString(Status s);   // "ok", "too_few_samples", "non_finite", "degenerate"

// ---------------------------------------------------------------------------------------------
// Reward distribution: 1-D Gaussian mixtures (QAlign Appendix C)

struct Gaussian1Fit {
    bool ok = false;          // false when n < 2 or the variance is zero
    double mean = 0.0;
    double std = 0.0;         // maximum-likelihood (divides by n)
    double loglik = 0.0;
    double bic = 0.0;         // 2 ln n - 2 loglik (2 free parameters)
};

struct GmmFit {
    Status status = Status::Degenerate;
    std::string message;                      // empty when Ok
    int n = 0;
    // Components sorted by mean (index 0 = lower mean).  Meaningful only when status == Ok.
    std::array<double, 2> weights{{1.0, 0.0}};
    std::array<double, 2> means{{0.0, 0.0}};
    std::array<double, 2> stds{{0.0, 0.0}};
    double loglik = 0.0;
    double bic = 0.0;                         // 5 ln n - 2 loglik
    int iterations = 0;                       // EM iterations of the kept restart
    bool converged = false;
    // responsibilities[k][i] = posterior probability that sample i came from component k.
    std::array<std::vector<double>, 2> responsibilities;
    // The one-component fit beside it, and whether BIC prefers two components.
    Gaussian1Fit single;
    bool twoComponentsSupported = false;      // bic < single.bic
    // Dominant component (Appendix A.2): larger variance, larger mean on a tie.
    int dominant = 0;
};

struct GmmOptions {
    int restarts = 10;            // quantile split + (restarts-1) k-means++ seedings, 30 EM steps each
    int maxIterations = 1000;
    double tolerance = 1e-8;      // stop when the log-likelihood gains less than tolerance * n
    // Variance floor relative to the sample variance: stops a component collapsing onto a
    // single repeated value (identical responses give identical rewards).
    double varianceFloor = 1e-6;
    uint64_t seed = 1;
};

GmmFit fitGmm2(const std::vector<double>& x, const GmmOptions& options = {});
Gaussian1Fit fitGaussian1(const std::vector<double>& x);

// Density of a 1-D Gaussian mixture (for overlays on histograms).
double mixturePdf(const std::vector<double>& weights, const std::vector<double>& means,
                  const std::vector<double>& stds, double x);

// ---------------------------------------------------------------------------------------------
// BoN-equivalent beta (QAlign eq. 10, 17, 26)

// Extreme-value location/beta factor  c(n_d) = sqrt(2 ln n_d) - (ln ln n_d + ln 4 pi) / (2 sqrt(2 ln n_d)).
// Undefined (nullopt) when n_d <= e.
std::optional<double> evtFactor(double n_d);
// a_n = mu_d + sigma_d c(n_d)   (eq. 17): predicted location (mode) of BoN's maximum reward.
std::optional<double> bonLocation(double mu_d, double sigma_d, double n_d);
// beta(n) = sigma_d / c(n_d)    (eq. 10 = eq. 26).
std::optional<double> bonBeta(double sigma_d, double n_d);

struct BetaPoint {
    int n = 0;
    double n_d = 0.0;                 // w_d * n
    std::optional<double> beta;       // nullopt when n_d <= e
    std::optional<double> a_n;
};
// beta(n) for n = 2..nMax from the fitted mixture's dominant component.  Empty unless fit is Ok.
std::vector<BetaPoint> betaCurve(const GmmFit& fit, int nMax);

// What pi_beta predicts (eq. 22-23): means mu_i + sigma_i^2 / beta, re-weighted weights
// w_i C_i / sum_j w_j C_j with C_i = exp(mu_i / beta + sigma_i^2 / (2 beta^2)), same stds.
struct AlignedMixture {
    std::array<double, 2> weights{{1.0, 0.0}};
    std::array<double, 2> means{{0.0, 0.0}};
    std::array<double, 2> stds{{0.0, 0.0}};
};
AlignedMixture alignedMixture(const GmmFit& fit, double beta);   // throws rudder::Error if beta <= 0

// ---------------------------------------------------------------------------------------------
// Importance weights

struct WeightStats {
    Status status = Status::Degenerate;
    std::string message;
    int n = 0;
    double ess = 0.0;              // 1 / sum w^2 with w normalised to sum 1
    double essNormalized = 0.0;    // ess / n, in (0, 1]
    double maxWeight = 0.0;        // largest normalised weight
    double entropy = 0.0;          // -sum w ln w, nats
    double entropyNormalized = 0.0;// entropy / ln n (1 = uniform; 0 when n = 1)
};
// Weights need not be normalised; they must be finite and >= 0 with a positive sum.
WeightStats weightStats(const std::vector<double>& weights);
// Same from log-weights (normalised stably with log-sum-exp); -inf is a zero weight.
WeightStats weightStatsFromLog(const std::vector<double>& logWeights);

// ---------------------------------------------------------------------------------------------
// Histograms (shared by every histogram plot)

// Quantile with linear interpolation between order statistics (type 7, numpy's default).
double quantile(std::vector<double> x, double q);
// Freedman-Diaconis bin width 2 IQR n^(-1/3); 0 when the IQR is 0 or n < 2.
double freedmanDiaconisWidth(const std::vector<double>& x);

struct Histogram {
    Status status = Status::Degenerate;
    std::string message;
    double lo = 0.0;                 // left edge of bin 0
    double width = 1.0;
    std::vector<int64_t> counts;
    double edge(size_t i) const { return lo + width * double(i); }   // i = 0..counts.size()
    double center(size_t i) const { return lo + width * (double(i) + 0.5); }
};
// Freedman-Diaconis bins, at most maxBins (and at least 1).  When the IQR is 0 falls back to
// sqrt(n) bins over the range; when all values are equal one bin of width 1 centred on them.
// Non-finite values are skipped (and counted as NonFinite status only when nothing is left).
Histogram histogram(const std::vector<double>& x, int maxBins = 200);
// Same with fixed edges [lo, lo + bins*width); values outside are clamped into the end bins.
Histogram histogram(const std::vector<double>& x, double lo, double width, int bins);

// ---------------------------------------------------------------------------------------------
// Text metrics (AISP Appendix C.4, following ARGS / RE-Control)

// rep-n = 1 - unique n-grams / total n-grams over token ids; 0 when there is no n-gram.
double repetitionN(const std::vector<int32_t>& tokens, int n);
// diversity = prod_{n=2..4} (1 - rep-n).
double diversity(const std::vector<int32_t>& tokens);
// Cosine similarity; 0 when either vector is zero.  Throws rudder::Error on a size mismatch.
double cosineSimilarity(const std::vector<float>& a, const std::vector<float>& b);
double cosineSimilarity(const std::vector<double>& a, const std::vector<double>& b);

// ---------------------------------------------------------------------------------------------
// Best-of-k and compute-axis curves

// E[max of a uniformly random k-subset] for k = 1..n (element k-1):
// sum_i r_(i) C(i-1, k-1) / C(n, k) over sorted r, weights in log space.
std::vector<double> bestOfKCurve(const std::vector<double>& rewards);

enum class Axis { Iteration, Samples, Tokens, Flops, Seconds };
const char* toString(Axis a);            // "iteration", "samples", "tokens", "flops", "seconds"
Axis axisFromString(const std::string& s);   // throws rudder::UsageError on unknown text

// Where one sample lives in an event stream: events[event].samples[sample].
struct SampleAt {
    int event = 0;
    int sample = 0;
    bool operator==(const SampleAt& o) const { return event == o.event && sample == o.sample; }
};

// One point per event that has samples of the chosen prompt(s), in stream order.  x = the budget
// spent at the end of that iteration on the chosen axis (Iteration: iteration + 1).
//
// Over several prompts every "so far" curve is the mean over the prompts seen so far of each
// prompt's own value — rewards of different prompts are not comparable, so one running maximum
// across prompts would mean nothing.  The gold* vectors are empty when no sample carries a gold
// reward; an iteration without gold rewards has NaN in goldMean/goldBest (a gap).
struct RunCurves {
    Axis axis = Axis::Samples;
    std::vector<double> x;
    std::vector<double> mean;            // mean proxy reward of the iteration's samples (mean@k)
    std::vector<double> best;            // best proxy reward in the iteration (best@k)
    std::vector<double> bestSoFar;       // per-prompt best proxy reward so far, averaged
    // Reference: expected best-of-N with N = the prompt's samples so far, drawn with replacement
    // from its first iteration (the base model's distribution), averaged; empty when not asked.
    std::vector<double> bon;
    std::vector<double> goldMean;
    std::vector<double> goldBest;        // best gold reward in the iteration
    std::vector<double> goldBestSoFar;   // oracle: per-prompt best gold reward so far, averaged
    std::vector<double> goldOfSelected;  // gold of each prompt's proxy-best sample so far, averaged (NaN if one lacks it)
    std::vector<SampleAt> bestRef;       // the sample behind best
    std::vector<SampleAt> bestSoFarRef;  // the running best of the prompt of that sample
    bool hasGold() const { return !goldMean.empty(); }
};
// promptIndex >= 0 keeps only that prompt's samples (events with prompt_index -1 are batched:
// their samples are filtered by Sample::prompt_index).  Events left with no samples are skipped.
// bonReference: fill `bon` from the base-model samples of `method` (baseRewards); at a budget
// point it is NaN where a prompt has fewer base samples than samples spent (the estimate needs
// them), and `bon` stays empty when the run has none (AISP) or for best-of-n itself.
RunCurves runCurves(const std::vector<IterationEvent>& events, Axis axis, int promptIndex = -1,
                    bool bonReference = true, const std::string& method = "bon");
// The rewards of a run's genuine base-model samples for one prompt, or every prompt's (-1), in
// prompt order (MethodInfo::baseSamples): all of BoN's and WMV's, QAlign's pilot, AISP's
// base_samples, none for ARGS, RE-Control (or an unknown method).
std::vector<double> baseRewards(const std::vector<IterationEvent>& events, const std::string& method, int promptIndex);
// Value of the step function (x, y) at each grid point: y at the last x <= g; NaN before x[0].
// x must be non-decreasing.  Puts two methods' curves on the same axis.
std::vector<double> resampleStep(const std::vector<double>& x, const std::vector<double>& y,
                                 const std::vector<double>& grid);
// Several runs' step curves (x non-decreasing) on the union of their x: at each grid point the
// mean over the runs that have a value there, its standard error (NaN below two runs) and how
// many runs count.  A group of runs (one method, one sweep point, several seeds or prompts) drawn
// as mean ± se.
struct CurveBand {
    std::vector<double> x, mean, se, min, max;
    std::vector<int> n;
};
CurveBand bandOverCurves(const std::vector<std::pair<std::vector<double>, std::vector<double>>>& curves);
// E[max of n draws with replacement] from the empirical distribution of `pool`:
// P(max = r_(i)) = (i/m)^n − ((i−1)/m)^n over the m sorted values.  NaN for an empty pool.
double expectedBestOfWithReplacement(std::vector<double> pool, double n);

// QAlign's acceptance rate, one point per MCMC step (events with accept flags; a chain's starting
// state carries none): running = accepted / proposals so far; windowed = over the proposals of
// the last `window` steps (fewer at the start); chainReward[c] = reward of chain c's current
// state after each step (NaN before the chain appears).
struct AcceptanceSeries {
    std::vector<double> step, running, windowed;
    std::vector<std::vector<double>> chainReward;
};
AcceptanceSeries acceptanceSeries(const std::vector<IterationEvent>& events, int window, int promptIndex = -1);

// Kish effective sample size (Σw)² / Σw² of weights, normalised or not (1 / Σw² when they sum to
// 1); 0 when every weight is 0.
double effectiveSampleSize(const std::vector<double>& weights);

// ---- Accuracy against the number of samples (questions with a checkable answer) -------------
// One prompt's n graded samples: each one's vote key (nullopt: no answer stated), whether it is
// correct, and its reward (empty: no rewards).
struct GradedSamples {
    std::vector<std::optional<std::string>> keys;
    std::vector<bool> correct;
    std::vector<double> rewards;
};
struct KPoint {
    int k = 0;
    double mean = 0.0;
    double se = 0.0;   // over prompts; NaN for one prompt
};
// For k = 1, 2, 4, ..., n (n the smallest prompt's): the expectation over k-subsets of each
// prompt's samples, averaged over prompts, of
//   pass        — any of the k correct (exact: 1 − C(n−c, k)/C(n, k));
//   majority    — the majority answer of the k is correct (exact enumeration where C(n, k) ≤
//                 `subsets`, else `subsets` seeded random subsets);
//   best_of_n   — the highest-reward one of the k is correct (exact: order statistics; ties go to
//                 the earlier sample);
//   weighted_majority — the vote weighted by softmax(r/β), β = betaRelative × the prompt's reward
//                 std (WMV's scale-free β), as majority.
// best_of_n and weighted_majority are empty without rewards.
struct AccuracyCurves {
    std::vector<KPoint> pass, majority, bestOfN, weightedMajority;
};
AccuracyCurves accuracyCurves(const std::vector<GradedSamples>& prompts, double betaRelative, uint64_t seed = 1,
                              int subsets = 1000);

// The vote mass of each distinct final answer among one prompt's samples, as the run's vote sees
// them: chain states after `burnIn` for an MCMC run (a state counts once per step it is held; a
// rejected proposal repeats it), importance weights where the samples carry them and `weighted`,
// else one vote per sample.  Answers are grouped by grading::voteKey; `correct` is the samples'
// gold (≥ 0.5) when there is one.  Sorted by mass, largest first; shares sum to 1 over answers
// (samples with no answer are counted in `noAnswer`, not in the shares).
struct AnswerMass {
    std::string key, label;   // label: the answer as first written
    double share = 0.0;
    std::optional<bool> correct;
};
struct AnswerMasses {
    std::vector<AnswerMass> answers;
    double noAnswer = 0.0;    // share of the votes with no answer stated
    int votes = 0;            // states or samples counted
};
AnswerMasses answerMasses(const std::vector<IterationEvent>& events, int promptIndex, bool chains, bool weighted,
                          int burnIn = 0);

} // namespace rudder::analysis
