// Plot 3: histogram of the importance weights of one iteration, ESS in the title, with a scrubber
// to step through iterations (follows the newest while the scrubber is at the end).
#pragma once
#include "run_plot.h"

class QSlider;
class QLabel;
class QCPTextElement;

namespace rudder::widgets {

class WeightHistogramPlot : public RunPlot {
    Q_OBJECT
public:
    explicit WeightHistogramPlot(QWidget* parent = nullptr);
    QString title() const override { return "Importance weights"; }
    void setIteration(int eventIndex);   // index into the events that carry weights
    int iteration() const { return current_; }
    double currentEss() const { return ess_; }
    QSlider* scrubber() const { return scrub_; }

protected:
    void rebuild() override;

private:
    QSlider* scrub_;
    QLabel* label_;
    QCPTextElement* titleEl_;
    int current_ = -1;     // -1 = follow the newest
    double ess_ = 0;
};

} // namespace rudder::widgets
