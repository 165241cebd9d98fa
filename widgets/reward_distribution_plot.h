// Plot 4: histogram of rewards with the two-component Gaussian mixture fit (QAlign Appendix C):
// both components and the mixture, and on request the distribution π_β predicts (eq. 22–23).
#pragma once
#include "run_plot.h"

#include "rudder/analysis.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;

namespace rudder::widgets {

// Which samples a fit is made from.
// Base: the run's genuine base-model samples (analysis::baseRewards: BoN, WMV, QAlign's pilot).
enum class SampleSet { All, Base, LastIteration };
std::vector<double> rewardsOf(const RunData& run, SampleSet set, int promptIndex);
// β the run's method uses as its reward temperature (QAlign/WMV β, AISP λ, ARGS 1/w), or nullopt.
std::optional<double> runBeta(const RunData& run);

class RewardDistributionPlot : public RunPlot {
    Q_OBJECT
public:
    explicit RewardDistributionPlot(QWidget* parent = nullptr);
    QString title() const override { return "Reward distribution"; }
    const analysis::GmmFit& fit() const { return fit_; }
    void setShowPrediction(bool on, double beta);
    void setSampleSet(SampleSet s);

protected:
    void rebuild() override;
    void adjustRanges() override;

private:
    QComboBox* setBox_;
    QCheckBox* predict_;
    QDoubleSpinBox* beta_;
    analysis::GmmFit fit_;
    double histPeak_ = 0;   // tallest histogram bar (density), bounds the y range
    bool betaTouched_ = false;
};

} // namespace rudder::widgets
