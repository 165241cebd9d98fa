// A sweep's result at a glance: for two swept parameters a heatmap of the mean final proxy (or
// gold) reward per grid point, coloured by its distance to the reference (best-of-n at the same
// budget) so the points that win stand out, each cell with its mean ± standard error and a star
// when the paired difference is beyond 2 standard errors; for one parameter a line with ± se bars
// over the reference's band.  Clicking a cell asks for its runs.  Reads the session itself
// (rudder/sweep_store.h), so a sweep started headless opens here.
#pragma once
#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

#include "rudder/sweep.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QPushButton;

namespace rudder::widgets {

class SweepView : public QWidget {
    Q_OBJECT
public:
    enum Metric { Proxy = 0, Gold = 1 };
    explicit SweepView(QWidget* parent = nullptr);

    // The session to read ("" or the error); the sweep list is read again and the last
    // selected sweep kept when present.
    QString setSession(const QString& path);
    void reload();   // after a run of the session finished
    QStringList sweeps() const;
    void selectSweep(const QString& name);
    QString currentSweep() const;
    void setMetric(Metric m);
    const SweepSummary& summary() const { return summary_; }
    QCustomPlot* plot() const { return plot_; }
    // One row per grid point and one for the reference: parameters, means, standard errors,
    // paired differences, z, beats_reference, run ids.
    QString toCsv() const;
    // The grid point drawn at (x, y) in plot coordinates, -1 for none (tests, clicks).
    int cellAt(double x, double y) const;

signals:
    void runsRequested(std::vector<int64_t> runIds);   // a clicked point's runs (and the reference's)
    void exportRequested();

private:
    void redraw();
    void onClick(QMouseEvent* e);
    QComboBox* sweepBox_;
    QComboBox* metricBox_;
    QPushButton* exportButton_;
    QLabel* caption_;
    QCustomPlot* plot_;
    QString path_;
    SweepSummary summary_;
    // Grid coordinates of each cell: (x index, y index); y is 0 with one parameter.
    std::vector<std::pair<int, int>> coords_;
};

} // namespace rudder::widgets
