// Plot 2: QAlign's acceptance rate (running and windowed) and the reward trace of each chain.
#pragma once
#include "run_plot.h"

namespace rudder::widgets {

class AcceptancePlot : public RunPlot {
    Q_OBJECT
public:
    explicit AcceptancePlot(QWidget* parent = nullptr);
    QString title() const override { return "QAlign acceptance"; }

protected:
    void rebuild() override;
};

} // namespace rudder::widgets
