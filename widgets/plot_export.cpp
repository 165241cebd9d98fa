#include "plot_export.h"

#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <cmath>

#include <qcustomplot.h>

namespace rudder::widgets {

namespace {

double heightOf(const ExportOptions& o) { return o.heightIn > 0 ? o.heightIn : o.widthIn * 0.62; }

// Export fonts are set in points; the plot is laid out at 72 logical units per inch, so a
// font of N pt is N units tall whatever the DPI.  Restores the on-screen fonts afterwards.
class FontScope {
public:
    FontScope(QCustomPlot* p, double pt) : p_(p)
    {
        for (QCPAxis* a : p->axisRect()->axes()) {
            saved_.push_back({a->labelFont(), a->tickLabelFont()});
            QFont f = a->labelFont();
            f.setPointSizeF(pt);
            a->setLabelFont(f);
            f.setPointSizeF(pt * 0.9);
            a->setTickLabelFont(f);
        }
        legend_ = p->legend->font();
        QFont lf = legend_;
        lf.setPointSizeF(pt * 0.85);
        p->legend->setFont(lf);
        for (int i = 0; i < p->legend->itemCount(); ++i)
            if (auto* it = p->legend->item(i)) { itemFonts_.push_back(it->font()); it->setFont(lf); }
        // The legend's icons and spacing are in the same units as the fonts: at screen size
        // (32 × 18) they would take a third of a 3.25 in figure.
        legendIcon_ = p->legend->iconSize();
        legendPad_ = p->legend->iconTextPadding();
        legendRow_ = p->legend->rowSpacing();
        legendMargins_ = p->legend->margins();
        p->legend->setIconSize(int(std::lround(pt * 2.2)), int(std::lround(pt)));
        p->legend->setIconTextPadding(int(std::lround(pt * 0.5)));
        p->legend->setRowSpacing(0);
        p->legend->setMargins(QMargins(2, 1, 2, 1));
        for (int i = 0; i < p->plotLayout()->elementCount(); ++i) {
            if (auto* t = qobject_cast<QCPTextElement*>(p->plotLayout()->elementAt(i))) {
                titles_.push_back({t, t->font()});
                QFont tf = t->font();
                tf.setPointSizeF(pt);
                t->setFont(tf);
            }
            // A heatmap's colour scale: its axis like the others, its bar as wide as a line of text.
            if (auto* c = qobject_cast<QCPColorScale*>(p->plotLayout()->elementAt(i))) {
                scales_.push_back({c, c->axis()->labelFont(), c->axis()->tickLabelFont(), c->barWidth()});
                QFont f = c->axis()->labelFont();
                f.setPointSizeF(pt);
                c->axis()->setLabelFont(f);
                f.setPointSizeF(pt * 0.9);
                c->axis()->setTickLabelFont(f);
                c->setBarWidth(int(std::lround(pt * 1.2)));
            }
        }
        // Labels drawn into the plot (a heatmap's cell values).
        for (int i = 0; i < p->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemText*>(p->item(i))) {
                texts_.push_back({t, t->font()});
                QFont f = t->font();
                f.setPointSizeF(pt * 0.75);
                t->setFont(f);
            }
        p->setInteractions(QCP::Interactions());
        // No UI state in a figure (issue 37): the selection highlight and the hover crosshair
        // (RunPlot names its lines "crosshair") are off while it is drawn, and back afterwards.
        for (int i = 0; i < p->plottableCount(); ++i) {
            QCPAbstractPlottable* q = p->plottable(i);
            if (!q->selection().isEmpty()) selections_.push_back({q, q->selection()}), q->setSelection(QCPDataSelection());
        }
        legendParts_ = p->legend->selectedParts();
        p->legend->setSelectedParts(QCPLegend::spNone);
        for (int i = 0; i < p->itemCount(); ++i)
            if (QCPAbstractItem* it = p->item(i); it->objectName() == "crosshair" && it->visible())
                hidden_.push_back(it), it->setVisible(false);
    }
    ~FontScope()
    {
        for (auto& [q, sel] : selections_) q->setSelection(sel);
        p_->legend->setSelectedParts(legendParts_);
        for (QCPAbstractItem* it : hidden_) it->setVisible(true);
        const auto axes = p_->axisRect()->axes();
        for (int i = 0; i < axes.size() && i < int(saved_.size()); ++i) {
            axes[i]->setLabelFont(saved_[i].first);
            axes[i]->setTickLabelFont(saved_[i].second);
        }
        p_->legend->setFont(legend_);
        p_->legend->setIconSize(legendIcon_);
        p_->legend->setIconTextPadding(legendPad_);
        p_->legend->setRowSpacing(legendRow_);
        p_->legend->setMargins(legendMargins_);
        for (int i = 0; i < p_->legend->itemCount() && i < int(itemFonts_.size()); ++i)
            if (auto* it = p_->legend->item(i)) it->setFont(itemFonts_[i]);
        for (auto& [t, f] : titles_) t->setFont(f);
        for (auto& c : scales_) {
            c.scale->axis()->setLabelFont(c.label);
            c.scale->axis()->setTickLabelFont(c.ticks);
            c.scale->setBarWidth(c.bar);
        }
        for (auto& [t, f] : texts_) t->setFont(f);
        p_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom | QCP::iSelectPlottables | QCP::iSelectLegend);
        p_->replot();
    }

private:
    QCustomPlot* p_;
    std::vector<std::pair<QFont, QFont>> saved_;
    QFont legend_;
    QSize legendIcon_;
    int legendPad_ = 0, legendRow_ = 0;
    QMargins legendMargins_;
    std::vector<QFont> itemFonts_;
    std::vector<std::pair<QCPTextElement*, QFont>> titles_;
    struct Scale {
        QCPColorScale* scale;
        QFont label, ticks;
        int bar;
    };
    std::vector<Scale> scales_;
    std::vector<std::pair<QCPItemText*, QFont>> texts_;
    std::vector<std::pair<QCPAbstractPlottable*, QCPDataSelection>> selections_;
    QCPLegend::SelectableParts legendParts_;
    std::vector<QCPAbstractItem*> hidden_;
};

QString suffixOf(const QString& path) { return QFileInfo(path).suffix().toLower(); }

} // namespace

QSize exportPixelSize(const ExportOptions& o)
{
    return QSize(int(std::lround(o.widthIn * o.dpi)), int(std::lround(heightOf(o) * o.dpi)));
}

QString exportPlot(QCustomPlot* plot, const QString& path, const ExportOptions& o)
{
    return exportDashboard({plot}, path, o, 1);
}

QString exportDashboard(const std::vector<QCustomPlot*>& plots, const QString& path, const ExportOptions& o,
                        int columns)
{
    if (plots.empty()) return "nothing to export";
    const QString suffix = suffixOf(path);
    if (suffix != "pdf" && suffix != "png" && suffix != "svg") return path + ": unsupported format (use .pdf, .svg or .png)";
    columns = std::max(1, std::min(columns, int(plots.size())));
    const int rows = int((plots.size() + columns - 1) / columns);
    // The whole figure is `widthIn` wide; each cell keeps the single-plot aspect.
    const double cellW = o.widthIn / columns;
    const double cellH = (plots.size() == 1) ? heightOf(o) : cellW * 0.62;
    const double figH = (plots.size() == 1) ? heightOf(o) : cellH * rows;
    // Logical units: points (72 per inch).
    const int cellWpt = int(std::lround(cellW * 72)), cellHpt = int(std::lround(cellH * 72));
    // Each plot in its grid cell, in points: the same drawing goes to the PDF and the PNG.
    auto drawGrid = [&](QCPPainter& painter) {
        for (size_t i = 0; i < plots.size(); ++i) {
            painter.save();
            painter.translate((int(i) % columns) * cellWpt, (int(i) / columns) * cellHpt);
            plots[i]->toPainter(&painter, cellWpt, cellHpt);
            painter.restore();
        }
    };

    // PDF and SVG: the same drawing in vector mode (no pixmap caching) on the device.
    auto drawVector = [&](QPaintDevice& device) {
        QCPPainter painter;
        if (!painter.begin(&device)) return false;
        painter.setMode(QCPPainter::pmVectorized);
        painter.setMode(QCPPainter::pmNoCaching);
        drawGrid(painter);
        painter.end();
        return true;
    };

    std::vector<std::unique_ptr<FontScope>> scopes;
    for (QCustomPlot* p : plots) scopes.push_back(std::make_unique<FontScope>(p, o.fontPt));

    if (suffix == "pdf") {
        QPdfWriter pdf(path);
        pdf.setCreator("Rudder");
        pdf.setResolution(72);   // one device unit = one point
        pdf.setPageSize(QPageSize(QSizeF(o.widthIn * 72, figH * 72), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        if (!drawVector(pdf)) return path + ": cannot write the PDF";
    } else if (suffix == "svg") {
        // Vector, editable in Inkscape/Illustrator; sized in points like the PDF.
        const QSize pt(int(std::lround(o.widthIn * 72)), int(std::lround(figH * 72)));
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setTitle("Rudder");
        svg.setResolution(72);
        svg.setSize(pt);
        svg.setViewBox(QRect(QPoint(0, 0), pt));
        if (!drawVector(svg)) return path + ": cannot write the SVG";
        if (!QFileInfo(path).exists() || QFileInfo(path).size() == 0) return path + ": cannot write the SVG";
    } else {
        const QSize px = QSize(int(std::lround(o.widthIn * o.dpi)), int(std::lround(figH * o.dpi)));
        QImage img(px, QImage::Format_ARGB32);
        img.fill(Qt::white);
        // Lay out at 72 dpi (fonts in points = logical units) and scale up to the target DPI.
        img.setDotsPerMeterX(int(std::lround(72 / 0.0254)));
        img.setDotsPerMeterY(int(std::lround(72 / 0.0254)));
        QCPPainter painter(&img);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.scale(o.dpi / 72.0, o.dpi / 72.0);
        drawGrid(painter);
        painter.end();
        img.setDotsPerMeterX(int(std::lround(o.dpi / 0.0254)));
        img.setDotsPerMeterY(int(std::lround(o.dpi / 0.0254)));
        if (!img.save(path, "PNG")) return path + ": cannot write the PNG";
    }
    return {};
}

} // namespace rudder::widgets
