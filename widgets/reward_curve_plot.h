// Plot 1: reward per iteration — mean@k, best@k, best-so-far and BoN on the same number of samples,
// with the gold reward on the right axis (proxy rising while gold falls = over-optimisation).
#pragma once
#include "run_plot.h"

class QCheckBox;
class QComboBox;

namespace rudder::widgets {

class RewardCurvePlot : public RunPlot {
    Q_OBJECT
public:
    explicit RewardCurvePlot(QWidget* parent = nullptr);
    QString title() const override { return "Reward curves"; }
    void setXAxis(XAxis a);
    XAxis xAxisKind() const { return axis_; }
    // Grouped overlays (RunMeta::group): also draw each run of a group, thin, behind its band.
    void setShowGroupMembers(bool on);
    // Grouped overlays' band: ± standard error of the mean (default) or the runs' min–max.
    void setBandMinMax(bool on);
    // A moving average (5 iterations) of mean@k drawn over the raw points, which stay.
    void setSmoothing(bool on);

protected:
    void rebuild() override;

private:
    XAxis axis_ = XAxis::Samples;
    QComboBox* axisBox_;
    QCheckBox* members_;
    QComboBox* bandBox_;
    QCheckBox* smooth_;
    QCheckBox* training_;
};

} // namespace rudder::widgets
