#include "reward_distribution_plot.h"
#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "rudder/methods.h"

#include <cmath>

#include <qcustomplot.h>

namespace rudder::widgets {

std::vector<double> rewardsOf(const RunData& run, SampleSet set, int promptIndex)
{
    if (set == SampleSet::All) return run.rewards(promptIndex);
    if (set == SampleSet::Base) return analysis::baseRewards(run.events(), run.meta().method, promptIndex);
    int last = -1;
    for (const auto& r : run.samples()) {
        const Sample& s = run.sample(r);
        if (promptIndex >= 0 && s.prompt_index != promptIndex) continue;
        last = std::max(last, s.iteration);
    }
    const int want = last;
    std::vector<double> out;
    for (const auto& r : run.samples()) {
        const Sample& s = run.sample(r);
        if ((promptIndex < 0 || s.prompt_index == promptIndex) && s.iteration == want) out.push_back(s.reward);
    }
    return out;
}

std::optional<double> runBeta(const RunData& run)
{
    return usedTemperature(run.meta().method, run.meta().config, run.events());
}

RewardDistributionPlot::RewardDistributionPlot(QWidget* parent)
    : RunPlot(parent), setBox_(new QComboBox(this)), predict_(new QCheckBox("π_β prediction, β =", this)),
      beta_(new QDoubleSpinBox(this))
{
    auto* bar = new QHBoxLayout;
    setBox_->addItem("all samples", int(SampleSet::All));
    setBox_->addItem("base-model samples", int(SampleSet::Base));
    setBox_->addItem("last iteration", int(SampleSet::LastIteration));
    setBox_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    setBox_->setMinimumContentsLength(10);
    beta_->setRange(1e-3, 1000);
    beta_->setDecimals(3);
    beta_->setValue(1.0);
    beta_->setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
    bar->addWidget(setBox_);
    bar->addStretch(1);
    bar->addWidget(predict_);
    bar->addWidget(beta_);
    layout_->insertLayout(0, bar);
    connect(setBox_, &QComboBox::currentIndexChanged, this, [this] { autoRange_ = true; refresh(); });
    connect(predict_, &QCheckBox::toggled, this, [this] { autoRange_ = true; refresh(); });
    connect(beta_, &QDoubleSpinBox::valueChanged, this, [this] { betaTouched_ = true; refresh(); });
    plot()->xAxis->setLabel("reward");
    plot()->yAxis->setLabel("density");
}

void RewardDistributionPlot::setShowPrediction(bool on, double beta)
{
    beta_->setValue(beta);
    predict_->setChecked(on);
    refresh();
}

void RewardDistributionPlot::setSampleSet(SampleSet s) { setBox_->setCurrentIndex(setBox_->findData(int(s))); }

void RewardDistributionPlot::rebuild()
{
    clearPlot();
    fit_ = analysis::GmmFit{};
    histPeak_ = 0;
    if (!run_ || run_->empty()) return;
    if (!betaTouched_)
        if (auto b = runBeta(*run_)) {
            beta_->blockSignals(true);
            beta_->setValue(*b);
            beta_->blockSignals(false);
        }
    const SampleSet set = SampleSet(setBox_->currentData().toInt());
    const std::vector<double> r = rewardsOf(*run_, set, prompt_);
    if (r.empty()) {
        if (set == SampleSet::Base)
            setEmptyMessage("no base-model samples in this run: " + QString::fromStdString(run_->meta().method) +
                            "'s samples are its own (best-of-n, WMV and QAlign's pilot draw from the base model)");
        return;
    }
    const Histogram h = histogram(r, true, 60);
    histPeak_ = h.counts.empty() ? 0.0 : *std::max_element(h.counts.begin(), h.counts.end());
    auto* bars = new QCPBars(plot()->xAxis, plot()->yAxis);
    bars->setName(QString("rewards (n = %1)").arg(r.size()));
    bars->setWidth(h.width);
    bars->setPen(QPen(palette::proxy().lighter(120)));
    bars->setBrush(QColor(158, 202, 225, 170));
    bars->setData(QVector<double>(h.centers.begin(), h.centers.end()), QVector<double>(h.counts.begin(), h.counts.end()), true);

    // While a run streams, a lighter fit (fewer restarts, looser tolerance) keeps each refresh
    // inside the frame budget at thousands of samples; the finished run gets the full fit.
    analysis::GmmOptions opt;
    const bool live = !run_->result().has_value();
    if (live) {
        opt.restarts = 2;
        opt.maxIterations = 150;
        opt.tolerance = 1e-6;
    }
    fit_ = analysis::fitGmm2(r, opt);
    if (fit_.status != analysis::Status::Ok) return;
    double lo = h.lo, hi = h.lo + h.width * h.counts.size();
    const double pad = 0.15 * (hi - lo) + 1e-9;
    lo -= pad;
    hi += pad;
    auto curve = [&](const QString& name, const std::vector<double>& w, const std::vector<double>& m,
                     const std::vector<double>& s, QPen pen) {
        QVector<double> x, y;
        for (int i = 0; i <= 300; ++i) {
            const double xi = lo + (hi - lo) * i / 300.0;
            x << xi;
            y << analysis::mixturePdf(w, m, s, xi);
        }
        auto* g = plot()->addGraph();
        g->setName(name);
        g->setPen(pen);
        g->setData(x, y, true);
    };
    for (int k = 0; k < 2; ++k)
        curve(QString("comp. %1: w %2, μ %3, σ %4%5")
                  .arg(k + 1)
                  .arg(fit_.weights[k], 0, 'f', 2)
                  .arg(fit_.means[k], 0, 'g', 3)
                  .arg(fit_.stds[k], 0, 'g', 3)
                  .arg(k == fit_.dominant ? " (dom.)" : ""),
              {fit_.weights[k]}, {fit_.means[k]}, {fit_.stds[k]}, QPen(palette::series(k + 2), 1.2, Qt::DashLine));
    curve(QString(fit_.twoComponentsSupported ? "GMM mixture" : "GMM mixture (BIC prefers 1 component)") +
              (live ? " · live fit" : ""),
          {fit_.weights[0], fit_.weights[1]}, {fit_.means[0], fit_.means[1]}, {fit_.stds[0], fit_.stds[1]},
          QPen(Qt::black, 2));
    if (predict_->isChecked() && beta_->value() > 0) {
        const auto a = analysis::alignedMixture(fit_, beta_->value());
        curve(QString("π_β predicted (β = %1)").arg(beta_->value(), 0, 'g', 3), {a.weights[0], a.weights[1]},
              {a.means[0], a.means[1]}, {a.stds[0], a.stds[1]}, QPen(palette::gold(), 2));
    }
}

// A component with a tiny σ (many identical responses, identical rewards) peaks far above the
// histogram: clip the y range to the histogram so the bars stay readable; the curve runs off-plot.
void RewardDistributionPlot::adjustRanges()
{
    if (histPeak_ > 0 && plot()->yAxis->range().upper > 1.6 * histPeak_) plot()->yAxis->setRange(0, 1.3 * histPeak_);
}

} // namespace rudder::widgets
