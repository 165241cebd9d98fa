// Importance-weight diagnostics, histogram binning, text metrics, best-of-k, curves over compute
// axes and acceptance rates, against values worked out by hand or by brute force.
#include <QtTest>

#include <cmath>
#include <random>

#include "rudder/analysis.h"
#include "rudder/error.h"
#include "rudder/methods.h"
#include "rudder/sweep.h"

using namespace rudder;
using namespace rudder::analysis;

namespace {

bool near(double a, double b, double tol = 1e-12) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

// E[max] over all k-subsets by enumeration (the definition, not the formula).
std::vector<double> bestOfKBruteForce(const std::vector<double>& r)
{
    const int n = int(r.size());
    std::vector<double> sum(n + 1, 0.0);
    std::vector<double> cnt(n + 1, 0.0);
    for (uint32_t mask = 1; mask < (1u << n); ++mask) {
        int k = __builtin_popcount(mask);
        double m = -HUGE_VAL;
        for (int i = 0; i < n; ++i)
            if (mask & (1u << i)) m = std::max(m, r[i]);
        sum[k] += m;
        cnt[k] += 1;
    }
    std::vector<double> out(n);
    for (int k = 1; k <= n; ++k) out[k - 1] = sum[k] / cnt[k];
    return out;
}

Sample sample(double reward, std::optional<double> gold = std::nullopt, std::optional<bool> acc = std::nullopt, int prompt = 0)
{
    Sample s;
    s.reward = reward;
    s.gold_reward = gold;
    s.accepted = acc;
    s.prompt_index = prompt;
    return s;
}

IterationEvent makeEvent(int it, std::vector<Sample> samples, Budget b, int prompt = 0)
{
    IterationEvent e;
    e.method = "bon";
    e.iteration = it;
    e.prompt_index = prompt;
    e.samples = std::move(samples);
    e.budget = b;
    return e;
}

} // namespace

class TestStatistics : public QObject {
    Q_OBJECT
private slots:
    void importanceWeights()
    {
        WeightStats u = weightStats(std::vector<double>(8, 3.0));
        QCOMPARE(u.status, Status::Ok);
        QVERIFY(near(u.ess, 8.0));
        QVERIFY(near(u.essNormalized, 1.0));
        QVERIFY(near(u.maxWeight, 0.125));
        QVERIFY(near(u.entropy, std::log(8.0)));
        QVERIFY(near(u.entropyNormalized, 1.0));

        WeightStats one = weightStats({0, 0, 5, 0});
        QVERIFY(near(one.ess, 1.0));
        QVERIFY(near(one.essNormalized, 0.25));
        QVERIFY(near(one.maxWeight, 1.0));
        QVERIFY(near(one.entropy, 0.0));

        // w = (1, 2, 3, 4) / 10: sum w^2 = 30/100, entropy by hand.
        WeightStats w = weightStats({1, 2, 3, 4});
        QVERIFY(near(w.ess, 10.0 / 3.0));
        QVERIFY(near(w.maxWeight, 0.4));
        const double h = -(0.1 * std::log(0.1) + 0.2 * std::log(0.2) + 0.3 * std::log(0.3) + 0.4 * std::log(0.4));
        QVERIFY(near(w.entropy, h));
        QVERIFY(near(w.entropyNormalized, h / std::log(4.0)));

        // Log-weights far beyond exp's range give the same answer.
        std::vector<double> lw;
        for (double v : {1.0, 2.0, 3.0, 4.0}) lw.push_back(std::log(v) + 2000.0);
        WeightStats l = weightStatsFromLog(lw);
        QCOMPARE(l.status, Status::Ok);
        QVERIFY(near(l.ess, w.ess) && near(l.entropy, w.entropy) && near(l.maxWeight, w.maxWeight));
        QVERIFY(near(weightStatsFromLog({-HUGE_VAL, 0.0}).ess, 1.0));

        QCOMPARE(weightStats({}).status, Status::TooFewSamples);
        QCOMPARE(weightStats({1.0, std::nan("")}).status, Status::NonFinite);
        QCOMPARE(weightStats({1.0, -0.5}).status, Status::Degenerate);
        QCOMPARE(weightStats({0.0, 0.0}).status, Status::Degenerate);
        QCOMPARE(weightStatsFromLog({-HUGE_VAL, -HUGE_VAL}).status, Status::Degenerate);
        QCOMPARE(weightStatsFromLog({0.0, HUGE_VAL}).status, Status::NonFinite);
        QVERIFY(!weightStats({0.0, 0.0}).message.empty());
        QVERIFY(std::isfinite(weightStats({0.0, 0.0}).ess));
    }

    void quantilesAndFreedmanDiaconis()
    {
        // Type-7 quantiles (numpy's default): h = q (n - 1).
        QCOMPARE(quantile({4, 1, 3, 2}, 0.25), 1.75);
        QCOMPARE(quantile({4, 1, 3, 2}, 0.5), 2.5);
        QCOMPARE(quantile({4, 1, 3, 2}, 1.0), 4.0);
        QCOMPARE(quantile({7}, 0.3), 7.0);

        // x = 0..99: IQR = 74.25 - 24.75 = 49.5, width 2 * 49.5 / 100^(1/3), range 99 -> 5 bins
        // (what numpy.histogram_bin_edges(x, 'fd') gives).
        std::vector<double> x;
        for (int i = 0; i < 100; ++i) x.push_back(i);
        QVERIFY(near(freedmanDiaconisWidth(x), 99.0 / std::cbrt(100.0)));
        Histogram h = histogram(x);
        QCOMPARE(h.status, Status::Ok);
        QCOMPARE(int(h.counts.size()), 5);
        QVERIFY(near(h.width, 19.8));
        QCOMPARE(h.lo, 0.0);
        for (auto c : h.counts) QCOMPARE(c, int64_t(20));
        QVERIFY(near(h.edge(5), 99.0));

        // A far outlier: the bin count is capped, nothing is lost.
        x.push_back(1e9);
        Histogram capped = histogram(x, 50);
        QCOMPARE(int(capped.counts.size()), 50);
        int64_t total = 0;
        for (auto c : capped.counts) total += c;
        QCOMPARE(total, int64_t(101));
        QCOMPARE(capped.counts.back(), int64_t(1));

        // IQR 0: sqrt(n) bins over the range.
        std::vector<double> tied(15, 2.0);
        tied.push_back(3.0);
        Histogram t = histogram(tied);
        QCOMPARE(t.status, Status::Ok);
        QCOMPARE(int(t.counts.size()), 4);
        QCOMPARE(t.counts.front(), int64_t(15));
        QCOMPARE(t.counts.back(), int64_t(1));

        Histogram eq = histogram(std::vector<double>(10, 5.0));
        QCOMPARE(eq.status, Status::Degenerate);
        QCOMPARE(eq.counts, std::vector<int64_t>{10});
        QCOMPARE(eq.center(0), 5.0);

        QCOMPARE(histogram({}).status, Status::TooFewSamples);
        QCOMPARE(histogram({std::nan(""), HUGE_VAL}).status, Status::NonFinite);
        Histogram skip = histogram({1.0, std::nan(""), 2.0, 3.0, 4.0});
        int64_t kept = 0;
        for (auto c : skip.counts) kept += c;
        QCOMPARE(kept, int64_t(4));

        Histogram fixed = histogram({-5, 0.5, 1.5, 1.7, 99}, 0.0, 1.0, 2);
        QCOMPARE(fixed.counts, (std::vector<int64_t>{2, 3}));
        QVERIFY_THROWS_EXCEPTION(Error, histogram({1.0}, 0.0, 0.0, 3));
    }

    void textMetrics()
    {
        // 1 2 3 1 2 3: bigrams 12 23 31 12 23 (3 unique of 5), trigrams 123 231 312 123 (3 of 4),
        // 4-grams all distinct -> diversity (1 - 0.4)(1 - 0.25)(1 - 0) = 0.45.
        const std::vector<int32_t> t = {1, 2, 3, 1, 2, 3};
        QVERIFY(near(repetitionN(t, 2), 0.4));
        QVERIFY(near(repetitionN(t, 3), 0.25));
        QVERIFY(near(repetitionN(t, 4), 0.0));
        QVERIFY(near(diversity(t), 0.45));
        QVERIFY(near(diversity({7, 7, 7, 7, 7, 7, 7, 7}), (1 - 6.0 / 7) * (1 - 5.0 / 6) * (1 - 4.0 / 5)));
        QCOMPARE(diversity({5}), 1.0);
        QCOMPARE(diversity({}), 1.0);
        QVERIFY_THROWS_EXCEPTION(Error, repetitionN(t, 0));

        QVERIFY(near(cosineSimilarity(std::vector<float>{1, 0}, std::vector<float>{1, 1}), 1.0 / std::sqrt(2.0), 1e-7));
        QVERIFY(near(cosineSimilarity(std::vector<double>{1, 2, 3}, std::vector<double>{-2, -4, -6}), -1.0));
        QVERIFY(near(cosineSimilarity(std::vector<double>{1, 0}, std::vector<double>{0, 3}), 0.0));
        QCOMPARE(cosineSimilarity(std::vector<double>{0, 0}, std::vector<double>{1, 1}), 0.0);
        QVERIFY_THROWS_EXCEPTION(Error, cosineSimilarity(std::vector<double>{1}, std::vector<double>{1, 2}));
    }

    void bestOfKMatchesEnumeration()
    {
        std::mt19937_64 g(5);
        std::vector<double> r;
        for (int i = 0; i < 12; ++i) r.push_back(double(g() % 1000) / 100.0 - 3.0);
        r[3] = r[7];   // a tie
        const auto curve = bestOfKCurve(r);
        const auto ref = bestOfKBruteForce(r);
        QCOMPARE(curve.size(), ref.size());
        for (size_t k = 0; k < ref.size(); ++k) QVERIFY2(near(curve[k], ref[k]), qPrintable(QString::number(k)));
        double mean = 0.0;
        for (double v : r) mean += v;
        QVERIFY(near(curve.front(), mean / r.size()));
        QCOMPARE(curve.back(), *std::max_element(r.begin(), r.end()));
        QVERIFY(bestOfKCurve({}).empty());

        // Large n: monotone, shift-equivariant, ends at the maximum, fast.
        std::vector<double> big(20000);
        for (auto& v : big) v = double(g() % 100000) / 1000.0;
        QElapsedTimer timer;
        timer.start();
        auto b = bestOfKCurve(big);
        qInfo("bestOfKCurve n=20000: %lld ms", timer.elapsed());
        for (size_t k = 1; k < b.size(); ++k) QVERIFY(b[k] >= b[k - 1] - 1e-9);
        QCOMPARE(b.back(), *std::max_element(big.begin(), big.end()));
        for (auto& v : big) v += 1e3;
        auto shifted = bestOfKCurve(big);
        for (size_t k = 0; k < b.size(); k += 997) QVERIFY(near(shifted[k], b[k] + 1e3, 1e-11));
    }

    void curvesOverComputeAxes()
    {
        std::vector<IterationEvent> ev;
        ev.push_back(makeEvent(0, {sample(1.0), sample(3.0)}, {2, 40, 4e6, 0.5}));
        ev.push_back(makeEvent(1, {sample(2.0), sample(2.5)}, {4, 70, 7e6, 1.25}));
        ev.push_back(makeEvent(2, {sample(5.0), sample(-1.0)}, {6, 100, 1e7, 2.0}));

        RunCurves s = runCurves(ev, Axis::Samples);
        QCOMPARE(s.x, (std::vector<double>{2, 4, 6}));
        QCOMPARE(s.mean, (std::vector<double>{2.0, 2.25, 2.0}));
        QCOMPARE(s.best, (std::vector<double>{3.0, 2.5, 5.0}));
        QCOMPARE(s.bestSoFar, (std::vector<double>{3.0, 3.0, 5.0}));
        QVERIFY(s.goldMean.empty() && s.goldOfSelected.empty());
        QCOMPARE(runCurves(ev, Axis::Tokens).x, (std::vector<double>{40, 70, 100}));
        QCOMPARE(runCurves(ev, Axis::Flops).x, (std::vector<double>{4e6, 7e6, 1e7}));
        QCOMPARE(runCurves(ev, Axis::Seconds).x, (std::vector<double>{0.5, 1.25, 2.0}));
        QCOMPARE(runCurves(ev, Axis::Iteration).x, (std::vector<double>{1, 2, 3}));
        QCOMPARE(axisFromString("flops"), Axis::Flops);
        QVERIFY_THROWS_EXCEPTION(UsageError, axisFromString("watts"));

        // Gold rewards: oracle best, and the gold of the proxy-selected sample.
        ev[0].samples = {sample(1.0, 0.9), sample(3.0, 0.1)};
        ev[1].samples = {sample(2.0), sample(2.5)};
        ev[2].samples = {sample(5.0, 0.4), sample(-1.0, 0.95)};
        RunCurves g = runCurves(ev, Axis::Samples);
        QCOMPARE(int(g.goldMean.size()), 3);
        QVERIFY(near(g.goldMean[0], 0.5));
        QVERIFY(std::isnan(g.goldMean[1]) && std::isnan(g.goldBest[1]));   // gap
        QCOMPARE(g.goldBestSoFar, (std::vector<double>{0.9, 0.9, 0.95}));
        QCOMPARE(g.goldOfSelected, (std::vector<double>{0.1, 0.1, 0.4}));

        // Batched events (prompt_index -1) filter by the sample's prompt.
        std::vector<IterationEvent> batch;
        batch.push_back(makeEvent(0, {sample(1, {}, {}, 0), sample(10, {}, {}, 1)}, {2, 0, 0, 0}, -1));
        batch.push_back(makeEvent(1, {sample(4, {}, {}, 1)}, {3, 0, 0, 0}, -1));
        RunCurves p0 = runCurves(batch, Axis::Samples, 0);
        QCOMPARE(p0.x, (std::vector<double>{2}));   // the event without prompt 0 is skipped
        QCOMPARE(runCurves(batch, Axis::Samples, 1).bestSoFar, (std::vector<double>{10, 10}));

        // Two methods on one grid.
        auto r = resampleStep({2, 4, 6}, {3.0, 3.0, 5.0}, {1, 2, 3, 6, 9});
        QVERIFY(std::isnan(r[0]));
        QCOMPARE(std::vector<double>(r.begin() + 1, r.end()), (std::vector<double>{3, 3, 5, 5}));
        QVERIFY_THROWS_EXCEPTION(Error, resampleStep({1, 2}, {1}, {1}));
    }

    // One chain: start (no flag), then T F T T F.  Running rate over proposals, windowed over
    // the proposals of the last 2 steps, and the chain's current reward after each step.
    // Sweep grids: lists, log and linear ranges, the cartesian order, and bad specs refused.
    void sweepGrids()
    {
        auto a = parseSweepAxis("lambda=log:0.001:1:4");
        QCOMPARE(a.key, std::string("lambda"));
        QCOMPARE(a.values.size(), size_t(4));
        const double want[] = {0.001, 0.01, 0.1, 1.0};
        for (int i = 0; i < 4; ++i) QVERIFY(std::abs(a.values[size_t(i)].get<double>() - want[i]) < 1e-12);
        auto b = parseSweepAxis("n=8,16,32");
        QVERIFY(b.values[0].is_number_integer());   // typed integers stay integers (method configs check them)
        QCOMPARE(parseSweepAxis("sigma=lin:1:4:4").values[1].get<double>(), 2.0);
        const auto pts = sweepPoints({parseSweepAxis("sigma=1,2"), parseSweepAxis("lambda=0.1,0.2,0.3")});
        QCOMPARE(pts.size(), size_t(6));
        QCOMPARE(pts[1], (nlohmann::json{{"sigma", 1}, {"lambda", 0.2}}));   // first axis slowest
        QCOMPARE(sweepPointLabel(pts[1], {"sigma", "lambda"}), std::string("sigma=1 lambda=0.2"));
        for (const char* bad : {"sigma", "sigma=", "=1,2", "sigma=1,,2", "sigma=1,1", "l=log:0:1:3", "l=lin:1:2:1", "l=log:1:2"})
            QVERIFY_THROWS_EXCEPTION(UsageError, parseSweepAxis(bad));
    }

    // RE-Control (no budget knob) sweeps at its own cost: its points keep their config, the
    // reference spends the budget; a method with a knob is matched (control).
    void sweepOfAFixedCostMethod()
    {
        SweepRequest r;
        r.method = "recontrol";
        r.baseConfig = {{"max_new_tokens", 16}};
        r.axes = {parseSweepAxis("lr=0.5,2")};
        r.budget = 64;
        const SweepPlan plan = planSweep(r);
        QCOMPARE(plan.jobs.size(), size_t(3));
        QCOMPARE(plan.jobs[0].method, std::string("bon"));
        QCOMPARE(plan.jobs[0].config["n"].get<int64_t>(), int64_t(64));
        QCOMPARE(plan.jobs[0].config["max_new_tokens"].get<int64_t>(), int64_t(16));
        QCOMPARE(plan.jobs[2].config["lr"].get<double>(), 2.0);
        QCOMPARE(plan.jobs[2].config["steps"], defaultConfig("recontrol")["steps"]);
        r.method = "aisp";
        r.axes = {parseSweepAxis("sigma=0.5,2")};
        QCOMPARE(planSweep(r).jobs[1].config["iterations"].get<int64_t>(), int64_t(64 / 16));
    }

    // Mean ± se and the paired difference against hand-computed values; a sweep's summary pairs
    // points with the reference on (seed, prompt) and calls a win only beyond 2 se.
    void sweepStatistics()
    {
        const MeanSe m = meanSe({1, 2, 3, 4});
        QCOMPARE(m.mean, 2.5);
        QVERIFY(std::abs(m.se - std::sqrt(1.6666666666666667 / 4)) < 1e-12);
        QVERIFY(std::isnan(meanSe({7}).se));
        const PairedDiff d = pairedDifference({3, 5, 7}, {1, 2, 3});   // differences 2, 3, 4
        QCOMPARE(d.mean, 3.0);
        QVERIFY(std::abs(d.se - 1.0 / std::sqrt(3.0)) < 1e-12);
        QVERIFY(std::abs(d.z - 3.0 * std::sqrt(3.0)) < 1e-9);
        QVERIFY_THROWS_EXCEPTION(Error, pairedDifference({1}, {1, 2}));

        auto tag = [](const std::string& role, const nlohmann::json& params, uint64_t seed) {
            return nlohmann::json{{"sweep", sweepTag("s", role, role == "point" ? "aisp" : "bon", params, seed, {"sigma"})}};
        };
        const nlohmann::json p1 = {{"sigma", 1}}, p2 = {{"sigma", 2}};
        // Reference: 0.5 everywhere.  sigma=1: +0.1 on every (seed, prompt) with a little spread
        // (a real win); sigma=2: the reference's values shuffled between prompts (same mean, no win).
        std::vector<SweepRunData> runs = {
            {1, tag("reference", nlohmann::json::object(), 0), {0.5, 0.4, 0.6}, {}},
            {2, tag("point", p1, 0), {0.61, 0.5, 0.7}, {}},
            {3, tag("point", p2, 0), {0.4, 0.6, 0.5}, {}},
            {4, tag("reference", nlohmann::json::object(), 1), {0.3, 0.5, 0.7}, {}},
            {5, tag("point", p1, 1), {0.4, 0.61, 0.8}, {}},
            {6, tag("point", p2, 1), {0.7, 0.3, 0.5}, {}},
            {7, nlohmann::json{{"sweep", sweepTag("other", "point", "aisp", p1, 0, {"sigma"})}}, {9, 9, 9}, {}},
        };
        const SweepSummary s = summarizeSweep("s", runs);
        QCOMPARE(s.cells.size(), size_t(2));
        QCOMPARE(s.keys, std::vector<std::string>{"sigma"});
        QCOMPARE(s.method, std::string("aisp"));
        QCOMPARE(s.reference, std::string("bon"));
        QVERIFY(s.referenceCell && s.referenceCell->runs == (std::vector<int64_t>{1, 4}));
        const SweepCell& win = s.cells[0];
        QCOMPARE(win.runs, (std::vector<int64_t>{2, 5}));
        QCOMPARE(win.proxy.size(), size_t(6));
        QVERIFY(win.proxyVsRef && std::abs(win.proxyVsRef->mean - 0.10333333333333333) < 1e-12);
        QVERIFY(win.beatsReference());
        QVERIFY(!win.goldVsRef);   // no gold in these runs
        const SweepCell& noise = s.cells[1];
        QVERIFY(noise.proxyVsRef && std::abs(noise.proxyVsRef->mean) < 1e-12);
        QVERIFY(!noise.beatsReference());   // negative control
        QCOMPARE(sweepNames({runs[0].tags, runs[6].tags, nlohmann::json::object(), runs[1].tags}),
                 (std::vector<std::string>{"s", "other"}));
    }

    // A group's band: step curves on the union of their x, mean ± se where runs have values.
    void bandOverRuns()
    {
        // Run A: 1 at x=1, 3 at x=3.  Run B: 2 at x=2, 4 at x=3.  Run C starts later (x=3: 5).
        const auto b = bandOverCurves({{{1, 3}, {1, 3}}, {{2, 3}, {2, 4}}, {{3}, {5}}});
        QCOMPARE(b.x, (std::vector<double>{1, 2, 3}));
        QCOMPARE(b.n, (std::vector<int>{1, 2, 3}));
        QCOMPARE(b.mean[0], 1.0);
        QVERIFY(std::isnan(b.se[0]));   // one run: no spread
        QCOMPARE(b.mean[1], 1.5);       // A holds 1 (step), B is at 2
        QVERIFY(std::abs(b.se[1] - 0.5) < 1e-12);
        QCOMPARE(b.mean[2], 4.0);
        QVERIFY(std::abs(b.se[2] - std::sqrt(1.0 / 3.0)) < 1e-12);   // sd 1 over 3 runs
        QCOMPARE(b.min, (std::vector<double>{1, 1, 3}));
        QCOMPARE(b.max, (std::vector<double>{1, 2, 5}));
        QVERIFY(bandOverCurves({}).x.empty());
    }

    void acceptanceRates()
    {
        const std::vector<std::pair<std::optional<bool>, double>> steps = {
            {std::nullopt, 1.0}, {true, 2.0}, {false, 0.5}, {true, 3.0}, {true, 4.0}, {false, 9.0}};
        std::vector<IterationEvent> ev;
        for (size_t t = 0; t < steps.size(); ++t)
            ev.push_back(makeEvent(int(t), {sample(steps[t].second, {}, steps[t].first)}, {}));
        const AcceptanceSeries a = acceptanceSeries(ev, 2);
        QCOMPARE(a.step, (std::vector<double>{0, 1, 2, 3, 4, 5}));
        QVERIFY(std::isnan(a.running[0]) && std::isnan(a.windowed[0]));
        const std::vector<double> running = {1.0, 0.5, 2.0 / 3, 0.75, 0.6};
        for (size_t i = 0; i < running.size(); ++i) QVERIFY(near(a.running[i + 1], running[i]));
        QCOMPARE(std::vector<double>(a.windowed.begin() + 1, a.windowed.end()),
                 (std::vector<double>{1.0, 0.5, 0.5, 1.0, 0.5}));
        QCOMPARE(a.chainReward.size(), size_t(1));
        QCOMPARE(a.chainReward[0], (std::vector<double>{1, 2, 2, 3, 4, 4}));
        // A window longer than the run is the running rate.
        const AcceptanceSeries all = acceptanceSeries(ev, 100);
        for (size_t i = 1; i < all.step.size(); ++i) QVERIFY(near(all.windowed[i], all.running[i]));
        // Older sessions flagged the starting state as accepted: it is still no proposal.
        ev[0].samples[0].accepted = true;
        QVERIFY(near(acceptanceSeries(ev, 2).running.back(), 0.6));
        // Batched events filter by the sample's prompt.
        std::vector<IterationEvent> b;
        b.push_back(makeEvent(1, {sample(1.0, {}, false), sample(1.0, {}, true, 3)}, {}, -1));
        QCOMPARE(acceptanceSeries(b, 4, 3).running, (std::vector<double>{1.0}));
        QCOMPARE(acceptanceSeries(b, 4, 0).running, (std::vector<double>{0.0}));
    }

    // Several prompts: "so far" curves average each prompt's own running best (rewards of
    // different prompts are not comparable); a single running maximum would read 3, 10, 10.
    void curvesAverageOverPrompts()
    {
        auto at = [](double r, int prompt, int iteration, std::optional<double> gold = std::nullopt) {
            Sample s = sample(r, gold, {}, prompt);
            s.iteration = iteration;
            return s;
        };
        std::vector<IterationEvent> ev;
        ev.push_back(makeEvent(0, {at(1, 0, 0, 0.2), at(3, 0, 0, 0.1)}, {2, 0, 0, 0}, 0));
        ev.push_back(makeEvent(0, {at(10, 1, 0, 0.7)}, {3, 0, 0, 0}, 1));
        ev.push_back(makeEvent(1, {at(5, 0, 1, 0.9)}, {4, 0, 0, 0}, 0));
        const RunCurves c = runCurves(ev, Axis::Samples);
        QCOMPARE(c.bestSoFar, (std::vector<double>{3, 6.5, 7.5}));
        QCOMPARE(c.goldOfSelected.size(), size_t(3));
        QVERIFY(near(c.goldOfSelected[0], 0.1) && near(c.goldOfSelected[1], 0.4) && near(c.goldOfSelected[2], 0.8));
        QVERIFY(near(c.goldBestSoFar[2], (0.9 + 0.7) / 2));
        // Best-of-N reference from each prompt's base-model samples (a BoN run: all of them,
        // {1, 3, 5} and {10}), N = its samples so far: prompt 0 after 2 draws:
        // 1·1/9 + 3·3/9 + 5·5/9 = 35/9; prompt 1: 10; prompt 0 after 3: (1 + 3·7 + 5·19)/27.
        QVERIFY(near(c.bon[0], 35.0 / 9));
        QVERIFY(near(c.bon[1], (35.0 / 9 + 10) / 2));
        QVERIFY(near(c.bon[2], (117.0 / 27 + 10) / 2));
        QVERIFY(runCurves(ev, Axis::Samples, -1, false).bon.empty());
        // Issue 36 item 1: a method whose samples are not the base model's gets no reference
        // (AISP's first iteration used to stand in for the base model) ...
        QVERIFY(runCurves(ev, Axis::Samples, -1, true, "aisp").bon.empty());
        QVERIFY(baseRewards(ev, "aisp", 0).empty());
        // ... QAlign's comes from its pilot (step 0's stats), not from its chains' proposals ...
        std::vector<IterationEvent> q = ev;
        q[0].stats["pilot_rewards"] = {1.0, 3.0, 2.0, 0.0};
        QCOMPARE(baseRewards(q, "qalign", 0), (std::vector<double>{1, 3, 2, 0}));
        QCOMPARE(baseRewards(q, "qalign", 1), (std::vector<double>{10}));   // no pilot stats: its chain start
        const RunCurves qc = runCurves(q, Axis::Samples, 0, true, "qalign");
        QVERIFY(near(qc.bon[0], expectedBestOfWithReplacement({1, 3, 2, 0}, 2)));
        // ... and it is not extrapolated past the base samples there are (4 pilot rewards of
        // prompt 0 cannot estimate a best-of-5): NaN, a gap in the plot.
        q[2].samples.push_back(at(6, 0, 1, 0.1));
        q[2].samples.push_back(at(7, 0, 1, 0.1));
        const RunCurves qc2 = runCurves(q, Axis::Samples, 0, true, "qalign");
        QVERIFY(std::isnan(qc2.bon.back()));
        QCOMPARE(c.bestRef[2], (SampleAt{2, 0}));
        QCOMPARE(c.bestSoFarRef[1], (SampleAt{1, 0}));
        QCOMPARE(c.bestSoFarRef[2], (SampleAt{2, 0}));
        // Negative control: one prompt alone is its own running maximum.
        QCOMPARE(runCurves(ev, Axis::Samples, 0).bestSoFar, (std::vector<double>{3, 5}));
        QCOMPARE(expectedBestOfWithReplacement({1, 3}, 1), 2.0);
        QVERIFY(std::isnan(expectedBestOfWithReplacement({}, 3)));
        QCOMPARE(effectiveSampleSize({2, 2}), 2.0);
        QCOMPARE(effectiveSampleSize({0.5, 0.5}), 2.0);
        QCOMPARE(effectiveSampleSize({0, 0}), 0.0);
    }
};

QTEST_GUILESS_MAIN(TestStatistics)
#include "test_statistics.moc"
