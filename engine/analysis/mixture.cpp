// Reward distribution as a two-component 1-D Gaussian mixture, fitted by EM (QAlign Appendix C),
// with a one-component fit beside it so BIC can say whether the second component is supported.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "rudder/analysis.h"

namespace rudder::analysis {

const char* toString(Status s)
{
    switch (s) {
    case Status::Ok: return "ok";
    case Status::TooFewSamples: return "too_few_samples";
    case Status::NonFinite: return "non_finite";
    case Status::Degenerate: return "degenerate";
    }
    return "unknown";
}

namespace {

constexpr double kLog2Pi = 1.8378770664093454836;   // ln(2 pi)

// SplitMix64: a small, fully specified generator, so restarts are identical on every platform
// (std::uniform_real_distribution is implementation-defined).
struct SplitMix64 {
    uint64_t s;
    uint64_t next()
    {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }   // [0, 1)
};

struct Params {
    double w[2], mu[2], var[2];
};

// E-step: log-likelihood and responsibilities of component 1 (component 0 gets 1 - r1).
double eStep(const std::vector<double>& z, const Params& p, std::vector<double>& r1)
{
    // ln(w_k N(z; mu_k, var_k)) = c_k - (z - mu_k)^2 / (2 var_k)
    double c[2], h[2];
    for (int k = 0; k < 2; ++k) {
        c[k] = std::log(p.w[k]) - 0.5 * (kLog2Pi + std::log(p.var[k]));
        h[k] = 0.5 / p.var[k];
    }
    double ll = 0.0;
    for (size_t i = 0; i < z.size(); ++i) {
        const double d0 = z[i] - p.mu[0], d1 = z[i] - p.mu[1];
        const double a = c[0] - h[0] * d0 * d0, b = c[1] - h[1] * d1 * d1;
        // r1 = e^b / (e^a + e^b) and ll += ln(e^a + e^b), without overflow.
        const double e = std::exp(-std::abs(a - b));
        r1[i] = b >= a ? 1.0 / (1.0 + e) : e / (1.0 + e);
        ll += std::max(a, b) + std::log1p(e);
    }
    return ll;
}

// M-step; false when a component has (numerically) no mass left.
bool mStep(const std::vector<double>& z, const std::vector<double>& r1, double varFloor, Params& p)
{
    const double n = double(z.size());
    double nk[2] = {0, 0}, s[2] = {0, 0};
    for (size_t i = 0; i < z.size(); ++i) {
        nk[1] += r1[i];
        s[1] += r1[i] * z[i];
        s[0] += (1.0 - r1[i]) * z[i];
    }
    nk[0] = n - nk[1];
    for (int k = 0; k < 2; ++k) {
        if (nk[k] < 1e-3) return false;
        p.mu[k] = s[k] / nk[k];
        p.w[k] = nk[k] / n;
    }
    double v[2] = {0, 0};
    for (size_t i = 0; i < z.size(); ++i) {
        double d0 = z[i] - p.mu[0], d1 = z[i] - p.mu[1];
        v[0] += (1.0 - r1[i]) * d0 * d0;
        v[1] += r1[i] * d1 * d1;
    }
    for (int k = 0; k < 2; ++k) p.var[k] = std::max(v[k] / nk[k], varFloor);
    return true;
}

// Initial parameters from a hard assignment (label 1 = second cluster).
bool fromLabels(const std::vector<double>& z, const std::vector<int>& label, double varFloor, Params& p)
{
    std::vector<double> r1(z.size());
    for (size_t i = 0; i < z.size(); ++i) r1[i] = label[i];
    return mStep(z, r1, varFloor, p);
}

// k-means++ seeding (D^2 weighting) followed by a few Lloyd iterations.
std::vector<int> kmeansPlusPlus(const std::vector<double>& z, SplitMix64& rng)
{
    const size_t n = z.size();
    double c[2];
    c[0] = z[std::min(n - 1, size_t(rng.uniform() * double(n)))];
    std::vector<double> d2(n);
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) total += d2[i] = (z[i] - c[0]) * (z[i] - c[0]);
    double u = rng.uniform() * total, acc = 0.0;
    size_t pick = n - 1;
    for (size_t i = 0; i < n; ++i) {
        acc += d2[i];
        if (acc > u) { pick = i; break; }
    }
    c[1] = z[pick];
    std::vector<int> label(n, 0);
    for (int it = 0; it < 50; ++it) {
        bool changed = false;
        double s[2] = {0, 0};
        int cnt[2] = {0, 0};
        for (size_t i = 0; i < n; ++i) {
            int l = std::abs(z[i] - c[1]) < std::abs(z[i] - c[0]) ? 1 : 0;
            changed |= l != label[i];
            label[i] = l;
            s[l] += z[i];
            ++cnt[l];
        }
        if (cnt[0] == 0 || cnt[1] == 0) break;
        c[0] = s[0] / cnt[0];
        c[1] = s[1] / cnt[1];
        if (!changed && it > 0) break;
    }
    return label;
}

struct EmResult {
    Params p;
    double ll = -std::numeric_limits<double>::infinity();
    int iterations = 0;
    bool converged = false;
    bool ok = false;
};

EmResult runEm(const std::vector<double>& z, Params p, const GmmOptions& o)
{
    EmResult r;
    std::vector<double> r1(z.size());
    double prev = -std::numeric_limits<double>::infinity();
    for (int it = 0; it < o.maxIterations; ++it) {
        double ll = eStep(z, p, r1);
        r.iterations = it + 1;
        if (!std::isfinite(ll)) return r;
        r.p = p;
        r.ll = ll;
        if (ll - prev < o.tolerance * double(z.size())) {
            r.converged = true;
            break;
        }
        prev = ll;
        if (!mStep(z, r1, o.varianceFloor, p)) return r;
    }
    r.ok = true;
    return r;
}

} // namespace

Gaussian1Fit fitGaussian1(const std::vector<double>& x)
{
    Gaussian1Fit g;
    const size_t n = x.size();
    if (n < 2) return g;
    for (double v : x)
        if (!std::isfinite(v)) return g;
    double mean = std::accumulate(x.begin(), x.end(), 0.0) / double(n);
    double ss = 0.0;
    for (double v : x) ss += (v - mean) * (v - mean);
    double var = ss / double(n);
    g.mean = std::isfinite(mean) ? mean : 0.0;
    if (!(var > 0.0) || !std::isfinite(var)) return g;   // all equal, or beyond double range
    g.std = std::sqrt(var);
    g.loglik = -0.5 * double(n) * (kLog2Pi + std::log(var) + 1.0);
    g.bic = 2.0 * std::log(double(n)) - 2.0 * g.loglik;
    g.ok = true;
    return g;
}

GmmFit fitGmm2(const std::vector<double>& x, const GmmOptions& o)
{
    GmmFit f;
    f.n = int(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i])) {
            f.status = Status::NonFinite;
            f.message = "reward " + std::to_string(i + 1) + " is not a finite number";
            return f;
        }
    }
    f.single = fitGaussian1(x);
    if (x.size() < 4) {
        f.status = Status::TooFewSamples;
        f.message = "a two-component fit needs at least 4 rewards, got " + std::to_string(x.size());
        if (!x.empty()) f.means = {f.single.mean, f.single.mean};
        return f;
    }
    const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
    if (!f.single.ok && *mn != *mx) {
        f.status = Status::NonFinite;
        f.message = "the rewards are too large to fit (their variance overflows)";
        return f;
    }
    if (!f.single.ok) {
        f.status = Status::Degenerate;
        f.message = "all rewards are equal: there is no distribution to fit";
        f.means = {x[0], x[0]};
        return f;
    }

    // Fit in standardised units: the variance floor is then relative and EM well scaled.
    const double m = f.single.mean, sd = f.single.std;
    std::vector<double> z(x.size());
    for (size_t i = 0; i < x.size(); ++i) z[i] = (x[i] - m) / sd;

    // "Small EM" (Biernacki et al. 2003): every start gets a few iterations, the best goes on.
    GmmOptions shortRun = o;
    shortRun.maxIterations = std::min(o.maxIterations, 30);
    EmResult best;
    SplitMix64 rng{o.seed};
    for (int rs = 0; rs < std::max(1, o.restarts); ++rs) {
        std::vector<int> label(z.size(), 0);
        if (rs == 0) {
            // Quantile split: lower half vs upper half.
            std::vector<double> sorted = z;
            std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
            double median = sorted[sorted.size() / 2];
            for (size_t i = 0; i < z.size(); ++i) label[i] = z[i] >= median ? 1 : 0;
        } else {
            label = kmeansPlusPlus(z, rng);
        }
        Params p;
        if (!fromLabels(z, label, o.varianceFloor, p)) continue;
        EmResult r = runEm(z, p, shortRun);
        if (r.ok && r.ll > best.ll) best = r;
    }
    // Only the most promising start is run to convergence.
    if (best.ok && !best.converged) {
        const int done = best.iterations;
        EmResult r = runEm(z, best.p, o);
        r.iterations += done;
        if (r.ok) best = r;
    }
    if (!best.ok) {
        f.status = Status::Degenerate;
        f.message = "the two-component fit collapsed onto one component in every restart";
        f.means = {m, m};
        return f;
    }

    // Back to reward units, components sorted by mean.
    Params p = best.p;
    int lo = p.mu[0] <= p.mu[1] ? 0 : 1;
    int order[2] = {lo, 1 - lo};
    for (int k = 0; k < 2; ++k) {
        int s = order[k];
        f.weights[k] = p.w[s];
        f.means[k] = m + sd * p.mu[s];
        f.stds[k] = sd * std::sqrt(p.var[s]);
    }
    const double n = double(x.size());
    f.loglik = best.ll - n * std::log(sd);
    f.bic = 5.0 * std::log(n) - 2.0 * f.loglik;
    f.iterations = best.iterations;
    f.converged = best.converged;
    f.twoComponentsSupported = f.bic < f.single.bic;

    std::vector<double> r1(z.size());
    eStep(z, p, r1);
    f.responsibilities[0].resize(z.size());
    f.responsibilities[1].resize(z.size());
    for (size_t i = 0; i < z.size(); ++i) {
        double r = lo == 0 ? r1[i] : 1.0 - r1[i];   // posterior of the higher-mean component
        f.responsibilities[1][i] = r;
        f.responsibilities[0][i] = 1.0 - r;
    }

    // Dominant component (Appendix A.2): the heavier tail, i.e. larger variance; larger mean on a tie.
    const double tieTol = 1e-9 * std::max(f.stds[0], f.stds[1]);
    if (std::abs(f.stds[0] - f.stds[1]) <= tieTol)
        f.dominant = 1;
    else
        f.dominant = f.stds[1] > f.stds[0] ? 1 : 0;
    f.status = Status::Ok;
    return f;
}

double mixturePdf(const std::vector<double>& weights, const std::vector<double>& means,
                  const std::vector<double>& stds, double x)
{
    double p = 0.0;
    const size_t k = std::min({weights.size(), means.size(), stds.size()});
    for (size_t i = 0; i < k; ++i) {
        if (!(stds[i] > 0.0) || !(weights[i] > 0.0)) continue;
        double d = (x - means[i]) / stds[i];
        p += weights[i] * std::exp(-0.5 * (kLog2Pi + d * d)) / stds[i];
    }
    return p;
}

} // namespace rudder::analysis
