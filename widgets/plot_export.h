// Paper figures: one plot or the whole dashboard to PDF (vector) or PNG at a column width,
// DPI and font size, without UI chrome; plotted data to CSV.
#pragma once
#include <QString>
#include <QSize>

#include <vector>

class QCustomPlot;

namespace rudder::widgets {

struct ExportOptions {
    double widthIn = 3.25;     // single column 3.25 in, double column 6.75 in
    double heightIn = 0;       // 0 = width × 0.62 (a figure-friendly aspect)
    int dpi = 300;             // PNG only
    double fontPt = 8;
    static constexpr double kSingleColumn = 3.25;
    static constexpr double kDoubleColumn = 6.75;
};

// The PNG's pixel size for these options (width × dpi, height × dpi, rounded).
QSize exportPixelSize(const ExportOptions& o);

// Writes by the file's suffix: .pdf or .svg (vector) or .png.  Returns an error message ("" on success).
QString exportPlot(QCustomPlot* plot, const QString& path, const ExportOptions& o);
// Several plots on one page, in a grid with `columns` columns.
QString exportDashboard(const std::vector<QCustomPlot*>& plots, const QString& path, const ExportOptions& o,
                        int columns = 2);

} // namespace rudder::widgets
