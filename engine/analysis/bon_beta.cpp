// BoN-equivalent beta (QAlign Appendix A): the maximum of n rewards is Gumbel with location a_n
// (eq. 17, Hall 1979) set by the dominant mixture component; matching that location with the
// mean of the tilted dominant component mu_d + sigma_d^2 / beta (eq. 24-25) gives beta(n) (eq. 10/26).
#include <cmath>
#include <limits>

#include "rudder/analysis.h"
#include "rudder/error.h"

namespace rudder::analysis {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

// c(n_d) = sqrt(2 ln n_d) - (ln ln n_d + ln 4 pi) / (2 sqrt(2 ln n_d))   (bracket of eq. 17)
std::optional<double> evtFactor(double n_d)
{
    // ln ln n_d must be positive for the expansion to mean anything: n_d > e.
    if (!std::isfinite(n_d) || n_d <= std::exp(1.0)) return std::nullopt;
    const double l = std::log(n_d);
    const double s = std::sqrt(2.0 * l);
    return s - (std::log(l) + std::log(4.0 * kPi)) / (2.0 * s);
}

std::optional<double> bonLocation(double mu_d, double sigma_d, double n_d)
{
    auto c = evtFactor(n_d);
    if (!c) return std::nullopt;
    return mu_d + sigma_d * *c;   // eq. 17
}

std::optional<double> bonBeta(double sigma_d, double n_d)
{
    auto c = evtFactor(n_d);
    if (!c || !(sigma_d > 0.0)) return std::nullopt;
    return sigma_d / *c;          // eq. 10 = eq. 26
}

std::vector<BetaPoint> betaCurve(const GmmFit& fit, int nMax)
{
    std::vector<BetaPoint> out;
    if (fit.status != Status::Ok) return out;
    const int d = fit.dominant;
    for (int n = 2; n <= nMax; ++n) {
        BetaPoint p;
        p.n = n;
        p.n_d = fit.weights[d] * double(n);
        p.beta = bonBeta(fit.stds[d], p.n_d);
        p.a_n = bonLocation(fit.means[d], fit.stds[d], p.n_d);
        out.push_back(p);
    }
    return out;
}

AlignedMixture alignedMixture(const GmmFit& fit, double beta)
{
    if (!(beta > 0.0) || !std::isfinite(beta))
        throw Error("alignedMixture", "beta", "must be a positive finite number");
    AlignedMixture a;
    if (fit.status != Status::Ok) {
        a.means = fit.means;
        return a;
    }
    // eq. 23 in log space: ln(w_i C_i) = ln w_i + mu_i / beta + sigma_i^2 / (2 beta^2)
    double lw[2];
    for (int i = 0; i < 2; ++i) {
        const double var = fit.stds[i] * fit.stds[i];
        a.means[i] = fit.means[i] + var / beta;   // mu_pi,i (eq. 22)
        a.stds[i] = fit.stds[i];
        lw[i] = fit.weights[i] > 0.0
                    ? std::log(fit.weights[i]) + fit.means[i] / beta + var / (2.0 * beta * beta)
                    : -std::numeric_limits<double>::infinity();
    }
    const double m = std::max(lw[0], lw[1]);
    const double e0 = std::exp(lw[0] - m), e1 = std::exp(lw[1] - m);
    a.weights = {e0 / (e0 + e1), e1 / (e0 + e1)};
    return a;
}

} // namespace rudder::analysis
