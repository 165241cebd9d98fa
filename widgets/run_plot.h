// Base of every Rudder plot: a QCustomPlot with zoom/pan, legend, crosshair tooltip, click-to-select
// a sample, CSV of what is drawn, and paper-size export.  Subclasses only draw (rebuild()).
#pragma once
#include <QHash>
#include <QString>
#include <QWidget>

#include <vector>

#include "run_data.h"

class QCustomPlot;
class QCPAbstractPlottable;
class QCPItemStraightLine;
class QMouseEvent;
class QVBoxLayout;

namespace rudder::widgets {

class RunPlot : public QWidget {
    Q_OBJECT
public:
    explicit RunPlot(QWidget* parent = nullptr);

    QCustomPlot* plot() const { return plot_; }
    virtual QString title() const = 0;

    // The run drawn in full, plus runs overlaid for comparison (reward curves only; others ignore them).
    void setRun(const RunData* run);
    void setOverlays(const std::vector<const RunData*>& runs);
    const RunData* run() const { return run_; }
    void setPromptIndex(int p) { prompt_ = p; refresh(); }   // -1: all prompts

    // Redraw from the run's data.  Cheap enough to call on every coalesced batch of events.
    void refresh();

    // "series,x,y" rows of every graph and bar chart; visibleOnly keeps points inside the x range.
    QString toCsv(bool visibleOnly) const;

signals:
    void sampleClicked(rudder::widgets::SampleRef ref);

protected:
    virtual void rebuild() = 0;
    // Remember which sample each data point of `p` stands for (for click-to-select).
    void mapPoints(QCPAbstractPlottable* p, std::vector<SampleRef> refs);
    void clearPlot();
    // Shown in the middle of an empty plot (set by rebuild(); cleared before each rebuild).
    void setEmptyMessage(const QString& m) { emptyMessage_ = m; }
    // A line in the plot's top-left corner about what is not drawn and why ("no BoN reference:
    // no base-model samples"); set by rebuild(), cleared before each rebuild.
    void setNote(const QString& m) { note_ = m; }
    // Called after the automatic rescale, for plots that bound it (e.g. a density spike).
    virtual void adjustRanges() {}
    QVBoxLayout* layout_;
    const RunData* run_ = nullptr;
    std::vector<const RunData*> overlays_;
    int prompt_ = -1;
    bool autoRange_ = true;   // until the user zooms or pans

private:
    void onMouseMove(QMouseEvent* e);
    QCustomPlot* plot_;
    QCPItemStraightLine* vLine_ = nullptr;
    QCPItemStraightLine* hLine_ = nullptr;
    QHash<QCPAbstractPlottable*, std::vector<SampleRef>> refs_;
    QString emptyMessage_, note_;
};

// Colours shared by all plots so a series looks the same everywhere.
namespace palette {
QColor proxy();
QColor proxyLight();
QColor gold();
QColor bon();
QColor series(int i);
}

} // namespace rudder::widgets
