// Histogram binning shared by every histogram plot: Freedman-Diaconis width 2 IQR n^(-1/3),
// robust to the outliers reward models produce, with fallbacks for ties.
#include <algorithm>
#include <cmath>

#include "rudder/analysis.h"
#include "rudder/error.h"

namespace rudder::analysis {

double quantile(std::vector<double> x, double q)
{
    if (x.empty()) return 0.0;
    q = std::clamp(q, 0.0, 1.0);
    std::sort(x.begin(), x.end());
    const double h = q * double(x.size() - 1);   // type 7: x_(floor h) + frac * (next - it)
    const size_t i = size_t(std::floor(h));
    if (i + 1 >= x.size()) return x.back();
    return x[i] + (h - double(i)) * (x[i + 1] - x[i]);
}

double freedmanDiaconisWidth(const std::vector<double>& x)
{
    if (x.size() < 2) return 0.0;
    std::vector<double> sorted = x;
    std::sort(sorted.begin(), sorted.end());
    const double iqr = quantile(sorted, 0.75) - quantile(sorted, 0.25);
    return 2.0 * iqr / std::cbrt(double(x.size()));
}

namespace {

std::vector<double> finiteOnly(const std::vector<double>& x)
{
    std::vector<double> v;
    v.reserve(x.size());
    for (double a : x)
        if (std::isfinite(a)) v.push_back(a);
    return v;
}

void fill(Histogram& h, const std::vector<double>& v)
{
    const int bins = int(h.counts.size());
    for (double a : v) {
        long b = long(std::floor((a - h.lo) / h.width));
        b = std::clamp(b, 0L, long(bins - 1));   // the maximum sits on the last right edge
        ++h.counts[size_t(b)];
    }
}

} // namespace

Histogram histogram(const std::vector<double>& x, int maxBins)
{
    Histogram h;
    maxBins = std::max(1, maxBins);
    const std::vector<double> v = finiteOnly(x);
    if (v.empty()) {
        h.status = x.empty() ? Status::TooFewSamples : Status::NonFinite;
        h.message = x.empty() ? "no values" : "no finite values";
        h.counts.assign(1, 0);
        return h;
    }
    const auto [mnIt, mxIt] = std::minmax_element(v.begin(), v.end());
    const double mn = *mnIt, mx = *mxIt, range = mx - mn;
    if (!(range > 0.0)) {
        h.lo = mn - 0.5;
        h.width = 1.0;
        h.counts.assign(1, int64_t(v.size()));
        h.status = Status::Degenerate;
        h.message = "all values are equal";
        return h;
    }
    double width = freedmanDiaconisWidth(v);
    int bins;
    if (width > 0.0) {
        bins = int(std::min(double(maxBins), std::ceil(range / width)));
    } else {
        // IQR 0 (more than half the values tied): sqrt(n) bins over the range instead.
        bins = int(std::ceil(std::sqrt(double(v.size()))));
    }
    bins = std::clamp(bins, 1, maxBins);
    h.lo = mn;
    h.width = range / double(bins);
    h.counts.assign(size_t(bins), 0);
    fill(h, v);
    h.status = Status::Ok;
    return h;
}

Histogram histogram(const std::vector<double>& x, double lo, double width, int bins)
{
    if (!(width > 0.0) || !std::isfinite(width) || !std::isfinite(lo))
        throw Error("histogram", "width", "bins need a finite positive width and a finite origin");
    if (bins < 1) throw Error("histogram", "bins", "need at least one bin");
    Histogram h;
    h.lo = lo;
    h.width = width;
    h.counts.assign(size_t(bins), 0);
    const std::vector<double> v = finiteOnly(x);
    fill(h, v);
    h.status = v.empty() ? (x.empty() ? Status::TooFewSamples : Status::NonFinite) : Status::Ok;
    if (h.status != Status::Ok) h.message = x.empty() ? "no values" : "no finite values";
    return h;
}

} // namespace rudder::analysis
