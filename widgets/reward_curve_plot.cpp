#include "reward_curve_plot.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace rudder::widgets {

namespace {
QCPGraph* addLine(QCustomPlot* p, const QString& name, const std::vector<double>& x, const std::vector<double>& y,
                  QPen pen, QCPAxis* valueAxis = nullptr, QCPScatterStyle sc = QCPScatterStyle())
{
    auto* g = p->addGraph(p->xAxis, valueAxis ? valueAxis : p->yAxis);
    g->setName(name);
    g->setPen(pen);
    g->setScatterStyle(sc);
    QVector<double> kx(x.begin(), x.end()), ky(y.begin(), y.begin() + std::min(x.size(), y.size()));
    kx.resize(ky.size());
    g->setData(kx, ky, true);
    return g;
}
} // namespace

RewardCurvePlot::RewardCurvePlot(QWidget* parent) : RunPlot(parent), axisBox_(new QComboBox(this))
{
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel("x axis:", this));
    for (XAxis a : {XAxis::Samples, XAxis::Tokens, XAxis::Flops, XAxis::Seconds})
        axisBox_->addItem(axisTitle(a), int(a));
    bar->addWidget(axisBox_);
    bar->addStretch(1);
    layout_->insertLayout(0, bar);
    connect(axisBox_, &QComboBox::currentIndexChanged, this,
            [this](int i) { setXAxis(XAxis(axisBox_->itemData(i).toInt())); });
    plot()->yAxis->setLabel("proxy reward");
    plot()->yAxis2->setLabel("gold reward");
    plot()->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
}

void RewardCurvePlot::setXAxis(XAxis a)
{
    axis_ = a;
    axisBox_->blockSignals(true);
    axisBox_->setCurrentIndex(axisBox_->findData(int(a)));
    axisBox_->blockSignals(false);
    autoRange_ = true;
    refresh();
}

void RewardCurvePlot::rebuild()
{
    clearPlot();
    QCustomPlot* p = plot();
    p->xAxis->setLabel(axisTitle(axis_));
    p->xAxis->setScaleType(axis_ == XAxis::Flops ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (axis_ == XAxis::Flops) p->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    if ((!run_ || run_->empty()) && overlays_.empty()) setEmptyMessage("no run yet: pick a method and press Run (Ctrl+R)");
    bool gold = false;
    if (run_ && !run_->empty()) {
        const RewardCurves c = run_->rewardCurves(axis_, prompt_);
        addLine(p, "mean@k", c.x, c.mean, QPen(palette::proxyLight(), 1.5), nullptr,
                QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        auto* best = addLine(p, "best@k", c.x, c.best, QPen(Qt::NoPen), nullptr,
                             QCPScatterStyle(QCPScatterStyle::ssDisc, palette::proxy(), 5));
        mapPoints(best, c.bestRef);
        auto* bsf = addLine(p, "best so far", c.x, c.bestSoFar, QPen(palette::proxy(), 2.2));
        bsf->setLineStyle(QCPGraph::lsStepLeft);
        mapPoints(bsf, c.bestSoFarRef);
        if (!c.bon.empty())
            addLine(p, "BoN, same samples (est.)", c.x, c.bon, QPen(palette::bon(), 1.5, Qt::DashLine));
        if (c.hasGold()) {
            gold = true;
            addLine(p, "gold mean@k", c.x, c.goldMean, QPen(palette::gold(), 1.2, Qt::DotLine), p->yAxis2);
            auto* gb = addLine(p, "gold of best so far", c.x, c.goldOfSelected, QPen(palette::gold(), 2.0), p->yAxis2);
            gb->setLineStyle(QCPGraph::lsStepLeft);
            mapPoints(gb, c.bestSoFarRef);
        }
    }
    int i = 1;
    for (const RunData* o : overlays_) {
        if (!o || o == run_ || o->empty()) continue;
        const RewardCurves c = o->rewardCurves(axis_, prompt_);
        const QString name = QString::fromStdString(o->meta().title.empty() ? o->meta().method : o->meta().title);
        auto* g = addLine(p, name + ": best so far", c.x, c.bestSoFar, QPen(palette::series(i), 2.0));
        g->setLineStyle(QCPGraph::lsStepLeft);
        addLine(p, name + ": mean@k", c.x, c.mean, QPen(palette::series(i), 1.0, Qt::DashLine));
        if (c.hasGold()) {
            gold = true;
            addLine(p, name + ": gold of best", c.x, c.goldOfSelected, QPen(palette::series(i), 1.2, Qt::DotLine), p->yAxis2);
        }
        ++i;
    }
    p->yAxis2->setVisible(gold);
    p->yAxis2->setTickLabels(gold);
}

} // namespace rudder::widgets
