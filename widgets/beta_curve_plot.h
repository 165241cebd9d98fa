// Plot 5: the BoN-equivalent β(n) (QAlign eq. 10) from the mixture fit of the base model's rewards,
// with the run's own β marked and the n where BoN matches it.
#pragma once
#include "run_plot.h"

namespace rudder::widgets {

class BetaCurvePlot : public RunPlot {
    Q_OBJECT
public:
    explicit BetaCurvePlot(QWidget* parent = nullptr);
    QString title() const override { return "BoN-equivalent β(n)"; }
    void setMaxN(int n) { maxN_ = n; refresh(); }
    // n whose β(n) is closest to the marked β (0 when none); for tests and the status bar.
    int matchingN() const { return matchingN_; }

protected:
    void rebuild() override;

private:
    int maxN_ = 4096;
    int matchingN_ = 0;
};

} // namespace rudder::widgets
