#include "beta_curve_plot.h"

#include <cmath>

#include <qcustomplot.h>

#include "reward_distribution_plot.h"
#include "rudder/analysis.h"

namespace rudder::widgets {

BetaCurvePlot::BetaCurvePlot(QWidget* parent) : RunPlot(parent)
{
    plot()->xAxis->setLabel("n (BoN samples)");
    plot()->yAxis->setLabel("β(n)");
    plot()->xAxis->setScaleType(QCPAxis::stLogarithmic);
    plot()->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    plot()->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot()->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
}

void BetaCurvePlot::rebuild()
{
    clearPlot();
    matchingN_ = 0;
    if (!run_ || run_->empty()) return;
    // β(n) describes BoN over the base model: fitted to the run's genuine base-model samples
    // (BoN's, WMV's, QAlign's pilot), never to a method's own, tilted ones.
    const std::vector<double> r = rewardsOf(*run_, SampleSet::Base, prompt_ < 0 ? 0 : prompt_);
    if (r.size() < 8) {
        setEmptyMessage(QString("β(n) needs ≥ 8 base-model samples of the prompt; this run has %1%2").arg(r.size())
                            .arg(r.empty() ? " (its method draws none: open a best-of-n run of the prompt)" : ""));
        return;
    }
    const analysis::GmmFit fit = analysis::fitGmm2(r);
    if (fit.status != analysis::Status::Ok) return;
    const auto pts = analysis::betaCurve(fit, maxN_);
    QVector<double> x, y;
    for (const auto& p : pts)
        if (p.beta && *p.beta > 0) {
            x << p.n;
            y << *p.beta;
        }
    if (x.isEmpty()) return;
    auto* g = plot()->addGraph();
    g->setName(QString("β(n), σ_d = %1, w_d = %2").arg(fit.stds[fit.dominant], 0, 'g', 3).arg(fit.weights[fit.dominant], 0, 'f', 2));
    g->setPen(QPen(palette::proxy(), 2));
    g->setData(x, y, true);
    if (const auto beta = runBeta(*run_); beta && *beta > 0) {
        auto* line = new QCPItemStraightLine(plot());
        line->point1->setCoords(x.front(), *beta);
        line->point2->setCoords(x.back(), *beta);
        line->setPen(QPen(palette::gold(), 1.5, Qt::DashLine));
        // The n whose β(n) is closest to the run's β (in log space).
        int best = 0;
        for (int i = 1; i < x.size(); ++i)
            if (std::abs(std::log(y[i] / *beta)) < std::abs(std::log(y[best] / *beta))) best = i;
        matchingN_ = int(x[best]);
        auto* mark = plot()->addGraph();
        mark->setName(QString("current β = %1 ≈ BoN n = %2").arg(*beta, 0, 'g', 3).arg(matchingN_));
        mark->setLineStyle(QCPGraph::lsNone);
        mark->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, palette::gold(), palette::gold(), 10));
        mark->setData(QVector<double>{x[best]}, QVector<double>{*beta});
    }
}

} // namespace rudder::widgets
