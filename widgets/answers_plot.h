// The answers view: the vote mass of each distinct final answer for the selected prompt, as the
// run's vote sees it (QAlign's chain states after burn-in, WMV's weights, else one vote per
// sample), correct answers marked (accuracy gold).  The picture of MV / WMV / QAlign at work.
#pragma once
#include "run_plot.h"

namespace rudder::widgets {

class AnswersPlot : public RunPlot {
    Q_OBJECT
public:
    explicit AnswersPlot(QWidget* parent = nullptr);
    QString title() const override { return "Answers"; }
    // What was drawn last (tests): labels with their shares, largest first.
    const std::vector<std::pair<std::string, double>>& drawn() const { return drawn_; }

protected:
    void rebuild() override;

private:
    std::vector<std::pair<std::string, double>> drawn_;
};

} // namespace rudder::widgets
