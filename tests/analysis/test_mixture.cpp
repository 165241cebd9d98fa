// Two-component Gaussian mixture fit and the BoN-equivalent beta (QAlign eq. 10, 17, 22-23, 26).
// References: parameters of synthetic mixtures (known truth), hand-computed formula values,
// and Monte-Carlo maxima of Gaussian draws.
#include <QtTest>

#include <cmath>
#include <random>

#include "rudder/analysis.h"
#include "rudder/error.h"

using namespace rudder;
using namespace rudder::analysis;

namespace {

// Box-Muller on mt19937_64 bits: identical draws on every platform.
struct Normal {
    std::mt19937_64 g;
    explicit Normal(uint64_t seed) : g(seed) {}
    double u() { return (double(g() >> 11) + 0.5) * 0x1.0p-53; }
    double operator()()
    {
        return std::sqrt(-2.0 * std::log(u())) * std::cos(2.0 * 3.14159265358979323846 * u());
    }
};

struct Truth {
    double w[2], mu[2], sd[2];
};

std::vector<double> drawMixture(const Truth& t, int n, uint64_t seed, std::vector<int>* labels = nullptr)
{
    Normal z(seed);
    std::vector<double> x(n);
    for (int i = 0; i < n; ++i) {
        int k = z.u() < t.w[0] ? 0 : 1;
        x[i] = t.mu[k] + t.sd[k] * z();
        if (labels) labels->push_back(k);
    }
    return x;
}

double logLikAt(const std::vector<double>& x, const Truth& t)
{
    double ll = 0.0;
    for (double v : x)
        ll += std::log(mixturePdf({t.w[0], t.w[1]}, {t.mu[0], t.mu[1]}, {t.sd[0], t.sd[1]}, v));
    return ll;
}

bool allFinite(const GmmFit& f)
{
    for (int k = 0; k < 2; ++k)
        if (!std::isfinite(f.weights[k]) || !std::isfinite(f.means[k]) || !std::isfinite(f.stds[k])) return false;
    return std::isfinite(f.loglik) && std::isfinite(f.bic) && std::isfinite(f.single.mean) &&
           std::isfinite(f.single.std) && std::isfinite(f.single.loglik) && std::isfinite(f.single.bic);
}

constexpr double kEulerGamma = 0.57721566490153286;

} // namespace

class TestMixture : public QObject {
    Q_OBJECT
private slots:
    // n = 1024 draws from known mixtures, five seeds each.  Tolerance: 5 complete-data standard
    // errors, sqrt(w(1-w)/n) for a weight, sigma/sqrt(n w) for a mean, sigma/sqrt(2 n w) for a std
    // (a 4-SE band for a single fixed draw, widened by 25% for the information lost to overlap).
    void recoversSyntheticMixtures()
    {
        const int n = 1024;
        const Truth cases[] = {
            {{0.3, 0.7}, {-2.0, 1.0}, {0.5, 1.0}},
            {{0.5, 0.5}, {0.0, 4.0}, {1.5, 0.7}},
            {{0.8, 0.2}, {-1.0, 2.5}, {0.8, 0.6}},
        };
        for (const Truth& t : cases) {
            for (uint64_t seed = 1; seed <= 5; ++seed) {
                std::vector<int> labels;
                auto x = drawMixture(t, n, 1000 * seed + uint64_t(t.mu[1] * 10), &labels);
                GmmFit f = fitGmm2(x);
                QCOMPARE(f.status, Status::Ok);
                QVERIFY(f.converged);
                for (int k = 0; k < 2; ++k) {
                    const double nk = n * t.w[k];
                    const double seW = std::sqrt(t.w[k] * (1 - t.w[k]) / n);
                    const double seMu = t.sd[k] / std::sqrt(nk);
                    const double seSd = t.sd[k] / std::sqrt(2 * nk);
                    QVERIFY2(std::abs(f.weights[k] - t.w[k]) < 5 * seW, qPrintable(QString("w%1 %2 vs %3").arg(k).arg(f.weights[k]).arg(t.w[k])));
                    QVERIFY2(std::abs(f.means[k] - t.mu[k]) < 5 * seMu, qPrintable(QString("mu%1 %2 vs %3").arg(k).arg(f.means[k]).arg(t.mu[k])));
                    QVERIFY2(std::abs(f.stds[k] - t.sd[k]) < 5 * seSd, qPrintable(QString("sd%1 %2 vs %3").arg(k).arg(f.stds[k]).arg(t.sd[k])));
                }
                // EM found a maximum at least as high as the truth (the MLE property).
                QVERIFY(f.loglik >= logLikAt(x, t) - 1e-9);
                // BIC: k ln n - 2 ll with 5 and 2 free parameters.
                QVERIFY(std::abs(f.bic - (5 * std::log(double(n)) - 2 * f.loglik)) < 1e-9 * std::abs(f.bic));
                QVERIFY(f.twoComponentsSupported);
                QVERIFY(f.bic < f.single.bic);
                // Responsibilities: a probability per sample, and they classify the draws.
                QCOMPARE(int(f.responsibilities[0].size()), n);
                int right = 0;
                for (int i = 0; i < n; ++i) {
                    QVERIFY(std::abs(f.responsibilities[0][i] + f.responsibilities[1][i] - 1.0) < 1e-12);
                    right += (f.responsibilities[1][i] > 0.5) == (labels[i] == 1);
                }
                QVERIFY2(right > 0.95 * n, qPrintable(QString::number(right)));
                // Dominant = larger std.
                QCOMPARE(f.dominant, t.sd[1] > t.sd[0] ? 1 : 0);
            }
        }
    }

    void singleGaussianFitIsTheMle()
    {
        const std::vector<double> x = {1, 2, 4, 7};
        Gaussian1Fit g = fitGaussian1(x);
        QVERIFY(g.ok);
        QCOMPARE(g.mean, 3.5);
        // MLE variance (1-3.5)^2+(2-3.5)^2+(4-3.5)^2+(7-3.5)^2 = 21 over 4.
        QVERIFY(std::abs(g.std - std::sqrt(21.0 / 4)) < 1e-15);
        const double ll = -2.0 * (std::log(2 * 3.14159265358979323846 * 21.0 / 4) + 1.0);
        QVERIFY(std::abs(g.loglik - ll) < 1e-12);
        QVERIFY(std::abs(g.bic - (2 * std::log(4.0) - 2 * ll)) < 1e-12);
    }

    // Negative control: one Gaussian has no second component for BIC to support.
    void bicRejectsSecondComponentOnOneGaussian()
    {
        for (uint64_t seed = 1; seed <= 5; ++seed) {
            auto x = drawMixture({{1.0, 0.0}, {0.3, 0.3}, {1.2, 1.2}}, 1024, seed);
            GmmFit f = fitGmm2(x);
            QCOMPARE(f.status, Status::Ok);
            QVERIFY(allFinite(f));
            QVERIFY2(!f.twoComponentsSupported, qPrintable(QString("bic2 %1 bic1 %2").arg(f.bic).arg(f.single.bic)));
            // Two components can only fit at least as well (nested models).
            QVERIFY(f.loglik >= f.single.loglik - 1e-6);
        }
    }

    void dominantTieGoesToLargerMean()
    {
        // Two mirror-image clusters: equal variances, so the larger mean (index 1) dominates.
        GmmFit f = fitGmm2({-11, -10, -9, 9, 10, 11});
        QCOMPARE(f.status, Status::Ok);
        QVERIFY(std::abs(f.stds[0] - f.stds[1]) < 1e-9);
        QCOMPARE(f.dominant, 1);
        QVERIFY(f.means[0] < f.means[1]);
    }

    void degenerateInputsGiveAStatus()
    {
        GmmFit equal = fitGmm2(std::vector<double>(100, 0.25));
        QCOMPARE(equal.status, Status::Degenerate);
        QVERIFY(!equal.message.empty());
        QVERIFY(allFinite(equal));
        QVERIFY(!equal.single.ok);
        QVERIFY(betaCurve(equal, 64).empty());

        GmmFit few = fitGmm2({1.0, 2.0, 3.0});
        QCOMPARE(few.status, Status::TooFewSamples);
        QVERIFY(allFinite(few));
        QVERIFY(few.single.ok);   // the one-component fit is still there
        QCOMPARE(fitGmm2({}).status, Status::TooFewSamples);
        QVERIFY(allFinite(fitGmm2({})));

        std::vector<double> x = drawMixture({{0.5, 0.5}, {0, 3}, {1, 1}}, 64, 7);
        for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
            auto y = x;
            y[10] = bad;
            GmmFit f = fitGmm2(y);
            QCOMPARE(f.status, Status::NonFinite);
            QVERIFY(f.message.find("11") != std::string::npos);   // names the reward
            QVERIFY(allFinite(f));
        }
        // Finite but beyond what a variance can hold.
        GmmFit huge = fitGmm2({1e308, -1e308, 1e308, -1e308, 0.0});
        QCOMPARE(huge.status, Status::NonFinite);
        QVERIFY(allFinite(huge));
        // Many exact ties (identical responses) beside a spread: the floor keeps it finite.
        std::vector<double> ties(500, 1.0);
        auto spread = drawMixture({{1, 0}, {0, 0}, {1, 1}}, 500, 3);
        ties.insert(ties.end(), spread.begin(), spread.end());
        GmmFit t = fitGmm2(ties);
        QCOMPARE(t.status, Status::Ok);
        QVERIFY(allFinite(t));
        QVERIFY(t.stds[0] > 0 && t.stds[1] > 0);
    }

    // eq. 10 / 17 against values computed by hand (step by step in double precision).
    void betaFormulaHandValues()
    {
        struct Row { double nd, c, beta, a; };
        const Row rows[] = {
            {3.0, 0.596833480185403, 2.5132638328768575, 1.1952502202781046},
            {10.0, 1.3619236297664477, 1.1013833428069904, 2.342885444649671},
            {32.0, 1.916042568845357, 0.7828636087683208, 3.174063853268035},
            {614.4, 2.970865194622216, 0.5049034209681615, 4.756297791933323},
            {1e6, 4.766005760566718, 0.31472895236736714, 7.449008640850077},
        };
        for (const Row& r : rows) {   // sigma_d = 1.5, mu_d = 0.3
            QVERIFY(std::abs(*evtFactor(r.nd) - r.c) < 1e-9);
            QVERIFY(std::abs(*bonBeta(1.5, r.nd) - r.beta) < 1e-9);
            QVERIFY(std::abs(*bonLocation(0.3, 1.5, r.nd) - r.a) < 1e-9);
        }
        // Undefined for n_d <= e.
        QVERIFY(!bonBeta(1.5, 2.0));
        QVERIFY(!bonBeta(1.5, std::exp(1.0)));
        QVERIFY(!bonLocation(0.0, 1.5, 1.0));
        QVERIFY(bonBeta(1.5, std::exp(1.0) + 1e-9).has_value());
        QVERIFY(!bonBeta(0.0, 100.0));   // zero spread: no finite beta
    }

    void betaCurveUsesDominantComponent()
    {
        GmmFit f;
        f.status = Status::Ok;
        f.weights = {0.6, 0.4};
        f.means = {-1.0, 0.3};
        f.stds = {0.5, 1.5};
        f.dominant = 1;
        auto curve = betaCurve(f, 80);
        QCOMPARE(int(curve.size()), 79);
        QCOMPARE(curve.front().n, 2);
        QCOMPARE(curve.back().n, 80);
        for (const auto& p : curve) {
            QVERIFY(std::abs(p.n_d - 0.4 * p.n) < 1e-12);
            QCOMPARE(p.beta.has_value(), p.n_d > std::exp(1.0));   // first defined at n = 7
            QCOMPARE(p.a_n.has_value(), p.beta.has_value());
        }
        QVERIFY(!curve[4].beta);           // n = 6, n_d = 2.4
        QVERIFY(curve[5].beta.has_value());  // n = 7, n_d = 2.8
        // n = 80 -> n_d = 32: the hand value above.
        QVERIFY(std::abs(*curve.back().beta - 0.7828636087683208) < 1e-9);
        QVERIFY(std::abs(*curve.back().a_n - 3.174063853268035) < 1e-9);
        // beta falls as n grows (more samples = sharper alignment).
        for (size_t i = 6; i < curve.size(); ++i) QVERIFY(*curve[i].beta < *curve[i - 1].beta);
    }

    // eq. 22-23 by hand, and eq. 25: the tilted dominant mean at beta(n) is a_n.
    void alignedMixtureShiftsAndReweights()
    {
        GmmFit f;
        f.status = Status::Ok;
        f.weights = {0.4, 0.6};
        f.means = {-1.0, 1.0};
        f.stds = {0.5, 2.0};
        f.dominant = 1;
        AlignedMixture a = alignedMixture(f, 2.0);
        QVERIFY(std::abs(a.means[0] - (-1.0 + 0.25 / 2.0)) < 1e-15);
        QVERIFY(std::abs(a.means[1] - (1.0 + 4.0 / 2.0)) < 1e-15);
        // w_i C_i: 0.4 exp(-0.5 + 0.25/8) and 0.6 exp(0.5 + 4/8).
        const double c0 = 0.4 * std::exp(-0.46875), c1 = 0.6 * std::exp(1.0);
        QVERIFY(std::abs(a.weights[0] - c0 / (c0 + c1)) < 1e-14);
        QVERIFY(std::abs(a.weights[1] - c1 / (c0 + c1)) < 1e-14);
        QCOMPARE(a.stds[1], 2.0);
        for (int n : {16, 64, 1024}) {
            double beta = *bonBeta(2.0, 0.6 * n);
            AlignedMixture an = alignedMixture(f, beta);
            QVERIFY(std::abs(an.means[1] - *bonLocation(1.0, 2.0, 0.6 * n)) < 1e-12);
        }
        // Small beta: the dominant component takes all the mass (Appendix A.3), without overflow.
        AlignedMixture sharp = alignedMixture(f, 1e-3);
        QVERIFY(std::abs(sharp.weights[1] - 1.0) < 1e-12);
        QVERIFY(std::isfinite(sharp.weights[0]));
        QVERIFY_THROWS_EXCEPTION(Error, alignedMixture(f, 0.0));
    }

    // Appendix A.2: the maximum of n Gaussian draws is Gumbel(a_n, b_n), b_n = sigma / sqrt(2 ln n).
    // On the standardised scale, the Gumbel mean a_n + gamma b_n overshoots the exact E[max] by
    // 3.2% at n = 32, 1.8% at 128, 0.9% at 1024, and the Gumbel median a_n - b_n ln ln 2 the exact
    // median by 1.5%, 0.9%, 0.5% (numerical integration of n Phi^(n-1) phi).  Tolerance: that bias
    // bound (3.5% / 2%) plus 4 Monte-Carlo standard errors.  a_n itself is the mode, below the
    // mean by gamma b_n (7.4% at n = 32, 3.8% at 1024).
    void maxOfGaussiansTracksLocation()
    {
        const double mu = 1.0, sigma = 2.0;
        const int trials = 4000;
        Normal z(2024);
        for (int n : {32, 128, 1024}) {
            std::vector<double> maxima(trials);
            for (int t = 0; t < trials; ++t) {
                double m = -HUGE_VAL;
                for (int i = 0; i < n; ++i) m = std::max(m, mu + sigma * z());
                maxima[t] = m;
            }
            double mean = 0.0, sq = 0.0;
            for (double m : maxima) mean += m;
            mean /= trials;
            for (double m : maxima) sq += (m - mean) * (m - mean);
            const double se = std::sqrt(sq / (trials - 1)) / sigma / std::sqrt(double(trials));
            const double emp = (mean - mu) / sigma;
            const double an = (*bonLocation(mu, sigma, n) - mu) / sigma;
            const double bn = 1.0 / std::sqrt(2.0 * std::log(double(n)));
            const double gumbelMean = an + kEulerGamma * bn;
            QVERIFY2(std::abs(gumbelMean / emp - 1.0) < 0.035 + 4 * se / emp,
                     qPrintable(QString("n=%1 emp %2 gumbel %3").arg(n).arg(emp).arg(gumbelMean)));
            QVERIFY2(an < emp && an / emp > 0.92 - 4 * se / emp,
                     qPrintable(QString("n=%1 a_n %2 emp %3").arg(n).arg(an).arg(emp)));
            // Median of Gumbel(a, b) = a - b ln ln 2; a sample median's SE is ~1.25 that of the mean.
            const double med = (quantile(maxima, 0.5) - mu) / sigma;
            QVERIFY2(std::abs((an - bn * std::log(std::log(2.0))) / med - 1.0) < 0.02 + 5 * se / med,
                     qPrintable(QString("n=%1 median %2").arg(n).arg(med)));
            // Negative control: without the (ln ln n + ln 4 pi) correction the location is far off.
            const double crude = std::sqrt(2.0 * std::log(double(n))) + kEulerGamma * bn;
            QVERIFY(std::abs(crude / emp - 1.0) > 0.1);
        }
    }

    // n_d = w_d n: in a mixture the maximum comes from the dominant component's share of draws.
    void mixtureMaxUsesDominantShare()
    {
        const Truth t{{0.5, 0.5}, {0.0, 1.0}, {0.5, 2.0}};
        const int n = 256, trials = 4000;
        Normal z(77);
        double mean = 0.0;
        for (int tr = 0; tr < trials; ++tr) {
            double m = -HUGE_VAL;
            for (int i = 0; i < n; ++i) {
                int k = z.u() < t.w[0] ? 0 : 1;
                m = std::max(m, t.mu[k] + t.sd[k] * z());
            }
            mean += m;
        }
        mean /= trials;
        const double nd = 0.5 * n;
        const double gumbelMean = *bonLocation(1.0, 2.0, nd) + kEulerGamma * 2.0 / std::sqrt(2 * std::log(nd));
        // Same bound as above (n_d = 128: bias 1.8%) plus 4 Monte-Carlo SEs (sd of the max ~ 0.82).
        QVERIFY2(std::abs((gumbelMean - 1.0) / (mean - 1.0) - 1.0) < 0.035 + 4 * 0.82 / std::sqrt(double(trials)) / (mean - 1.0),
                 qPrintable(QString("emp %1 predicted %2").arg(mean).arg(gumbelMean)));
        // Using all n draws instead of n_d would over-predict by more than the tolerance.
        const double wrong = *bonLocation(1.0, 2.0, n) + kEulerGamma * 2.0 / std::sqrt(2 * std::log(double(n)));
        QVERIFY(std::abs((wrong - 1.0) / (mean - 1.0) - 1.0) > 0.05);
    }
};

QTEST_GUILESS_MAIN(TestMixture)
#include "test_mixture.moc"
