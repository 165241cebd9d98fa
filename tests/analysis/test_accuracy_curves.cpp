// Accuracy against k (pass, majority, best-of, weighted majority) against brute force over every
// k-subset, and the random-subset estimate within its Monte Carlo error.
#include <QtTest>

#include <cmath>
#include <numeric>
#include <random>

#include "rudder/analysis.h"
#include "rudder/selection.h"

using namespace rudder;
using namespace rudder::analysis;

namespace {

// The four statistics for one prompt by enumerating every k-subset (indices ascending).
std::array<double, 4> brute(const GradedSamples& s, int k, const std::vector<double>& w)
{
    const int n = int(s.correct.size());
    std::array<double, 4> sum{0, 0, 0, 0};
    double count = 0;
    for (uint32_t mask = 0; mask < (1u << n); ++mask) {
        if (__builtin_popcount(mask) != k) continue;
        std::vector<int> idx;
        for (int i = 0; i < n; ++i)
            if (mask & (1u << i)) idx.push_back(i);
        bool any = false;
        int best = idx[0];
        std::vector<std::optional<std::string>> keys;
        std::vector<double> ws;
        for (int i : idx) {
            any = any || s.correct[i];
            if (s.rewards[i] > s.rewards[best]) best = i;
            keys.push_back(s.keys[i]);
            ws.push_back(w[i]);
        }
        const Vote m = majorityVote(keys), wm = majorityVote(keys, ws);
        sum[0] += any;
        sum[1] += m.index >= 0 && s.correct[idx[m.index]];
        sum[2] += s.correct[best];
        sum[3] += wm.index >= 0 && s.correct[idx[wm.index]];
        ++count;
    }
    for (double& x : sum) x /= count;
    return sum;
}

GradedSamples randomPrompt(std::mt19937_64& rng, int n)
{
    GradedSamples s;
    std::uniform_int_distribution<int> answer(0, 3);
    std::normal_distribution<double> noise(0, 1);
    for (int i = 0; i < n; ++i) {
        const int a = answer(rng);
        s.keys.push_back(a == 3 && i % 5 == 0 ? std::nullopt : std::optional<std::string>(std::to_string(a)));
        s.correct.push_back(a == 0 && s.keys.back());
        s.rewards.push_back(std::round(4 * (noise(rng) + (a == 0 ? 0.8 : 0.0))) / 4);   // ties occur
    }
    return s;
}

} // namespace

class TestAccuracyCurves : public QObject {
    Q_OBJECT
private slots:
    void exactAgainstEverySubset()
    {
        std::mt19937_64 rng(7);
        std::vector<GradedSamples> prompts;
        for (int p = 0; p < 5; ++p) prompts.push_back(randomPrompt(rng, 10));
        const double betaRel = 0.5;
        // C(10, k) <= 252 < 1000: every statistic is exact.
        const AccuracyCurves c = accuracyCurves(prompts, betaRel, 3, 1000);
        const std::vector<int> ks = {1, 2, 4, 8, 10};
        QCOMPARE(c.pass.size(), ks.size());
        for (size_t j = 0; j < ks.size(); ++j) {
            std::array<double, 4> mean{0, 0, 0, 0};
            for (const auto& s : prompts) {
                const auto w = importanceWeights(s.rewards, betaRel * rewardScale(s.rewards));
                const auto b = brute(s, ks[j], w);
                for (int t = 0; t < 4; ++t) mean[t] += b[t] / double(prompts.size());
            }
            QCOMPARE(c.pass[j].k, ks[j]);
            QVERIFY(std::fabs(c.pass[j].mean - mean[0]) < 1e-12);
            QVERIFY(std::fabs(c.majority[j].mean - mean[1]) < 1e-12);
            QVERIFY(std::fabs(c.bestOfN[j].mean - mean[2]) < 1e-12);
            QVERIFY(std::fabs(c.weightedMajority[j].mean - mean[3]) < 1e-12);
            QVERIFY(c.pass[j].se >= 0);
        }
        // k = 1: every statistic is the single-sample accuracy.
        QVERIFY(std::fabs(c.majority[0].mean - c.pass[0].mean) < 1e-12);
        QVERIFY(std::fabs(c.bestOfN[0].mean - c.pass[0].mean) < 1e-12);
    }

    void randomSubsetsWithinTheirError()
    {
        // n = 18, k = 8: C(18, 8) = 43758 > 1000 subsets, so majority is estimated; each
        // prompt's estimate has se <= 0.5/sqrt(1000) ~ 0.016, the mean over 4 prompts less: 0.05
        // is > 3 se.  Negative control: with the correct flags flipped the value moves far more.
        std::mt19937_64 rng(11);
        std::vector<GradedSamples> prompts;
        for (int p = 0; p < 4; ++p) prompts.push_back(randomPrompt(rng, 18));
        const AccuracyCurves c = accuracyCurves(prompts, 0.5, 5, 1000);
        double exact = 0;
        for (const auto& s : prompts) {
            // Exact majority@8 by enumeration of all 8-subsets (43758 each).
            std::vector<int> idx(8);
            std::iota(idx.begin(), idx.end(), 0);
            double hits = 0, count = 0;
            while (true) {
                std::vector<std::optional<std::string>> keys;
                for (int i : idx) keys.push_back(s.keys[i]);
                const Vote v = majorityVote(keys);
                hits += v.index >= 0 && s.correct[idx[v.index]];
                ++count;
                int j = 7;
                while (j >= 0 && idx[j] == 18 - 8 + j) --j;
                if (j < 0) break;
                ++idx[j];
                for (int t = j + 1; t < 8; ++t) idx[t] = idx[t - 1] + 1;
            }
            exact += hits / count / double(prompts.size());
        }
        const KPoint* m8 = nullptr;
        for (const auto& p : c.majority)
            if (p.k == 8) m8 = &p;
        QVERIFY(m8);
        QVERIFY2(std::fabs(m8->mean - exact) < 0.05, qPrintable(QString("%1 vs %2").arg(m8->mean).arg(exact)));
        auto flipped = prompts;
        for (auto& s : flipped)
            for (size_t i = 0; i < s.correct.size(); ++i) s.correct[i] = s.keys[i] && !s.correct[i];
        const AccuracyCurves f = accuracyCurves(flipped, 0.5, 5, 1000);
        for (const auto& p : f.majority)
            if (p.k == 8) QVERIFY(std::fabs(p.mean - exact) > 0.2);
        // One prompt: no standard error.
        QVERIFY(std::isnan(accuracyCurves({prompts[0]}, 0.5).pass[0].se));
    }
};

QTEST_GUILESS_MAIN(TestAccuracyCurves)
#include "test_accuracy_curves.moc"
