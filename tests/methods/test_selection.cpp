// Final-answer selection on hand-made cases: IS weights, ROUGE-1, (weighted) MBR, (weighted)
// majority vote, answer extraction, and the best-of-k curve against brute-force subsets.
#include <QtTest>

#include <cmath>
#include <random>

#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/methods.h"
#include "rudder/selection.h"

using namespace rudder;

class TestSelection : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Rewards without spread (one reward, or a 0/1 verifier agreeing on every sample) give the
    // scale 1 and say so; before, a 1e-9 floor made every scale-free β and λ ~0 without a word.
    void rewardScaleFallsBackVisibly()
    {
        for (const std::vector<double>& flat : {std::vector<double>{1, 1, 1, 1}, std::vector<double>{0, 0, 0, 0, 0, 0, 0, 0},
                                                std::vector<double>{0.25}, std::vector<double>{}}) {
            const RewardScale s = rewardScaleOf(flat);
            QVERIFY(s.fallback);
            QCOMPARE(s.value, 1.0);
            QCOMPARE(rewardScale(flat), 1.0);
        }
        // Spread is measured as before: the sample std ({0, 1, 0, 1}: sqrt(1/3)).
        const RewardScale s = rewardScaleOf({0, 1, 0, 1});
        QVERIFY(!s.fallback);
        QVERIFY(std::fabs(s.value - std::sqrt(1.0 / 3.0)) < 1e-12);
        // A 0/1 pilot that all agrees: a β of 0.5 "× std" stays a temperature of 0.5, so the
        // weights of a later 0/1 pair are e^2 : 1, not one-hot.
        const auto w = importanceWeights({1.0, 0.0}, 0.5 * rewardScale({0, 0, 0, 0, 0, 0, 0, 0}));
        QVERIFY(std::fabs(w[0] - std::exp(2.0) / (1 + std::exp(2.0))) < 1e-12);
    }

    void importanceWeightsAreSoftmax()
    {
        auto w = importanceWeights({0.0, std::log(2.0)}, 1.0);
        QVERIFY(std::fabs(w[0] - 1.0 / 3) < 1e-12 && std::fabs(w[1] - 2.0 / 3) < 1e-12);
        // β scales the rewards: r/β with β = 0.5 squares the ratio.
        w = importanceWeights({0.0, std::log(2.0)}, 0.5);
        QVERIFY(std::fabs(w[0] - 1.0 / 5) < 1e-12 && std::fabs(w[1] - 4.0 / 5) < 1e-12);
        // Huge rewards do not overflow (max subtracted).
        w = importanceWeights({1000.0, 1000.0}, 1e-3);
        QVERIFY(std::fabs(w[0] - 0.5) < 1e-12);
        QVERIFY(std::fabs(analysis::effectiveSampleSize({0.5, 0.5}) - 2.0) < 1e-12);
        QVERIFY(std::fabs(analysis::effectiveSampleSize({1.0, 0.0}) - 1.0) < 1e-12);
    }

    void rouge1()
    {
        QVERIFY(std::fabs(rouge1F1({1, 2, 3}, {1, 2, 4, 4}) - 4.0 / 7) < 1e-12);
        QCOMPARE(rouge1F1({1, 2}, {3}), 0.0);
        QCOMPARE(rouge1F1({7, 7}, {7, 7}), 1.0);
        // Clipped counts: a repeated token matches once per occurrence.
        QVERIFY(std::fabs(rouge1F1({5, 5, 5}, {5}) - 0.5) < 1e-12);   // p = 1, r = 1/3
    }

    void mbr()
    {
        std::vector<std::vector<int32_t>> c = {{1, 2, 3}, {1, 2, 4}, {5, 6, 7}};
        QCOMPARE(mbrSelect(c), 0);                       // 0 and 1 tie at 1 + 2/3; lowest index
        QCOMPARE(mbrSelect(c, {0.1, 0.2, 0.7}), 2);      // 0.7 > 0.2667 > 0.2333
        QCOMPARE(mbrSelect(c, {0.3, 0.4, 0.3}), 1);      // 0.6 > 0.5667 > 0.3
        QCOMPARE(mbrSelect({}), -1);
    }

    // A pool with repeats (chain states): the same pick as plain MBR over the whole pool.
    void mbrOverRepeats()
    {
        const std::vector<std::vector<int32_t>> pool = {{1, 2}, {3, 4}, {1, 2}, {3, 4, 5}, {3, 4}, {3, 4}, {9}};
        std::vector<const std::vector<int32_t>*> ptrs;
        for (const auto& p : pool) ptrs.push_back(&p);
        const RepeatedMbr r = mbrSelectRepeated(ptrs);
        QCOMPARE(r.distinct, size_t(4));
        QCOMPARE(pool[size_t(r.index)], pool[size_t(mbrSelect(pool))]);
        QCOMPARE(r.index, 1);   // {3, 4} three times wins; its first copy is at 1
        QCOMPARE(mbrSelectRepeated({}).index, -1);
    }

    void majority()
    {
        std::vector<std::optional<std::string>> a = {"3", "4", "3", std::nullopt, "4", "4"};
        Vote v = majorityVote(a);
        QCOMPARE(v.answer, std::string("4"));
        QCOMPARE(v.index, 1);
        QVERIFY(std::fabs(v.mass - 0.6) < 1e-12);
        v = majorityVote(a, {0.5, 0.1, 0.3, 0.9, 0.05, 0.05});
        QCOMPARE(v.answer, std::string("3"));
        QCOMPARE(v.index, 0);
        QVERIFY(std::fabs(v.mass - 0.8) < 1e-12);
        QCOMPARE(majorityVote({std::nullopt}).index, -1);
    }

    void answers()
    {
        QCOMPARE(*extractAnswer("so the total is \\boxed{1,024}."), std::string("1024"));
        QCOMPARE(*extractAnswer("first \\boxed{x+1} then \\boxed{y}"), std::string("y"));
        QCOMPARE(*extractAnswer("Among 3 options the answer is (B)"), std::string("B"));
        QCOMPARE(*extractAnswer("12 apples and 3.50 dollars, total 15.0"), std::string("15"));
        QCOMPARE(*extractAnswer("the sum is -1,200."), std::string("-1200"));
        QVERIFY(!extractAnswer("no answer here").has_value());
        QCOMPARE(*extractAnswer("answer: foo, then answer: bar", "answer: (\\w+)"), std::string("bar"));
        QVERIFY_THROWS_EXCEPTION(UsageError, extractAnswer("x", "(unclosed"));
        // Catastrophic backtracking stops at PCRE2's match limit with a message; it ran forever
        // under std::regex and left the run `running`.
        // The fuzzer's pattern fails at once (PCRE2 sees the required "Z"); one that cannot be
        // short-cut hits the limit and says so.
        const std::string aaa = std::string(40, 'a') + "!";
        QVERIFY(!extractAnswer(aaa, "((.)*)*Z"));
        try {
            extractAnswer(aaa, "(a|aa)+$");
            QFAIL("a catastrophic pattern was not stopped");
        } catch (const UsageError& e) {
            QVERIFY2(QString(e.what()).contains("too expensive"), e.what());
        }
        // Perl syntax works as before: a group, the last match.
        QCOMPARE(*extractAnswer("x = 3; x = 4", "x = (\\d+)"), std::string("4"));
        // A bad pattern is refused with the settings, whether or not the method votes.
        QVERIFY_THROWS_EXCEPTION(UsageError, validateConfig("wmv", {{"vote", 0}, {"answer_regex", "(bad"}}));
        QVERIFY_THROWS_EXCEPTION(UsageError, validateConfig("qalign", {{"answer_regex", "[z-a]"}}));
        QCOMPARE(validateConfig("qalign", {{"answer_regex", "answer: (\\w+)"}})["answer_regex"].get<std::string>(),
                 std::string("answer: (\\w+)"));
    }

    void bestOfK()
    {
        auto c = analysis::bestOfKCurve({3, 1, 2});
        QCOMPARE(c.size(), size_t(3));
        QVERIFY(std::fabs(c[0] - 2.0) < 1e-12);
        QVERIFY(std::fabs(c[1] - 8.0 / 3) < 1e-12);
        QVERIFY(std::fabs(c[2] - 3.0) < 1e-12);
        // Brute force over all subsets for n = 10.
        std::mt19937 rng(3);
        std::normal_distribution<double> N;
        std::vector<double> r(10);
        for (double& x : r) x = N(rng);
        auto curve = analysis::bestOfKCurve(r);
        std::vector<double> sum(11, 0.0), count(11, 0.0);
        for (int mask = 1; mask < (1 << 10); ++mask) {
            double m = -1e300;
            int k = 0;
            for (int i = 0; i < 10; ++i)
                if (mask >> i & 1) { m = std::max(m, r[i]); ++k; }
            sum[k] += m;
            count[k] += 1;
        }
        for (int k = 1; k <= 10; ++k) QVERIFY(std::fabs(curve[k - 1] - sum[k] / count[k]) < 1e-9);
    }
};

QTEST_APPLESS_MAIN(TestSelection)
#include "test_selection.moc"
