// RE-Control's value model, seen: the training loss and held-out loss per epoch (live while it
// trains) beside the calibration of the held-out responses (predicted V(z_T) against the reward
// they got), with a line saying what the model is, when and on what it was trained.  Plain data
// in (ValueModelInfo, progress), no torch.
#pragma once
#include <QWidget>

#include "rudder/value_model.h"

class QCustomPlot;
class QLabel;

namespace rudder::widgets {

class ValueModelView : public QWidget {
    Q_OBJECT
public:
    explicit ValueModelView(QWidget* parent = nullptr);
    void clear();
    // A training in progress: collection (prompts done) or one more epoch's losses.
    void addProgress(const ValueTrainProgress& p);
    // A trained (or reused) model: its whole loss history and calibration.
    void setModel(const ValueModelInfo& info, bool reused);
    // A training that stopped (Stop) or failed: the losses so far stay, the caption says why.
    void setStopped(const QString& message);
    QCustomPlot* plot() const { return plot_; }
    QString caption() const;

private:
    void redraw();
    QLabel* caption_;
    QCustomPlot* plot_;
    std::vector<double> train_, held_;
    std::vector<std::pair<double, double>> calibration_;
};

} // namespace rudder::widgets
