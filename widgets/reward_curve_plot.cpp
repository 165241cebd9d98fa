#include "reward_curve_plot.h"

#include "rudder/methods.h"

#include "rudder/answer_reward.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>
#include <map>

#include "rudder/analysis.h"

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

RewardCurvePlot::RewardCurvePlot(QWidget* parent)
    : RunPlot(parent), axisBox_(new QComboBox(this)), members_(new QCheckBox("runs behind groups", this)),
      bandBox_(new QComboBox(this)), smooth_(new QCheckBox("smooth", this)),
      training_(new QCheckBox("incl. training", this))
{
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel("x axis:", this));
    for (XAxis a : {XAxis::Samples, XAxis::Tokens, XAxis::Flops, XAxis::Seconds})
        axisBox_->addItem(axisTitle(a), int(a));
    bar->addWidget(axisBox_);
    bar->addStretch(1);
    members_->setToolTip("Grouped overlays (Session panel): also draw every run of a group, thin, behind its mean ± se band");
    members_->setVisible(false);   // shown while groups are overlaid
    bar->addWidget(members_);
    bandBox_->addItem("band ± se");
    bandBox_->addItem("band min–max");
    bandBox_->setToolTip("Grouped overlays: the band around each group's mean");
    bandBox_->setVisible(false);
    bar->addWidget(bandBox_);
    smooth_->setToolTip("Also draw a moving average (5 iterations) of mean@k; the raw points stay");
    bar->addWidget(smooth_);
    training_->setToolTip("RE-Control: count what its value model's training cost (its rollouts, FLOPs, seconds) on "
                          "the x axis, so it sits on the same budget axes as the training-free methods");
    training_->setVisible(false);   // shown when a run drawn has a training cost
    bar->addWidget(training_);
    connect(training_, &QCheckBox::toggled, this, [this] { refresh(); });
    connect(members_, &QCheckBox::toggled, this, [this] { refresh(); });
    connect(bandBox_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
    connect(smooth_, &QCheckBox::toggled, this, [this] { refresh(); });
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
    bool trained = run_ && run_->hasTrainingCost();
    for (const auto* o : overlays_) trained = trained || (o && o->hasTrainingCost());
    training_->setVisible(trained);
    p->xAxis->setLabel(QString(axisTitle(axis_)) + (trained && training_->isChecked() ? " (incl. value-model training)" : ""));
    p->xAxis->setScaleType(axis_ == XAxis::Flops ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (axis_ == XAxis::Flops) p->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    if ((!run_ || run_->empty()) && overlays_.empty()) setEmptyMessage("no run yet: pick a method and press Run (Ctrl+R)");
    bool gold = false;
    if (run_ && !run_->empty()) {
        const RewardCurves c = run_->rewardCurves(axis_, prompt_, training_->isChecked());
        addLine(p, "mean@k", c.x, c.mean, QPen(palette::proxyLight(), 1.5), nullptr,
                QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        if (smooth_->isChecked()) {
            // Trailing moving average over the last 5 iterations (fewer at the start); the raw
            // mean@k above is still drawn.
            std::vector<double> avg(c.mean.size());
            for (size_t k = 0; k < c.mean.size(); ++k) {
                double sum = 0;
                int n = 0;
                for (size_t j = k + 1 > 5 ? k + 1 - 5 : 0; j <= k; ++j)
                    if (std::isfinite(c.mean[j])) sum += c.mean[j], ++n;
                avg[k] = n ? sum / n : NAN;
            }
            addLine(p, "mean@k, moving average (5)", c.x, avg, QPen(palette::proxy(), 1.5, Qt::DashDotLine));
        }
        auto* best = addLine(p, "best@k", c.x, c.best, QPen(Qt::NoPen), nullptr,
                             QCPScatterStyle(QCPScatterStyle::ssDisc, palette::proxy(), 5));
        mapPoints(best, c.bestRef);
        auto* bsf = addLine(p, "best so far", c.x, c.bestSoFar, QPen(palette::proxy(), 2.2));
        bsf->setLineStyle(QCPGraph::lsStepLeft);
        mapPoints(bsf, c.bestSoFarRef);
        // Expected best-of-N over the run's own base-model samples at each budget point (N = samples
        // spent so far): BoN's and WMV's samples, QAlign's pilot; shown up to the budget those
        // samples support.
        const MethodInfo* info = findMethod(run_->meta().method);
        if (!c.bon.empty())
            addLine(p, "BoN, as many samples (est. from the run's base samples)", c.x, c.bon, QPen(palette::bon(), 1.5, Qt::DashLine));
        else if (info && !info->drawsFromBase)
            setNote("no BoN reference: this " + QString::fromStdString(info->title) + " run has no base-model samples" +
                    (info->baseSamples == MethodInfo::BaseSamples::PilotOnly ? " (set base samples > 0 to draw some)"
                                                                             : " (compare with a best-of-n run)"));
        if (c.hasGold()) {
            gold = true;
            addLine(p, "gold mean@k", c.x, c.goldMean, QPen(palette::gold(), 1.2, Qt::DotLine), p->yAxis2);
            auto* gb = addLine(p, "gold of best so far", c.x, c.goldOfSelected, QPen(palette::gold(), 2.0), p->yAxis2);
            gb->setLineStyle(QCPGraph::lsStepLeft);
            mapPoints(gb, c.bestSoFarRef);
        }
    }
    int i = 1;
    // Grouped overlays: each group's best-so-far as mean ± se over its runs (seeds, prompts).
    std::vector<std::pair<std::string, std::vector<const RunData*>>> groups;
    for (const RunData* o : overlays_) {
        if (!o || o == run_ || o->empty() || o->meta().group.empty()) continue;
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == o->meta().group; });
        if (it == groups.end()) groups.push_back({o->meta().group, {o}});
        else it->second.push_back(o);
    }
    members_->setVisible(!groups.empty());
    bandBox_->setVisible(!groups.empty());
    for (const auto& [label, runs] : groups) {
        std::vector<std::pair<std::vector<double>, std::vector<double>>> proxy, goldCurves;
        const QColor color = palette::series(i);
        for (const RunData* o : runs) {
            const RewardCurves c = o->rewardCurves(axis_, prompt_, training_->isChecked());
            proxy.push_back({c.x, c.bestSoFar});
            if (c.hasGold()) goldCurves.push_back({c.x, c.goldOfSelected});
            if (members_->isChecked()) {
                QColor thin = color;
                thin.setAlpha(90);
                auto* m = addLine(p, QString("%1: run %2").arg(QString::fromStdString(label)).arg(o->meta().runId), c.x,
                                  c.bestSoFar, QPen(thin, 0.8));
                m->setLineStyle(QCPGraph::lsStepLeft);
                m->removeFromLegend();
            }
        }
        const QString name = QString("%1 (%2 run%3)").arg(QString::fromStdString(label)).arg(runs.size()).arg(runs.size() == 1 ? "" : "s");
        const bool minMax = bandBox_->currentIndex() == 1;
        const QString bandName = minMax ? "min–max" : "± se";
        // Mean as a step line, the band as two named edges (so the CSV export carries them) with
        // the area between them filled.
        auto band = [&](const std::vector<std::pair<std::vector<double>, std::vector<double>>>& curves, QCPAxis* axis,
                        const QString& what, Qt::PenStyle style, int alpha) {
            const analysis::CurveBand b = analysis::bandOverCurves(curves);
            std::vector<double> hi(b.x.size()), lo(b.x.size());
            for (size_t k = 0; k < b.x.size(); ++k) {
                const double se = std::isnan(b.se[k]) ? 0.0 : b.se[k];
                hi[k] = minMax ? b.max[k] : b.mean[k] + se;
                lo[k] = minMax ? b.min[k] : b.mean[k] - se;
            }
            auto* g = addLine(p, name + ": " + what + ", mean " + bandName, b.x, b.mean, QPen(color, 2.2, style), axis);
            g->setLineStyle(QCPGraph::lsStepLeft);
            auto* up = addLine(p, name + ": " + what + ", upper edge", b.x, hi, Qt::NoPen, axis);
            auto* down = addLine(p, name + ": " + what + ", lower edge", b.x, lo, Qt::NoPen, axis);
            for (QCPGraph* e : {up, down}) {
                e->setLineStyle(QCPGraph::lsStepLeft);
                e->removeFromLegend();
            }
            QColor fill = color;
            fill.setAlpha(alpha);
            up->setBrush(fill);
            up->setChannelFillGraph(down);
        };
        band(proxy, nullptr, "best so far", Qt::SolidLine, 45);
        if (!goldCurves.empty()) {
            gold = true;
            band(goldCurves, p->yAxis2, "gold of best", Qt::DotLine, 20);
        }
        ++i;
    }
    for (const RunData* o : overlays_) {
        if (!o || o == run_ || o->empty() || !o->meta().group.empty()) continue;
        const RewardCurves c = o->rewardCurves(axis_, prompt_, training_->isChecked());
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
    // Accuracy as the gold (answer:FIELD): the right axis is the share of correct answers.
    const bool accuracy = run_ && answerGoldField(run_->meta().gold);
    p->yAxis2->setLabel(accuracy ? "accuracy" : "gold reward");
    p->yAxis2->setVisible(gold);
    p->yAxis2->setTickLabels(gold);
}

void RewardCurvePlot::setShowGroupMembers(bool on) { members_->setChecked(on); }
void RewardCurvePlot::setBandMinMax(bool on) { bandBox_->setCurrentIndex(on ? 1 : 0); }
void RewardCurvePlot::setSmoothing(bool on) { smooth_->setChecked(on); }

} // namespace rudder::widgets
