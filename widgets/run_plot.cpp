#include "run_plot.h"

#include <QToolTip>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include "plot_style.h"

namespace rudder::widgets {

namespace palette {
QColor proxy() { return QColor(31, 119, 180); }
QColor proxyLight() { return QColor(158, 202, 225); }
QColor gold() { return QColor(214, 39, 40); }
QColor bon() { return QColor(90, 90, 90); }
QColor series(int i)
{
    static const QColor c[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(148, 103, 189),
                               QColor(140, 86, 75),  QColor(227, 119, 194), QColor(127, 127, 127), QColor(188, 189, 34),
                               QColor(23, 190, 207)};
    return c[((i % 9) + 9) % 9];
}
} // namespace palette

namespace {
// The hover crosshair.  QCustomPlot sends a click to the topmost layerable under the cursor,
// selectable or not, and the crosshair always runs through the cursor: a plain line took every
// click, so clicking a point never opened its sample (issue 37).  This one is never hit.
class CrosshairLine : public QCPItemStraightLine {
public:
    using QCPItemStraightLine::QCPItemStraightLine;
    double selectTest(const QPointF&, bool, QVariant*) const override { return -1; }
};
} // namespace

RunPlot::RunPlot(QWidget* parent) : QWidget(parent), layout_(new QVBoxLayout(this)), plot_(new QCustomPlot(this))
{
    layout_->setContentsMargins(2, 2, 2, 2);
    layout_->setSpacing(2);
    layout_->addWidget(plot_, 1);
    applyPlotStyle(plot_);
    plot_->setMinimumSize(260, 180);
    plot_->setNoAntialiasingOnDrag(true);
    connect(plot_, &QCustomPlot::mouseMove, this, &RunPlot::onMouseMove);
    connect(plot_, &QCustomPlot::mousePress, this, [this] { autoRange_ = false; });
    connect(plot_, &QCustomPlot::mouseWheel, this, [this] { autoRange_ = false; });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this] {
        autoRange_ = true;   // double-click: back to the full view
        refresh();
    });
    connect(plot_, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable* p, int index, QMouseEvent*) {
        auto it = refs_.find(p);
        if (it != refs_.end() && index >= 0 && index < int(it->size())) emit sampleClicked((*it)[index]);
    });
}

void RunPlot::setRun(const RunData* run)
{
    run_ = run;
    autoRange_ = true;
    refresh();
}

void RunPlot::setOverlays(const std::vector<const RunData*>& runs)
{
    overlays_ = runs;
    autoRange_ = true;
    refresh();
}

void RunPlot::clearPlot()
{
    plot_->clearPlottables();
    plot_->clearItems();
    vLine_ = hLine_ = nullptr;
    refs_.clear();
}

void RunPlot::mapPoints(QCPAbstractPlottable* p, std::vector<SampleRef> refs) { refs_[p] = std::move(refs); }

void RunPlot::refresh()
{
    const QCPRange xr = plot_->xAxis->range(), yr = plot_->yAxis->range();
    emptyMessage_.clear();
    note_.clear();
    rebuild();
    bool anyData = false;
    for (int i = 0; i < plot_->plottableCount(); ++i)
        if (!plot_->plottable(i)->interface1D() || plot_->plottable(i)->interface1D()->dataCount() > 0) anyData = true;
    if (!anyData) {
        // Nothing to show: neutral axes (not the last run's ranges) and, if set, why.
        for (QCPAxis* ax : {plot_->xAxis, plot_->yAxis, plot_->yAxis2}) ax->setRange(0, 1);
        if (!emptyMessage_.isEmpty()) {
            auto* t = new QCPItemText(plot_);
            t->setPositionAlignment(Qt::AlignCenter);
            t->position->setType(QCPItemPosition::ptAxisRectRatio);
            t->position->setCoords(0.5, 0.5);
            t->setText(emptyMessage_);
            t->setColor(QColor(110, 110, 110));
        }
    } else if (autoRange_) {
        plot_->rescaleAxes(true);
        // A little air around the data, also in x: a point on the axis rect's border is outside
        // its hit area and cannot be clicked (the last iteration's best@k was).
        for (QCPAxis* ax : {plot_->yAxis, plot_->yAxis2})
            if (ax->visible()) ax->scaleRange(1.08, ax->range().center());
        if (plot_->xAxis->scaleType() == QCPAxis::stLinear) plot_->xAxis->scaleRange(1.04, plot_->xAxis->range().center());
        adjustRanges();
    } else {
        plot_->xAxis->setRange(xr);
        plot_->yAxis->setRange(yr);
    }
    if (anyData && !note_.isEmpty()) {
        auto* t = new QCPItemText(plot_);
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        t->position->setType(QCPItemPosition::ptAxisRectRatio);
        t->position->setCoords(0.01, 0.01);
        t->setText(note_);
        t->setColor(QColor(110, 110, 110));
        t->setObjectName("note");
    }
    plot_->legend->setVisible(plot_->legend->itemCount() > 0);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RunPlot::onMouseMove(QMouseEvent* e)
{
    const double x = plot_->xAxis->pixelToCoord(e->position().x());
    const double y = plot_->yAxis->pixelToCoord(e->position().y());
    if (!vLine_) {
        vLine_ = new CrosshairLine(plot_);
        hLine_ = new CrosshairLine(plot_);
        for (auto* l : {vLine_, hLine_}) {
            l->setPen(QPen(QColor(0, 0, 0, 90), 0, Qt::DashLine));
            l->setSelectable(false);
            l->setObjectName("crosshair");   // left out of exported figures
        }
    }
    vLine_->point1->setCoords(x, 0);
    vLine_->point2->setCoords(x, 1);
    hLine_->point1->setCoords(0, y);
    hLine_->point2->setCoords(1, y);
    // Name the nearest data point, if one is close.
    QString near;
    double bestDist = 12;   // pixels
    for (int i = 0; i < plot_->plottableCount(); ++i) {
        QCPAbstractPlottable* p = plot_->plottable(i);
        QVariant details;
        const double d = p->selectTest(e->position(), false, &details);
        if (d >= 0 && d < bestDist) {
            const QCPDataSelection sel = details.value<QCPDataSelection>();
            if (sel.isEmpty()) continue;
            const int idx = sel.dataRange().begin();
            double px = 0, py = 0;
            if (auto* g = qobject_cast<QCPGraph*>(p); g && idx < g->dataCount()) {
                px = g->dataMainKey(idx);
                py = g->dataMainValue(idx);
            } else if (auto* b = qobject_cast<QCPBars*>(p); b && idx < b->dataCount()) {
                px = b->dataMainKey(idx);
                py = b->dataMainValue(idx);
            } else {
                continue;
            }
            bestDist = d;
            near = QString("%1\n%2 = %3\n%4 = %5")
                       .arg(p->name(), plot_->xAxis->label().isEmpty() ? "x" : plot_->xAxis->label())
                       .arg(px, 0, 'g', 5)
                       .arg(p->valueAxis()->label().isEmpty() ? "y" : p->valueAxis()->label())
                       .arg(py, 0, 'g', 5);
        }
    }
    if (near.isEmpty()) near = QString("x = %1\ny = %2").arg(x, 0, 'g', 5).arg(y, 0, 'g', 5);
    QToolTip::showText(e->globalPosition().toPoint(), near, plot_);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString RunPlot::toCsv(bool visibleOnly) const
{
    QString out = "series,x,y\n";
    auto quote = [](QString s) { return "\"" + s.replace('"', "\"\"") + "\""; };
    for (int i = 0; i < plot_->plottableCount(); ++i) {
        QCPAbstractPlottable* p = plot_->plottable(i);
        const QCPRange r = p->keyAxis()->range();
        auto emitRow = [&](double x, double y) {
            if (visibleOnly && !r.contains(x)) return;
            out += quote(p->name()) + "," + QString::number(x, 'g', 12) + "," + QString::number(y, 'g', 12) + "\n";
        };
        if (auto* g = qobject_cast<QCPGraph*>(p)) {
            for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) emitRow(it->key, it->value);
        } else if (auto* b = qobject_cast<QCPBars*>(p)) {
            for (auto it = b->data()->constBegin(); it != b->data()->constEnd(); ++it) emitRow(it->key, it->value);
        } else if (auto* c = qobject_cast<QCPCurve*>(p)) {
            for (auto it = c->data()->constBegin(); it != c->data()->constEnd(); ++it) emitRow(it->key, it->value);
        }
    }
    return out;
}

} // namespace rudder::widgets
